;; A library, not a command: nothing to run.
(module
  (memory (export "memory") 1)
  (func (export "sync")))
