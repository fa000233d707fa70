//! How Gazette talks to a person at a terminal: diagnostics with the
//! offending source line under a caret (as rustc does), repeated warnings
//! summarised, colour only on a terminal and never with `NO_COLOR`, and a
//! progress bar for builds that take more than a moment.
//!
//! The first line of each diagnostic stays `error: FILE:LINE: message`, so
//! editors and CI tools that read `file:line:` keep working; everything
//! added here is on the lines after it.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use unicode_width::UnicodeWidthStr;

use crate::build::Progress;
use crate::diagnostics::{Diagnostic, Severity};

/// Whether to colour what is written to stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// Colour when stderr is a terminal and `NO_COLOR` is unset or empty
    /// (<https://no-color.org>).
    pub fn for_stderr() -> Style {
        Style::when(std::io::stderr().is_terminal())
    }

    /// The same for what is written to stdout.
    pub fn for_stdout() -> Style {
        Style::when(std::io::stdout().is_terminal())
    }

    fn when(terminal: bool) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: terminal && !no_color,
        }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// More warnings of one kind than this are summarised (unless verbose).
const SHOWN_PER_KIND: usize = 5;
/// Source lines longer than this are cut, in display columns.
const SNIPPET_WIDTH: usize = 100;

/// `n` and `what`, plural unless `n` is one: "1 warning", "0 errors".
pub fn counted(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Renders diagnostics for a person: each with its source line and a
/// caret, warnings of one kind beyond the first five summarised in one
/// line unless `verbose`. Errors are never summarised.
pub fn render_all(diagnostics: &[Diagnostic], root: &Path, style: Style, verbose: bool) -> String {
    let mut sources = Sources::new(root);
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = String::new();
    for d in diagnostics {
        if d.severity == Severity::Warning && !verbose {
            let seen = per_kind.entry(kind(d)).or_default();
            *seen += 1;
            if *seen > SHOWN_PER_KIND {
                continue;
            }
        }
        out.push_str(&render(d, &mut sources, style));
        out.push('\n');
    }
    for (kind, count) in per_kind {
        if count > SHOWN_PER_KIND {
            let more = count - SHOWN_PER_KIND;
            let _ = writeln!(
                out,
                "{}: … and {more} more like “{kind}” (`gazette build --verbose` or `gazette check` lists them all)",
                style.paint("1;33", "warning"),
            );
        }
    }
    out
}

/// What makes two warnings the same kind: their help text (the advice is
/// the same for every empty section, every image without alt text…), or
/// their message when they have none.
fn kind(d: &Diagnostic) -> &str {
    match &d.help {
        Some(help) => help,
        None => &d.message,
    }
}

/// One diagnostic: the `error: FILE:LINE: message` line, the source line
/// with a caret under it, and the help.
fn render(d: &Diagnostic, sources: &mut Sources, style: Style) -> String {
    let (label, color) = match d.severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
    };
    let mut out = format!("{}: ", style.paint(color, label));
    match (&d.file, d.line) {
        (Some(file), Some(line)) => {
            let _ = write!(out, "{}: ", style.paint("1", &format!("{file}:{line}")));
        }
        (Some(file), None) => {
            let _ = write!(out, "{}: ", style.paint("1", file.as_str()));
        }
        _ => {}
    }
    out.push_str(&d.message);
    if let (Some(file), Some(line)) = (&d.file, d.line)
        && let Some(text) = sources.line(file.as_str(), line)
    {
        out.push('\n');
        out.push_str(&snippet(line, text, color, style));
    }
    if let Some(help) = &d.help {
        let _ = write!(out, "\n  {}: {help}", style.paint("1;36", "help"));
    }
    out
}

/// `12 | text` with carets under the text's non-blank extent.
fn snippet(line: usize, text: &str, color: &str, style: Style) -> String {
    let number = line.to_string();
    let gutter = " ".repeat(number.len());
    let text = text.trim_end();
    let shown = cut(text, SNIPPET_WIDTH);
    let indent = shown.len() - shown.trim_start().len();
    let lead = shown[..indent].width() + shown[..indent].matches('\t').count() * 3;
    let body = shown[indent..].replace('\t', "    ");
    let width = body.width().max(1);
    format!(
        "{gutter} {bar}\n{} {bar} {}\n{gutter} {bar} {}{}",
        style.paint("1;34", &number),
        shown.replace('\t', "    "),
        " ".repeat(lead),
        style.paint(color, &"^".repeat(width)),
        bar = style.paint("1;34", "|"),
    )
}

