;; Declares 32 MiB of initial memory and does nothing else: over a 16 MiB limit before a
;; single instruction runs, so the instance cannot even be created.
(module
  (memory (export "memory") 512)
  (func (export "_start")))
