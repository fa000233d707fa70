//! The output stage: writes the portal to the output folder so that a
//! visitor, a sync tool or a web server never sees a half-written site.
//!
//! The new site is written to a staging folder beside the output folder,
//! file by file as the pipeline makes them ([`Sink`], [`Stager`]), and
//! swapped in only when every file is written. A file whose bytes did not
//! change is hard-linked from the previous output (copied, with its time
//! kept, where links are not possible), so its modification time stays and
//! a sync tool uploads only what changed. Files no longer produced are gone
//! after the swap. Hidden entries at the top of the output folder (`.git`,
//! for a site published from a repository) are carried over.
//!
//! The output folder is only ever replaced if it is empty or was written by
//! Gazette (it holds the marker file [`MARKER`]), so a mistyped `--out`
//! cannot wipe a folder of someone's documents.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;
use rustc_hash::FxHashSet;

use crate::handoff;
use crate::render::{Contents, OutputFile, OutputSet};

/// The file that marks a folder as Gazette's output.
pub const MARKER: &str = ".gazette-output";

/// What writing the output did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub files: usize,
    /// Files whose bytes changed or that are new.
    pub written: usize,
    /// Files kept as they were, modification time included.
    pub unchanged: usize,
    /// Files of the previous output no longer produced.
    pub removed: usize,
    pub bytes: u64,
}

/// A failure to write the output, naming the path concerned.
#[derive(Debug)]
pub struct OutputError {
    pub path: PathBuf,
    pub action: &'static str,
    pub source: Option<io::Error>,
    pub help: Option<String>,
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot {} {}", self.action, self.path.display())?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for OutputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

fn io_error<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> OutputError + 'a {
    move |source| OutputError {
        path: path.to_path_buf(),
        action,
        source: Some(source),
        help: None,
    }
}

/// Where the files of a build go as they are made: the render and search
/// stages hand each file over as soon as it is made, so that a large
/// site's pages are never all in memory at once.
pub trait Sink: Sync {
    /// Takes one file of the portal.
    fn put(&self, file: OutputFile) -> Result<(), OutputError>;
    /// The paths of the files taken so far, sorted (twice if taken twice).
    fn paths(&self) -> Vec<String>;
    /// The paths taken more than once, sorted.
    fn taken_twice(&self) -> Vec<String> {
        repeated(self.paths().iter().map(String::as_str))
    }
}

/// Each path that comes more than once in `sorted`, once.
fn repeated<'a>(sorted: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut twice: Vec<String> = Vec::new();
    let mut last = None;
    for path in sorted {
        if last == Some(path) && twice.last().map(String::as_str) != Some(path) {
            twice.push(path.to_string());
        }
        last = Some(path);
    }
    twice
}

/// Files kept in memory, for `gazette serve` (which serves from memory)
/// and for tests.
#[derive(Default)]
pub struct Collect {
    files: Mutex<Vec<OutputFile>>,
}

impl Collect {
    /// Every file taken, sorted by path.
    pub fn into_set(self) -> OutputSet {
        let mut files = self.files.into_inner().unwrap_or_else(|e| e.into_inner());
        files.sort_by(|a, b| a.path.cmp(&b.path));
        OutputSet { files }
    }
}

impl Sink for Collect {
    fn put(&self, file: OutputFile) -> Result<(), OutputError> {
        let file = file.compacted();
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(file);
        Ok(())
    }

    fn paths(&self) -> Vec<String> {
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let mut paths: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
        paths.sort();
        paths
    }

    /// Sorts the files in place (so that [`Collect::into_set`] finds them
    /// sorted) instead of copying every path: serve asks after every
    /// rebuild.
    fn taken_twice(&self) -> Vec<String> {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.sort_by(|a, b| a.path.cmp(&b.path));
        repeated(files.iter().map(|f| f.path.as_str()))
    }
}

/// A new site being written into a staging folder beside the output
/// folder, file by file as they are made; [`Stager::finish`] swaps it in.
/// Dropped unfinished (the build failed), it removes the staging folder and
/// leaves the output folder exactly as it was.
pub struct Stager {
    out: PathBuf,
    staging: PathBuf,
    backup: PathBuf,
    /// Whether there is a previous output to compare the files with.
    previous: bool,
    folders: Folders,
    taken: Taken,
    finished: bool,
}

