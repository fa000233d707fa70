//! Building the index in bounded memory.
//!
//! The terms are split into [`PARTITIONS`] partitions by their shard key
//! ([`partition_of`]), so that every shard file is made from one partition
//! alone. Documents are added a block at a time, each partition filled by
//! its own thread. When the postings held in memory pass the builder's
//! budget, every partition appends them to its own spill file as one run
//! sorted by term, and starts afresh. At the end each partition merges its
//! runs and what is still in memory into one stream of terms in order
//! ([`SortedTerms`]; a term's postings from earlier runs first, which is
//! document order), and the shard writer turns that stream into files as
//! it goes — so neither the index nor a partition of it is ever in memory
//! at once, whatever the number of reports. A site small enough for the
//! budget never touches the disk.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, mpsc};

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;

use super::shards::{DocTable, Emitter};
use super::tokenize::shard_key;
use super::{B, DocTerms, K1, SearchDoc, TermPostings, TermRef, push_varint};

/// How many partitions the shard keys are spread over.
pub const PARTITIONS: usize = 256;

/// Postings bytes held in memory, about, before a build spills them.
pub const SPILL_BUDGET: usize = 64 << 20;

/// A mix of a shard key's bytes: which partition it is in
/// (`% PARTITIONS`), and then which shard of the partition.
pub fn key_hash(key: &str) -> u32 {
    let mut h: u32 = 0x9747_b28c;
    for b in key.as_bytes() {
        h = (h ^ *b as u32).wrapping_mul(0x5bd1_e995);
        h ^= h >> 15;
    }
    h
}

/// The partition of a term (by its shard key, so that a key's terms stay
/// together).
pub fn partition_of(term: &str) -> usize {
    key_hash(shard_key(term)) as usize % PARTITIONS
}

/// [`partition_of`] a term known by its packed key
/// ([`super::unpack_key`]): a CJK term, whose shard key is its first
/// character, the highest of the key's 16-bit groups. Looked up in a table
/// of the Basic Multilingual Plane made once, since the builder asks for
/// every distinct term of every report.
pub fn partition_of_packed(key: u64) -> usize {
    const _: () = assert!(PARTITIONS <= 256, "partitions are kept in a byte");
    static TABLE: LazyLock<Vec<u8>> = LazyLock::new(|| {
        (0..=0xFFFF)
            .map(|c| {
                char::from_u32(c).map_or(0, |c| partition_of(c.encode_utf8(&mut [0; 4])) as u8)
            })
            .collect()
    });
    debug_assert_ne!(key, 0, "no packed key is 0");
    let first = key >> ((63 - key.leading_zeros()) / 16 * 16);
    TABLE[first as usize] as usize
}

/// The terms of one partition.
#[derive(Default)]
struct Partition {
    /// The terms known by their text: words, and characters beyond the
    /// Basic Multilingual Plane.
    terms: FxHashMap<String, TermPostings>,
    /// The rest (nearly all), known by their packed key
    /// ([`super::unpack_key`]), which hashes faster than text.
    packed: FxHashMap<u64, TermPostings>,
    /// Bytes of `terms`, about.
    bytes: usize,
    /// The spill file, and where each run (one spill, sorted by term) is
    /// in it, in document order.
    spill: Option<PathBuf>,
    runs: Vec<(u64, u64)>,
    spilled: u64,
    /// Postings per shard key, of the terms spilled so far.
    key_postings: FxHashMap<String, usize>,
}

/// An estimate of what a new term costs beside its postings: the map
/// entry, the string and three vectors.
const TERM_OVERHEAD: usize = 96;

