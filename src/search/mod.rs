//! Search: an exact, small-download static index that is right for Chinese.
//!
//! The index is built from the site's reports (their title, 文号 and 索引号,
//! and body text) with the tokenizer of [`tokenize`] — CJK bigrams and
//! unigrams with positions (a unigram's only at the ends of runs, see
//! `doc_terms`; each paragraph's from a multiple of 1,024, see
//! `Paragraphs`), whole words for Latin script — so that a
//! Chinese query matches exactly the reports that contain it as a
//! substring. Every run of four CJK characters is also a term of its
//! own, without positions, and so is one of three at the end of a CJK run
//! ([`phrase_term`], [`phrase_group`]), so that the commonest queries need
//! no positions at all; longer phrases are verified on the positions of
//! the fewest tokens that cover them ([`covering_tokens`]).
//! [`SearchIndex::search`] is the reference query engine; the browser's
//! (`gazette-search.js`) does the same on the shards [`shards`] writes:
//!
//! - `search/meta.js` (fixed name, small): counts, the names of the doc-table
//!   chunk directories, of the directory buckets and of the facet files;
//! - `c-*.js`: the names of 64 doc-table chunks;
//! - `dir-*.js`: for the shard keys that hash to one bucket, the names of
//!   their term and position shards (a position shard's name is empty when
//!   none of its terms keeps positions there);
//! - `t-*.js`: the terms of some shard keys (a key is a CJK character, or
//!   two letters, so a prefix's words share a shard) with their documents
//!   and frequencies, about 6,000 postings a shard; a key with more is
//!   split into parts by a hash of the term (of its first three
//!   characters for a phrase term of four, [`phrase_group`];
//!   [`shards::term_part`]), all named in its directory entry;
//! - `p-*.js`: the same terms' positions, fetched only to verify a phrase;
//! - `q-*.js`: the positions of one term that has many;
//! - `d-*.js`: 32 rows of the document table (url, title, date, issuer,
//!   索引号, 文号, excerpt);
//! - `f-*.js`: the documents of one value of a filter;
//! - `l-*.js`: each document's length class, which BM25 weighs a
//!   frequency by ([`builder::Bm25`]), named in `meta.js` with the average
//!   class; so a report whose length moves to another class changes this
//!   file, not the term shards of every word it has.
//!
//! Every file but `meta.js` is named by a hash of its content, so an
//! unchanged shard keeps its name and bytes from build to build. Each file
//! is a script that hands its data to `GazetteSearch.add(name, data)`, so it
//! loads by a `<script>` element: from `file://` (where `fetch` is blocked),
//! over HTTP, under a sub-path, and under `Content-Security-Policy:
//! script-src 'self'` (no `eval`, no inline script, no WebAssembly).

mod builder;
pub mod kept;
mod live;
pub mod shards;
pub mod tokenize;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::Path;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::config::{Config, Language};
use crate::site::{ReportId, Site};
use builder::{Bm25, IndexBuilder};
pub use kept::KeptIndex;
pub use live::LiveIndex;
use shards::IndexFile;
use tokenize::{Piece, Token, is_word_token, tokenize_query};

/// Reports tokenized at a time while the index is built. The index
/// builder reads a block's term tables a partition at a time, so the
/// block should fit the cores' caches: a report's table is about 180 KB on
/// the bench corpus, and a block of 32 is under 3 MB a core. Blocks of 256
/// (45 MB) were read back from farther memory: the 10,000-report clean
/// build took a median of 10.2 s against 8.7 s with 32 (12 alternating
/// builds each), and peaked 60 MB higher. Measured again later (three
/// alternating builds each): 16 no faster (5.69-5.84 s against
/// 5.75-6.50 s), 64 and 128 a few percent more user time (9.54-9.69 s
/// against 9.22-9.41 s).
const BUILD_BLOCK: usize = 32;

/// Rows of the document table per file.
pub const DOC_CHUNK: usize = 32;
/// Directory buckets the shard keys are spread over.
pub const DIR_BUCKETS: u32 = 64;
/// Weight of a token in the title, 文号 or 索引号 against one in the body.
const FIELD_BOOST: u32 = 5;
/// Where each field's positions start, far enough apart that no phrase
/// matches across the end of one field and the start of the next. The body
/// starts at 0 and the title and numbers take the top of the range: nearly
/// every list of positions starts in the body, and the index writes a
/// list's first position as its distance from 0. With the body at 2²¹,
/// after the title and numbers, that first position took five digits a
/// list, half the bytes of the positions of the 10,000-report bench
/// corpus; from 0, it takes one to four: that corpus's position files
/// went from 222 MB to 183 MB, its whole index from 315 MB to 276 MB.
const BODY_OFFSET: u32 = 0;
/// The positions the title has, and the numbers.
const FIELD_ROOM: u32 = 1 << 20;
const TITLE_OFFSET: u32 = u32::MAX - 2 - 2 * FIELD_ROOM;
const NUMBERS_OFFSET: u32 = TITLE_OFFSET + FIELD_ROOM;
/// Each paragraph's positions start at a multiple of this
/// ([`Paragraphs`]).
const PARAGRAPH_STRIDE: u32 = 1024;
/// Past this position (some two million paragraphs or table cells into a
/// field), a paragraph no longer starts at a multiple of the stride but
/// where the tokenizer numbers it, right after the one before (a line
/// break between them takes a position, so no phrase spans the two): the
/// rest of a huge report, say a statistics table of millions of cells,
/// still has two thousand million positions of room.
const STRIDED_UNTIL: u32 = 1 << 31;
/// The last position of the body, one short of the position before the
/// title (so that the two never touch), and of the title and the numbers
/// (their offset comes on top), the last of the numbers' short of the
/// numbers that mark a term without positions in `doc_terms`.
const BODY_LAST: u32 = TITLE_OFFSET - 2;
const FIELD_LAST: u32 = FIELD_ROOM - 2;
const _: () = assert!(BODY_LAST - STRIDED_UNTIL > 1 << 30);
// A gap after each field, and the numbers short of the markers.
const _: () = assert!(BODY_OFFSET + BODY_LAST + 1 < TITLE_OFFSET);
const _: () = assert!(TITLE_OFFSET + FIELD_LAST + 1 < NUMBERS_OFFSET);
const _: () = assert!(NUMBERS_OFFSET + FIELD_LAST < u32::MAX - 2);

/// The fields of a document in the order of their positions: which of
/// [`DocTerms`]'s texts (title, numbers, body), where its positions
/// start, its last position (before the offset) and the weight of its
/// tokens. Counted in this order, each term's positions come out
/// ascending.
const FIELDS: [(u8, u32, u32, u32); 3] = [
    (2, BODY_OFFSET, BODY_LAST, 1),
    (0, TITLE_OFFSET, FIELD_LAST, FIELD_BOOST),
    (1, NUMBERS_OFFSET, FIELD_LAST, FIELD_BOOST),
];

