//! The content stage: walks `ROOT/content/`, reads every Markdown file into a
//! [`SourceDoc`] (front matter parsed, body kept as text) and lists every
//! other file as an [`Asset`] to be copied.
//!
//! Files are read in parallel; the result is in path order whatever the
//! thread count, and every problem of every file is collected.

pub mod annual_report;
pub mod disclosure;
pub mod front_matter;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::FixedOffset;
use rayon::prelude::*;
use walkdir::WalkDir;

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::paths::ContentPath;
pub use front_matter::{DocKind, FrontMatter, Signature};
use front_matter::{ParseContext, SplitError};

/// The folder under the site root that holds the content.
pub const CONTENT_DIR: &str = "content";
/// The folder under the site root whose files are copied to the top of the
/// output as they are (`favicon.ico`, `robots.txt`, an emblem image).
pub const STATIC_DIR: &str = "static";
/// The file that describes a section (栏目).
pub const SECTION_INDEX: &str = "_index.md";

/// One Markdown file, read and its front matter checked.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SourceDoc {
    pub path: ContentPath,
    pub kind: DocKind,
    /// The folders from `content/` down to the section this file belongs to.
    /// For a report kept as `folder/index.md` (with its attachments beside
    /// it), the section is the folder's parent.
    pub section: Vec<String>,
    /// The file's own name for its URL: the file stem, or the folder of an
    /// `index.md`. Empty for a section's `_index.md`.
    pub stem: String,
    pub front: Arc<FrontMatter>,
    /// Shared, so that `gazette serve`'s cache of read files hands it on
    /// without copying. Empty once the body is rendered and stowed
    /// (`rendered`).
    pub body: Arc<str>,
    /// The line of the file on which `body` starts.
    pub body_line: usize,
    /// A hash of `body` ([`text_hash`]), made when the file was read by a
    /// build that keeps a cache.
    pub body_hash: Option<u64>,
    /// The body rendered as soon as it was read (and `body` then emptied),
    /// when the loader was given a [`BodyHook`].
    pub rendered: Option<crate::markdown::RenderedDoc>,
}

/// Called on each report as soon as its file is read (on the reading
/// thread): renders and stows its body, so that a large site's texts are
/// never all in memory.
pub type BodyHook<'a> = &'a (dyn Fn(&mut SourceDoc) + Sync);

/// A file under `content/` that is not Markdown: an attachment, an image.
/// Copied to the same place in the output.
#[derive(Clone, Debug)]
pub struct Asset {
    pub path: ContentPath,
    /// Path below `content/`, `/`-separated.
    pub relative: String,
    pub source: PathBuf,
    pub size: u64,
}

/// Everything the content folder holds.
#[derive(Clone, Debug, Default)]
pub struct Content {
    pub docs: Vec<SourceDoc>,
    /// Files and reports left out, and why (shown by `--verbose`).
    pub skipped: Vec<Skipped>,
    /// Files beside the reports in `content/`.
    pub assets: Vec<Asset>,
    /// Files of `static/`.
    pub static_files: Vec<Asset>,
}

/// A file or report the build left out on purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub path: ContentPath,
    pub reason: &'static str,
}

/// Options of the content stage.
pub struct LoadOptions {
    pub timezone: FixedOffset,
    /// Keep reports marked `draft: true`.
    pub drafts: bool,
    /// Take a report's publication date from a `YYYY-MM-DD-` file name
    /// prefix when its front matter has none (Jekyll's `_posts` naming).
    pub dates_from_file_names: bool,
}

impl LoadOptions {
    /// What of the options decides what reading a file gives: files read
    /// with other options are read again ([`ReadCache`], the build cache).
    pub fn key(&self) -> (i32, bool, bool) {
        (
            self.timezone.local_minus_utc(),
            self.drafts,
            self.dates_from_file_names,
        )
    }
}

/// Files an editor or the OS leaves behind, never content.
pub fn is_ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name.contains("___jb_")
        || name == "4913"
        || name == "Thumbs.db"
        || name == "desktop.ini"
}

fn is_markdown(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown"))
}

/// What earlier builds read, so that `gazette serve` reads again only the
/// files that changed: by path (relative to the site's root, so that the
/// build cache holds however `--root` is spelled: `.`, `site`, or
/// `/srv/site`), the file's stamp and what reading it gave.
#[derive(Default)]
pub struct ReadCache {
    /// The options the entries were read with; other options clear them.
    options: Option<(i32, bool, bool)>,
    files: in_parts::Files,
    /// Files read from disk in the last build (the rest came from here).
    pub read_last: usize,
    /// For the build cache on disk: once a load has refilled the cache,
    /// the parts it must write are made here ([`ReadCache::staged`]) and
    /// it is emptied, so that the loaded files move into the site instead
    /// of being copied.
    pub stage: bool,
    pub staged: Option<StagedRead>,
    /// What the last walk of the folders found.
    listing: Option<Arc<Listing>>,
    /// The files (relative to the site's root) that changed since the last
    /// load, when something watching the folders knows exactly: the next
    /// load then looks at just these instead of walking the folders and
    /// stamping every file. Taken by that load.
    pub changed: Option<Vec<PathBuf>>,
}

/// The read cache as the build cache keeps it ([`ReadCache::staged`]): the
/// options its files were read with, and its parts' files.
#[derive(Debug)]
pub struct StagedRead {
    pub options: Option<(i32, bool, bool)>,
    pub parts: Vec<PartFile>,
}

/// One part of the read cache, as the build cache keeps it in a file of
/// its own, named by its part and a hash of its bytes.
#[derive(Debug)]
pub enum PartFile {
    /// None of its files changed since it was read from this file.
    Kept(String),
    /// Serialised again, to be written to a file of this name.
    Made { name: String, bytes: Vec<u8> },
}

impl PartFile {
    pub fn name(&self) -> &str {
        match self {
            PartFile::Kept(name) | PartFile::Made { name, .. } => name,
        }
    }
}

/// Whether a file of the cache's folder is named as a part of the read
/// cache is ([`PartFile`]).
pub fn is_part_file(name: &str) -> bool {
    name.starts_with(in_parts::PREFIX) && name.ends_with(".bin")
}

