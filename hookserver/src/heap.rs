//! Returning freed heap memory to the operating system.
//!
//! Compiling a module allocates tens of megabytes across the compiler's threads and frees
//! them when done; glibc keeps such memory in per-thread arenas, so without a trim the
//! server's resident memory stays at the peak of its busiest compile burst. Measured with
//! 100 hooks compiled at start-up (`cargo bench -p hookserver --bench configmap_hooks`):
//! 432 MiB without trimming, 146 MiB with it. A trim costs about a millisecond and runs on
//! the maintenance tick and after each source's initial load.

/// Gives free heap pages back to the OS (glibc's `malloc_trim`); a no-op elsewhere.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
