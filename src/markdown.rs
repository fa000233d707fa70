//! The markdown stage: one report body (Markdown text) in, one
//! [`RenderedDoc`] out — its HTML, its table of contents and its plain text.
//! It never sees the rest of the site.
//!
//! GFM tables, strikethrough, autolinks, footnotes and task lists are on, and
//! so is CJK-friendly emphasis, so that `**真，**她` is bold as a Chinese
//! writer means it. Heading ids are derived from the heading text (Chinese
//! kept as it is), made unique within the page, and stable from build to
//! build. Raw HTML is shown as text unless the site allows it; then it is
//! sanitised with an allow-list (ammonia): `<script>`, `<style>`, event
//! handlers and `javascript:` links never reach the page, `<iframe>` only
//! from the hosts the site names, and each removal is reported.
//!
//! Links and images that point inside the site (`../tzgg/notice.md`,
//! `chart.png`, `/xxgk/`) cannot be written yet: only the site stage knows
//! where their targets end up. They are listed as [`ContentLink`]s and
//! written as numbered placeholders ([`LINK_PLACEHOLDER`]`N`) that the render
//! stage replaces with the right link for the page and the build.

use std::fmt;
use std::sync::{Arc, Mutex};

use crate::bodies::{BodyRef, BodyStore};
use comrak::adapters::{HeadingAdapter, HeadingMeta};
use comrak::nodes::{NodeValue, Sourcepos};
use comrak::options::Plugins;
use comrak::{Anchorizer, Arena, Options};

/// Settings of the markdown stage, from `site.yaml`.
#[derive(Clone, Debug, Default)]
pub struct MarkdownOptions {
    /// Keep raw HTML (sanitised) instead of showing it as text.
    pub allow_html: bool,
    /// Hosts whose pages may be embedded with `<iframe>` (maps, video).
    pub iframe_hosts: Vec<String>,
}

impl MarkdownOptions {
    /// The options as a key of caches of rendered texts.
    pub fn key(&self) -> (bool, Vec<String>) {
        (self.allow_html, self.iframe_hosts.clone())
    }
}

/// A heading of the body, for the table of contents.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Heading {
    pub level: u8,
    #[serde(deserialize_with = "crate::cache_text::text")]
    pub id: String,
    #[serde(deserialize_with = "crate::cache_text::text")]
    pub text: String,
}

/// What stands in the HTML for the `N`th [`ContentLink`] of a body until the
/// render stage writes the real link.
pub const LINK_PLACEHOLDER: &str = "gazette-content-link:";

/// A link or image in a body that points inside the site.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContentLink {
    /// The path as written, percent-decoded, without its `#fragment`.
    pub target: String,
    pub fragment: Option<String>,
    /// The 1-based line of the body it is on.
    pub line: usize,
}

/// A report body rendered once, for the page, the other layouts and search.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RenderedDoc {
    /// The HTML and the text are shared, so that `gazette serve`'s cache of
    /// rendered texts hands them on without copying.
    #[serde(skip)]
    pub html: Arc<str>,
    pub toc: Vec<Heading>,
    /// The body as plain text, paragraphs separated by blank lines.
    #[serde(skip)]
    pub text: Arc<str>,
    /// Links inside the site, in placeholder order.
    pub links: Vec<ContentLink>,
    /// Links and images to other web sites (`http:`, `https:`, `//`), with
    /// the line of the body they are on: what `gazette check --external` visits.
    pub web_links: Vec<WebLink>,
    /// Links to a place on the same page (`#id`): the id (still
    /// percent-encoded as written) and the line.
    pub page_anchors: Vec<WebLink>,
    /// Where the text itself breaks accessibility rules.
    pub issues: Vec<TextIssue>,
    /// The start of the text on one line ([`LEAD_CHARS`] characters at
    /// most), for excerpts: kept when the body itself is stowed away.
    #[serde(deserialize_with = "crate::cache_text::text")]
    pub lead: String,
    /// Where `html` and `text` are when they were moved to a
    /// [`BodyStore`] (and are empty here).
    pub stored: Option<BodyRef>,
    /// A hash of the Markdown this was rendered from (with the options,
    /// part of the configuration), when the build keeps a cache: what
    /// `gazette serve` keys a report's pages by.
    pub source_hash: Option<u64>,
}

