//! Writes a [`SearchIndex`] as the static files the browser loads: see the
//! module documentation of [`crate::search`] for the layout. Document ids in
//! lists are delta-encoded (each the difference to the one before), as are
//! positions, which keeps the files small before any compression.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::{Value, json};

use std::collections::HashSet;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::builder::{
    IndexBuilder, PARTITIONS, PartitionStream, avg_class, length_classes, partition_of,
};
use super::tokenize::shard_key;
use super::{DIR_BUCKETS, DOC_CHUNK, FACETS, SearchDoc, SearchIndex, TermPostings, phrase_group};

/// FNV-1a, 32 bits, over the UTF-8 bytes of `text`: the hash the browser
/// computes too.
fn fnv1a(text: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in text.as_bytes() {
        h ^= *b as u32;
        h = h.wrapping_mul(16_777_619);
    }
    h
}

/// Which directory bucket a shard key is in.
pub fn bucket(key: &str) -> u32 {
    fnv1a(key) % DIR_BUCKETS
}

/// Which part of a split shard key holds `term`: the hash of its
/// [`phrase_group`], so that a phrase of three CJK characters and the
/// phrase terms that begin with it are in one part.
pub fn term_part(term: &str, parts: usize) -> usize {
    fnv1a(phrase_group(term)) as usize % parts
}

/// Names of document-table chunks per `c-*.js` file.
const CHUNK_DIR: usize = 64;

/// Bytes of position data above which a term's positions get a file of
/// their own.
const OWN_POSITION_FILE: usize = 2048;

/// Postings per term shard, about; with delta-encoded document numbers a
/// shard is then some tens of kilobytes.
const SHARD_POSTINGS: usize = 6_000;

/// A name for a file from its content (XXH3, 48 of its 64 bits as 12 hex
/// digits). XXH3 reads eight bytes and more at a time; the index is
/// hundreds of megabytes on a large site, which FNV-1a, a byte at a time,
/// took most of a second to hash.
fn content_name(prefix: &str, body: &str) -> String {
    let h = xxhash_rust::xxh3::xxh3_64(body.as_bytes());
    format!("{prefix}-{:012x}", h & 0xffff_ffff_ffff)
}

/// One file of the index: its name (without `.js`) and its script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexFile {
    pub name: String,
    /// Shared, so that `gazette serve` hands on an unchanged file without
    /// copying it ([`super::LiveIndex`]).
    pub script: Arc<String>,
}

fn script(name: &str, data: &impl Serialize) -> String {
    let json = serde_json::to_string(data).expect("index data serializes");
    format!(
        "GazetteSearch.add({},{});\n",
        serde_json::to_string(name).expect("name"),
        json
    )
}

/// A file named by the hash of its data.
fn hashed(prefix: &str, data: &impl Serialize) -> IndexFile {
    raw_hashed(
        prefix,
        serde_json::to_string(data).expect("index data serializes"),
    )
}

/// A file named by the hash of `json`, which is already JSON.
fn raw_hashed(prefix: &str, json: String) -> IndexFile {
    let name = content_name(prefix, &json);
    let script = format!("{SCRIPT_HEAD}{name}\",{json});\n").into();
    IndexFile { name, script }
}

/// A script being written in place, JSON data after a call whose file
/// name is filled in at the end: what [`raw_hashed`] makes, without
/// copying the data (most of the index's bytes) into the script.
struct ScriptBuffer {
    prefix: &'static str,
    bytes: Vec<u8>,
}

const SCRIPT_HEAD: &str = "GazetteSearch.add(\"";

impl ScriptBuffer {
    /// A script whose data is an object, its `{` written.
    fn object(prefix: &'static str) -> ScriptBuffer {
        let mut bytes = Vec::with_capacity(256);
        bytes.extend_from_slice(SCRIPT_HEAD.as_bytes());
        // The name's place: the prefix, `-` and 12 hex digits.
        bytes.extend_from_slice(prefix.as_bytes());
        bytes.extend_from_slice(b"-000000000000\",{");
        ScriptBuffer { prefix, bytes }
    }

    fn data_start(&self) -> usize {
        SCRIPT_HEAD.len() + self.prefix.len() + 15
    }

    /// Whether the object has an entry yet.
    fn has_entries(&self) -> bool {
        self.bytes.len() > self.data_start() + 1
    }

    /// The bytes, for the object's next entry: after a `,` when an entry
    /// came before.
    fn next_entry(&mut self) -> &mut Vec<u8> {
        if self.has_entries() {
            self.bytes.push(b',');
        }
        &mut self.bytes
    }

    /// The file, named by the hash of its data.
    fn finish(mut self) -> IndexFile {
        let start = self.data_start();
        let json = std::str::from_utf8(&self.bytes[start..]).expect("index data is UTF-8");
        let name = content_name(self.prefix, json);
        self.bytes[SCRIPT_HEAD.len()..SCRIPT_HEAD.len() + name.len()]
            .copy_from_slice(name.as_bytes());
        self.bytes.extend_from_slice(b");\n");
        let script = String::from_utf8(self.bytes).expect("index scripts are UTF-8");
        IndexFile {
            name,
            script: Arc::new(script),
        }
    }
}

/// The 64 digits of the number lists: safe inside a JSON string and apart
/// from the separators `|` and `;`.
pub const DIGITS: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

/// Appends numbers with no separator between them: each in groups of five
/// bits, lowest first, as digits of [`DIGITS`] — 32 and above for a group
/// with more to come, below 32 for the last. Most differences between
/// documents or positions take one or two characters (base 36 with commas
/// took two or three).
fn push_numbers(out: &mut Vec<u8>, numbers: impl IntoIterator<Item = u32>) {
    for mut n in numbers {
        while n >= 32 {
            out.push(DIGITS[(32 | (n & 31)) as usize]);
            n >>= 5;
        }
        out.push(DIGITS[n as usize]);
    }
}

