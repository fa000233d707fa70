//! The search index kept in memory between `gazette serve`'s rebuilds, so
//! that saving one report re-indexes that report, not the site.
//!
//! [`LiveIndex`] keeps every partition's terms with their frequencies, and
//! the files each partition made last time. On a rebuild it compares each
//! report's title, numbers and text with what it indexed before (the text
//! is usually the very string indexed before, shared with serve's caches);
//! for a report that changed, it tokenizes the old and the new text and
//! replaces the report's postings in just the terms whose entry differs. A
//! partition none of whose terms changed hands on the files it made
//! before; the others are made again, exactly as [`super::write_index`]
//! makes them (BM25 sees lengths by class, [`super::builder::length_class`],
//! so a small edit rarely changes the weights of the report's other
//! terms). The directories and `meta.js` are made anew every time; they
//! are small. When reports were added, removed or reordered (document
//! numbers move), or many changed at once, the whole index is built again.
//!
//! The files are byte-identical to those of a full build; tests check it
//! after every kind of edit.

use std::borrow::Cow;
use std::io;

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use super::builder::{IndexBuilder, avg_class, avg_len, bm25_weights, length_class};
use super::shards::{DirEntry, DocTable, Emitter, IndexFile, Sizes, write_partition};
use super::{BUILD_BLOCK, DOC_CHUNK, DocTerms, SearchDoc, TermInputs, TermPostings, search_doc};
use crate::config::{Config, Language};
use crate::site::Site;

/// One indexed report.
struct LiveDoc {
    /// Its page, which identifies it from build to build.
    path: String,
    /// What its terms were made from.
    inputs: TermInputs,
    len: u32,
}

/// One partition's terms (weights still frequencies) and, unless a term
/// changed since, the files it made and their directory entries.
#[derive(Default)]
pub(super) struct LivePartition {
    pub terms: FxHashMap<String, TermPostings>,
    pub made: Option<(Vec<IndexFile>, Vec<DirEntry>)>,
}

/// The search index of the last build, kept up to date by
/// [`LiveIndex::update`].
#[derive(Default)]
pub struct LiveIndex {
    docs: Vec<LiveDoc>,
    partitions: Vec<LivePartition>,
    /// The average length's class the partitions' files were made with.
    avg: f64,
    /// The document table's chunks of rows, and their files.
    chunks: Vec<(Vec<SearchDoc>, IndexFile)>,
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
        let ids = site.reports_by_date();
        let inputs: Vec<TermInputs> = ids
            .par_iter()
            .map(|id| TermInputs::of(site, *id))
            .collect::<io::Result<_>>()?;
        // The rows of the document table; their lengths come below.
        let mut rows: Vec<SearchDoc> = ids
            .par_iter()
            .map(|id| search_doc(site, *id, chinese, 0))
            .collect();
        let same_reports = !self.partitions.is_empty()
            && self.docs.len() == rows.len()
            && self.docs.iter().zip(&rows).all(|(d, r)| d.path == r.path);
        let changed: Vec<bool> = if same_reports {
            self.docs
                .par_iter()
                .zip(&inputs)
                .map(|(doc, inputs)| !doc.inputs.same_as(inputs))
                .collect()
        } else {
            Vec::new()
        };
        // Replacing a report rewrites the postings of its common terms,
        // which hold most reports: past a few, starting afresh is faster.
        let few = changed.iter().filter(|c| **c).count() <= (rows.len() / 16).max(32);
        if same_reports && few {
            self.indexed_last = 0;
            for (doc, (inputs, changed)) in inputs.into_iter().zip(changed).enumerate() {
                if changed {
                    self.replace(doc as u32, inputs);
                    self.indexed_last += 1;
                }
            }
        } else {
            let paths = rows.iter().map(|r| r.path.clone()).collect();
            self.rebuild(paths, inputs);
            self.indexed_last = self.docs.len();
        }

        let lens: Vec<u32> = self.docs.iter().map(|d| d.len).collect();
        let avg = avg_class(&lens);
        if avg != self.avg {
            for partition in &mut self.partitions {
                partition.made = None;
            }
            self.avg = avg;
        }
        let sizes = Sizes::default();
        self.partitions
            .par_iter_mut()
            .filter(|p| p.made.is_none())
            .try_for_each(|p| -> io::Result<()> {
                p.made = Some(make(&p.terms, &lens, avg, sizes)?);
                Ok(())
            })?;

