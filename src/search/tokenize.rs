//! The search tokenizer, written once here and mirrored exactly in the
//! browser (`themes/default/static/gazette-search.js`); the test vectors in
//! `tests/search-vectors.json` are checked by both, so the two cannot
//! drift.
//!
//! Text is NFKC-normalised (full-width letters and digits become ASCII) and
//! lower-cased. Then, character by character:
//! - a CJK character (Han, kana, Hangul — the ranges of [`is_cjk`]) belongs
//!   to a CJK run; each character is a unigram token, and each pair of
//!   neighbours in the run a bigram token at the first one's position;
//! - a letter or digit (Unicode Alphabetic or Numeric) belongs to a word;
//!   a word is one token;
//! - anything else (space, punctuation) ends the run and takes a position
//!   of its own, so that a phrase never matches across 。，or a slash.
//!
//! A query is tokenized the same way, except that a CJK run of two or more
//! characters is represented by its bigrams alone (its unigrams add
//! nothing), so "contains 扫黑除恶" becomes "扫黑, 黑除, 除恶 at consecutive
//! positions" — exactly substring containment, with no dictionary to
//! disagree between index and query.

use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;

/// One token with its position in the text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Token {
    pub term: String,
    pub pos: u32,
}

/// Whether `c` is written without spaces between words: CJK ideographs
/// (and their extensions and compatibility forms), kana and Hangul.
pub fn is_cjk(c: char) -> bool {
    let c = c as u32;
    // Most characters of a Chinese text are of the main block of unified
    // ideographs, and most others are ASCII: both are answered first. (The
    // ranges below are compared one after another; with the main block
    // among them, a build of the 1,000-report bench corpus took 1.5 % more
    // instructions.)
    if (0x4E00..=0x9FFF).contains(&c) {
        return true;
    }
    c >= 0x3005
        && matches!(c,
            0x3005 | 0x3007
            | 0x3040..=0x30FF
            | 0x3400..=0x4DBF
            | 0xAC00..=0xD7AF
            | 0xF900..=0xFAFF
            | 0x20000..=0x2FA1F
            | 0x30000..=0x3134F)
}

/// Whether `c` belongs to a word: Unicode Alphabetic or Numeric.
pub(crate) fn is_word(c: char) -> bool {
    // The marks of a Chinese text that NFKC leaves as they are, answered
    // before std's tables, which for a character beyond ASCII take a
    // search: a tenth of the tokenizer's time went there.
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        !COMMON_MARKS.contains(&c) && (c.is_alphabetic() || c.is_numeric())
    }
}

/// Punctuation common in Chinese text after [`normalize`] (which turns
/// ，：；（）！？ into their ASCII forms); none belongs to a word.
const COMMON_MARKS: [char; 12] = [
    '、', '。', '“', '”', '‘', '’', '《', '》', '【', '】', '—', '·',
];

/// NFKC without invisible characters, then lower case: the form both the
/// index and queries are in.
///
/// A CJK unified ideograph has no decomposition, composes with nothing,
/// is never reordered and has no case, so neither normalisation nor lower
/// casing looks across it (not even the final-sigma rule). The text is
/// therefore normalised piece by piece between ideographs: the ideographs
/// and any piece of plain ASCII are copied as they are, and only the rest
/// (mostly a punctuation mark such as ，) goes through the Unicode tables.
/// The result is that of `normalize_whole`, which a property test checks.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let piece_end = first_inert_ideograph(rest.as_bytes());
        let (piece, after) = rest.split_at(piece_end);
        if piece.is_ascii() {
            let from = out.len();
            out.push_str(piece);
            out[from..].make_ascii_lowercase();
        } else if !push_marks(&mut out, piece) {
            normalize_into(&mut out, piece);
        }
        let run_end = inert_ideographs(after.as_bytes());
        out.push_str(&after[..run_end]);
        rest = &after[run_end..];
    }
    out
}