impl Partition {
    /// Adds a document's term.
    fn add(&mut self, doc: u32, term: TermRef, frequency: u32, positions: Option<&[u32]>) {
        let postings = match term {
            TermRef::Packed { key, len } => match self.packed.entry(key) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => {
                    self.bytes += len as usize + TERM_OVERHEAD;
                    entry.insert(TermPostings::default())
                }
            },
            TermRef::Text(term) => match self.terms.get_mut(term) {
                Some(postings) => postings,
                None => {
                    self.bytes += term.len() + TERM_OVERHEAD;
                    self.terms.entry(term.to_string()).or_default()
                }
            },
        };
        self.bytes += postings.push(doc, frequency, positions);
    }

    /// Every term in memory, by its text, drained from the maps (which
    /// keep their tables for the next run instead of growing them again
    /// from nothing).
    fn drain_terms(&mut self) -> impl Iterator<Item = (String, TermPostings)> + '_ {
        let packed = self
            .packed
            .drain()
            .map(|(key, postings)| (super::unpack_key(key), postings));
        self.terms.drain().chain(packed)
    }

    /// The terms in memory, sorted, emptied from the maps; their postings
    /// counted by shard key.
    fn take_sorted(&mut self) -> Vec<(String, TermPostings)> {
        // Each term is sorted with the place of its postings, which are
        // gathered after (sorting the postings too moved 104 bytes an entry
        // at every step). A term known by its packed key is sorted by the
        // key as a number, its characters moved up to the highest bits:
        // no character is 0, so a term sorts before the longer ones it
        // begins, and UTF-8 keeps the order of code points, so that is the
        // order of their texts. It is unpacked into its text only then, and
        // merged with the terms known by their text (words and characters
        // beyond the BMP, never equal to one of them). Sorting the
        // unpacked texts compared strings through pointers.
        let mut postings = Vec::with_capacity(self.terms.len() + self.packed.len());
        let mut texts: Vec<(String, u32)> = self
            .terms
            .drain()
            .map(|(term, p)| {
                postings.push(p);
                (term, postings.len() as u32 - 1)
            })
            .collect();
        let mut keys: Vec<(u64, u32)> = self
            .packed
            .drain()
            .map(|(key, p)| {
                postings.push(p);
                (
                    key << (key.leading_zeros() / 16 * 16),
                    postings.len() as u32 - 1,
                )
            })
            .collect();
        texts.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        keys.sort_unstable_by_key(|&(key, _)| key);
        let mut texts = texts.into_iter().peekable();
        let mut keyed = keys
            .into_iter()
            .map(|(key, at)| (super::unpack_key(key), at))
            .peekable();
        let mut terms = Vec::with_capacity(postings.len());
        loop {
            let next = match (texts.peek(), keyed.peek()) {
                (Some(text), Some(key)) if text.0 < key.0 => texts.next(),
                (_, Some(_)) => keyed.next(),
                (Some(_), None) => texts.next(),
                (None, None) => break,
            };
            if let Some((term, at)) = next {
                terms.push((term, std::mem::take(&mut postings[at as usize])));
            }
        }
        // A shard key begins its terms, so sorted they are one run each:
        // counted a run at a time.
        let mut run: Option<(&str, usize)> = None;
        for (term, postings) in &terms {
            let key = shard_key(term);
            match &mut run {
                Some((run_key, count)) if *run_key == key => *count += postings.len(),
                _ => {
                    if let Some((key, count)) = run.replace((key, postings.len())) {
                        count_key_postings(&mut self.key_postings, key, count);
                    }
                }
            }
        }
        if let Some((key, count)) = run {
            count_key_postings(&mut self.key_postings, key, count);
        }
        self.bytes = 0;
        terms
    }

    /// Appends the postings in memory to the spill file as one sorted run
    /// and empties them.
    fn spill(&mut self, dir: &Path, number: usize) -> io::Result<()> {
        let terms = self.take_sorted();
        let path = self
            .spill
            .get_or_insert_with(|| dir.join(format!("search-{number:03}.bin")));
        let file = File::options().create(true).append(true).open(&*path)?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let mut scratch = Vec::new();
        let start = self.spilled;
        for (term, postings) in terms {
            encode_term(&mut scratch, &term, &postings);
            out.write_all(&scratch)?;
            self.spilled += scratch.len() as u64;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        crate::handoff::shared().appended(&file, self.spilled - start);
        self.runs.push((start, self.spilled));
        Ok(())
    }

    /// Every term of the partition with all its postings, in term order:
    /// the spilled runs merged with what is still in memory.
    fn sorted_terms(&mut self, remover: &Remover) -> io::Result<SortedTerms> {
        let mut sources = Vec::new();
        if let Some(path) = &self.spill {
            for &(start, end) in &self.runs {
                let mut file = File::open(path)?;
                file.seek(SeekFrom::Start(start))?;
                sources.push(Source::Run(BufReader::with_capacity(
                    1 << 15,
                    file.take(end - start),
                )));
            }
        }
        // The latest documents, so the last source; the maps' tables are
        // not needed again.
        sources.push(Source::Memory(self.take_sorted().into_iter()));
        (self.packed, self.terms) = Default::default();
        let mut terms = SortedTerms::new(sources, self.spill.take(), None)?;
        if terms.spill.is_some() {
            terms.remover = remover.sender();
        }
        Ok(terms)
    }
}

