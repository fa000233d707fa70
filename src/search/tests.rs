//! The search index against a brute-force scan: for any substring of 1–8
//! CJK characters, and any word, the index finds exactly the documents
//! that contain it.

use proptest::prelude::*;

use super::*;

/// An index of plain texts (the bodies; no title or numbers).
pub(crate) fn index_of(texts: &[String]) -> SearchIndex {
    index_of_titled(texts.iter().map(|text| ("", text.as_str())))
}

/// An index of (title, body) documents, numbered in order.
fn index_of_titled<'a>(docs: impl Iterator<Item = (&'a str, &'a str)>) -> SearchIndex {
    SearchIndex::assemble(doc_table(docs))
}

/// The search documents and terms of (title, body) documents.
fn doc_table<'a>(docs: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(SearchDoc, DocTerms)> {
    docs.enumerate()
        .map(|(i, (title, body))| {
            let (terms, len) = doc_terms(title, "", body);
            let doc = SearchDoc {
                path: format!("d{i}/"),
                title: title.to_string(),
                len,
                ..SearchDoc::default()
            };
            (doc, terms)
        })
        .collect()
}

fn found(index: &SearchIndex, query: &str) -> Vec<u32> {
    let mut docs: Vec<u32> = index
        .search(query, &Filters::new(), true)
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    docs.sort();
    docs
}

/// A small alphabet, so that substrings recur across documents.
const HAN: &[char] = &[
    '法', '治', '政', '府', '扫', '黑', '除', '恶', '街', '道', '的', '年',
];
const WORDS: &[&str] = &["report", "reports", "data", "gov", "2022", "gb", "t"];
const PUNCT: &[&str] = &["，", "。", " ", "/", "、", "-"];

fn document() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::collection::vec(prop::sample::select(HAN), 1..12).prop_map(|cs| cs.into_iter().collect::<String>()),
            1 => prop::sample::select(WORDS).prop_map(|w| format!(" {w} ")),
            1 => prop::sample::select(PUNCT).prop_map(str::to_string),
        ],
        1..30,
    )
    .prop_map(|parts| parts.concat())
}

