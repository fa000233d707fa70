//! Portal checks: what a government site inspection (国办秘函〔2019〕19号) or
//! the disclosure rules would fault, found at build time. Run on the
//! assembled [`Site`]; they only add diagnostics.
//!
//! - a 索引号 used twice (error);
//! - a publication date in the future beyond a tolerance (error: a page
//!   must never show a date that has not come — 伪造发稿日期);
//! - a 主题分类 outside the site's vocabulary, when it has one (error);
//! - a section with no reports and no text of its own (空白栏目, warning);
//! - a section whose newest item is older than its `update_interval`
//!   (warning).
//!
//! The build clock is an input (`now`), never read here, and never reaches
//! the output.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Config;
use crate::dates::Timestamp;
use crate::diagnostics::{Diagnostic, Diagnostics, did_you_mean};
use crate::paths::ContentPath;
use crate::site::{Section, Site};

/// A site's controlled 主题分类 vocabulary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocabulary {
    pub file: ContentPath,
    pub topics: BTreeSet<String>,
}

impl Vocabulary {
    /// Reads a vocabulary file: one topic per line; blank lines and lines
    /// starting with `#` are skipped; a leading `- ` (a YAML list) is allowed.
    pub fn parse(text: &str, file: ContentPath) -> Vocabulary {
        let topics = text
            .lines()
            .map(|l| {
                l.trim()
                    .trim_start_matches("- ")
                    .trim()
                    .trim_matches(['"', '\''])
            })
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        Vocabulary { file, topics }
    }
}

/// What the checks need besides the site.
pub struct CheckContext<'a> {
    /// The time of the build.
    pub now: Option<Timestamp>,
    pub vocabulary: Option<&'a Vocabulary>,
}

const DAY: i64 = 24 * 3600;

/// Runs every check.
pub fn run(site: &Site, config: &Config, cx: &CheckContext<'_>, diagnostics: &mut Diagnostics) {
    duplicate_index_numbers(site, diagnostics);
    if let Some(vocabulary) = cx.vocabulary {
        topics_in_vocabulary(site, vocabulary, diagnostics);
    }
    if let Some(now) = &cx.now {
        future_dates(site, now, config.checks.future_days, diagnostics);
    }
    let newest = newest_below(site);
    for section in site.sections.iter().skip(1) {
        let file = section_file(section);
        let line = section
            .front
            .as_ref()
            .and_then(|f| f.line("title"))
            .or(section.source.as_ref().map(|_| 1));
        match newest.get(&section.id.0) {
            // A section with only its own text is a page (About, 网站声明).
            None if config.checks.empty_sections && section.intro.is_none() => diagnostics.push(
                Diagnostic::warning(&file, line, format!("the section 「{}」 has no reports (空白栏目)", section.title))
                    .with_help("publish reports in it, or remove it: site inspections fail a portal with five or more empty sections"),
            ),
            Some(newest) => {
                let interval = section.front.as_ref().and_then(|f| f.update_interval);
                if let (Some(days), Some(now)) = (interval, &cx.now) {
                    let age = (now.instant() - newest.instant()) / DAY;
                    if age > days as i64 {
                        diagnostics.push(
                            Diagnostic::warning(
                                &file,
                                section.front.as_ref().and_then(|f| f.line("update_interval")),
                                format!(
                                    "the section 「{}」 was last updated {} ({age} days ago); it should be updated every {days} days",
                                    section.title,
                                    newest.date().iso()
                                ),
                            )
                            .with_help("publish the column's newest information, or change its update_interval"),
                        );
                    }
                }
            }
            None => {}
        }
    }
}

/// The file that stands for a section in diagnostics: its `_index.md`, or
/// its folder.
fn section_file(section: &Section) -> ContentPath {
    section.source.clone().unwrap_or_else(|| {
        ContentPath::from_relative(&format!(
            "content{}",
            section.url.as_str().trim_end_matches('/')
        ))
    })
}

/// Section index → the newest publication date of a report with a page below it.
fn newest_below(site: &Site) -> BTreeMap<u32, Timestamp> {
    let mut newest: BTreeMap<u32, Timestamp> = BTreeMap::new();
    for report in site.reports.iter().filter(|r| r.has_page) {
        let Some(date) = report.front.date_published else {
            continue;
        };
        let mut section = Some(report.section);
        while let Some(id) = section {
            let entry = newest.entry(id.0).or_insert(date);
            if date.instant() > entry.instant() {
                *entry = date;
            }
            section = site.section(id).parent;
        }
    }
    newest
}

fn duplicate_index_numbers(site: &Site, diagnostics: &mut Diagnostics) {
    let mut first: BTreeMap<&str, &ContentPath> = BTreeMap::new();
    let mut reports: Vec<_> = site
        .reports
        .iter()
        .filter(|r| r.front.index_no.is_some())
        .collect();
    reports.sort_by(|a, b| a.source.cmp(&b.source));
    for report in reports {
        let Some(index_no) = report.front.index_no.as_deref() else {
            continue;
        };
        match first.get(index_no) {
            Some(other) => diagnostics.push(
                Diagnostic::error(
                    &report.source,
                    report.front.line("index_no"),
                    format!("index_no `{index_no}` is also used by {other}"),
                )
                .with_help("each document's 索引号 must be unique on the site"),
            ),
            None => {
                first.insert(index_no, &report.source);
            }
        }
    }
}

