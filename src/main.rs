//! The `gazette` binary: everything lives in the library; this only turns the
//! outcome of [`gazette::cli::run`] into the process exit code.

/// mimalloc instead of the system allocator: a build allocates and frees
/// millions of small strings and vectors on every thread, where glibc's
/// allocator spent a fifth of the time. Version 2 (the crate's `v2`
/// feature), whose 10 ms purge delay gives freed memory back to the system
/// sooner than version 3's 1 s: at 100,000 reports v3 peaked at 1,033 MB,
/// v2 at 771 MB (glibc: 898 MB).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    gazette::cli::run(std::env::args_os())
}
