//! The front-matter splitter and reader: any text (decoded or not) either
//! parses or yields diagnostics that name a line inside the file.
#![no_main]

use chrono::FixedOffset;
use gazette::content::front_matter::{DocKind, ParseContext, split};
use gazette::content::{decode, parse_doc, unify_line_ends};
use gazette::paths::ContentPath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = decode(bytes) else { return };
    // Lines as Gazette counts them (a lone `\r` ends one too).
    let lines = unify_line_ends(&text).lines().count().max(1);
    if let Ok(s) = split(&text) {
        assert!(s.yaml_line >= 1 && s.body_line >= s.yaml_line);
        assert!(text.ends_with(s.body));
    }
    let file = ContentPath::from_relative("fuzz/report.md");
    let zone = FixedOffset::east_opt(8 * 3600).unwrap();
    for kind in [DocKind::Report, DocKind::SectionIndex] {
        let cx = ParseContext {
            file: &file,
            kind,
            timezone: zone,
            dates_from_file_names: true,
        };
        match parse_doc(&text, &cx) {
            Ok((_, _, body_line, warnings)) => {
                assert!(body_line >= 1);
                for w in warnings {
                    if let Some(line) = w.line {
                        assert!(line >= 1 && line <= lines + 1, "warning on line {line} of {lines}: {}", w.message);
                    }
                }
            }
            Err(errors) => {
                assert!(!errors.is_empty());
                for e in errors {
                    if let Some(line) = e.line {
                        assert!(line >= 1 && line <= lines + 1, "error on line {line} of {lines}: {}", e.message);
                    }
                }
            }
        }
    }
});