/// Characters of [`RenderedDoc::lead`]: more than any excerpt takes.
pub const LEAD_CHARS: usize = 240;

/// The text on one line (runs of white space as one space), cut to
/// `chars` characters. A word at a time, not a character at a time: the
/// search index takes an excerpt of every report's summary at every build,
/// and copying it character by character was 3.6 % of the instructions of
/// a 10,000-report build with nothing changed.
pub fn flat_lead(text: &str, chars: usize) -> String {
    let mut lead = String::new();
    let mut count = 0;
    for word in text.split_whitespace() {
        if count > 0 {
            if count == chars {
                break;
            }
            lead.push(' ');
            count += 1;
        }
        match word.char_indices().nth(chars - count) {
            Some((cut, _)) => {
                lead.push_str(&word[..cut]);
                return lead;
            }
            None => {
                lead.push_str(word);
                count += word.chars().count();
            }
        }
    }
    lead
}

/// A link target written in the body, with its line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WebLink {
    pub url: String,
    /// The 1-based line of the body.
    pub line: usize,
}

/// A place where the text of a report breaks an accessibility rule (WCAG
/// 2.1, GB/T 37668-2019): found here, reported as a warning with its line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TextIssue {
    /// The 1-based line of the body.
    pub line: usize,
    pub message: String,
    pub help: std::borrow::Cow<'static, str>,
}

/// Link texts that say nothing about where they lead.
const VAGUE_LINK_TEXT: &[&str] = &[
    "点击这里",
    "点击此处",
    "点此",
    "这里",
    "此处",
    "请点击",
    "click here",
    "here",
    "read more",
    "more",
    "link",
    "this link",
];

/// Images without a text alternative, skipped heading levels and link texts
/// that say nothing about their target.
fn accessibility_issues<'a>(root: &'a comrak::nodes::AstNode<'a>) -> Vec<TextIssue> {
    let mut issues = Vec::new();
    // The page's title is its level-1 heading.
    let mut previous_level = 1;
    for node in root.descendants() {
        let ast = node.data();
        let line = ast.sourcepos.start.line;
        match &ast.value {
            NodeValue::Image(_) if node.collect_text().trim().is_empty() => {
                issues.push(TextIssue {
                    line,
                    message: "an image has no text alternative".to_string(),
                    help: "describe what the image shows: ![二维码：扫码查看办事指南](file.png)"
                        .into(),
                })
            }
            NodeValue::Heading(h) => {
                if h.level == 1 {
                    issues.push(TextIssue {
                        line,
                        message: "a level-1 heading in the text; the title is the page's only one"
                            .to_string(),
                        help: "use ## for 一、 headings and ### for （一） headings".into(),
                    });
                } else if h.level > previous_level + 1 {
                    issues.push(TextIssue {
                        line,
                        message: format!("a heading of level {} follows one of level {previous_level}: a level is skipped", h.level),
                        help: "headings go down one level at a time (## then ###), so screen-reader users can follow the outline".into(),
                    });
                }
                previous_level = h.level;
            }
            NodeValue::Link(_) => {
                let text = node.collect_text();
                let text = text.trim().to_lowercase();
                if VAGUE_LINK_TEXT.contains(&text.as_str()) {
                    issues.push(TextIssue {
                        line,
                        message: format!("the link text “{}” does not say where it leads", node.collect_text().trim()),
                        help: "name the target: [2023年部门预算](budget.md) instead of [点击这里](budget.md)".into(),
                    });
                }
            }
            _ => {}
        }
    }
    issues
}

/// Whether a link target leaves the site: it has a scheme (`https:`,
/// `mailto:`), is protocol-relative, or is only a `#fragment` of this page.
pub fn is_external(target: &str) -> bool {
    target.is_empty()
        || target.starts_with('#')
        || target.starts_with("//")
        || target.split_once(':').is_some_and(|(scheme, _)| {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        })
}

