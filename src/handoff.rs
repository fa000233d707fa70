//! Files a build does not read again handed to the disk as they are
//! written, and the memory they held given to the next ones.
//!
//! A build writes each output file once and does not read it again (nor
//! the partitions' terms the cache keeps for the next build). Left to
//! itself, the system keeps every written byte in memory (the page cache)
//! until memory runs short, so a build takes as much fresh memory as it
//! writes: 18 GB for a 100,000-report site with its cache. Fresh memory is
//! not free on the virtual machines a portal is often built on. One that
//! gives the memory its system frees back to the host (free page
//! reporting: Firecracker, and cloud machines with a memory balloon) pays
//! a fault in the host for each page it touches again. On the bench's
//! machine, `dd` took 3 s of system time per GB written into memory not
//! touched lately, 0.5 s per GB into memory that was, and writing 4 GB of
//! 100 KB files took 9.7 s of system time, against 3.5 s when each file's
//! memory went to the next files.
//!
//! So, on Linux, once a build has written as much as the system lets wait
//! in memory before it starts writing to the disk in the background
//! ([`Handoff::new`]; the store of report bodies, read again, counts but
//! stays), each file is given to the disk as soon as it is written
//! (`POSIX_FADV_DONTNEED` on a file whose pages are still to be written
//! starts writing them, without waiting), kept open, and once [`LAG`]
//! later files are written (by then on the disk) told again, which drops
//! its pages. Not before: the writing is then done by the build's threads
//! rather than by the system's after the build, and a 10,000-report build
//! (1.8 GB written) that handed over every file took 1 s longer (6.8 s
//! against 5.7 s). A clean 100,000-report build, started with its memory
//! given back to the host, took 79.2 s (45.6 s of it system time) against
//! 98.0 s (79.3 s) without. Elsewhere, a file is written and closed.
//!
//! The body store stays in memory, though at 100,000 reports it is 3.4 GB
//! of fresh memory, all taken while the site is loaded: in a profile of
//! that stage, half the time went to writing it (27 % of the samples
//! copying into new pages, 16 % one loading thread waiting for the
//! other's write to the same file, 8 % zeroing the ends of pages). Giving
//! the store to the disk every 32 MB past half the threshold, and reading
//! each body back a few reports ahead of the render and search stages
//! (`POSIX_FADV_WILLNEED`), halved the loading stage (14.4 s to 7.0 s) but
//! made rendering and indexing as much slower: the clean build took 65.0 s
//! against 65.4 s. Dropping each body's pages again once read back was
//! worse (75.9 s against 65.1 s): the bodies are read twice, the HTML by
//! the render stage and the text by the index.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// How many files written after one its pages are dropped: enough for
/// the disk to have written it (a few megabytes of output), few enough to
/// keep open.
const LAG: usize = 128;

/// The build's written files handed to the disk, their pages not yet
/// dropped, and the bytes it wrote.
pub struct Handoff {
    /// Bytes written; files are handed over once they pass `from`.
    written: AtomicU64,
    from: u64,
    pending: Mutex<VecDeque<File>>,
}

/// The handoff of the process: the bytes a build writes count together,
/// whichever stage writes them.
pub fn shared() -> &'static Handoff {
    static SHARED: OnceLock<Handoff> = OnceLock::new();
    SHARED.get_or_init(Handoff::new)
}

impl Handoff {
    /// Hands files over once the bytes written pass what the system keeps
    /// in memory before it writes in the background
    /// ([`background_threshold`]); elsewhere than on Linux, never.
    fn new() -> Handoff {
        Handoff {
            written: AtomicU64::new(0),
            from: background_threshold(),
            pending: Mutex::default(),
        }
    }

