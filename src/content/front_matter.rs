//! Front matter: the `---` YAML block at the top of every content file,
//! split from the Markdown body and read into a typed [`FrontMatter`].
//!
//! Pure functions of `&str`: nothing here touches the disk. Every problem is
//! reported with the line of the user's file it is on, and all problems of
//! one file are reported together.

use std::collections::BTreeMap;

use chrono::FixedOffset;
use serde::{Deserialize, Deserializer};

use super::annual_report::GipStats;
use super::disclosure::{AttachmentRef, Disclosure, DocType, RelatedLink, Validity, doc_no_fix};
use crate::config::Language;
use crate::dates::{CalendarDate, Timestamp};
use crate::diagnostics::Diagnostic;
use crate::paths::ContentPath;
use crate::yaml;

/// A file split into its front matter and body, with line numbers kept.
#[derive(Debug, PartialEq, Eq)]
pub struct Split<'a> {
    /// The YAML between the delimiters.
    pub yaml: &'a str,
    /// The line of the file on which the YAML starts.
    pub yaml_line: usize,
    /// The Markdown after the closing delimiter.
    pub body: &'a str,
    /// The line of the file on which the body starts.
    pub body_line: usize,
}

/// Why a file could not be split.
#[derive(Debug, PartialEq, Eq)]
pub enum SplitError {
    /// The first non-blank line is not `---`.
    NoFrontMatter { line: usize },
    /// The opening `---` has no closing `---`.
    Unclosed { line: usize },
    /// The file starts with another generator's front matter: TOML between
    /// `+++` lines or a JSON object (Hugo).
    Foreign { line: usize, format: &'static str },
}

fn is_delimiter(line: &str) -> bool {
    line.trim_end() == "---"
}

/// Splits `text` (BOM removed, `\n` line endings) into front matter and body.
/// Blank lines before the opening `---` and trailing spaces on either
/// delimiter line are accepted; `...` also closes the block, as in YAML.
pub fn split(text: &str) -> Result<Split<'_>, SplitError> {
    let mut offset = 0;
    let mut line_no = 1;
    let mut lines = text.split_inclusive('\n');
    // Find the opening delimiter.
    loop {
        let Some(line) = lines.next() else {
            return Err(SplitError::NoFrontMatter {
                line: line_no.max(1),
            });
        };
        offset += line.len();
        if line.trim().is_empty() {
            line_no += 1;
            continue;
        }
        if is_delimiter(line) {
            break;
        }
        let foreign = match line.trim_end() {
            "+++" => Some("TOML"),
            "{" => Some("JSON"),
            _ => None,
        };
        return Err(match foreign {
            Some(format) => SplitError::Foreign {
                line: line_no,
                format,
            },
            None => SplitError::NoFrontMatter { line: line_no },
        });
    }
    let open_line = line_no;
    let yaml_start = offset;
    let yaml_line = line_no + 1;
    line_no += 1;
    for line in lines {
        if is_delimiter(line) || line.trim_end() == "..." {
            let body_start = offset + line.len();
            return Ok(Split {
                yaml: &text[yaml_start..offset],
                yaml_line,
                body: &text[body_start..],
                body_line: line_no + 1,
            });
        }
        offset += line.len();
        line_no += 1;
    }
    Err(SplitError::Unclosed { line: open_line })
}

/// A scalar read as text whatever YAML made of it: `slug: 124062` and
/// `year: 2022` are strings to us, as they were to the author.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Scalar {
            String(String),
            Int(i64),
            Float(f64),
            Bool(bool),
        }
        match Scalar::deserialize(deserializer)
            .map_err(|_| serde::de::Error::custom("expected text, found a list or a mapping"))?
        {
            Scalar::String(s) => Ok(Text(s)),
            Scalar::Int(n) => Ok(Text(n.to_string())),
            Scalar::Float(n) => Ok(Text(n.to_string())),
            Scalar::Bool(b) => Ok(Text(b.to_string())),
        }
    }
}

/// A list that may be written as one value: `tags: 法治` or `tags: [法治, 年报]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct TextList(Vec<String>);

