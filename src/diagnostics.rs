//! What a build has to say about its input: errors and warnings, each with the
//! file and line it concerns, what is wrong and how to fix it.
//!
//! Every stage collects its diagnostics instead of stopping at the first one,
//! so one build reports every problem at once, sorted by file and line — never
//! just the one a worker thread happened to hit first.

use std::fmt;

use crate::paths::ContentPath;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    let rest = serde_message.strip_prefix("unknown field `")?;
    let (unknown, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let message = format!("unknown key `{unknown}`");
    let help = match did_you_mean(unknown, &expected) {
        Some(close) => format!("did you mean `{close}`?"),
        None if expected.is_empty() => "remove this key".to_string(),
        None => format!(
            "the keys allowed here are: {}; put your own data under `extra:`",
            expected.join(", ")
        ),
    };
    Some((message, help))
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