/// Renders headings with ids and records them for the table of contents.
#[derive(Default)]
struct HeadingIds {
    state: Mutex<(Anchorizer, Vec<Heading>)>,
}

impl HeadingAdapter for HeadingIds {
    fn enter(
        &self,
        output: &mut dyn fmt::Write,
        heading: &HeadingMeta,
        _: Option<Sourcepos>,
    ) -> fmt::Result {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let text = heading.content.trim().to_string();
        let mut id = state.0.anchorize(&text);
        if id.is_empty() || id.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            // An id must not be empty; one starting with a digit is valid
            // HTML but awkward in CSS selectors, so give it a prefix.
            id = state.0.anchorize(&format!("h-{text}"));
        }
        write!(
            output,
            "<h{} id=\"{}\">",
            heading.level,
            escape_attribute(&id)
        )?;
        state.1.push(Heading {
            level: heading.level,
            id,
            text,
        });
        Ok(())
    }

    fn exit(&self, output: &mut dyn fmt::Write, heading: &HeadingMeta) -> fmt::Result {
        writeln!(output, "</h{}>", heading.level)
    }
}

fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn comrak_options(options: &MarkdownOptions) -> Options<'static> {
    let mut o = Options::default();
    o.extension.table = true;
    o.extension.strikethrough = true;
    o.extension.autolink = true;
    o.extension.footnotes = true;
    o.extension.tasklist = true;
    o.extension.cjk_friendly_emphasis = true;
    o.render.r#unsafe = options.allow_html;
    o.render.escape = !options.allow_html;
    o
}

/// Renders one body.
pub fn render(body: &str, markdown: &MarkdownOptions) -> RenderedDoc {
    let (doc, html, text) = render_parts(body, markdown);
    RenderedDoc {
        html: html.into(),
        text: text.into(),
        ..doc
    }
}

/// Renders one body and moves its HTML and text to `store` (they are
/// empty in what is returned, which says where they are).
pub fn render_stowed(
    body: &str,
    markdown: &MarkdownOptions,
    store: &BodyStore,
) -> std::io::Result<RenderedDoc> {
    let (mut doc, html, text) = render_parts(body, markdown);
    doc.stored = Some(store.put(&html, &text)?);
    Ok(doc)
}

/// `html` with each table in a `<div class="table-wrap">`, in one pass
/// from one `<` to the next (two `replace` calls searched the body twice
/// with a slower search and copied it twice).
fn wrap_tables(html: &str) -> String {
    const OPEN: &str = "<table>";
    const CLOSE: &str = "</table>";
    let mut out = String::with_capacity(html.len() + 256);
    let mut done = 0;
    let mut from = 0;
    while let Some(found) = html[from..].find('<') {
        let at = from + found;
        let rest = &html[at..];
        if rest.starts_with(OPEN) {
            out.push_str(&html[done..at]);
            out.push_str("<div class=\"table-wrap\"><table>");
            done = at + OPEN.len();
        } else if rest.starts_with(CLOSE) {
            out.push_str(&html[done..at]);
            out.push_str("</table></div>");
            done = at + CLOSE.len();
        }
        from = at + 1;
    }
    out.push_str(&html[done..]);
    out
}

/// The rendering of one body without its HTML and text, and those two.
fn render_parts(body: &str, markdown: &MarkdownOptions) -> (RenderedDoc, String, String) {
    let iframe_hosts = &markdown.iframe_hosts;
    let options = comrak_options(markdown);
    let arena = Arena::new();
    let root = comrak::parse_document(&arena, body, &options);

    let text = plain_text(root);
    let mut issues = accessibility_issues(root);
    if markdown.allow_html {
        issues.extend(unsafe_html(root, iframe_hosts));
    } else {
        issues.extend(html_shown_as_text(root));
    }
    issues.extend(script_links(root));
    let (web_links, page_anchors) = outward_links(root);
    let links = take_content_links(root);

    let headings = HeadingIds::default();
    let mut plugins = Plugins::default();
    plugins.render.heading_adapter = Some(&headings);
    let mut html = String::with_capacity(body.len() * 2);
    comrak::format_html_with_plugins(root, &options, &mut html, &plugins)
        .expect("writing to a String cannot fail");
    // Wide tables scroll inside their own box on a phone instead of
    // widening the page.
    let html = if options_allow_html(&options) {
        sanitize(&html, iframe_hosts)
    } else {
        html
    };
    let html = wrap_tables(&html);
    let toc = headings
        .state
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .1;
    let doc = RenderedDoc {
        html: Arc::from(""),
        toc,
        lead: flat_lead(&text, LEAD_CHARS),
        text: Arc::from(""),
        links,
        web_links,
        page_anchors,
        issues,
        stored: None,
        source_hash: None,
    };
    (doc, html, text)
}