fn future_dates(site: &Site, now: &Timestamp, days: u32, diagnostics: &mut Diagnostics) {
    let limit = now.instant() + days as i64 * DAY;
    for report in &site.reports {
        if let Some(date) = report.front.date_published
            && date.instant() > limit
        {
            diagnostics.push(
                Diagnostic::error(
                    &report.source,
                    report.front.line("date_published"),
                    format!("date_published {} is in the future", date.display()),
                )
                .with_help("a page may not show a publication date that has not come; keep the report as `draft: true` until the day it is published"),
            );
        }
    }
}

fn topics_in_vocabulary(site: &Site, vocabulary: &Vocabulary, diagnostics: &mut Diagnostics) {
    let known: Vec<&str> = vocabulary.topics.iter().map(String::as_str).collect();
    for report in &site.reports {
        for topic in &report.front.topics {
            if vocabulary.topics.contains(topic) {
                continue;
            }
            let help = match did_you_mean(topic, &known) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("use a topic listed in {}", vocabulary.file),
            };
            diagnostics.push(
                Diagnostic::error(
                    &report.source,
                    report.front.line("topics"),
                    format!("topic `{topic}` is not in the site's 主题分类 vocabulary"),
                )
                .with_help(help),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::tests::doc_with_body;

    fn config() -> Config {
        Config::parse(
            "name: 测试\nbase_url: https://a.gov.cn/\n",
            &ContentPath::from_relative("site.yaml"),
        )
        .unwrap()
        .0
    }

    fn site(files: &[(&str, &str)]) -> Site {
        let docs = files
            .iter()
            .map(|(path, front)| doc_with_body(path, front, ""))
            .collect();
        let mut d = Diagnostics::new();
        let site = crate::site::assemble(&config(), docs, vec![], &mut d);
        assert!(!d.has_errors(), "{d:?}");
        site
    }

    fn check(site: &Site, now: &str, vocabulary: Option<&Vocabulary>) -> Vec<Diagnostic> {
        let now = Timestamp::parse(now, config().timezone).ok();
        let mut d = Diagnostics::new();
        run(site, &config(), &CheckContext { now, vocabulary }, &mut d);
        d.sorted()
    }

    const CATALOGUED: &str = "summary: 摘要\ntopics: [综合政务]\ndate_published: 2023-01-10";

    #[test]
    fn duplicate_index_numbers_are_errors() {
        let s = site(&[
            (
                "content/a/a.md",
                &format!("title: A\nindex_no: X-1\n{CATALOGUED}"),
            ),
            (
                "content/a/b.md",
                &format!("title: B\nindex_no: X-1\n{CATALOGUED}"),
            ),
            (
                "content/a/c.md",
                &format!("title: C\nindex_no: X-2\n{CATALOGUED}"),
            ),
        ]);
        let d = check(&s, "2023-02-01", None);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].file.as_ref().unwrap().as_str(), "content/a/b.md");
        assert_eq!(d[0].line, Some(3));
        assert!(d[0].message.contains("content/a/a.md"));
    }

    #[test]
    fn future_dates_beyond_the_tolerance_are_errors() {
        let s = site(&[(
            "content/a/a.md",
            "title: A\ndate_published: 2023-01-10 09:00",
        )]);
        assert!(
            check(&s, "2023-01-09 12:00", None).is_empty(),
            "within a day"
        );
        let d = check(&s, "2023-01-05", None);
        assert_eq!(d.len(), 1);
        assert!(d[0].is_error() && d[0].message.contains("in the future"));
    }

    #[test]
    fn empty_and_stale_sections_are_warnings() {
        let s = site(&[
            ("content/empty/_index.md", "title: 空栏目"),
            ("content/news/_index.md", "title: 动态\nupdate_interval: 14"),
            ("content/news/a.md", "title: A\ndate_published: 2023-01-10"),
        ]);
        let d = check(&s, "2023-01-20", None);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].message.contains("空栏目") && !d[0].is_error());
        let d = check(&s, "2023-03-01", None);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[1].message
                .contains("last updated 2023-01-10 (50 days ago)"),
            "{}",
            d[1]
        );
        assert_eq!(d[1].line, Some(3));
    }

    #[test]
    fn topics_outside_the_vocabulary_are_errors_with_a_hint() {
        let s = site(&[(
            "content/a/a.md",
            &format!(
                "title: A\nindex_no: X-1\n{}",
                CATALOGUED.replace("综合政务", "综合政物")
            ),
        )]);
        let vocabulary = Vocabulary::parse(
            "# 主题分类\n综合政务\n- 财政、审计\n",
            ContentPath::from_relative("topics.txt"),
        );
        assert_eq!(vocabulary.topics.len(), 2);
        let d = check(&s, "2023-02-01", Some(&vocabulary));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].help.as_deref(), Some("did you mean `综合政务`?"));
        let ok = site(&[(
            "content/a/a.md",
            &format!("title: A\nindex_no: X-1\n{CATALOGUED}"),
        )]);
        assert!(check(&ok, "2023-02-01", Some(&vocabulary)).is_empty());
    }
}
