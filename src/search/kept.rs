//! The search index as the build cache on disk keeps it
//! (`ROOT/.gazette-cache/search/`), so that `gazette build` after a small
//! edit re-indexes the reports that changed, not the site.
//!
//! A full build with the cache writes, besides the index files, each
//! partition's terms with their frequencies (`TermsWriter`, the
//! spill format) and notes what each partition made: each shard's keys
//! and files, and the directory entries. It also notes every report's
//! title, numbers, the hash of its Markdown and where its text is in the
//! cache's body store.
//!
//! The next build compares each report with that. For a changed report it
//! reads the old text back from the body store, tokenizes the old and the
//! new text, finds the partitions where the report's terms differ, reads
//! just those partitions' terms, replaces the report's postings there as
//! [`super::LiveIndex`] does, writes their terms files again, and makes
//! again those partitions' shards that hold a term whose postings
//! changed; every other shard's files are kept as the output folder holds
//! them, as are every other partition's. (The shards hold frequencies, not
//! BM25 weights: a report whose length class moved changes the file of
//! length classes, not its terms.) The document table, the length
//! classes, the directories and `meta.js` are made anew (small, and
//! written only where their bytes changed).
//!
//! A report published after all the others takes the next document number
//! ([`super::doc_order`]) and is indexed the same way, as a report that had
//! no terms. One report touches nearly every partition, so a partition
//! changed only by such reports keeps its terms file and gets a small file
//! of theirs beside it, read after it (`read_partition`); its `base` is
//! the first number not in its terms file.
//!
//! A report published before others (the second of a day, numbered by
//! title), withdrawn or re-dated moves the numbers after it: from the
//! first number that holds another report on, every number is indexed
//! again, its old report's terms out and its new one's in. Where those
//! numbers are all in the small files (reports published since the terms
//! file was written), the small files are cut at that number and written
//! as one with the new terms; where the terms file holds some, it is
//! written whole again as it is read, each term's postings cut at that
//! number and the new ones appended (`SortedTerms::of_files_cut`), never
//! all in memory. When many reports changed, the whole index is built
//! again (and kept again).
//!
//! What a build keeps is written under names of its own (its partitions'
//! files carry the build's generation) and made the cache's by one rename
//! of `index.bin`, so a failed or killed build leaves the last good index.
//! The files are byte-identical to a full build's; the tests check it
//! after every kind of edit.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use super::builder::{
    IndexBuilder, PARTITIONS, PartitionStream, SortedTerms, TermsWriter, key_postings_of,
};
use super::live::{LivePartition, replace_in, sorted_terms};
use super::shards::{
    self, Changed, DirEntry, DocTable, Emitter, IndexFile, KeepFile, MadePartition, MadeShard,
    Place, Sizes,
};
use super::{
    BUILD_BLOCK, DOC_CHUNK, DocTerms, SearchDoc, TermPostings, doc_terms, numbers, report_terms,
    search_doc,
};
use crate::bodies::BodyRef;
use crate::config::{Config, Language};
use crate::site::{ReportId, Site};

/// One indexed report as the cache notes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct KeptDoc {
    /// Its page, which identifies it from build to build.
    path: String,
    title: String,
    numbers: String,
    /// The hash of its Markdown, and where its text is in the body store.
    source: Option<u64>,
    text_at: Option<BodyRef>,
    len: u32,
}

/// What one partition made, and the files of its terms.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct KeptPartition {
    /// The file of its terms in the cache's search folder: the terms of
    /// the documents numbered below `base`.
    terms: String,
    base: u32,
    /// Files of the terms of reports published since (numbered `base` and
    /// above), each later documents' than the one before
    /// ([`read_partition`]).
    appended: Vec<String>,
    /// What each of its shards made.
    shards: Vec<MadeShard>,
    entries: Vec<DirEntry>,
}

