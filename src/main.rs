//! The `gazette` binary: everything lives in the library; this only turns the
//! outcome of [`gazette::cli::run`] into the process exit code.

/// mimalloc instead of the system allocator: a build allocates and frees
/// millions of small strings and vectors on every thread, where glibc's
/// allocator spent a fifth of the time. Version 2 (the crate's `v2`
/// feature), whose 10 ms purge delay gives freed memory back to the system
/// sooner than version 3's 1 s: at 100,000 reports v3 peaked at 1,033 MB,
/// v2 at 771 MB (glibc: 898 MB). (A build of a site of up to 20,000
/// reports holds freed memory 100 ms: `gazette::build::purge_delay_ms`.)
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its `mimalloc.h`, version 2).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if gazette::cli::holds_the_site(&args) {
        // `serve` holds the site between rebuilds, and each rebuild wants
        // again the memory the last one freed. Handed back to the system
        // 10 ms after it is freed, every page of it came back as a page
        // fault and a page zeroed by the kernel: at 10,000 reports, half
        // of a rebuild's CPU time. It keeps what it freed. A build, which
        // must stay small on a large site, still gives it back, and so
        // does each build of `build --watch`, a `gazette build` process
        // of its own (when a watcher of 100,000 reports built in its own
        // process with this setting, one save took it to 1.99 GB; with the
        // build's setting, 1.56 GB, see `cli::watch_in_children`; a build
        // peaks at 0.77 GB).
        // SAFETY: sets an option of the allocator, before any thread but
        // this one exists; mimalloc reads options at any time.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, -1)
        };
    } else {
        // mimalloc asks for transparent huge pages for its arena. A build
        // frees memory soon after using it, and mimalloc gives it back
        // 10 ms later, so 2 MiB pages were faulted in and zeroed again and
        // again: 1-5 % of a 10,000-report build's CPU time (perf), varying
        // from run to run. Off, the user time is the same and the peak
        // memory lower. (Process-wide; a system without THP ignores it.)
        #[cfg(target_os = "linux")]
        let _ = rustix::thread::disable_transparent_huge_pages(true);
        // How long freed memory is held once the build knows the size of
        // the site (see `purge_delay_ms`).
        gazette::build::set_allocator_tuning(|delay| {
            // SAFETY: sets an option of the allocator, which mimalloc
            // reads at any time from any thread.
            #[allow(unsafe_code)]
            unsafe {
                libmimalloc_sys::mi_option_set(PURGE_DELAY, delay as std::ffi::c_long)
            };
        });
    }
    gazette::cli::run(args)
}