impl<'de> Deserialize<'de> for TextList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(Text),
            Many(Vec<Text>),
        }
        match OneOrMany::deserialize(deserializer)
            .map_err(|_| serde::de::Error::custom("expected text or a list of texts"))?
        {
            OneOrMany::One(t) => Ok(TextList(vec![t.0])),
            OneOrMany::Many(v) => Ok(TextList(v.into_iter().map(|t| t.0).collect())),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignature {
    name: Option<Text>,
    date: Option<Text>,
}

/// Front matter as written; every field optional so that all problems of a
/// file can be found in one pass.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFrontMatter {
    title: Option<Text>,
    subtitle: Option<Text>,
    date_published: Option<Text>,
    date_written: Option<Text>,
    date_updated: Option<Text>,
    issuer: Option<Text>,
    source: Option<Text>,
    author: Option<Text>,
    summary: Option<Text>,
    #[serde(default)]
    tags: TextList,
    #[serde(default)]
    keywords: TextList,
    slug: Option<Text>,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    sample: bool,
    lang: Option<Text>,
    signature: Option<RawSignature>,
    weight: Option<i64>,
    update_interval: Option<u32>,
    index_no: Option<Text>,
    doc_no: Option<Text>,
    doc_type: Option<DocType>,
    #[serde(default)]
    topics: TextList,
    catalogue: Option<Text>,
    column: Option<Text>,
    #[serde(default)]
    disclosure: Disclosure,
    validity: Option<Validity>,
    superseded_by: Option<Text>,
    change_note: Option<Text>,
    date_effective: Option<Text>,
    year: Option<Text>,
    addressee: Option<Text>,
    note: Option<Text>,
    #[serde(default)]
    related: Vec<RelatedLink>,
    #[serde(default)]
    old_paths: TextList,
    #[serde(default)]
    attachments: Vec<RawAttachment>,
    gip_stats: Option<Box<GipStats>>,
    #[serde(default)]
    extra: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttachment {
    title: Option<Text>,
    file: Text,
}

/// 落款: the signature block under the body of an official document.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Signature {
    /// 署名: the issuing body's full name.
    pub name: Option<String>,
    /// 成文日期 as shown under the name.
    pub date: Option<CalendarDate>,
}

/// What a content file says about itself. Reports and section pages share
/// the type; which fields are required depends on the kind (see
/// [`FrontMatter::parse`]).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FrontMatter {
    /// 标题: the official full title.
    #[serde(deserialize_with = "crate::cache_text::text")]
    pub title: String,
    #[serde(deserialize_with = "crate::cache_text::option_text")]
    pub subtitle: Option<String>,
    /// 发布日期 / 发布时间. Required for reports; never invented.
    pub date_published: Option<Timestamp>,
    /// 成文日期.
    pub date_written: Option<CalendarDate>,
    /// 更新日期.
    pub date_updated: Option<Timestamp>,
    /// 发布机构.
    #[serde(deserialize_with = "crate::cache_text::option_text")]
    pub issuer: Option<String>,
    /// 来源 (`ContentSource`).
    #[serde(deserialize_with = "crate::cache_text::option_text")]
    pub source: Option<String>,
    /// 作者.
    #[serde(deserialize_with = "crate::cache_text::option_text")]
    pub author: Option<String>,
    /// 内容概述 / 摘要.
    #[serde(deserialize_with = "crate::cache_text::option_text")]
    pub summary: Option<String>,
    pub tags: Vec<String>,
    /// 关键词 / 主题词.
    pub keywords: Vec<String>,
    /// The last segment of the URL, instead of the file name.
    pub slug: Option<String>,
    pub draft: bool,
    /// Demo content: shown with a notice so it is never taken for a real document.
    pub sample: bool,
    pub lang: Option<Language>,
    pub signature: Option<Signature>,
    /// Order among siblings (sections); lower first.
    pub weight: Option<i64>,
    /// For a section: the most days that may pass between two items before
    /// the build warns that the column is not kept up to date (e.g. 14 for
    /// news, 180 for notices and policies).
    pub update_interval: Option<u32>,
    /// 索引号: unique site-wide.
    pub index_no: Option<String>,
    /// 文号 / 发文字号, e.g. 遂城办〔2022〕12号.
    #[serde(deserialize_with = "crate::cache_text::option_text")]
    pub doc_no: Option<String>,
    /// 文种.
    pub doc_type: Option<DocType>,
    /// 主题分类.
    pub topics: Vec<String>,
    /// 目录分类: a path such as 法定主动公开内容/法治政府建设.
    #[serde(deserialize_with = "crate::cache_text::option_text")]
    pub catalogue: Option<String>,
    /// 栏目 (`ColumnName`), when it differs from the section's title.
    #[serde(deserialize_with = "crate::cache_text::option_text")]
    pub column: Option<String>,
    /// 公开方式.
    pub disclosure: Disclosure,
    /// 有效性.
    pub validity: Option<Validity>,
    /// The document that replaces this one: a content file or an address.
    pub superseded_by: Option<String>,
    /// What changed on `date_updated`.
    pub change_note: Option<String>,
    /// 实施日期.
    pub date_effective: Option<CalendarDate>,
    /// 年度: the year a report covers.
    pub year: Option<i32>,
    /// 主送机关.
    pub addressee: Option<String>,
    /// 附注, e.g. 此件公开发布.
    pub note: Option<String>,
    /// 相关链接.
    pub related: Vec<RelatedLink>,
    /// Earlier addresses of this report, each given a redirect page.
    pub old_paths: Vec<String>,
    /// 附件.
    pub attachments: Vec<AttachmentRef>,
    /// The statistics tables of a 政府信息公开工作年度报告.
    pub gip_stats: Option<Box<GipStats>>,
    /// Free-form data for a site's own templates.
    #[serde(with = "json_text")]
    pub extra: BTreeMap<String, serde_json::Value>,
    /// The line of the file each top-level key is on, for later checks.
    pub key_lines: KeyLines,
}