/// What one walk of `content/` and `static/` found.
#[derive(Default)]
struct Listing {
    markdown: Vec<PathBuf>,
    assets: Vec<Asset>,
    static_files: Vec<Asset>,
    skipped: Vec<Skipped>,
    /// Whether the walk may be taken again on the word of a watcher: it
    /// met no problem and went through no symbolic link (whose target a
    /// watcher of the site's folders does not see change).
    reusable: bool,
}

impl Listing {
    /// The listing, if it still holds after `changed` (relative to
    /// `root`): every change is to a Markdown file it lists, which is
    /// still there. Any other change (a file added, removed or renamed, an
    /// attachment) needs a walk. Files outside `content/` and `static/`
    /// are not its business.
    fn still_holds(
        &self,
        root: &Path,
        changed: &[PathBuf],
        known: &HashMap<PathBuf, (FileStamp, Arc<ReadDoc>)>,
    ) -> bool {
        self.reusable
            && changed.iter().all(|relative| {
                let top = relative.components().next().map(|c| c.as_os_str());
                if top != Some(CONTENT_DIR.as_ref()) && top != Some(STATIC_DIR.as_ref()) {
                    return true;
                }
                let path = root.join(relative);
                is_markdown(&path)
                    && known.contains_key(relative)
                    && std::fs::metadata(&path).is_ok_and(|m| m.is_file())
            })
    }
}

impl ReadCache {
    /// The bytes of the bodies its reports keep in a body store.
    pub fn body_bytes(&self) -> u64 {
        self.files
            .values()
            .filter_map(|(_, read)| read.0.as_ref()?.rendered.as_ref()?.stored)
            .map(|at| at.bytes())
            .sum()
    }

    /// The cache as the build cache keeps it: each part kept in the file it
    /// was read from while none of its files changed, the others
    /// serialised again.
    pub fn staged(&self) -> Result<StagedRead, postcard::Error> {
        Ok(StagedRead {
            options: self.options,
            parts: self.files.part_files()?,
        })
    }

    /// The cache the build cache kept: read with `options`, its parts in
    /// the files `names`, each read with `read` (all threads sharing the
    /// work) and decoded as it is read.
    pub fn from_parts(
        options: Option<(i32, bool, bool)>,
        names: &[String],
        read: &(dyn Fn(&str) -> std::io::Result<Vec<u8>> + Sync),
    ) -> std::io::Result<ReadCache> {
        Ok(ReadCache {
            options,
            files: in_parts::Files::read(names, read)?,
            ..ReadCache::default()
        })
    }
}

/// The read cache's files as the build cache keeps them: in
/// [`in_parts::PARTS`] parts by a hash of their paths, each serialised to a
/// file of its own, so that all threads share the work of reading a large
/// site's cache back, and a build writes again only the parts with a file
/// that changed: the others stay in their files (after a small edit, the
/// state was most of the build's fixed cost, and written whole it took a
/// rebuild of one report of 10,000 to serialise, write and delete 15 MB).
mod in_parts {
    use std::collections::HashMap;
    use std::io;
    use std::ops::Deref;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use rayon::prelude::*;

    use super::{FileStamp, PartFile, ReadDoc};

    /// A file's stamp and what reading it gave.
    type Entry = (FileStamp, Arc<ReadDoc>);

    /// Enough parts for any number of threads to share evenly, and few
    /// enough that a small edit leaves most of them as they were.
    pub(super) const PARTS: usize = 32;

    /// How the files of the parts are named: `read-PP-HASH.bin`.
    pub(super) const PREFIX: &str = "read-";

    /// The files, by path, and per part the file it was read from, as long
    /// as none of its files changed since.
    #[derive(Default)]
    pub(super) struct Files {
        map: HashMap<PathBuf, Entry>,
        kept: Vec<Option<String>>,
    }

    /// The part a file is kept in.
    fn part_of(path: &Path) -> usize {
        (xxhash_rust::xxh3::xxh3_64(path.as_os_str().as_encoded_bytes()) % PARTS as u64) as usize
    }

    /// The name of the file of part `part`, whose bytes are `bytes`.
    fn file_name(part: usize, bytes: &[u8]) -> String {
        format!(
            "{PREFIX}{part:02}-{:016x}.bin",
            xxhash_rust::xxh3::xxh3_64(bytes)
        )
    }

    impl Deref for Files {
        type Target = HashMap<PathBuf, Entry>;

        fn deref(&self) -> &Self::Target {
            &self.map
        }
    }

    /// Forgets the file `kept` names of `path`'s part.
    fn forget_part_of(kept: &mut [Option<String>], path: &Path) {
        if let Some(name) = kept.get_mut(part_of(path)) {
            *name = None;
        }
    }

    impl Files {
        pub(super) fn insert(&mut self, path: PathBuf, entry: Entry) {
            forget_part_of(&mut self.kept, &path);
            self.map.insert(path, entry);
        }

        pub(super) fn remove(&mut self, path: &Path) {
            if self.map.remove(path).is_some() {
                forget_part_of(&mut self.kept, path);
            }
        }

        /// Keeps the files whose paths `keep` says.
        pub(super) fn retain(&mut self, mut keep: impl FnMut(&Path) -> bool) {
            let kept = &mut self.kept;
            self.map.retain(|path, _| {
                let stays = keep(path);
                if !stays {
                    forget_part_of(kept, path);
                }
                stays
            });
        }

        pub(super) fn clear(&mut self) {
            self.map.clear();
            self.kept.clear();
        }

        /// Every part's file: the one it was read from, or its bytes
        /// serialised again (each part on a thread of its own).
        pub(super) fn part_files(&self) -> Result<Vec<PartFile>, postcard::Error> {
            let kept = |part: usize| self.kept.get(part).cloned().flatten();
            let mut entries: Vec<Vec<(&PathBuf, &Entry)>> = vec![Vec::new(); PARTS];
            for (path, entry) in &self.map {
                let part = part_of(path);
                if kept(part).is_none() {
                    entries[part].push((path, entry));
                }
            }
            entries
                .into_par_iter()
                .enumerate()
                .map(|(part, mut entries)| match kept(part) {
                    Some(name) => Ok(PartFile::Kept(name)),
                    None => {
                        // In path order, so that the same files make the
                        // same bytes, and the same name.
                        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                        let bytes = postcard::to_stdvec(&entries)?;
                        let name = file_name(part, &bytes);
                        Ok(PartFile::Made { name, bytes })
                    }
                })
                .collect()
        }