/// One term and its postings as a spill file (or a kept partition,
/// [`write_terms`]) holds them, into `scratch` (emptied first).
fn encode_term(scratch: &mut Vec<u8>, term: &str, postings: &TermPostings) {
    scratch.clear();
    push_varint(scratch, term.len() as u32);
    scratch.extend_from_slice(term.as_bytes());
    push_varint(scratch, postings.count);
    push_varint(scratch, postings.last_doc);
    push_varint(scratch, postings.docs.len() as u32);
    scratch.extend_from_slice(&postings.docs);
    // The frequencies (nearly all below 128) in LEB128 too, after their
    // length in bytes: as two bytes each they were a third of the
    // 10,000-report bench corpus's kept index.
    let frequency_bytes: usize = postings.frequencies.iter().map(|&f| varint_len(f)).sum();
    push_varint(scratch, frequency_bytes as u32);
    for &f in &postings.frequencies {
        push_varint(scratch, u32::from(f));
    }
    push_varint(scratch, postings.positions.len() as u32);
    scratch.extend_from_slice(&postings.positions);
}

/// Writes a partition's terms to the file `path`, in the spill format:
/// what the build cache keeps of the index.
pub(crate) struct TermsWriter {
    out: BufWriter<File>,
    scratch: Vec<u8>,
}

impl TermsWriter {
    pub fn create(path: &Path) -> io::Result<TermsWriter> {
        Ok(TermsWriter {
            out: BufWriter::with_capacity(1 << 16, File::create(path)?),
            scratch: Vec::new(),
        })
    }

    pub fn put(&mut self, term: &str, postings: &TermPostings) -> io::Result<()> {
        encode_term(&mut self.scratch, term, postings);
        self.out.write_all(&self.scratch)
    }

    /// Finishes a file the build does not read again (a partition's terms
    /// kept by the cache), handing it to the disk ([`crate::handoff`]).
    pub fn finish_kept(self) -> io::Result<()> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        let len = file.metadata()?.len();
        crate::handoff::shared().written(file, len);
        Ok(())
    }
}

/// Where sorted terms come from: a run of a spill file, or memory.
enum Source {
    Run(BufReader<io::Take<File>>),
    Memory(std::vec::IntoIter<(String, TermPostings)>),
}

impl Source {
    fn next(&mut self) -> io::Result<Option<(String, TermPostings)>> {
        let input = match self {
            Source::Memory(terms) => return Ok(terms.next()),
            Source::Run(input) => input,
        };
        let Some((term, _, Some(postings))) = read_term(input, true)? else {
            return Ok(None);
        };
        Ok(Some((term, postings)))
    }
}

/// The next term of a spill or terms file ([`encode_term`]) and how many
/// documents it has, with its postings when `postings` is on (else they
/// are read past); `None` at the end of the file.
fn read_term(
    input: &mut impl Read,
    postings: bool,
) -> io::Result<Option<(String, u32, Option<TermPostings>)>> {
    let Some(term) = read_string(input)? else {
        return Ok(None);
    };
    let count = read_u32(input)?;
    let last_doc = read_u32(input)?;
    if !postings {
        for _ in 0..3 {
            // The documents, the frequencies and the positions.
            let bytes = read_u32(input)? as u64;
            skip(input, bytes)?;
        }
        return Ok(Some((term, count, None)));
    }
    let docs = read_bytes(input)?;
    let frequencies = decode_frequencies(&read_bytes(input)?, count)?;
    let positions = read_bytes(input)?;
    let postings = TermPostings {
        count,
        docs,
        last_doc,
        frequencies,
        positions,
    };
    Ok(Some((term, count, Some(postings))))
}

