//! The build cache on disk: what `gazette build` keeps between builds in
//! `ROOT/.gazette-cache/`, so that a rebuild reads, parses and renders
//! again only the Markdown files that changed.
//!
//! - `state.bin`: for every Markdown file, its stamp (size, modification
//!   and status-change times) and what reading it gave: the front matter,
//!   the rendered body's metadata (headings, links, lead, accessibility
//!   issues) and where the body is in `bodies.bin`, and the file's
//!   warnings. It is written beside (`state.tmp`) while a build runs and
//!   put in place only when the build has written its output, so a failed
//!   build leaves the cache of the last good one.
//! - `bodies.bin`: the rendered bodies ([`BodyStore`]), appended to by
//!   each build. When most of it is no longer used, the next build starts
//!   it afresh.
//!
//! The state names the Gazette version and the options files were read
//! with; any other version or option, or a state that cannot be read, and
//! the build starts afresh (and says why with `--verbose`). Deleting the
//! folder is always safe. It holds a `.gitignore` of `*`, so git ignores it
//! without the site's own `.gitignore` saying so.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::bodies::BodyStore;
use crate::content::ReadCache;
use crate::render::PageMemo;

/// The cache's folder under the site root.
pub const CACHE_DIR: &str = ".gazette-cache";

/// Changes whenever what the cache holds changes shape, or the index it
/// keeps would be made differently.
const FORMAT: u32 = 16;

/// Reads a whole file, each of the build's threads a share of it. The
/// state of a large site is megabytes, and a new buffer's pages are
/// faulted in as it is filled: the 15 MB state of a 10,000-report site
/// took one thread a median of 6.9 ms to read, two 3.7 ms.
fn read_shared(path: &Path) -> io::Result<Vec<u8>> {
    use rayon::prelude::*;
    let file = File::open(path)?;
    let len = usize::try_from(file.metadata()?.len()).map_err(io::Error::other)?;
    let mut bytes = vec![0u8; len];
    let share = len
        .div_ceil(rayon::current_num_threads().max(1))
        .max(1 << 20);
    bytes
        .par_chunks_mut(share)
        .enumerate()
        .try_for_each(|(i, chunk)| {
            crate::bodies::read_exact_at(&file, chunk, (i * share) as u64)
        })?;
    Ok(bytes)
}

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

/// What one build leaves for the next: `state.bin` holds the key and
/// then the read cache.
pub struct State {
    pub key: CacheKey,
    /// Every Markdown file as read, its body in `bodies.bin`.
    pub read: ReadCache,
}

/// A buffer to serialise a part of the cache into, with room for about
/// the `last` bytes it took in the last build made at once: grown by
/// doubling, a buffer of megabytes is copied each time.
pub fn room_for(last: usize) -> Vec<u8> {
    Vec::with_capacity(last + last / 8 + (1 << 16))
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
        let (state, fresh_because) = match self.read_state() {
            Ok(state) if state.key == *key => {
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
            Ok(_) => (
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

    fn read_state(&self) -> io::Result<State> {
        let bytes = read_shared(&self.state_path())?;
        let invalid = |e| io::Error::new(io::ErrorKind::InvalidData, e);
        let (key, rest) = postcard::take_from_bytes(&bytes).map_err(invalid)?;
        let mut read: ReadCache = postcard::from_bytes(rest).map_err(invalid)?;
        read.serialized_len = rest.len();
        Ok(State { key, read })
    }

    /// Writes this build's state beside the last one's; [`DiskCache::commit`]
    /// puts it in place once the output is written. The read cache is
    /// written as a load serialised it ([`ReadCache::serialize`]).
    pub fn stage(&self, state: &State) -> io::Result<()> {
        let invalid = |e| io::Error::new(io::ErrorKind::InvalidData, e);
        let key = postcard::to_stdvec(&state.key).map_err(invalid)?;
        let read = match &state.read.serialized {
            Some(read) => Cow::Borrowed(read),
            None => Cow::Owned(postcard::to_stdvec(&state.read).map_err(invalid)?),
        };
        // The two parts one after the other, not copied into one buffer.
        let mut file = File::create(self.staged_path())?;
        file.write_all(&key)?;
        file.write_all(&read)
    }

    /// Makes the staged state the cache's.
    pub fn commit(&self) -> io::Result<()> {
        put_in_place(&self.staged_path(), &self.state_path())
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
        let last = fs::metadata(self.dir.join("pages.bin")).map_or(0, |m| m.len() as usize);
        let bytes = postcard::to_extend(written, room_for(last))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let staged = self.dir.join("pages.tmp");
        fs::write(&staged, bytes)?;
        put_in_place(&staged, &self.dir.join("pages.bin"))
    }
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
    fn a_file_read_in_shares_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        // Past a share of a megabyte, not a multiple of it; and empty.
        for len in [5 << 20 | 12_345, 1000, 0] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let path = dir.path().join(format!("{len}.bin"));
            fs::write(&path, &bytes).unwrap();
            assert!(read_shared(&path).unwrap() == bytes, "{len} bytes");
        }
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