/// [`push_numbers`]'s digits of each number one LEB128 byte holds (below
/// 128), and how many of the two count: one below 32, else two.
const ONE_BYTE_DIGITS: [([u8; 2], u8); 128] = {
    let mut table = [([0; 2], 0); 128];
    let mut n = 0;
    while n < 128 {
        table[n] = if n < 32 {
            ([DIGITS[n], 0], 1)
        } else {
            ([DIGITS[32 | (n & 31)], DIGITS[n >> 5]], 2)
        };
        n += 1;
    }
    table
};

/// The kept differences of `postings` ([`TermPostings`]) as
/// [`push_numbers`] writes them, transcoded from their LEB128 bytes in one
/// pass into room made beforehand: the documents, or with `positions`
/// each document's positions, `;` between documents. The same bytes as
/// `push_numbers` of the decoded numbers, at a fraction of the cost (a
/// large site's index has hundreds of millions of positions).
fn push_kept(out: &mut Vec<u8>, postings: &TermPostings, positions: bool) {
    let (encoded, lists) = if positions {
        let lists = if postings.has_positions() {
            postings.len()
        } else {
            0 // a phrase term
        };
        (&postings.positions, lists)
    } else {
        (&postings.docs, 1)
    };
    // A kept byte holds 7 bits and a digit 5: at most two digits a byte.
    let start = out.len();
    out.resize(start + encoded.len() * 2 + lists, 0);
    let room = &mut out[start..];
    let (mut at, mut written) = (0, 0);
    for list in 0..lists {
        let count = if positions {
            if list > 0 {
                room[written] = b';';
                written += 1;
            }
            super::read_varint(encoded, &mut at)
        } else {
            postings.len() as u32
        };
        for _ in 0..count {
            let byte = encoded[at];
            if byte < 0x80 {
                // Most numbers: their digits from the table, two bytes
                // written whether or not the second counts (the room
                // has two a byte), so that no branch guesses the count.
                let (digits, len) = ONE_BYTE_DIGITS[byte as usize];
                room[written..written + 2].copy_from_slice(&digits);
                written += len as usize;
                at += 1;
                continue;
            }
            let next = encoded[at + 1];
            if next < 0x80 {
                // Two bytes, 128 to 16,383 (most differences between a
                // term's positions): two digits, or three from 1,024; the
                // third written either way (the room has four), so that
                // the digit count is not a branch to guess either.
                let n = u32::from(byte & 0x7f) | u32::from(next) << 7;
                let three = u32::from(n >= 1024);
                room[written] = DIGITS[(32 | (n & 31)) as usize];
                room[written + 1] = DIGITS[(three << 5 | (n >> 5 & 31)) as usize];
                room[written + 2] = DIGITS[(n >> 10) as usize];
                written += 2 + three as usize;
                at += 2;
                continue;
            }
            let mut n = super::read_varint(encoded, &mut at);
            while n >= 32 {
                room[written] = DIGITS[(32 | (n & 31)) as usize];
                written += 1;
                n >>= 5;
            }
            room[written] = DIGITS[n as usize];
            written += 1;
        }
    }
    out.truncate(start + written);
}

/// Each of `values` (ascending) as the difference to the one before.
fn deltas(values: impl IntoIterator<Item = u32>) -> impl Iterator<Item = u32> {
    let mut previous = 0;
    values.into_iter().map(move |v| {
        let d = v - previous;
        previous = v;
        d
    })
}

/// One term shard being filled (and its position shard): the terms of
/// some shard keys, or of one part of a split key.
struct Shard {
    /// The shard keys whose terms are here (for a part of a split key, its
    /// key, put in when the key ends).
    keys: Vec<String>,
    postings: usize,
    /// The terms' data.
    term_data: ScriptBuffer,
    /// The positions of the terms that keep them in the shard.
    position_data: ScriptBuffer,
    /// The files it made so far (name, bytes): its terms' own position
    /// files.
    files: Vec<(String, u64)>,
}

impl Shard {
    fn new() -> Shard {
        Shard {
            keys: Vec::new(),
            postings: 0,
            term_data: ScriptBuffer::object("t"),
            position_data: ScriptBuffer::object("p"),
            files: Vec::new(),
        }
    }

    /// Adds a term; a term with more than `own_position_file` bytes of
    /// positions has them in a file of its own, handed to `emit` at once.
    fn add(
        &mut self,
        term: &str,
        postings: &TermPostings,
        own_position_file: usize,
        emit: &mut dyn FnMut(IndexFile) -> io::Result<()>,
    ) -> io::Result<()> {
        self.postings += postings.len();
        let key = serde_json::to_string(term).expect("a term is a string");
        // The positions of each document, as differences, documents
        // separated by `;`; phrase terms have none. They are written as a
        // file of their own would hold them (`{key:"positions"}`), which
        // most of their bytes end up in, and copied into the position
        // shard when they are few.
        let mut own = None;
        if postings.has_positions() {
            let mut file = ScriptBuffer::object("q");
            let bytes = &mut file.bytes;
            // The most push_kept writes, and the ends: the buffer never
            // grows (doubling would leave it up to four times too large).
            bytes.reserve(postings.positions.len() * 2 + postings.len() + key.len() + 8);
            bytes.extend_from_slice(key.as_bytes());
            bytes.extend_from_slice(b":\"");
            let start = bytes.len();
            push_kept(bytes, postings, true);
            if bytes.len() - start > own_position_file {
                bytes.extend_from_slice(b"\"}");
                own = Some(file);
            } else {
                let positions = &file.bytes[start..];
                let position_data = self.position_data.next_entry();
                position_data.extend_from_slice(key.as_bytes());
                position_data.extend_from_slice(b":\"");
                position_data.extend_from_slice(positions);
                position_data.push(b'"');
            }
        }
        let term_data = self.term_data.next_entry();
        // "docs|frequencies[|file]", lists of numbers (push_numbers),
        // documents as differences to the one before; a term with many
        // positions has them in a file of its own, named third, so that
        // verifying a phrase loads only its own terms' positions.
        term_data.extend_from_slice(key.as_bytes());
        term_data.extend_from_slice(b":\"");
        push_kept(term_data, postings, false);
        term_data.push(b'|');
        push_numbers(term_data, postings.frequencies());
        if let Some(file) = own {
            let own = file.finish();
            term_data.push(b'|');
            term_data.extend_from_slice(own.name.as_bytes());
            self.files.push((own.name.clone(), own.script.len() as u64));
            emit(own)?;
        }
        term_data.push(b'"');
        Ok(())
    }