/// The form [`normalize_whole`] gives a mark of the ranges Chinese text
/// takes its punctuation from, alone: general punctuation, CJK symbols and
/// punctuation (without the tone marks U+302A–U+302F, which combine and
/// are reordered), and the full-width forms (without the half-width kana
/// and jamo after them, which compose). None of these combines with a
/// neighbour, is reordered, or has a case that depends on one, so a piece
/// of them and ASCII is its characters' forms one after another. Made once,
/// by `normalize_whole` itself.
fn mark_form(c: char) -> Option<&'static str> {
    const RANGES: [(u32, u32); 4] = [
        (0x2000, 0x206F),
        (0x3000, 0x3029),
        (0x3030, 0x303F),
        (0xFF00, 0xFF60),
    ];
    static FORMS: LazyLock<Vec<Vec<String>>> = LazyLock::new(|| {
        RANGES
            .iter()
            .map(|&(first, last)| {
                (first..=last)
                    .map(|c| {
                        char::from_u32(c)
                            .map_or_else(String::new, |c| normalize_whole(&c.to_string()))
                    })
                    .collect()
            })
            .collect()
    });
    let c = c as u32;
    let range = RANGES
        .iter()
        .position(|&(first, last)| (first..=last).contains(&c))?;
    Some(&FORMS[range][(c - RANGES[range].0) as usize])
}

/// Appends [`normalize_whole`] of `piece` to `out` when the piece is made
/// of ASCII and the marks of [`mark_form`] (，。、：“” between two
/// ideographs, ，2023 before one) and returns true; returns false for
/// any other piece. Most pieces of a Chinese text are such, and the
/// Unicode tables took a third of the time spent normalising them.
fn push_marks(out: &mut String, piece: &str) -> bool {
    let from = out.len();
    for c in piece.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if let Some(form) = mark_form(c) {
            out.push_str(form);
        } else {
            out.truncate(from);
            return false;
        }
    }
    true
}

/// Appends [`normalize_whole`] of `piece` to `out`, character by
/// character: a piece is mostly one punctuation mark, and the two strings
/// `normalize_whole` makes for it were a third of the time spent
/// normalising. Lower casing a character alone is lower casing it in its
/// text except for Σ, whose form depends on its neighbours (final
/// sigma): a piece whose NFKC has one is done whole.
fn normalize_into(out: &mut String, piece: &str) {
    let from = out.len();
    for c in piece.nfkc().filter(|c| !INVISIBLE.contains(c)) {
        if c == 'Σ' {
            out.truncate(from);
            out.push_str(&normalize_whole(piece));
            return;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

/// [`normalize`] done on the whole text at once.
fn normalize_whole(text: &str) -> String {
    text.nfkc()
        .filter(|c| !INVISIBLE.contains(c))
        .collect::<String>()
        .to_lowercase()
}

/// The CJK unified ideographs (and extension A) that [`normalize`] copies.
#[cfg(test)]
fn is_inert_ideograph(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF)
}

/// Whether the character whose UTF-8 starts `bytes` is one that
/// [`normalize`] copies (`is_inert_ideograph`), told from its first two
/// bytes: U+5000–U+9FFF are all such, U+4000–U+4FFF but for U+4DC0–U+4DFF
/// (E4 B7), and U+3400–U+3FFF. Read byte by byte, not decoded character
/// by character: most of a Chinese text is such runs, and decoding them
/// took most of `normalize`'s time.
fn starts_inert_ideograph(bytes: &[u8]) -> bool {
    match bytes {
        [0xE5..=0xE9, ..] => true,
        [0xE4, second, ..] => *second != 0xB7,
        [0xE3, second, ..] => *second >= 0x90,
        _ => false,
    }
}

/// The length of the run of inert ideographs `bytes` (a text's) start
/// with, each three bytes.
fn inert_ideographs(bytes: &[u8]) -> usize {
    let mut at = 0;
    while starts_inert_ideograph(&bytes[at..]) {
        at += 3;
    }
    at
}

/// Where the first inert ideograph of `bytes` (a text's) starts, or its
/// length: the characters before it are skipped by their first bytes.
fn first_inert_ideograph(bytes: &[u8]) -> usize {
    let mut at = 0;
    while let Some(&first) = bytes.get(at) {
        at += match first {
            0..0x80 => 1,
            0xF0.. => 4,
            0xE0.. if starts_inert_ideograph(&bytes[at..]) => return at,
            0xE0.. => 3,
            _ => 2,
        };
    }
    at
}

/// Characters that show as nothing and must not split a word or a phrase:
/// zero width space, word joiner, byte order mark (pasted from Word).
const INVISIBLE: [char; 3] = ['\u{200b}', '\u{2060}', '\u{feff}'];

/// Whether to emit the unigrams of CJK runs longer than one character.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Index,
    Query,
}

/// A token as a byte range of the normalised text, and its position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
    pub pos: u32,
}