/// The postings of each shard key of the terms files at `paths` (only
/// those of documents below `cut`, when given) and of `later`: what
/// [`PartitionStream::key_postings`] gives. The files are read through
/// once, their postings skipped unless they are cut.
pub(crate) fn key_postings_of(
    paths: &[PathBuf],
    cut: Option<u32>,
    later: &[(String, TermPostings)],
) -> io::Result<FxHashMap<String, usize>> {
    let mut counts: FxHashMap<String, usize> = FxHashMap::default();
    let mut add =
        |term: &str, postings: usize| count_key_postings(&mut counts, shard_key(term), postings);
    for path in paths {
        let mut input = BufReader::with_capacity(1 << 16, File::open(path)?);
        while let Some((term, count, postings)) = read_term(&mut input, cut.is_some())? {
            let count = match (cut, postings) {
                (Some(end), Some(postings)) => {
                    postings.doc_numbers().take_while(|d| *d < end).count()
                }
                _ => count as usize,
            };
            add(&term, count);
        }
    }
    for (term, postings) in later {
        add(term, postings.len());
    }
    Ok(counts)
}

/// Adds `postings` to the count of the shard key `key` (its string made
/// only for a key not counted yet).
fn count_key_postings(counts: &mut FxHashMap<String, usize>, key: &str, postings: usize) {
    match counts.get_mut(key) {
        Some(count) => *count += postings,
        None => {
            counts.insert(key.to_string(), postings);
        }
    }
}

/// The bytes [`push_varint`] takes for a frequency.
fn varint_len(frequency: u16) -> usize {
    match frequency {
        0..0x80 => 1,
        0x80..0x4000 => 2,
        _ => 3,
    }
}

/// `count` frequencies in LEB128, exactly filling `bytes`.
fn decode_frequencies(bytes: &[u8], count: u32) -> io::Result<Vec<u16>> {
    let corrupt = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "a term's frequencies are damaged",
        )
    };
    let mut frequencies = Vec::with_capacity(bytes.len());
    let mut at = 0;
    for _ in 0..count {
        let (mut frequency, mut shift) = (0u32, 0);
        loop {
            let byte = *bytes.get(at).ok_or_else(corrupt)?;
            at += 1;
            frequency |= u32::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                break;
            }
            shift += 7;
            if shift > 14 {
                return Err(corrupt());
            }
        }
        frequencies.push(u16::try_from(frequency).map_err(|_| corrupt())?);
    }
    if at != bytes.len() {
        return Err(corrupt());
    }
    Ok(frequencies)
}

/// Reads past `n` bytes of `input`.
fn skip(input: &mut impl Read, n: u64) -> io::Result<()> {
    let skipped = io::copy(&mut input.take(n), &mut io::sink())?;
    if skipped < n {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "a terms file ends inside a term",
        ));
    }
    Ok(())
}

/// The terms of several sorted sources merged into one sorted stream, the
/// postings of a term in several sources appended in source order (which
/// is document order).
pub(crate) struct SortedTerms {
    sources: Vec<Source>,
    /// Each source's next term's postings.
    heads: Vec<Option<TermPostings>>,
    /// The first document whose postings the files' terms leave out.
    cut: Option<u32>,
    /// The next term of each source, smallest first (ties: earlier source).
    queue: BinaryHeap<Reverse<(String, usize)>>,
    /// The spill file, removed when the stream is dropped: by the
    /// [`Remover`] when given.
    spill: Option<PathBuf>,
    remover: Option<mpsc::Sender<PathBuf>>,
}

impl SortedTerms {
    /// The terms of the terms files at `paths` (each of later documents
    /// than the one before, as [`TermsWriter`] wrote them) and then of
    /// `later` (sorted), merged.
    pub fn of_files(
        paths: &[PathBuf],
        later: Vec<(String, TermPostings)>,
    ) -> io::Result<SortedTerms> {
        SortedTerms::of_files_cut(paths, None, later)
    }