    /// Hands the term shard and position shard (none when no term keeps
    /// positions here) to `emit`; returns what it made, as a shard of
    /// `keys` (`part` of a split key).
    fn finish(
        mut self,
        part: Option<(usize, usize)>,
        emit: &mut dyn FnMut(IndexFile) -> io::Result<()>,
    ) -> io::Result<MadeShard> {
        let has_positions = self.position_data.has_entries();
        self.term_data.bytes.push(b'}');
        self.position_data.bytes.push(b'}');
        let t = self.term_data.finish();
        let p = has_positions.then(|| self.position_data.finish());
        let names = [
            t.name.clone(),
            p.as_ref().map_or(String::new(), |p| p.name.clone()),
        ];
        self.files.push((t.name.clone(), t.script.len() as u64));
        emit(t)?;
        if let Some(p) = p {
            self.files.push((p.name.clone(), p.script.len() as u64));
            emit(p)?;
        }
        Ok(MadeShard {
            keys: self.keys,
            part,
            names,
            files: self.files,
        })
    }
}

/// What one shard made: the shard keys it holds (one, for `part` of a
/// split key: part, of how many), the names of its term and position
/// shard, and all its files (name, bytes), its terms' own position files
/// among them. The build cache keeps it, to keep the shard's files when
/// none of its terms changed ([`super::kept`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(crate) struct MadeShard {
    pub keys: Vec<String>,
    pub part: Option<(usize, usize)>,
    pub names: [String; 2],
    pub files: Vec<(String, u64)>,
}

/// Where a shard is in a partition's layout: its shard keys, and its part
/// of a split key. Two shards in one place of two layouts that hold the
/// same terms with the same postings have the same bytes.
pub(crate) type Place<'a> = (&'a [String], Option<(usize, usize)>);

impl MadeShard {
    pub fn place(&self) -> Place<'_> {
        (&self.keys, self.part)
    }
}

/// The layout of one partition's shards, decided term by term from the
/// terms in sorted order (so a shard key's terms come one after another):
/// consecutive keys share a shard of about `shard_postings` postings, so
/// that a query loads a few files of tens of kilobytes whatever the size
/// of the site; a key with more postings than that (a common character:
/// 法, 政) is split into parts by a hash of the term, a shard each. The
/// directory entry of a key names the term and position shard of each of
/// its parts; a term is in part `term_part(term, parts)`.
///
/// [`PartitionWriter`] follows it as it encodes; [`plan`] follows it
/// without encoding, for the live index to make again only the shards
/// whose terms changed.
struct Layout {
    shard_postings: usize,
    /// Postings of the shared shard being filled.
    shared: usize,
    key: String,
    /// Parts of the key whose terms are coming; 1 when it is not split.
    parts: usize,
}

/// Where the next term goes.
struct Step {
    /// When it starts a shard key, the key that ended (empty before the
    /// first): that key's parts, if it was split, are complete.
    ended: Option<String>,
    /// Its key does not fit in the shared shard, which is complete; the
    /// key starts the next one.
    flush_shared: bool,
    /// The part of its split key it goes to; `None` for the shared shard.
    part: Option<usize>,
}

impl Layout {
    fn new(sizes: Sizes) -> Layout {
        Layout {
            shard_postings: sizes.shard_postings,
            shared: 0,
            key: String::new(),
            parts: 1,
        }
    }

    /// Places the next term, with `postings` postings; `key_postings` is
    /// the number of postings of its shard key (of every term with that
    /// key).
    fn step(&mut self, term: &str, postings: usize, key_postings: usize) -> Step {
        let key = shard_key(term);
        let mut step = Step {
            ended: None,
            flush_shared: false,
            part: None,
        };
        if key != self.key {
            step.ended = Some(std::mem::replace(&mut self.key, key.to_string()));
            self.parts = key_postings.div_ceil(self.shard_postings).max(1);
            if self.parts == 1
                && self.shared > 0
                && self.shared + key_postings > self.shard_postings
            {
                step.flush_shared = true;
                self.shared = 0;
            }
        }
        if self.parts > 1 {
            step.part = Some(term_part(term, self.parts));
        } else {
            self.shared += postings;
        }
        step
    }
}

/// Makes the shards of one partition from its terms, given in sorted
/// order, as [`Layout`] places them, keeping only the shards being filled.
struct PartitionWriter<'e> {
    sizes: Sizes,
    layout: Layout,
    emit: &'e mut dyn FnMut(IndexFile) -> io::Result<()>,
    /// The shard filled by keys that are not split.
    shared: Shard,
    /// The parts' shards of the key whose terms are coming, when split.
    split: Vec<Shard>,
    entries: BTreeMap<String, Vec<[String; 2]>>,
    made: Vec<MadeShard>,
}