        /// The files kept in the part files `names`, each read with `read`
        /// and decoded by the thread that takes it.
        pub(super) fn read(
            names: &[String],
            read: &(dyn Fn(&str) -> io::Result<Vec<u8>> + Sync),
        ) -> io::Result<Files> {
            let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
            if names.len() != PARTS {
                return Err(invalid(format!(
                    "its files are in {} parts, not {PARTS}",
                    names.len()
                )));
            }
            let decoded: Vec<Vec<(PathBuf, Entry)>> = names
                .par_iter()
                .enumerate()
                .map(|(part, name)| {
                    let bytes = read(name)?;
                    let entries: Vec<(PathBuf, Entry)> = postcard::from_bytes(&bytes)
                        .map_err(|e| invalid(format!("{name}: {e}")))?;
                    // Else a change to it would not forget its part's file.
                    if entries.iter().any(|(path, _)| part_of(path) != part) {
                        return Err(invalid(format!("{name} holds another part's file")));
                    }
                    Ok(entries)
                })
                .collect::<io::Result<_>>()?;
            let mut map = HashMap::with_capacity(decoded.iter().map(Vec::len).sum());
            for entries in decoded {
                map.extend(entries);
            }
            Ok(Files {
                map,
                kept: names.iter().cloned().map(Some).collect(),
            })
        }
    }
}

/// A hash of a text, to know it again.
pub fn text_hash(text: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

/// What reading one Markdown file gave.
type ReadDoc = (Option<SourceDoc>, Vec<Diagnostic>);

/// A file's size and modification and status-change times: rewriting a
/// file changes at least one of them (ctime even when an editor restores
/// the modification time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    changed: i128,
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let changed = {
            use std::os::unix::fs::MetadataExt;
            meta.ctime() as i128 * 1_000_000_000 + meta.ctime_nsec() as i128
        };
        #[cfg(not(unix))]
        let changed = 0;
        Some(FileStamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            changed,
        })
    }
}

/// `path` (a file found under `root`) relative to `root`: what the
/// [`ReadCache`] knows it by.
fn relative_to<'p>(root: &Path, path: &'p Path) -> &'p Path {
    path.strip_prefix(root).unwrap_or(path)
}

/// Walks `root/content` (and `root/static`) and reads it. Problems are added
/// to `diagnostics`; files with errors are left out of the result.
pub fn load(root: &Path, options: &LoadOptions, diagnostics: &mut Diagnostics) -> Content {
    load_cached(root, options, diagnostics, None, None)
}

/// [`load`], taking from `cache` (when given) every file whose stamp has
/// not changed since it was read, and keeping there what it reads.
pub fn load_cached(
    root: &Path,
    options: &LoadOptions,
    diagnostics: &mut Diagnostics,
    mut cache: Option<&mut ReadCache>,
    hook: Option<BodyHook>,
) -> Content {
    let key = options.key();
    if let Some(cache) = cache.as_deref_mut()
        && cache.options != Some(key)
    {
        cache.files.clear();
        cache.options = Some(key);
    }
    let content_dir = root.join(CONTENT_DIR);
    let changed = cache.as_deref_mut().and_then(|c| c.changed.take());
    let listed = cache.as_deref().and_then(|c| {
        let (listing, changed) = (c.listing.as_ref()?, changed.as_ref()?);
        listing
            .still_holds(root, changed, &c.files)
            .then(|| listing.clone())
    });
    let listing = match listed {
        Some(listing) => listing,
        None => Arc::new(list(root, &content_dir, diagnostics)),
    };
    let mut skipped = listing.skipped.clone();
    let markdown = &listing.markdown;
    // On the watcher's word, only these files need stamping (not when a
    // file is reached through a link, whose target it does not watch).
    let to_stamp: Option<HashSet<PathBuf>> = changed
        .filter(|_| listing.reusable)
        .map(|changed| changed.iter().map(|relative| root.join(relative)).collect());

    let empty = HashMap::new();
    let known = cache.as_deref().map_or(&empty, |c| &*c.files);
    let caching = cache.is_some();
    // A clean build reads every file: the kernel is asked to read them
    // ahead of the loading threads, which would otherwise wait for the disk
    // one file at a time when the content is not in memory.
    let done = AtomicBool::new(false);
    let read_ahead =
        cfg!(target_os = "linux") && known.is_empty() && markdown.len() >= READ_AHEAD_FROM;
    // (stamp, whether read from disk now, what reading gave); a file that
    // cannot be stamped is read every time and not kept.
    let loaded: Vec<(Option<FileStamp>, bool, Arc<ReadDoc>)> = std::thread::scope(|scope| {
        if read_ahead {
            scope.spawn(|| read_ahead_of_loading(markdown, &done));
        }
        let loaded: Vec<_> = markdown
            .par_iter()
            .map(|path| {
                let known = known.get(relative_to(root, path));
                if let (Some(to_stamp), Some((stamp, read))) = (&to_stamp, known)
                    && !to_stamp.contains(path)
                {
                    return (Some(*stamp), false, read.clone());
                }
                let stamp = if caching { FileStamp::of(path) } else { None };
                match (stamp, known) {
                    (Some(stamp), Some((was, read))) if stamp == *was => {
                        (Some(stamp), false, read.clone())
                    }
                    _ => {
                        let mut read = read_doc(root, &content_dir, path, options);
                        if let Some(doc) = &mut read.0 {
                            if caching {
                                doc.body_hash = Some(text_hash(&doc.body));
                            }
                            if let Some(hook) = hook
                                && doc.kind == DocKind::Report
                            {
                                hook(doc);
                            }
                        }
                        (stamp, true, Arc::new(read))
                    }
                }
            })
            .collect();
        done.store(true, Ordering::Relaxed);
        loaded
    });
    if let Some(cache) = cache.as_deref_mut() {
        cache.read_last = loaded.iter().filter(|(_, fresh, _)| *fresh).count();
        // Updated in place: on a large site only a few files were read.
        let mut listed = 0;
        for (path, (stamp, fresh, read)) in markdown.iter().zip(&loaded) {
            match (stamp, fresh) {
                (Some(_), false) => listed += 1,
                (Some(stamp), true) => {
                    let relative = relative_to(root, path).to_path_buf();
                    cache.files.insert(relative, (*stamp, read.clone()));
                    listed += 1;
                }
                (None, _) => {
                    cache.files.remove(relative_to(root, path));
                }
            }
        }
        // Files that are gone.
        if cache.files.len() > listed {
            let present: HashSet<&Path> = markdown.iter().map(|p| relative_to(root, p)).collect();
            cache.files.retain(|path| present.contains(path));
        }
        if cache.stage {
            cache.staged = cache.staged().ok();
            cache.files = in_parts::Files::default();
        }
    }
    // Without a cache each file's result is owned here alone, and moved.
    let loaded = loaded
        .into_iter()
        .map(|(_, _, read)| Arc::try_unwrap(read).unwrap_or_else(|read| (*read).clone()));
    let mut docs = Vec::with_capacity(markdown.len());
    for (doc, problems) in loaded {
        diagnostics.extend(problems);
        let Some(doc) = doc else { continue };
        let reason = if doc.front.draft && !options.drafts {
            Some("a draft (`draft: true`); `--drafts` builds it")
        } else if doc.front.disclosure == disclosure::Disclosure::NotPublic {
            Some("`disclosure: not_public` (不予公开): never published")
        } else {
            None
        };
        match reason {
            Some(reason) => skipped.push(Skipped {
                path: doc.path,
                reason,
            }),
            None => docs.push(doc),
        }
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    let content = Content {
        docs,
        skipped,
        assets: listing.assets.clone(),
        static_files: listing.static_files.clone(),
    };
    if let Some(cache) = cache {
        cache.listing = Some(listing);
    }
    content
}

/// The fewest Markdown files for which a clean build asks the kernel to
/// read them ahead ([`read_ahead_of_loading`]); below it, the files of a
/// small site come from memory or within a blink.
const READ_AHEAD_FROM: usize = 256;

/// Asks the kernel to read each of `paths` from disk, in order, without
/// waiting for it (`POSIX_FADV_WILLNEED`), until `done` is set. Run on a
/// thread of its own beside the loading threads: a report whose file is
/// not in memory (a site's first build of the day, a fresh checkout) then
/// is already read, or on its way, when a loading thread reaches it.
/// Measured on a generated corpus of 10,000 reports, page cache dropped
/// before each build: the load stage took 2.1–2.4 s without it and
/// 1.1–1.2 s with it, as from memory (0.8–1.0 s either way).
fn read_ahead_of_loading(paths: &[PathBuf], done: &AtomicBool) {
    for path in paths {
        if done.load(Ordering::Relaxed) {
            return;
        }
        #[cfg(target_os = "linux")]
        if let Ok(file) = std::fs::File::open(path) {
            // Advice only: a file it fails for is read as any other.
            let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::WillNeed);
        }
    }
}

