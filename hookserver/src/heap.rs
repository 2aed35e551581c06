//! Returning freed heap memory to the operating system.
//!
//! Compiling a module allocates tens of megabytes across the compiler's threads and frees
//! them when done; glibc keeps such memory in per-thread arenas, so without a trim the
//! server's resident memory stays at the peak of its busiest compile burst. Measured with
//! 100 hooks compiled at start-up (`cargo bench -p hookserver --bench configmap_hooks`):
//! 432 MiB without trimming, 146 MiB with it. A trim costs about a millisecond and runs on
//! the maintenance tick and after each source's initial load.
//!
//! A trim cannot shrink a worker thread's arena, though, so large blocks must not land there
//! in the first place: see [`return_large_blocks_on_free`].

/// Blocks of this size or more get a mapping of their own, unmapped as soon as they are
/// freed.
///
/// glibc starts at 128 KiB but raises its threshold to the size of each large block freed
/// (up to 32 MiB), and the point at which an arena is shrunk to twice that. After one hook
/// answered 16 MiB, the next stdout buffers and request bodies of that size were carved from
/// the tokio workers' arenas, and freeing them gave nothing back: `malloc_trim` only trims
/// the top of the main arena. In the memory test of `tests/hostile.rs` (20 rounds of hostile
/// calls, lean reset) the server stayed 22 MiB above its warm-up figure with the sliding
/// threshold, and 5 MiB with this one (the rest was stacks, see `engine.rs`).
///
/// Setting the threshold also pins the shrink point at 128 KiB. 1 MiB rather than 128 KiB:
/// most request bodies and responses stay in the arenas, where they cost no system call,
/// and are given back when they were the top of the arena.
pub const MMAP_THRESHOLD: usize = 1 << 20;

/// Makes large blocks (stdout buffers, request bodies, a compiler's big vectors) go back to
/// the OS when freed, by fixing glibc's mmap threshold at [`MMAP_THRESHOLD`]; a no-op
/// elsewhere. Call it once, first thing in `main`.
pub fn return_large_blocks_on_free() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a parameter of glibc's allocator, under its own lock. It
    // fails only for a threshold above 32 MiB, which this is not; the default is then kept.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int);
    }
}

/// Gives free heap pages back to the OS (glibc's `malloc_trim`); a no-op elsewhere.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