/// Places a field's tokens paragraph by paragraph (paragraphs are
/// separated by a blank line, as [`crate::markdown`]'s plain text has
/// them): each paragraph starts at the first multiple of
/// [`PARAGRAPH_STRIDE`] after the paragraph before it ends, its tokens
/// one after another from there as the tokenizer numbers them. A phrase
/// is matched by consecutive positions, which a paragraph keeps; nothing
/// matches across paragraphs in any case (a line break is a separator).
///
/// So a sentence put in or taken out of a paragraph moves only the
/// positions after it in that paragraph (unless the paragraph's end
/// crosses a multiple of the stride), and a build after such an edit
/// changes the postings of the terms of one paragraph, not of every term
/// after it in the report: the build cache makes a few index shards again
/// ([`kept`]), not the whole index. Past [`STRIDED_UNTIL`] (a report of
/// millions of paragraphs) the rest follow one another.
struct Paragraphs<'t> {
    text: &'t str,
    /// Where the next paragraph break is, in bytes.
    next_break: Option<usize>,
    /// What is added to the tokenizer's positions in this paragraph.
    shift: i64,
    /// The last position placed.
    last: Option<u32>,
    /// No paragraph starts at a multiple of the stride past this.
    strided_until: u32,
    /// The field's last position: a text of more tokens than it has room
    /// for shares it.
    last_position: u32,
}

impl<'t> Paragraphs<'t> {
    /// The paragraphs of a field whose last position is `last_position`.
    fn new(text: &'t str, last_position: u32) -> Paragraphs<'t> {
        Paragraphs::strided_until(text, STRIDED_UNTIL, last_position)
    }

    /// Paragraphs that start at a multiple of the stride up to
    /// `strided_until`, and after it one after another.
    fn strided_until(text: &'t str, strided_until: u32, last_position: u32) -> Paragraphs<'t> {
        Paragraphs {
            text,
            next_break: paragraph_break(text, 0),
            shift: 0,
            last: None,
            strided_until,
            last_position,
        }
    }

    /// The position of the next token, which starts at byte `start` and
    /// has position `pos` in the tokenizer's numbering.
    fn place(&mut self, start: usize, pos: u32) -> u32 {
        self.enter(start, pos);
        let placed = self.clamp(pos as i64 + self.shift);
        self.last = Some(placed);
        placed
    }

    /// Places the `count` characters of a CJK run, the first of which
    /// starts at byte `start` and has position `first` in the tokenizer's
    /// numbering, as [`Paragraphs::place`] would one by one; returns the
    /// first's position before [`Paragraphs::clamp`], which gives the
    /// `i`th's of that plus `i`. A run is in one paragraph (a paragraph
    /// break is no CJK character), so it is looked for once, not for
    /// each character: that was a fortieth of the build's instructions.
    fn place_run(&mut self, start: usize, first: u32, count: usize) -> i64 {
        self.enter(start, first);
        let base = first as i64 + self.shift;
        self.last = Some(self.clamp(base + count as i64 - 1));
        base
    }

    /// Never beyond the positions a field has room for: a text of more
    /// tokens than that (gigabytes) shares the last position.
    fn clamp(&self, position: i64) -> u32 {
        position.clamp(0, i64::from(self.last_position)) as u32
    }

    /// Moves into the paragraph of the token that starts at byte `start`
    /// and has position `pos` in the tokenizer's numbering, if that is
    /// past a paragraph break.
    fn enter(&mut self, start: usize, pos: u32) {
        if self.next_break.is_some_and(|at| at < start) {
            while let Some(at) = self.next_break.filter(|at| *at < start) {
                self.next_break = paragraph_break(self.text, at + 2);
            }
            let stride = u64::from(PARAGRAPH_STRIDE);
            let first = self
                .last
                .map_or(0, |last| (u64::from(last) / stride + 1) * stride);
            if first <= u64::from(self.strided_until) {
                self.shift = first as i64 - pos as i64;
            }
        }
    }
}

/// Where the first paragraph break (`\n\n`) at or after byte `from` of
/// `text` is. Found from each line break, which `find` looks for with
/// `memchr`; a search for the two bytes set up a searcher for each of a
/// report's paragraphs.
fn paragraph_break(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = from;
    loop {
        let line_end = at + text.get(at..)?.find('\n')?;
        if bytes.get(line_end + 1) == Some(&b'\n') {
            return Some(line_end);
        }
        at = line_end + 1;
    }
}

/// One searchable report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SearchDoc {
    /// The report's page, percent-encoded, without the leading `/`.
    pub path: String,
    pub title: String,
    pub date: String,
    pub issuer: String,
    pub index_no: String,
    pub doc_no: String,
    /// The summary, or the start of the text.
    pub excerpt: String,
    /// Tokens in the report, for length normalisation.
    pub len: u32,
    pub topics: Vec<String>,
    pub year: Option<i32>,
    pub doc_type: Option<String>,
    pub validity: Option<String>,
}

/// Where a term occurs: per document, its frequency and positions. Kept
/// compact, since a large site has tens of millions of (term, document)
/// pairs and hundreds of millions of positions: documents and positions as
/// differences in LEB128 bytes (most take one byte instead of four), in
/// flat arrays (one allocation per term, not per document).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TermPostings {
    /// How many documents.
    count: u32,
    /// Each document as the difference to the one before.
    docs: Vec<u8>,
    last_doc: u32,
    /// The term's weighted frequency in each document: its occurrences,
    /// those in the title and numbers counted [`FIELD_BOOST`] times (at
    /// most `u16::MAX`). A query turns it into BM25's term-frequency part
    /// with the document's length class ([`builder::Bm25`]), so an edit
    /// that moves a report's length class changes the file of length
    /// classes, not the postings of every term the report has.
    frequencies: Vec<u16>,
    /// Per document: how many positions, then each as the difference to
    /// the one before. Empty for a phrase term.
    positions: Vec<u8>,
}

fn push_varint(out: &mut Vec<u8>, mut n: u32) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Moves `at` past one document's positions (their count, then each).
fn skip_positions(bytes: &[u8], at: &mut usize) {
    for _ in 0..read_varint(bytes, at) {
        read_varint(bytes, at);
    }
}

fn read_varint(bytes: &[u8], at: &mut usize) -> u32 {
    let mut n = 0u32;
    let mut shift = 0;
    loop {
        let b = bytes[*at];
        *at += 1;
        n |= ((b & 0x7f) as u32) << shift;
        if b < 0x80 {
            return n;
        }
        shift += 7;
    }
}

/// One document of a term's postings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Posting<'a> {
    pub doc: u32,
    /// The weighted frequency ([`TermPostings`]).
    pub frequency: u32,
    /// How many positions, and their encoded differences.
    count: u32,
    encoded: &'a [u8],
}

impl Posting<'_> {
    /// The differences between successive positions (the first from 0).
    pub fn position_deltas(&self) -> impl Iterator<Item = u32> + '_ {
        let mut at = 0;
        (0..self.count).map(move |_| read_varint(self.encoded, &mut at))
    }

    /// The positions, ascending.
    pub fn positions(&self) -> Vec<u32> {
        let mut position = 0;
        self.position_deltas()
            .map(|d| {
                position += d;
                position
            })
            .collect()
    }
}