/// Walks `content/` and `static/`.
fn list(root: &Path, content_dir: &Path, diagnostics: &mut Diagnostics) -> Listing {
    let mut skipped = Vec::new();
    let count = |d: &Diagnostics| d.error_count() + d.warning_count();
    let problems = count(diagnostics);
    let mut links = false;
    let (markdown, assets) = walk(
        root,
        content_dir,
        true,
        &mut skipped,
        &mut links,
        diagnostics,
    );
    let static_dir = root.join(STATIC_DIR);
    let static_files = if static_dir.is_dir() {
        walk(
            root,
            &static_dir,
            false,
            &mut skipped,
            &mut links,
            diagnostics,
        )
        .1
    } else {
        Vec::new()
    };
    Listing {
        markdown,
        assets,
        static_files,
        skipped,
        reusable: !links && count(diagnostics) == problems,
    }
}

/// Lists the files below `dir`: Markdown files (when `markdown` is on) and
/// the other files as assets.
fn walk(
    root: &Path,
    dir: &Path,
    markdown: bool,
    skipped: &mut Vec<Skipped>,
    links: &mut bool,
    diagnostics: &mut Diagnostics,
) -> (Vec<PathBuf>, Vec<Asset>) {
    let mut docs = Vec::new();
    let mut assets = Vec::new();
    if !dir.is_dir() {
        diagnostics.push(
            Diagnostic::error(
                &ContentPath::new(root, dir),
                None,
                "the folder does not exist",
            )
            .with_help("put the reports in a folder named content/ beside site.yaml"),
        );
        return (docs, assets);
    }
    let walker = WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let keep = e.depth() == 0 || !is_ignored(&e.file_name().to_string_lossy());
            if !keep {
                skipped.push(Skipped {
                    path: ContentPath::new(root, e.path()),
                    reason: "a hidden, backup or editor's temporary file",
                });
            }
            keep
        });
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let on_disk = err.path().unwrap_or(dir);
                let path = ContentPath::new(root, on_disk);
                let diagnostic = if err.loop_ancestor().is_some() {
                    Diagnostic::error(
                        &path,
                        None,
                        "this link points back to a folder that contains it (a symlink loop); it was skipped",
                    )
                } else {
                    Diagnostic::error(
                        &path,
                        None,
                        format!(
                            "cannot read: {}",
                            err.io_error().map_or(err.to_string(), |e| e.to_string())
                        ),
                    )
                    .with_help(unreadable_help(on_disk, err.io_error().map(|e| e.kind())))
                };
                diagnostics.push(diagnostic);
                continue;
            }
        };
        *links |= entry.path_is_symlink();
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.into_path();
        if markdown && is_markdown(&path) {
            docs.push(path);
        } else {
            let relative = ContentPath::new(dir, &path).to_string();
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            assets.push(Asset {
                path: ContentPath::new(root, &path),
                relative,
                source: path,
                size,
            });
        }
    }
    (docs, assets)
}

