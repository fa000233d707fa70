//! Report bodies kept on disk while a large site is built.
//!
//! A report's rendered HTML and plain text are most of its size (tens of
//! kilobytes, against a few hundred bytes of metadata). `gazette build`
//! renders each body as soon as its file is read, appends the HTML and text
//! to one scratch file of the build, and keeps only where they are
//! ([`BodyRef`]); the render and search stages read a body back when they
//! need it. So the memory of a build holds the site's metadata, not its
//! text, whatever the number of reports. (`gazette serve` keeps bodies in
//! memory, where its cache needs them.)

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Where one report's body is in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BodyRef {
    offset: u64,
    html_len: u32,
    text_len: u32,
}

impl BodyRef {
    /// The bytes of the body's HTML and text.
    pub fn bytes(&self) -> u64 {
        self.html_len as u64 + self.text_len as u64
    }
}

/// The file the bodies of one build are appended to.
#[derive(Debug)]
pub struct BodyStore {
    path: PathBuf,
    /// Written at offsets (never opened to append, which would ignore
    /// them).
    writer: File,
    /// Where the next body goes: each is given its place first and then
    /// written without a lock, so that the loading threads do not wait
    /// for each other's writes (they did, a thousand times a build).
    end: AtomicU64,
    reader: File,
}

impl BodyStore {
    /// A new, empty store in `dir` (the build's scratch folder).
    pub fn create(dir: &Path) -> io::Result<BodyStore> {
        BodyStore::create_at(&dir.join("bodies.bin"))
    }

    /// A new, empty store in the file `path` (emptied if it exists).
    pub fn create_at(path: &Path) -> io::Result<BodyStore> {
        let writer = File::create(path)?;
        let reader = File::open(path)?;
        Ok(BodyStore {
            path: path.to_path_buf(),
            writer,
            end: AtomicU64::new(0),
            reader,
        })
    }

    /// The store of an earlier build (the build cache's), new bodies
    /// appended after its own.
    pub fn append_to(path: &Path) -> io::Result<BodyStore> {
        let writer = fs::OpenOptions::new().write(true).open(path)?;
        let end = writer.metadata()?.len();
        let reader = File::open(path)?;
        Ok(BodyStore {
            path: path.to_path_buf(),
            writer,
            end: AtomicU64::new(end),
            reader,
        })
    }

    /// The store's file, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a body; returns where it is.
    pub fn put(&self, html: &str, text: &str) -> io::Result<BodyRef> {
        let too_long = |s: &str| {
            u32::try_from(s.len()).map_err(|_| io::Error::other("a report body over 4 GB"))
        };
        let (html_len, text_len) = (too_long(html)?, too_long(text)?);
        let bytes = html_len as u64 + text_len as u64;
        let offset = self.end.fetch_add(bytes, Ordering::Relaxed);
        write_all_at(&self.writer, html.as_bytes(), offset)?;
        write_all_at(&self.writer, text.as_bytes(), offset + html_len as u64)?;
        // Read again by this build: counted, not handed over.
        crate::handoff::shared().count(bytes);
        Ok(BodyRef {
            offset,
            html_len,
            text_len,
        })
    }

    /// A body's HTML.
    pub fn html(&self, at: BodyRef) -> io::Result<String> {
        self.read(at.offset, at.html_len)
    }

    /// A body's plain text.
    pub fn text(&self, at: BodyRef) -> io::Result<String> {
        self.read(at.offset + at.html_len as u64, at.text_len)
    }

    /// The text at `offset`. Validated by simdutf8 and then copied:
    /// `String::from_utf8` validates at a fraction of the speed on Chinese
    /// text (std's fast path is ASCII), and the render and search stages
    /// read every body back, a few percent of a large build's time. (Safe
    /// code cannot take the validated bytes as they are.)
    fn read(&self, offset: u64, len: u32) -> io::Result<String> {
        let mut bytes = vec![0u8; len as usize];
        read_exact_at(&self.reader, &mut bytes, offset)?;
        let text = simdutf8::compat::from_utf8(&bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(text.to_owned())
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(unix)]
fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(windows)]
fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_write(buf, offset)? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => {
                buf = &buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_read_back_as_they_were_put() {
        let dir = tempfile::tempdir().unwrap();
        let store = BodyStore::create(dir.path()).unwrap();
        let a = store.put("<p>一、总体情况</p>", "一、总体情况").unwrap();
        let empty = store.put("", "").unwrap();
        let b = store.put("<p>b</p>", "b").unwrap();
        assert_eq!(store.html(a).unwrap(), "<p>一、总体情况</p>");
        assert_eq!(store.text(a).unwrap(), "一、总体情况");
        assert_eq!(store.html(empty).unwrap(), "");
        assert_eq!(store.text(b).unwrap(), "b");
        assert_eq!(store.html(b).unwrap(), "<p>b</p>");
    }
}