impl Stager {
    /// Prepares to replace `out`. When `out` is a symbolic link (`public` →
    /// `/var/www/portal`), the folder it points to is replaced and the
    /// link is kept.
    pub fn begin(out: &Path) -> Result<Stager, OutputError> {
        let out = followed(out)?;
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(io_error("create", parent))?;
        let staging = beside(&out, "staging");
        let backup = beside(&out, "previous");
        // A build killed between the two renames of a swap (where the
        // system cannot exchange folders in one step) left the previous
        // site aside.
        if !out.exists() && backup.join(MARKER).is_file() {
            fs::rename(&backup, &out).map_err(io_error("restore the previous output to", &out))?;
        }
        check_replaceable(&out)?;
        let previous = out.is_dir();
        for leftover in [&staging, &backup] {
            if leftover.exists() {
                fs::remove_dir_all(leftover)
                    .map_err(io_error("remove the leftover folder", leftover))?;
            }
        }
        fs::create_dir_all(&staging).map_err(io_error("create", &staging))?;
        Ok(Stager {
            out,
            staging,
            backup,
            previous,
            folders: Folders::default(),
            taken: Taken::default(),
            finished: false,
        })
    }

    /// Swaps the staged site in: the previous output is replaced as one.
    /// Its marker file carries `token` when given (see [`output_token`]).
    pub fn finish(mut self, token: Option<u64>) -> Result<WriteStats, OutputError> {
        self.finished = true;
        let result = self.complete(token);
        if result.is_err() {
            let _ = fs::remove_dir_all(&self.staging);
        }
        result
    }

    fn complete(&self, token: Option<u64>) -> Result<WriteStats, OutputError> {
        let taken = self.taken.take();
        let mut stats = stats_of(&taken);
        let (out, staging) = (&self.out, &self.staging);
        write_marker(staging, token)?;
        move_hidden_entries(out, staging)?;
        let produced: FxHashSet<&str> = taken.iter().map(|(path, ..)| path.as_str()).collect();
        stats.removed = count_stale(out, &produced);
        swap(out, staging, &self.backup)?;
        Ok(stats)
    }
}

impl Drop for Stager {
    fn drop(&mut self) {
        if !self.finished {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

impl Sink for Stager {
    /// Writes the file into the staging folder — or, when the previous
    /// output has it with the same bytes, links that one, keeping its time.
    fn put(&self, file: OutputFile) -> Result<(), OutputError> {
        let dest = self.staging.join(&file.path);
        let previous = self.out.join(&file.path);
        let compare = self.previous.then_some(previous.as_path());
        let (unchanged, size) = write_unless_same(&file.contents, compare, &dest, &self.folders)?;
        if unchanged {
            self.folders.make_parent_of(&dest)?;
            keep_previous(&previous, &dest)?;
        }
        self.taken.push(file.path, size, unchanged);
        Ok(())
    }

    fn paths(&self) -> Vec<String> {
        self.taken.paths()
    }

    fn taken_twice(&self) -> Vec<String> {
        self.taken.taken_twice()
    }
}

/// The folders a writer has made (or found), so that each is made once:
/// asking the system to make a folder that is there, as each file's
/// folder was asked for, cost a failed `mkdir` and a `stat` per file,
/// under a lock on the parent folder that the build's threads queued on.
#[derive(Default)]
struct Folders(Mutex<FxHashSet<PathBuf>>);

impl Folders {
    /// Makes `dir` and its parents, unless they are known to be there.
    fn make(&self, dir: &Path) -> Result<(), OutputError> {
        if self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(dir)
        {
            return Ok(());
        }
        // Made without the lock: another thread making the same folder
        // meanwhile is harmless.
        fs::create_dir_all(dir).map_err(io_error("create", dir))?;
        // Its parents are there too; a known one's are known.
        let mut folders = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for made in dir.ancestors() {
            if !folders.insert(made.to_path_buf()) {
                break;
            }
        }
        Ok(())
    }

    /// Makes the folder `file` goes in, unless it is known to be there.
    fn make_parent_of(&self, file: &Path) -> Result<(), OutputError> {
        match file.parent() {
            Some(dir) => self.make(dir),
            None => Ok(()),
        }
    }
}

/// Writes `contents` to `dest` (making its folder) unless the file
/// `previous`, when given, has the same bytes, or the contents are
/// [`Contents::Kept`]; returns whether they were the same, and their size.
/// Written bytes go through [`handoff`], which gives their memory back.
fn write_unless_same(
    contents: &Contents,
    previous: Option<&Path>,
    dest: &Path,
    folders: &Folders,
) -> Result<(bool, u64), OutputError> {
    match contents {
        Contents::Kept(size) => Ok((true, *size)),
        Contents::Bytes(_) | Contents::Shared(_) | Contents::SharedText(_) => {
            let bytes = contents.in_memory().expect("bytes in memory");
            let same = previous.is_some_and(|previous| {
                fs::metadata(previous).is_ok_and(|m| m.len() == bytes.len() as u64)
                    && fs::read(previous).is_ok_and(|old| old == *bytes)
            });
            if !same {
                folders.make_parent_of(dest)?;
                handoff::shared()
                    .write(dest, bytes)
                    .map_err(io_error("write", dest))?;
            }
            Ok((same, bytes.len() as u64))
        }
        Contents::CopyOf(source) => {
            let size = fs::metadata(source)
                .map_err(io_error("read", source))?
                .len();
            let same = match previous {
                Some(previous) if fs::metadata(previous).is_ok_and(|m| m.len() == size) => {
                    fs::read(previous).ok()
                        == Some(fs::read(source).map_err(io_error("read", source))?)
                }
                _ => false,
            };
            if !same {
                folders.make_parent_of(dest)?;
                fs::copy(source, dest).map_err(io_error("copy to", dest))?;
            }
            Ok((same, size))
        }
    }
}

/// The output folder `out`, or the folder it links to (`public` →
/// `/var/www/portal`), whose contents are replaced and the link kept.
fn followed(out: &Path) -> Result<PathBuf, OutputError> {
    if fs::symlink_metadata(out).is_ok_and(|m| m.file_type().is_symlink()) {
        let target = fs::read_link(out).map_err(io_error("follow the link", out))?;
        Ok(out.parent().unwrap_or(Path::new(".")).join(target))
    } else {
        Ok(out.to_path_buf())
    }
}

/// Whether an [`Updater`] that replaces `replaced` of the `files` a build
/// made swaps the output folder whole rather than replacing them in place:
/// when they are more than a tenth of the files (and more than 16).
fn swapped_whole(replaced: usize, files: usize) -> bool {
    replaced > (files / 10).max(16)
}

/// Hidden entries at the top of the old output belong to the user: they
/// are moved into the new one.
fn move_hidden_entries(out: &Path, staging: &Path) -> Result<(), OutputError> {
    if let Ok(entries) = fs::read_dir(out) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let text = name.to_string_lossy();
            if text.starts_with('.') && text != MARKER {
                let dest = staging.join(&name);
                fs::rename(entry.path(), &dest).map_err(io_error("move", &entry.path()))?;
            }
        }
    }
    Ok(())
}

/// The files a writer has taken, as they come: per file its path, size,
/// and whether it was unchanged.
#[derive(Default)]
struct Taken(Mutex<Vec<(String, u64, bool)>>);

impl Taken {
    fn push(&self, path: String, size: u64, unchanged: bool) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((path, size, unchanged));
    }

