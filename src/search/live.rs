//! The search index kept in memory between `gazette serve`'s rebuilds, so
//! that saving one report re-indexes that report, not the site.
//!
//! [`LiveIndex`] keeps every partition's terms with their frequencies, the
//! files each partition made last time, and the document table. On a
//! rebuild a report whose front matter and rendered text are the very
//! values indexed before (serve's caches hand them on while its file is
//! unchanged) is passed over; for the others it compares the title,
//! numbers and text with what it indexed before and makes the row again;
//! for a report that changed, it tokenizes the old and the new text and
//! replaces the report's postings in just the terms whose entry differs. A
//! partition none of whose terms changed hands on the files it made
//! before; the others are made again, exactly as [`super::write_index`]
//! makes them (the shards hold frequencies: a report's length, which BM25
//! weighs them by, is in the file of length classes). The directories, the
//! length classes and `meta.js` are made anew every time; they are small.
//! A report published after all the others takes the next document number
//! ([`super::doc_order`]) and is indexed the same way, as a report that
//! had no terms. A report published before others, removed
//! or re-dated moves the numbers after it; each of those numbers is
//! indexed again the same way, its old report's terms replaced by its new
//! one's (a number removed gets none). When many numbers moved or many
//! reports changed at once, the whole index is built again.
//!
//! The files are byte-identical to those of a full build; tests check it
//! after every kind of edit.

use std::io;

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use super::builder::IndexBuilder;
use super::shards::{
    Changed, DirEntry, DocTable, Emitter, IndexFile, Place, Sizes, make_shard, plan, plan_entries,
};
use super::{BUILD_BLOCK, DOC_CHUNK, DocTerms, SearchDoc, TermInputs, TermPostings, search_doc};
use crate::config::{Config, Language};
use crate::paths::UrlPath;
use crate::site::{Report, ReportId, SharedValues, Site};

/// One indexed report.
struct LiveDoc {
    /// What its terms were made from.
    inputs: TermInputs,
    len: u32,
    /// The report's front matter and rendered text, and its page, as last
    /// indexed: the same values give the same terms and row, so a report
    /// that still has them is not looked at again.
    seen: (SharedValues, UrlPath),
}

impl LiveDoc {
    fn seen(report: &Report) -> (SharedValues, UrlPath) {
        (SharedValues::of(report), report.url.clone())
    }

    /// Whether `report` is, value for value, the one indexed last.
    fn is(&self, report: &Report) -> bool {
        let (values, url) = &self.seen;
        values.are_of(report) && *url == report.url
    }
}

/// One partition's terms and, unless a term changed since, the files it
/// made and their directory entries.
#[derive(Default)]
pub(super) struct LivePartition {
    pub terms: FxHashMap<String, TermPostings>,
    pub made: Option<(Vec<IndexFile>, Vec<DirEntry>)>,
    /// The shards it made last: when the partition is made again, a
    /// shard in the same place none of whose terms changed is handed on
    /// ([`Changed`]; a save touches a few terms of a partition's
    /// thousands).
    shards: Vec<LiveShard>,
    /// Terms whose postings changed since the shards were made.
    pub changed: FxHashSet<String>,
}

impl LivePartition {
    pub fn new(terms: FxHashMap<String, TermPostings>) -> LivePartition {
        LivePartition {
            terms,
            ..LivePartition::default()
        }
    }

    /// Notes that `term`'s postings changed since the shards were made.
    pub fn mark_changed(&mut self, term: &str) {
        if !self.changed.contains(term) {
            self.changed.insert(term.to_string());
        }
    }
}

/// One shard made: where it is in the partition's layout, its files, and
/// the names of its term and position shard.
#[derive(Clone)]
pub(super) struct LiveShard {
    pub keys: Vec<String>,
    pub part: Option<(usize, usize)>,
    pub files: Vec<IndexFile>,
    pub names: [String; 2],
}

impl LiveShard {
    pub fn place(&self) -> Place<'_> {
        (&self.keys, self.part)
    }
}