/// The index of the last build, as the cache keeps it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct KeptIndex {
    /// The build that made it (its token, and its terms files'
    /// generation): it describes that build's output folder only.
    pub generation: u64,
    docs: Vec<KeptDoc>,
    partitions: Vec<KeptPartition>,
    /// Reports indexed again by the build that made this (all of them
    /// when it started afresh).
    #[serde(skip)]
    pub indexed_last: usize,
}

/// The index files go to `emit`; the files kept as the output folder holds
/// them are named to `keep`.
pub struct Outputs<'a> {
    pub emit: &'a (dyn Fn(IndexFile) -> io::Result<()> + Sync),
    pub keep: &'a KeepFile<'a>,
}

impl KeptIndex {
    /// The index kept in the search folder `dir`, if any can be read.
    pub fn load(dir: &Path) -> Option<KeptIndex> {
        let bytes = fs::read(dir.join("index.bin")).ok()?;
        let index: KeptIndex = postcard::from_bytes(&bytes).ok()?;
        (index.partitions.len() == PARTITIONS).then_some(index)
    }

    /// Writes the index (whose partitions' terms are already in `dir`)
    /// beside the last one; [`KeptIndex::commit`] makes it the cache's.
    pub fn stage(&self, dir: &Path) -> io::Result<()> {
        crate::disk_cache::write_serialized(&dir.join("index.tmp"), self)
    }