/// The tokens of `text` (already normalised), in order of position, as
/// ranges of it: no token allocates.
fn spans(text: &str, mode: Mode) -> Vec<Span> {
    // Enough for CJK text (a unigram and a bigram per three bytes) without
    // growing, and more than enough for Latin.
    let mut spans = Vec::with_capacity(text.len() * 2 / 3 + 1);
    scan(text, mode, |span| spans.push(span));
    debug_assert!(
        spans
            .windows(2)
            .all(|w| { (w[0].pos, w[0].end - w[0].start) < (w[1].pos, w[1].end - w[1].start) })
    );
    spans
}

/// Hands each token of `text` (already normalised) to `emit`, in order of
/// position, and at one position the character before the bigram that
/// starts with it.
fn scan(text: &str, mode: Mode, mut emit: impl FnMut(Span)) {
    scan_pieces(text, |piece| match piece {
        Piece::Word { start, end, pos } => emit(Span { start, end, pos }),
        Piece::Run { chars, pos: first } => {
            let unigrams = mode == Mode::Index || chars.len() == 1;
            for (i, &(s, e, _)) in chars.iter().enumerate() {
                let pos = first + i as u32;
                if unigrams {
                    emit(Span {
                        start: s,
                        end: e,
                        pos,
                    });
                }
                if let Some(&(_, next_end, _)) = chars.get(i + 1) {
                    emit(Span {
                        start: s,
                        end: next_end,
                        pos,
                    });
                }
            }
        }
    });
}

/// A piece of a normalised text, as [`scan_pieces`] finds them: a word,
/// which is one token, or a run of CJK characters, whose tokens are its
/// characters and each pair of neighbours.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Piece<'r> {
    /// A word at bytes `start..end`, at position `pos`.
    Word { start: usize, end: usize, pos: u32 },
    /// A run's characters, (byte start, byte end, character), the first at
    /// position `pos` and each next one at the next.
    Run {
        chars: &'r [(usize, usize, char)],
        pos: u32,
    },
}

/// Hands the words and CJK runs of `text` (already normalised) to `emit`,
/// in order of position: the one scan of characters behind every
/// tokenizer path. The index builder takes a run whole
/// ([`super::doc_terms`]), so that the run's phrase terms come from it
/// directly.
pub(crate) fn scan_pieces(text: &str, mut emit: impl FnMut(Piece)) {
    let mut pos: u32 = 0;
    let mut word: Option<usize> = None;
    // The run's characters: (byte start, byte end, character).
    let mut run: Vec<(usize, usize, char)> = Vec::new();
    let mut run_start = 0;
    fn flush_run(run: &mut Vec<(usize, usize, char)>, pos: u32, emit: &mut impl FnMut(Piece)) {
        if !run.is_empty() {
            emit(Piece::Run { chars: run, pos });
            run.clear();
        }
    }
    // Ends the open word, if any, at byte `end`; it takes the next position.
    fn end_word(word: &mut Option<usize>, end: usize, pos: &mut u32, emit: &mut impl FnMut(Piece)) {
        if let Some(start) = word.take() {
            emit(Piece::Word {
                start,
                end,
                pos: *pos,
            });
            *pos += 1;
        }
    }
    for (at, c) in text.char_indices() {
        let end = at + c.len_utf8();
        if is_cjk(c) {
            end_word(&mut word, at, &mut pos, &mut emit);
            if run.is_empty() {
                run_start = pos;
            }
            run.push((at, end, c));
            pos += 1;
        } else if is_word(c) {
            flush_run(&mut run, run_start, &mut emit);
            word.get_or_insert(at);
        } else {
            flush_run(&mut run, run_start, &mut emit);
            end_word(&mut word, at, &mut pos, &mut emit);
            // A separator has a position of its own: nothing is adjacent across it.
            pos += 1;
        }
    }
    flush_run(&mut run, run_start, &mut emit);
    end_word(&mut word, text.len(), &mut pos, &mut emit);
}