/// The line of the file each top-level key of a front matter is on. Kept
/// as one string of the keys, one per line, and their lines in order: a
/// map of strings took a string and a tree node per key, in memory and
/// when the build cache reads it back (two thirds of the time reading a
/// front matter took).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyLines {
    keys: String,
    lines: Vec<u32>,
}

impl KeyLines {
    /// The keys and their lines, in the order of the file.
    pub fn of(keys: impl IntoIterator<Item = (String, usize)>) -> KeyLines {
        let mut key_lines = KeyLines::default();
        for (key, line) in keys {
            // A key is taken from one line, so it holds no line break.
            if !key_lines.lines.is_empty() {
                key_lines.keys.push('\n');
            }
            key_lines.keys.push_str(&key);
            key_lines
                .lines
                .push(u32::try_from(line).unwrap_or(u32::MAX));
        }
        key_lines
    }

    /// The line on which `key` is set (the last, when set twice).
    pub fn get(&self, key: &str) -> Option<usize> {
        self.keys
            .split('\n')
            .zip(&self.lines)
            .filter(|(k, _)| *k == key)
            .last()
            .map(|(_, line)| *line as usize)
    }
}

impl FrontMatter {
    /// The line of the file on which `key` is set.
    pub fn line(&self, key: &str) -> Option<usize> {
        self.key_lines.get(key)
    }

    /// Whether the report belongs in the 信息公开目录 (it has a 索引号 or a
    /// 目录分类), and so must carry what a catalogue entry shows.
    pub fn in_catalogue(&self) -> bool {
        self.index_no.is_some() || self.catalogue.is_some()
    }
}

/// Whether a file is a report or describes its folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DocKind {
    /// A report, notice or other published document.
    Report,
    /// `_index.md`: the description of a section (栏目).
    SectionIndex,
}

/// The context a front matter block is read in.
pub struct ParseContext<'a> {
    pub file: &'a ContentPath,
    pub kind: DocKind,
    /// The zone of times written without an offset.
    pub timezone: FixedOffset,
    /// Take the publication date from a `YYYY-MM-DD-` file name prefix when
    /// the front matter has none (`site.yaml`: `content.dates_from_file_names`).
    pub dates_from_file_names: bool,
}

/// The date of a `YYYY-MM-DD-name.md` file name (Jekyll's `_posts`), as
/// front matter text.
/// The free-form `extra` data as JSON text, for the build cache, whose
/// binary format cannot hold values of no fixed type.
mod json_text {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serializer};

    type Extra = BTreeMap<String, serde_json::Value>;

    pub fn serialize<S: Serializer>(extra: &Extra, s: S) -> Result<S::Ok, S::Error> {
        let text = serde_json::to_string(extra).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Extra, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text).map_err(serde::de::Error::custom)
    }
}

fn file_name_date(file: &ContentPath) -> Option<&str> {
    let name = file.as_str().rsplit('/').next()?;
    let date = name.get(..10)?;
    let b = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    (name[10..].starts_with('-')
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10))
    .then_some(date)
}

/// Characters that show as nothing but break search and comparison: zero
/// width space, word joiner and a byte order mark pasted mid-text (Word and
/// old CMSs leave them).
const INVISIBLE: [char; 3] = ['\u{200b}', '\u{2060}', '\u{feff}'];

/// A value as text: invisible characters removed, then trimmed of
/// whitespace (including the ideographic space U+3000 and NBSP); empty is none.
fn trimmed(text: Option<Text>) -> Option<String> {
    text.map(|t| {
        if t.0.contains(INVISIBLE) {
            t.0.replace(INVISIBLE, "").trim().to_string()
        } else {
            t.0.trim().to_string()
        }
    })
    .filter(|t| !t.is_empty())
}

