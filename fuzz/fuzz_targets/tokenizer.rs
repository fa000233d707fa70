//! The search tokenizer: any text tokenizes with positions that never go
//! back, into normalised terms; a query of that text tokenizes the same way.
#![no_main]

use gazette::search::tokenize::{normalize, tokenize, tokenize_query};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let tokens = tokenize(text);
    let mut last = 0;
    for t in &tokens {
        assert!(!t.term.is_empty());
        assert!(t.pos >= last, "positions went back in {text:?}");
        last = t.pos;
        assert_eq!(normalize(&t.term), t.term, "term {:?} is not normalised", t.term);
    }
    let _ = tokenize_query(text);
});