        let out = Emitter::new(emit);
        let mut entries = Vec::new();
        for partition in &self.partitions {
            let (files, made) = partition.made.as_ref().expect("every partition is made");
            for file in files {
                out.put(file.clone())?;
            }
            entries.extend(made.iter().cloned());
        }
        for (row, doc) in rows.iter_mut().zip(&self.docs) {
            row.len = doc.len;
        }
        // A chunk of rows as it was is handed on as it was made.
        let mut table = DocTable::new();
        let mut chunks = Vec::with_capacity(rows.len().div_ceil(DOC_CHUNK));
        for (i, docs) in rows.chunks(DOC_CHUNK).enumerate() {
            let file = match self.chunks.get(i) {
                Some((was, file)) if was.as_slice() == docs => file.clone(),
                _ => DocTable::chunk_file(docs),
            };
            table.push_chunk(docs, file.clone(), &out)?;
            chunks.push((docs.to_vec(), file));
        }
        self.chunks = chunks;
        table.finish(avg_len(&lens), entries, &out)?;
        Ok(out.bytes())
    }

    /// Indexes every report afresh.
    fn rebuild(&mut self, paths: Vec<String>, inputs: Vec<TermInputs>) {
        let mut builder = IndexBuilder::in_memory();
        let mut docs = Vec::with_capacity(paths.len());
        for (block, block_paths) in inputs.chunks(BUILD_BLOCK).zip(paths.chunks(BUILD_BLOCK)) {
            let per_doc: Vec<_> = block
                .par_iter()
                .map(|inputs| {
                    let (terms, len) = inputs.terms();
                    // The rows are made from the site when the files are.
                    (
                        SearchDoc {
                            len,
                            ..SearchDoc::default()
                        },
                        terms,
                    )
                })
                .collect();
            for (inputs, ((doc, _), path)) in block.iter().zip(per_doc.iter().zip(block_paths)) {
                docs.push(LiveDoc {
                    path: path.clone(),
                    inputs: inputs.clone(),
                    len: doc.len,
                });
            }
            builder
                .add(per_doc)
                .expect("an index in memory does no I/O");
        }
        let terms = builder.into_terms();
        self.docs = docs;
        self.partitions = terms
            .into_iter()
            .map(|terms| LivePartition { terms, made: None })
            .collect();
    }

    /// Re-indexes document `doc` from its new `inputs`: its postings are
    /// replaced in each term whose entry changed, and the partitions of
    /// those terms made again (all of the report's partitions when its
    /// length class changed, since all its weights did).
    fn replace(&mut self, doc: u32, inputs: TermInputs) {
        let live = &mut self.docs[doc as usize];
        let (old, old_len) = live.inputs.terms();
        let (new, new_len) = inputs.terms();
        live.inputs = inputs;
        live.len = new_len;
        let reweigh = length_class(old_len as u64) != length_class(new_len as u64);
        self.partitions
            .par_iter_mut()
            .enumerate()
            .for_each(|(number, partition)| {
                if replace_in(partition, number, doc, &old, &new)
                    || reweigh && touches(&old, &new, number)
                {
                    partition.made = None;
                }
            });
    }
}

/// Whether either term table has a term in partition `number`.
pub(super) fn touches(old: &DocTerms, new: &DocTerms, number: usize) -> bool {
    old.partition(number).next().is_some() || new.partition(number).next().is_some()
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
    let before: FxHashMap<&str, (u32, &[u32])> = old
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
        let postings = partition.terms.entry(term.to_string()).or_default();
        *postings = postings.with_doc(doc, Some((tf, positions)));
    }
    if kept < before.len() {
        changed = true;
        let after: FxHashSet<&str> = new.partition(number).map(|(term, ..)| term).collect();
        for (term, ..) in old.partition(number) {
            if after.contains(term) {
                continue;
            }
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

/// The files of one partition and its directory entries, as
/// [`super::shards::write_files`] makes them.
pub(super) fn make(
    terms: &FxHashMap<String, TermPostings>,
    lens: &[u32],
    avg: f64,
    sizes: Sizes,
) -> io::Result<(Vec<IndexFile>, Vec<DirEntry>)> {
    let mut sorted: Vec<(&str, &TermPostings)> =
        terms.iter().map(|(t, p)| (t.as_str(), p)).collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut files = Vec::new();
    let mut emit = |file: IndexFile| {
        files.push(file);
        Ok(())
    };
    let weigh = |postings: &TermPostings| {
        Cow::Owned(TermPostings {
            weights: bm25_weights(postings, lens, avg),
            ..postings.clone()
        })
    };
    let entries = write_partition(&sorted, sizes, weigh, &mut emit)?;
    Ok((files, entries))
}