impl FrontMatter {
    /// Reads the YAML of a split file. `yaml_line` is the file line the YAML
    /// starts on; `open_line` the line of the opening `---`.
    pub fn parse(
        yaml_text: &str,
        yaml_line: usize,
        cx: &ParseContext<'_>,
    ) -> Result<(FrontMatter, Vec<Diagnostic>), Vec<Diagnostic>> {
        let file = cx.file;
        let raw: RawFrontMatter = if yaml_text.trim().is_empty() {
            RawFrontMatter::default()
        } else {
            yaml::parse(yaml_text, file, yaml_line)?
        };
        let mut problems = Vec::new();
        let line_of = |key: &str| {
            yaml::key_line(yaml_text, key)
                .map(|l| l + yaml_line - 1)
                .or(Some(yaml_line.saturating_sub(1).max(1)))
        };
        let is_report = cx.kind == DocKind::Report;

        let title = trimmed(raw.title);
        if title.is_none() && is_report {
            problems.push(
                Diagnostic::error(file, line_of("title"), "the report has no title")
                    .with_help("add `title:` with the document's full official title"),
            );
        }

        let mut timestamp = |key: &str, value: Option<Text>| -> Option<Timestamp> {
            let value = trimmed(value)?;
            match Timestamp::parse(&value, cx.timezone) {
                Ok(t) => Some(t),
                Err(e) => {
                    problems.push(Diagnostic::error(file, line_of(key), format!("{key}: {e}")));
                    None
                }
            }
        };
        let from_file_name = || {
            cx.dates_from_file_names
                .then(|| file_name_date(file))
                .flatten()
                .map(|d| Text(d.to_string()))
        };
        let date_published =
            timestamp("date_published", raw.date_published.or_else(from_file_name));
        let date_updated = timestamp("date_updated", raw.date_updated);

        let mut calendar_date = |key: &str, value: Option<Text>| -> Option<CalendarDate> {
            let value = trimmed(value)?;
            match CalendarDate::parse(&value) {
                Ok(d) => Some(d),
                Err(e) => {
                    problems.push(Diagnostic::error(file, line_of(key), format!("{key}: {e}")));
                    None
                }
            }
        };
        let date_written = calendar_date("date_written", raw.date_written);
        let date_effective = calendar_date("date_effective", raw.date_effective);
        let signature = raw.signature.map(|s| Signature {
            name: trimmed(s.name),
            date: calendar_date("signature", s.date),
        });

        if is_report
            && date_published.is_none()
            && !problems
                .iter()
                .any(|p| p.message.starts_with("date_published"))
        {
            problems.push(
                Diagnostic::error(file, line_of("date_published"), "the report has no publication date")
                    .with_help(match file_name_date(file) {
                        Some(date) => format!(
                            "add `date_published: {date}` (发布日期), or set `content: {{ dates_from_file_names: true }}` \
                             in site.yaml to take every such date from the file name"
                        ),
                        None => "add `date_published:` (发布日期), e.g. `date_published: 2022-12-24` or `2022-12-24 09:30`; \
                             Gazette never takes it from the build time or the file's modification time"
                            .to_string(),
                    }),
            );
        }
        if let (Some(written), Some(published)) = (date_written, date_published)
            && written > published.date()
        {
            problems.push(
                Diagnostic::error(
                    file,
                    line_of("date_written"),
                    format!(
                        "date_written {} is after date_published {}",
                        written.iso(),
                        published.date().iso()
                    ),
                )
                .with_help(
                    "a document is written (成文) before it is published (发布); check both dates",
                ),
            );
        }

        let lang = trimmed(raw.lang).and_then(|tag| match Language::from_tag(&tag) {
            Some(lang) => Some(lang),
            None => {
                problems.push(
                    Diagnostic::error(
                        file,
                        line_of("lang"),
                        format!("lang: `{tag}` is not a supported language"),
                    )
                    .with_help("use `zh-CN` or `en`"),
                );
                None
            }
        });

        let slug = trimmed(raw.slug);
        if let Some(slug) = &slug
            && slug.contains(['/', '\\', '?', '#'])
        {
            problems.push(
                Diagnostic::error(
                    file,
                    line_of("slug"),
                    format!("slug `{slug}` contains `/`, `\\`, `?` or `#`"),
                )
                .with_help("a slug is one URL segment, e.g. `2022-fazhi-report`"),
            );
        }

        let index_no = trimmed(raw.index_no);
        let catalogue = trimmed(raw.catalogue);
        let summary = trimmed(raw.summary);
        let topics: Vec<String> = raw
            .topics
            .0
            .into_iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        let doc_no = trimmed(raw.doc_no);
        if let Some(fixed) = doc_no.as_deref().and_then(doc_no_fix) {
            problems.push(
                Diagnostic::warning(
                    file,
                    line_of("doc_no"),
                    format!(
                        "doc_no `{}` puts the year in the wrong brackets",
                        doc_no.as_deref().unwrap_or_default()
                    ),
                )
                .with_help(format!(
                    "a 文号 uses 六角括号 〔 〕 (GB/T 9704-2012): write `{fixed}`"
                )),
            );
        }
        let year = match trimmed(raw.year) {
            Some(text) => match text.parse::<i32>() {
                Ok(y) if (1900..=2200).contains(&y) => Some(y),
                _ => {
                    problems.push(
                        Diagnostic::error(
                            file,
                            line_of("year"),
                            format!("year: `{text}` is not a year"),
                        )
                        .with_help(
                            "write the four-digit year the report covers, e.g. `year: 2022`",
                        ),
                    );
                    None
                }
            },
            None => None,
        };
        let change_note = trimmed(raw.change_note);
        if change_note.is_some() && date_updated.is_none() {
            problems.push(
                Diagnostic::warning(file, line_of("change_note"), "change_note is given but date_updated is not")
                    .with_help("add `date_updated:` with the date of the change, so readers see when it was made"),
            );
        }
        let attachments = raw
            .attachments
            .into_iter()
            .map(|a| {
                let file_name = a.file.0.trim().to_string();
                let line = yaml::value_line(yaml_text, "file", &file_name)
                    .map(|l| l + yaml_line - 1)
                    .unwrap_or(line_of("attachments").unwrap_or(yaml_line));
                let title = trimmed(a.title).unwrap_or_else(|| {
                    file_name
                        .rsplit('/')
                        .next()
                        .unwrap_or(&file_name)
                        .to_string()
                });
                AttachmentRef {
                    title,
                    file: file_name,
                    line,
                }
            })
            .collect();

        // What each kind of document must carry.
        if is_report {
            let doc_type_line = line_of("doc_type");
            if matches!(raw.doc_type, Some(DocType::Rule | DocType::NormativeDoc))
                && raw.validity.is_none()
            {
                problems.push(
                    Diagnostic::error(
                        file,
                        doc_type_line,
                        "a rule or normative document must state its validity",
                    )
                    .with_help(
                        "add `validity: effective` (有效), or `amended`, `repealed` or `expired`",
                    ),
                );
            }
            if raw.doc_type == Some(DocType::GipAnnualReport) {
                match &raw.gip_stats {
                    None => problems.push(
                        Diagnostic::error(file, doc_type_line, "a 政府信息公开工作年度报告 must carry its statistics")
                            .with_help("add `gip_stats:` with the tables of the 国办公开办函〔2021〕30号 format (see README, Annual reports)"),
                    ),
                    Some(stats) => {
                        for problem in stats.check() {
                            let mut keys = vec!["gip_stats"];
                            keys.extend(problem.path.iter().copied());
                            let line = yaml::nested_key_line(yaml_text, &keys).map(|l| l + yaml_line - 1).or(line_of("gip_stats"));
                            problems.push(
                                Diagnostic::error(file, line, format!("gip_stats: {}", problem.message))
                                    .with_help("correct the number so the table adds up, as the format requires"),
                            );
                        }
                    }
                }
            } else if raw.gip_stats.is_some() {
                problems.push(
                    Diagnostic::warning(
                        file,
                        line_of("gip_stats"),
                        "gip_stats is only shown on a report with `doc_type: gip_annual_report`",
                    )
                    .with_help("add `doc_type: gip_annual_report`, or remove the statistics"),
                );
            }
            if index_no.is_some() || catalogue.is_some() {
                let at = line_of(if index_no.is_some() {
                    "index_no"
                } else {
                    "catalogue"
                });
                if index_no.is_none() {
                    problems.push(
                        Diagnostic::error(
                            file,
                            at,
                            "a catalogue item must have an index_no (索引号)",
                        )
                        .with_help("add `index_no:` in your site's 索引号 format"),
                    );
                }
                if summary.is_none() {
                    problems.push(Diagnostic::error(file, at, "a catalogue item must have a summary (内容概述)").with_help("add `summary:` with a short description of the document (at most 300 characters)"));
                }
                if topics.is_empty() {
                    problems.push(
                        Diagnostic::error(file, at, "a catalogue item must have topics (主题分类)")
                            .with_help("add `topics:`, e.g. `topics: [综合政务]`"),
                    );
                }
            }
        }

        // A value `gazette new` left to be filled in must never be published.
        for (key, line) in yaml::top_level_keys(yaml_text) {
            let value = yaml_text.lines().nth(line - 1).unwrap_or_default();
            if crate::init::is_placeholder(value) {
                problems.push(
                    Diagnostic::error(
                        file,
                        Some(line + yaml_line - 1),
                        format!("{key} is still a placeholder"),
                    )
                    .with_help(
                        "replace the text in 【请填写…】 / [fill in: …] with the real value",
                    ),
                );
            }
        }
        if problems.iter().any(Diagnostic::is_error) {
            return Err(problems);
        }
        let year = year.or_else(|| match raw.doc_type {
            Some(DocType::GipAnnualReport | DocType::RuleOfLawReport) => date_written
                .map(|d| d.year() - 1)
                .or(date_published.map(|d| d.year() - 1)),
            _ => None,
        });
        let front = FrontMatter {
            title: title.unwrap_or_default(),
            subtitle: trimmed(raw.subtitle),
            date_published,
            date_written,
            date_updated,
            issuer: trimmed(raw.issuer),
            source: trimmed(raw.source),
            author: trimmed(raw.author),
            summary,
            tags: raw.tags.0,
            keywords: raw.keywords.0,
            slug,
            draft: raw.draft,
            sample: raw.sample,
            lang,
            signature,
            weight: raw.weight,
            update_interval: raw.update_interval,
            index_no,
            doc_no,
            doc_type: raw.doc_type,
            topics,
            catalogue,
            column: trimmed(raw.column),
            disclosure: raw.disclosure,
            validity: raw.validity,
            superseded_by: trimmed(raw.superseded_by),
            change_note,
            date_effective,
            year,
            addressee: trimmed(raw.addressee),
            note: trimmed(raw.note),
            related: raw
                .related
                .into_iter()
                .map(|r| RelatedLink {
                    line: yaml::value_line(yaml_text, "href", &r.href)
                        .map(|l| l + yaml_line - 1)
                        .or(line_of("related"))
                        .unwrap_or(yaml_line),
                    ..r
                })
                .collect(),
            old_paths: raw.old_paths.0,
            attachments,
            gip_stats: raw.gip_stats,
            extra: raw.extra,
            key_lines: KeyLines::of(
                yaml::top_level_keys(yaml_text)
                    .into_iter()
                    .map(|(k, l)| (k, l + yaml_line - 1)),
            ),
        };
        Ok((front, problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lines_give_each_key_its_line() {
        let keys = [
            ("title", 2),
            ("", 3),
            ("索引号", 4),
            ("title", 9),
            ("date", 5),
        ];
        let lines = KeyLines::of(keys.map(|(k, l)| (k.to_string(), l)));
        assert_eq!(lines.get("title"), Some(9), "the last of a key set twice");
        assert_eq!(lines.get(""), Some(3));
        assert_eq!(lines.get("索引号"), Some(4));
        assert_eq!(lines.get("date"), Some(5));
        assert_eq!(lines.get("dat"), None);
        assert_eq!(lines.get("date\n"), None);
        assert_eq!(KeyLines::default().get(""), None);
        let parsed = parse(DocKind::Report, "title: 报告\ndate_published: 2024-01-05\n").unwrap();
        assert_eq!(
            parsed.line("date_published"),
            Some(3),
            "the YAML starts on line 2"
        );
    }

    fn parse(kind: DocKind, yaml: &str) -> Result<FrontMatter, Vec<Diagnostic>> {
        let file = ContentPath::from_relative("content/a.md");
        let cx = ParseContext {
            file: &file,
            kind,
            timezone: FixedOffset::east_opt(8 * 3600).unwrap(),
            dates_from_file_names: false,
        };
        FrontMatter::parse(yaml, 2, &cx).map(|(f, _)| f)
    }

    #[test]
    fn split_accepts_blank_lines_and_trailing_spaces() {
        let s = split("\n\n---  \ntitle: a\n--- \nbody\n").unwrap();
        assert_eq!(s.yaml, "title: a\n");
        assert_eq!(s.yaml_line, 4);
        assert_eq!(s.body, "body\n");
        assert_eq!(s.body_line, 6);
    }

    #[test]
    fn split_reports_missing_and_unclosed_blocks() {
        assert_eq!(
            split("# Title\n"),
            Err(SplitError::NoFrontMatter { line: 1 })
        );
        assert_eq!(
            split("\n---\ntitle: a\n"),
            Err(SplitError::Unclosed { line: 2 })
        );
        assert_eq!(split(""), Err(SplitError::NoFrontMatter { line: 1 }));
    }

    #[test]
    fn reads_a_full_report() {
        let f = parse(
            DocKind::Report,
            "title: 报告\ndate_published: 2022-12-24\ndate_written: 2022-12-08\nslug: 124062\ntags: 法治\n\
             signature: { name: 办事处, date: 2022-12-08 }\nlang: zh\n",
        )
        .unwrap();
        assert_eq!(f.title, "报告");
        assert_eq!(f.slug.as_deref(), Some("124062"));
        assert_eq!(f.tags, ["法治"]);
        assert_eq!(f.date_published.unwrap().display(), "2022-12-24");
        assert_eq!(
            f.signature.unwrap().date.unwrap().chinese(),
            "2022年12月8日"
        );
        assert_eq!(f.lang, Some(Language::ZhCn));
    }

    #[test]
    fn reports_every_problem_of_a_file() {
        let errors = parse(DocKind::Report, "title:\ndate_written: 2022-13-01\n").unwrap_err();
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert!(
            messages.iter().any(|m| m.contains("no title")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("date_written")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("no publication date")),
            "{messages:?}"
        );
        assert_eq!(errors[0].line, Some(2));
    }

    #[test]
    fn unparseable_date_names_its_line() {
        let errors = parse(DocKind::Report, "title: a\ndate_published: 24/12/2022\n").unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, Some(3));
    }

    #[test]
    fn written_after_published_is_an_error() {
        let errors = parse(
            DocKind::Report,
            "title: a\ndate_published: 2022-12-01\ndate_written: 2022-12-08\n",
        )
        .unwrap_err();
        assert!(errors[0].message.contains("after"), "{errors:?}");
    }

    const BALANCED_STATS: &str = "gip_stats:
  proactive:
    normative_docs: { issued: 2, repealed: 1, in_force: 9 }
    licensing: 35
  requests:
    received:        [10, 2, 0, 0, 1, 0, 13]
    carried_over:    [2, 0, 0, 0, 0, 0, 2]
    granted:         [8, 1, 0, 0, 1, 0, 10]
    partly_granted:  [2, 0, 0, 0, 0, 0, 2]
    unavailable:
      not_held:      [1, 0, 0, 0, 0, 0, 1]
    total:           [11, 1, 0, 0, 1, 0, 13]
    carried_forward: [1, 1, 0, 0, 0, 0, 2]
  appeals:
    review: { upheld: 1, corrected: 0, other: 0, pending: 1, total: 2 }
";

    const REPORT: &str = "title: 报告\ndate_published: 2023-01-20\n";

    fn messages(result: Result<FrontMatter, Vec<Diagnostic>>) -> Vec<String> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|d| format!("{}", d))
            .collect()
    }