fn tokenize_with(text: &str, mode: Mode) -> Vec<Token> {
    let text = normalize(text);
    spans(&text, mode)
        .into_iter()
        .map(|s| Token {
            term: text[s.start..s.end].to_string(),
            pos: s.pos,
        })
        .collect()
}

/// Calls `f` with each index token of `text` and its position, without
/// allocating a string per token (the index builder's fast path; the same
/// tokens as [`tokenize`]).
pub fn for_each_token(text: &str, mut f: impl FnMut(&str, u32)) {
    let text = normalize(text);
    for span in spans(&text, Mode::Index) {
        f(&text[span.start..span.end], span.pos);
    }
}

/// The tokens of a text to index: words, CJK unigrams and bigrams.
pub fn tokenize(text: &str) -> Vec<Token> {
    tokenize_with(text, Mode::Index)
}

/// The tokens of a query: words, and CJK bigrams (unigrams only for a
/// one-character run).
pub fn tokenize_query(text: &str) -> Vec<Token> {
    tokenize_with(text, Mode::Query)
}

/// Whether a token is a word of letters and digits (and so can be matched
/// as a prefix while the user is typing it).
/// The two characters of a CJK bigram token, `None` for any other token.
pub fn cjk_bigram(term: &str) -> Option<(char, char)> {
    let mut chars = term.chars();
    match (chars.next(), chars.next(), chars.next()) {
        (Some(a), Some(b), None) if is_cjk(a) && is_cjk(b) => Some((a, b)),
        _ => None,
    }
}

pub fn is_word_token(term: &str) -> bool {
    term.chars().next().is_some_and(|c| !is_cjk(c))
}