impl<'e> PartitionWriter<'e> {
    fn new(sizes: Sizes, emit: &'e mut dyn FnMut(IndexFile) -> io::Result<()>) -> Self {
        PartitionWriter {
            sizes,
            layout: Layout::new(sizes),
            emit,
            shared: Shard::new(),
            split: Vec::new(),
            entries: BTreeMap::new(),
            made: Vec::new(),
        }
    }

    /// Adds the next term; `key_postings` is the number of postings of
    /// its shard key (of every term with that key).
    fn add(&mut self, term: &str, postings: &TermPostings, key_postings: usize) -> io::Result<()> {
        let step = self.layout.step(term, postings.len(), key_postings);
        if let Some(ended) = step.ended {
            self.end_key(ended)?;
            if self.layout.parts > 1 {
                self.split = (0..self.layout.parts).map(|_| Shard::new()).collect();
            } else {
                if step.flush_shared {
                    self.flush_shared()?;
                }
                self.shared.keys.push(self.layout.key.clone());
            }
        }
        let own = self.sizes.own_position_file;
        match step.part {
            None => self.shared.add(term, postings, own, self.emit),
            Some(part) => self.split[part].add(term, postings, own, self.emit),
        }
    }

    /// Ends `key`, whose terms came last: a split key's shards are made.
    fn end_key(&mut self, key: String) -> io::Result<()> {
        if self.split.is_empty() {
            return Ok(());
        }
        let split = std::mem::take(&mut self.split);
        let count = split.len();
        let mut parts = Vec::with_capacity(count);
        for (part, mut shard) in split.into_iter().enumerate() {
            shard.keys.push(key.clone());
            let made = shard.finish(Some((part, count)), self.emit)?;
            parts.push(made.names.clone());
            self.made.push(made);
        }
        self.entries.insert(key, parts);
        Ok(())
    }

    fn flush_shared(&mut self) -> io::Result<()> {
        let shard = std::mem::replace(&mut self.shared, Shard::new());
        let made = shard.finish(None, self.emit)?;
        for key in &made.keys {
            self.entries.insert(key.clone(), vec![made.names.clone()]);
        }
        self.made.push(made);
        Ok(())
    }

    /// Makes the last shards; returns every key's directory entry and
    /// what each shard made.
    fn finish(mut self) -> io::Result<(Vec<DirEntry>, Vec<MadeShard>)> {
        let last = std::mem::take(&mut self.layout.key);
        self.end_key(last)?;
        if !self.shared.keys.is_empty() {
            self.flush_shared()?;
        }
        Ok((self.entries.into_iter().collect(), self.made))
    }
}

/// One shard of a partition as [`Layout`] places the terms: the shard
/// keys it holds (one, for a part of a split key) and its terms, as
/// indices into the partition's sorted terms.
#[derive(Debug, Default)]
pub(super) struct PlannedShard {
    pub keys: Vec<String>,
    /// For a part of a split key: the part, of how many.
    pub part: Option<(usize, usize)>,
    pub terms: Vec<u32>,
}

impl PlannedShard {
    pub fn place(&self) -> Place<'_> {
        (&self.keys, self.part)
    }
}

/// The terms of a partition whose postings changed since its
/// shards were made, by shard key. A shard in the same [`Place`] as one
/// made then, none of whose terms is among them, holds the same terms
/// with the same postings: it has the same bytes, and its files can be
/// kept. (A term that is gone changed too: its key tells which shard
/// held it.)
pub(super) struct Changed<'a> {
    by_key: FxHashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Changed<'a> {
    pub fn new(terms: impl IntoIterator<Item = &'a String>) -> Changed<'a> {
        let mut by_key: FxHashMap<&str, Vec<&str>> = FxHashMap::default();
        for term in terms {
            by_key.entry(shard_key(term)).or_default().push(term);
        }
        Changed { by_key }
    }

    /// Whether a term of `shard` changed.
    pub fn in_shard(&self, shard: &PlannedShard) -> bool {
        shard.keys.iter().any(|key| {
            self.by_key
                .get(key.as_str())
                .is_some_and(|terms| match shard.part {
                    None => true,
                    Some((part, parts)) => terms.iter().any(|t| term_part(t, parts) == part),
                })
        })
    }
}

/// The shards [`PartitionWriter`] would make of `terms` (sorted), in the
/// order it completes them, without encoding any.
pub(super) fn plan(terms: &[(&str, &TermPostings)], sizes: Sizes) -> Vec<PlannedShard> {
    let key_postings = postings_by_key(terms);
    let mut layout = Layout::new(sizes);
    let mut shards = Vec::new();
    let mut shared = PlannedShard::default();
    let mut split: Vec<PlannedShard> = Vec::new();
    for (i, (term, postings)) in terms.iter().enumerate() {
        let key = shard_key(term);
        let step = layout.step(term, postings.len(), key_postings[key]);
        if step.ended.is_some() {
            shards.append(&mut split);
            if layout.parts > 1 {
                split = (0..layout.parts)
                    .map(|part| PlannedShard {
                        keys: vec![key.to_string()],
                        part: Some((part, layout.parts)),
                        terms: Vec::new(),
                    })
                    .collect();
            } else {
                if step.flush_shared {
                    shards.push(std::mem::take(&mut shared));
                }
                shared.keys.push(key.to_string());
            }
        }
        match step.part {
            None => shared.terms.push(i as u32),
            Some(part) => split[part].terms.push(i as u32),
        }
    }
    shards.append(&mut split);
    if !shared.keys.is_empty() {
        shards.push(shared);
    }
    shards
}