    /// Makes the staged index the cache's, and removes the terms files
    /// no longer used.
    pub fn commit(&self, dir: &Path) -> io::Result<()> {
        crate::disk_cache::put_in_place(&dir.join("index.tmp"), &dir.join("index.bin"))?;
        let used: std::collections::HashSet<&str> = self
            .partitions
            .iter()
            .flat_map(|p| std::iter::once(&p.terms).chain(&p.appended))
            .map(String::as_str)
            .collect();
        for entry in fs::read_dir(dir)?.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".terms") && !used.contains(name.as_ref()) {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    /// Builds the whole index, its postings spilled to `scratch` above
    /// `budget`, handing its files to `emit` and keeping its terms in the
    /// search folder `dir` under names of `generation`. Returns the bytes
    /// of the index.
    pub fn build(
        site: &Site,
        config: &Config,
        (scratch, budget): (&Path, Option<usize>),
        dir: &Path,
        generation: u64,
        emit: &(dyn Fn(IndexFile) -> io::Result<()> + Sync),
    ) -> io::Result<(u64, KeptIndex)> {
        fs::create_dir_all(dir)?;
        let out = Emitter::new(emit);
        let budget = budget.unwrap_or(super::builder::SPILL_BUDGET);
        let mut builder = IndexBuilder::writing(&out, Some(scratch), budget);
        let chinese = config.language == Language::ZhCn;
        let ids = super::doc_order(site);
        let mut docs = Vec::with_capacity(ids.len());
        for block in ids.chunks(BUILD_BLOCK) {
            let per_doc: Vec<(SearchDoc, DocTerms, KeptDoc)> = block
                .par_iter()
                .map(|id| {
                    let (row, terms) = report_terms(site, *id, chinese)?;
                    let kept = KeptDoc {
                        len: row.len,
                        ..kept_doc(site, *id)
                    };
                    Ok((row, terms, kept))
                })
                .collect::<io::Result<_>>()?;
            let mut block_docs = Vec::with_capacity(per_doc.len());
            for (row, terms, kept) in per_doc {
                block_docs.push((row, terms));
                docs.push(kept);
            }
            builder.add(block_docs)?;
        }
        let name = |number: usize| terms_file(number, generation);
        let path = |number: usize| dir.join(name(number));
        let made = shards::write_files_keeping(&mut builder, &Sizes::default(), &out, Some(&path))?;
        let partitions = made
            .into_iter()
            .enumerate()
            .map(|(number, (shards, entries))| KeptPartition {
                terms: name(number),
                base: docs.len() as u32,
                appended: Vec::new(),
                shards,
                entries,
            })
            .collect();
        let indexed_last = docs.len();
        Ok((
            out.bytes(),
            KeptIndex {
                generation,
                docs,
                partitions,
                indexed_last,
            },
        ))
    }

    /// Brings the index up to date with `site` by re-indexing only the
    /// reports that changed, when it can (see the module's doc): hands
    /// every file of the index to `outputs` and returns their bytes.
    /// `None` when the whole index must be built again. A partition whose
    /// terms files are larger than half of `budget` (the spill budget,
    /// unless given) is remade alone.
    pub fn update(
        &mut self,
        site: &Site,
        config: &Config,
        (dir, budget): (&Path, Option<usize>),
        generation: u64,
        outputs: &Outputs,
    ) -> io::Result<Option<u64>> {
        let chinese = config.language == Language::ZhCn;
        let ids = super::doc_order(site);
        let now: Vec<KeptDoc> = ids.par_iter().map(|id| kept_doc(site, *id)).collect();
        // The reports indexed last keep their numbers up to the first one
        // whose number now holds another report (or none): reports
        // published after all of them take the next numbers, and one
        // published on the same day or removed moves only the numbers
        // after it. From there on, every number is indexed again (its old
        // report's terms out, its new one's in).
        let kept = self.docs.len();
        if self.partitions.len() != PARTITIONS {
            return Ok(None);
        }
        let moved_from = self
            .docs
            .iter()
            .zip(&now)
            .position(|(was, is)| was.path != is.path)
            .unwrap_or(kept.min(now.len()));
        let changed: Vec<usize> = (0..kept.max(now.len()))
            .filter(|&i| {
                if i >= moved_from {
                    return true;
                }
                let (was, is) = (&self.docs[i], &now[i]);
                was.title != is.title
                    || was.numbers != is.numbers
                    || was.source.is_none()
                    || was.source != is.source
            })
            .collect();
        if changed.len() > (now.len() / 16).clamp(32, MOST_CHANGED) {
            return Ok(None);
        }

        // The old and new terms of each changed report, and the partitions
        // they change.
        let store = site
            .bodies
            .as_ref()
            .ok_or_else(|| io::Error::other("a kept index needs the body store"))?;
        let changes: Vec<Change> = changed
            .par_iter()
            .map(|&i| -> io::Result<Change> {
                // A number added had no terms, and a number removed has none.
                let (old, _) = match self.docs.get(i) {
                    Some(was) => {
                        let old_text = match was.text_at {
                            Some(at) => store.text(at)?,
                            None => {
                                return Err(io::Error::other("a kept report without its text"));
                            }
                        };
                        doc_terms(&was.title, &was.numbers, &old_text)
                    }
                    None => doc_terms("", "", ""),
                };
                let (new, len) = match now.get(i) {
                    Some(is) => doc_terms(&is.title, &is.numbers, &site.text(site.report(ids[i]))?),
                    None => doc_terms("", "", ""),
                };
                Ok((i as u32, old, new, len))
            })
            .collect::<io::Result<_>>()?;
        let mut lens: Vec<u32> = self.docs.iter().map(|d| d.len).collect();
        lens.resize(now.len(), 0);
        for (doc, _, _, len) in &changes {
            if let Some(slot) = lens.get_mut(*doc as usize) {
                *slot = *len;
            }
        }
        let mut dirty = vec![false; PARTITIONS];
        for (_, old, new, _) in &changes {
            for (number, dirty) in dirty.iter_mut().enumerate() {
                *dirty |= differs(old, new, number);
            }
        }

        // The dirty partitions: their terms read, the changes made, their
        // terms kept under this build's names and their files made (each
        // shard's handed on at once).
        let sizes = Sizes::default();
        let out = Emitter::keeping(outputs.emit, outputs.keep);
        // When only reports published since (and the numbers that moved)
        // changed a partition, their terms are written on their own (a
        // report's few terms there, not the partition's), and the
        // partition's files are made as its terms files are read, merged
        // with theirs, never all in memory; now and then the partition is
        // written whole again. Numbers that moved leave the files that
        // hold them: the small files of reports published since are
        // written again as one with the new terms; a terms file holding
        // them is written whole again, its terms cut as they are read.
        let renumbered = moved_from < kept;
        let (mut appending, mut rewriting) = (vec![false; PARTITIONS], vec![false; PARTITIONS]);
        for number in (0..PARTITIONS).filter(|number| dirty[*number]) {
            let was = &self.partitions[number];
            let only_moved = changes.iter().all(|(doc, old, new, _)| {
                *doc as usize >= moved_from || !differs(old, new, number)
            });
            if !only_moved {
                continue;
            }
            if was.base as usize > moved_from {
                rewriting[number] = true;
            } else if renumbered || was.appended.len() < MOST_APPENDED {
                appending[number] = true;
            }
        }
        let remake = |number: usize| -> io::Result<(usize, KeptPartition)> {
            let was = &self.partitions[number];
            let name = terms_file(number, generation);
            // The terms of the numbers from `moved_from` on, sorted.
            let later = || {
                let mut added: FxHashMap<&str, TermPostings> = FxHashMap::default();
                for (doc, _, new, _) in changes.iter().filter(|c| c.0 as usize >= moved_from) {
                    for (term, tf, positions) in new.partition(number) {
                        added.entry(term).or_default().push(*doc, tf, positions);
                    }
                }
                let mut later: Vec<(String, TermPostings)> =
                    added.into_iter().map(|(t, p)| (t.to_string(), p)).collect();
                later.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                later
            };
            // A partition whose terms file is written whole again.
            let whole = |(shards, entries): MadePartition| KeptPartition {
                terms: name.clone(),
                base: lens.len() as u32,
                appended: Vec::new(),
                shards,
                entries,
            };
            let cut = Some(moved_from as u32);
            if rewriting[number] {
                let (paths, later) = (was.terms_files(dir), later());
                let key_postings = key_postings_of(&paths, cut, &later)?;
                let terms = SortedTerms::of_files_cut(&paths, cut, later)?;
                let mut stream = PartitionStream::new(terms, key_postings);
                let keep = Some(dir.join(&name));
                let made = shards::write_stream(&mut stream, sizes, &out, keep)?;
                return Ok((number, whole(made)));
            }
            if appending[number] {
                let mut later = later();
                // Numbers that moved leave the files of reports published
                // since, which become one with the new terms.
                let (mut appended, paths) = if renumbered {
                    let published = was.terms_files(dir);
                    later = SortedTerms::of_files_cut(&published[1..], cut, later)?.all()?;
                    (Vec::new(), published[..1].to_vec())
                } else {
                    (was.appended.clone(), was.terms_files(dir))
                };
                write_terms(&dir.join(&name), later.iter().map(|(t, p)| (t.as_str(), p)))?;
                let key_postings = key_postings_of(&paths, None, &later)?;
                let terms = SortedTerms::of_files(&paths, later)?;
                let mut stream = PartitionStream::new(terms, key_postings);
                let (shards, entries) = shards::write_stream(&mut stream, sizes, &out, None)?;
                appended.push(name);
                return Ok((
                    number,
                    KeptPartition {
                        terms: was.terms.clone(),
                        base: was.base,
                        appended,
                        shards,
                        entries,
                    },
                ));
            }
            let mut partition = LivePartition::new(read_partition(dir, was)?);
            for (doc, old, new, _) in &changes {
                replace_in(&mut partition, number, *doc, old, new);
            }
            let terms = partition.terms.iter().map(|(t, p)| (t.as_str(), p));
            write_terms(&dir.join(&name), terms)?;
            // Only the shards with a term that changed are made again.
            let made = remake(
                &partition.terms,
                &partition.changed,
                &was.shards,
                sizes,
                &out,
            )?;
            Ok((number, whole(made)))
        };
        // Otherwise a partition in memory takes a few times its terms
        // files' bytes, and some hold the commonest terms of a large site
        // (up to 130 MB of terms at 100,000 reports): those larger than
        // half the budget are remade one at a time, so that no two are in
        // memory at once.
        let budget = budget.unwrap_or(super::builder::SPILL_BUDGET) as u64 / 2;
        let (large, small): (Vec<usize>, Vec<usize>) = (0..PARTITIONS)
            .filter(|number| dirty[*number])
            .partition(|number| {
                !appending[*number]
                    && !rewriting[*number]
                    && self.partitions[*number].bytes(dir) > budget
            });
        let mut remade: Vec<(usize, KeptPartition)> = small
            .into_par_iter()
            .map(remake)
            .collect::<io::Result<_>>()?;
        for number in large {
            remade.push(remake(number)?);
        }

        for (number, kept) in remade {
            self.partitions[number] = kept;
        }
        // The rest keep their files.
        for (partition, _) in self.partitions.iter().zip(&dirty).filter(|(_, d)| !**d) {
            for (name, size) in partition.shards.iter().flat_map(|shard| &shard.files) {
                out.keep(name, *size)?;
            }
        }
        let entries = self.partitions.iter().flat_map(|p| &p.entries);
        let mut table = DocTable::new();
        let rows: Vec<SearchDoc> = ids
            .par_iter()
            .zip(&lens)
            .map(|(id, len)| search_doc(site, *id, chinese, *len))
            .collect();
        // Each chunk's file made on the build's threads (all of them made
        // again, which a rebuild of 10,000 reports waited 20 ms on).
        let files: Vec<IndexFile> = rows
            .par_chunks(DOC_CHUNK)
            .map(DocTable::chunk_file)
            .collect();
        for (docs, file) in rows.chunks(DOC_CHUNK).zip(files) {
            table.push_chunk(docs, file, &out)?;
        }
        table.finish(&lens, entries, &out)?;

        // No file holds a number beyond the last.
        for partition in &mut self.partitions {
            partition.base = partition.base.min(lens.len() as u32);
        }
        // The lengths of the reports indexed again come with their terms.
        self.docs = now
            .into_iter()
            .zip(&lens)
            .map(|(is, len)| KeptDoc { len: *len, ..is })
            .collect();
        self.indexed_last = changes.len();
        self.generation = generation;
        Ok(Some(out.bytes()))
    }
}

/// How many reports a build re-indexes at most before it indexes the
/// whole site again (a sixteenth of a smaller site; at least 32). Each
/// one's old and new terms are held at once, up to half a megabyte a
/// report: 256 keep a 100,000-report build under 1 GB.
const MOST_CHANGED: usize = 256;

/// How many files of appended terms a partition keeps before its terms
/// are written whole again.
const MOST_APPENDED: usize = 16;

impl KeptPartition {
    /// Its terms files in the search folder `dir`: its terms file, then
    /// each file of appended terms (of later documents than the one
    /// before).
    fn terms_files(&self, dir: &Path) -> Vec<PathBuf> {
        std::iter::once(&self.terms)
            .chain(&self.appended)
            .map(|name| dir.join(name))
            .collect()
    }

