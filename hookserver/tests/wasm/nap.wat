;; Sleeps 3 s in a host call (poll_oneoff on the monotonic clock), then answers
;; `{"children":[],"status":{"slept":true}}`: a slow but well-behaved hook, long enough in
;; flight for its module to be replaced, or the server stopped, under it.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "{\"children\":[],\"status\":{\"slept\":true}}")
  (func (export "_start")
    ;; subscription at 0: userdata 0, tag 0 (clock), clock id 1 (monotonic),
    ;; timeout 3e9 ns, precision 0, flags 0 (relative); its event lands at 64
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 3000000000))
    (drop (call $poll_oneoff (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
    (i32.store (i32.const 192) (i32.const 256))
    (i32.store (i32.const 196) (i32.const 39))
    (drop (call $fd_write (i32.const 1) (i32.const 192) (i32.const 1) (i32.const 200)))))