    /// [`SortedTerms::of_files`] with the files' postings of documents
    /// `cut` and above left out (documents numbered again, whose postings
    /// `later` has); a term left with none is passed over.
    pub fn of_files_cut(
        paths: &[PathBuf],
        cut: Option<u32>,
        later: Vec<(String, TermPostings)>,
    ) -> io::Result<SortedTerms> {
        let mut sources = Vec::with_capacity(paths.len() + 1);
        for path in paths {
            let file = File::open(path)?;
            let len = file.metadata()?.len();
            sources.push(Source::Run(BufReader::with_capacity(
                1 << 16,
                file.take(len),
            )));
        }
        sources.push(Source::Memory(later.into_iter()));
        SortedTerms::new(sources, None, cut)
    }

    fn new(
        sources: Vec<Source>,
        spill: Option<PathBuf>,
        cut: Option<u32>,
    ) -> io::Result<SortedTerms> {
        let mut terms = SortedTerms {
            heads: (0..sources.len()).map(|_| None).collect(),
            queue: BinaryHeap::with_capacity(sources.len()),
            sources,
            cut,
            spill,
            remover: None,
        };
        for i in 0..terms.sources.len() {
            terms.read(i)?;
        }
        Ok(terms)
    }

    /// Reads source `i`'s next term into its head and the queue.
    fn read(&mut self, i: usize) -> io::Result<()> {
        let source = &mut self.sources[i];
        if let Some((term, mut next)) = source.next()? {
            if let (Some(end), Source::Run(_)) = (self.cut, source) {
                next = next.before(end);
            }
            self.queue.push(Reverse((term, i)));
            self.heads[i] = Some(next);
        }
        Ok(())
    }

    /// Takes source `i`'s head and reads its next term.
    fn advance(&mut self, i: usize) -> io::Result<TermPostings> {
        let postings = self.heads[i].take().unwrap_or_default();
        self.read(i)?;
        Ok(postings)
    }

    /// Every term left, in order.
    pub fn all(mut self) -> io::Result<Vec<(String, TermPostings)>> {
        let mut terms = Vec::new();
        while let Some(term) = self.next_term()? {
            terms.push(term);
        }
        Ok(terms)
    }

    /// The next term with all its postings.
    pub fn next_term(&mut self) -> io::Result<Option<(String, TermPostings)>> {
        loop {
            let Some(Reverse((term, i))) = self.queue.pop() else {
                return Ok(None);
            };
            let mut postings = self.advance(i)?;
            while self.queue.peek().is_some_and(|Reverse((t, _))| *t == term) {
                let Some(Reverse((_, j))) = self.queue.pop() else {
                    break;
                };
                let later = self.advance(j)?;
                postings.append(later);
            }
            // (Only a cut leaves a term without postings.)
            if !postings.is_empty() {
                return Ok(Some((term, postings)));
            }
        }
    }
}

impl Drop for SortedTerms {
    fn drop(&mut self) {
        let Some(path) = self.spill.take() else {
            return;
        };
        // Closed first: the blocks of a removed file are freed when the
        // last handle on it closes, and would be freed here.
        self.sources.clear();
        let path = match &self.remover {
            Some(remover) => match remover.send(path) {
                Ok(()) => return,
                // The remover is gone: removed here after all.
                Err(mpsc::SendError(path)) => path,
            },
            None => path,
        };
        let _ = std::fs::remove_file(path);
    }
}

/// Removes files on a thread of its own, for the threads that merge the
/// partitions' spill files. Removing a file of many blocks can wait for
/// the disk: with online discard (ext4's `discard`, as on the cloud
/// machine this was measured on) the file system trims the freed blocks
/// before `unlink` returns. A 100,000-report build spent the last fifth of
/// its time at 1.5 of 2 cores, its merging threads queued in
/// `submit_bio_wait` under the removal of spill files.
pub(crate) struct Remover {
    /// Where to send the paths, and the thread that removes them; `None`
    /// when no thread could be started (each file is then removed where
    /// it is dropped).
    thread: Option<(mpsc::Sender<PathBuf>, std::thread::JoinHandle<()>)>,
}