    /// Writes `bytes` to a new file at `path` (replacing any there).
    pub fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut file = File::create(path)?;
        file.write_all(bytes)?;
        self.written(file, bytes.len() as u64);
        Ok(())
    }

    /// Takes a file of `len` bytes, written in full and not to be read by
    /// this build: past the threshold it is given to the disk, and its
    /// pages dropped [`LAG`] files later.
    pub fn written(&self, file: File, len: u64) {
        if !self.count(len) {
            return;
        }
        drop_pages(&file);
        let done = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.push_back(file);
            (pending.len() > LAG).then(|| pending.pop_front()).flatten()
        };
        if let Some(done) = done {
            drop_pages(&done);
        }
    }

    /// Counts `len` bytes just appended to `file`, which the build reads
    /// again only much later (a run of the search index's postings
    /// spilled to disk, read when the runs are merged): past the
    /// threshold, the file is given to the disk, which starts writing the
    /// new bytes and drops the pages of those appended before, written by
    /// now. Read back from the disk, they then take memory that output
    /// files gave up rather than memory of their own all through the
    /// build.
    pub fn appended(&self, file: &File, len: u64) {
        if self.count(len) {
            drop_pages(file);
        }
    }

    /// Counts `len` bytes written that stay in memory (a build's store of
    /// report bodies, read again); returns whether the files written from
    /// now on are handed over.
    pub fn count(&self, len: u64) -> bool {
        self.written.fetch_add(len, Ordering::Relaxed) >= self.from
    }
}

/// `POSIX_FADV_DONTNEED` on `file`: its pages still to be written start
/// being written, and those written are dropped. Advice, not a promise: a
/// failure leaves the pages in memory.
#[cfg(target_os = "linux")]
fn drop_pages(file: &File) {
    use rustix::fs::{Advice, fadvise};
    let _ = fadvise(file, 0, None, Advice::DontNeed);
}

#[cfg(not(target_os = "linux"))]
fn drop_pages(_: &File) {}

/// The bytes the system lets wait in memory before it writes them in the
/// background: its `vm.dirty_background_bytes`, or
/// `vm.dirty_background_ratio` percent of the memory available (10 % by
/// default; 2.3 GB on a 24 GB machine), from `/proc`; 2 GiB when they
/// cannot be read.
#[cfg(target_os = "linux")]
fn background_threshold() -> u64 {
    let read = |name: &str| -> Option<u64> {
        std::fs::read_to_string(format!("/proc/sys/vm/{name}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    let from_ratio = || -> Option<u64> {
        let ratio = read("dirty_background_ratio")?;
        let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
        let available_kb: u64 = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemAvailable:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(available_kb * 1024 / 100 * ratio)
    };
    read("dirty_background_bytes")
        .filter(|&b| b > 0)
        .or_else(from_ratio)
        .unwrap_or(2 << 30)
}

/// Elsewhere, files are written and closed: nothing is handed over.
#[cfg(not(target_os = "linux"))]
fn background_threshold() -> u64 {
    u64::MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_handed_over_read_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let handoff = Handoff::new();
        // Every file handed over.
        handoff.count(u64::MAX / 2);
        let files: Vec<(std::path::PathBuf, Vec<u8>)> = (0..300)
            .map(|i| {
                let bytes = format!("<p>第{i}号文件</p>").repeat(i % 7 + 1).into_bytes();
                (dir.path().join(format!("{i}.html")), bytes)
            })
            .collect();
        for (path, bytes) in &files {
            handoff.write(path, bytes).unwrap();
        }
        // Rewritten in place: the old bytes do not survive.
        handoff.write(&files[0].0, b"new").unwrap();
        drop(handoff);
        assert_eq!(std::fs::read(&files[0].0).unwrap(), b"new");
        for (path, bytes) in &files[1..] {
            assert_eq!(&std::fs::read(path).unwrap(), bytes);
        }
    }

    #[test]
    fn runs_appended_and_handed_over_read_back_whole() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let handoff = Handoff::new();
        handoff.count(u64::MAX / 2);
        let path = dir.path().join("search-000.bin");
        let mut expected = Vec::new();
        for run in 0..5 {
            let bytes = format!("第{run}段").repeat(10_000).into_bytes();
            let mut file = File::options()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap();
            file.write_all(&bytes).unwrap();
            handoff.appended(&file, bytes.len() as u64);
            expected.extend_from_slice(&bytes);
        }
        let mut file = File::open(&path).unwrap();
        let mut read = Vec::new();
        file.read_to_end(&mut read).unwrap();
        assert_eq!(read, expected);
    }
}