/// The key of the shard a term is stored in: its first character for a
/// CJK token, its first two characters for a word (so all words with a
/// given prefix of two or more characters share a shard).
pub fn shard_key(term: &str) -> &str {
    let mut chars = term.char_indices();
    match chars.next() {
        Some((_, c)) if is_cjk(c) => &term[..c.len_utf8()],
        Some(_) => match chars.nth(1) {
            Some((end, _)) => &term[..end],
            None => term,
        },
        None => term,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    /// `is_cjk` answers the common block first; it must still be exactly
    /// the ranges the module's documentation (and the browser's
    /// tokenizer) names.
    #[test]
    fn cjk_is_exactly_its_ranges() {
        const RANGES: [(u32, u32); 9] = [
            (0x3005, 0x3005),
            (0x3007, 0x3007),
            (0x3040, 0x30FF),
            (0x3400, 0x4DBF),
            (0x4E00, 0x9FFF),
            (0xAC00, 0xD7AF),
            (0xF900, 0xFAFF),
            (0x20000, 0x2FA1F),
            (0x30000, 0x3134F),
        ];
        for c in (0..=char::MAX as u32).filter_map(char::from_u32) {
            let listed = RANGES.iter().any(|&(a, b)| (a..=b).contains(&(c as u32)));
            assert_eq!(is_cjk(c), listed, "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn the_common_marks_are_neither_words_nor_changed_by_normalising() {
        for c in COMMON_MARKS {
            assert!(
                !(c.is_alphabetic() || c.is_numeric()),
                "{c} is a word character"
            );
            assert!(!is_cjk(c), "{c} is CJK");
            assert_eq!(normalize(&c.to_string()), c.to_string(), "{c} changes");
        }
    }

    fn terms(tokens: &[Token]) -> Vec<String> {
        tokens
            .iter()
            .map(|t| format!("{}@{}", t.term, t.pos))
            .collect()
    }

    #[test]
    fn cjk_runs_give_unigrams_and_bigrams() {
        assert_eq!(
            terms(&tokenize("扫黑除恶")),
            ["扫@0", "扫黑@0", "黑@1", "黑除@1", "除@2", "除恶@2", "恶@3"]
        );
        assert_eq!(
            terms(&tokenize_query("扫黑除恶")),
            ["扫黑@0", "黑除@1", "除恶@2"]
        );
        assert_eq!(terms(&tokenize_query("扫")), ["扫@0"]);
    }

    #[test]
    fn punctuation_breaks_runs_and_takes_a_position() {
        assert_eq!(terms(&tokenize_query("扫黑。除恶")), ["扫黑@0", "除恶@3"]);
        assert_eq!(
            terms(&tokenize_query("GB/T 9704-2012")),
            ["gb@0", "t@2", "9704@4", "2012@6"]
        );
    }

    #[test]
    fn codes_and_full_width_forms_stay_findable() {
        assert_eq!(
            terms(&tokenize_query("遂城办〔２０２２〕12号")),
            ["遂城@0", "城办@1", "2022@4", "12@6", "号@7"]
        );
        assert_eq!(
            terms(&tokenize_query("Ｇazette２０２２年")),
            ["gazette2022@0", "年@1"]
        );
    }

    /// `tests/search-vectors.json`: the tokens of each input, index and
    /// query, checked here and by `tests/js/search.test.mjs`. Regenerate
    /// after a deliberate change with `GAZETTE_BLESS=1 cargo test vectors`.
    #[test]
    fn shared_vectors() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
        let inputs = std::fs::read_to_string(dir.join("search-vectors.inputs")).unwrap();
        let pairs = |tokens: Vec<Token>| {
            tokens
                .into_iter()
                .map(|t| (t.term, t.pos))
                .collect::<Vec<_>>()
        };
        let vectors: Vec<serde_json::Value> = inputs
            .lines()
            .map(|text| serde_json::json!({ "text": text, "index": pairs(tokenize(text)), "query": pairs(tokenize_query(text)) }))
            .collect();
        let path = dir.join("search-vectors.json");
        let text = serde_json::to_string_pretty(&vectors).unwrap() + "\n";
        if std::env::var_os("GAZETTE_BLESS").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "the tokenizer no longer gives the shared vectors"
        );
    }

    #[test]
    fn shard_keys() {
        assert_eq!(shard_key("扫黑"), "扫");
        assert_eq!(shard_key("transparency"), "tr");
        assert_eq!(shard_key("t"), "t");
    }

    /// Characters where normalisation or case looks at neighbours: full
    /// width forms, combining marks after Latin letters and kana, Hangul
    /// jamo, the Greek final sigma, invisible characters, compatibility
    /// ideographs, and the ideographs the pieces are cut at.
    const TRICKY: &[&str] = &[
        "扫", "黑", "㐀", "\u{9fff}", "Σ", "ΑΣ", "σ", ".", "'", "e", "\u{301}", "Ａ", "，", "。",
        "\u{3000}", "ﬁ", "\u{200b}", "\u{feff}", "ｶ", "か", "\u{3099}", "가", "\u{11a8}", "İ", "ẞ",
        "㍿", "①", "\u{fa10}", "𠀀", "GB/T ", "9704", " ", "\u{3f9}", "！", "（", "）", "：", "；",
        "、", "“", "”", "…", "—", "％", "Ｓ", "\u{302a}", "\u{302b}", "\u{ff9e}", "\u{ffa1}",
        "\u{200d}", "\u{2028}", "\u{2126}",
    ];

    /// The inert ideographs told by their bytes are those by their
    /// characters, every character tried, and a run or the skip before
    /// one stops at each character that is not.
    #[test]
    fn inert_ideographs_are_told_by_their_first_bytes() {
        let mut buffer = [0; 4];
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            let bytes = c.encode_utf8(&mut buffer).as_bytes();
            assert_eq!(
                starts_inert_ideograph(bytes),
                is_inert_ideograph(c),
                "U+{:04X}",
                c as u32
            );
            let inert = is_inert_ideograph(c);
            let text = format!("行{c}行");
            assert_eq!(
                inert_ideographs(text.as_bytes()),
                if inert { 9 } else { 3 },
                "{text}"
            );
            let text = format!("{c}a行");
            let first = if inert { 0 } else { c.len_utf8() + 1 };
            assert_eq!(first_inert_ideograph(text.as_bytes()), first, "{text}");
            let text = format!("{c}");
            assert_eq!(
                first_inert_ideograph(text.as_bytes()),
                if inert { 0 } else { text.len() }
            );
        }
    }

    /// Every character of the ranges [`mark_form`] looks in (those it
    /// leaves out too), beside every other and every tricky one, either
    /// way round: the pairs a random text rarely holds (ｶ before ﾞ).
    #[test]
    fn a_mark_is_normalised_alone_beside_anything() {
        let marks: Vec<String> = [0x2000..=0x206F, 0x3000..=0x303F, 0xFF00..=0xFFEF]
            .into_iter()
            .flatten()
            .filter_map(char::from_u32)
            .map(String::from)
            .collect();
        let neighbours: Vec<&str> = marks
            .iter()
            .map(String::as_str)
            .chain(TRICKY.iter().copied())
            .collect();
        for mark in &marks {
            for neighbour in &neighbours {
                for text in [format!("{mark}{neighbour}"), format!("{neighbour}{mark}")] {
                    assert_eq!(normalize(&text), normalize_whole(&text), "{text:?}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn normalizing_between_ideographs_equals_normalizing_the_whole(
            text in proptest::collection::vec(
                proptest::prop_oneof![
                    3 => proptest::sample::select(TRICKY).prop_map(str::to_string),
                    1 => proptest::prelude::any::<char>().prop_map(String::from),
                ],
                0..40,
            )
            .prop_map(|pieces| pieces.concat())
        ) {
            proptest::prop_assert_eq!(normalize(&text), normalize_whole(&text));
        }

        /// The characters a run carries are the ones its ranges hold, one
        /// after another, so the index builder may key terms by them.
        #[test]
        fn a_run_carries_the_characters_of_its_range(
            text in proptest::collection::vec(
                proptest::prop_oneof![
                    3 => proptest::sample::select(TRICKY).prop_map(str::to_string),
                    2 => proptest::sample::select(&["扫", "黑", "𠀀", "ア", "한", "a", "9", " ", "。"][..]).prop_map(str::to_string),
                    1 => proptest::prelude::any::<char>().prop_map(String::from),
                ],
                0..40,
            )
            .prop_map(|pieces| normalize(&pieces.concat()))
        ) {
            let mut pieces = Vec::new();
            scan_pieces(&text, |piece| pieces.push(match piece {
                Piece::Word { start, end, .. } => Err(&text[start..end]),
                Piece::Run { chars, .. } => Ok(chars.to_vec()),
            }));
            for piece in pieces {
                match piece {
                    Err(word) => proptest::prop_assert!(is_word_token(word), "{word}"),
                    Ok(chars) => {
                        for (i, &(start, end, c)) in chars.iter().enumerate() {
                            proptest::prop_assert!(is_cjk(c));
                            proptest::prop_assert_eq!(&text[start..end], c.to_string());
                            if let Some(&(next, ..)) = chars.get(i + 1) {
                                proptest::prop_assert_eq!(end, next);
                            }
                        }
                    }
                }
            }
        }
    }
}