/// How to fix a file or folder of the content that cannot be read.
fn unreadable_help(path: &Path, kind: Option<std::io::ErrorKind>) -> String {
    if let Ok(target) = std::fs::read_link(path)
        && std::fs::metadata(path).is_err()
    {
        return format!(
            "this is a link to {}, which does not exist; restore that file or delete the link",
            target.display()
        );
    }
    match kind {
        Some(std::io::ErrorKind::PermissionDenied) => {
            "give the user running gazette permission to read it (for example `chmod a+r`), or move it out of the content folder".to_string()
        }
        _ => "check that the file is on a working disk and not open in a program that locks it, or move it out of the content folder".to_string(),
    }
}

fn read_doc(
    root: &Path,
    content_dir: &Path,
    path: &Path,
    options: &LoadOptions,
) -> (Option<SourceDoc>, Vec<Diagnostic>) {
    let file = ContentPath::new(root, path);
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => {
            return (
                None,
                vec![
                    Diagnostic::error(&file, None, format!("cannot read the file: {err}"))
                        .with_help(unreadable_help(path, Some(err.kind()))),
                ],
            );
        }
    };
    let text = match decode(&bytes) {
        Ok(text) => text,
        Err(problem) => return (None, vec![problem.into_diagnostic(&file)]),
    };
    let relative = path.strip_prefix(content_dir).unwrap_or(path);
    let mut folders: Vec<String> = relative
        .parent()
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let file_name = relative
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (kind, stem) = if file_name == SECTION_INDEX {
        (DocKind::SectionIndex, String::new())
    } else if file_name == "index.md" && !folders.is_empty() {
        let folder = folders.pop().unwrap_or_default();
        (DocKind::Report, folder)
    } else {
        let stem = relative
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        (DocKind::Report, stem)
    };
    let cx = ParseContext {
        file: &file,
        kind,
        timezone: options.timezone,
        dates_from_file_names: options.dates_from_file_names,
    };
    parse_doc(&text, &cx).map_or_else(
        |problems| (None, problems),
        |(front, body, body_line, mut warnings)| {
            warnings.extend(large_text_warning(&file, bytes.len()));
            let doc = SourceDoc {
                path: file.clone(),
                kind,
                section: folders,
                stem,
                front: Arc::new(front),
                body: body.into(),
                body_line,
                body_hash: None,
                rendered: None,
            };
            (Some(doc), warnings)
        },
    )
}

type Parsed = (FrontMatter, String, usize, Vec<Diagnostic>);

/// The size of a file from which on it is warned of: no report is that
/// long (the seed report is 20 KB), but a statistics table converted from
/// a spreadsheet can be.
const LARGE_TEXT: usize = 4_000_000;

/// A warning about a file of `bytes` bytes past [`LARGE_TEXT`]: its page
/// and print layout each hold all of it, and rendering it takes some 50
/// times its size in memory (a 34 MB table of 4.3 million cells peaked
/// at 1.78 GB, against 0.76 GB for 100,000 reports of 18 KB).
fn large_text_warning(file: &ContentPath, bytes: usize) -> Option<Diagnostic> {
    (bytes > LARGE_TEXT).then(|| {
        Diagnostic::warning(
            file,
            None,
            format!(
                "the file is {:.1} MB: its page and its print layout each hold all of it, \
                 and building it takes about {:.1} GB of memory",
                bytes as f64 / 1e6,
                bytes as f64 * 50.0 / 1e9
            ),
        )
        .with_help(
            "publish a table this large as an attachment (CSV or XLSX) linked from a \
             shorter report, or split the text into several reports",
        )
    })
}

/// A file's text as Gazette reads it: without a leading byte order mark,
/// every line ending (CRLF, a lone CR) a `\n`. The lines of diagnostics
/// count these lines, wherever the text is shown.
pub fn unify_line_ends(text: &str) -> std::borrow::Cow<'_, str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n").into()
    } else {
        text.into()
    }
}

/// Splits and reads one file's text (already decoded).
pub fn parse_doc(text: &str, cx: &ParseContext<'_>) -> Result<Parsed, Vec<Diagnostic>> {
    let file = cx.file;
    let text = unify_line_ends(text);
    let text = text.as_ref();
    let split = front_matter::split(text).map_err(|e| {
        vec![match e {
            SplitError::NoFrontMatter { line } => Diagnostic::error(file, Some(line), "the file does not start with front matter")
                .with_help("begin the file with a `---` line, then `title:` and `date_published:`, then another `---` line, then the text"),
            SplitError::Unclosed { line } => Diagnostic::error(file, Some(line), "the front matter opened here is never closed")
                .with_help("end the front matter with a line containing only `---`"),
            SplitError::Foreign { line, format } => Diagnostic::error(file, Some(line), format!("the front matter is {format}; Gazette reads YAML"))
                .with_help(match format {
                    "TOML" => "put it between `---` lines and write each `key = \"value\"` as `key: value` (Hugo converts a whole site with `hugo convert toYAML`)",
                    _ => "put it between `---` lines and write each `\"key\": \"value\",` as `key: value` (Hugo converts a whole site with `hugo convert toYAML`)",
                }),
        }]
    })?;
    let (front, mut warnings) = FrontMatter::parse(split.yaml, split.yaml_line, cx)?;
    warnings.extend(foreign_template_syntax(split.body, split.body_line, file));
    if let Some(i) = split.body.lines().position(crate::init::is_placeholder) {
        return Err(vec![
            Diagnostic::error(
                file,
                Some(split.body_line + i),
                "the text is still a placeholder",
            )
            .with_help("write the report's text in place of 【请填写正文】 / [fill in: the text]"),
        ]);
    }
    Ok((front, split.body.to_string(), split.body_line, warnings))
}