impl TermPostings {
    /// Adds a document (after every one before) with its positions, or
    /// `None` for a phrase term; returns the bytes added.
    fn push(&mut self, doc: u32, frequency: u32, positions: Option<&[u32]>) -> usize {
        let before = self.docs.len() + self.positions.len();
        let delta = if self.count == 0 {
            doc
        } else {
            doc - self.last_doc
        };
        push_varint(&mut self.docs, delta);
        self.last_doc = doc;
        self.count += 1;
        self.frequencies.push(frequency.min(u16::MAX as u32) as u16);
        if let Some(positions) = positions {
            // A unigram inside a run keeps no positions (see `doc_terms`):
            // a document may then have none, and its count is 0.
            push_varint(&mut self.positions, positions.len() as u32);
            let mut previous = 0;
            for &p in positions {
                push_varint(&mut self.positions, p - previous);
                previous = p;
            }
        }
        self.docs.len() + self.positions.len() - before + 2
    }

    /// Appends the postings of later documents.
    fn append(&mut self, later: TermPostings) {
        if later.count == 0 {
            return;
        }
        // The first document of `later` is stored whole; here it becomes a
        // difference to this list's last.
        let mut at = 0;
        let first = read_varint(&later.docs, &mut at);
        push_varint(
            &mut self.docs,
            if self.count == 0 {
                first
            } else {
                first - self.last_doc
            },
        );
        self.docs.extend_from_slice(&later.docs[at..]);
        self.count += later.count;
        self.last_doc = later.last_doc;
        self.frequencies.extend_from_slice(&later.frequencies);
        self.positions.extend_from_slice(&later.positions);
    }

    /// These postings without the documents numbered `end` and above: the
    /// lists cut where the first of those starts, nothing encoded again.
    fn before(mut self, end: u32) -> TermPostings {
        if self.count == 0 || self.last_doc < end {
            return self;
        }
        let positional = self.has_positions();
        let (mut doc_at, mut pos_at, mut doc, mut kept) = (0, 0, 0u32, 0u32);
        while kept < self.count {
            let mut at = doc_at;
            let next = doc + read_varint(&self.docs, &mut at);
            if next >= end {
                break;
            }
            (doc, doc_at) = (next, at);
            if positional {
                for _ in 0..read_varint(&self.positions, &mut pos_at) {
                    read_varint(&self.positions, &mut pos_at);
                }
            }
            kept += 1;
        }
        self.docs.truncate(doc_at);
        self.frequencies.truncate(kept as usize);
        self.positions.truncate(pos_at);
        self.count = kept;
        self.last_doc = doc;
        self
    }

    /// These postings with document `doc`'s replaced by `entry` (its
    /// frequency and positions), or taken out when `None`. The postings
    /// before and after it are copied as bytes, not decoded and encoded
    /// again (after an edit halfway down a report, thousands of its terms
    /// change, many of them in most documents); only the one after it
    /// gets a new difference.
    fn with_doc(&self, doc: u32, entry: Option<(u32, Option<&[u32]>)>) -> TermPostings {
        let positional = self.has_positions();
        let count = self.count as usize;
        // The first posting at or after `doc`: its index, where its bytes
        // start, and the document before it.
        let (mut index, mut doc_at, mut pos_at, mut previous) = (0, 0, 0, 0u32);
        // That posting's document and where its difference ends.
        let mut next = None;
        while index < count {
            let mut at = doc_at;
            let d = previous + read_varint(&self.docs, &mut at);
            if d >= doc {
                next = Some((d, at));
                break;
            }
            (previous, doc_at) = (d, at);
            if positional {
                skip_positions(&self.positions, &mut pos_at);
            }
            index += 1;
        }
        let mut out = TermPostings {
            count: index as u32,
            docs: self.docs[..doc_at].to_vec(),
            last_doc: previous,
            frequencies: self.frequencies[..index].to_vec(),
            positions: self.positions[..pos_at].to_vec(),
        };
        if let Some((frequency, positions)) = entry {
            out.push(doc, frequency, positions);
        }
        if let Some((mut d, mut at)) = next {
            if d == doc {
                // `doc`'s own posting, left out: the one after it follows.
                if positional {
                    skip_positions(&self.positions, &mut pos_at);
                }
                index += 1;
                if index == count {
                    return out;
                }
                d = doc + read_varint(&self.docs, &mut at);
            }
            push_varint(&mut out.docs, d - out.last_doc);
            out.docs.extend_from_slice(&self.docs[at..]);
            out.frequencies
                .extend_from_slice(&self.frequencies[index..]);
            out.positions.extend_from_slice(&self.positions[pos_at..]);
            out.count += (count - index) as u32;
            out.last_doc = self.last_doc;
        }
        out
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether the term's positions are kept (phrase terms have none).
    pub fn has_positions(&self) -> bool {
        !self.positions.is_empty()
    }

    /// The documents, in order, without walking the positions.
    pub fn doc_numbers(&self) -> impl Iterator<Item = u32> + '_ {
        let (mut at, mut doc) = (0, 0u32);
        (0..self.count).map(move |_| {
            doc += read_varint(&self.docs, &mut at);
            doc
        })
    }

    /// The documents' weighted frequencies, in document order.
    pub fn frequencies(&self) -> impl Iterator<Item = u32> + '_ {
        self.frequencies.iter().map(|&f| u32::from(f))
    }

    /// The documents, in order, with frequencies and positions.
    pub fn iter(&self) -> impl Iterator<Item = Posting<'_>> {
        let (mut doc_at, mut pos_at, mut doc) = (0, 0, 0u32);
        let positional = self.has_positions();
        (0..self.len()).map(move |i| {
            doc += read_varint(&self.docs, &mut doc_at);
            let (count, encoded) = if positional {
                let count = read_varint(&self.positions, &mut pos_at);
                let from = pos_at;
                for _ in 0..count {
                    read_varint(&self.positions, &mut pos_at);
                }
                (count, &self.positions[from..pos_at])
            } else {
                (0, &self.positions[..0])
            };
            Posting {
                doc,
                frequency: self.frequencies[i] as u32,
                count,
                encoded,
            }
        })
    }
}

const K1: f64 = 1.2;
const B: f64 = 0.75;

/// The filters a query can be narrowed by.
pub const FACETS: [&str; 5] = ["topic", "issuer", "year", "type", "validity"];

/// The whole index, in memory.
#[derive(Clone, Debug, Default)]
pub struct SearchIndex {
    /// Oldest first ([`doc_order`]).
    pub docs: Vec<SearchDoc>,
    pub terms: BTreeMap<String, TermPostings>,
}

/// One distinct term of a document: (field, start, end, frequency,
/// positions from, to, packed key or 0, whether it keeps positions — see
/// [`doc_terms`]).
type TermEntry = (u8, u32, u32, u32, u32, u32, u64, bool);

/// A term of a document as the index builder takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TermRef<'a> {
    /// By its packed key ([`char_key`]) and the length of its text, all
    /// the builder needs of the text: reading each term's text, spread
    /// over the report, cost a cache miss per term, two thirds of the time
    /// spent adding the terms to the index.
    Packed { key: u64, len: u32 },
    /// A term without a packed key, by its text.
    Text(&'a str),
}