/// The search index of the last build, kept up to date by
/// [`LiveIndex::update`].
#[derive(Default)]
pub struct LiveIndex {
    docs: Vec<LiveDoc>,
    /// The document table, a row per report of `docs`.
    rows: Vec<SearchDoc>,
    /// The language the rows were made in.
    chinese: bool,
    partitions: Vec<LivePartition>,
    /// The file of each chunk of [`DOC_CHUNK`] rows.
    chunk_files: Vec<IndexFile>,
    /// Reports indexed again by the last update (all of them when it
    /// started afresh).
    pub indexed_last: usize,
}

impl LiveIndex {
    /// Brings the index up to date with `site`, handing every file of it
    /// to `emit`; returns their bytes. After an error the next update
    /// starts afresh.
    pub fn update(
        &mut self,
        site: &Site,
        config: &Config,
        emit: &(dyn Fn(IndexFile) -> io::Result<()> + Sync),
    ) -> io::Result<u64> {
        let result = self.try_update(site, config, emit);
        if result.is_err() {
            *self = LiveIndex::default();
        }
        result
    }

    fn try_update(
        &mut self,
        site: &Site,
        config: &Config,
        emit: &(dyn Fn(IndexFile) -> io::Result<()> + Sync),
    ) -> io::Result<u64> {
        let chinese = config.language == Language::ZhCn;
        let ids = super::doc_order(site);
        // The reports indexed last keep their numbers up to the first one
        // whose number now holds another report (or none): reports
        // published after all of them take the next numbers, and one
        // published on the same day or removed moves only the numbers
        // after it, which are indexed again as changed reports.
        let known = self.docs.len();
        let aligned = !self.partitions.is_empty() && self.chinese == chinese;
        // Each report's terms' inputs and row (its length still to come),
        // unless it is the very report indexed in its place last time.
        let made = |id: ReportId| -> io::Result<(TermInputs, SearchDoc)> {
            Ok((TermInputs::of(site, id)?, search_doc(site, id, chinese, 0)))
        };
        let fresh: Vec<Option<(TermInputs, SearchDoc)>> = ids
            .par_iter()
            .enumerate()
            .map(|(i, id)| {
                if aligned && self.docs.get(i).is_some_and(|d| d.is(site.report(*id))) {
                    Ok(None)
                } else {
                    made(*id).map(Some)
                }
            })
            .collect::<io::Result<_>>()?;
        let changed: Vec<bool> = if aligned {
            fresh
                .iter()
                .enumerate()
                .map(|(i, fresh)| match self.docs.get(i) {
                    Some(doc) => fresh
                        .as_ref()
                        .is_some_and(|(inputs, _)| !doc.inputs.same_as(inputs)),
                    None => true,
                })
                .collect()
        } else {
            Vec::new()
        };
        // Replacing a report rewrites the postings of its common terms,
        // which hold most reports: past a few, starting afresh is faster.
        let removed = known.saturating_sub(ids.len());
        let few = changed.iter().filter(|c| **c).count() + removed <= (ids.len() / 16).max(32);
        // The chunks of rows to be made again.
        let mut dirty = vec![false; ids.len().div_ceil(DOC_CHUNK)];
        if aligned && few {
            self.indexed_last = 0;
            // The numbers removed lose their terms.
            for doc in ids.len()..known {
                self.replace(doc as u32, TermInputs::none());
                self.indexed_last += 1;
            }
            self.docs.truncate(ids.len());
            self.rows.truncate(ids.len());
            if removed > 0
                && let Some(last) = dirty.last_mut()
            {
                *last = true;
            }
            // The added reports, as documents without terms yet.
            for id in ids.iter().skip(known) {
                self.docs.push(LiveDoc {
                    inputs: TermInputs::none(),
                    len: 0,
                    seen: LiveDoc::seen(site.report(*id)),
                });
                self.rows.push(SearchDoc::default());
            }
            for (doc, (fresh, changed)) in fresh.into_iter().zip(changed).enumerate() {
                let Some((inputs, row)) = fresh else {
                    continue;
                };
                if changed {
                    self.replace(doc as u32, inputs);
                    self.indexed_last += 1;
                } else {
                    self.docs[doc].inputs = inputs;
                }
                let live = &mut self.docs[doc];
                live.seen = LiveDoc::seen(site.report(ids[doc]));
                let row = SearchDoc {
                    len: live.len,
                    ..row
                };
                if row != self.rows[doc] {
                    self.rows[doc] = row;
                    dirty[doc / DOC_CHUNK] = true;
                }
            }
        } else {
            let all: Vec<(TermInputs, SearchDoc)> = ids
                .par_iter()
                .zip(fresh)
                .map(|(id, fresh)| fresh.map_or_else(|| made(*id), Ok))
                .collect::<io::Result<_>>()?;
            let seen = ids
                .iter()
                .map(|id| LiveDoc::seen(site.report(*id)))
                .collect();
            self.rebuild(seen, all);
            self.chinese = chinese;
            self.indexed_last = self.docs.len();
            self.chunk_files.clear();
        }

        let lens: Vec<u32> = self.docs.iter().map(|d| d.len).collect();
        let sizes = Sizes::default();
        self.partitions
            .par_iter_mut()
            .filter(|p| p.made.is_none())
            .for_each(|p| {
                let (made, shards) = make(&p.terms, sizes, Some((&p.shards, &p.changed)));
                p.made = Some(made);
                p.shards = shards;
                p.changed.clear();
            });

        let out = Emitter::new(emit);
        for partition in &self.partitions {
            let (files, _) = partition.made.as_ref().expect("every partition is made");
            for file in files {
                out.put(file.clone())?;
            }
        }
        let entries = self.partitions.iter().flat_map(|partition| {
            let (_, entries) = partition.made.as_ref().expect("every partition is made");
            entries
        });
        // A chunk of rows none of which changed is handed on as it was made.
        let mut table = DocTable::new();
        self.chunk_files.truncate(dirty.len());
        for (i, docs) in self.rows.chunks(DOC_CHUNK).enumerate() {
            if i == self.chunk_files.len() {
                self.chunk_files.push(DocTable::chunk_file(docs));
            } else if dirty[i] {
                self.chunk_files[i] = DocTable::chunk_file(docs);
            }
            table.push_chunk(docs, self.chunk_files[i].clone(), &out)?;
        }
        table.finish(&lens, entries, &out)?;
        Ok(out.bytes())
    }