    /// The paths taken so far, sorted (sorted in place, so that asking
    /// again, as a build does, finds them in order).
    fn paths(&self) -> Vec<String> {
        let mut taken = self.0.lock().unwrap_or_else(|e| e.into_inner());
        taken.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        taken.iter().map(|(path, ..)| path.clone()).collect()
    }

    /// The paths taken more than once, sorted: found in place, without
    /// copying every path (tens of thousands on a large site), sorted on
    /// every thread: one thread took 10 ms of a 0.3 s rebuild at 10,000
    /// reports.
    fn taken_twice(&self) -> Vec<String> {
        let mut taken = self.0.lock().unwrap_or_else(|e| e.into_inner());
        taken.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        repeated(taken.iter().map(|(path, ..)| path.as_str()))
    }

    /// Everything taken, emptied from here.
    fn take(&self) -> Vec<(String, u64, bool)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Counts the files taken: (path, size, whether unchanged).
fn stats_of(taken: &[(String, u64, bool)]) -> WriteStats {
    let mut stats = WriteStats::default();
    for (_, size, unchanged) in taken {
        stats.files += 1;
        stats.bytes += size;
        if *unchanged {
            stats.unchanged += 1;
        } else {
            stats.written += 1;
        }
    }
    stats
}

/// Writes the marker file into the output folder `dir`, naming the build
/// that wrote the folder when `token` is given.
fn write_marker(dir: &Path, token: Option<u64>) -> Result<(), OutputError> {
    let mut text =
        "This folder is written by gazette build; it is replaced on every build.\n".to_string();
    if let Some(token) = token {
        text.push_str(&format!("build: {token:016x}\n"));
    }
    let path = dir.join(MARKER);
    fs::write(&path, text).map_err(io_error("write", &path))
}

/// The token of the build that last wrote the output folder `out`
/// completely, when it had one: the build cache keeps it, and trusts the
/// folder to hold what that build wrote only while the token is there.
pub fn output_token(out: &Path) -> Option<u64> {
    let text = fs::read_to_string(out.join(MARKER)).ok()?;
    let hex = text.lines().find_map(|line| line.strip_prefix("build: "))?;
    u64::from_str_radix(hex, 16).ok()
}

/// An output folder brought up to date in place, when the build cache
/// knows what the last build wrote there and that it is still there: the
/// files that changed are written to a staging folder beside it as they
/// are made, and [`Updater::finish`] moves them in, each replacing the old
/// one, and takes away the files no longer produced. Files the build
/// found unchanged ([`Contents::Kept`], or the same bytes) are not
/// touched. Until `finish`, the output folder is as it was; if a move
/// fails, the ones made are undone.
///
/// Each file is replaced in one step, but the update as a whole is not:
/// a build killed among the moves (a few thousand take well under a
/// second) leaves some of this build's files beside the last one's. The
/// marker file names no build while the moves run, so the next build then
/// writes the folder whole. Files at new paths go in before the ones
/// replaced, and stale ones out after them, so only replaced files can
/// show a half-made site: when more than a tenth of them are replaced (and
/// more than 16, `swapped_whole`), the unchanged ones are linked into
/// the staging folder instead and the folders swapped as [`Stager`] does,
/// so a large change (a new theme, a changed title in every list) is never
/// seen half made. A smaller share is replaced in place, however many
/// files that is, because a swap costs the whole site. A report published
/// on a site of 100,000 reports (356,000 files) moves every page of the
/// catalogue lists it is in by one, about 6,000 pages; when every update
/// of more than 1,000 replaced files was swapped, that swap took 40 to
/// 70 s, where the build's own work took 25 s. (A publish also adds
/// thousands of search index files and retires as many, which go in and
/// out without a swap.)
pub struct Updater {
    out: PathBuf,
    staging: PathBuf,
    backup: PathBuf,
    /// The files the last build wrote.
    previous: FxHashSet<String>,
    folders: Folders,
    taken: Taken,
    finished: bool,
}

impl Updater {
    /// Prepares to update `out`, which the last build wrote with the
    /// files `previous`.
    pub fn begin(out: &Path, previous: Vec<String>) -> Result<Updater, OutputError> {
        let out = &followed(out)?;
        if !out.join(MARKER).is_file() {
            return Err(OutputError {
                path: out.to_path_buf(),
                action: "update",
                source: None,
                help: Some(format!("it has no {MARKER} file")),
            });
        }
        let staging = beside(out, "staging");
        let backup = beside(out, "previous");
        for leftover in [&staging, &backup] {
            if leftover.exists() {
                fs::remove_dir_all(leftover)
                    .map_err(io_error("remove the leftover folder", leftover))?;
            }
        }
        fs::create_dir_all(&staging).map_err(io_error("create", &staging))?;
        Ok(Updater {
            out: out.to_path_buf(),
            staging,
            backup,
            previous: previous.into_iter().collect(),
            folders: Folders::default(),
            taken: Taken::default(),
            finished: false,
        })
    }