/// Template syntax of other generators left in a body by a migration: Hugo
/// shortcodes (`{{< … >}}`, `{{% … %}}`), Liquid and Jinja tags (`{% … %}`)
/// and output (`{{ … }}`). Gazette shows them as text, so each is reported
/// once, with its line, for the team to find and replace. Code blocks and
/// inline code are left alone: there such text is meant.
pub fn foreign_template_syntax(
    body: &str,
    body_line: usize,
    file: &ContentPath,
) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    // Every kind below holds `{{` or `{%`, which no line has if the body
    // has neither (taking out code spans joins no braces): the whole check,
    // a string made for each line, is then skipped for nearly every report.
    if !body.contains("{{") && !body.contains("{%") {
        return found;
    }
    let mut fence: Option<&str> = None;
    for (i, line) in body.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(marker) = fence {
            if trimmed.starts_with(marker) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
            continue;
        }
        // Inline code spans are quoted on purpose.
        let outside_code: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let kind = if outside_code.contains("{{<") || outside_code.contains("{{%") {
            Some((
                "a Hugo shortcode",
                "Gazette does not run Hugo shortcodes; write it as Markdown (an image is ![text](file.png), a link [text](file.md)) or remove it",
            ))
        } else if outside_code.contains("{%") && outside_code.contains("%}") {
            Some((
                "a Liquid/Jinja tag",
                "Gazette does not run template tags in reports; write the content itself, or remove the tag",
            ))
        } else if outside_code.contains("{{") && outside_code.contains("}}") {
            Some((
                "a template expression",
                "Gazette does not fill in {{ … }} in reports; write the value itself, or remove it",
            ))
        } else {
            None
        };
        if let Some((what, help)) = kind {
            let snippet: String = line.trim().chars().take(60).collect();
            found.push(
                Diagnostic::warning(
                    file,
                    Some(body_line + i),
                    format!("{what} is shown as text: `{snippet}`"),
                )
                .with_help(help),
            );
        }
    }
    found
}

/// Why a file's bytes are not text Gazette can read.
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    Utf16,
    NotUtf8 { line: usize, likely: &'static str },
}

impl DecodeError {
    fn into_diagnostic(self, file: &ContentPath) -> Diagnostic {
        let name = file
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or(file.as_str())
            .to_string();
        match self {
            DecodeError::Utf16 => Diagnostic::error(file, None, "the file is saved as UTF-16, not UTF-8").with_help(
                format!("save it as UTF-8 (in Notepad or WPS: 另存为 → 编码 UTF-8), or run `iconv -f UTF-16 -t UTF-8 {name} > {name}.utf8` and replace the file"),
            ),
            DecodeError::NotUtf8 { line, likely } => {
                let from = if likely == "GBK" { "GB18030" } else { likely };
                Diagnostic::error(file, Some(line), format!("the file is not UTF-8; it looks like {likely}"))
                    .with_help(format!(
                        "save it as UTF-8 (in Notepad or WPS: 另存为 → 编码 UTF-8), or run `iconv -f {from} -t UTF-8 {name} > {name}.utf8` and replace the file"
                    ))
            }
        }
    }
}

