;; Calls sock_accept on stdin in a loop until stopped: an error each time, and the server
;; must not log each one.
(module
  (import "wasi_snapshot_preview1" "sock_accept"
    (func $sock_accept (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $again
      (drop (call $sock_accept (i32.const 0) (i32.const 0) (i32.const 16)))
      (br $again))))