impl Remover {
    pub fn new() -> Remover {
        let (sender, paths) = mpsc::channel::<PathBuf>();
        let thread = std::thread::Builder::new()
            .name("gazette-remover".to_string())
            .spawn(move || {
                for path in paths {
                    let _ = std::fs::remove_file(path);
                }
            })
            .ok();
        Remover {
            thread: thread.map(|thread| (sender, thread)),
        }
    }

    /// What to send the paths of files to remove to, if anything.
    fn sender(&self) -> Option<mpsc::Sender<PathBuf>> {
        self.thread.as_ref().map(|(sender, _)| sender.clone())
    }
}

impl Drop for Remover {
    /// Waits until every file sent has been removed.
    fn drop(&mut self) {
        if let Some((sender, thread)) = self.thread.take() {
            drop(sender);
            let _ = thread.join();
        }
    }
}

/// One partition's terms in order.
pub(crate) struct PartitionStream {
    terms: SortedTerms,
    key_postings: FxHashMap<String, usize>,
}

impl PartitionStream {
    /// The stream of `terms`, whose postings per shard key are
    /// `key_postings`.
    pub fn new(terms: SortedTerms, key_postings: FxHashMap<String, usize>) -> PartitionStream {
        PartitionStream {
            terms,
            key_postings,
        }
    }

    /// The next term.
    pub fn next_term(&mut self) -> io::Result<Option<(String, TermPostings)>> {
        self.terms.next_term()
    }

    /// The next term, kept by `keep` too.
    pub fn next_term_kept(
        &mut self,
        keep: &mut TermsWriter,
    ) -> io::Result<Option<(String, TermPostings)>> {
        let next = self.terms.next_term()?;
        if let Some((term, postings)) = &next {
            keep.put(term, postings)?;
        }
        Ok(next)
    }

    /// The postings of every term with this shard key.
    pub fn key_postings(&self, key: &str) -> usize {
        self.key_postings.get(key).copied().unwrap_or(0)
    }
}

/// BM25's term-frequency part × 1000 of a frequency in a document of
/// length class `len`, rounded, so that the browser (`gazette-search.js`,
/// which computes it in the same order of operations) ranks exactly as
/// this engine does.
fn bm25_weight(frequency: u32, len: f64, avg: f64) -> u16 {
    let tf = frequency as f64;
    // At most 1000 × (k1 + 1) = 2200.
    (1000.0 * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg))).round() as u16
}

/// BM25's term-frequency part × 1000 of the documents of an index, from
/// their [`length_class`]es and the average's ([`avg_class`]): what a
/// query weighs a posting's frequency by.
pub(crate) struct Bm25 {
    /// Each document's length class.
    class_of: Vec<f64>,
    avg: f64,
}

impl Bm25 {
    /// The weights for documents of lengths `lens`.
    pub fn new(lens: &[u32]) -> Bm25 {
        Bm25 {
            class_of: lens.iter().map(|&len| length_class(len as u64)).collect(),
            avg: avg_class(lens),
        }
    }

    /// The weight of `frequency` in document `doc`.
    pub fn weight(&self, doc: u32, frequency: u32) -> u16 {
        bm25_weight(frequency, self.class_of[doc as usize], self.avg)
    }
}

/// The documents' length classes as the index's `l-*.js` file holds them:
/// the distinct classes, shortest first, and each document's as an index
/// of them (a site's documents fall into a few dozen classes, so most
/// take one digit of the file).
pub(crate) fn length_classes(lens: &[u32]) -> (Vec<u64>, Vec<u32>) {
    let of_doc: Vec<u64> = lens
        .iter()
        .map(|&len| length_class(len as u64) as u64)
        .collect();
    let mut classes = of_doc.clone();
    classes.sort_unstable();
    classes.dedup();
    let of_doc = of_doc
        .iter()
        .map(|class| classes.binary_search(class).expect("every class is listed") as u32)
        .collect();
    (classes, of_doc)
}

/// The average length as BM25 sees it: its [`length_class`], at least 1.
pub(crate) fn avg_class(lens: &[u32]) -> f64 {
    length_class(avg_len(lens).round() as u64).max(1.0)
}