/// Makes the files of one planned shard from `terms` (the partition's,
/// sorted); returns the files and the names of its term and position
/// shard.
pub(super) fn make_shard(
    shard: &PlannedShard,
    terms: &[(&str, &TermPostings)],
    sizes: Sizes,
) -> (Vec<IndexFile>, [String; 2]) {
    let mut files = Vec::new();
    let mut emit = |file: IndexFile| {
        files.push(file);
        Ok(())
    };
    let mut made = Shard::new();
    for i in &shard.terms {
        let (term, postings) = terms[*i as usize];
        made.add(term, postings, sizes.own_position_file, &mut emit)
            .expect("files in memory");
    }
    let made = made.finish(shard.part, &mut emit).expect("files in memory");
    (files, made.names)
}

/// The directory entries of the shards of `plan`, given the names each
/// was made with (in the same order).
pub(super) fn plan_entries<'a>(
    plan: &[PlannedShard],
    names: impl IntoIterator<Item = &'a [String; 2]>,
) -> Vec<DirEntry> {
    let mut entries: BTreeMap<&str, Vec<[String; 2]>> = BTreeMap::new();
    for (shard, names) in plan.iter().zip(names) {
        for key in &shard.keys {
            entries.entry(key).or_default().push(names.clone());
        }
    }
    entries
        .into_iter()
        .map(|(key, parts)| (key.to_string(), parts))
        .collect()
}

/// The number of postings of each shard key of `terms`.
fn postings_by_key<'t>(terms: &[(&'t str, &TermPostings)]) -> FxHashMap<&'t str, usize> {
    let mut key_postings: FxHashMap<&str, usize> = FxHashMap::default();
    for (term, postings) in terms {
        *key_postings.entry(shard_key(term)).or_default() += postings.len();
    }
    key_postings
}

/// The sizes that shape the index files.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// Bytes of position data above which a term's positions get a file
    /// of their own.
    pub own_position_file: usize,
    /// Postings above which a shard key is split into parts.
    pub shard_postings: usize,
}

impl Default for Sizes {
    fn default() -> Sizes {
        Sizes {
            own_position_file: OWN_POSITION_FILE,
            shard_postings: SHARD_POSTINGS,
        }
    }
}

/// A shard key's directory entry: the term and position shard of each part.
/// A shard key and the names of its parts' term and position shards.
pub(super) type DirEntry = (String, Vec<[String; 2]>);

/// Where the files of an index go: each handed on once (files are named
/// by their content, so two with one name — the empty part of a split key
/// in two partitions, two empty directory buckets — are the same file),
/// their bytes counted.
pub(crate) struct Emitter<'a> {
    emit: &'a (dyn Fn(IndexFile) -> io::Result<()> + Sync),
    /// Told of each file the output folder already holds as it should
    /// (by name and size), for an index kept by the build cache.
    keep: Option<&'a KeepFile<'a>>,
    seen: Mutex<HashSet<String>>,
    bytes: AtomicU64,
}

/// Told that the file `name`, of so many bytes, is kept as it is.
pub type KeepFile<'a> = dyn Fn(&str, u64) -> io::Result<()> + Sync + 'a;

impl<'a> Emitter<'a> {
    pub fn new(emit: &'a (dyn Fn(IndexFile) -> io::Result<()> + Sync)) -> Emitter<'a> {
        Emitter {
            emit,
            keep: None,
            seen: Mutex::new(HashSet::new()),
            bytes: AtomicU64::new(0),
        }
    }

    /// An emitter that can also keep files as they are.
    pub fn keeping(
        emit: &'a (dyn Fn(IndexFile) -> io::Result<()> + Sync),
        keep: &'a KeepFile<'a>,
    ) -> Emitter<'a> {
        Emitter {
            keep: Some(keep),
            ..Emitter::new(emit)
        }
    }

    /// Hands on that the file `name` of `size` bytes is kept as it is.
    pub fn keep(&self, name: &str, size: u64) -> io::Result<()> {
        let keep = self
            .keep
            .ok_or_else(|| io::Error::other("an index file kept without a cache"))?;
        let new = self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string());
        if new {
            self.bytes.fetch_add(size, Ordering::Relaxed);
            keep(name, size)?;
        }
        Ok(())
    }

    pub fn put(&self, file: IndexFile) -> io::Result<()> {
        let new = self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(file.name.clone());
        if new {
            self.bytes
                .fetch_add(file.script.len() as u64, Ordering::Relaxed);
            (self.emit)(file)?;
        }
        Ok(())
    }

    /// The bytes of the files handed on.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// The document table as documents come, in document order: rows go out in
/// chunk files of [`DOC_CHUNK`] as soon as a chunk is full, and of each
/// document only its filter values stay, so the table never holds the
/// excerpts of the whole site. (The lengths, for BM25, are the index
/// builder's.)
pub(crate) struct DocTable {
    /// Documents so far.
    count: u32,
    /// Per filter ([`FACETS`]): value → its documents.
    facets: Vec<BTreeMap<String, Vec<u32>>>,
    pending: Vec<SearchDoc>,
    chunk_names: Vec<String>,
}

impl DocTable {
    pub fn new() -> DocTable {
        DocTable {
            count: 0,
            facets: vec![BTreeMap::new(); FACETS.len()],
            pending: Vec::new(),
            chunk_names: Vec::new(),
        }
    }

    /// Adds the next document.
    pub fn push(&mut self, doc: &SearchDoc, out: &Emitter) -> io::Result<()> {
        self.count_in(doc);
        self.pending.push(doc.clone());
        if self.pending.len() == DOC_CHUNK {
            self.flush(out)?;
        }
        Ok(())
    }

    /// Adds the next [`DOC_CHUNK`] documents (fewer for the last chunk),
    /// their rows already made into `file` ([`DocTable::chunk_file`]).
    pub fn push_chunk(
        &mut self,
        docs: &[SearchDoc],
        file: IndexFile,
        out: &Emitter,
    ) -> io::Result<()> {
        debug_assert!(self.pending.is_empty());
        for doc in docs {
            self.count_in(doc);
        }
        self.chunk_names.push(file.name.clone());
        out.put(file)
    }

