//! Writes a [`SearchIndex`] as the static files the browser loads: see the
//! module documentation of [`crate::search`] for the layout. Document ids in
//! lists are delta-encoded (each the difference to the one before), as are
//! positions, which keeps the files small before any compression.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};

use super::tokenize::shard_key;
use super::{DIR_BUCKETS, DOC_CHUNK, FACETS, SearchIndex, TermPostings};

/// FNV-1a, 32 bits: which directory bucket a shard key is in. The browser
/// computes the same over the key's UTF-8 bytes.
pub fn bucket(key: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in key.as_bytes() {
        h ^= *b as u32;
        h = h.wrapping_mul(16_777_619);
    }
    h % DIR_BUCKETS
}

/// Which part of a split shard key holds `term` (FNV-1a over its UTF-8
/// bytes, as the browser computes it).
pub fn term_part(term: &str, parts: usize) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for b in term.as_bytes() {
        h ^= *b as u32;
        h = h.wrapping_mul(16_777_619);
    }
    h as usize % parts
}

/// Names of document-table chunks per `c-*.js` file.
const CHUNK_DIR: usize = 64;

/// Bytes of position data above which a term's positions get a file of
/// their own.
const OWN_POSITION_FILE: usize = 2048;

/// Postings per term shard, about; with delta-encoded document numbers a
/// shard is then some tens of kilobytes.
const SHARD_POSTINGS: usize = 6_000;

/// Which shard a key goes to (another mix than [`bucket`], so the two do
/// not correlate).
fn group_hash(key: &str) -> u32 {
    let mut h: u32 = 0x9747_b28c;
    for b in key.as_bytes() {
        h = (h ^ *b as u32).wrapping_mul(0x5bd1_e995);
        h ^= h >> 15;
    }
    h
}

/// A name for a file from its content (FNV-1a, 64 bits, 12 hex digits).
fn content_name(prefix: &str, body: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    format!("{prefix}-{:012x}", h & 0xffff_ffff_ffff)
}

/// One file of the index: its name (without `.js`) and its script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexFile {
    pub name: String,
    pub script: String,
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
    let body = serde_json::to_string(data).expect("index data serializes");
    let name = content_name(prefix, &body);
    IndexFile {
        script: script(&name, data),
        name,
    }
}

/// A file named by the hash of `json`, which is already JSON.
fn raw_hashed(prefix: &str, json: String) -> IndexFile {
    let name = content_name(prefix, &json);
    let script = format!("GazetteSearch.add(\"{name}\",{json});\n");
    IndexFile { name, script }
}

/// Appends numbers in base 36, separated by commas.
fn push_numbers(out: &mut String, numbers: impl IntoIterator<Item = u32>) {
    for (i, mut n) in numbers.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut digits = [0u8; 8];
        let mut len = 0;
        loop {
            digits[len] = b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize];
            len += 1;
            n /= 36;
            if n == 0 {
                break;
            }
        }
        for d in digits[..len].iter().rev() {
            out.push(*d as char);
        }
    }
}

fn deltas(values: impl IntoIterator<Item = u32>) -> Vec<u32> {
    let mut previous = 0;
    values
        .into_iter()
        .map(|v| {
            let d = v - previous;
            previous = v;
            d
        })
        .collect()
}

/// The term shard of one group of keys, its position shard (none when
/// no term keeps positions there) and the position files of its terms
/// that have their own.
fn group_files(
    index: &SearchIndex,
    group: &[(&String, usize, Vec<&String>)],
    own_position_file: usize,
) -> (IndexFile, Option<IndexFile>, Vec<IndexFile>) {
    let mut files = Vec::new();
    let mut term_data = String::from("{");
    let mut position_data = String::from("{");
    for (_, _, terms) in group {
        for term in terms.iter() {
            let postings = &index.terms[*term];
            let key = serde_json::to_string(term).expect("a term is a string");
            // The positions of each document, as differences, documents
            // separated by `;`; phrase terms have none.
            let mut positions = String::new();
            if postings.has_positions() {
                for (i, posting) in postings.iter().enumerate() {
                    if i > 0 {
                        positions.push(';');
                    }
                    push_numbers(&mut positions, posting.position_deltas());
                }
            }
            if term_data.len() > 1 {
                term_data.push(',');
            }
            // "docs|weights[|file]", lists of base-36 numbers, documents
            // as differences to the one before; a term with many
            // positions has them in a file of its own, named third, so
            // that verifying a phrase loads only its own terms' positions.
            term_data.push_str(&key);
            term_data.push_str(":\"");
            push_numbers(&mut term_data, deltas(postings.iter().map(|p| p.doc)));
            term_data.push('|');
            push_numbers(&mut term_data, postings.iter().map(|p| p.weight));
            if positions.len() > own_position_file {
                let own = raw_hashed("q", format!("{{{key}:\"{positions}\"}}"));
                term_data.push('|');
                term_data.push_str(&own.name);
                files.push(own);
            } else if postings.has_positions() {
                if position_data.len() > 1 {
                    position_data.push(',');
                }
                position_data.push_str(&key);
                position_data.push_str(":\"");
                position_data.push_str(&positions);
                position_data.push('"');
            }
            term_data.push('"');
        }
    }
    term_data.push('}');
    position_data.push('}');
    let t = raw_hashed("t", term_data);
    let p = (position_data.len() > 2).then(|| raw_hashed("p", position_data));
    (t, p, files)
}