/// The average document length.
fn avg_len(lens: &[u32]) -> f64 {
    if lens.is_empty() {
        0.0
    } else {
        lens.iter().map(|l| *l as u64).sum::<u64>() as f64 / lens.len() as f64
    }
}

/// A length rounded to its four leading binary digits (a step of 1/16 to
/// 1/8 of it), as BM25's length normalisation sees it — the documents' and
/// their average. The ranking barely differs from exact lengths, but a
/// small edit to one report (a sentence added, a figure corrected) rarely
/// changes its class or the average's, so the file of length classes
/// (`l-*.js`) and `meta.js`'s average stay as they were, and a site's
/// documents fall into few classes, which keeps that file small.
pub fn length_class(len: u64) -> f64 {
    let shift = (64 - len.leading_zeros()).saturating_sub(4);
    ((len >> shift) << shift) as f64
}

fn read_u32(input: &mut impl Read) -> io::Result<u32> {
    let mut n = 0u32;
    let mut shift = 0;
    loop {
        let mut b = [0u8];
        input.read_exact(&mut b)?;
        n |= ((b[0] & 0x7f) as u32) << shift;
        if b[0] < 0x80 {
            return Ok(n);
        }
        shift += 7;
    }
}

fn read_bytes(input: &mut impl Read) -> io::Result<Vec<u8>> {
    let len = read_u32(input)? as usize;
    let mut bytes = vec![0u8; len];
    input.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// The next term of a spill file, or `None` at its end.
fn read_string(input: &mut impl Read) -> io::Result<Option<String>> {
    let mut first = [0u8];
    if input.read(&mut first)? == 0 {
        return Ok(None);
    }
    let mut len = (first[0] & 0x7f) as u32;
    if first[0] >= 0x80 {
        len |= read_u32(input)? << 7;
    }
    let mut bytes = vec![0u8; len as usize];
    input.read_exact(&mut bytes)?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// An index being built: documents added a block at a time.
pub(crate) struct IndexBuilder<'e> {
    /// The documents, kept only for an index in memory.
    pub docs: Vec<SearchDoc>,
    /// Every document's length in tokens.
    lens: Vec<u32>,
    /// The document table written as documents come, and where its files
    /// go, when the index is written.
    table: Option<(DocTable, &'e Emitter<'e>)>,
    partitions: Vec<Partition>,
    /// Where to spill, and above how many bytes; never when `None`.
    spill: Option<(PathBuf, usize)>,
}

impl<'e> IndexBuilder<'e> {
    /// A builder that keeps everything in memory.
    pub fn in_memory() -> IndexBuilder<'e> {
        IndexBuilder {
            docs: Vec::new(),
            lens: Vec::new(),
            table: None,
            partitions: (0..PARTITIONS).map(|_| Partition::default()).collect(),
            spill: None,
        }
    }

    /// A builder that writes the document table to `out` as documents
    /// come and, given a `spill` folder (which must exist), spills postings
    /// there when it holds more than `budget` bytes of them.
    pub fn writing(out: &'e Emitter<'e>, spill: Option<&Path>, budget: usize) -> IndexBuilder<'e> {
        IndexBuilder {
            table: Some((DocTable::new(), out)),
            spill: spill.map(|dir| (dir.to_path_buf(), budget)),
            ..IndexBuilder::in_memory()
        }
    }

    /// Adds documents (the next ids) and their terms.
    pub fn add(&mut self, per_doc: Vec<(SearchDoc, DocTerms)>) -> io::Result<()> {
        let first = self.lens.len() as u32;
        self.partitions
            .par_iter_mut()
            .enumerate()
            .for_each(|(number, partition)| {
                for (i, (_, terms)) in per_doc.iter().enumerate() {
                    for (term, frequency, positions) in terms.partition_keyed(number) {
                        partition.add(first + i as u32, term, frequency, positions);
                    }
                }
            });
        for (doc, _) in per_doc {
            self.lens.push(doc.len);
            match &mut self.table {
                Some((table, out)) => table.push(&doc, out)?,
                None => self.docs.push(doc),
            }
        }
        if let Some((dir, budget)) = &self.spill {
            let held: usize = self.partitions.iter().map(|p| p.bytes).sum();
            if held > *budget {
                self.partitions
                    .par_iter_mut()
                    .enumerate()
                    .try_for_each(|(number, partition)| partition.spill(dir, number))?;
            }
        }
        Ok(())
    }

    /// The documents' lengths, in document order.
    pub fn lens(&self) -> &[u32] {
        &self.lens
    }

    /// Every partition's terms, of a builder in memory.
    pub fn into_terms(self) -> Vec<FxHashMap<String, TermPostings>> {
        debug_assert!(self.spill.is_none() && self.table.is_none());
        self.partitions
            .into_iter()
            .map(|mut p| p.drain_terms().collect())
            .collect()
    }

    /// The document table being written (an empty one for an index in
    /// memory).
    pub fn take_table(&mut self) -> DocTable {
        self.table
            .take()
            .map_or_else(DocTable::new, |(table, _)| table)
    }

    /// Hands each partition's terms, complete and in order, to `each` with
    /// the partition's number — a partition per thread, only the terms
    /// being merged in memory — and collects what it returns, in partition
    /// order.
    pub fn finish_partitions<T: Send>(
        &mut self,
        each: impl Fn(usize, &mut PartitionStream) -> io::Result<T> + Sync,
    ) -> io::Result<Vec<T>> {
        let remover = Remover::new();
        let made = self
            .partitions
            .par_iter_mut()
            .enumerate()
            .map(|(number, partition)| {
                let terms = partition.sorted_terms(&remover)?;
                let mut stream = PartitionStream {
                    terms,
                    key_postings: std::mem::take(&mut partition.key_postings),
                };
                each(number, &mut stream)
            })
            .collect();
        // Waits for the removals. Every stream, with its sender, was
        // dropped in its closure: the remover's channel is closed once its
        // own sender goes.
        drop(remover);
        made
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn postings_with_frequencies(frequencies: &[u16]) -> TermPostings {
        let mut postings = TermPostings::default();
        for (doc, &frequency) in frequencies.iter().enumerate() {
            postings.push(doc as u32 * 3, u32::from(frequency), Some(&[doc as u32, 7]));
        }
        postings
    }

    #[test]
    fn a_term_reads_back_as_it_was_written_whatever_its_frequencies() {
        let frequencies = [0, 1, 127, 128, 300, 16_383, 16_384, u16::MAX];
        let postings = postings_with_frequencies(&frequencies);
        let mut bytes = Vec::new();
        encode_term(&mut bytes, "法治", &postings);
        let mut input = &bytes[..];
        let (term, count, read) = read_term(&mut input, true).unwrap().unwrap();
        assert_eq!((term.as_str(), count), ("法治", frequencies.len() as u32));
        assert_eq!(read.unwrap(), postings);
        assert!(input.is_empty(), "the whole term was read");
        // Read past, the next term starts where it should.
        let mut twice = bytes.clone();
        twice.extend_from_slice(&bytes);
        let mut input = &twice[..];
        assert!(read_term(&mut input, false).unwrap().is_some());
        assert_eq!(input, &bytes[..]);
    }

    #[test]
    fn a_remover_has_removed_every_file_sent_once_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let remover = Remover::new();
        let sender = remover.sender().expect("a thread to remove files");
        let paths: Vec<PathBuf> = (0..2000)
            .map(|n| dir.path().join(format!("spill-{n}.bin")))
            .collect();
        for path in &paths {
            std::fs::write(path, b"postings").unwrap();
        }
        // All at once: the dropped remover must wait for them.
        for path in paths {
            sender.send(path).unwrap();
        }
        drop(sender);
        drop(remover);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn damaged_frequencies_are_an_error_not_a_panic() {
        // Too few bytes for the count, a frequency of four bytes, one too
        // large for 16 bits, and a byte left over.
        for (bytes, count) in [
            (&[1u8][..], 2),
            (&[0x80, 0x80, 0x80, 0x01][..], 1),
            (&[0xff, 0xff, 0x7f][..], 1),
            (&[1, 1][..], 1),
        ] {
            let error = decode_frequencies(bytes, count).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{bytes:?}");
        }
        assert_eq!(decode_frequencies(&[5, 0x80, 0x01], 2).unwrap(), [5, 128]);
    }
}
