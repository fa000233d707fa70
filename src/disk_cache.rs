//! The build cache on disk: what `gazette build` keeps between builds in
//! `ROOT/.gazette-cache/`, so that a rebuild reads, parses and renders
//! again only the Markdown files that changed.
//!
//! - `state.bin` and the `read-*.bin` files it names: for every Markdown
//!   file, its stamp (size, modification and status-change times) and
//!   what reading it gave: the front matter, the rendered body's metadata
//!   (headings, links, lead, accessibility issues) and where the body is
//!   in `bodies.bin`, and the file's warnings. The files are kept in 32
//!   parts, each in a file named by a hash of its bytes, and a build
//!   writes only the parts where a file changed. `state.bin` is written
//!   beside (`state.tmp`) while a build runs and put in place only when
//!   the build has written its output, so a failed build leaves the cache
//!   of the last good one (whose part files are removed only then).
//! - `bodies.bin`: the rendered bodies ([`BodyStore`]), appended to by
//!   each build. When most of it is no longer used, the next build starts
//!   it afresh.
//!
//! The state names the Gazette version and the options files were read
//! with; any other version or option, or a state that cannot be read, and
//! the build starts afresh (and says why with `--verbose`). Deleting the
//! folder is always safe. It holds a `.gitignore` of `*`, so git ignores it
//! without the site's own `.gitignore` saying so.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

use crate::bodies::BodyStore;
use crate::content::{PartFile, ReadCache};
use crate::render::PageMemo;

/// The cache's folder under the site root.
pub const CACHE_DIR: &str = ".gazette-cache";

/// Changes whenever what the cache holds changes shape, or the index it
/// keeps would be made differently.
const FORMAT: u32 = 17;

/// What a cache was made with: a cache made with anything else is not used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    pub format: u32,
    pub version: String,
    /// The options content is read with ([`crate::content::LoadOptions`]).
    pub load: (i32, bool, bool),
    /// The Markdown options (raw HTML, iframe hosts).
    pub markdown: (bool, Vec<String>),
}

impl CacheKey {
    pub fn new(load: (i32, bool, bool), markdown: (bool, Vec<String>)) -> CacheKey {
        CacheKey {
            format: FORMAT,
            version: env!("CARGO_PKG_VERSION").to_string(),
            load,
            markdown,
        }
    }
}

/// What one build leaves for the next: the key and the read cache.
pub struct State {
    pub key: CacheKey,
    /// Every Markdown file as read, its body in `bodies.bin`.
    pub read: ReadCache,
}

/// What `state.bin` holds: the key, the options the read cache's files
/// were read with and the files of its parts.
#[derive(Serialize, Deserialize)]
struct StateFile<'a> {
    key: Cow<'a, CacheKey>,
    options: Option<(i32, bool, bool)>,
    parts: Cow<'a, [String]>,
}

/// What the last build wrote to its output folder, kept in `pages.bin`:
/// valid only while the folder's marker names the same build
/// ([`crate::output::output_token`]).
#[derive(Serialize, Deserialize)]
pub struct Written {
    /// The output folder, made absolute.
    pub out: PathBuf,
    /// The token the build put in the folder's marker.
    pub token: u64,
    /// Its pages and the keys they were made under.
    pub memo: PageMemo,
    /// Every file it wrote, by path in the folder.
    pub files: Vec<String>,
}

/// The cache folder of one site.
pub struct DiskCache {
    dir: PathBuf,
    /// Held from [`DiskCache::open`] to the end of the build, so that two
    /// builds of one site at once do not write one cache (the second goes
    /// without it). The operating system lets go of it if the build dies.
    lock: Option<fs::File>,
}

/// A cache as a build found it.
pub struct Opened {
    /// The last build's state, when it can be used.
    pub state: Option<State>,
    /// Where this build's bodies go: the last build's store, appended to,
    /// or a new one.
    pub bodies: BodyStore,
    /// Why the last build's state is not used (for `--verbose`).
    pub fresh_because: Option<String>,
}