/// Reads bytes as UTF-8, naming the likely encoding when they are not.
pub fn decode(bytes: &[u8]) -> Result<String, DecodeError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(DecodeError::Utf16);
    }
    // simdutf8 validates a Chinese text several times faster than std
    // (whose fast path is ASCII), with the same error position.
    match simdutf8::compat::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(err) => {
            let line = bytes[..err.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            let mut detector =
                chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
            detector.feed(bytes, true);
            let likely = detector
                .guess(Some(b"cn"), chardetng::Utf8Detection::Deny)
                .name();
            Err(DecodeError::NotUtf8 { line, likely })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statistics table of millions of cells is warned of, with what it
    /// costs and what to do instead; a long report is not.
    #[test]
    fn a_file_of_megabytes_is_warned_of() {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join(CONTENT_DIR);
        std::fs::create_dir_all(&content).unwrap();
        let table = format!(
            "---\ntitle: 统计表\ndate_published: 2022-01-01\n---\n| 地区 | 数值 |\n|---|---|\n{}",
            "| 遂城街道 | 12345 |\n".repeat(160_000)
        );
        std::fs::write(content.join("table.md"), &table).unwrap();
        write_report(&content.join("report.md"), &"依法行政。".repeat(200_000));
        let mut diagnostics = Diagnostics::new();
        load_cached(dir.path(), &china_options(), &mut diagnostics, None, None);
        let warnings: Vec<Diagnostic> = diagnostics.sorted();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let text = format!("{:?}", warnings[0]);
        assert!(text.contains("table.md"), "{text}");
        assert!(text.contains("4.0 MB"), "{text}");
        assert!(text.contains("attachment"), "{text}");
    }

    #[test]
    fn gbk_is_named_with_its_line() {
        let (gbk, _, _) = encoding_rs::GBK
            .encode("---\ntitle: 遂溪县人民政府遂城街道办事处关于法治政府建设情况的报告\n---\n");
        match decode(&gbk) {
            Err(DecodeError::NotUtf8 { line, likely }) => {
                assert_eq!(line, 2);
                assert_eq!(likely, "GBK");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn utf16_is_recognised() {
        assert_eq!(decode(&[0xFF, 0xFE, b'-', 0]), Err(DecodeError::Utf16));
    }

    #[test]
    fn crlf_and_bom_are_accepted() {
        let file = ContentPath::from_relative("content/a.md");
        let zone = FixedOffset::east_opt(0).unwrap();
        let cx = ParseContext {
            file: &file,
            kind: DocKind::Report,
            timezone: zone,
            dates_from_file_names: false,
        };
        let (front, body, body_line, _) = parse_doc(
            "\u{feff}---\r\ntitle: a\r\ndate_published: 2022-12-24\r\n---\r\nbody\r\n",
            &cx,
        )
        .unwrap();
        assert_eq!(front.title, "a");
        assert_eq!(body, "body\n");
        assert_eq!(body_line, 5);
    }

    #[test]
    fn foreign_template_syntax_is_reported_with_its_line() {
        let file = ContentPath::from_relative("content/a.md");
        let body = "正文\n\n{{< figure src=\"a.png\" >}}\n\n{% include note.html %}\n\n```\n{{< kept >}}\n```\n\n`{{ page.title }}` 与 {{ page.title }}\n";
        let found = foreign_template_syntax(body, 10, &file);
        let lines: Vec<usize> = found.iter().map(|d| d.line.unwrap()).collect();
        assert_eq!(lines, [12, 14, 20], "{found:?}");
        assert!(found[0].message.contains("Hugo shortcode"));
        assert!(found[1].message.contains("Liquid"));
        assert!(found[2].message.contains("template expression"));
    }

    #[test]
    fn editor_leftovers_are_ignored() {
        for name in [
            ".a.md.swp",
            "#a.md#",
            "a.md~",
            "4913",
            "a.md___jb_tmp___",
            ".DS_Store",
        ] {
            assert!(is_ignored(name), "{name}");
        }
        assert!(!is_ignored("LICENSE"));
        assert!(!is_ignored("a.md"));
    }

    fn write_report(path: &Path, title: &str) {
        std::fs::write(
            path,
            format!("---\ntitle: {title}\ndate_published: 2022-01-01\n---\n正文\n"),
        )
        .unwrap();
    }

    fn china_options() -> LoadOptions {
        LoadOptions {
            timezone: FixedOffset::east_opt(8 * 3600).unwrap(),
            drafts: false,
            dates_from_file_names: false,
        }
    }

    /// Whether `cache` holds the file `name` of `content/`.
    fn knows(cache: &ReadCache, name: &str) -> bool {
        cache.files.contains_key(&Path::new(CONTENT_DIR).join(name))
    }

    /// A read cache's parts as the build cache keeps them, in memory: each
    /// file's name and bytes (the bytes of a kept part from `files`).
    fn keep_parts(
        cache: &ReadCache,
        files: &mut HashMap<String, Vec<u8>>,
    ) -> (Vec<String>, Vec<String>) {
        let staged = cache.staged().unwrap();
        assert_eq!(staged.parts.len(), in_parts::PARTS);
        let mut made = Vec::new();
        for part in &staged.parts {
            match part {
                PartFile::Kept(name) => assert!(files.contains_key(name), "{name}"),
                PartFile::Made { name, bytes } => {
                    assert!(is_part_file(name), "{name}");
                    files.insert(name.clone(), bytes.clone());
                    made.push(name.clone());
                }
            }
        }
        let names = staged.parts.iter().map(|p| p.name().to_string()).collect();
        (names, made)
    }

    /// The read cache kept as `names` in `files`, read back.
    fn read_back(names: &[String], files: &HashMap<String, Vec<u8>>) -> ReadCache {
        let read = |name: &str| {
            files
                .get(name)
                .cloned()
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        };
        ReadCache::from_parts(Some(china_options().key()), names, &read).unwrap()
    }

    #[test]
    fn the_read_cache_in_parts_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join(CONTENT_DIR);
        std::fs::create_dir_all(&content).unwrap();
        // More files than parts, and not a multiple of them.
        let names: Vec<String> = (0..3 * in_parts::PARTS + 5)
            .map(|i| format!("r{i}.md"))
            .collect();
        for name in &names {
            write_report(&content.join(name), &format!("报告 {name}"));
        }
        let options = china_options();
        let mut cache = ReadCache::default();
        load_cached(
            dir.path(),
            &options,
            &mut Diagnostics::new(),
            Some(&mut cache),
            None,
        );
        let mut files = HashMap::new();
        let (parts, made) = keep_parts(&cache, &mut files);
        assert_eq!(made.len(), in_parts::PARTS, "a new cache writes every part");
        // The same files make the same parts, under the same names.
        assert_eq!(keep_parts(&cache, &mut HashMap::new()).0, parts);
        let mut back = read_back(&parts, &files);
        assert_eq!(back.files.len(), names.len());
        for (path, (stamp, read)) in cache.files.iter() {
            let (back_stamp, back_read) = &back.files[path];
            assert_eq!(stamp, back_stamp);
            let title = |read: &ReadDoc| read.0.as_ref().map(|doc| doc.front.title.clone());
            assert_eq!(title(read), title(back_read), "{}", path.display());
        }
        // What was read back serves the next load: nothing is read again,
        // and every part stays in its file.
        load_cached(
            dir.path(),
            &options,
            &mut Diagnostics::new(),
            Some(&mut back),
            None,
        );
        assert_eq!(back.read_last, 0);
        assert_eq!(keep_parts(&back, &mut files), (parts.clone(), Vec::new()));

        // A part's file damaged, missing or holding another part's files:
        // the cache cannot be read.
        let read_from = |files: HashMap<String, Vec<u8>>| {
            move |name: &str| {
                files
                    .get(name)
                    .cloned()
                    .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
            }
        };
        let mut damaged = files.clone();
        damaged.insert(parts[7].clone(), b"\xff\xff\xff".to_vec());
        assert!(ReadCache::from_parts(None, &parts, &read_from(damaged)).is_err());
        let mut missing = files.clone();
        missing.remove(&parts[0]);
        assert!(ReadCache::from_parts(None, &parts, &read_from(missing)).is_err());
        let mut swapped = parts.clone();
        let full: Vec<usize> = (0..parts.len())
            .filter(|i| files[&parts[*i]].len() > 1)
            .collect();
        swapped.swap(full[0], full[1]);
        assert!(ReadCache::from_parts(None, &swapped, &read_from(files.clone())).is_err());
        assert!(ReadCache::from_parts(None, &parts[1..], &read_from(files)).is_err());
    }

    #[test]
    fn the_read_cache_writes_again_only_the_parts_that_changed() {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join(CONTENT_DIR);
        std::fs::create_dir_all(&content).unwrap();
        for i in 0..4 * in_parts::PARTS {
            write_report(&content.join(format!("r{i}.md")), &format!("报告 {i}"));
        }
        let options = china_options();
        let load = |cache: &mut ReadCache| {
            load_cached(
                dir.path(),
                &options,
                &mut Diagnostics::new(),
                Some(cache),
                None,
            );
        };
        let mut cache = ReadCache::default();
        load(&mut cache);
        let mut files = HashMap::new();
        let (before, _) = keep_parts(&cache, &mut files);
        let mut back = read_back(&before, &files);

        // One file edited (another length, so another stamp) and one gone.
        write_report(&content.join("r3.md"), "报告 3，已更正");
        std::fs::remove_file(content.join("r5.md")).unwrap();
        load(&mut back);
        assert_eq!(back.read_last, 1);
        let (after, made) = keep_parts(&back, &mut files);
        let same = before.iter().zip(&after).filter(|(a, b)| a == b).count();
        assert!(
            (in_parts::PARTS - 2..in_parts::PARTS).contains(&same),
            "{same} parts unchanged"
        );
        assert_eq!(made.len(), in_parts::PARTS - same);
        // And what is written reads back as the files are now.
        let again = read_back(&after, &files);
        assert_eq!(again.files.len(), 4 * in_parts::PARTS - 1);
        assert!(!knows(&again, "r5.md"));
        let title = |cache: &ReadCache, name: &str| {
            let (_, read) = &cache.files[&Path::new(CONTENT_DIR).join(name)];
            read.0.as_ref().unwrap().front.title.clone()
        };
        assert_eq!(title(&again, "r3.md"), "报告 3，已更正");
        assert_eq!(title(&again, "r4.md"), "报告 4");
    }

    #[test]
    fn the_read_cache_follows_edits_additions_and_removals() {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join(CONTENT_DIR);
        std::fs::create_dir_all(&content).unwrap();
        let report = |name: &str, title: &str| write_report(&content.join(name), title);
        for name in ["a.md", "b.md", "c.md"] {
            report(name, name);
        }
        let options = china_options();
        let mut cache = ReadCache::default();
        let load = |cache: &mut ReadCache| {
            let mut diagnostics = Diagnostics::new();
            let content = load_cached(dir.path(), &options, &mut diagnostics, Some(cache), None);
            let mut titles: Vec<String> =
                content.docs.iter().map(|d| d.front.title.clone()).collect();
            titles.sort();
            (cache.read_last, titles)
        };
        assert_eq!(load(&mut cache).0, 3);
        assert_eq!(
            load(&mut cache),
            (0, vec!["a.md".into(), "b.md".into(), "c.md".into()])
        );

        // An edit (another length, so the stamp differs whatever the
        // clock's resolution), a new file and a file gone.
        report("b.md", "b.md, edited");
        report("d.md", "d.md");
        std::fs::remove_file(content.join("c.md")).unwrap();
        let titles = vec!["a.md".into(), "b.md, edited".into(), "d.md".into()];
        assert_eq!(load(&mut cache), (2, titles.clone()));
        assert_eq!(cache.files.len(), 3, "the file gone is forgotten");
        assert!(!knows(&cache, "c.md"));
        assert!(knows(&cache, "d.md"));
        // What was read is kept: nothing is read again.
        assert_eq!(load(&mut cache), (0, titles));
    }

    /// The build cache knows a file however the site's root is spelled
    /// (`gazette build` in the site's folder one day, `--root /srv/site`
    /// from a script the next): nothing is read again, and the cache's
    /// body store does not take a second copy of every report.
    #[test]
    fn the_read_cache_holds_whatever_the_root_is_called() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        let content = site.join(CONTENT_DIR);
        std::fs::create_dir_all(&content).unwrap();
        for name in ["a.md", "b.md"] {
            write_report(&content.join(name), name);
        }
        let options = china_options();
        let mut cache = ReadCache::default();
        let load = |cache: &mut ReadCache, root: &Path| {
            let mut diagnostics = Diagnostics::new();
            let content = load_cached(root, &options, &mut diagnostics, Some(cache), None);
            assert_eq!(content.docs.len(), 2);
            cache.read_last
        };
        assert_eq!(load(&mut cache, &site), 2);
        assert_eq!(load(&mut cache, &site.join(".")), 0);
        assert_eq!(load(&mut cache, &dir.path().join("site/../site")), 0);
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&site, &link).unwrap();
            assert_eq!(load(&mut cache, &link), 0);
        }
        assert_eq!(cache.files.len(), 2);
    }

    /// Told by a watcher which files changed, a load looks at just those:
    /// an edit it names is read, one it does not name is not looked at;
    /// a file added or removed makes it walk the folders again.
    #[test]
    fn a_load_told_what_changed_looks_at_just_that() {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join(CONTENT_DIR);
        std::fs::create_dir_all(&content).unwrap();
        let report = |name: &str, title: &str| write_report(&content.join(name), title);
        for name in ["a.md", "b.md"] {
            report(name, name);
        }
        let options = china_options();
        let mut cache = ReadCache::default();
        let load = |cache: &mut ReadCache, changed: &[&str]| {
            cache.changed = Some(
                changed
                    .iter()
                    .map(|name| Path::new(CONTENT_DIR).join(name))
                    .collect(),
            );
            let mut diagnostics = Diagnostics::new();
            let content = load_cached(dir.path(), &options, &mut diagnostics, Some(cache), None);
            let mut titles: Vec<String> =
                content.docs.iter().map(|d| d.front.title.clone()).collect();
            titles.sort();
            (cache.read_last, titles.join(" "))
        };
        assert_eq!(load(&mut cache, &[]), (2, "a.md b.md".to_string()));

        report("a.md", "a.md, edited");
        report("b.md", "b.md, edited");
        // Only a.md is named: b.md is taken from the cache unlooked-at.
        assert_eq!(
            load(&mut cache, &["a.md"]),
            (1, "a.md, edited b.md".to_string())
        );
        // A file named that is not a report's changes nothing.
        assert_eq!(
            load(&mut cache, &["notes.txt"]),
            (0, "a.md, edited b.md".to_string())
        );
        // Without a watcher's word every file is stamped.
        cache.changed = None;
        let mut diagnostics = Diagnostics::new();
        load_cached(
            dir.path(),
            &options,
            &mut diagnostics,
            Some(&mut cache),
            None,
        );
        assert_eq!(cache.read_last, 1, "b.md's edit is found by its stamp");

        // A new file and a file gone: the folders are walked again.
        report("c.md", "c.md");
        std::fs::remove_file(content.join("a.md")).unwrap();
        assert_eq!(
            load(&mut cache, &["c.md", "a.md"]),
            (1, "b.md, edited c.md".to_string())
        );
        assert!(!knows(&cache, "a.md"));
        assert!(knows(&cache, "c.md"));

        // A folder reached through a link: its files change where the
        // watcher does not look, so every file is stamped.
        #[cfg(unix)]
        {
            let elsewhere = tempfile::tempdir().unwrap();
            let linked = elsewhere.path().join("d.md");
            let write = |title: &str| write_report(&linked, title);
            write("d.md");
            std::os::unix::fs::symlink(elsewhere.path(), content.join("linked")).unwrap();
            assert_eq!(load(&mut cache, &["linked"]).0, 1);
            write("d.md, edited");
            assert_eq!(
                load(&mut cache, &[]),
                (1, "b.md, edited c.md d.md, edited".to_string())
            );
        }
    }
}