    #[test]
    fn a_rule_needs_its_validity() {
        let errors = messages(parse(DocKind::Report, &format!("{REPORT}doc_type: rule\n")));
        assert!(
            errors.iter().any(|m| m.contains("must state its validity")),
            "{errors:?}"
        );
        assert!(
            parse(
                DocKind::Report,
                &format!("{REPORT}doc_type: normative_doc\nvalidity: effective\n")
            )
            .is_ok()
        );
    }

    #[test]
    fn an_annual_report_needs_balanced_statistics() {
        let errors = messages(parse(
            DocKind::Report,
            &format!("{REPORT}doc_type: gip_annual_report\n"),
        ));
        assert!(
            errors
                .iter()
                .any(|m| m.contains("must carry its statistics")),
            "{errors:?}"
        );
        let front = parse(
            DocKind::Report,
            &format!("{REPORT}doc_type: gip_annual_report\n{BALANCED_STATS}"),
        )
        .unwrap();
        assert_eq!(
            front.year,
            Some(2022),
            "the year covered defaults to the year before publication"
        );
        let broken = BALANCED_STATS
            .replace("carried_forward: [1, 1,", "carried_forward: [1, 0,")
            .replace("0, 0, 0, 0, 2]\n  appeals", "0, 0, 0, 0, 1]\n  appeals");
        let errors = parse(
            DocKind::Report,
            &format!("{REPORT}doc_type: gip_annual_report\n{broken}"),
        )
        .unwrap_err();
        assert_eq!(errors.len(), 2, "商业企业 and 总计 columns: {errors:?}");
        assert_eq!(
            errors[0].line,
            Some(17),
            "the line of carried_forward: {}",
            errors[0]
        );
        assert!(
            errors[0].message.contains("column 商业企业"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn a_catalogue_item_needs_index_no_summary_and_topics() {
        let errors = messages(parse(
            DocKind::Report,
            &format!("{REPORT}catalogue: 法定主动公开内容\n"),
        ));
        assert_eq!(errors.len(), 3, "{errors:?}");
        let ok = parse(
            DocKind::Report,
            &format!("{REPORT}index_no: 4408-2022-001\nsummary: 摘要\ntopics: 综合政务\n"),
        )
        .unwrap();
        assert!(ok.in_catalogue());
        assert_eq!(ok.topics, ["综合政务"]);
    }

    #[test]
    fn doc_no_in_wrong_brackets_is_a_warning_with_the_fix() {
        let file = ContentPath::from_relative("content/a.md");
        let cx = ParseContext {
            file: &file,
            kind: DocKind::Report,
            timezone: FixedOffset::east_opt(8 * 3600).unwrap(),
            dates_from_file_names: false,
        };
        let (_, warnings) =
            FrontMatter::parse(&format!("{REPORT}doc_no: 遂城办[2022]12号\n"), 2, &cx).unwrap();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].line, Some(4));
        assert!(
            warnings[0]
                .help
                .as_deref()
                .unwrap()
                .contains("遂城办〔2022〕12号")
        );
        let (_, warnings) =
            FrontMatter::parse(&format!("{REPORT}doc_no: 遂城办〔2022〕12号\n"), 2, &cx).unwrap();
        assert!(warnings.is_empty());
    }

    #[test]
    fn a_misspelt_doc_type_gets_a_hint() {
        let errors = parse(DocKind::Report, &format!("{REPORT}doc_type: notcie\n")).unwrap_err();
        assert_eq!(
            errors[0].help.as_deref(),
            Some("did you mean `notice`?"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn a_file_name_date_is_taken_only_when_the_site_asks() {
        let zone = FixedOffset::east_opt(8 * 3600).unwrap();
        for (name, asked, expected) in [
            ("content/news/2015-06-29-old.md", true, Some("2015-06-29")),
            ("content/news/2015-06-29-old.md", false, None),
            ("content/news/2015-06-old.md", true, None),
            ("content/news/20150629-old.md", true, None),
            ("content/news/2015-06-29.md", true, None),
        ] {
            let file = ContentPath::from_relative(name);
            let cx = ParseContext {
                file: &file,
                kind: DocKind::Report,
                timezone: zone,
                dates_from_file_names: asked,
            };
            let parsed = FrontMatter::parse("title: a\n", 2, &cx);
            let found = parsed
                .as_ref()
                .ok()
                .map(|(f, _)| f.date_published.unwrap().date().iso());
            assert_eq!(found.as_deref(), expected, "{name} {asked}");
        }
        // The front matter's own date wins.
        let file = ContentPath::from_relative("content/news/2015-06-29-old.md");
        let cx = ParseContext {
            file: &file,
            kind: DocKind::Report,
            timezone: zone,
            dates_from_file_names: true,
        };
        let (front, _) =
            FrontMatter::parse("title: a\ndate_published: 2016-01-02\n", 2, &cx).unwrap();
        assert_eq!(front.date_published.unwrap().date().iso(), "2016-01-02");
    }

    #[test]
    fn keys_of_other_generators_are_all_named_with_ours() {
        let hugo = "title: Old post\ndate: 2015-06-29 1:00:19 -0400\ndescription: A summary\ncategories: [news]\naliases: [/old/]\nlayout: post\n";
        let errors = parse(DocKind::Report, hugo).unwrap_err();
        let found: Vec<(usize, &str)> = errors
            .iter()
            .map(|e| (e.line.unwrap(), e.help.as_deref().unwrap()))
            .collect();
        assert_eq!(found.len(), 5, "{errors:?}");
        assert_eq!(found[0].0, 3, "the YAML starts on line 2 of the file");
        assert!(
            found[0].1.contains("in Gazette it is `date_published`"),
            "{}",
            found[0].1
        );
        assert!(found[1].1.contains("`summary`"), "{}", found[1].1);
        assert!(found[2].1.contains("`topics`"), "{}", found[2].1);
        assert!(found[3].1.contains("`old_paths`"), "{}", found[3].1);
        assert_eq!(found[4].0, 7);
        assert!(found[4].1.contains("remove the key"), "{}", found[4].1);
    }

    #[test]
    fn attachments_keep_the_line_that_names_them() {
        let f = parse(DocKind::Report, &format!("{REPORT}attachments:\n  - title: 统计表\n    file: files/stats.xlsx\n  - file: b.pdf\n")).unwrap();
        assert_eq!(f.attachments[0].line, 6);
        assert_eq!(f.attachments[1].title, "b.pdf");
        assert_eq!(f.attachments[1].line, 7);
    }

    #[test]
    fn sections_need_no_date() {
        let f = parse(DocKind::SectionIndex, "title: 政府信息公开\n").unwrap();
        assert_eq!(f.date_published, None);
    }
}