/// The terms of one document: their text (ranges of the normalised fields,
/// so that no term allocates), weighted frequency and positions. Hundreds
/// of millions of (term, document) pairs pass through here on a large
/// site; an owned string and vector each made allocation most of the build.
pub(crate) struct DocTerms {
    /// The normalised title, numbers and body.
    texts: [String; 3],
    /// Per distinct term: (field, start, end, frequency, positions from,
    /// to, packed key).
    terms: Vec<TermEntry>,
    /// Every term's positions, each term's ascending, one after another.
    positions: Vec<u32>,
    /// Where each partition's terms start in `terms` (sorted by partition).
    partition_starts: Vec<u32>,
}

impl DocTerms {
    /// The terms of one partition ([`builder::partition_of`]), each with
    /// its frequency and its positions (`None` for a phrase term).
    fn partition(&self, number: usize) -> impl Iterator<Item = (&str, u32, Option<&[u32]>)> {
        self.partition_range(number).iter().map(|entry| {
            let &(field, start, end, tf, ..) = entry;
            (
                &self.texts[field as usize][start as usize..end as usize],
                tf,
                self.positions_of(entry),
            )
        })
    }

    fn positions_of(&self, entry: &TermEntry) -> Option<&[u32]> {
        let &(.., from, to, _, positional) = entry;
        positional.then(|| &self.positions[from as usize..to as usize])
    }

    /// [`DocTerms::partition`] as the index builder takes it: a term with
    /// a packed key by that key, its text not read.
    fn partition_keyed(
        &self,
        number: usize,
    ) -> impl Iterator<Item = (TermRef<'_>, u32, Option<&[u32]>)> {
        self.partition_range(number).iter().map(|entry| {
            let &(field, start, end, tf, .., key, _) = entry;
            let term = match key {
                0 => TermRef::Text(&self.texts[field as usize][start as usize..end as usize]),
                key => TermRef::Packed {
                    key,
                    len: end - start,
                },
            };
            (term, tf, self.positions_of(entry))
        })
    }

    fn partition_range(&self, number: usize) -> &[TermEntry] {
        &self.terms
            [self.partition_starts[number] as usize..self.partition_starts[number + 1] as usize]
    }

    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = (&str, u32, Option<&[u32]>)> {
        (0..builder::PARTITIONS).flat_map(|number| self.partition(number))
    }

    /// One term's frequency and positions (for tests).
    #[cfg(test)]
    fn get(&self, term: &str) -> Option<(u32, Option<&[u32]>)> {
        self.iter()
            .find(|(t, ..)| *t == term)
            .map(|(_, tf, p)| (tf, p))
    }
}

/// The terms of one document's title, numbers (文号, 索引号) and body, and
/// its length in tokens.
///
/// Besides the tokenizer's tokens, every run of four CJK characters is a
/// *phrase term* ([`PHRASE_TERM_CHARS`]), counted but without positions,
/// and so is every run of three at the end of a CJK run: a query of four
/// characters (法治政府) then needs one term's documents instead of the
/// positions of all its bigrams, which for common words are most of the
/// index, and one of three (信访件) the documents of the terms that begin
/// with it, which the shards keep together ([`phrase_group`]). A run of
/// three inside a CJK run is the start of one of four, so it needs no term
/// of its own: without them, the term shards of the 10,000-report bench
/// corpus are a quarter smaller, and its clean build a tenth faster.
///
/// A unigram keeps the positions only of its occurrences at either end of
/// a CJK run. A query needs a unigram's position only for a run of one
/// character (a run of two or more is its bigrams, [`tokenize_query`]),
/// and such a run's neighbours in the query are words or gaps, never CJK
/// characters: where the query's text occurs, the character is next to a
/// word or a gap in the document too, so at an end of its run. (A quoted
/// "法，规" so no longer matches 法治规划 across its middle character, as it
/// did when every position was kept: it matches only what contains it.)
/// Most of a Chinese text's unigrams are inside runs; without their
/// positions the index of the 10,000-report bench corpus went from 508 MB
/// to 428 MB.
fn doc_terms(title: &str, numbers: &str, body: &str) -> (DocTerms, u32) {
    let texts = [
        tokenize::normalize(title),
        tokenize::normalize(numbers),
        tokenize::normalize(body),
    ];
    // A term of one to four CJK characters of the Basic Multilingual Plane
    // (nearly every term) is known by its characters packed into one
    // number, 16 bits each, which hashes and compares faster than its text
    // and keeps a report's table of terms small; no character is 0, so
    // lengths cannot collide. Any other term (a word, a character beyond
    // the BMP) is known by its text, with key 0.
    //
    // Every occurrence is gathered first, (field, start, end, weight,
    // position or PHRASE or INSIDE, packed key or 0), and then counted in
    // one tight loop of hash lookups. Measured slower on the bench corpus:
    // counting each occurrence as the scan finds it (a third slower), and
    // this tuple without its weight, 24 bytes instead of 32 (half as slow
    // again). The scan hands each CJK run whole, and its tokens and phrase
    // terms are made from the run's characters in one loop. (Keeping the
    // run's last four keys in one rolling number, instead of reading each
    // character's key up to five times, cost more: 54 M instructions over
    // the 1,000-report corpus. The loop's cost is in pushing the tuples.)
    let bytes = texts.iter().map(String::len).sum::<usize>();
    // Up to four per CJK character (three bytes): room for them all at
    // once, since growing would copy a report's worth.
    let mut occurrences: Vec<Occurrence> = Vec::with_capacity(bytes * 4 / 3 + 4);
    let mut len = 0;
    for (field, offset, last_position, weight) in FIELDS {
        let mut paragraphs = Paragraphs::new(&texts[field as usize], last_position);
        tokenize::scan_pieces(&texts[field as usize], |piece| match piece {
            Piece::Word { start, end, pos } => {
                len += 1;
                let placed = paragraphs.place(start, pos) + offset;
                occurrences.push((field, start as u32, end as u32, weight, placed, 0));
            }
            Piece::Run { chars, pos: first } => {
                let base = paragraphs.place_run(chars[0].0, first, chars.len());
                let run = RunOf {
                    chars,
                    field,
                    weight,
                    base,
                    offset,
                };
                // Nearly every run is of the Basic Multilingual Plane:
                // every term of it then has a packed key, and the loop
                // neither looks at each character's plane nor tracks it
                // (4.4 % fewer instructions in a build of the 1,000-report
                // bench corpus, callgrind).
                len += if chars.iter().all(|c| char_key(c.2) != 0) {
                    run.occurrences::<true>(&paragraphs, &mut occurrences)
                } else {
                    run.occurrences::<false>(&paragraphs, &mut occurrences)
                };
            }
        });
    }
    // Distinct terms, numbered in order of first occurrence. The loop
    // over the occurrences reads and updates only small tables: a term's
    // counts (8 bytes) apart from its entry (40, written once when the
    // term is new), so that the counts of a report's ten thousand terms
    // stay in a core's nearest cache more often. (With the counts in the
    // entries, this function missed that cache 33 million times over the
    // 1,000-report bench corpus, in callgrind's simulation; 23 million
    // now.)
    let mut packed = PACKED_IDS.with_borrow_mut(std::mem::take);
    packed.start();
    let mut index: FxHashMap<&str, u32> = FxHashMap::default();
    // (Most occurrences are of a term new to the report: room for them.)
    let mut table = TermTable::with_capacity(occurrences.len() * 3 / 4);
    for occurrence in &mut occurrences {
        let (field, start, end, weight, pos, key) = *occurrence;
        let entry = (field, start, end, 0, 0, 0, key, pos != PHRASE);
        let id = if key != 0 {
            packed.get_or_insert(key, || table.add(entry))
        } else {
            let text = &texts[field as usize][start as usize..end as usize];
            *index.entry(text).or_insert_with(|| table.add(entry))
        };
        let count = &mut table.counts[id as usize];
        count[0] += weight;
        count[1] += u32::from(pos < INSIDE);
        // Its start is not read again: it becomes its term's number,
        // which the positions are laid out by below (instead of a vector
        // of numbers beside: 1.4 % fewer instructions in that build).
        occurrence.1 = id;
    }
    PACKED_IDS.set(packed);
    drop(index);
    let TermTable {
        terms, mut counts, ..
    } = table;
    // Sorted by partition (a counting sort), each partition's terms one
    // slice, and their positions too: the builder reads a block's
    // documents a partition at a time, so each document's share of a
    // partition is then one run of memory rather than scattered reads.
    let partitions: Vec<u32> = terms
        .iter()
        .map(|&(field, start, end, .., key, _)| match key {
            0 => builder::partition_of(&texts[field as usize][start as usize..end as usize]) as u32,
            key => builder::partition_of_packed(key) as u32,
        })
        .collect();
    let mut partition_starts = vec![0u32; builder::PARTITIONS + 1];
    for &p in &partitions {
        partition_starts[p as usize + 1] += 1;
    }
    for i in 1..partition_starts.len() {
        partition_starts[i] += partition_starts[i - 1];
    }
    // The terms' numbers in that order; the terms are gathered into it
    // (collected, so that the table of terms, larger than a core's cache,
    // is not zeroed first).
    let mut next = partition_starts.clone();
    let mut order = vec![0u32; terms.len()];
    for (id, &p) in partitions.iter().enumerate() {
        order[next[p as usize] as usize] = id as u32;
        next[p as usize] += 1;
    }
    // Lay the positions out term after term, each in ascending order (the
    // fields' offsets keep them ascending across fields); a term's count
    // of positions becomes where its next position goes.
    let mut laid = 0;
    let terms: Vec<TermEntry> = order
        .iter()
        .map(|&id| {
            let [tf, positions] = counts[id as usize];
            let mut term = terms[id as usize];
            term.3 = tf;
            term.4 = laid;
            term.5 = laid + positions;
            counts[id as usize][1] = laid;
            laid += positions;
            term
        })
        .collect();
    let mut positions = vec![0; laid as usize];
    for &(_, id, _, _, pos, _) in &occurrences {
        if pos < INSIDE {
            let at = &mut counts[id as usize][1];
            positions[*at as usize] = pos;
            *at += 1;
        }
    }
    (
        DocTerms {
            texts,
            terms,
            positions,
            partition_starts,
        },
        len,
    )
}

