//! The one place YAML is read (`site.yaml`, front matter, theme strings), so
//! that replacing the YAML crate is a one-file change.
//!
//! Errors come back as [`Diagnostic`]s in the user's terms: the line in the
//! user's file (not in the YAML fragment), no parser jargon where it can be
//! avoided, and a "did you mean" hint for a misspelt key.

use serde::de::DeserializeOwned;

use crate::diagnostics::{Diagnostic, unknown_field, unknown_key, unknown_key_message};
use crate::paths::ContentPath;

/// Deserializes `text`, which starts on line `first_line` of `file`.
///
/// One problem stops the parser; the exception is unknown top-level keys,
/// which are all reported together, so that a file migrated from another
/// generator shows every key to rename in one build.
pub fn parse<T: DeserializeOwned>(
    text: &str,
    file: &ContentPath,
    first_line: usize,
) -> Result<T, Vec<Diagnostic>> {
    serde_yaml::from_str(text).map_err(|err| {
        let raw = err.to_string();
        let message = raw.split(" at line ").next().unwrap_or(&raw);
        if let Some((_, expected)) = unknown_field(message) {
            let unknown: Vec<Diagnostic> = top_level_keys(text)
                .into_iter()
                .filter(|(key, _)| !expected.contains(&key.as_str()))
                .map(|(key, line)| {
                    let (message, help) = unknown_key(&key, &expected);
                    Diagnostic::error(file, Some(line + first_line - 1), message).with_help(help)
                })
                .collect();
            if !unknown.is_empty() {
                return unknown;
            }
        }
        vec![diagnostic(text, file, first_line, &err)]
    })
}

/// A serde_yaml error as a diagnostic in the user's terms.
fn diagnostic(
    text: &str,
    file: &ContentPath,
    first_line: usize,
    err: &serde_yaml::Error,
) -> Diagnostic {
    let line = err.location().map(|l| l.line() + first_line - 1);
    let raw = err.to_string();
    // serde_yaml appends " at line L column C"; the diagnostic has the line.
    let without_mark = raw.split(" at line ").next().unwrap_or(&raw);
    let (key_path, message) = match without_mark.split_once(": ") {
        Some((path, message)) if !path.contains(' ') => (Some(path), message),
        _ => (None, without_mark),
    };
    let in_key = |m: String| match key_path {
        Some(path) => format!("{path}: {m}"),
        None => m,
    };
    // Our own deserializers' errors carry no path: name the key that stands
    // on the line instead.
    let key_on_line = key_path.map(str::to_string).or_else(|| {
        let at = err.location()?.line();
        top_level_keys(text)
            .into_iter()
            .find(|(_, line)| *line == at)
            .map(|(key, _)| key)
    });
    let on_line = |m: String| match &key_on_line {
        Some(key) => format!("{key}: {m}"),
        None => m,
    };
    if let Some((message, help)) = unknown_key_message(message) {
        return Diagnostic::error(file, line, in_key(message)).with_help(help);
    }
    if let Some(key) = message
        .strip_prefix("duplicate field `")
        .and_then(|rest| rest.split('`').next())
    {
        // serde_yaml points at the mapping, not at the repeated key.
        let lines: Vec<usize> = key_lines(text, key).map(|l| l + first_line - 1).collect();
        let (line, help) = match lines.as_slice() {
            [first, second, ..] => (
                Some(*second),
                format!("`{key}` is also set on line {first}; keep only one of them"),
            ),
            _ => (line, format!("keep only one `{key}`")),
        };
        return Diagnostic::error(file, line, in_key(format!("duplicate key `{key}`")))
            .with_help(help);
    }
    if let Some(value) = message
        .strip_prefix("invalid type: string \"")
        .and_then(|rest| rest.strip_suffix("\", expected a boolean"))
    {
        return Diagnostic::error(
            file,
            line,
            in_key(format!("`{value}` is not true or false")),
        )
        .with_help("write `true` or `false` (YAML 1.2 reads `yes`, `no`, `on` and `off` as text)");
    }
    let line_text = line.and_then(|l| text.lines().nth(l.checked_sub(first_line)?));
    if line_text.is_some_and(|t| t.trim_start_matches(' ').starts_with('\t')) {
        return Diagnostic::error(file, line, "this line is indented with a tab")
            .with_help("YAML indents with spaces only: replace the tab with two spaces");
    }
    if message == "expected text, found a list or a mapping" {
        return Diagnostic::error(file, line, on_line(message.to_string())).with_help(
            "write one value on the line, e.g. `title: 关于印发…的通知`; lists (`[a, b]`) are for keys \
             that take several values, such as tags and topics",
        );
    }
    if message.starts_with("duplicate entry") {
        return Diagnostic::error(file, line, in_key(message.to_string()))
            .with_help("each key may appear only once in a mapping");
    }
    Diagnostic::error(file, line, on_line(message.to_string())).with_help(
            "check the YAML syntax: `key: value` per line, indent nested keys with spaces (not tabs), \
             and quote values that contain `: ` or start with a special character such as `*`, `&`, `[` or `{`",
        )
}

/// The 1-based line of `text` on which the top-level `key:` stands.
pub fn key_line(text: &str, key: &str) -> Option<usize> {
    key_lines(text, key).next()
}