/// `text` cut to at most `columns` display columns, with `…` when cut.
fn cut(text: &str, columns: usize) -> String {
    if text.width() <= columns {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if (out.as_str().width() + c.to_string().as_str().width()) >= columns {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// The site's files, read once each, by their path from the site root.
struct Sources<'a> {
    root: &'a Path,
    files: HashMap<String, Option<Vec<String>>>,
}

impl<'a> Sources<'a> {
    fn new(root: &'a Path) -> Self {
        Sources {
            root,
            files: HashMap::new(),
        }
    }

    fn line(&mut self, file: &str, line: usize) -> Option<&str> {
        let root = self.root;
        let lines = self.files.entry(file.to_string()).or_insert_with(|| {
            let bytes = std::fs::read(root.join(file)).ok()?;
            let text = String::from_utf8(bytes).ok()?;
            // Counted as the parser counts them, so the line shown is the
            // line the diagnostic names.
            Some(
                crate::content::unify_line_ends(&text)
                    .lines()
                    .map(str::to_string)
                    .collect(),
            )
        });
        let text = lines.as_ref()?.get(line.checked_sub(1)?)?;
        (!text.trim().is_empty()).then_some(text.as_str())
    }
}

/// A progress bar on stderr for the stages of a build: drawn only on a
/// terminal, only once the build has taken more than a moment (or has
/// thousands of reports ahead), and gone before anything else is printed.
pub struct ProgressBar {
    bar: indicatif::ProgressBar,
    /// Whether stderr is a terminal and the bar may be drawn at all.
    allowed: bool,
    shown: AtomicBool,
}

/// How long a build runs before its progress is shown.
const SHOW_AFTER: Duration = Duration::from_millis(300);

impl ProgressBar {
    /// A bar over the build's stages; never drawn when `quiet` or when
    /// stderr is not a terminal.
    pub fn for_build(quiet: bool) -> ProgressBar {
        ProgressBar {
            bar: indicatif::ProgressBar::with_draw_target(
                Some(0),
                indicatif::ProgressDrawTarget::hidden(),
            ),
            allowed: !quiet && std::io::stderr().is_terminal(),
            shown: AtomicBool::new(false),
        }
    }

    /// Removes the bar from the screen.
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for ProgressBar {
    fn stage(&self, name: &str, items: usize) {
        let template = if items == 0 {
            "{spinner} {msg}"
        } else {
            "{spinner} {msg:<26} [{bar:30}] {pos}/{len}"
        };
        self.bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner())
                .progress_chars("=> "),
        );
        self.bar.set_message(name.to_string());
        self.bar.set_length(items as u64);
        self.bar.set_position(0);
        if self.allowed
            && !self.shown.load(Ordering::Relaxed)
            && (self.bar.elapsed() > SHOW_AFTER || items > 2_000)
        {
            self.shown.store(true, Ordering::Relaxed);
            self.bar
                .set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(10));
            self.bar.enable_steady_tick(Duration::from_millis(100));
        }
    }

    fn advance(&self, n: usize) {
        self.bar.inc(n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::ContentPath;

    #[test]
    fn a_diagnostic_shows_its_line_under_a_caret() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("content")).unwrap();
        std::fs::write(
            dir.path().join("content/a.md"),
            "---\ntitle: 标题\n  date_published: 2022-12-24\n---\n",
        )
        .unwrap();
        let file = ContentPath::from_relative("content/a.md");
        let d =
            Diagnostic::error(&file, Some(3), "bad indentation").with_help("indent with spaces");
        let text = render_all(&[d], dir.path(), Style { color: false }, false);
        assert_eq!(
            text,
            "error: content/a.md:3: bad indentation\n  |\n3 |   date_published: 2022-12-24\n  |   ^^^^^^^^^^^^^^^^^^^^^^^^^^\n  help: indent with spaces\n"
        );
    }

    #[test]
    fn carets_cover_wide_characters_and_long_lines_are_cut() {
        let shown = snippet(7, "title: 标题", "1", Style { color: false });
        assert_eq!(shown.lines().last(), Some("  | ^^^^^^^^^^^"));
        let long = "很".repeat(80);
        let shown = snippet(1, &long, "1", Style { color: false });
        let line = shown.lines().nth(1).unwrap();
        assert!(
            line.ends_with('…') && line.width() <= SNIPPET_WIDTH + 4,
            "{line}"
        );
    }

    #[test]
    fn many_warnings_of_one_kind_are_summarised_unless_verbose() {
        let dir = tempfile::tempdir().unwrap();
        let warnings: Vec<Diagnostic> = (0..12)
            .map(|i| {
                Diagnostic::warning(
                    &ContentPath::from_relative(&format!("content/s{i}/_index.md")),
                    None,
                    format!("the section s{i} is empty"),
                )
                .with_help("publish reports in it, or remove it")
            })
            .collect();
        let text = render_all(&warnings, dir.path(), Style { color: false }, false);
        assert_eq!(text.matches("warning: content/").count(), SHOWN_PER_KIND);
        assert!(
            text.contains("… and 7 more like “publish reports in it, or remove it”"),
            "{text}"
        );
        let all = render_all(&warnings, dir.path(), Style { color: false }, true);
        assert_eq!(all.matches("warning: content/").count(), 12);
    }

    #[test]
    fn colour_wraps_the_label_only_when_asked() {
        let d = Diagnostic::error(&ContentPath::from_relative("site.yaml"), None, "x");
        let plain = render_all(
            std::slice::from_ref(&d),
            Path::new("/nonexistent"),
            Style { color: false },
            false,
        );
        assert!(!plain.contains('\x1b'));
        let coloured = render_all(
            &[d],
            Path::new("/nonexistent"),
            Style { color: true },
            false,
        );
        assert!(
            coloured.starts_with("\x1b[1;31merror\x1b[0m: "),
            "{coloured:?}"
        );
    }
}