/// One occurrence of a term as [`doc_terms`] gathers them: (field, start,
/// end, weight, position or [`PHRASE`] or [`INSIDE`], packed key or 0).
type Occurrence = (u8, u32, u32, u32, u32, u64);

/// The position of a phrase term's occurrence, which keeps none.
const PHRASE: u32 = u32::MAX;
/// The position of a unigram's occurrence inside its CJK run, which keeps
/// none (see [`doc_terms`]).
const INSIDE: u32 = u32::MAX - 1;

/// A run of CJK characters of one field, as [`doc_terms`] gathers its
/// occurrences.
struct RunOf<'a> {
    /// (byte start, byte end, character).
    chars: &'a [(usize, usize, char)],
    field: u8,
    weight: u32,
    /// The tokenizer's position of the first character, placed
    /// ([`Paragraphs::place_run`]).
    base: i64,
    /// The field's first position.
    offset: u32,
}

impl RunOf<'_> {
    /// Pushes the run's occurrences: each character's unigram and bigram,
    /// then the phrase terms that end with the bigram (three characters at
    /// the end of the run, then four), each keyed by its characters when
    /// all are of the Basic Multilingual Plane, which `BMP` says of every
    /// character of the run. Returns the tokens counted in the field's
    /// length.
    fn occurrences<const BMP: bool>(
        &self,
        paragraphs: &Paragraphs,
        occurrences: &mut Vec<Occurrence>,
    ) -> u32 {
        let RunOf {
            chars,
            field,
            weight,
            base,
            offset,
        } = *self;
        let key = |i: usize| {
            if BMP {
                u64::from(u32::from(chars[i].2))
            } else {
                char_key(chars[i].2)
            }
        };
        let mut len = 0;
        for (i, &(start, end, _)) in chars.iter().enumerate() {
            let placed = paragraphs.clamp(base + i as i64) + offset;
            let inside = i > 0 && i + 1 < chars.len();
            let unigram = key(i);
            let (start, end) = (start as u32, end as u32);
            let pos = if inside { INSIDE } else { placed };
            occurrences.push((field, start, end, weight, pos, unigram));
            len += 1;
            let Some(&(_, end, _)) = chars.get(i + 1) else {
                continue;
            };
            let end = end as u32;
            let mut packed = unigram << 16 | key(i + 1);
            let mut whole = BMP || (unigram != 0 && key(i + 1) != 0);
            occurrences.push((
                field,
                start,
                end,
                weight,
                placed,
                if whole { packed } else { 0 },
            ));
            len += 1;
            for back in 1..LONGEST_PHRASE_TERM - 1 {
                let Some(from) = i.checked_sub(back) else {
                    break;
                };
                let k = key(from);
                packed |= k << (16 * (back + 1));
                whole &= BMP || k != 0;
                if back == 1 && i + 2 < chars.len() {
                    continue;
                }
                let start = chars[from].0 as u32;
                occurrences.push((
                    field,
                    start,
                    end,
                    weight,
                    PHRASE,
                    if whole { packed } else { 0 },
                ));
            }
        }
        len
    }
}

/// The distinct terms of a document as [`doc_terms`] numbers them, in
/// tables apart: the entries, written once each, and what the loop over
/// the occurrences reads and updates.
struct TermTable {
    terms: Vec<TermEntry>,
    /// Per term: its weighted frequency and its number of positions.
    counts: Vec<[u32; 2]>,
}

impl TermTable {
    fn with_capacity(capacity: usize) -> TermTable {
        TermTable {
            terms: Vec::with_capacity(capacity),
            counts: Vec::with_capacity(capacity),
        }
    }

    /// A new term, uncounted, and its number.
    fn add(&mut self, entry: TermEntry) -> u32 {
        self.terms.push(entry);
        self.counts.push([0, 0]);
        self.terms.len() as u32 - 1
    }
}

thread_local! {
    /// The table of packed keys' term numbers [`doc_terms`] uses.
    static PACKED_IDS: std::cell::RefCell<KeyTable> = const { std::cell::RefCell::new(KeyTable::new()) };
}