    /// Moves the changed files in and the stale ones out; the marker then
    /// names the build by `token`.
    pub fn finish(mut self, token: Option<u64>) -> Result<WriteStats, OutputError> {
        self.finished = true;
        let taken = self.taken.take();
        let mut stats = stats_of(&taken);
        let produced: FxHashSet<&str> = taken.iter().map(|(path, ..)| path.as_str()).collect();
        let mut stale: Vec<&str> = self
            .previous
            .iter()
            .map(String::as_str)
            .filter(|path| !produced.contains(path))
            .collect();
        stale.sort_unstable();
        stats.removed = stale.len();
        // A file at a new path (a new report's pages, the search index's
        // new content-named files) is linked from nothing until a file it
        // replaces is in, and a stale one from nothing once they all are:
        // they go in first and out last. Only files replaced in place can
        // show a half-made site while the moves run.
        let (added, replaced): (Vec<&str>, Vec<&str>) = taken
            .iter()
            .filter(|(_, _, unchanged)| !unchanged)
            .map(|(path, ..)| path.as_str())
            .partition(|path| !self.previous.contains(*path));
        if swapped_whole(replaced.len(), taken.len()) {
            let result = self.swap_whole(&taken, token);
            let _ = fs::remove_dir_all(&self.staging);
            return result.map(|()| stats);
        }
        let changed: Vec<&str> = added.into_iter().chain(replaced).collect();
        let mut done = Vec::new();
        let result =
            write_marker(&self.out, None).and_then(|()| self.apply(&changed, &stale, &mut done));
        if result.is_err() {
            self.undo(std::mem::take(&mut done));
        }
        let _ = fs::remove_dir_all(&self.staging);
        // The old files, in parallel (one per build thread): on a disk
        // that discards freed blocks as files are deleted, removing the
        // thousands of search files a publish retires one by one took
        // most of a second.
        done.par_iter()
            .filter(|(_, had_old, _)| *had_old)
            .for_each(|(path, ..)| {
                let _ = fs::remove_file(self.backup.join(path));
            });
        let _ = fs::remove_dir_all(&self.backup);
        result?;
        remove_empty_folders(&self.out, &stale);
        write_marker(&self.out, token)?;
        Ok(stats)
    }

    /// Completes the staging folder with the unchanged files (linked) and
    /// the user's hidden entries, and swaps it in.
    fn swap_whole(
        &self,
        taken: &[(String, u64, bool)],
        token: Option<u64>,
    ) -> Result<(), OutputError> {
        let (out, staging) = (&self.out, &self.staging);
        let unchanged: Vec<&str> = taken
            .iter()
            .filter(|(_, _, unchanged)| *unchanged)
            .map(|(path, ..)| path.as_str())
            .collect();
        let dirs: FxHashSet<&Path> = unchanged
            .iter()
            .filter_map(|path| Path::new(path).parent())
            .collect();
        for dir in dirs {
            fs::create_dir_all(staging.join(dir))
                .map_err(io_error("create", &staging.join(dir)))?;
        }
        unchanged
            .par_iter()
            .try_for_each(|path| keep_previous(&out.join(path), &staging.join(path)))?;
        write_marker(staging, token)?;
        move_hidden_entries(out, staging)?;
        swap(out, staging, &self.backup)
    }

