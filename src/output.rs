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

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
}

/// A new site being written into a staging folder beside the output
/// folder, file by file as they are made; [`Stager::finish`] swaps it in.
/// Dropped unfinished (the build failed), it removes the staging folder and
/// leaves the output folder exactly as it was.
pub struct Stager {
    out: PathBuf,
    staging: PathBuf,
    backup: PathBuf,
    /// Per file taken: its path, size, and whether it was unchanged.
    taken: Mutex<Vec<(String, u64, bool)>>,
    finished: bool,
}

impl Stager {
    /// Prepares to replace `out`. When `out` is a symbolic link (`public` →
    /// `/var/www/portal`), the folder it points to is replaced and the
    /// link is kept.
    pub fn begin(out: &Path) -> Result<Stager, OutputError> {
        let out = if fs::symlink_metadata(out).is_ok_and(|m| m.file_type().is_symlink()) {
            let target = fs::read_link(out).map_err(io_error("follow the link", out))?;
            out.parent().unwrap_or(Path::new(".")).join(target)
        } else {
            out.to_path_buf()
        };
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
            taken: Mutex::new(Vec::new()),
            finished: false,
        })
    }

    /// Swaps the staged site in: the previous output is replaced as one.
    pub fn finish(mut self) -> Result<WriteStats, OutputError> {
        self.finished = true;
        let result = self.complete();
        if result.is_err() {
            let _ = fs::remove_dir_all(&self.staging);
        }
        result
    }

    fn complete(&self) -> Result<WriteStats, OutputError> {
        let taken = std::mem::take(&mut *self.taken.lock().unwrap_or_else(|e| e.into_inner()));
        let mut stats = WriteStats::default();
        for (_, size, unchanged) in &taken {
            stats.files += 1;
            stats.bytes += size;
            if *unchanged {
                stats.unchanged += 1;
            } else {
                stats.written += 1;
            }
        }
        let (out, staging) = (&self.out, &self.staging);
        fs::write(
            staging.join(MARKER),
            "This folder is written by gazette build; it is replaced on every build.\n",
        )
        .map_err(io_error("write", &staging.join(MARKER)))?;
        // Hidden entries at the top of the old output belong to the user.
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
        let produced: HashSet<&str> = taken.iter().map(|(path, ..)| path.as_str()).collect();
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
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir).map_err(io_error("create", dir))?;
        }
        let previous = self.out.join(&file.path);
        let (unchanged, size) = match &file.contents {
            Contents::Bytes(_) | Contents::Shared(_) => {
                let bytes = file.contents.in_memory().expect("bytes in memory");
                let same = fs::metadata(&previous).is_ok_and(|m| m.len() == bytes.len() as u64)
                    && fs::read(&previous).is_ok_and(|old| old == *bytes);
                if !same {
                    fs::write(&dest, bytes).map_err(io_error("write", &dest))?;
                }
                (same, bytes.len() as u64)
            }
            Contents::CopyOf(source) => {
                let size = fs::metadata(source)
                    .map_err(io_error("read", source))?
                    .len();
                let same = fs::metadata(&previous).is_ok_and(|m| m.len() == size)
                    && fs::read(&previous).ok()
                        == Some(fs::read(source).map_err(io_error("read", source))?);
                if !same {
                    fs::copy(source, &dest).map_err(io_error("copy to", &dest))?;
                }
                (same, size)
            }
        };
        if unchanged {
            keep_previous(&previous, &dest)?;
        }
        self.taken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((file.path, size, unchanged));
        Ok(())
    }

    fn paths(&self) -> Vec<String> {
        let taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        let mut paths: Vec<String> = taken.iter().map(|(path, ..)| path.clone()).collect();
        paths.sort();
        paths
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
fn count_stale(out: &Path, produced: &HashSet<&str>) -> usize {
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
        stager.finish()
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
}
