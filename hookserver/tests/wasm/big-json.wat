;; Answers one valid JSON object of 16 MiB, `{"children":[],"status":{"blob":"aaa..."}}`,
;; streamed in 256 writes of 64 KiB: over a small response limit only because of its size.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 64) "{\"children\":[],\"status\":{\"blob\":\"")
  (data (i32.const 128) "\"}}")
  (func $write (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (local $n i32)
    (memory.fill (i32.const 65536) (i32.const 0x61) (i32.const 65536))
    (call $write (i32.const 64) (i32.const 33))
    (loop $blob
      (call $write (i32.const 65536) (i32.const 65536))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $blob (i32.lt_u (local.get $n) (i32.const 256))))
    (call $write (i32.const 128) (i32.const 3))))
