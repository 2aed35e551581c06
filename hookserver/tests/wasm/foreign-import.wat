;; Asks for a host function outside WASI preview1.
(module
  (import "env" "host_call" (func $host_call (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $host_call (i32.const 0)))))