    /// Each changed file replaces the old one (kept aside until all are
    /// in), then each stale one is put aside; `done` lists the moves made.
    fn apply<'a>(
        &self,
        changed: &[&'a str],
        stale: &[&'a str],
        done: &mut Vec<(&'a str, bool, bool)>,
    ) -> Result<(), OutputError> {
        // The folders known to exist: thousands of files go to a few.
        let folders = Folders::default();
        let aside = |path: &str| -> Result<bool, OutputError> {
            let target = self.out.join(path);
            if fs::symlink_metadata(&target).is_err() {
                return Ok(false);
            }
            let kept = self.backup.join(path);
            folders.make_parent_of(&kept)?;
            fs::rename(&target, &kept).map_err(io_error("move aside", &target))?;
            Ok(true)
        };
        for path in changed {
            let had_old = aside(path)?;
            done.push((path, had_old, false));
            let target = self.out.join(path);
            folders.make_parent_of(&target)?;
            fs::rename(self.staging.join(path), &target)
                .map_err(io_error("move the new file to", &target))?;
            done.last_mut().expect("just pushed").2 = true;
        }
        for path in stale {
            let had_old = aside(path)?;
            done.push((path, had_old, false));
        }
        Ok(())
    }

    /// Undoes the moves `done`, last first: (path, whether the old file was
    /// put aside, whether the new one was put in).
    fn undo(&self, done: Vec<(&str, bool, bool)>) {
        for (path, had_old, placed) in done.into_iter().rev() {
            let target = self.out.join(path);
            if placed {
                let _ = fs::remove_file(&target);
            }
            if had_old {
                let _ = fs::rename(self.backup.join(path), &target);
            }
        }
    }
}

impl Drop for Updater {
    fn drop(&mut self) {
        if !self.finished {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

impl Sink for Updater {
    /// Keeps a file the build found unchanged; writes any other into the
    /// staging folder unless the output folder has it with the same bytes.
    fn put(&self, file: OutputFile) -> Result<(), OutputError> {
        // Most files of a small rebuild are kept as they are: taken
        // without making their two paths (84,000 joins, 4 % of the
        // instructions of an edit of one report of 10,000).
        if let Contents::Kept(size) = file.contents {
            self.taken.push(file.path, size, true);
            return Ok(());
        }
        let previous = self.out.join(&file.path);
        let dest = self.staging.join(&file.path);
        let (unchanged, size) =
            write_unless_same(&file.contents, Some(&previous), &dest, &self.folders)?;
        self.taken.push(file.path, size, unchanged);
        Ok(())
    }

    fn paths(&self) -> Vec<String> {
        self.taken.paths()
    }

    fn taken_twice(&self) -> Vec<String> {
        self.taken.taken_twice()
    }
}

/// Removes the folders below `out` that the removal of the files `stale`
/// left empty: each folder that held one, deepest first, tried once.
fn remove_empty_folders(out: &Path, stale: &[&str]) {
    let mut folders: Vec<&Path> = stale
        .iter()
        .flat_map(|path| Path::new(path).ancestors().skip(1))
        .filter(|dir| !dir.as_os_str().is_empty())
        .collect();
    folders.sort_unstable_by(|a, b| {
        let depth = |p: &Path| p.components().count();
        depth(b).cmp(&depth(a)).then(a.cmp(b))
    });
    folders.dedup();
    for dir in folders {
        let _ = fs::remove_dir(out.join(dir));
    }
}

/// The hidden folder `.NAME.PURPOSE` beside the output folder `out`.
fn beside(out: &Path, purpose: &str) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "public".to_string());
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parent.join(format!(".{name}.{purpose}"))
}

/// A folder for a build's temporary files (the stowed report bodies, the
/// spilled search postings), beside the output folder; removed with
/// everything in it when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    /// Makes `.NAME.scratch` beside the output folder `out`, emptied of
    /// anything an earlier, killed build left there.
    pub fn beside(out: &Path) -> Result<Scratch, OutputError> {
        let dir = beside(out, "scratch");
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(io_error("remove the leftover folder", &dir))?;
        }
        fs::create_dir_all(&dir).map_err(io_error("create", &dir))?;
        Ok(Scratch(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Refuses to replace a folder that Gazette did not write.
fn check_replaceable(out: &Path) -> Result<(), OutputError> {
    let refuse = |help: String| OutputError {
        path: out.to_path_buf(),
        action: "replace",
        source: None,
        help: Some(help),
    };
    match fs::symlink_metadata(out) {
        Err(_) => Ok(()),
        Ok(meta) if !meta.is_dir() => Err(refuse(
            "it is a file, not a folder; choose another --out".to_string(),
        )),
        Ok(_) => {
            if out.join(MARKER).is_file() {
                return Ok(());
            }
            let mut entries = fs::read_dir(out).map_err(io_error("read", out))?;
            if entries.next().is_none() {
                Ok(())
            } else {
                Err(refuse(format!(
                    "the folder is not empty and was not written by gazette (it has no {MARKER} file); \
                     choose an empty or new folder with --out, or move its contents away"
                )))
            }
        }
    }
}

/// Puts the previous output's identical file at `dest`, keeping its time.
fn keep_previous(previous: &Path, dest: &Path) -> Result<(), OutputError> {
    if fs::hard_link(previous, dest).is_ok() {
        return Ok(());
    }
    fs::copy(previous, dest).map_err(io_error("copy to", dest))?;
    if let Ok(modified) = fs::metadata(previous).and_then(|m| m.modified())
        && let Ok(file) = fs::File::options().write(true).open(dest)
    {
        let _ = file.set_modified(modified);
    }
    Ok(())
}

/// Files of the previous output that the new one does not have.
fn count_stale(out: &Path, produced: &FxHashSet<&str>) -> usize {
    walkdir::WalkDir::new(out)
        .into_iter()
        .filter_entry(|e| e.depth() != 1 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            let relative = e.path().strip_prefix(out).unwrap_or(e.path());
            let key = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            !produced.contains(key.as_str())
        })
        .count()
}

/// Puts the staged site in place of the output folder. Where the system
/// can (Linux), the two folders are exchanged in one step, so the output
/// folder is at every moment either the whole previous site or the whole
/// new one, even if the build is killed; elsewhere the previous site is
/// moved aside first and restored by the next build if it was killed
/// between the two moves.
fn swap(out: &Path, staging: &Path, backup: &Path) -> Result<(), OutputError> {
    #[cfg(target_os = "linux")]
    if out.exists() && exchange(staging, out).is_ok() {
        // `staging` now holds the previous site.
        let _ = fs::remove_dir_all(staging);
        return Ok(());
    }
    if out.exists() {
        fs::rename(out, backup).map_err(io_error("move aside the previous output", out))?;
        if let Err(e) = fs::rename(staging, out) {
            let _ = fs::rename(backup, out);
            return Err(io_error("move the new output into", out)(e));
        }
        // The new site is in place; losing the old copy is not an error.
        let _ = fs::remove_dir_all(backup);
    } else {
        fs::rename(staging, out).map_err(io_error("move the new output into", out))?;
    }
    Ok(())
}

/// Exchanges two folders atomically (`renameat2` with `RENAME_EXCHANGE`);
/// fails on file systems that cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `set` as the new content of `out`, as a build does.
    fn write(out: &Path, set: &OutputSet) -> Result<WriteStats, OutputError> {
        let stager = Stager::begin(out)?;
        for file in &set.files {
            stager.put(file.clone())?;
        }
        stager.finish(None)
    }

    fn set(files: &[(&str, &str)]) -> OutputSet {
        OutputSet {
            files: files
                .iter()
                .map(|(p, c)| OutputFile {
                    path: p.to_string(),
                    contents: Contents::Bytes(c.as_bytes().to_vec()),
                })
                .collect(),
        }
    }

    #[test]
    fn unchanged_files_keep_their_time_and_stale_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        write(
            &out,
            &set(&[
                ("index.html", "home"),
                ("a/index.html", "a"),
                ("old.html", "x"),
            ]),
        )
        .unwrap();
        let before = fs::metadata(out.join("a/index.html"))
            .unwrap()
            .modified()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let stats = write(
            &out,
            &set(&[("index.html", "home 2"), ("a/index.html", "a")]),
        )
        .unwrap();
        assert_eq!((stats.written, stats.unchanged, stats.removed), (1, 1, 1));
        assert_eq!(
            fs::metadata(out.join("a/index.html"))
                .unwrap()
                .modified()
                .unwrap(),
            before
        );
        assert_eq!(
            fs::read_to_string(out.join("index.html")).unwrap(),
            "home 2"
        );
        assert!(!out.join("old.html").exists());
        assert!(!dir.path().join(".public.staging").exists());
        assert!(!dir.path().join(".public.previous").exists());
    }

    /// The inode of `path`: another after a folder was swapped in.
    #[cfg(unix)]
    fn inode(path: &Path) -> u64 {
        std::os::unix::fs::MetadataExt::ino(&fs::metadata(path).unwrap())
    }

    /// Updates `out` in place from `files` ((path, bytes), or kept when
    /// `None`), the last build having written `previous`.
    fn update(
        out: &Path,
        previous: &[&str],
        files: &[(&str, Option<&str>)],
    ) -> Result<WriteStats, OutputError> {
        let updater = Updater::begin(out, previous.iter().map(|p| p.to_string()).collect())?;
        for (path, bytes) in files {
            updater.put(OutputFile {
                path: path.to_string(),
                contents: match bytes {
                    Some(b) => Contents::Bytes(b.as_bytes().to_vec()),
                    None => Contents::Kept(fs::metadata(out.join(path)).unwrap().len()),
                },
            })?;
        }
        updater.finish(Some(7))
    }

    #[test]
    fn an_update_in_place_touches_only_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let first = set(&[
            ("index.html", "home"),
            ("a/index.html", "a"),
            ("a/b/old.html", "x"),
            ("same.html", "s"),
        ]);
        write(&out, &first).unwrap();
        let time = |p: &str| fs::metadata(out.join(p)).unwrap().modified().unwrap();
        let (a, same) = (time("a/index.html"), time("same.html"));
        std::thread::sleep(std::time::Duration::from_millis(20));
        let previous = ["index.html", "a/index.html", "a/b/old.html", "same.html"];
        #[cfg(unix)]
        let before = inode(&out);
        let stats = update(
            &out,
            &previous,
            &[
                ("index.html", Some("home 2")),
                ("a/index.html", None),
                ("same.html", Some("s")),
                ("new/index.html", Some("n")),
            ],
        )
        .unwrap();
        assert_eq!(
            (stats.files, stats.written, stats.unchanged, stats.removed),
            (4, 2, 2, 1)
        );
        assert_eq!(
            fs::read_to_string(out.join("index.html")).unwrap(),
            "home 2"
        );
        assert_eq!(fs::read_to_string(out.join("new/index.html")).unwrap(), "n");
        assert_eq!((time("a/index.html"), time("same.html")), (a, same));
        assert!(!out.join("a/b").exists(), "a folder left empty goes");
        #[cfg(unix)]
        assert_eq!(inode(&out), before, "the folder was updated, not replaced");
        assert_eq!(output_token(&out), Some(7));
        assert!(!dir.path().join(".public.staging").exists());
        assert!(!dir.path().join(".public.previous").exists());
    }

    /// Folders that an update's removals leave empty go, however deep
    /// and whichever file left them last; a folder that still holds a
    /// file, or holds a new one, stays.
    #[test]
    fn an_update_removes_the_folders_it_empties() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let old = [
            "index.html",
            "x/w.html",
            "x/y/z.html",
            "x/y/v/u.html",
            "k/keep.html",
            "k/gone/g.html",
            "n/old.html",
        ];
        let files: Vec<(&str, &str)> = old.iter().map(|p| (*p, "old")).collect();
        write(&out, &set(&files)).unwrap();
        let stats = update(
            &out,
            &old,
            &[
                ("index.html", Some("new")),
                ("k/keep.html", None),
                ("n/new.html", Some("new")),
            ],
        )
        .unwrap();
        assert_eq!(stats.removed, 5);
        for gone in ["x", "k/gone", "n/old.html"] {
            assert!(!out.join(gone).exists(), "{gone} is gone");
        }
        for kept in ["k/keep.html", "n/new.html", "index.html"] {
            assert!(out.join(kept).is_file(), "{kept} is kept");
        }
        assert!(!dir.path().join(".public.previous").exists());
    }

