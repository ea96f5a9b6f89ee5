//! One glibc allocator setting, made before any thread starts.
//!
//! glibc serves a block of 128 KiB or more from its own `mmap` and unmaps
//! it on `free`, until the first such block is freed: then it raises its
//! threshold to that block's size (up to 32 MiB) and serves later large
//! blocks from the calling thread's heap arena, which keeps them after
//! `free`. An argon2id password hash takes such a block (19 MiB) on
//! whichever blocking thread runs it, so after a thousand agents logged in
//! some 540 MB stayed resident across the arenas of those threads, more
//! than ten thousand idle consoles cost. Pinning the threshold at glibc's
//! default keeps large blocks in `mmap`: freed, they go back to the system.
//! (Other C libraries return large blocks anyway; this is glibc only.)

#![allow(unsafe_code)]

/// Makes large blocks go back to the system when freed (see the module).
pub(crate) fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const GLIBC_DEFAULT_MMAP_THRESHOLD: libc::c_int = 128 * 1024;
        // SAFETY: `mallopt` changes an allocator tunable; it has no
        // memory-safety preconditions and is called first thing in `main`,
        // before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, GLIBC_DEFAULT_MMAP_THRESHOLD);
        }
    }
}