    /// Indexes every report afresh: `seen` and `inputs` of each, in
    /// document order, with its row.
    fn rebuild(
        &mut self,
        seen: Vec<(SharedValues, UrlPath)>,
        inputs: Vec<(TermInputs, SearchDoc)>,
    ) {
        let mut builder = IndexBuilder::in_memory();
        let mut docs = Vec::with_capacity(inputs.len());
        let mut rows = Vec::with_capacity(inputs.len());
        let mut seen = seen.into_iter();
        let mut inputs = inputs.into_iter();
        loop {
            let block: Vec<(TermInputs, SearchDoc)> = inputs.by_ref().take(BUILD_BLOCK).collect();
            if block.is_empty() {
                break;
            }
            let per_doc: Vec<_> = block
                .par_iter()
                .map(|(inputs, _)| {
                    let (terms, len) = inputs.terms();
                    // The builder needs the length only; the rows are below.
                    (
                        SearchDoc {
                            len,
                            ..SearchDoc::default()
                        },
                        terms,
                    )
                })
                .collect();
            for ((inputs, row), (doc, _)) in block.into_iter().zip(&per_doc) {
                docs.push(LiveDoc {
                    inputs,
                    len: doc.len,
                    seen: seen.next().expect("one per report"),
                });
                rows.push(SearchDoc {
                    len: doc.len,
                    ..row
                });
            }
            builder
                .add(per_doc)
                .expect("an index in memory does no I/O");
        }
        let terms = builder.into_terms();
        self.docs = docs;
        self.rows = rows;
        self.partitions = terms.into_iter().map(LivePartition::new).collect();
    }