/// The links of `root` that leave this report's files: to other web sites
/// (`http(s)://`, `//`; links and images) and to a place on the same page
/// (`#id`, without the `#`), in one walk of the tree.
fn outward_links<'a>(root: &'a comrak::nodes::AstNode<'a>) -> (Vec<WebLink>, Vec<WebLink>) {
    let (mut web, mut anchors) = (Vec::new(), Vec::new());
    for node in root.descendants() {
        let ast = node.data();
        let (NodeValue::Link(link) | NodeValue::Image(link)) = &ast.value else {
            continue;
        };
        let url = link.url.trim();
        let line = ast.sourcepos.start.line;
        if host_of(url).is_some() {
            web.push(WebLink {
                url: url.to_string(),
                line,
            });
        } else if let (NodeValue::Link(_), Some(id)) = (&ast.value, url.strip_prefix('#')) {
            anchors.push(WebLink {
                url: id.to_string(),
                line,
            });
        }
    }
    (web, anchors)
}

fn options_allow_html(options: &Options<'_>) -> bool {
    options.render.r#unsafe
}

/// The host of an `http(s)://host/…` address.
fn host_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .or_else(|| url.strip_prefix("//"))?;
    Some(rest.split(['/', '?', '#', ':']).next().unwrap_or(rest))
}

/// Keeps the raw HTML of a body that is safe to show: formatting, tables,
/// images, links, and iframes from allowed hosts.
fn sanitize(html: &str, iframe_hosts: &[String]) -> String {
    let mut builder = ammonia::Builder::default();
    builder
        .add_generic_attributes(["id", "class", "lang", "title", "align", "dir"])
        .add_tag_attributes("td", ["colspan", "rowspan", "headers", "scope"])
        .add_tag_attributes("th", ["colspan", "rowspan", "headers", "scope"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_tags(["input", "section", "figure", "figcaption", "mark", "del"])
        .add_url_schemes([LINK_PLACEHOLDER.trim_end_matches(':')])
        .link_rel(None);
    if !iframe_hosts.is_empty() {
        builder.add_tags(["iframe"]).add_tag_attributes(
            "iframe",
            [
                "src",
                "width",
                "height",
                "title",
                "allowfullscreen",
                "loading",
            ],
        );
        let hosts: Vec<String> = iframe_hosts.to_vec();
        builder.attribute_filter(move |element, attribute, value| {
            if element == "iframe"
                && attribute == "src"
                && !host_of(value).is_some_and(|h| hosts.iter().any(|a| a == h))
            {
                return None;
            }
            Some(value.into())
        });
    }
    builder.clean(html).to_string()
}

/// Raw HTML the sanitiser will remove, reported with its line so the team
/// knows what did not make it to the page.
fn unsafe_html<'a>(
    root: &'a comrak::nodes::AstNode<'a>,
    iframe_hosts: &[String],
) -> Vec<TextIssue> {
    let mut issues = Vec::new();
    for node in root.descendants() {
        let ast = node.data();
        let literal = match &ast.value {
            NodeValue::HtmlBlock(block) => block.literal.to_lowercase(),
            NodeValue::HtmlInline(text) => text.to_lowercase(),
            _ => continue,
        };
        let handler = literal.split_whitespace().any(|part| {
            part.strip_prefix("on").is_some_and(|rest| {
                rest.split('=').next().is_some_and(|name| {
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphabetic())
                }) && rest.contains('=')
            })
        });
        let iframe = literal.contains("<iframe") && {
            let src = literal
                .split("src=")
                .nth(1)
                .unwrap_or("")
                .trim_start_matches(['"', '\'']);
            !host_of(src).is_some_and(|h| iframe_hosts.iter().any(|a| a == h))
        };
        let what = if literal.contains("<script") {
            Some("a <script> element")
        } else if literal.contains("<style") {
            Some("a <style> element")
        } else if handler {
            Some("an event handler (on…=)")
        } else if literal.contains("javascript:") {
            Some("a javascript: address")
        } else if iframe {
            Some("an <iframe> from a host the site does not allow")
        } else {
            None
        };
        if let Some(what) = what {
            issues.push(TextIssue {
                line: ast.sourcepos.start.line,
                message: format!("raw HTML with {what} was removed"),
                help: "only formatting, tables, images and links are kept; embed maps or video from hosts listed in markdown.iframe_hosts of site.yaml".into(),
            });
        }
    }
    issues
}