    /// Numbers the document and counts it under its filter values.
    fn count_in(&mut self, doc: &SearchDoc) {
        let id = self.count;
        self.count += 1;
        for (values, facet) in self.facets.iter_mut().zip(FACETS) {
            for value in doc.facet_values(facet) {
                values.entry(value).or_default().push(id);
            }
        }
    }

    /// The file of one chunk of rows.
    pub fn chunk_file(docs: &[SearchDoc]) -> IndexFile {
        let rows: Vec<Value> = docs
            .iter()
            .map(|d| {
                json!([
                    d.path, d.title, d.date, d.issuer, d.index_no, d.doc_no, d.excerpt
                ])
            })
            .collect();
        hashed("d", &rows)
    }

    fn flush(&mut self, out: &Emitter) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let file = DocTable::chunk_file(&self.pending);
        self.pending.clear();
        self.chunk_names.push(file.name.clone());
        out.put(file)
    }

    /// Makes the files beside the term shards: the last rows, the chunk
    /// directories, the directory buckets (from every key's entry), the
    /// filter files, the length classes of the documents (of lengths
    /// `lens`, in document order), and `meta` last.
    pub(super) fn finish<'e>(
        mut self,
        lens: &[u32],
        entries: impl IntoIterator<Item = &'e DirEntry>,
        out: &Emitter,
    ) -> io::Result<()> {
        self.flush(out)?;
        let mut buckets: Vec<BTreeMap<&str, &Vec<[String; 2]>>> =
            vec![BTreeMap::new(); DIR_BUCKETS as usize];
        for (key, parts) in entries {
            buckets[bucket(key) as usize].insert(key, parts);
        }
        let mut dir_names = Vec::with_capacity(buckets.len());
        for bucket in &buckets {
            let file = hashed("dir", bucket);
            dir_names.push(file.name.clone());
            out.put(file)?;
        }
        // The chunks' names, CHUNK_DIR to a file, so that meta.js stays
        // small whatever the number of reports.
        let mut chunk_dir_names = Vec::new();
        for group in self.chunk_names.chunks(CHUNK_DIR) {
            let file = hashed("c", &group);
            chunk_dir_names.push(file.name.clone());
            out.put(file)?;
        }
        // One file per value of each filter (its documents), so that a
        // filter loads only the values chosen.
        let mut facets = BTreeMap::new();
        for (values, facet) in self.facets.iter().zip(FACETS) {
            if values.is_empty() {
                continue;
            }
            let counts: Vec<(&String, usize)> = if facet == "year" {
                values.iter().rev().map(|(v, d)| (v, d.len())).collect()
            } else {
                values.iter().map(|(v, d)| (v, d.len())).collect()
            };
            let mut names: BTreeMap<&String, String> = BTreeMap::new();
            for (value, docs) in values {
                let file = hashed("f", &deltas(docs.iter().copied()).collect::<Vec<_>>());
                names.insert(value, file.name.clone());
                out.put(file)?;
            }
            facets.insert(facet, json!({ "files": names, "values": counts }));
        }
        // Each document's length class, which a query weighs frequencies
        // by (builder::Bm25), as an index of the classes: a list of
        // numbers as push_numbers writes them.
        let (classes, of_doc) = length_classes(lens);
        let mut digits = Vec::with_capacity(of_doc.len());
        push_numbers(&mut digits, of_doc);
        let digits = String::from_utf8(digits).expect("digits are ASCII");
        let lengths = hashed("l", &json!({ "classes": classes, "docs": digits }));
        let lengths_name = lengths.name.clone();
        out.put(lengths)?;
        let meta = json!({
            "version": 3,
            "docs": self.count,
            "avg": avg_class(lens),
            "lengths": lengths_name,
            "chunk": DOC_CHUNK,
            "chunkdir": CHUNK_DIR,
            "chunkdirs": chunk_dir_names,
            "buckets": dir_names,
            "facets": facets,
        });
        out.put(IndexFile {
            name: "meta".to_string(),
            script: script("meta", &meta).into(),
        })
    }
}

/// Makes the index files of everything `builder` holds, a partition at a
/// time, handing each to `out` as it is made.
pub(crate) fn write_files(
    builder: &mut IndexBuilder,
    sizes: &Sizes,
    out: &Emitter,
) -> io::Result<()> {
    write_files_keeping(builder, sizes, out, None).map(|_| ())
}

/// What each shard of a partition made, and the partition's directory
/// entries.
pub(crate) type MadePartition = (Vec<MadeShard>, Vec<DirEntry>);

/// [`write_files`]; with `keep`, each partition's terms are also written
/// to the file `keep` names for the partition's number, and what each
/// partition made is returned, for the build cache ([`super::kept`]).
pub(crate) fn write_files_keeping(
    builder: &mut IndexBuilder,
    sizes: &Sizes,
    out: &Emitter,
    keep: Option<&(dyn Fn(usize) -> std::path::PathBuf + Sync)>,
) -> io::Result<Vec<MadePartition>> {
    let made = builder.finish_partitions(|number, stream| {
        let (shards, entries) = write_stream(stream, *sizes, out, keep.map(|path| path(number)))?;
        // What each shard made is for the cache alone.
        Ok((if keep.is_some() { shards } else { Vec::new() }, entries))
    })?;
    let table = builder.take_table();
    let entries = made.iter().flat_map(|(_, e)| e);
    table.finish(builder.lens(), entries, out)?;
    Ok(if keep.is_some() { made } else { Vec::new() })
}