/// The 1-based line of the first `key: value` (at any depth) whose value is
/// `value`, as for `- { title: …, file: a.pdf }` or `  file: a.pdf`.
pub fn value_line(text: &str, key: &str, value: &str) -> Option<usize> {
    let plain = format!("{key}: {value}");
    let quoted = format!("{key}: \"{value}\"");
    let single = format!("{key}: '{value}'");
    text.lines()
        .position(|line| line.contains(&plain) || line.contains(&quoted) || line.contains(&single))
        .map(|i| i + 1)
}

/// The 1-based line of a nested key such as `gip_stats` › `requests` ›
/// `total`, found by following the keys down the indentation.
pub fn nested_key_line(text: &str, keys: &[&str]) -> Option<usize> {
    let mut want = keys.iter();
    let mut key = want.next()?;
    let mut min_indent = 0;
    for (index, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let content = line.trim_start().trim_start_matches("- ");
        if indent < min_indent && !line.trim().is_empty() && index > 0 {
            // Left the block of the key found last: stop looking.
            return None;
        }
        let matches = content
            .strip_prefix(*key)
            .is_some_and(|rest| rest.trim_start().starts_with(':'));
        if matches && indent >= min_indent {
            match want.next() {
                Some(next) => {
                    key = next;
                    min_indent = indent + 1;
                }
                None => return Some(index + 1),
            }
        }
    }
    None
}

/// Every top-level key of `text` with its 1-based line.
pub fn top_level_keys(text: &str) -> Vec<(String, usize)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.starts_with(|c: char| !c.is_whitespace() && c != '#' && c != '-'))
        .filter_map(|(i, line)| {
            let (key, _) = line.split_once(':')?;
            Some((key.trim().trim_matches(['"', '\'']).to_string(), i + 1))
        })
        .collect()
}

/// Every 1-based line of `text` on which a top-level `key:` stands.
fn key_lines<'a>(text: &'a str, key: &'a str) -> impl Iterator<Item = usize> + 'a {
    text.lines()
        .enumerate()
        .filter(move |(_, line)| {
            let quoted = |quote: char| {
                line.strip_prefix(quote)?
                    .strip_prefix(key)?
                    .strip_prefix(quote)
            };
            let rest = line
                .strip_prefix(key)
                .or_else(|| quoted('"'))
                .or_else(|| quoted('\''));
            rest.is_some_and(|rest| rest.trim_start_matches([' ', '\t']).starts_with(':'))
        })
        .map(|(index, _)| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        title: String,
        slug: Option<String>,
    }

    fn file() -> ContentPath {
        ContentPath::from_relative("content/a.md")
    }

    #[test]
    fn reports_the_line_in_the_users_file() {
        let err = parse::<Sample>("title: a\nslug: [\n", &file(), 2)
            .unwrap_err()
            .remove(0);
        assert_eq!(err.file, Some(file()));
        assert!(matches!(err.line, Some(3) | Some(4)), "{err}");
    }

    #[test]
    fn unknown_key_gets_a_hint() {
        let err = parse::<Sample>("title: a\nslgu: b\n", &file(), 2)
            .unwrap_err()
            .remove(0);
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("unknown key `slgu`"), "{err}");
        assert_eq!(err.help.as_deref(), Some("did you mean `slug`?"));
    }

    #[test]
    fn every_unknown_key_is_reported_at_once() {
        let errs =
            parse::<Sample>("title: a\nslgu: b\n# note\nlayout: post\n", &file(), 2).unwrap_err();
        let found: Vec<(Option<usize>, &str)> =
            errs.iter().map(|e| (e.line, e.message.as_str())).collect();
        assert_eq!(
            found,
            [
                (Some(3), "unknown key `slgu`"),
                (Some(5), "unknown key `layout`")
            ]
        );
    }

    #[test]
    fn duplicate_key_names_both_lines() {
        let err = parse::<Sample>("title: a\nslug: b\ntitle: c\n", &file(), 2)
            .unwrap_err()
            .remove(0);
        assert!(err.message.contains("duplicate key `title`"), "{err}");
        assert_eq!(err.line, Some(4), "{err}");
        assert!(err.help.unwrap().contains("line 2"));
    }

    #[test]
    fn nested_keys_are_found_by_indentation() {
        let text = "total: 1\ngip_stats:\n  requests:\n    received: [1]\n    total: [2]\n  appeals:\n    review:\n      total: 3\n";
        assert_eq!(
            nested_key_line(text, &["gip_stats", "requests", "total"]),
            Some(5)
        );
        assert_eq!(
            nested_key_line(text, &["gip_stats", "appeals", "review", "total"]),
            Some(8)
        );
        assert_eq!(nested_key_line(text, &["gip_stats", "nothing"]), None);
        assert_eq!(
            value_line(
                "attachments:\n  - { title: a, file: x.pdf }\n",
                "file",
                "x.pdf"
            ),
            Some(2)
        );
    }

    #[test]
    fn key_line_finds_top_level_keys() {
        assert_eq!(key_line("a: 1\nbase_url : x\n", "base_url"), Some(2));
        assert_eq!(key_line("a: 1\n  base_url: x\n", "base_url"), None);
        // Quoted either way, and only with the quote closed.
        assert_eq!(key_line("a: 1\n\"title\": x\n", "title"), Some(2));
        assert_eq!(key_line("'title' : x\n", "title"), Some(1));
        assert_eq!(key_line("\"title: x\n'title\": x\n", "title"), None);
        assert_eq!(key_line("\"titles\": x\n", "title"), None);
    }
}
