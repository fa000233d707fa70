//! The Markdown stage: any body renders, with and without raw HTML, and no
//! script or event handler survives the sanitiser.
#![no_main]

use gazette::markdown::{MarkdownOptions, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &str| {
    assert_inert(&render(body, &MarkdownOptions::default()).html);
    let options = MarkdownOptions {
        allow_html: true,
        iframe_hosts: vec!["map.example.gov.cn".to_string()],
    };
    assert_inert(&render(body, &options).html);
});

/// Text is escaped in the output, so every `<` opens a tag: no tag may be a
/// script, style or object, carry an event handler, or link to a
/// `javascript:` URL.
fn assert_inert(html: &str) {
    // An iframe's content is raw text to a browser (shown only where
    // frames are not supported, never run): leave it out of the scan.
    let lower = html.to_ascii_lowercase();
    let mut scanned = String::with_capacity(html.len());
    let mut rest = 0;
    while let Some(open) = lower[rest..].find("<iframe").map(|i| rest + i) {
        let content = lower[open..].find('>').map_or(lower.len(), |i| open + i + 1);
        scanned.push_str(&html[rest..content]);
        rest = lower[content..].find("</iframe").map_or(lower.len(), |i| content + i);
    }
    scanned.push_str(&html[rest..]);
    for tag in scanned.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or(tag).to_ascii_lowercase();
        let name = tag.split([' ', '\n', '\t', '/']).next().unwrap_or("");
        assert!(
            !["script", "style", "object", "embed"].contains(&name),
            "<{name}> survived: {html}"
        );
        for (attribute, value) in attributes(&tag) {
            assert!(!attribute.starts_with("on"), "event handler survived: <{tag}>");
            // Browsers skip whitespace and control characters in a scheme.
            let url: String = value.chars().filter(|c| !c.is_whitespace() && !c.is_control()).collect();
            if ["href", "src", "action", "formaction", "poster", "xlink:href"].contains(&attribute.as_str()) {
                assert!(
                    !url.starts_with("javascript:") && !url.starts_with("vbscript:") && !url.starts_with("data:text/html"),
                    "script URL survived: <{tag}>"
                );
            }
        }
    }
}

/// The attributes of a tag's text (without `<` and `>`): name and value.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut chars = tag.chars().peekable();
    // Skip the tag name.
    while chars.next_if(|c| !c.is_whitespace()).is_some() {}
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == '/').is_some() {}
        let name: String = std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace() && *c != '=' && *c != '/')).collect();
        if name.is_empty() {
            return found;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            match chars.next_if(|c| *c == '"' || *c == '\'') {
                Some(quote) => value.extend(std::iter::from_fn(|| chars.next_if(|c| *c != quote))),
                None => value.extend(std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace()))),
            }
            chars.next();
        }
        found.push((name, value));
    }
}