/// Raw HTML in a site that does not allow it is shown as text: reported
/// once per file, at its first place, with the count.
fn html_shown_as_text<'a>(root: &'a comrak::nodes::AstNode<'a>) -> Option<TextIssue> {
    let lines: Vec<usize> = root
        .descendants()
        .filter(|node| {
            matches!(
                node.data().value,
                NodeValue::HtmlBlock(_) | NodeValue::HtmlInline(_)
            )
        })
        .map(|node| node.data().sourcepos.start.line)
        .collect();
    let first = *lines.first()?;
    Some(TextIssue {
        line: first,
        message: match lines.len() {
            1 => "raw HTML is shown as text".to_string(),
            n => format!("raw HTML is shown as text ({n} places; the first is here)"),
        },
        help: "write it as Markdown, or set `markdown: { allow_html: true }` in site.yaml to keep safe HTML \
               (scripts, styles and event handlers are always removed)".into(),
    })
}

/// Links and images whose address would run code (`javascript:`,
/// `vbscript:`) or open a local file: the renderer empties them.
fn script_links<'a>(root: &'a comrak::nodes::AstNode<'a>) -> Vec<TextIssue> {
    let mut issues = Vec::new();
    for node in root.descendants() {
        let ast = node.data();
        let (NodeValue::Link(link) | NodeValue::Image(link)) = &ast.value else {
            continue;
        };
        let url: String = link
            .url
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .collect::<String>()
            .to_ascii_lowercase();
        let scheme = ["javascript:", "vbscript:", "file:"]
            .into_iter()
            .find(|s| url.starts_with(s))
            .or_else(|| {
                (url.starts_with("data:") && !url.starts_with("data:image/")).then_some("data:")
            });
        if let Some(scheme) = scheme {
            issues.push(TextIssue {
                line: ast.sourcepos.start.line,
                message: format!("a link to a `{scheme}` address was removed"),
                help: "such addresses run code in the reader's browser or point at the writer's own disk; \
                       link to a page or a file of the site instead".into(),
            });
        }
    }
    issues
}

/// Lists the links and images of `root` that point inside the site and
/// puts placeholders in their place.
fn take_content_links<'a>(root: &'a comrak::nodes::AstNode<'a>) -> Vec<ContentLink> {
    let mut links = Vec::new();
    for node in root.descendants() {
        let mut ast = node.data_mut();
        let line = ast.sourcepos.start.line;
        let (NodeValue::Link(link) | NodeValue::Image(link)) = &mut ast.value else {
            continue;
        };
        if is_external(&link.url) {
            continue;
        }
        let (path, fragment) = match link.url.split_once('#') {
            Some((path, fragment)) => (path, Some(fragment.to_string())),
            None => (link.url.as_str(), None),
        };
        let target = percent_encoding::percent_decode_str(path)
            .decode_utf8_lossy()
            .into_owned();
        link.url = format!("{LINK_PLACEHOLDER}{}", links.len());
        links.push(ContentLink {
            target,
            fragment,
            line,
        });
    }
    links
}

