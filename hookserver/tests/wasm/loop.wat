;; Spins forever: stopped by the hook's timeout.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $forever (br $forever))))