/// A thread's table of the term numbers of one report's packed keys
/// ([`char_key`]): nearly all the lookups of [`doc_terms`], each a few
/// instructions with no allocation. An open table, its size a power of
/// two, looked through from the key's slot to the next empty one; an entry
/// is of the current report if it has the report's stamp, so the table is
/// never cleared between reports, and it keeps the size of the largest
/// report until the thread ends. (Against a hash map made for each report,
/// as before: 3.7 % fewer instructions in `doc_terms`, 1.3 % fewer in a
/// build of the 1,000-report bench corpus. Single characters went through
/// a direct table of the BMP of their own until this one took them too:
/// 0.3 % more instructions, fewer cache misses, one mechanism.)
#[derive(Default)]
struct KeyTable {
    /// (key, stamp, term number); never empty once `start`ed.
    slots: Vec<(u64, u32, u32)>,
    /// The current report's stamp; 0 marks a slot no report has used.
    stamp: u32,
    /// Entries with the current stamp.
    len: usize,
}

impl KeyTable {
    const fn new() -> KeyTable {
        KeyTable {
            slots: Vec::new(),
            stamp: 0,
            len: 0,
        }
    }

    /// Makes the table the next report's: empty.
    fn start(&mut self) {
        self.len = 0;
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 || self.slots.is_empty() {
            // After four billion reports (or on the first), the stamps
            // start again from a table no report has used.
            let size = self.slots.len().max(1 << 14);
            self.slots = vec![(0, 0, 0); size];
            self.stamp = 1;
        }
    }

    /// The slot a key's search starts at: the top bits of its product with
    /// an odd constant (Fibonacci hashing), which mixes the characters of
    /// the low bits into them.
    fn home(&self, key: u64) -> usize {
        let bits = self.slots.len().trailing_zeros();
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    /// The term number of `key`, or `new()`'s, then kept for it.
    fn get_or_insert(&mut self, key: u64, new: impl FnOnce() -> u32) -> u32 {
        let mask = self.slots.len() - 1;
        let mut at = self.home(key);
        loop {
            let slot = &mut self.slots[at];
            if slot.1 != self.stamp {
                let id = new();
                *slot = (key, self.stamp, id);
                self.len += 1;
                // At most half full, so that a search ends soon.
                if self.len * 2 > self.slots.len() {
                    self.grow();
                }
                return id;
            }
            if slot.0 == key {
                return slot.2;
            }
            at = (at + 1) & mask;
        }
    }

    /// Twice the slots, with the current report's entries.
    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![(0, 0, 0); size]);
        let mask = self.slots.len() - 1;
        for entry in old.into_iter().filter(|entry| entry.1 == self.stamp) {
            let mut at = self.home(entry.0);
            while self.slots[at].1 == self.stamp {
                at = (at + 1) & mask;
            }
            self.slots[at] = entry;
        }
    }
}

/// A CJK character's part of a term's packed key: the character itself,
/// 16 bits, or 0 beyond the Basic Multilingual Plane. A term's packed key
/// is its characters' parts, the first in the highest bits, and 0 (the
/// term is then known by its text) if any part is 0.
fn char_key(c: char) -> u64 {
    let c = u64::from(c);
    if c <= 0xFFFF { c } else { 0 }
}

/// The text of a term known by its packed key ([`char_key`]): its
/// characters, 16 bits each, the first in the highest non-zero bits.
pub(crate) fn unpack_key(key: u64) -> String {
    let mut text = String::with_capacity(12);
    for shift in [48, 32, 16, 0] {
        let c = ((key >> shift) & 0xFFFF) as u32;
        // Never a surrogate: every key was made of characters.
        if let Some(c) = char::from_u32(c).filter(|_| c != 0) {
            text.push(c);
        }
    }
    text
}

/// The lengths, in CJK characters, of the phrase terms, indexed each as
/// one term without positions: every run of four CJK characters of a
/// report, and every run of three that ends a CJK run ([`doc_terms`]).
pub const PHRASE_TERM_CHARS: std::ops::RangeInclusive<usize> = 3..=LONGEST_PHRASE_TERM;
const LONGEST_PHRASE_TERM: usize = 4;
const _: () = assert!(
    LONGEST_PHRASE_TERM <= 4,
    "a packed key holds four characters"
);

/// The phrase term a segment stands for: its tokens are the bigrams of one
/// run of three or four CJK characters. Three are found as the phrase
/// terms that begin with them ([`phrase_group`]).
pub fn phrase_term(tokens: &[Token]) -> Option<String> {
    let bigrams = tokens.len();
    if !(PHRASE_TERM_CHARS.start() - 1..=PHRASE_TERM_CHARS.end() - 1).contains(&bigrams) {
        return None;
    }
    let mut phrase = String::new();
    for (i, token) in tokens.iter().enumerate() {
        let (a, b) = tokenize::cjk_bigram(&token.term)?;
        if token.pos != tokens[0].pos + i as u32 {
            return None;
        }
        if i == 0 {
            phrase.push(a);
        }
        phrase.push(b);
    }
    Some(phrase)
}

/// The text a term is kept with in the shards ([`shards::term_part`]): a
/// phrase term of four CJK characters by its first three, any other term
/// by itself. So the phrase terms that begin with three characters are in
/// one shard with the term of those three (at the end of a CJK run), and a
/// query of three characters reads one shard, as one of four does.
pub fn phrase_group(term: &str) -> &str {
    let mut chars = term.char_indices();
    // Exactly four characters: a fourth, and nothing after it.
    match (chars.nth(LONGEST_PHRASE_TERM - 1), chars.next()) {
        (Some((fourth, _)), None) if term.chars().all(tokenize::is_cjk) => &term[..fourth],
        _ => term,
    }
}

/// The terms that hold a phrase of three CJK characters: its own (where a
/// CJK run ends with it) and those of four that begin with it. Its
/// frequency in a document is theirs added up.
fn phrase_terms_of<'a>(index: &'a SearchIndex, three: &str) -> Vec<&'a str> {
    terms_beginning(index, three)
        .filter(|t| PHRASE_TERM_CHARS.contains(&t.chars().count()))
        .collect()
}

/// Every indexed term that begins with `prefix`, in order.
fn terms_beginning<'a>(index: &'a SearchIndex, prefix: &str) -> impl Iterator<Item = &'a str> {
    index
        .terms
        .range(prefix.to_string()..)
        .map(|(t, _)| t.as_str())
        .take_while(move |t| t.starts_with(prefix))
}

/// The tokens of a phrase that must be verified by position: enough to
/// cover every character of the query, fewest first from the left (for
/// 重大行政决策, 重大 行政 决策 instead of all five bigrams). Exact, since
/// each covering token is checked at its own offset.
pub fn covering_tokens(tokens: &[Token]) -> Vec<&Token> {
    // The last position a token stands on: a CJK bigram two, anything else
    // (a word, a single CJK character) one.
    let last = |t: &Token| t.pos + u32::from(tokenize::cjk_bigram(&t.term).is_some());
    let Some(end) = tokens.iter().map(last).max() else {
        return Vec::new();
    };
    let mut chosen: Vec<&Token> = Vec::new();
    let mut need = tokens[0].pos;
    while need <= end {
        // Of the tokens on the first position not yet covered, the one that
        // reaches furthest.
        match tokens
            .iter()
            .filter(|t| t.pos <= need && last(t) >= need)
            .max_by_key(|t| last(t))
        {
            Some(best) => {
                chosen.push(best);
                need = last(best) + 1;
            }
            // A position no token stands on (a gap in a quoted phrase).
            None => match tokens.iter().map(|t| t.pos).filter(|p| *p > need).min() {
                Some(next) => need = next,
                None => break,
            },
        }
    }
    chosen
}