impl DiskCache {
    /// The cache of the site at `root` (the folder is made when first used).
    pub fn of(root: &Path) -> DiskCache {
        DiskCache {
            dir: root.join(CACHE_DIR),
            lock: None,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.bin")
    }

    fn staged_path(&self) -> PathBuf {
        self.dir.join("state.tmp")
    }

    /// Opens the cache for a build whose options give `key`: the last
    /// build's state when it was made with the same key and its bodies are
    /// still mostly in use; otherwise nothing, and an empty body store.
    pub fn open(&mut self, key: &CacheKey) -> io::Result<Opened> {
        fs::create_dir_all(&self.dir)?;
        let lock = fs::File::create(self.dir.join("lock"))?;
        match lock.try_lock() {
            Ok(()) => self.lock = Some(lock),
            Err(fs::TryLockError::WouldBlock) => {
                return Err(io::Error::other(
                    "another gazette build of this site is using it",
                ));
            }
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
        let ignore = self.dir.join(".gitignore");
        if !ignore.exists() {
            fs::write(&ignore, "# Gazette's build cache: safe to delete.\n*\n")?;
        }
        let bodies_path = self.dir.join("bodies.bin");
        let (state, fresh_because) = match self.read_state(key) {
            Ok(Some(state)) => {
                let used = state.read.body_bytes();
                let size = fs::metadata(&bodies_path).map(|m| m.len()).unwrap_or(0);
                if size < used {
                    (None, Some("its report bodies are missing".to_string()))
                } else if size > 2 * used + (16 << 20) {
                    (
                        None,
                        Some("most of its report bodies are out of date".to_string()),
                    )
                } else {
                    (Some(state), None)
                }
            }
            Ok(None) => (
                None,
                Some("it was made by another version of Gazette or with other options".to_string()),
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                (None, Some("there is none yet".to_string()))
            }
            Err(e) => (None, Some(format!("it cannot be read ({e})"))),
        };
        let bodies = match state {
            Some(_) => BodyStore::append_to(&bodies_path)?,
            None => {
                // The old state and search index must not outlive the
                // bodies they point into.
                for stale in [
                    self.state_path(),
                    crate::search::kept::dir_in(&self.dir).join("index.bin"),
                ] {
                    match fs::remove_file(stale) {
                        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                        _ => {}
                    }
                }
                BodyStore::create_at(&bodies_path)?
            }
        };
        Ok(Opened {
            state,
            bodies,
            fresh_because,
        })
    }

    /// The last build's state, when it was made with `key` (none when
    /// made with another, whose parts are not read).
    fn read_state(&self, key: &CacheKey) -> io::Result<Option<State>> {
        let bytes = fs::read(self.state_path())?;
        let invalid = |e| io::Error::new(io::ErrorKind::InvalidData, e);
        let file: StateFile = postcard::from_bytes(&bytes).map_err(invalid)?;
        if *file.key != *key {
            return Ok(None);
        }
        let read = |name: &str| -> io::Result<Vec<u8>> {
            if !crate::content::is_part_file(name) || name.contains(['/', '\\']) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{name} is not a file of the cache"),
                ));
            }
            fs::read(self.dir.join(name))
        };
        let read = ReadCache::from_parts(file.options, &file.parts, &read).map_err(|e| {
            // A part missing is a damaged cache, not one not made yet.
            match e.kind() {
                io::ErrorKind::NotFound => io::Error::new(io::ErrorKind::InvalidData, e),
                _ => e,
            }
        })?;
        Ok(Some(State {
            key: file.key.into_owned(),
            read,
        }))
    }

    /// Writes this build's state beside the last one's: the parts of the
    /// read cache a load serialised again ([`ReadCache::stage`]), each to
    /// its file, and `state.tmp` naming every part's. [`DiskCache::commit`]
    /// puts it in place once the output is written. Returns the names of
    /// the part files, for the commit.
    pub fn stage(&self, state: &State) -> io::Result<Vec<String>> {
        use rayon::prelude::*;
        let invalid = |e| io::Error::new(io::ErrorKind::InvalidData, e);
        let made;
        let staged = match &state.read.staged {
            Some(staged) => staged,
            None => {
                made = state.read.staged().map_err(invalid)?;
                &made
            }
        };
        // Each written beside and renamed: a file of the same name (the
        // same bytes) may be one the last build's state names.
        staged.parts.par_iter().try_for_each(|part| match part {
            PartFile::Kept(_) => Ok(()),
            PartFile::Made { name, bytes } => {
                let beside = self.dir.join(format!("{name}.tmp"));
                fs::write(&beside, bytes)?;
                fs::rename(&beside, self.dir.join(name))
            }
        })?;
        let names: Vec<String> = staged.parts.iter().map(|p| p.name().to_string()).collect();
        let file = StateFile {
            key: Cow::Borrowed(&state.key),
            options: staged.options,
            parts: Cow::Borrowed(&names),
        };
        fs::write(
            self.staged_path(),
            postcard::to_stdvec(&file).map_err(invalid)?,
        )?;
        Ok(names)
    }

    /// Makes the staged state the cache's, and removes the part files it
    /// does not name (`parts`, as [`DiskCache::stage`] gave them): the
    /// last state's, and any a build killed half way left.
    pub fn commit(&self, parts: &[String]) -> io::Result<()> {
        put_in_place(&self.staged_path(), &self.state_path())?;
        let used: std::collections::HashSet<&str> = parts.iter().map(String::as_str).collect();
        for entry in fs::read_dir(&self.dir)?.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let stale = crate::content::is_part_file(&name) && !used.contains(name.as_ref())
                || name.starts_with("read-") && name.ends_with(".bin.tmp");
            if stale {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    /// What the last build wrote to `out`, when known and still there
    /// (its token in the folder's marker).
    pub fn written(&self, out: &Path) -> Option<Written> {
        let bytes = fs::read(self.dir.join("pages.bin")).ok()?;
        let written: Written = postcard::from_bytes(&bytes).ok()?;
        let out = fs::canonicalize(out).ok()?;
        (written.out == out && crate::output::output_token(&out) == Some(written.token))
            .then_some(written)
    }

    /// Keeps what this build wrote, for the next.
    pub fn keep_written(&self, written: &Written) -> io::Result<()> {
        let staged = self.dir.join("pages.tmp");
        write_serialized(&staged, written)?;
        put_in_place(&staged, &self.dir.join("pages.bin"))
    }
}

/// Writes `value` serialised to a new file at `path`, as it is serialised:
/// not made in memory first, where the megabytes of a large site's pages
/// and search index (5 MB at 10,000 reports) were pages faulted in and
/// copied as the buffer grew, at every build.
pub(crate) fn write_serialized<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    /// The file, keeping the error of a write that failed: postcard
    /// reports any as a full buffer.
    struct Kept {
        file: io::BufWriter<fs::File>,
        error: Option<io::Error>,
    }
    impl io::Write for Kept {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            match self.file.write(bytes) {
                Err(e) if e.kind() != io::ErrorKind::Interrupted => {
                    let kind = e.kind();
                    self.error = Some(e);
                    Err(kind.into())
                }
                other => other,
            }
        }
        fn flush(&mut self) -> io::Result<()> {
            self.file.flush()
        }
    }
    let mut out = Kept {
        file: io::BufWriter::with_capacity(1 << 16, fs::File::create(path)?),
        error: None,
    };
    if let Err(e) = postcard::to_io(value, &mut out) {
        return Err(out
            .error
            .take()
            .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidData, e)));
    }
    io::Write::flush(&mut out)
}