    /// The bytes of its terms files.
    fn bytes(&self, dir: &Path) -> u64 {
        self.terms_files(dir)
            .iter()
            .filter_map(|path| fs::metadata(path).ok())
            .map(|m| m.len())
            .sum()
    }
}

/// A partition's terms: its terms files' merged, each term's postings in
/// document order.
fn read_partition(
    dir: &Path,
    partition: &KeptPartition,
) -> io::Result<FxHashMap<String, TermPostings>> {
    let merged = SortedTerms::of_files(&partition.terms_files(dir), Vec::new())?;
    Ok(merged.all()?.into_iter().collect())
}

/// A changed report: its number, its old and new terms, its new length.
type Change = (u32, DocTerms, DocTerms, u32);

/// Makes the files of a partition again from its `terms`, as a full
/// build makes them, handing each file to `out`. A shard of the same
/// shard keys as one the last build made (`was`), none of whose terms is
/// among `changed`, has the same bytes: its files are kept.
fn remake(
    terms: &FxHashMap<String, TermPostings>,
    changed: &FxHashSet<String>,
    was: &[MadeShard],
    sizes: Sizes,
    out: &Emitter,
) -> io::Result<MadePartition> {
    let changed = Changed::new(changed);
    let sorted = sorted_terms(terms);
    let planned = shards::plan(&sorted, sizes);
    let last: FxHashMap<Place, &MadeShard> =
        was.iter().map(|shard| (shard.place(), shard)).collect();
    let mut made = Vec::with_capacity(planned.len());
    for shard in &planned {
        let kept = last.get(&shard.place());
        match kept {
            Some(kept) if !changed.in_shard(shard) => {
                for (name, size) in &kept.files {
                    out.keep(name, *size)?;
                }
                made.push((*kept).clone());
            }
            _ => {
                let (files, names) = shards::make_shard(shard, &sorted, sizes);
                made.push(MadeShard {
                    keys: shard.keys.clone(),
                    part: shard.part,
                    names,
                    files: files
                        .iter()
                        .map(|file| (file.name.clone(), file.script.len() as u64))
                        .collect(),
                });
                for file in files {
                    out.put(file)?;
                }
            }
        }
    }
    let entries = shards::plan_entries(&planned, made.iter().map(|shard| &shard.names));
    Ok((made, entries))
}

/// Writes `terms` to a terms file at `path`, in the order of the terms.
fn write_terms<'t>(
    path: &Path,
    terms: impl Iterator<Item = (&'t str, &'t TermPostings)>,
) -> io::Result<()> {
    let mut sorted: Vec<_> = terms.collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut writer = TermsWriter::create(path)?;
    for (term, postings) in sorted {
        writer.put(term, postings)?;
    }
    writer.finish_kept()
}

