;; Busy for about 1 s of wall-clock time, then answers `{"children":[]}`: a slow but
;; well-behaved hook.
(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{\"children\":[]}")
  (func $now (result i64)
    (drop (call $clock_time_get (i32.const 1) (i64.const 0) (i32.const 32)))
    (i64.load (i32.const 32)))
  (func (export "_start")
    (local $until i64)
    (local.set $until (i64.add (call $now) (i64.const 1000000000)))
    (loop $wait
      (br_if $wait (i64.lt_u (call $now) (local.get $until))))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 15))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
