//! What a build has to say about its input: errors and warnings, each with the
//! file and line it concerns, what is wrong and how to fix it.
//!
//! Every stage collects its diagnostics instead of stopping at the first one,
//! so one build reports every problem at once, sorted by file and line — never
//! just the one a worker thread happened to hit first.

use std::fmt;

use crate::paths::ContentPath;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in the input.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file concerned; `None` for problems of the build as a whole.
    pub file: Option<ContentPath>,
    /// 1-based line in `file`, where known.
    pub line: Option<usize>,
    pub message: String,
    /// How to fix it, in the user's terms.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(file: &ContentPath, line: Option<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: Some(file.clone()),
            line,
            message: message.into(),
            help: None,
        }
    }

    pub fn warning(file: &ContentPath, line: Option<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, line, message)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    fn sort_key(&self) -> (Option<&ContentPath>, Option<usize>, Severity, &str) {
        (self.file.as_ref(), self.line, self.severity, &self.message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{label}: ")?;
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{file}:{line}: ")?,
            (Some(file), None) => write!(f, "{file}: ")?,
            _ => {}
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// All diagnostics of a build, kept sorted by file, line and severity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Diagnostics(Vec::new())
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn extend(&mut self, more: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(more);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.0.len() - self.error_count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The diagnostics in report order: by file, then line, errors first.
    pub fn sorted(mut self) -> Vec<Diagnostic> {
        self.0.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.0.dedup();
        self.0
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.sorted().into_iter()
    }
}

/// The closest of `candidates` to `unknown`, if one is close enough to be
/// what the user meant.
pub fn did_you_mean<'a>(unknown: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(unknown, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Rewrites serde's "unknown field `x`, expected one of `a`, `b`" into a
/// message in the user's terms with a "did you mean" hint.
///
/// Returns the message and the help text, or `None` when `serde_message` is
/// not about an unknown field.
pub fn unknown_key_message(serde_message: &str) -> Option<(String, String)> {
    if let Some(rest) = serde_message.strip_prefix("unknown variant `") {
        let (unknown, rest) = rest.split_once('`')?;
        let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
        let message = format!("`{unknown}` is not one of the allowed values");
        let help = match did_you_mean(unknown, &expected) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("use one of: {}", expected.join(", ")),
        };
        return Some((message, help));
    }
    let (unknown, expected) = unknown_field(serde_message)?;
    Some(unknown_key(unknown, &expected))
}

/// The key and the allowed keys of serde's "unknown field `x`, expected one
/// of `a`, `b`" message.
pub fn unknown_field(serde_message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = serde_message.strip_prefix("unknown field `")?;
    let (unknown, rest) = rest.split_once('`')?;
    Some((unknown, rest.split('`').skip(1).step_by(2).collect()))
}

/// The message and help for `unknown`, a key not among `expected`.
pub fn unknown_key(unknown: &str, expected: &[&str]) -> (String, String) {
    let message = format!("unknown key `{unknown}`");
    let help = if let Some(help) = foreign_key_help(unknown, expected) {
        help
    } else {
        match did_you_mean(unknown, expected) {
            Some(close) => format!("did you mean `{close}`?"),
            None if expected.is_empty() => "remove this key".to_string(),
            None => format!(
                "the keys allowed here are: {}; put your own data under `extra:`",
                expected.join(", ")
            ),
        }
    };
    (message, help)
}

/// Front matter keys of Hugo, Jekyll and Eleventy, and what Gazette calls
/// the same thing (`None`: Gazette has no such setting).
const FOREIGN_KEYS: &[(&str, Option<&str>, &str)] = &[
    ("date", Some("date_published"), "Hugo, Jekyll and Eleventy"),
    ("publishDate", Some("date_published"), "Hugo"),
    ("pubDate", Some("date_published"), "Astro"),
    ("lastmod", Some("date_updated"), "Hugo"),
    ("last_modified_at", Some("date_updated"), "Jekyll"),
    ("updated", Some("date_updated"), "Hexo"),
    ("modified", Some("date_updated"), "Pelican"),
    ("description", Some("summary"), "Hugo and Eleventy"),
    ("excerpt", Some("summary"), "Jekyll"),
    ("categories", Some("topics"), "Hugo and Jekyll"),
    ("category", Some("topics"), "Jekyll"),
    ("aliases", Some("old_paths"), "Hugo"),
    ("redirect_from", Some("old_paths"), "Jekyll"),
    ("permalink", Some("slug"), "Jekyll and Eleventy"),
    ("url", Some("slug"), "Hugo"),
    ("layout", None, "Jekyll and Eleventy"),
    ("type", None, "Hugo"),
    ("published", Some("draft"), "Jekyll"),
    ("expiryDate", Some("validity"), "Hugo"),
];

/// Help for a key another generator uses, when `expected` (the keys allowed
/// where it stands) shows it is front matter.
fn foreign_key_help(unknown: &str, expected: &[&str]) -> Option<String> {
    if !expected.contains(&"date_published") {
        return None;
    }
    let (_, ours, theirs) = FOREIGN_KEYS.iter().find(|(key, ..)| *key == unknown)?;
    // "Hugo calls", "Hugo and Jekyll call".
    let s = if theirs.contains(" and ") { "" } else { "s" };
    Some(match (unknown, ours) {
        ("published", _) => {
            format!("`published: false` is how {theirs} hides a page; Gazette writes `draft: true`")
        }
        ("permalink" | "url", _) => format!(
            "{theirs} set{s} the whole address with `{unknown}`; Gazette builds it from the file's folder and `slug:` \
             (one URL segment), and keeps old addresses working with `old_paths:`"
        ),
        ("expiryDate", _) => format!(
            "{theirs} hides a page after `expiryDate`; Gazette keeps the document and shows its status: \
             write `validity: expired` (失效) when it no longer applies"
        ),
        (_, Some(ours)) => {
            format!("{theirs} call{s} it `{unknown}`; in Gazette it is `{ours}`: rename the key")
        }
        (_, None) => format!(
            "{theirs} choose{s} a template with `{unknown}`; Gazette gives every report its page, share and print \
             layouts itself: remove the key (or move it under `extra:` to keep it for your own templates)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_sort_by_file_then_line() {
        let b = ContentPath::from_relative("content/b.md");
        let a = ContentPath::from_relative("content/a.md");
        let mut all = Diagnostics::new();
        all.push(Diagnostic::error(&b, Some(1), "x"));
        all.push(Diagnostic::error(&a, Some(9), "y"));
        all.push(Diagnostic::error(&a, Some(2), "z"));
        let order: Vec<String> = all
            .sorted()
            .iter()
            .map(|d| format!("{}:{}", d.file.as_ref().unwrap(), d.line.unwrap()))
            .collect();
        assert_eq!(
            order,
            ["content/a.md:2", "content/a.md:9", "content/b.md:1"]
        );
    }

    #[test]
    fn unknown_key_suggests_the_close_one() {
        let (message, help) =
            unknown_key_message("unknown field `titel`, expected one of `title`, `slug`").unwrap();
        assert_eq!(message, "unknown key `titel`");
        assert_eq!(help, "did you mean `title`?");
    }

    #[test]
    fn unknown_key_lists_keys_when_nothing_is_close() {
        let (_, help) =
            unknown_key_message("unknown field `zzz`, expected `title` or `slug`").unwrap();
        assert!(help.contains("title, slug"), "{help}");
    }
}