    /// A thousand files: the most an update once replaced one by one.
    const MANY: usize = 1000;

    #[test]
    fn a_large_update_is_swapped_in_whole() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let names: Vec<String> = (0..MANY + 5).map(|i| format!("p/{i}.html")).collect();
        let old: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "old")).collect();
        write(&out, &set(&old)).unwrap();
        fs::write(out.join(".htaccess"), "user's").unwrap();
        let previous: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut files: Vec<(&str, Option<&str>)> =
            names.iter().map(|n| (n.as_str(), Some("new"))).collect();
        files[0].1 = None;
        #[cfg(unix)]
        let before = inode(&out);
        let stats = update(&out, &previous, &files).unwrap();
        #[cfg(unix)]
        assert_ne!(inode(&out), before, "a new folder took the old one's place");
        assert_eq!((stats.written, stats.unchanged), (MANY + 4, 1));
        assert_eq!(fs::read_to_string(out.join("p/0.html")).unwrap(), "old");
        assert_eq!(fs::read_to_string(out.join("p/9.html")).unwrap(), "new");
        assert_eq!(fs::read_to_string(out.join(".htaccess")).unwrap(), "user's");
        assert_eq!(output_token(&out), Some(7));
    }

    #[test]
    fn a_few_thousand_replaced_files_of_a_large_site_are_replaced_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let names: Vec<String> = (0..12 * MANY)
            .map(|i| format!("p{}/{i}.html", i % 100))
            .collect();
        let old: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "old")).collect();
        write(&out, &set(&old)).unwrap();
        let previous: Vec<&str> = names.iter().map(String::as_str).collect();
        // More than MANY replaced, less than a tenth of the site.
        let replaced = MANY + 100;
        let files: Vec<(&str, Option<&str>)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), (i < replaced).then_some("new")))
            .collect();
        #[cfg(unix)]
        let before = inode(&out);
        let stats = update(&out, &previous, &files).unwrap();
        #[cfg(unix)]
        assert_eq!(inode(&out), before, "the folder was updated, not replaced");
        assert_eq!(stats.written, replaced);
        assert_eq!(fs::read_to_string(out.join(&names[0])).unwrap(), "new");
        assert_eq!(
            fs::read_to_string(out.join(&names[replaced])).unwrap(),
            "old"
        );
        assert_eq!(output_token(&out), Some(7));
    }

    #[test]
    fn many_new_and_stale_files_are_moved_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let names = |from: usize| -> Vec<String> {
            (from..from + MANY + 5)
                .map(|i| format!("search/t-{i}.js"))
                .collect()
        };
        let (old, new) = (names(0), names(MANY + 5));
        let mut first: Vec<(&str, &str)> = old.iter().map(|n| (n.as_str(), "old")).collect();
        first.push(("search/meta.js", "old meta"));
        write(&out, &set(&first)).unwrap();
        let previous: Vec<&str> = first.iter().map(|(n, _)| *n).collect();
        let mut files: Vec<(&str, Option<&str>)> =
            new.iter().map(|n| (n.as_str(), Some("new"))).collect();
        files.push(("search/meta.js", Some("new meta")));
        #[cfg(unix)]
        let before = inode(&out);
        let stats = update(&out, &previous, &files).unwrap();
        #[cfg(unix)]
        assert_eq!(inode(&out), before, "the folder was updated, not replaced");
        assert_eq!((stats.written, stats.removed), (MANY + 6, MANY + 5));
        assert_eq!(
            fs::read_to_string(out.join("search/meta.js")).unwrap(),
            "new meta"
        );
        assert!(out.join(&new[0]).is_file() && !out.join(&old[0]).exists());
        assert_eq!(
            fs::read_dir(out.join("search")).unwrap().count(),
            new.len() + 1
        );
    }

    #[test]
    fn refuses_a_folder_it_did_not_write() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("notes.docx"), "precious").unwrap();
        let err = write(dir.path(), &set(&[("index.html", "x")])).unwrap_err();
        assert!(err.to_string().contains("not written by gazette"), "{err}");
        assert_eq!(
            fs::read_to_string(dir.path().join("notes.docx")).unwrap(),
            "precious"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_output_folder_keeps_its_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("www");
        let link = dir.path().join("public");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write(&link, &set(&[("index.html", "x")])).unwrap();
        write(&link, &set(&[("index.html", "y")])).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(real.join("index.html")).unwrap(), "y");
    }

    #[test]
    fn hidden_entries_at_the_top_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        write(&out, &set(&[("index.html", "x")])).unwrap();
        fs::create_dir(out.join(".git")).unwrap();
        fs::write(out.join(".git/HEAD"), "ref").unwrap();
        write(&out, &set(&[("index.html", "y")])).unwrap();
        assert_eq!(fs::read_to_string(out.join(".git/HEAD")).unwrap(), "ref");
    }

    #[test]
    fn a_path_taken_twice_is_named_once() {
        let file = |path: &str| OutputFile {
            path: path.to_string(),
            contents: Contents::Bytes(path.as_bytes().to_vec()),
        };
        let collect = Collect::default();
        let taken = [
            "b/index.html",
            "a.css",
            "b/index.html",
            "c.js",
            "b/index.html",
            "a.css",
        ];
        for path in taken {
            collect.put(file(path)).unwrap();
        }
        let twice = ["a.css".to_string(), "b/index.html".to_string()];
        assert_eq!(collect.taken_twice(), twice);
        // The trait's own way, from the sorted paths, agrees.
        struct Paths(Vec<String>);
        impl Sink for Paths {
            fn put(&self, _: OutputFile) -> Result<(), OutputError> {
                Ok(())
            }
            fn paths(&self) -> Vec<String> {
                self.0.clone()
            }
        }
        assert_eq!(Paths(collect.paths()).taken_twice(), twice);
        // So do the writers', which find them in place.
        let dir = tempfile::tempdir().unwrap();
        let stager = Stager::begin(&dir.path().join("public")).unwrap();
        for path in taken {
            stager.put(file(path)).unwrap();
        }
        assert_eq!(stager.taken_twice(), twice);
        assert_eq!(stager.paths().len(), 6, "asking leaves every path taken");
        let set = collect.into_set();
        let paths: Vec<&str> = set.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "a.css",
                "a.css",
                "b/index.html",
                "b/index.html",
                "b/index.html",
                "c.js"
            ]
        );
    }
}