/// A query segment: tokens that must occur at these relative positions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub tokens: Vec<Token>,
    /// The last word of an unquoted query, matched as a prefix while typing.
    pub prefix: bool,
}

/// Splits a query into segments: each quoted phrase, and each
/// whitespace-separated part of the rest. Segments without tokens (only
/// punctuation) are dropped.
pub fn parse_query(query: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    for (i, part) in query.split('"').enumerate() {
        if i % 2 == 1 {
            segments.push(Segment {
                tokens: tokenize_query(part),
                prefix: false,
            });
        } else {
            for word in part.split_whitespace() {
                segments.push(Segment {
                    tokens: tokenize_query(word),
                    prefix: false,
                });
            }
        }
    }
    segments.retain(|s| !s.tokens.is_empty());
    // Typing "transpar" should already find "transparency".
    let ends_open = !query.trim_end().ends_with('"') && !query.ends_with(char::is_whitespace);
    if ends_open
        && let Some(last) = segments.last_mut()
        && last.tokens.len() == 1
        && is_word_token(&last.tokens[0].term)
    {
        last.prefix = true;
    }
    segments
}

/// Values to narrow a search by: facet → accepted values (any of them).
pub type Filters = BTreeMap<String, BTreeSet<String>>;

impl SearchDoc {
    fn facet_values(&self, facet: &str) -> Vec<String> {
        match facet {
            "topic" => self.topics.clone(),
            "issuer" => (!self.issuer.is_empty())
                .then(|| self.issuer.clone())
                .into_iter()
                .collect(),
            "year" => self.year.map(|y| y.to_string()).into_iter().collect(),
            "type" => self.doc_type.clone().into_iter().collect(),
            "validity" => self.validity.clone().into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

/// The terms a token stands for: itself, or every indexed term it is a
/// prefix of.
fn expand<'a>(index: &'a SearchIndex, token: &Token, prefix: bool) -> Vec<&'a str> {
    if prefix {
        terms_beginning(index, &token.term).collect()
    } else {
        index
            .terms
            .get_key_value(&token.term)
            .map(|(t, _)| t.as_str())
            .into_iter()
            .collect()
    }
}

/// What a report's terms are made from: its title, its numbers (文号 and
/// 索引号) and its text.
#[derive(Clone, PartialEq, Eq)]
struct TermInputs {
    title: String,
    numbers: String,
    text: std::sync::Arc<str>,
}

/// The numbers field of a report's terms: its 文号 and 索引号.
fn numbers(front: &crate::content::FrontMatter) -> String {
    format!(
        "{} {}",
        front.doc_no.as_deref().unwrap_or(""),
        front.index_no.as_deref().unwrap_or("")
    )
}

impl TermInputs {
    /// The inputs of a report, its text shared with the site (for the
    /// live index, which keeps them).
    fn of(site: &Site, id: ReportId) -> io::Result<TermInputs> {
        let r = site.report(id);
        Ok(TermInputs {
            title: r.front.title.clone(),
            numbers: numbers(&r.front),
            text: site.shared_text(r)?,
        })
    }

    /// The inputs of no text: a report added since the last build had
    /// none.
    fn none() -> TermInputs {
        TermInputs {
            title: String::new(),
            numbers: String::new(),
            text: std::sync::Arc::from(""),
        }
    }

    /// Whether the terms of `self` are those of `other`: the same text
    /// is usually the very same string, kept from the last build.
    fn same_as(&self, other: &TermInputs) -> bool {
        self.title == other.title
            && self.numbers == other.numbers
            && (std::sync::Arc::ptr_eq(&self.text, &other.text) || self.text == other.text)
    }

    fn terms(&self) -> (DocTerms, u32) {
        doc_terms(&self.title, &self.numbers, &self.text)
    }
}

/// The row of one report in the document table; `len` is its length in
/// tokens.
fn search_doc(site: &Site, id: ReportId, chinese: bool, len: u32) -> SearchDoc {
    let r = site.report(id);
    let f = &r.front;
    let excerpt = crate::markdown::flat_lead(f.summary.as_deref().unwrap_or(&r.doc.lead), 160);
    SearchDoc {
        path: r.url.encoded().trim_start_matches('/').to_string(),
        title: f.title.clone(),
        date: f.date_published.map(|d| d.date().iso()).unwrap_or_default(),
        issuer: f.issuer.clone().unwrap_or_default(),
        index_no: f.index_no.clone().unwrap_or_default(),
        doc_no: f.doc_no.clone().unwrap_or_default(),
        excerpt,
        len,
        topics: f.topics.clone(),
        year: f
            .date_written
            .map(|d| d.year())
            .or(f.date_published.map(|d| d.year())),
        doc_type: f
            .doc_type
            .map(|t| if chinese { t.chinese() } else { t.english() }.to_string()),
        validity: f
            .validity
            .map(|v| if chinese { v.chinese() } else { v.english() }.to_string()),
    }
}

/// The search document and terms of one report (its text read back or
/// borrowed, not copied).
fn report_terms(site: &Site, id: ReportId, chinese: bool) -> io::Result<(SearchDoc, DocTerms)> {
    let r = site.report(id);
    let (terms, len) = doc_terms(&r.front.title, &numbers(&r.front), &site.text(r)?);
    Ok((search_doc(site, id, chinese, len), terms))
}

/// The reports the index holds, in the order of their document numbers:
/// every report with a page, oldest first. A report published after all
/// the others (the usual way a site grows) takes the next number, so every
/// other report keeps its number, and the build cache re-indexes only the
/// new report ([`KeptIndex::update`]). Sorting by date, newest first, is
/// sorting by document number, highest first.
pub fn doc_order(site: &Site) -> Vec<ReportId> {
    let mut ids = site.reports_by_date();
    ids.reverse();
    ids
}

/// Adds every report with a page to `builder` in [`doc_order`], a block at
/// a time, so that only one block's term tables exist beside the index.
fn fill(builder: &mut IndexBuilder, site: &Site, config: &Config) -> io::Result<()> {
    let chinese = config.language == Language::ZhCn;
    for block in doc_order(site).chunks(BUILD_BLOCK) {
        let per_doc: Vec<(SearchDoc, DocTerms)> = block
            .par_iter()
            .map(|id| report_terms(site, *id, chinese))
            .collect::<io::Result<_>>()?;
        builder.add(per_doc)?;
    }
    Ok(())
}

/// Builds the index of the site's reports and hands its files to `emit` as
/// they are made, in bounded memory: postings beyond
/// the budget (`builder::SPILL_BUDGET`, 64 MB, unless given) go to files in
/// `scratch` (an existing, empty folder; everything stays in memory when
/// `None`) and are read back a
/// partition at a time. Returns the bytes of the index.
pub fn write_index(
    site: &Site,
    config: &Config,
    scratch: Option<(&Path, Option<usize>)>,
    emit: &(dyn Fn(IndexFile) -> io::Result<()> + Sync),
) -> io::Result<u64> {
    let out = shards::Emitter::new(emit);
    let budget = scratch.and_then(|s| s.1).unwrap_or(builder::SPILL_BUDGET);
    let mut builder = IndexBuilder::writing(&out, scratch.map(|s| s.0), budget);
    fill(&mut builder, site, config)?;
    shards::write_files(&mut builder, &shards::Sizes::default(), &out)?;
    Ok(out.bytes())
}

impl SearchIndex {
    /// Builds the whole index of every report with a page, in memory (for
    /// queries in tests and `gazette search-cost`).
    pub fn build(site: &Site, config: &Config) -> SearchIndex {
        let mut builder = IndexBuilder::in_memory();
        fill(&mut builder, site, config)
            .expect("a site generated in memory has its bodies in memory");
        SearchIndex::finish(builder)
    }