/// The CJK runs of a text, as the tokenizer sees them.
fn cjk_runs(text: &str) -> Vec<Vec<char>> {
    units(text)
        .split(|u| !matches!(u, Unit::Cjk(_)))
        .filter(|run| !run.is_empty())
        .map(|run| {
            run.iter()
                .filter_map(|u| match u {
                    Unit::Cjk(c) => Some(*c),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

fn contains_word(text: &str, word: &str) -> bool {
    tokenize::tokenize(text).iter().any(|t| t.term == word)
}

/// A text as the tokenizer divides it: CJK characters, words, and
/// anything else, which separates (one separator is as good as another).
#[derive(Clone, Debug, PartialEq)]
enum Unit {
    Cjk(char),
    Word(String),
    Gap,
}

fn units(text: &str) -> Vec<Unit> {
    let mut units = vec![];
    for c in tokenize::normalize(text).chars() {
        if tokenize::is_cjk(c) {
            units.push(Unit::Cjk(c));
        } else if tokenize::is_word(c) {
            match units.last_mut() {
                Some(Unit::Word(word)) => word.push(c),
                _ => units.push(Unit::Word(c.to_string())),
            }
        } else {
            units.push(Unit::Gap);
        }
    }
    units
}

/// The query that asks for `units`, quoted.
fn quoted(units: &[Unit]) -> String {
    let text: String = units
        .iter()
        .map(|u| match u {
            Unit::Cjk(c) => c.to_string(),
            Unit::Word(w) => w.clone(),
            Unit::Gap => "，".to_string(),
        })
        .collect();
    format!("\"{text}\"")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn cjk_substrings_are_found_exactly(
        docs in prop::collection::vec(document(), 1..12),
        pick in any::<prop::sample::Index>(),
        start in any::<prop::sample::Index>(),
        len in 1usize..=8,
    ) {
        let runs: Vec<Vec<char>> = docs.iter().flat_map(|d| cjk_runs(d)).collect();
        prop_assume!(!runs.is_empty());
        let run = pick.get(&runs);
        let from = start.index(run.len());
        let to = (from + len).min(run.len());
        let needle: String = run[from..to].iter().collect();
        let expected: Vec<u32> = docs.iter().enumerate().filter(|(_, d)| tokenize::normalize(d).contains(&needle)).map(|(i, _)| i as u32).collect();
        let index = index_of(&docs);
        // A quoted query is matched as typed; unquoted, a one-word query
        // would also match as a prefix.
        prop_assert_eq!(found(&index, &format!("\"{needle}\"")), expected.clone(), "query {}", needle);
        prop_assert_eq!(found(&index, &needle), expected, "query {}", needle);
    }

    /// Any stretch of a document — CJK characters next to words and gaps,
    /// as in 第3号 or 遂城办〔2022〕 — is found in every document that has
    /// it (a unigram keeps only its positions at the ends of CJK runs, which
    /// must be enough), and, without a gap in it, in no other.
    #[test]
    fn mixed_stretches_are_found_wherever_they_are(
        docs in prop::collection::vec(document(), 1..12),
        pick in any::<prop::sample::Index>(),
        start in any::<prop::sample::Index>(),
        len in 1usize..=5,
    ) {
        let doc = units(pick.get(&docs[..]).as_str());
        prop_assume!(!doc.is_empty());
        let from = start.index(doc.len());
        let to = (from + len).min(doc.len());
        // A stretch starts and ends with a token (a query's outer gaps are
        // nothing to match).
        let mut needle = &doc[from..to];
        while let [Unit::Gap, rest @ ..] = needle {
            needle = rest;
        }
        while let [rest @ .., Unit::Gap] = needle {
            needle = rest;
        }
        prop_assume!(!needle.is_empty());
        let expected: Vec<u32> = docs
            .iter()
            .enumerate()
            .filter(|(_, d)| units(d).windows(needle.len()).any(|w| w == needle))
            .map(|(i, _)| i as u32)
            .collect();
        let query = quoted(needle);
        let found = found(&index_of(&docs), &query);
        for doc in &expected {
            prop_assert!(found.contains(doc), "query {} misses document {}", query, doc);
        }
        if !needle.contains(&Unit::Gap) {
            prop_assert_eq!(found, expected, "query {}", query);
        }
    }

    #[test]
    fn words_are_found_exactly(docs in prop::collection::vec(document(), 1..12), word in prop::sample::select(WORDS)) {
        let index = index_of(&docs);
        let expected: Vec<u32> = docs.iter().enumerate().filter(|(_, d)| contains_word(d, word)).map(|(i, _)| i as u32).collect();
        // Quoted: the whole word only.
        prop_assert_eq!(found(&index, &format!("\"{word}\"")), expected);
        // Followed by a space (typing finished): the whole word only.
        let expected_prefix: Vec<u32> = docs.iter().enumerate()
            .filter(|(_, d)| tokenize::tokenize(d).iter().any(|t| t.term.starts_with(word)))
            .map(|(i, _)| i as u32).collect();
        prop_assert_eq!(found(&index, word), expected_prefix, "prefix {}", word);
    }
}

#[test]
fn several_terms_are_anded_and_phrases_respect_punctuation() {
    let docs = vec![
        "扫黑除恶 专项斗争".to_string(),
        "扫黑。除恶".to_string(),
        "除恶务尽 扫黑".to_string(),
    ];
    let index = index_of(&docs);
    assert_eq!(found(&index, "扫黑除恶"), [0]);
    assert_eq!(found(&index, "扫黑 除恶"), [0, 1, 2]);
    assert_eq!(found(&index, "扫"), [0, 1, 2]);
    assert_eq!(found(&index, "专项 扫黑"), [0]);
    assert!(found(&index, "反诈").is_empty());
}

#[test]
fn a_unigram_keeps_only_its_positions_at_the_ends_of_runs() {
    // 推0 进1 法2 治3 政4 府5 建6 设7 。8 法9 治10
    let (terms, _) = doc_terms("", "", "推进法治政府建设。法治");
    let at = |positions: &[u32]| {
        positions
            .iter()
            .map(|p| BODY_OFFSET + p)
            .collect::<Vec<_>>()
    };
    let kept = |term: &str| {
        let (tf, positions) = terms.get(term).unwrap();
        (tf, positions.unwrap().to_vec())
    };
    assert_eq!(kept("推"), (1, at(&[0])));
    assert_eq!(kept("设"), (1, at(&[7])));
    assert_eq!(kept("法"), (2, at(&[9])), "法 at 2 is inside its run");
    assert_eq!(kept("治"), (2, at(&[10])));
    assert_eq!(kept("政"), (1, vec![]), "counted, with no position kept");
    // Bigrams keep every position.
    assert_eq!(kept("法治"), (2, at(&[2, 9])));

    // Where a query needs a unigram's position, next to a word or a gap,
    // the document has it at an end of a run.
    let docs = vec![
        "关于第3号文件".to_string(),
        "第三号".to_string(),
        "法，规".to_string(),
        "法治规划".to_string(),
    ];
    let index = index_of(&docs);
    assert_eq!(found(&index, "\"第3\""), [0]);
    assert_eq!(found(&index, "\"3号\""), [0]);
    assert_eq!(found(&index, "\"法，规\""), [2], "not across 治");
}

#[test]
fn english_phrases_need_quotes() {
    let docs = vec![
        "annual report data".to_string(),
        "data for the annual report".to_string(),
    ];
    let index = index_of(&docs);
    assert_eq!(found(&index, "report data "), [0, 1]);
    assert_eq!(found(&index, "\"report data\""), [0]);
    assert_eq!(found(&index, "GB/T"), Vec::<u32>::new());
}

#[test]
fn a_title_match_ranks_first() {
    let index = index_of_titled(
        [
            ("法治政府建设情况的报告", "年度报告"),
            ("通知", "正文里提到法治政府。"),
        ]
        .into_iter(),
    );
    let ranked: Vec<u32> = index
        .search("法治政府", &Filters::new(), false)
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    assert_eq!(ranked, [0, 1]);
    // Documents are numbered oldest first: the newest is the highest.
    let by_date: Vec<u32> = index
        .search("法治政府", &Filters::new(), true)
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    assert_eq!(by_date, [1, 0]);
}

/// Positions go paragraph by paragraph: a sentence put into one
/// paragraph moves no position of the next, unless that paragraph then
/// ends past a multiple of the stride.
#[test]
fn each_paragraph_starts_at_a_multiple_of_the_stride() {
    let at = |body: &str, term: &str| {
        doc_terms("", "", body)
            .0
            .get(term)
            .unwrap()
            .1
            .unwrap()
            .to_vec()
    };
    let body = "依法行政。\n\n扫黑除恶，依法。\n\n街道";
    assert_eq!(at(body, "依法"), [BODY_OFFSET, BODY_OFFSET + 1029]);
    assert_eq!(at(body, "扫黑"), [BODY_OFFSET + 1024]);
    assert_eq!(at(body, "街道"), [BODY_OFFSET + 2048]);
    // Within a paragraph, one after another: a phrase still matches.
    assert_eq!(at(body, "黑除"), [BODY_OFFSET + 1025]);

    let longer = "依法行政，全面推进。\n\n扫黑除恶，依法。\n\n街道";
    assert_eq!(at(longer, "依法"), [BODY_OFFSET, BODY_OFFSET + 1029]);
    assert_eq!(at(longer, "街道"), [BODY_OFFSET + 2048]);
    // A paragraph of more than the stride takes two.
    let long = format!("{}\n\n街道", "依法行政。".repeat(300));
    assert_eq!(at(&long, "街道"), [BODY_OFFSET + 2048]);
    // And one whose last CJK run goes past a multiple of it.
    let run = format!("依法。{}\n\n街道", "行".repeat(1100));
    assert_eq!(at(&run, "街道"), [BODY_OFFSET + 2048]);
    // A blank line at the start, or three, are one break.
    assert_eq!(at("\n\n街道", "街道"), [BODY_OFFSET]);
    assert_eq!(at("依法\n\n\n\n街道", "街道"), [BODY_OFFSET + 1024]);
}

/// Past a point a paragraph starts where the tokenizer numbers it, right
/// after the one before, and no position goes beyond a field's room: a
/// report of millions of paragraphs or table cells neither overflows nor
/// lets a phrase match across two of them.
#[test]
fn a_huge_report_runs_out_of_stride_not_of_positions() {
    // "ab", "cd", "ef", "gh" are the tokenizer's 0, 3, 6 and 9 (each line
    // break takes a position).
    let mut paragraphs = Paragraphs::strided_until("ab\n\ncd\n\nef\n\ngh", 2048, BODY_LAST);
    let placed: Vec<u32> = [(0, 0), (4, 3), (8, 6), (12, 9)]
        .into_iter()
        .map(|(start, pos)| paragraphs.place(start, pos))
        .collect();
    assert_eq!(placed, [0, 1024, 2048, 2051]);
    let mut paragraphs = Paragraphs::strided_until("ab", 0, BODY_LAST);
    assert_eq!(paragraphs.place(0, u32::MAX), BODY_LAST);
    let mut paragraphs = Paragraphs::new("ab", FIELD_LAST);
    assert_eq!(paragraphs.place(0, u32::MAX), FIELD_LAST);
}

/// The body's positions come first, from 0, then the title's and the
/// numbers' (so that a term's positions ascend field after field), and no
/// field's last position is next to the next field's first, however long
/// the text: no phrase matches across two fields.
#[test]
fn the_fields_positions_ascend_and_never_touch() {
    let (terms, _) = doc_terms("法治", "法治", "法治");
    assert_eq!(
        terms.get("法治").unwrap().1.unwrap(),
        [BODY_OFFSET, TITLE_OFFSET, NUMBERS_OFFSET]
    );
    // (That no field reaches the next is checked as the build compiles.)
}

#[test]
fn three_and_four_characters_are_one_phrase_term() {
    let tokens = tokenize_query("法治政府");
    assert_eq!(phrase_term(&tokens).as_deref(), Some("法治政府"));
    assert_eq!(
        phrase_term(&tokenize_query("信访件")).as_deref(),
        Some("信访件")
    );
    // Two characters are a bigram; five need positions; a word breaks it.
    assert_eq!(phrase_term(&tokenize_query("执法")), None);
    assert_eq!(phrase_term(&tokenize_query("综合行政执法")), None);
    assert_eq!(phrase_term(&tokenize_query("2022年度")), None);
    let (terms, _) = doc_terms("", "", "推进法治政府建设。法治");
    assert!(
        terms.get("法治政府").unwrap().1.is_none(),
        "phrase terms carry no positions"
    );
    // Three characters are a term of their own only at the end of a run;
    // elsewhere they begin one of four, and are kept with it.
    assert_eq!(terms.get("府建设").unwrap(), (1, None));
    assert!(terms.get("法治政").is_none());
    assert_eq!(phrase_group("法治政府"), "法治政");
    assert_eq!(phrase_group("府建设"), "府建设");
    assert_eq!(phrase_group("法治"), "法治");
    assert_eq!(phrase_group("data"), "data");
    assert_eq!(phrase_group("2022年度"), "2022年度");
    let index = index_of(&[
        "推进法治政府建设。".into(),
        "法治政。".into(),
        "法治".into(),
    ]);
    assert_eq!(found(&index, "法治政"), [0, 1]);
    assert_eq!(found(&index, "治政府"), [0]);
    assert_eq!(
        terms.get("法治").unwrap(),
        (2, Some(&[BODY_OFFSET + 2, BODY_OFFSET + 9][..]))
    );
    assert!(
        terms.get("推进法治政").is_none(),
        "five characters are not a term"
    );
    assert!(terms.get("设法治").is_none(), "never across punctuation");
}

/// A document's terms counted the plain way, one occurrence of one term
/// at a time: each word, unigram and bigram with its position (a
/// unigram's only at an end of its run), each run of four CJK characters
/// and each of three that ends a CJK run without; title and numbers
/// weighted [`FIELD_BOOST`]. And its length: its words, unigrams and
/// bigrams.
type PlainTerms = BTreeMap<String, (u32, Option<Vec<u32>>)>;

fn plain_terms(title: &str, numbers: &str, body: &str) -> (PlainTerms, u32) {
    let mut terms = PlainTerms::new();
    let mut len = 0;
    let fields = [
        (title, TITLE_OFFSET, FIELD_LAST, FIELD_BOOST),
        (numbers, NUMBERS_OFFSET, FIELD_LAST, FIELD_BOOST),
        (body, BODY_OFFSET, BODY_LAST, 1),
    ];
    for (text, offset, last, weight) in fields {
        let text = tokenize::normalize(text);
        let mut paragraphs = Paragraphs::new(&text, last);
        let mut count = |term: &str, position: Option<Option<u32>>| {
            let entry = terms
                .entry(term.to_string())
                .or_insert((0, position.map(|_| Vec::new())));
            entry.0 += weight;
            if let (Some(Some(at)), Some(positions)) = (position, &mut entry.1) {
                positions.push(at);
            }
        };
        tokenize::scan_pieces(&text, |piece| match piece {
            Piece::Word { start, end, pos } => {
                len += 1;
                let at = paragraphs.place(start, pos) + offset;
                count(&text[start..end], Some(Some(at)));
            }
            Piece::Run { chars, pos } => {
                for i in 0..chars.len() {
                    let at = paragraphs.place(chars[i].0, pos + i as u32) + offset;
                    let edge = i == 0 || i + 1 == chars.len();
                    len += 1;
                    count(&text[chars[i].0..chars[i].1], Some(edge.then_some(at)));
                    for n in 2..=4 {
                        let Some(last) = chars.get(i + n - 1) else {
                            break;
                        };
                        let term = &text[chars[i].0..last.1];
                        if n == 2 {
                            len += 1;
                            count(term, Some(Some(at)));
                        } else if n == 4 || i + n == chars.len() {
                            count(term, None);
                        }
                    }
                }
            }
        });
    }
    // Counted title first: the positions in ascending order are the
    // fields' in the order of their offsets.
    for (_, positions) in terms.values_mut() {
        if let Some(positions) = positions {
            positions.sort_unstable();
        }
    }
    (terms, len)
}

fn mixed_text() -> impl Strategy<Value = String> {
    // Characters of the BMP and beyond it (extension B), so that runs
    // mix the two ways of counting.
    const PIECES: &[&str] = &[
        "法", "治", "政", "府", "扫", "黑", "的", "年", "𠀀", "𠀁", "々", "あ", "한", "report",
        "2022", "，", "。", " ", "\n\n", "、",
    ];
    prop::collection::vec(prop::sample::select(PIECES), 0..60).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// `doc_terms` gathers a report's occurrences and counts them in one
    /// loop, by packed keys where it can; it must give what counting each
    /// occurrence of each term by its text gives.
    #[test]
    fn doc_terms_gives_the_plain_count(title in mixed_text(), numbers in mixed_text(), body in mixed_text()) {
        let (terms, len) = doc_terms(&title, &numbers, &body);
        let got: PlainTerms = terms
            .iter()
            .map(|(term, tf, positions)| (term.to_string(), (tf, positions.map(<[u32]>::to_vec))))
            .collect();
        prop_assert_eq!(terms.iter().count(), got.len(), "a term listed twice");
        let (expected, expected_len) = plain_terms(&title, &numbers, &body);
        prop_assert_eq!(got, expected);
        prop_assert_eq!(len, expected_len);
    }
}

/// `doc_terms`' table of packed keys is a thread's for all its reports:
/// a report sees only its own keys, through the table's growth and the
/// stamps' wrapping round.
#[test]
fn the_table_of_packed_keys_holds_one_report_at_a_time() {
    let mut table = KeyTable::default();
    let keys = |report: u64| (0..40_000u64).map(move |i| report << 40 | (i * 0x1_0001 + 1));
    for report in 0..3u64 {
        table.start();
        let mut next = 0;
        for key in keys(report) {
            assert_eq!(
                table.get_or_insert(key, || {
                    next += 1;
                    next - 1
                }),
                next - 1,
                "a key of an earlier report was found"
            );
        }
        assert!(
            table.slots.len() >= 80_000,
            "not grown past half full: {}",
            table.slots.len()
        );
        for (id, key) in keys(report).enumerate() {
            assert_eq!(
                table.get_or_insert(key, || panic!("{key:x} lost")),
                id as u32
            );
        }
    }
    // The stamps start again from a table no report has used.
    table.stamp = u32::MAX;
    table.start();
    assert_eq!(table.stamp, 1);
    assert_eq!(table.get_or_insert(keys(2).next().unwrap(), || 7), 7);
}

#[test]
fn terms_outside_the_basic_plane_are_kept_apart_by_their_text() {
    // A character of extension B does not fit 16 bits of a packed key:
    // packed, 𠀀𠀀 and 𠀂𠀀 (U+20000, U+20002) would be one number.
    assert_eq!(char_key('𠀀'), 0);
    assert_eq!(char_key('黑'), 0x9ED1);
    let (terms, _) = doc_terms("", "", "𠀀𠀀。𠀂𠀀。𠀂𠀀。𠀂𠀀扫黑");
    assert_eq!(terms.get("𠀀𠀀").unwrap().0, 1);
    assert_eq!(terms.get("𠀂𠀀").unwrap().0, 3);
    assert_eq!(terms.get("𠀂𠀀扫黑").unwrap().0, 1);
    assert_eq!(terms.get("𠀀扫黑").unwrap().0, 1);
    assert_eq!(terms.get("扫黑").unwrap().0, 1);
    let (terms, _) = doc_terms("", "", "𠀀𠀁𠀀扫𠀁𠀀");
    assert_eq!(terms.get("𠀀").unwrap().0, 3);
    assert_eq!(terms.get("𠀀𠀁").unwrap().0, 1);
    assert_eq!(terms.get("𠀁𠀀").unwrap().0, 2);
    assert_eq!(terms.get("𠀀扫").unwrap().0, 1);
}

#[test]
fn a_packed_key_unpacks_to_its_term() {
    // The builder keys most terms by their packed characters and gives
    // them back by unpacking: every key must give its own text, and only
    // terms of the Basic Multilingual Plane may have one.
    let (terms, _) = doc_terms(
        "法治政府建设年度报告",
        "穗城府〔2023〕1号",
        "推进扫黑除恶。𠀀𠀁扫黑，2022年度report",
    );
    let mut packed = 0;
    for number in 0..builder::PARTITIONS {
        let keyed = terms.partition_keyed(number).map(|(term, ..)| term);
        for ((term, ..), keyed) in terms.partition(number).zip(keyed) {
            // A packed key's partition is looked up by its first character.
            assert_eq!(builder::partition_of(term), number, "{term}");
            match keyed {
                TermRef::Text(text) => {
                    assert_eq!(text, term);
                    assert!(
                        term.chars()
                            .any(|c| !tokenize::is_cjk(c) || c as u32 > 0xFFFF),
                        "{term} should have a packed key"
                    );
                }
                TermRef::Packed { key, len } => {
                    assert_eq!(unpack_key(key), term);
                    assert_eq!(len as usize, term.len());
                    packed += 1;
                }
            }
        }
    }
    assert!(packed > 40, "{packed} packed terms");
}

#[test]
fn a_cut_leaves_out_the_files_postings_of_renumbered_documents() {
    use builder::{SortedTerms, TermsWriter, key_postings_of};
    let postings = |entries: &[(u32, &[u32])]| {
        let mut p = TermPostings::default();
        for (doc, positions) in entries {
            p.push(*doc, 1, Some(positions));
        }
        p
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000.terms");
    let mut file = TermsWriter::create(&path).unwrap();
    file.put("法治", &postings(&[(1, &[5]), (4, &[1, 9]), (7, &[3])]))
        .unwrap();
    file.put("法治政府", &postings(&[(6, &[])])).unwrap();
    file.put("治理", &postings(&[(2, &[])])).unwrap();
    file.finish_kept().unwrap();
    // Documents 5 and on are numbered again: their postings come after.
    let later = vec![("法治".to_string(), postings(&[(5, &[2])]))];
    let files = [path];
    let counts = key_postings_of(&files, Some(5), &later).unwrap();
    assert_eq!((counts["法"], counts["治"]), (3, 1));
    let mut terms = SortedTerms::of_files_cut(&files, Some(5), later).unwrap();
    let mut read = Vec::new();
    while let Some((term, p)) = terms.next_term().unwrap() {
        let docs: Vec<u32> = p.doc_numbers().collect();
        read.push((
            term,
            docs,
            p.iter().map(|p| p.positions()).collect::<Vec<_>>(),
        ));
    }
    assert_eq!(
        read,
        [
            (
                "法治".to_string(),
                vec![1, 4, 5],
                vec![vec![5], vec![1, 9], vec![2]]
            ),
            ("治理".to_string(), vec![2], vec![vec![]]),
        ]
    );
}

#[test]
fn a_long_phrase_is_verified_by_the_bigrams_that_cover_it() {
    let terms = |query: &str| -> Vec<String> {
        let tokens = tokenize_query(query);
        covering_tokens(&tokens)
            .iter()
            .map(|t| format!("{}@{}", t.term, t.pos))
            .collect()
    };
    assert_eq!(terms("重大行政决策"), ["重大@0", "行政@2", "决策@4"]);
    assert_eq!(terms("综合行政执法"), ["综合@0", "行政@2", "执法@4"]);
    assert_eq!(terms("依法行政工作"), ["依法@0", "行政@2", "工作@4"]);
    assert_eq!(terms("法治政府建"), ["法治@0", "政府@2", "府建@3"]);
    assert_eq!(terms("2022年度报告"), ["2022@0", "年度@1", "报告@3"]);
    assert_eq!(terms("GB/T 9704"), ["gb@0", "t@2", "9704@4"]);
}

/// meta.js names chunk directories, not chunks, so that it stays small on
/// a large site; every document's row is found through them.
#[test]
fn every_row_is_found_through_the_chunk_directories() {
    let texts: Vec<String> = (0..5000).map(|i| format!("第{i}号 通知")).collect();
    let index = index_of(&texts);
    let files = shards::shards(&index);
    let data = |name: &str| -> serde_json::Value {
        let f = files
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name}"));
        serde_json::from_str(&f.script[f.script.find(',').unwrap() + 1..f.script.len() - 3])
            .unwrap()
    };
    let meta = data("meta");
    let dirs = meta["chunkdirs"].as_array().unwrap();
    assert_eq!(dirs.len(), 5000usize.div_ceil(DOC_CHUNK).div_ceil(64));
    assert!(
        files
            .iter()
            .find(|f| f.name == "meta")
            .unwrap()
            .script
            .len()
            < 2_000
    );
    for doc in [0, 31, 32, 2047, 2048, 4999] {
        let chunk = doc / DOC_CHUNK;
        let names = data(dirs[chunk / 64].as_str().unwrap());
        let rows = data(names[chunk % 64].as_str().unwrap());
        assert_eq!(rows[doc % DOC_CHUNK][0], format!("d{doc}/"), "doc {doc}");
    }
}

/// A large site's index is built with its postings spilled to disk and
/// read back a partition at a time; the files are exactly those of the
/// index built in memory.
#[test]
fn a_spilled_index_gives_exactly_the_files_of_one_in_memory() {
    let texts: Vec<String> = (0..300)
        .map(|i| {
            format!(
                "第{i}号 法治政府建设年度报告。扫黑除恶专项斗争{}，report {} data。",
                "街道办事处".repeat(i % 7),
                i % 13
            )
        })
        .collect();
    let docs = || texts.iter().map(|t| ("通知", t.as_str()));
    let sizes = shards::Sizes {
        own_position_file: 64,
        shard_postings: 40,
    };
    let in_memory = index_of_titled(docs());
    let mut expected: Vec<(String, String)> =
        shards::shards_with(&in_memory, sizes.own_position_file, sizes.shard_postings)
            .into_iter()
            .map(|f| (f.name, f.script.to_string()))
            .collect();
    expected.sort();

    let scratch = tempfile::tempdir().unwrap();
    let made = std::sync::Mutex::new(Vec::new());
    let collect = |f: shards::IndexFile| {
        made.lock().unwrap().push((f.name, f.script.to_string()));
        Ok(())
    };
    let out = shards::Emitter::new(&collect);
    // No budget: every block of 16 documents is spilled.
    let mut builder = builder::IndexBuilder::writing(&out, Some(scratch.path()), 0);
    let mut table = doc_table(docs());
    while !table.is_empty() {
        let rest = table.split_off(table.len().min(16));
        builder.add(table).unwrap();
        table = rest;
    }
    let spilled = std::fs::read_dir(scratch.path()).unwrap().count();
    assert!(spilled > 30, "{spilled} spill files");
    shards::write_files(&mut builder, &sizes, &out).unwrap();
    let bytes = out.bytes();
    drop(out);
    let mut made = made.into_inner().unwrap();
    made.sort();
    assert_eq!(made, expected);
    assert_eq!(
        bytes,
        expected.iter().map(|(_, s)| s.len() as u64).sum::<u64>()
    );
    // The spill files are read back and removed.
    assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0);
}

/// `n` reports of a few thousand characters, of one vocabulary.
fn long_reports(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "第{i}号 法治政府建设年度报告。扫黑除恶专项斗争{}，依法行政{}。",
                "街道办事处综合行政执法".repeat(i % 7 + 30),
                "重大行政决策程序".repeat(i % 5 + 20),
            )
        })
        .collect()
}

/// The shards hold frequencies, not BM25 weights, so appending to one
/// report changes the shards of the terms it adds, not every shard that
/// holds one of the report's terms — also when the report's length moves
/// to another class ([`builder::length_class`]): then the file of length
/// classes changes.
#[test]
fn an_edit_changes_few_term_shards_whatever_it_does_to_the_length() {
    for (added, class_moves) in [("基准测试。", false), (&*"基准测试。".repeat(400), true)]
    {
        let mut texts = long_reports(200);
        let files = |texts: &[String], prefix: &str| -> BTreeSet<String> {
            shards::shards_with(&index_of(texts), 64, 40)
                .into_iter()
                .map(|f| f.name)
                .filter(|name| name.starts_with(prefix))
                .collect()
        };
        let (before, lengths_before) = (files(&texts, "t-"), files(&texts, "l-"));
        let len = |texts: &[String]| index_of(texts).docs[100].len as u64;
        let len_before = len(&texts);
        texts[100].push_str(added);
        let class = |len| builder::length_class(len);
        assert_eq!(class(len_before) != class(len(&texts)), class_moves);
        let after = files(&texts, "t-");
        let changed = after.difference(&before).count();
        assert!(before.len() > 50, "{} term shards", before.len());
        assert!(
            changed <= 6,
            "{changed} of {} term shards changed",
            before.len()
        );
        assert_eq!(lengths_before.len(), 1);
        assert_eq!(files(&texts, "l-") != lengths_before, class_moves);
    }
}

/// The live index makes a changed partition again shard by shard: a
/// shard none of whose terms changed is handed on as it was made, and
/// the partition's files are exactly those made from nothing.
#[test]
fn a_partition_made_again_hands_on_the_shards_whose_terms_are_unchanged() {
    let mut texts = long_reports(120);
    let sizes = shards::Sizes {
        own_position_file: 64,
        shard_postings: 40,
    };
    let terms_of = |texts: &[String]| -> rustc_hash::FxHashMap<String, TermPostings> {
        index_of(texts).terms.into_iter().collect()
    };
    let before = terms_of(&texts);
    let (_, memo) = live::make(&before, sizes, None);

    // Terms new to the site, and terms whose postings change.
    texts[60].push_str("依法行政。基准测试。");
    let after = terms_of(&texts);
    let changed: rustc_hash::FxHashSet<String> = after
        .iter()
        .filter(|(term, postings)| before.get(*term) != Some(postings))
        .map(|(term, _)| term.clone())
        .collect();
    assert!(!changed.is_empty());
    let (made, remade) = live::make(&after, sizes, Some((&memo[..], &changed)));
    let (fresh, _) = live::make(&after, sizes, None);
    let sorted = |(files, entries): (Vec<shards::IndexFile>, _)| {
        let mut files: Vec<_> = files.into_iter().map(|f| (f.name, f.script)).collect();
        files.sort();
        (files, entries)
    };
    assert!(
        sorted(made) == sorted(fresh),
        "the files differ from those made from nothing"
    );

    // Shards handed on share their files with the last make; every other
    // shard holds a changed term, or is in a place no shard was in before
    // (a key whose postings grew past a part more is split anew).
    let handed_on = |shard: &live::LiveShard| {
        memo.iter().any(|old| {
            old.place() == shard.place()
                && old.files.len() == shard.files.len()
                && old
                    .files
                    .iter()
                    .zip(&shard.files)
                    .all(|(a, b)| std::sync::Arc::ptr_eq(&a.script, &b.script))
        })
    };
    let holds_a_change = |shard: &live::LiveShard| {
        changed.iter().any(|term| {
            shard.keys.iter().any(|k| k == tokenize::shard_key(term))
                && shard
                    .part
                    .is_none_or(|(part, parts)| shards::term_part(term, parts) == part)
        })
    };
    let new_place = |shard: &live::LiveShard| !memo.iter().any(|old| old.place() == shard.place());
    assert!(remade.len() > 50, "{} shards", remade.len());
    let made_again: Vec<&live::LiveShard> = remade.iter().filter(|s| !handed_on(s)).collect();
    for shard in &made_again {
        assert!(
            holds_a_change(shard) || new_place(shard),
            "{:?} {:?} was made again with none of its terms changed",
            shard.keys,
            shard.part
        );
    }
    assert!(
        made_again.len() < remade.len() / 4,
        "{} of {} shards made again",
        made_again.len(),
        remade.len()
    );
}

#[test]
fn length_classes_keep_four_leading_bits() {
    use builder::length_class;
    assert_eq!(length_class(0), 0.0);
    assert_eq!(length_class(15), 15.0);
    assert_eq!(length_class(17), 16.0);
    assert_eq!(length_class(1000), 960.0);
    assert_eq!(length_class(10_356), length_class(10_370));
}

#[test]
fn each_document_is_given_the_index_of_its_length_class() {
    let lens: Vec<u32> = (0..400).map(|i| i * 37 % 9000 + i % 3).collect();
    let (classes, of_doc) = builder::length_classes(&lens);
    assert!(classes.windows(2).all(|w| w[0] < w[1]), "{classes:?}");
    assert!(classes.len() > 20 && classes.len() < 100, "{classes:?}");
    assert_eq!(of_doc.len(), lens.len());
    for (len, index) in lens.iter().zip(&of_doc) {
        let class = builder::length_class(*len as u64);
        assert_eq!(classes[*index as usize] as f64, class, "length {len}");
    }
    assert_eq!(builder::length_classes(&[]), (Vec::new(), Vec::new()));
}

/// [`TermPostings::with_doc`] as it was first written: every posting
/// decoded and pushed again.
fn with_doc_rebuilt(
    postings: &TermPostings,
    doc: u32,
    mut entry: Option<(u32, Option<&[u32]>)>,
) -> TermPostings {
    let mut out = TermPostings::default();
    let positional = postings.has_positions();
    for p in postings.iter() {
        if p.doc > doc
            && let Some((frequency, positions)) = entry.take()
        {
            out.push(doc, frequency, positions);
        }
        if p.doc != doc {
            let positions = p.positions();
            out.push(p.doc, p.frequency, positional.then_some(&positions[..]));
        }
    }
    if let Some((frequency, positions)) = entry {
        out.push(doc, frequency, positions);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Replacing, adding or taking out one document's posting, by bytes,
    /// gives the postings made afresh: documents (gaps of every varint
    /// length), frequencies and positions.
    #[test]
    fn a_posting_replaced_in_place_is_the_postings_made_again(
        gaps in prop::collection::vec(prop_oneof![1u32..4, 100u32..300, 20_000u32..40_000], 0..12),
        positional in any::<bool>(),
        seed in any::<u64>(),
        pick in any::<prop::sample::Index>(),
        shift in 0u32..3,
        entry in prop::option::of((1u32..70_000, prop::collection::vec(1u32..200, 0..5))),
    ) {
        let mut docs = Vec::new();
        let mut doc = 0;
        for gap in &gaps {
            doc += gap;
            docs.push(doc);
        }
        let positions_of = |d: u32| -> Vec<u32> {
            let n = ((d as u64 ^ seed) % 4) as u32;
            (0..n).map(|i| i * 130 + d % 7).collect()
        };
        let mut postings = TermPostings::default();
        for &d in &docs {
            let positions = positions_of(d);
            postings.push(d, d % 1000 + 1, positional.then_some(&positions[..]));
        }
        // An existing document, one between or after them, or the first.
        let target = match docs.len() {
            0 => shift,
            _ => docs[pick.index(docs.len())] + shift,
        };
        let entry = entry.map(|(frequency, deltas)| {
            let mut at = 0;
            let positions: Vec<u32> = deltas.iter().map(|d| { at += d; at }).collect();
            (frequency, positions)
        });
        let entry = entry.as_ref().map(|(f, p)| (*f, positional.then_some(&p[..])));
        prop_assert_eq!(
            postings.with_doc(target, entry),
            with_doc_rebuilt(&postings, target, entry)
        );
    }
}
