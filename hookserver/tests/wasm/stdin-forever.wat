;; Reads the request to EOF, then keeps reading forever. Every read after EOF must succeed
;; with 0 bytes (anything else exits with code 9), so only the timeout stops it.
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func $read (result i32)
    (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16))
      (then (call $proc_exit (i32.const 9))))
    (i32.load (i32.const 16)))
  (func (export "_start")
    ;; one iovec at 0: 4 KiB at 1024; the byte count lands at 16
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 4096))
    (loop $drain
      (br_if $drain (call $read)))
    (loop $after_eof
      (if (call $read)
        (then (call $proc_exit (i32.const 9))))
      (br $after_eof))))