    fn finish(mut builder: IndexBuilder) -> SearchIndex {
        let terms = builder
            .finish_partitions(|_, stream| {
                let mut terms = Vec::new();
                while let Some(term) = stream.next_term()? {
                    terms.push(term);
                }
                Ok(terms)
            })
            .expect("an index in memory does no I/O")
            .into_iter()
            .flatten()
            .collect();
        SearchIndex {
            docs: std::mem::take(&mut builder.docs),
            terms,
        }
    }

    /// The index of documents whose terms are counted.
    #[cfg(test)]
    fn assemble(per_doc: Vec<(SearchDoc, DocTerms)>) -> SearchIndex {
        let mut builder = IndexBuilder::in_memory();
        builder
            .add(per_doc)
            .expect("an index in memory does no I/O");
        SearchIndex::finish(builder)
    }

    fn postings(&self, term: &str) -> &TermPostings {
        static EMPTY: TermPostings = TermPostings {
            count: 0,
            docs: Vec::new(),
            last_doc: 0,
            frequencies: Vec::new(),
            positions: Vec::new(),
        };
        self.terms.get(term).unwrap_or(&EMPTY)
    }

    /// The documents matching `query` and `filters`, best first (or newest
    /// first with `by_date`), with their scores.
    pub fn search(&self, query: &str, filters: &Filters, by_date: bool) -> Vec<(u32, f64)> {
        let segments = parse_query(query);
        if segments.is_empty() {
            return Vec::new();
        }
        let bm25 = self.bm25();
        let mut scores: Option<HashMap<u32, f64>> = None;
        for segment in &segments {
            let matched = self.match_segment(segment, &bm25);
            scores = Some(match scores {
                None => matched,
                Some(previous) => previous
                    .into_iter()
                    .filter_map(|(d, s)| matched.get(&d).map(|m| (d, s + m)))
                    .collect(),
            });
        }
        let mut results: Vec<(u32, f64)> = scores.unwrap_or_default().into_iter().collect();
        results.retain(|(d, _)| {
            let doc = &self.docs[*d as usize];
            filters.iter().all(|(facet, accepted)| {
                accepted.is_empty() || doc.facet_values(facet).iter().any(|v| accepted.contains(v))
            })
        });
        // Newest first: the highest document number ([`doc_order`]).
        if by_date {
            results.sort_by_key(|r| std::cmp::Reverse(r.0));
        } else {
            results.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        }
        results
    }

    /// The documents' lengths, oldest first.
    pub fn lens(&self) -> Vec<u32> {
        self.docs.iter().map(|d| d.len).collect()
    }

    /// BM25's term-frequency part of every document and frequency.
    fn bm25(&self) -> Bm25 {
        Bm25::new(&self.lens())
    }

    /// BM25 of one posting of a term found in `df` documents, given its
    /// term-frequency part × 1000 (`weight`).
    fn score(&self, df: usize, weight: u16) -> f64 {
        let n = self.docs.len() as f64;
        let idf = ((n - df as f64 + 0.5) / (df as f64 + 0.5) + 1.0).ln();
        idf * weight as f64 / 1000.0
    }

    /// The documents that contain a phrase of three CJK characters, with
    /// its score in each: the frequencies of the terms that hold it
    /// ([`phrase_terms_of`]) added up.
    fn match_phrase_group(&self, three: &str, bm25: &Bm25) -> HashMap<u32, f64> {
        let mut frequencies: BTreeMap<u32, u32> = BTreeMap::new();
        for term in phrase_terms_of(self, three) {
            for p in self.postings(term).iter() {
                *frequencies.entry(p.doc).or_insert(0) += p.frequency;
            }
        }
        let df = frequencies.len();
        frequencies
            .into_iter()
            .map(|(doc, f)| (doc, self.score(df, bm25.weight(doc, f))))
            .collect()
    }

    /// The documents that contain `segment`, with its score in each.
    fn match_segment(&self, segment: &Segment, bm25: &Bm25) -> HashMap<u32, f64> {
        if let Some(term) = phrase_term(&segment.tokens) {
            if term.chars().count() < LONGEST_PHRASE_TERM {
                return self.match_phrase_group(&term, bm25);
            }
            let single = Segment {
                tokens: vec![Token { term, pos: 0 }],
                prefix: false,
            };
            return self.match_segment(&single, bm25);
        }
        let tokens: Vec<&Token> = if segment.tokens.len() == 1 {
            segment.tokens.iter().collect()
        } else {
            covering_tokens(&segment.tokens)
        };
        let first = tokens[0];
        let mut result: HashMap<u32, f64> = HashMap::new();
        if tokens.len() == 1 && segment.tokens.len() == 1 {
            for term in expand(self, first, segment.prefix) {
                let postings = self.postings(term);
                for p in postings.iter() {
                    let score = self.score(postings.len(), bm25.weight(p.doc, p.frequency));
                    let entry = result.entry(p.doc).or_insert(0.0);
                    *entry = entry.max(score);
                }
            }
            return result;
        }
        // A phrase: every covering token at its position relative to the
        // first.
        let lists: Vec<HashMap<u32, (Posting, Vec<u32>)>> = tokens
            .iter()
            .map(|t| {
                self.postings(&t.term)
                    .iter()
                    .map(|p| (p.doc, (p, p.positions())))
                    .collect()
            })
            .collect();
        let shortest = lists
            .iter()
            .enumerate()
            .min_by_key(|(_, l)| l.len())
            .map(|(i, _)| i)
            .unwrap_or(0);
        for doc in lists[shortest].keys() {
            let postings: Option<Vec<&(Posting, Vec<u32>)>> =
                lists.iter().map(|l| l.get(doc)).collect();
            let Some(postings) = postings else { continue };
            let base = first.pos;
            let found = postings[0].1.iter().any(|&start| {
                tokens
                    .iter()
                    .zip(&postings)
                    .skip(1)
                    .all(|(t, (_, positions))| {
                        positions.binary_search(&(start + t.pos - base)).is_ok()
                    })
            });
            if found {
                let score = tokens
                    .iter()
                    .zip(&postings)
                    .map(|(t, (p, _))| {
                        let weight = bm25.weight(p.doc, p.frequency);
                        self.score(self.postings(&t.term).len(), weight)
                    })
                    .sum();
                result.insert(*doc, score);
            }
        }
        result
    }
}

#[cfg(test)]
mod tests;
