;; Tries every socket call of WASI preview1 on stdin, stdout and fd 3. A hook has no
;; sockets, so each must fail; the hook prints each errno on stderr and exits 1.
(module
  (import "wasi_snapshot_preview1" "sock_accept"
    (func $sock_accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv"
    (func $sock_recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_send"
    (func $sock_send (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_shutdown"
    (func $sock_shutdown (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "sock_accept(0)=")
  (data (i32.const 288) " sock_recv(0)=")
  (data (i32.const 320) " sock_send(1)=")
  (data (i32.const 352) " sock_shutdown(1)=")
  (data (i32.const 384) " sock_accept(3)=")
  (data (i32.const 416) "ping")
  (func $say (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8))))
  ;; Prints a number below 100 in decimal.
  (func $number (param $n i32)
    (if (i32.ge_u (local.get $n) (i32.const 10))
      (then
        (i32.store8 (i32.const 32)
          (i32.add (i32.const 48) (i32.div_u (local.get $n) (i32.const 10))))
        (call $say (i32.const 32) (i32.const 1))))
    (i32.store8 (i32.const 32)
      (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
    (call $say (i32.const 32) (i32.const 1)))
  (func (export "_start")
    ;; one iovec at 16 over the 4 bytes at 416, for recv and send
    (i32.store (i32.const 16) (i32.const 416))
    (i32.store (i32.const 20) (i32.const 4))
    (call $say (i32.const 256) (i32.const 15))
    (call $number (call $sock_accept (i32.const 0) (i32.const 0) (i32.const 24)))
    (call $say (i32.const 288) (i32.const 14))
    (call $number (call $sock_recv (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 0)
      (i32.const 24) (i32.const 28)))
    (call $say (i32.const 320) (i32.const 14))
    (call $number (call $sock_send (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 0)
      (i32.const 24)))
    (call $say (i32.const 352) (i32.const 18))
    (call $number (call $sock_shutdown (i32.const 1) (i32.const 3)))
    (call $say (i32.const 384) (i32.const 16))
    (call $number (call $sock_accept (i32.const 3) (i32.const 0) (i32.const 24)))
    (call $proc_exit (i32.const 1))))