/// The name of partition `number`'s terms file kept by build `generation`.
fn terms_file(number: usize, generation: u64) -> String {
    format!("{number:03}-{generation:016x}.terms")
}

/// A report as the cache notes it (its length comes with its terms).
fn kept_doc(site: &Site, id: ReportId) -> KeptDoc {
    let r = site.report(id);
    KeptDoc {
        path: r.url.encoded().trim_start_matches('/').to_string(),
        title: r.front.title.clone(),
        numbers: numbers(&r.front),
        source: r.doc.source_hash,
        text_at: r.doc.stored,
        len: 0,
    }
}

/// Whether a report's terms of partition `number` differ between `old`
/// and `new`.
fn differs(old: &DocTerms, new: &DocTerms, number: usize) -> bool {
    let before: FxHashMap<&str, (u32, Option<&[u32]>)> = old
        .partition(number)
        .map(|(term, tf, positions)| (term, (tf, positions)))
        .collect();
    let mut count = 0;
    for (term, tf, positions) in new.partition(number) {
        count += 1;
        if before.get(term) != Some(&(tf, positions)) {
            return true;
        }
    }
    count != before.len()
}

/// The search folder of the cache folder `cache`.
pub fn dir_in(cache: &Path) -> PathBuf {
    cache.join("search")
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A partition over 20 documents: 法 in every one (its key split in
    /// four parts), 务 in a third (two parts), 甲 and 乙 in a tenth (they
    /// share a shard). `edit` changes document 3's frequency of one term
    /// of 务 and one of 乙.
    fn partition(edit: bool) -> FxHashMap<String, TermPostings> {
        let mut terms: FxHashMap<String, TermPostings> = FxHashMap::default();
        for doc in 0..20 {
            for (key, every) in [("法", 1), ("务", 3), ("甲", 10), ("乙", 10)] {
                for n in 0..12u32 {
                    if (doc + n) % every != 0 {
                        continue;
                    }
                    let term = format!("{key}{}", char::from_u32(0x4E00 + n).unwrap());
                    let mut tf = 1 + (doc + n) % 3;
                    if edit && doc == 3 && [("务", 3), ("乙", 7)].contains(&(key, n)) {
                        tf += 1;
                    }
                    let positions: Vec<u32> = (0..tf).map(|i| i * 7 + n).collect();
                    terms
                        .entry(term)
                        .or_default()
                        .push(doc, tf, Some(&positions));
                }
            }
        }
        terms
    }

    /// Remakes `terms` as [`remake`] does and returns what it made, the
    /// files handed on, and the names of the files kept.
    fn remade(
        terms: FxHashMap<String, TermPostings>,
        changed: &FxHashSet<String>,
        was: &[MadeShard],
    ) -> (MadePartition, Vec<IndexFile>, Vec<String>) {
        let sizes = Sizes {
            own_position_file: 200,
            shard_postings: 60,
        };
        let (put, kept) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
        let emit = |file: IndexFile| {
            put.lock().unwrap().push(file);
            Ok(())
        };
        let keep = |name: &str, _: u64| {
            kept.lock().unwrap().push(name.to_string());
            Ok(())
        };
        let out = Emitter::keeping(&emit, &keep);
        let made = remake(&terms, changed, was, sizes, &out).unwrap();
        (made, put.into_inner().unwrap(), kept.into_inner().unwrap())
    }

    #[test]
    fn a_partition_made_again_keeps_the_shards_none_of_whose_terms_changed() {
        let (before, ..) = remade(partition(false), &FxHashSet::default(), &[]);
        let parts = |key: &str| {
            let shards = before.0.iter().filter(|s| s.keys.iter().any(|k| k == key));
            shards.map(|s| (s.keys.len(), s.part)).collect::<Vec<_>>()
        };
        assert_eq!(parts("法").len(), 4, "{:?}", before.0);
        assert_eq!(parts("务"), [(1, Some((0, 2))), (1, Some((1, 2)))]);
        assert_eq!(parts("甲"), [(2, None)]);

        let (old, new) = (partition(false), partition(true));
        let changed: FxHashSet<String> = new
            .iter()
            .filter(|(term, postings)| old[*term].frequencies != postings.frequencies)
            .map(|(term, _)| term.clone())
            .collect();
        assert_eq!(changed.len(), 2, "{changed:?}");
        let (fresh, fresh_files, _) = remade(new.clone(), &FxHashSet::default(), &[]);
        let (again, put, kept) = remade(new, &changed, &before.0);

        // Byte for byte what a partition made afresh is.
        assert_eq!(again, fresh);
        let mut all: Vec<&str> = put.iter().map(|f| f.name.as_str()).collect();
        all.extend(kept.iter().map(String::as_str));
        all.sort_unstable();
        let mut expected: Vec<&str> = fresh_files.iter().map(|f| f.name.as_str()).collect();
        expected.sort_unstable();
        assert_eq!(all, expected);
        for file in &put {
            let same = fresh_files.iter().find(|f| f.name == file.name).unwrap();
            assert_eq!(file.script, same.script);
        }
        // Only the shard of 乙 and 甲, and the part of 务 with the term
        // that changed, were made again.
        let made_again: Vec<Place> = again
            .0
            .iter()
            .filter(|shard| put.iter().any(|f| f.name == shard.names[0]))
            .map(MadeShard::place)
            .collect();
        let part = shards::term_part(&format!("务{}", char::from_u32(0x4E03).unwrap()), 2);
        assert_eq!(
            made_again,
            [
                (&["务".to_string()][..], Some((part, 2))),
                (&["乙".to_string(), "甲".to_string()][..], None)
            ]
        );
        assert!(
            kept.len() > put.len(),
            "{} kept, {} made",
            kept.len(),
            put.len()
        );
    }
}