/// The text of every block, one block per paragraph.
fn plain_text<'a>(root: &'a comrak::nodes::AstNode<'a>) -> String {
    let mut out = String::new();
    for node in root.descendants() {
        let is_block_of_text = matches!(
            node.data().value,
            NodeValue::Paragraph
                | NodeValue::Heading(_)
                | NodeValue::TableCell
                | NodeValue::CodeBlock(_)
        );
        if is_block_of_text {
            let text = match &node.data().value {
                NodeValue::CodeBlock(code) => code.literal.clone(),
                _ => node.collect_text(),
            };
            let text = text.trim();
            if !text.is_empty() {
                if !out.is_empty() {
                    out.push_str("\n\n");
                }
                out.push_str(text);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lead_is_the_text_on_one_line_cut_as_a_character_at_a_time_cuts_it() {
        // What a lead is: the words joined by one space, its first
        // `chars` characters.
        fn by_characters(text: &str, chars: usize) -> String {
            let words: Vec<&str> = text.split_whitespace().collect();
            words.join(" ").chars().take(chars).collect()
        }
        let texts = [
            "一、总体情况\n\n2023年，区政府　坚持依法行政。\t二、主要工作 a  b",
            "短",
            "",
            "   ",
            " lead  with   spaces  and a word cut anywhere ",
        ];
        for text in texts {
            for chars in 0..=text.chars().count() + 2 {
                assert_eq!(
                    flat_lead(text, chars),
                    by_characters(text, chars),
                    "{text:?} {chars}"
                );
            }
        }
        assert_eq!(flat_lead("一、总体情况\n\n二、 主要", 8), "一、总体情况 二");
    }

    fn html(md: &str) -> String {
        render(md, &MarkdownOptions::default()).html.to_string()
    }

    #[test]
    fn chinese_headings_get_stable_unique_ids() {
        let doc = render(
            "## 一、主要措施及成效\n\n## 二、存在问题和不足\n\n## 一、主要措施及成效\n",
            &MarkdownOptions::default(),
        );
        let ids: Vec<&str> = doc.toc.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(
            ids,
            ["一主要措施及成效", "二存在问题和不足", "一主要措施及成效-1"]
        );
        assert!(
            doc.html
                .contains("<h2 id=\"一主要措施及成效\">一、主要措施及成效</h2>"),
            "{}",
            doc.html
        );
    }

    #[test]
    fn headings_that_start_with_a_digit_get_a_prefix() {
        let doc = render("## 2022 results\n\n## !!!\n", &MarkdownOptions::default());
        assert_eq!(doc.toc[0].id, "h-2022-results");
        assert_eq!(doc.toc[1].id, "h-");
    }

    #[test]
    fn every_table_is_wrapped_and_nothing_else_moves() {
        assert_eq!(
            wrap_tables("<p>a < b</p><table><tr></tr></table><tablex><table></table>"),
            "<p>a < b</p><div class=\"table-wrap\"><table><tr></tr></table></div><tablex>\
             <div class=\"table-wrap\"><table></table></div>"
        );
        assert_eq!(wrap_tables("no tables <"), "no tables <");
    }

    #[test]
    fn cjk_emphasis_works() {
        assert!(html("**真，**她").contains("<strong>真，</strong>她"));
    }

    #[test]
    fn gfm_extensions_are_on() {
        let out = html(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ https://www.gov.cn\n\n- [x] done\n\nNote[^1].\n\n[^1]: A footnote.\n",
        );
        assert!(out.contains("<div class=\"table-wrap\"><table>"), "{out}");
        assert!(out.contains("<del>old</del>"), "{out}");
        assert!(out.contains("<a href=\"https://www.gov.cn\">"), "{out}");
        assert!(out.contains("checkbox"), "{out}");
        assert!(out.contains("footnote"), "{out}");
    }

    #[test]
    fn raw_html_is_escaped_unless_allowed() {
        let md = "<script>alert(1)</script>\n\nText <b onclick=x>b</b>\n";
        let escaped = html(md);
        assert!(!escaped.contains("<script>"), "{escaped}");
        assert!(escaped.contains("&lt;script&gt;"), "{escaped}");
        let allowed = render(
            md,
            &MarkdownOptions {
                allow_html: true,
                iframe_hosts: vec![],
            },
        );
        assert!(!allowed.html.contains("<script"), "{}", allowed.html);
        assert!(!allowed.html.contains("onclick"), "{}", allowed.html);
        assert!(
            allowed.html.contains("<b>b</b>"),
            "safe markup is kept: {}",
            allowed.html
        );
        assert_eq!(allowed.issues.len(), 2, "{:?}", allowed.issues);
    }

    #[test]
    fn external_targets_are_left_alone() {
        for t in [
            "https://www.gov.cn/",
            "mailto:a@b.cn",
            "#top",
            "//cdn.example/x",
            "tel:12345",
        ] {
            assert!(is_external(t), "{t}");
        }
        for t in ["/news/", "static/x.css", "/a:b/"] {
            assert!(!is_external(t), "{t}");
        }
    }
    #[test]
    fn links_inside_the_site_become_placeholders() {
        let doc = render(
            "See [the notice](../tzgg/%E9%80%9A%E7%9F%A5.md#二),\n![chart](chart.png) and [gov.cn](https://www.gov.cn/) [top](#top).\n",
            &MarkdownOptions::default(),
        );
        assert_eq!(doc.links.len(), 2, "{:?}", doc.links);
        assert_eq!(doc.links[0].target, "../tzgg/通知.md");
        assert_eq!(doc.links[0].fragment.as_deref(), Some("二"));
        assert_eq!(doc.links[1].target, "chart.png");
        assert_eq!(doc.links[1].line, 2);
        assert!(
            doc.html.contains("href=\"gazette-content-link:0\""),
            "{}",
            doc.html
        );
        assert!(
            doc.html.contains("src=\"gazette-content-link:1\""),
            "{}",
            doc.html
        );
        assert!(
            doc.html.contains("href=\"https://www.gov.cn/\""),
            "{}",
            doc.html
        );
    }

    #[test]
    fn accessibility_issues_are_found_with_their_lines() {
        let doc = render(
            "## 一、标题\n\n#### 跳级\n\n![](a.png)\n\n[点击这里](a.md) [2023年预算](b.md)\n\n# 又一个标题\n",
            &MarkdownOptions::default(),
        );
        let found: Vec<(usize, &str)> = doc
            .issues
            .iter()
            .map(|i| (i.line, i.message.as_str()))
            .collect();
        assert_eq!(found.len(), 4, "{found:?}");
        assert_eq!(found[0].0, 3);
        assert!(found[0].1.contains("level 4 follows one of level 2"));
        assert_eq!(found[1], (5, "an image has no text alternative"));
        assert_eq!(found[2].0, 7);
        assert!(found[2].1.contains("点击这里"));
        assert_eq!(found[3].0, 9);
    }

    #[test]
    fn iframes_only_from_allowed_hosts() {
        let md = "<iframe src=\"https://map.tianditu.gov.cn/x\" title=\"地图\"></iframe>\n\n<iframe src=\"https://evil.example/x\"></iframe>\n";
        let doc = render(
            md,
            &MarkdownOptions {
                allow_html: true,
                iframe_hosts: vec!["map.tianditu.gov.cn".into()],
            },
        );
        assert!(
            doc.html.contains("src=\"https://map.tianditu.gov.cn/x\""),
            "{}",
            doc.html
        );
        assert!(!doc.html.contains("evil.example"), "{}", doc.html);
        assert_eq!(doc.issues.len(), 1);
        assert_eq!(doc.issues[0].line, 3);
    }

    #[test]
    fn plain_text_keeps_paragraphs() {
        let doc = render(
            "## 标题\n\n第一段。\n\n第二段。\n",
            &MarkdownOptions::default(),
        );
        assert_eq!(&*doc.text, "标题\n\n第一段。\n\n第二段。");
    }
}
