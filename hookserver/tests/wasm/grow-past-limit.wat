;; Grows linear memory to exactly its 16 MiB limit and touches it, then asks for one page
;; more and aborts when refused, as an allocator does: reported as the memory limit. If the
;; extra page were granted it would answer `{"children":[]}`.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{\"children\":[]}")
  (func (export "_start")
    (if (i32.eq (memory.grow (i32.const 255)) (i32.const -1))
      (then unreachable))
    (memory.fill (i32.const 65536) (i32.const 0x5a) (i32.const 16711680))
    (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1))
      (then unreachable))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 15))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