/// Moves the file `staged` to `path`, removing the file there first. The
/// cache is safe to lose, so a build killed between the two steps costs
/// the next one its cache, not its output. Renamed over the old file, the
/// new one would be written to the disk at once: on ext4 (its
/// `auto_da_alloc`, on by default) a rename that replaces a file starts
/// writing the new file's data, which took 4-5 ms of a 0.26 s rebuild of
/// one report of 10,000 for the 15 MB `state.bin` alone.
pub(crate) fn put_in_place(staged: &Path, path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    fs::rename(staged, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_written_as_it_is_serialised_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pages.tmp");
        // Past the writer's buffer, and a little.
        for len in [300_000, 3] {
            let value: Vec<String> = (0..len).map(|i| format!("第{i}页")).collect();
            write_serialized(&path, &value).unwrap();
            let back: Vec<String> = postcard::from_bytes(&fs::read(&path).unwrap()).unwrap();
            assert!(back == value, "{len} values");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_write_is_reported_as_the_disk_gave_it() {
        let value: Vec<u64> = (0..100_000).collect();
        let full = write_serialized(Path::new("/dev/full"), &value).unwrap_err();
        assert_eq!(full.raw_os_error(), Some(28), "{full}"); // ENOSPC
        let dir = tempfile::tempdir().unwrap();
        let missing = write_serialized(&dir.path().join("gone/pages.tmp"), &value).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_staged_file_is_put_in_place_whether_or_not_one_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let (staged, path) = (dir.path().join("state.tmp"), dir.path().join("state.bin"));
        fs::write(&staged, "第一版").unwrap();
        put_in_place(&staged, &path).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "第一版");
        fs::write(&staged, "第二版").unwrap();
        put_in_place(&staged, &path).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "第二版");
        assert!(!staged.exists());
        // Nothing staged: an error, which the build reports as the
        // cache's failure.
        assert!(put_in_place(&staged, &path).is_err());
    }
}