/// Every file of the index; `meta` last.
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
    let mut files = Vec::new();

    // Terms are grouped by shard key (a CJK character, or two letters), and
    // the keys into shards of about SHARD_POSTINGS postings, so that a query
    // loads a few files of tens of kilobytes whatever the size of the site.
    // A key with more postings than that (a common character: 法, 政) is
    // split into parts by a hash of the term; its directory entry names the
    // shards of every part, and a term is in part `term_part(term, parts)`.
    let mut by_key: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for term in index.terms.keys() {
        by_key.entry(shard_key(term)).or_default().push(term);
    }
    let total: usize = index.terms.values().map(TermPostings::len).sum();
    let groups = (total / shard_postings).max(1) as u32;
    // (key, part, terms): the parts of hot keys get a shard each; the other
    // keys share the `groups` shards.
    let mut grouped: Vec<Vec<(&String, usize, Vec<&String>)>> = vec![Vec::new(); groups as usize];
    let mut parts_of: BTreeMap<&String, usize> = BTreeMap::new();
    for (key, terms) in &by_key {
        let postings: usize = terms.iter().map(|t| index.terms[*t].len()).sum();
        let parts = postings.div_ceil(shard_postings).max(1);
        parts_of.insert(key, parts);
        if parts == 1 {
            grouped[(group_hash(key) % groups) as usize].push((key, 0, terms.clone()));
            continue;
        }
        let mut split: Vec<Vec<&String>> = vec![Vec::new(); parts];
        for term in terms {
            split[term_part(term, parts)].push(term);
        }
        for (part, terms) in split.into_iter().enumerate() {
            grouped.push(vec![(key, part, terms)]);
        }
    }
    let mut buckets: Vec<BTreeMap<String, Vec<[String; 2]>>> =
        vec![BTreeMap::new(); DIR_BUCKETS as usize];
    // Each group's files are made on their own (in parallel); the
    // directory entries are filled in afterwards, in group order.
    let groups: Vec<&Vec<(&String, usize, Vec<&String>)>> =
        grouped.iter().filter(|g| !g.is_empty()).collect();
    let made: Vec<(IndexFile, Option<IndexFile>, Vec<IndexFile>)> = groups
        .par_iter()
        .map(|group| group_files(index, group, own_position_file))
        .collect();
    for (group, (t, p, own)) in groups.iter().zip(made) {
        let p_name = p.as_ref().map_or(String::new(), |p| p.name.clone());
        for &(key, part, _) in group.iter() {
            let entry = buckets[bucket(key) as usize]
                .entry(key.clone())
                .or_insert_with(|| vec![[String::new(), String::new()]; parts_of[key]]);
            entry[part] = [t.name.clone(), p_name.clone()];
        }
        files.extend(own);
        files.push(t);
        files.extend(p);
    }
    let dirs: Vec<IndexFile> = buckets.iter().map(|b| hashed("dir", b)).collect();
    let dir_names: Vec<&str> = dirs.iter().map(|d| d.name.as_str()).collect();

    // The document table, in chunks.
    let chunks: Vec<IndexFile> = index
        .docs
        .chunks(DOC_CHUNK)
        .map(|chunk| {
            let rows: Vec<Value> = chunk
                .iter()
                .map(|d| {
                    json!([
                        d.path, d.title, d.date, d.issuer, d.index_no, d.doc_no, d.excerpt
                    ])
                })
                .collect();
            hashed("d", &rows)
        })
        .collect();
    // Their names, CHUNK_DIR to a file, so that meta.js stays small
    // whatever the number of reports.
    let chunk_dirs: Vec<IndexFile> = chunks
        .chunks(CHUNK_DIR)
        .map(|group| {
            let names: Vec<&str> = group.iter().map(|c| c.name.as_str()).collect();
            hashed("c", &names)
        })
        .collect();
    let chunk_dir_names: Vec<&str> = chunk_dirs.iter().map(|c| c.name.as_str()).collect();

    // One file per value of each filter (its documents), so that a filter
    // loads only the values chosen.
    let mut facets = BTreeMap::new();
    let mut facet_files = Vec::new();
    for facet in FACETS {
        let mut values: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for (i, doc) in index.docs.iter().enumerate() {
            for value in doc.facet_values(facet) {
                values.entry(value).or_default().push(i as u32);
            }
        }
        if values.is_empty() {
            continue;
        }
        let counts: Vec<(String, usize)> = if facet == "year" {
            values
                .iter()
                .rev()
                .map(|(v, d)| (v.clone(), d.len()))
                .collect()
        } else {
            values.iter().map(|(v, d)| (v.clone(), d.len())).collect()
        };
        let mut names: BTreeMap<&String, String> = BTreeMap::new();
        for (value, docs) in &values {
            let file = hashed("f", &deltas(docs.iter().copied()));
            names.insert(value, file.name.clone());
            facet_files.push(file);
        }
        facets.insert(facet, json!({ "files": names, "values": counts }));
    }

    let meta = json!({
        "version": 1,
        "docs": index.docs.len(),
        "avg": (index.avg_len * 100.0).round() / 100.0,
        "chunk": DOC_CHUNK,
        "chunkdir": CHUNK_DIR,
        "chunkdirs": chunk_dir_names,
        "buckets": dir_names,
        "facets": facets,
    });
    let meta_file = IndexFile {
        name: "meta".to_string(),
        script: script("meta", &meta),
    };
    files.extend(dirs);
    files.extend(chunk_dirs);
    files.extend(chunks);
    files.extend(facet_files);
    files.push(meta_file);
    // Files are named by their content: two with one name (empty
    // directory buckets) are the same file, written once.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.name.clone()));
    files
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
            let Some(dir) = dir_of(&key) else { continue };
            needed.insert(dir.clone());
            let Some(parts) = dirs.get(&dir).and_then(|d| d.get(&key)) else {
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