    /// Re-indexes document `doc` from its new `inputs`: its postings are
    /// replaced in each term whose entry changed, and the partitions of
    /// those terms made again.
    fn replace(&mut self, doc: u32, inputs: TermInputs) {
        let live = &mut self.docs[doc as usize];
        let (old, _) = live.inputs.terms();
        let (new, new_len) = inputs.terms();
        live.inputs = inputs;
        live.len = new_len;
        self.partitions
            .par_iter_mut()
            .enumerate()
            .for_each(|(number, partition)| {
                if replace_in(partition, number, doc, &old, &new) {
                    partition.made = None;
                }
            });
    }
}

/// Replaces document `doc`'s entries of partition `number`, `old` by
/// `new`; returns whether any term changed.
pub(super) fn replace_in(
    partition: &mut LivePartition,
    number: usize,
    doc: u32,
    old: &DocTerms,
    new: &DocTerms,
) -> bool {
    let before: FxHashMap<&str, (u32, Option<&[u32]>)> = old
        .partition(number)
        .map(|(term, tf, positions)| (term, (tf, positions)))
        .collect();
    let mut changed = false;
    // Terms of the old text that the new one has too.
    let mut kept = 0;
    for (term, tf, positions) in new.partition(number) {
        if let Some(entry) = before.get(term) {
            kept += 1;
            if *entry == (tf, positions) {
                continue;
            }
        }
        changed = true;
        partition.mark_changed(term);
        let postings = partition.terms.entry(term.to_string()).or_default();
        if postings.is_empty() || doc > postings.last_doc {
            // A report added after all the others: its entry goes last.
            postings.push(doc, tf, positions);
        } else {
            *postings = postings.with_doc(doc, Some((tf, positions)));
        }
    }
    if kept < before.len() {
        changed = true;
        let after: FxHashSet<&str> = new.partition(number).map(|(term, ..)| term).collect();
        for (term, ..) in old.partition(number) {
            if after.contains(term) {
                continue;
            }
            partition.mark_changed(term);
            if let Some(postings) = partition.terms.get_mut(term) {
                let rest = postings.with_doc(doc, None);
                if rest.is_empty() {
                    partition.terms.remove(term);
                } else {
                    *postings = rest;
                }
            }
        }
    }
    changed
}

/// A partition's terms, sorted.
pub(super) fn sorted_terms(terms: &FxHashMap<String, TermPostings>) -> Vec<(&str, &TermPostings)> {
    let mut sorted: Vec<(&str, &TermPostings)> =
        terms.iter().map(|(t, p)| (t.as_str(), p)).collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    sorted
}

/// The files of one partition and its directory entries, as
/// [`super::shards::write_files`] makes them, and what each shard made.
/// With `last`, the shards made last time and the terms changed since, a
/// shard none of whose terms changed is handed on.
pub(super) fn make(
    terms: &FxHashMap<String, TermPostings>,
    sizes: Sizes,
    last: Option<(&[LiveShard], &FxHashSet<String>)>,
) -> ((Vec<IndexFile>, Vec<DirEntry>), Vec<LiveShard>) {
    let sorted = sorted_terms(terms);
    let planned = plan(&sorted, sizes);
    let (last, changed) = match last {
        Some((last, changed)) => (last, Changed::new(changed)),
        None => (&[][..], Changed::new([])),
    };
    let kept: FxHashMap<Place, &LiveShard> = last.iter().map(|s| (s.place(), s)).collect();
    let made: Vec<LiveShard> = planned
        .iter()
        .map(|shard| match kept.get(&shard.place()) {
            Some(kept) if !changed.in_shard(shard) => (*kept).clone(),
            _ => {
                let (files, names) = make_shard(shard, &sorted, sizes);
                LiveShard {
                    keys: shard.keys.clone(),
                    part: shard.part,
                    files,
                    names,
                }
            }
        })
        .collect();
    let entries = plan_entries(&planned, made.iter().map(|shard| &shard.names));
    let files = made
        .iter()
        .flat_map(|shard| shard.files.iter().cloned())
        .collect();
    ((files, entries), made)
}
