;; Probes for preopened directories as wasi-libc does at start-up (fd_prestat_get) and opens
;; a path under fds 3 and 99. A hook has no preopens: each must fail with EBADF (8); the hook
;; prints each errno on stderr and exits 1.
(module
  (import "wasi_snapshot_preview1" "fd_prestat_get"
    (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "fd_prestat_get(3)=")
  (data (i32.const 288) " fd_prestat_get(99)=")
  (data (i32.const 320) " path_open(3)=")
  (data (i32.const 352) " path_open(99)=")
  (data (i32.const 384) "etc/passwd")
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
  ;; path_open(dir, "etc/passwd") for reading; the new fd would land at 24.
  (func $open (param $dir i32) (result i32)
    (call $path_open (local.get $dir) (i32.const 0) (i32.const 384) (i32.const 10)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 24)))
  (func (export "_start")
    (call $say (i32.const 256) (i32.const 18))
    (call $number (call $fd_prestat_get (i32.const 3) (i32.const 16)))
    (call $say (i32.const 288) (i32.const 20))
    (call $number (call $fd_prestat_get (i32.const 99) (i32.const 16)))
    (call $say (i32.const 320) (i32.const 14))
    (call $number (call $open (i32.const 3)))
    (call $say (i32.const 352) (i32.const 15))
    (call $number (call $open (i32.const 99)))
    (call $proc_exit (i32.const 1))))