/// Makes the shards of one partition from its terms as `stream` gives
/// them, handing each file to `out` as it is made; with `keep`, the terms
/// are also written to that file. Returns what each shard made and the
/// directory entries.
pub(crate) fn write_stream(
    stream: &mut PartitionStream,
    sizes: Sizes,
    out: &Emitter,
    keep: Option<std::path::PathBuf>,
) -> io::Result<MadePartition> {
    let mut emit = |file: IndexFile| out.put(file);
    let mut writer = PartitionWriter::new(sizes, &mut emit);
    let mut kept = keep
        .map(|path| super::builder::TermsWriter::create(&path))
        .transpose()?;
    loop {
        let next = match &mut kept {
            Some(kept) => stream.next_term_kept(kept)?,
            None => stream.next_term()?,
        };
        let Some((term, postings)) = next else { break };
        let key_postings = stream.key_postings(shard_key(&term));
        writer.add(&term, &postings, key_postings)?;
    }
    let (entries, made) = writer.finish()?;
    if let Some(kept) = kept {
        kept.finish_kept()?;
    }
    Ok((made, entries))
}

/// Makes the shards of one partition held in memory, from its terms in
/// order; returns the directory entries.
pub(super) fn write_partition(
    terms: &[(&str, &TermPostings)],
    sizes: Sizes,
    emit: &mut dyn FnMut(IndexFile) -> io::Result<()>,
) -> io::Result<Vec<DirEntry>> {
    let key_postings = postings_by_key(terms);
    let mut writer = PartitionWriter::new(sizes, emit);
    for (term, postings) in terms {
        writer.add(term, postings, key_postings[shard_key(term)])?;
    }
    Ok(writer.finish()?.0)
}

/// Every file of an index in memory; `meta` last.
pub fn shards(index: &SearchIndex) -> Vec<IndexFile> {
    shards_with(index, OWN_POSITION_FILE, SHARD_POSTINGS)
}

