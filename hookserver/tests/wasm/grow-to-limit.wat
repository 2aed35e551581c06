;; Grows linear memory to exactly its 16 MiB limit (256 pages), writes every byte of the new
;; pages, then answers `{"children":[]}`: a hook at its limit, not past it, is served.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{\"children\":[]}")
  (func (export "_start")
    ;; 1 page to start with and 255 more: 256 pages of 64 KiB.
    (if (i32.eq (memory.grow (i32.const 255)) (i32.const -1))
      (then unreachable))
    ;; Touch every page so the memory is really resident, not just reserved.
    (memory.fill (i32.const 65536) (i32.const 0x5a) (i32.const 16711680))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 15))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