/// Every file of the index, terms with more than `own_position_file` bytes
/// of positions having a position file of their own, shard keys with more
/// than `shard_postings` postings split into parts. Tests pass small values
/// so that the browser engine is checked on every kind of file.
pub fn shards_with(
    index: &SearchIndex,
    own_position_file: usize,
    shard_postings: usize,
) -> Vec<IndexFile> {
    let sizes = Sizes {
        own_position_file,
        shard_postings,
    };
    let mut partitions: Vec<Vec<(&str, &TermPostings)>> = vec![Vec::new(); PARTITIONS];
    for (term, postings) in &index.terms {
        partitions[partition_of(term)].push((term.as_str(), postings));
    }
    let files = Mutex::new(Vec::new());
    let collect = |file: IndexFile| {
        files.lock().unwrap_or_else(|e| e.into_inner()).push(file);
        Ok(())
    };
    let out = Emitter::new(&collect);
    let mut table = DocTable::new();
    for doc in &index.docs {
        table.push(doc, &out).expect("files in memory");
    }
    let mut entries = Vec::new();
    for terms in &partitions {
        let mut emit = |file: IndexFile| out.put(file);
        entries.extend(write_partition(terms, sizes, &mut emit).expect("files in memory"));
    }
    table
        .finish(&index.lens(), &entries, &out)
        .expect("files in memory");
    drop(out);
    files.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// The files a query downloads with a cold cache, and their bytes: the
/// meta file, the directory buckets and term shards of its tokens, the
/// position shards when a phrase must be verified, the filter files, and
/// the document-table chunks of the first `page_size` results.
pub fn query_cost(
    index: &SearchIndex,
    files: &[IndexFile],
    query: &str,
    page_size: usize,
) -> (usize, usize) {
    let by_name: BTreeMap<&str, usize> = files
        .iter()
        .map(|f| (f.name.as_str(), f.script.len()))
        .collect();
    let meta: Value = serde_json::from_str(
        files
            .iter()
            .find(|f| f.name == "meta")
            .map(|f| {
                let s = &f.script;
                &s[s.find(',').map_or(0, |i| i + 1)..s.len() - 3]
            })
            .unwrap_or("{}"),
    )
    .unwrap_or(Value::Null);
    let mut needed: std::collections::BTreeSet<String> = ["meta".to_string()].into();
    let dir_of = |key: &str| {
        meta["buckets"][bucket(key) as usize]
            .as_str()
            .map(str::to_string)
    };
    let dirs: BTreeMap<String, BTreeMap<String, Vec<[String; 2]>>> = files
        .iter()
        .filter(|f| f.name.starts_with("dir-"))
        .filter_map(|f| {
            let s = &f.script;
            let data = &s[s.find(',')? + 1..s.len() - 3];
            Some((f.name.clone(), serde_json::from_str(data).ok()?))
        })
        .collect();
    // The own position file a term shard names for `term`, if any.
    let own_positions = |shard: &str, term: &str| -> Option<String> {
        let f = files.iter().find(|f| f.name == shard)?;
        let quoted = serde_json::to_string(term).ok()?;
        let at = f.script.find(&format!("{quoted}:\""))? + quoted.len() + 2;
        let entry = &f.script[at..at + f.script[at..].find('"')?];
        entry.split('|').nth(2).map(str::to_string)
    };
    for segment in super::parse_query(query) {
        // As the engines do: a phrase term, one token (every part of its
        // key when matched as a prefix), or the covering tokens of a phrase
        // with their positions.
        let phrase_term = super::phrase_term(&segment.tokens);
        let tokens: Vec<String> = match &phrase_term {
            Some(term) => vec![term.clone()],
            None if segment.tokens.len() == 1 => vec![segment.tokens[0].term.clone()],
            None => super::covering_tokens(&segment.tokens)
                .into_iter()
                .map(|t| t.term.clone())
                .collect(),
        };
        let positions = phrase_term.is_none() && segment.tokens.len() > 1;
        for term in &tokens {
            let key = shard_key(term);
            let Some(dir) = dir_of(key) else { continue };
            needed.insert(dir.clone());
            let Some(parts) = dirs.get(&dir).and_then(|d| d.get(key)) else {
                continue;
            };
            let chosen: Vec<&[String; 2]> = if segment.prefix {
                parts.iter().collect()
            } else {
                vec![&parts[term_part(term, parts.len())]]
            };
            for [t, p] in chosen {
                needed.insert(t.clone());
                if positions {
                    needed.insert(own_positions(t, term).unwrap_or_else(|| p.clone()));
                }
            }
        }
    }
    // Ranking weighs each frequency by its document's length class.
    if let Some(lengths) = meta["lengths"].as_str() {
        needed.insert(lengths.to_string());
    }
    let results = index.search(query, &super::Filters::new(), false);
    for (doc, _) in results.iter().take(page_size) {
        let chunk = *doc as usize / DOC_CHUNK;
        let Some(dir) = meta["chunkdirs"][chunk / CHUNK_DIR].as_str() else {
            continue;
        };
        needed.insert(dir.to_string());
        let names: Option<Vec<String>> = files.iter().find(|f| f.name == dir).and_then(|f| {
            serde_json::from_str(&f.script[f.script.find(',')? + 1..f.script.len() - 3]).ok()
        });
        if let Some(name) = names.as_ref().and_then(|n| n.get(chunk % CHUNK_DIR)) {
            needed.insert(name.clone());
        }
    }
    let bytes = needed.iter().filter_map(|n| by_name.get(n.as_str())).sum();
    (bytes, results.len())
}

#[cfg(test)]
mod kept_tests {
    use super::*;

    /// [`push_kept`] against decoding the postings and [`push_numbers`].
    fn written_both_ways(postings: &TermPostings) -> ([Vec<u8>; 2], [Vec<u8>; 2]) {
        let mut docs = Vec::new();
        push_numbers(&mut docs, deltas(postings.doc_numbers()));
        let mut positions = Vec::new();
        let positional = postings.iter().filter(|_| postings.has_positions());
        for (i, posting) in positional.enumerate() {
            if i > 0 {
                positions.push(b';');
            }
            push_numbers(&mut positions, posting.position_deltas());
        }
        let (mut kept_docs, mut kept_positions) = (b"x".to_vec(), b"y".to_vec());
        push_kept(&mut kept_docs, postings, false);
        push_kept(&mut kept_positions, postings, true);
        (
            [kept_docs[1..].to_vec(), kept_positions[1..].to_vec()],
            [docs, positions],
        )
    }

    #[test]
    fn a_position_file_is_made_without_growing_its_buffer() {
        // `gazette serve` holds every index file in memory, so a file's
        // spare room counts: a buffer that outgrew what was reserved
        // doubled, to four times the file, and cost serve 500 MB at
        // 10,000 reports.
        let mut postings = TermPostings::default();
        for doc in 0..500 {
            postings.push(doc * 3, 1, Some(&[(1 << 21) + doc]));
        }
        let mut files = Vec::new();
        let mut shard = Shard::new();
        shard
            .add("法治", &postings, 0, &mut |file| {
                files.push(file);
                Ok(())
            })
            .unwrap();
        let [file] = &files[..] else {
            panic!("one file of positions, not {}", files.len())
        };
        assert!(file.name.starts_with("q-"), "{}", file.name);
        let (len, capacity) = (file.script.len(), file.script.capacity());
        assert!(capacity < 3 * len, "{capacity} bytes held for {len}");
    }

    #[test]
    fn kept_numbers_are_written_as_push_numbers_writes_them() {
        let mut postings = TermPostings::default();
        // Differences of one to five LEB128 bytes, and lists of none (a
        // unigram only inside runs), one and many positions.
        postings.push(3, 2, Some(&[5, 9]));
        postings.push(7, 1, Some(&[200]));
        postings.push(8, 3, Some(&[]));
        postings.push(300, 4, Some(&[1, 2, 3, 1000]));
        postings.push(20_000, 1, Some(&[1 << 21, (1 << 21) + 31, (1 << 21) + 32]));
        postings.push(u32::MAX - 1, 2, Some(&[u32::MAX - 5, u32::MAX]));
        let (kept, expected) = written_both_ways(&postings);
        assert_eq!(kept, expected);
        assert_eq!(
            String::from_utf8(expected[1].clone()).unwrap(),
            "54;e6;;111bV;WWWW2V1;w_____35"
        );
        // Every difference below 300 (one and two LEB128 bytes, one to
        // two digits), from 0, between documents and positions.
        let mut every = TermPostings::default();
        let positions: Vec<u32> = (0..300)
            .scan(0, |at, d| {
                *at += d;
                Some(*at)
            })
            .collect();
        for (doc, window) in positions.windows(3).enumerate() {
            every.push(positions[doc], 1, Some(window));
        }
        let (kept, expected) = written_both_ways(&every);
        assert_eq!(kept, expected);
        assert!(expected[1].len() > 2 * 300, "{}", expected[1].len());
        // Every difference up to 20,000 (one to three LEB128 bytes, one to
        // three digits) as a position, a document's last and not.
        let mut up_to = TermPostings::default();
        let mut from = 0;
        for d in 0..=20_000u32 {
            up_to.push(d, 1, Some(&[from, from + d, from + d + d % 3]));
            from += d;
        }
        let (kept, expected) = written_both_ways(&up_to);
        assert_eq!(kept, expected);
        // A phrase term has documents and no positions.
        let mut phrase = TermPostings::default();
        phrase.push(0, 1, None);
        phrase.push(40, 1, None);
        let (kept, expected) = written_both_ways(&phrase);
        assert_eq!(kept, expected);
        assert!(kept[1].is_empty());
    }
}
