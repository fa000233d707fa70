//! The render stage: the [`Site`] and the [`Theme`] in, every file of the
//! portal out, each handed to a [`Sink`] as soon as it is made (in
//! parallel), so that a large site's pages are never all in memory. Files
//! to be copied as they are (attachments, images) are handed over by their
//! source path.
//!
//! Templates see typed view models, built here from the site (never the site
//! itself), and two filters: `url`, which turns a site path such as
//! `/static/gazette.css` into the right link for the page being rendered
//! (with the base URL's sub-path, or relative and ending in `index.html` for
//! a portal browsed from disk), and `abs_url`, the absolute address.

mod catalogue;
mod layouts;
mod links;
mod machine;
mod share;
mod site_files;
mod vars;
mod views;

pub use machine::{CatalogueRecord, SITEMAP_MAX_URLS, SitemapUrl, read_catalogue_csv, sitemaps};

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hasher;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, State, Value, context};
use rayon::prelude::*;
use rustc_hash::FxHasher;

use crate::catalogue::Catalogue;
use crate::config::Config;
use crate::content::disclosure::DocType;
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::markdown::is_external;
use crate::output::{OutputError, Sink};
use crate::paths::{ContentPath, UrlPath};
use crate::site::{Href, Report, ReportId, Section, SectionId, SharedValues, Site};
use crate::theme::{Strings, Theme};
use links::{Links, fill_links};
use vars::{PageVars, page_context};
use views::*;

/// What one output file holds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Contents {
    Bytes(Vec<u8>),
    /// Bytes kept from an earlier build ([`PageMemo`]), shared with it.
    /// (An `Arc` of a `Vec`, not of a slice: the count sits in a small
    /// allocation of its own, and handing on tens of thousands of kept
    /// files touches only those, not the first page of every file.)
    Shared(Arc<Vec<u8>>),
    /// A search index file shared with serve's live index, likewise.
    SharedText(Arc<String>),
    /// A file copied as it is, from this source path.
    CopyOf(PathBuf),
    /// The file as the output folder already holds it, of this many bytes:
    /// what the last build wrote there and the build cache knows to be
    /// still right ([`PageMemo::on_disk`]).
    Kept(u64),
}

impl Contents {
    /// The bytes, unless the file is a copy of a source file or kept.
    pub fn in_memory(&self) -> Option<&[u8]> {
        match self {
            Contents::Bytes(bytes) => Some(bytes),
            Contents::Shared(bytes) => Some(bytes),
            Contents::SharedText(text) => Some(text.as_bytes()),
            Contents::CopyOf(_) | Contents::Kept(_) => None,
        }
    }

    /// Whether both hold the very same shared bytes (kept from one build
    /// to the next), without looking at the bytes.
    pub fn is_same_shared(&self, other: &Contents) -> bool {
        match (self, other) {
            (Contents::Shared(a), Contents::Shared(b)) => Arc::ptr_eq(a, b),
            (Contents::SharedText(a), Contents::SharedText(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// The pages of the last build, kept by `gazette serve` (their bytes) and
/// by the build cache on disk (where they are in the output folder), so
/// that a rebuild renders again only the pages that can have changed.
///
/// A report's pages are a function of the report (its front matter,
/// address, lead, headings, links, attachments and body) and of what
/// report pages see of the rest of the site: the configuration, the
/// theme, the sections (their titles, addresses and feeds, not their
/// lists of reports) and the titles and addresses of the reports before
/// and after it. So its pages are kept under a key made of a hash of all
/// that (`PageKeys`): an edit to one report renders its three pages
/// (and its neighbours' when its title, address or date changed), and a
/// report added or removed renders its own and its neighbours'. The
/// other pages (lists, catalogue, feeds, sitemap) are kept only while
/// every report's front matter, lead, headings and place in the site are
/// as they were.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct PageMemo {
    groups: HashMap<Group, KeptPages>,
    /// Whether pages are kept as [`Contents::Kept`] (the output folder
    /// holds them) rather than as bytes.
    on_disk: bool,
    /// Reports whose pages the last build rendered (the rest were kept).
    #[serde(skip)]
    pub rendered_last: usize,
    /// Pages of printed collections the last build rendered.
    #[serde(skip)]
    pub prints_last: usize,
    /// Each report's [`OwnSummary`] hash, by report (serve's; a build
    /// from the disk cache hashes them all).
    #[serde(skip)]
    own: Vec<OwnHash>,
}

/// A group's pages and the key they were made under.
type KeptPages = (u64, Vec<OutputFile>);

/// Pages as rendered: each made, or broken by a template error.
type Pages = Vec<Result<OutputFile, Diagnostic>>;

/// Pages kept or made again together.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
enum Group {
    /// A report's three pages.
    Report(ContentPath),
    /// The printed collection of a section (by its address): every report
    /// of it, so kept only while all their pages are.
    Prints(String),
    /// Every page that shows no report's body (lists, catalogue, feeds,
    /// sitemap): kept only while the site key is the same.
    Site,
}

impl PageMemo {
    /// A memo for a build that writes the output folder: it keeps where
    /// each page is, not its bytes, for a build cache on disk.
    pub fn on_disk() -> PageMemo {
        PageMemo {
            on_disk: true,
            ..PageMemo::default()
        }
    }

    /// The pages of `group` when they were made under `key`.
    fn kept(&self, group: &Group, key: Option<u64>) -> Option<&[OutputFile]> {
        let key = key?;
        self.groups
            .get(group)
            .filter(|(k, _)| *k == key)
            .map(|(_, files)| files.as_slice())
    }
}

/// The pages of one group, to hand on, and what to keep of them: when
/// they all rendered and have a key, all of them under the key (shared,
/// or only where they are when `on_disk`).
fn keepable(
    group: Group,
    key: Option<u64>,
    pages: Pages,
    on_disk: bool,
) -> (Pages, Option<(Group, KeptPages)>) {
    let Some(key) = key else { return (pages, None) };
    if !pages.iter().all(Result::is_ok) {
        return (pages, None);
    }
    if on_disk {
        let kept = pages.iter().flatten().map(OutputFile::as_kept).collect();
        return (pages, Some((group, (key, kept))));
    }
    let files: Vec<OutputFile> = pages
        .into_iter()
        .map(|page| page.expect("all rendered").shared())
        .collect();
    let kept = (group, (key, files.clone()));
    (files.into_iter().map(Ok).collect(), Some(kept))
}

/// minijinja's `safe` filter, except that a value already marked safe
/// (a report's body, [`views::ReportView::html`]) is handed on as it is,
/// not copied into a new one.
fn safe_filter(value: Value) -> Value {
    if value.is_safe() {
        value
    } else {
        Value::from_safe_string(value.to_string())
    }
}

/// Puts a page into `sink`; a template error is handed back (as is an
/// error of the sink).
fn keep_in(
    sink: &dyn Sink,
    page: Result<OutputFile, Diagnostic>,
) -> Option<Result<Diagnostic, OutputError>> {
    match page {
        Ok(file) => sink.put(file).err().map(Err),
        Err(d) => Some(Ok(d)),
    }
}

/// A sink that keeps a (shared) copy of every file it passes on, or only
/// where it is when `on_disk`, when on.
struct Recording<'a> {
    inner: &'a dyn Sink,
    files: Option<Mutex<Vec<OutputFile>>>,
    on_disk: bool,
}

impl<'a> Recording<'a> {
    fn new(inner: &'a dyn Sink, on: bool, on_disk: bool) -> Recording<'a> {
        Recording {
            inner,
            files: on.then(|| Mutex::new(Vec::new())),
            on_disk,
        }
    }

    fn into_files(self) -> Vec<OutputFile> {
        self.files
            .map(|f| f.into_inner().unwrap_or_else(|e| e.into_inner()))
            .unwrap_or_default()
    }
}

impl Sink for Recording<'_> {
    fn put(&self, file: OutputFile) -> Result<(), OutputError> {
        match &self.files {
            Some(files) if self.on_disk => {
                files
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(file.as_kept());
                self.inner.put(file)
            }
            Some(files) => {
                let file = file.shared();
                files
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(file.clone());
                self.inner.put(file)
            }
            None => self.inner.put(file),
        }
    }

    fn paths(&self) -> Vec<String> {
        self.inner.paths()
    }
}

impl OutputFile {
    /// The file as a later build finds it in the output folder.
    fn as_kept(&self) -> OutputFile {
        let len = match &self.contents {
            Contents::Bytes(bytes) => bytes.len() as u64,
            Contents::Shared(bytes) => bytes.len() as u64,
            Contents::SharedText(text) => text.len() as u64,
            Contents::CopyOf(source) => std::fs::metadata(source).map_or(0, |m| m.len()),
            Contents::Kept(len) => *len,
        };
        OutputFile {
            path: self.path.clone(),
            contents: Contents::Kept(len),
        }
    }

    /// The file with its bytes shared rather than owned (and no more room
    /// than they take: it is kept).
    fn shared(self) -> OutputFile {
        let file = self.compacted();
        match file.contents {
            Contents::Bytes(bytes) => OutputFile {
                path: file.path,
                contents: Contents::Shared(Arc::new(bytes)),
            },
            _ => file,
        }
    }

    /// The file as it is kept in memory: without the room its bytes were
    /// made in (a page is rendered into [`PAGE_ROOM`]), which a site's
    /// worth of pages held by `gazette serve` would multiply.
    pub fn compacted(mut self) -> OutputFile {
        if let Contents::Bytes(bytes) = &mut self.contents {
            bytes.shrink_to_fit();
        }
        self
    }
}

/// The hasher of the keys pages are kept under: XXH3, which is specified
/// (the same from run to run and from toolchain to toolchain, unlike the
/// standard library's `DefaultHasher`) and hashes serialised summaries
/// several times faster than its SipHash.
type KeyHasher = xxhash_rust::xxh3::Xxh3Default;

/// Feeds formatted text to a hasher, for hashing `Debug` output without
/// building the string. (Serialised values are hashed at once, by
/// [`serialized_hash`].)
struct HashWriter<'a, H>(&'a mut H);

impl<H: Hasher> std::fmt::Write for HashWriter<'_, H> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

/// What report pages see of one report's own front matter and text
/// besides its body: hashed apart from [`ReportSummary`], so that `gazette
/// serve` hashes it only when the report's shared values change.
#[derive(serde::Serialize)]
struct OwnSummary<'a> {
    front: &'a crate::content::FrontMatter,
    lead: &'a str,
    toc: &'a [crate::markdown::Heading],
}

impl OwnSummary<'_> {
    /// A hash of the summary, the same from run to run.
    fn hash(r: &Report) -> u64 {
        let own = OwnSummary {
            front: &r.front,
            lead: &r.doc.lead,
            toc: &r.doc.toc,
        };
        serialized_hash(&own)
    }
}

/// The hash of a report's [`OwnSummary`], and the values it was made from.
type OwnHash = (SharedValues, u64);

/// What report pages see of one report besides its body (see
/// [`PageMemo`]), hashed through its serialised form: its
/// [`OwnSummary`]'s hash, where it stands in the site and the title and
/// address of the reports before and after it. (Those, not their
/// [`ReportId`]s: a report added or removed renumbers every report after
/// it, but changes the pages of its neighbours only.)
#[derive(serde::Serialize)]
struct ReportSummary<'a> {
    own: u64,
    source: &'a ContentPath,
    url: &'a UrlPath,
    section: SectionId,
    body_line: usize,
    links: &'a [crate::site::LinkTarget],
    attachments: &'a [crate::site::Attachment],
    superseded_by: &'a Option<Href>,
    related: &'a [(String, Href)],
    has_page: bool,
    lang: crate::config::Language,
    previous: Option<(&'a str, &'a UrlPath)>,
    next: Option<(&'a str, &'a UrlPath)>,
}

impl ReportSummary<'_> {
    fn of<'a>(site: &'a Site, r: &'a Report, own: u64) -> ReportSummary<'a> {
        let neighbour = |id: ReportId| {
            let n = site.report(id);
            (n.front.title.as_str(), &n.url)
        };
        ReportSummary {
            own,
            source: &r.source,
            url: &r.url,
            section: r.section,
            body_line: r.body_line,
            links: &r.links,
            attachments: &r.attachments,
            superseded_by: &r.superseded_by,
            related: &r.related,
            has_page: r.has_page,
            lang: r.lang,
            previous: r.previous.map(neighbour),
            next: r.next.map(neighbour),
        }
    }

    /// A hash of the summary, the same from run to run.
    fn hash(&self) -> u64 {
        serialized_hash(self)
    }
}

/// The [`KeyHasher`] hash of `value`'s serialised form. It is serialised
/// into a buffer and hashed at once: fed to the hasher field by field, a
/// front matter's hundreds of small writes cost more than serialising it
/// (40 ms of an edit's 0.45 s rebuild at 10,000 reports). XXH3 gives the
/// same hash either way, so the keys in a build cache stay valid.
fn serialized_hash<T: serde::Serialize>(value: &T) -> u64 {
    with_serialized(value, xxhash_rust::xxh3::xxh3_64)
}

/// Feeds `bytes` to `hasher`, their length first, so that no two runs
/// of parts feed the hasher the same bytes (a byte moved from one part
/// to the next).
fn feed_bytes(hasher: &mut impl Hasher, bytes: &[u8]) {
    hasher.write_u64(bytes.len() as u64);
    hasher.write(bytes);
}

/// Feeds `value`'s serialised form to `hasher`, its length first.
/// (Hashing `Debug` text instead, as the site's key did, escaped every
/// character of the sections' Chinese titles and intros one by one.)
fn feed_serialized<T: serde::Serialize>(hasher: &mut impl Hasher, value: &T) {
    with_serialized(value, |bytes| feed_bytes(hasher, bytes))
}

/// Feeds everything `theme` holds to `hasher`: each text and file whole.
/// (Its `Debug` text, hashed until then, spelt every byte of the static
/// files as a number and escaped every character of the templates: 50 M
/// instructions, 4 % of an edit of one report of 10,000.)
fn feed_theme(hasher: &mut impl Hasher, theme: &Theme) {
    hasher.write_u64(theme.templates.len() as u64);
    for (name, source) in &theme.templates {
        feed_bytes(hasher, name.as_bytes());
        feed_bytes(hasher, source.as_bytes());
    }
    hasher.write_u64(theme.assets.len() as u64);
    for (path, bytes) in &theme.assets {
        feed_bytes(hasher, path.as_bytes());
        feed_bytes(hasher, bytes);
    }
    hasher.write_u64(theme.strings.len() as u64);
    for (language, strings) in &theme.strings {
        feed_bytes(hasher, language.as_bytes());
        hasher.write_u64(strings.len() as u64);
        for (key, text) in strings {
            feed_bytes(hasher, key.as_bytes());
            feed_bytes(hasher, text.as_bytes());
        }
    }
    hasher.write_u64(theme.origins.len() as u64);
    for (name, origin) in &theme.origins {
        feed_bytes(hasher, name.as_bytes());
        feed_bytes(hasher, origin.as_str().as_bytes());
    }
}

/// Calls `f` with `value` serialised, in a buffer of the thread's.
fn with_serialized<T: serde::Serialize, R>(value: &T, f: impl FnOnce(&[u8]) -> R) -> R {
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUFFER.with_borrow_mut(|buffer| {
        buffer.clear();
        // Writing to a vector cannot fail, and every part serialises.
        let _ = postcard::to_io(value, &mut *buffer);
        f(buffer)
    })
}

/// The [`OwnSummary`] hash of every report, taken from `known` (the last
/// build's, by report) where the report still has the values hashed then.
/// (Moved, not cloned: on a large site every reference count touched is a
/// cache miss.)
fn own_hashes(site: &Site, known: Vec<OwnHash>) -> Vec<OwnHash> {
    let mut known: Vec<Option<OwnHash>> = known.into_iter().map(Some).collect();
    known.resize_with(site.reports.len(), || None);
    site.reports
        .par_iter()
        .zip(known)
        .map(|(r, known)| match known {
            Some(kept) if kept.0.are_of(r) => kept,
            _ => (SharedValues::of(r), OwnSummary::hash(r)),
        })
        .collect()
}

/// The keys pages are kept under (see [`PageMemo`]).
struct PageKeys {
    /// What the site's lists, catalogue, feeds and sitemap show: a hash
    /// of the configuration, theme, assets and sections, and of every
    /// report's [`ReportSummary`].
    site: u64,
    /// Per report, the key of its pages: a hash of what every report page
    /// sees of the site (the configuration, the theme, the sections
    /// without their lists of reports), of its [`ReportSummary`] and of
    /// its Markdown (none when the build keeps no cache).
    pages: Vec<Option<u64>>,
}

impl PageKeys {
    /// The keys of `site`'s pages. (Hashed, not compared: the keys are
    /// kept on disk by the build cache. Hashing the serialised summaries
    /// takes a few tens of milliseconds at 10,000 reports, where
    /// formatting them with `Debug` took half a second.)
    fn of(renderer: &Renderer, own: &[OwnHash]) -> PageKeys {
        use std::fmt::Write;
        let (site, theme, config) = (renderer.site, renderer.theme, renderer.config);
        let summaries: Vec<u64> = site
            .reports
            .par_iter()
            .zip(own)
            .map(|(r, (_, own))| ReportSummary::of(site, r, *own).hash())
            .collect();
        // What a report page sees of the sections: not their intros or
        // lists of reports, but whether each has a feed.
        let mut h = KeyHasher::default();
        let _ = write!(HashWriter(&mut h), "{config:?}");
        feed_theme(&mut h, theme);
        for s in &site.sections {
            let seen = (
                renderer.feed_of(s),
                s.id,
                &s.url,
                &s.title,
                &s.front,
                s.parent,
                &s.children,
            );
            feed_serialized(&mut h, &seen);
        }
        let frame = h.finish();
        let pages = site
            .reports
            .par_iter()
            .zip(&summaries)
            .map(|(report, summary)| {
                let mut h = FxHasher::default();
                h.write_u64(frame);
                h.write_u64(*summary);
                h.write_u64(report.doc.source_hash?);
                Some(h.finish())
            })
            .collect();
        // The rest of the site: the frame (configuration and theme among
        // it), every summary, the assets and the sections whole.
        let mut h = KeyHasher::default();
        h.write_u64(frame);
        for summary in summaries {
            h.write_u64(summary);
        }
        h.write_u64(site.assets.len() as u64);
        for asset in &site.assets {
            feed_bytes(&mut h, asset.source.as_os_str().as_encoded_bytes());
            feed_bytes(&mut h, asset.url.as_str().as_bytes());
            h.write_u64(asset.size);
        }
        for section in &site.sections {
            feed_serialized(&mut h, section);
        }
        PageKeys {
            site: h.finish(),
            pages,
        }
    }
}

/// One file of the portal, by its path relative to the output folder.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutputFile {
    pub path: String,
    pub contents: Contents,
}

/// Every file of the portal, sorted by path.
#[derive(Clone, Debug, Default)]
pub struct OutputSet {
    pub files: Vec<OutputFile>,
}

/// How many reports the home page lists as the latest, and per section.
const HOME_LATEST: usize = 10;
/// How many reports a section's panel on the home page or a hub page lists.
const PANEL_SIZE: usize = 6;

/// The room a page is rendered into ([`Renderer::render_template`]): more
/// than most report pages take.
const PAGE_ROOM: usize = 64 * 1024;

/// The rendering of one site with one theme.
struct Renderer<'a> {
    site: &'a Site,
    catalogue: &'a Catalogue,
    config: &'a Config,
    theme: &'a Theme,
    env: Environment<'a>,
    links: Links,
    site_value: Value,
    strings: Value,
    chinese: bool,
    /// The reports below each section, its own and its sub-sections'.
    below: Below,
}

/// Renders every page and hands every file of the portal to `sink` as it
/// is made. Template errors go to `diagnostics` (the files they broke are
/// not made); an error is returned only when the sink cannot take a file.
pub fn render(
    site: &Site,
    catalogue: &Catalogue,
    theme: &Theme,
    config: &Config,
    sink: &dyn Sink,
    diagnostics: &mut Diagnostics,
    memo: Option<&mut PageMemo>,
) -> Result<(), OutputError> {
    let env = match environment(theme, config) {
        Ok(env) => env,
        Err(problems) => {
            diagnostics.extend(problems);
            return Ok(());
        }
    };
    let lang = config.language.tag();
    let strings: Strings = theme.strings.get(lang).cloned().unwrap_or_default();
    let renderer = Renderer {
        site,
        catalogue,
        config,
        theme,
        site_value: Value::from(Serde(site_view(site, config))),
        strings: Value::from_object(vars::StringTable::new(&strings)),
        chinese: config.language == crate::config::Language::ZhCn,
        below: Below::of(site),
        links: Links {
            base: config.base_url.clone(),
            relative: config.relative_links,
        },
        env,
    };
    renderer.render_all(sink, diagnostics, memo)
}

fn environment<'a>(theme: &'a Theme, config: &Config) -> Result<Environment<'a>, Vec<Diagnostic>> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") || name.ends_with(".xml") || name.ends_with(".svg") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_formatter(escape_minimal);
    let mut problems = Vec::new();
    for (name, source) in &theme.templates {
        if let Err(err) = env.add_template(name, source) {
            problems.push(template_error(theme, &err, None));
        }
    }
    let links = Links {
        base: config.base_url.clone(),
        relative: config.relative_links,
    };
    env.add_filter("safe", safe_filter);
    env.add_filter("url", move |state: &State, target: String| {
        links.href(state, &target)
    });
    let base = config.base_url.clone();
    env.add_filter("abs_url", move |target: String| {
        if is_external(&target) {
            target
        } else {
            base.absolute(&UrlPath::parse(&target))
        }
    });
    if problems.is_empty() {
        Ok(env)
    } else {
        Err(problems)
    }
}

/// HTML-escapes what templates print, like minijinja's own formatter, but
/// prints nothing for a missing value and leaves `/` alone: it needs no
/// escaping in HTML, and `&#x2f;` in every URL makes the pages larger and
/// harder for people to read.
fn escape_minimal(
    out: &mut minijinja::Output,
    state: &mut State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    // A missing value prints nothing: a government page must never show
    // "none" where a 文号 or a date is absent.
    if value.is_none() || value.is_undefined() {
        return Ok(());
    }
    if *state.auto_escape() != AutoEscape::Html || value.is_safe() {
        return minijinja::escape_formatter(out, state, value);
    }
    let text = match value.as_str() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(value.to_string()),
    };
    // Found by bytes, without decoding characters: every character escaped
    // is ASCII, and no byte of a longer UTF-8 character is. memchr looks
    // for up to three bytes at once, many bytes an instruction, and most of
    // what is printed has none of them (measured: a tenth fewer
    // instructions in this function than a loop over the bytes).
    let bytes = text.as_bytes();
    let mut last = 0;
    while let Some(i) = next_to_escape(bytes, last) {
        let entity = match bytes[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        };
        out.write_str(&text[last..i])
            .map_err(minijinja::Error::from)?;
        out.write_str(entity).map_err(minijinja::Error::from)?;
        last = i + 1;
    }
    out.write_str(&text[last..]).map_err(minijinja::Error::from)
}

/// Where the first byte from `from` on that HTML escapes is
/// ([`escape_minimal`]).
fn next_to_escape(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = &bytes[from..];
    let tag_or_entity = memchr::memchr3(b'<', b'>', b'&', rest);
    let before = &rest[..tag_or_entity.unwrap_or(rest.len())];
    memchr::memchr2(b'"', b'\'', before)
        .or(tag_or_entity)
        .map(|i| from + i)
}

fn template_error(theme: &Theme, err: &minijinja::Error, page: Option<&ContentPath>) -> Diagnostic {
    let name = err.name().unwrap_or("?");
    let file = theme
        .origins
        .get(name)
        .cloned()
        .unwrap_or_else(|| ContentPath::from_relative(&format!("themes/{name}")));
    let mut message = format!("template error: {}", err.kind());
    if let Some(detail) = err.detail() {
        message.push_str(&format!(": {detail}"));
    }
    let diagnostic = Diagnostic::error(&file, err.line(), message);
    match page {
        Some(page) => diagnostic.with_help(format!("seen while rendering the page of {page}")),
        None => diagnostic,
    }
}

/// A report's schema.org structured data ([`Renderer::json_ld`]). Its
/// fields are in the order of their names, as the JSON object of the
/// `serde_json::json!` it was built with before printed them; made as a
/// struct, it costs a fifth of that (17 k instructions a report, not 93 k).
#[derive(serde::Serialize)]
struct LdReport<'a> {
    #[serde(rename = "@context")]
    context: &'static str,
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "associatedMedia", skip_serializing_if = "Vec::is_empty")]
    media: Vec<LdMedia<'a>>,
    author: &'a LdOrganization<'a>,
    #[serde(rename = "dateCreated", skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    #[serde(rename = "dateModified", skip_serializing_if = "Option::is_none")]
    modified: Option<String>,
    #[serde(rename = "datePublished", skip_serializing_if = "Option::is_none")]
    published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    headline: &'a str,
    #[serde(rename = "inLanguage")]
    language: &'static str,
    #[serde(rename = "isAccessibleForFree")]
    free: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    keywords: Option<String>,
    name: &'a str,
    publisher: &'a LdOrganization<'a>,
    #[serde(rename = "reportNumber", skip_serializing_if = "Option::is_none")]
    number: Option<&'a str>,
    url: String,
}

#[derive(serde::Serialize)]
struct LdOrganization<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    name: &'a str,
    #[serde(rename = "parentOrganization", skip_serializing_if = "Option::is_none")]
    parent: Option<Box<LdOrganization<'a>>>,
}

#[derive(serde::Serialize)]
struct LdMedia<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "contentSize")]
    size: String,
    #[serde(rename = "contentUrl")]
    url: String,
    #[serde(rename = "encodingFormat")]
    format: &'a str,
    name: &'a str,
}

fn site_view<'a>(site: &'a Site, config: &'a Config) -> SiteView<'a> {
    let nav = if config.nav.is_empty() {
        let home_title = match config.language {
            crate::config::Language::ZhCn => "首页",
            crate::config::Language::En => "Home",
        };
        std::iter::once(NavItem {
            title: home_title.to_string(),
            url: "/".to_string(),
        })
        .chain(site.home().children.iter().map(|id| {
            let s = site.section(*id);
            NavItem {
                title: s.title.clone(),
                url: s.url.to_string(),
            }
        }))
        .collect()
    } else {
        config
            .nav
            .iter()
            .map(|n| NavItem {
                title: n.title.clone(),
                url: n.url.clone(),
            })
            .collect()
    };
    let psb_record_code = config
        .identity
        .psb_no
        .as_deref()
        .map(|no| no.chars().filter(char::is_ascii_digit).collect::<String>())
        .filter(|d| !d.is_empty());
    SiteView {
        name: &config.name,
        lang: config.language.tag(),
        description: config.description.as_deref(),
        base_url: config.base_url.to_string(),
        domain: config.base_url.domain(),
        nav,
        identity: IdentityView {
            identity: &config.identity,
            psb_record_code,
        },
        extra: &config.extra,
    }
}

/// The three layouts every report is rendered in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// The portal page.
    Page,
    /// A light page to share: card, QR code, share links.
    Share,
    /// A page laid out for paper (GB/T 9704-2012 or plain).
    Print,
}

impl Layout {
    pub const ALL: [Layout; 3] = [Layout::Page, Layout::Share, Layout::Print];

    /// Where the layout of `report` lives: `/a/`, `/a/share.html`,
    /// `/a/print.html`. The share and print pages are files beside the
    /// report's own page, not folders of their own: a folder is what a
    /// file system makes most slowly, and on a host reached by FTP each
    /// one is a command of its own. (As folders, `/a/share/` and
    /// `/a/print/`, the 10,000-report bench site had 33,500 folders, not
    /// 13,500, and its clean build spent 4.7 % of its CPU time in `mkdir`
    /// (perf); three alternating pairs of builds took 0.17-0.34 s more
    /// system time and 0.1-0.35 s more wall time, of about 6 s.)
    /// Both pages name the report's page as their canonical address, and
    /// the share links and QR code give that page, so these addresses are
    /// seldom seen.
    pub fn url(self, report: &Report) -> UrlPath {
        match self {
            Layout::Page => report.url.clone(),
            Layout::Share => report.url.child_file("share.html"),
            Layout::Print => report.url.child_file("print.html"),
        }
    }

    fn template(self) -> &'static str {
        match self {
            Layout::Page => "report.html",
            Layout::Share => "share.html",
            Layout::Print => "print.html",
        }
    }
}

/// The end of the `<h2>` element of `html` whose text starts with `text`.
fn heading_end(html: &str, text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(start) = html[from..].find("<h2").map(|i| i + from) {
        let open_end = html[start..].find('>')? + start + 1;
        let close = html[open_end..].find("</h2>")? + open_end;
        if html[open_end..close].trim_start().starts_with(text) {
            return Some(close + "</h2>".len());
        }
        from = close;
    }
    None
}

fn has_heading(html: &str, text: &str) -> bool {
    heading_end(html, text).is_some()
}

fn insert_after_heading(html: &mut String, text: &str, insert: &str) {
    if let Some(end) = heading_end(html, text) {
        html.insert_str(end, insert);
    }
}

/// A report's stowed body could not be read back (the scratch folder was
/// removed, or the disk failed, during the build).
fn body_unreadable(report: &Report, e: std::io::Error) -> Diagnostic {
    Diagnostic::error(
        &report.source,
        None,
        format!("cannot read the report's rendered body back from the build's scratch folder: {e}"),
    )
    .with_help(
        "run the build again; the scratch folder beside the output folder must stay while it runs",
    )
}

/// A report's body as its layouts get it. Made into a template value once
/// for them all when it has no links to fill in: each layout's links are
/// relative to its own address, so the page and the print page fill theirs
/// apart ([`Renderer::body_html`]).
enum ReportBody<'a> {
    /// No links in it: the value every layout shows.
    Ready(Value),
    /// The HTML with the markdown stage's link placeholders.
    Linked(Cow<'a, str>),
}

impl<'a> ReportBody<'a> {
    fn new(report: &Report, html: Cow<'a, str>) -> ReportBody<'a> {
        if report.links.is_empty() {
            ReportBody::Ready(Value::from_safe_string(html.into_owned()))
        } else {
            ReportBody::Linked(html)
        }
    }

    /// The HTML, its link placeholders not filled in.
    fn text(&self) -> &str {
        match self {
            ReportBody::Ready(value) => value.as_str().unwrap_or_default(),
            ReportBody::Linked(html) => html,
        }
    }
}

/// The first `chars` characters of `text` on one line, cut at a sentence
/// end where one is near, for a page description.
fn excerpt(text: &str, chars: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= chars {
        return flat;
    }
    let cut: String = flat.chars().take(chars).collect();
    match cut.rfind(['。', '；', '.', ';']) {
        Some(end) if end > cut.len() / 2 => {
            cut[..end + cut[end..].chars().next().map_or(1, char::len_utf8)].to_string()
        }
        _ => format!("{cut}…"),
    }
}

/// For each section, how many reports it holds with its sub-sections, and
/// the newest few of them: what a hub page or the home page shows.
struct Below {
    /// Section → every report with a page below it, newest first. Sections
    /// with none are absent.
    all: HashMap<SectionId, Vec<ReportId>>,
}

impl Below {
    fn of(site: &Site) -> Below {
        let mut all: HashMap<SectionId, Vec<ReportId>> = HashMap::new();
        for id in site.reports_by_date() {
            let mut section = Some(site.report(id).section);
            while let Some(s) = section {
                all.entry(s).or_default().push(id);
                section = site.section(s).parent;
            }
        }
        Below { all }
    }

    fn count(&self, id: SectionId) -> usize {
        self.all.get(&id).map_or(0, Vec::len)
    }

    /// The newest few, for a panel.
    fn latest(&self, id: SectionId) -> &[ReportId] {
        self.all
            .get(&id)
            .map_or(&[], |ids| &ids[..ids.len().min(PANEL_SIZE)])
    }
}

impl<'a> Renderer<'a> {
    /// The theme's string `key` in the site's language (empty if missing).
    fn string(&self, key: &str) -> String {
        self.strings
            .get_attr(key)
            .ok()
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    fn render_all(
        &self,
        sink: &dyn Sink,
        diagnostics: &mut Diagnostics,
        mut memo: Option<&mut PageMemo>,
    ) -> Result<(), OutputError> {
        let site = self.site;
        let own = memo
            .as_deref_mut()
            .map(|memo| own_hashes(site, std::mem::take(&mut memo.own)));
        let keys = own.as_deref().map(|own| PageKeys::of(self, own));
        let site_key = keys.as_ref().map(|k| k.site);
        // Per report, the key of its pages (with a memo only).
        let page_keys = keys.map(|k| k.pages).unwrap_or_default();
        let page_key_of = |id: ReportId| page_keys.get(id.0 as usize).copied().flatten();
        let previous = memo.as_deref_mut().map(std::mem::take).unwrap_or_default();
        let on_disk = previous.on_disk;
        let mut next = PageMemo {
            on_disk,
            own: own.unwrap_or_default(),
            ..PageMemo::default()
        };
        let mut problems: Vec<Result<Diagnostic, OutputError>> = Vec::new();

        // Report pages, kept when their key is unchanged.
        let made = Mutex::new(Vec::new());
        let still = Mutex::new(Vec::new());
        let rendered = AtomicUsize::new(0);
        let keep = |kept: (Group, KeptPages)| {
            made.lock().unwrap_or_else(|e| e.into_inner()).push(kept);
        };
        problems.extend(
            site.reports
                .par_iter()
                .filter(|report| report.has_page)
                .flat_map_iter(|report| {
                    let key = page_key_of(report.id);
                    let group = Group::Report(report.source.clone());
                    if let Some(files) = previous.kept(&group, key) {
                        // Moved from `previous` to `next` below.
                        still.lock().unwrap_or_else(|e| e.into_inner()).push(group);
                        return files.iter().cloned().map(Ok).collect::<Vec<_>>();
                    }
                    rendered.fetch_add(1, Ordering::Relaxed);
                    // The QR code is drawn once per report, for all its layouts.
                    let share = self.share_view(report);
                    // And its structured data once (it names the report, not a layout).
                    let json_ld = self.json_ld(report);
                    // The body is read back once, for the page and the print page.
                    let pages = match self.site.html(report) {
                        // Moved into a vector, not `to_vec`ed: that clones
                        // each page rendered.
                        Ok(body) => {
                            let body = ReportBody::new(report, body);
                            Vec::from(Layout::ALL.map(|layout| {
                                self.report_layout(report, layout, &share, &body, &json_ld)
                            }))
                        }
                        Err(e) => vec![Err(body_unreadable(report, e))],
                    };
                    let (pages, kept) = keepable(group, key, pages, on_disk);
                    kept.map(keep);
                    pages
                })
                .filter_map(|page| keep_in(sink, page))
                .collect::<Vec<_>>(),
        );
        next.rendered_last = rendered.into_inner();

        // Printed collections, a section's kept while its reports' pages
        // are. A collection shows its section's title and address, and its
        // reports' print pages, in order, whose keys cover what they see of
        // the site (the configuration, the theme and the sections without
        // their lists): a report published elsewhere leaves it as it was.
        let print_keys: Vec<Option<u64>> = site
            .sections
            .iter()
            .map(|section| {
                site_key?;
                let mut h = FxHasher::default();
                h.write(section.title.as_bytes());
                h.write_u8(0xff);
                h.write(section.url.as_str().as_bytes());
                h.write_usize(section.reports.len());
                for id in &section.reports {
                    h.write_u64(page_key_of(*id)?);
                }
                Some(h.finish())
            })
            .collect();
        let print_group = |section: &Section| Group::Prints(section.url.as_str().to_string());
        let mut kept_prints = Vec::new();
        for (section, key) in site.sections.iter().zip(&print_keys) {
            let group = print_group(section);
            if let Some(files) = previous.kept(&group, *key) {
                kept_prints.push((section.id, group, key.expect("kept"), files));
            }
        }
        let is_kept = |section: &Section| kept_prints.iter().any(|(id, ..)| *id == section.id);
        // Each print goes to the sink as it is made: the prints hold every
        // body, too much to hold on a large site. With a memo, what a later
        // build keeps of each is noted by section (a shared copy, or only
        // where it went when the memo is on disk); a section is kept only
        // when all its pages rendered.
        let noted: Mutex<BTreeMap<SectionId, Pages>> = Mutex::new(BTreeMap::new());
        let print_problems = Mutex::new(Vec::new());
        let prints = AtomicUsize::new(0);
        self.collection_prints(&|section| !is_kept(section), |section, page| {
            prints.fetch_add(1, Ordering::Relaxed);
            let page = match site_key {
                Some(_) if !on_disk => page.map(OutputFile::shared),
                _ => page,
            };
            if site_key.is_some() {
                let note = match &page {
                    Ok(file) if on_disk => Ok(file.as_kept()),
                    other => other.clone(),
                };
                noted
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(section)
                    .or_default()
                    .push(note);
            }
            if let Some(problem) = keep_in(sink, page) {
                print_problems
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(problem);
            }
        });
        problems.extend(
            print_problems
                .into_inner()
                .unwrap_or_else(|e| e.into_inner()),
        );
        next.prints_last = prints.into_inner();
        for (id, pages) in noted.into_inner().unwrap_or_else(|e| e.into_inner()) {
            let group = print_group(site.section(id));
            let (_, kept) = keepable(group, print_keys[id.0 as usize], pages, on_disk);
            next.groups.extend(kept);
        }
        for (_, group, key, files) in kept_prints {
            for file in files {
                sink.put(file.clone())?;
            }
            next.groups.insert(group, (key, files.to_vec()));
        }

        // Every other page, feed and list shows only what the site key
        // covers: all kept, or all made again.
        let site_group = Group::Site;
        if let Some(files) = previous.kept(&site_group, site_key) {
            for file in files {
                sink.put(file.clone())?;
            }
            next.groups
                .insert(site_group, (site_key.expect("kept"), files.to_vec()));
        } else {
            let recording = Recording::new(sink, site_key.is_some(), on_disk);
            let site_problems = self.site_pages(&recording)?;
            if let Some(key) = site_key
                && site_problems.is_empty()
            {
                next.groups
                    .insert(site_group, (key, recording.into_files()));
            }
            problems.extend(site_problems);
        }
        for (group, pages) in made.into_inner().unwrap_or_else(|e| e.into_inner()) {
            next.groups.insert(group, pages);
        }
        let mut previous = previous;
        for group in still.into_inner().unwrap_or_else(|e| e.into_inner()) {
            if let Some(pages) = previous.groups.remove(&group) {
                next.groups.insert(group, pages);
            }
        }
        if let Some(memo) = memo {
            *memo = next;
        }

        // (template, line, message) → (first diagnostic, pages affected)
        type ErrorKey = (Option<ContentPath>, Option<usize>, String);
        let mut template_errors: BTreeMap<ErrorKey, (Diagnostic, usize)> = BTreeMap::new();
        for problem in problems {
            // One template mistake breaks every page that uses it: say it
            // once, with how many pages it broke.
            let d = problem?;
            let key = (d.file.clone(), d.line, d.message.clone());
            template_errors.entry(key).or_insert((d, 0)).1 += 1;
        }
        for (_, (d, count)) in template_errors {
            let d = if count > 1 {
                let help = format!(
                    "{} (and {} other pages)",
                    d.help.clone().unwrap_or_default(),
                    count - 1
                );
                d.with_help(help)
            } else {
                d
            };
            diagnostics.push(d);
        }
        let mut files = Vec::new();
        for (name, bytes) in &self.theme.assets {
            files.push(OutputFile {
                path: format!("static/{name}"),
                contents: Contents::Bytes(bytes.clone()),
            });
        }
        for asset in &site.assets {
            files.push(OutputFile {
                path: asset.url.output_file(),
                contents: Contents::CopyOf(asset.source.clone()),
            });
        }
        files.into_par_iter().try_for_each(|file| sink.put(file))
    }

    /// The pages that show no report's body: section lists and the home
    /// page, catalogue pages, redirects, the 404 and search pages, the
    /// catalogue downloads, feeds and the sitemap. Returns the template
    /// errors.
    fn site_pages(
        &self,
        sink: &dyn Sink,
    ) -> Result<Vec<Result<Diagnostic, OutputError>>, OutputError> {
        let site = self.site;
        let mut problems: Vec<Result<Diagnostic, OutputError>> = site
            .sections
            .par_iter()
            .flat_map_iter(|section| {
                (0..section.list_pages.len()).map(move |page| {
                    if section.id == SectionId(0) && page == 0 {
                        self.home_page()
                    } else {
                        self.section_page(section, page)
                    }
                })
            })
            .filter_map(|page| keep_in(sink, page))
            .collect();
        problems.extend(self.catalogue_pages(|page| keep_in(sink, page)));
        problems.extend(
            self.redirect_pages()
                .into_iter()
                .chain(std::iter::once(self.not_found_page()))
                .chain(std::iter::once(self.search_page()))
                .filter_map(|page| keep_in(sink, page)),
        );
        self.put_catalogue_downloads(sink)?;
        let mut files = self.feeds();
        files.extend(self.sitemap_and_robots());
        files.into_par_iter().try_for_each(|file| sink.put(file))?;
        Ok(problems)
    }

    fn render_template(
        &self,
        template: &str,
        ctx: Value,
        page: Option<&ContentPath>,
    ) -> Result<Vec<u8>, Diagnostic> {
        let tmpl = self
            .env
            .get_template(template)
            .map_err(|e| template_error(self.theme, &e, page))?;
        // Written into room made beforehand: a page is tens of kilobytes,
        // and a string grown from the template's own size hint (twice its
        // source) is copied several times on the way.
        let mut out = Vec::with_capacity(PAGE_ROOM);
        tmpl.render_captured_to(ctx, &mut out)
            .map_err(|e| template_error(self.theme, &e, page))?;
        Ok(out)
    }

    /// The variables every page has; a page sets its own over them with
    /// [`page_context!`].
    fn base_context(
        &self,
        page_url: &UrlPath,
        page_title: &str,
        description: Option<&str>,
        lang: &str,
        nav_current: &UrlPath,
    ) -> PageVars {
        let mut vars = PageVars::default();
        vars.set("site", self.site_value.clone());
        vars.set("t", self.strings.clone());
        vars.set("page_url", Value::from(page_url.as_str()));
        vars.set("page_title", Value::from(page_title));
        vars.set("description", Value::from(description));
        vars.set(
            "canonical",
            Value::from(self.config.base_url.absolute(page_url)),
        );
        vars.set("lang", Value::from(lang));
        vars.set("nav_current", Value::from(nav_current.as_str()));
        vars
    }

    /// The URL of the top-level section `id` falls under, for marking the
    /// current navigation entry.
    fn nav_current(&self, id: SectionId) -> UrlPath {
        let chain = self.site.ancestry(id);
        chain.get(1).map_or_else(UrlPath::root, |s| s.url.clone())
    }

    fn crumbs(&self, id: SectionId, last_is_current: bool) -> Vec<Crumb<'a>> {
        let chain = self.site.ancestry(id);
        let n = chain.len();
        chain
            .into_iter()
            .enumerate()
            .map(|(i, s)| Crumb {
                title: if i == 0 { self.home_title() } else { &s.title },
                url: &s.url,
                current: last_is_current && i + 1 == n,
            })
            .collect()
    }

    fn home_title(&self) -> &'a str {
        match self.config.language {
            crate::config::Language::ZhCn => "首页",
            crate::config::Language::En => "Home",
        }
    }

    fn item(&self, id: ReportId) -> ReportItem<'a> {
        let r = self.site.report(id);
        ReportItem {
            title: &r.front.title,
            url: &r.url,
            date: r
                .front
                .date_published
                .as_ref()
                .map(|d| DateView::of_timestamp(d, self.chinese)),
            issuer: r.front.issuer.as_deref(),
            sample: r.front.sample,
        }
    }

    fn link(&self, id: ReportId) -> LinkView<'a> {
        let r = self.site.report(id);
        LinkView {
            title: &r.front.title,
            url: &r.url,
        }
    }

    fn children(&self, section: &Section) -> Vec<ChildView<'a>> {
        section
            .children
            .iter()
            .map(|id| {
                let child = self.site.section(*id);
                ChildView {
                    title: &child.title,
                    url: &child.url,
                    count: self.below.count(*id),
                }
            })
            .collect()
    }

    /// One layout of a report: its page, its share page or its print page,
    /// all from the same rendered body and view model.
    fn report_layout(
        &self,
        report: &'a Report,
        layout: Layout,
        share: &ShareView,
        body: &ReportBody,
        json_ld: &str,
    ) -> Result<OutputFile, Diagnostic> {
        let f = &report.front;
        let page_url = layout.url(report);
        let (html, gip_appendix) = match (layout, body) {
            // A share page shows no body.
            (Layout::Share, _) => (Value::from_safe_string(String::new()), String::new()),
            (_, ReportBody::Ready(html)) if !self.has_annual_tables(report) => {
                (html.clone(), String::new())
            }
            (_, body) => {
                let (html, appendix) = self.body_html(report, &page_url, body.text())?;
                (Value::from_safe_string(html.into_owned()), appendix)
            }
        };
        let view = self.report_view(report, &page_url, html, gip_appendix, share, json_ld);
        let section = self.site.section(report.section);
        let description = f
            .summary
            .clone()
            .unwrap_or_else(|| excerpt(&report.doc.lead, 120));
        let social = self.social_meta(report, &description);
        let ctx = page_context!(self.base_context(&page_url, &f.title, Some(&description), self.config.language.tag(), &self.nav_current(report.section));
            report => Value::from(Serde(&view)),
            social => Value::from(Serde(&social)),
            feed_url => self.feed_of(section).map(|u| u.to_string()),
            breadcrumbs => Value::from(Serde(self.crumbs(report.section, false))),
            // Every layout names the report's page as the one address of the document.
            canonical => self.config.base_url.absolute(&report.url),
        );
        let bytes = self.render_template(layout.template(), ctx, Some(&report.source))?;
        Ok(OutputFile {
            path: page_url.output_file(),
            contents: Contents::Bytes(bytes),
        })
    }

    /// Whether a report's page shows the statistics tables of an annual
    /// report ([`Renderer::place_annual_tables`]).
    fn has_annual_tables(&self, report: &Report) -> bool {
        report.front.gip_stats.is_some() && report.front.doc_type == Some(DocType::GipAnnualReport)
    }

    /// A report's body `html` as a page at `page_url` shows it: its links
    /// made for that page, and an annual report's statistics tables under
    /// its headings for them; with the tables it has no heading for, to
    /// follow it.
    pub(super) fn body_html<'b>(
        &self,
        report: &'a Report,
        page_url: &UrlPath,
        html: &'b str,
    ) -> Result<(Cow<'b, str>, String), Diagnostic> {
        let link = |t: &crate::site::LinkTarget| {
            self.links
                .link(page_url, false, &t.url, t.fragment.as_deref())
        };
        // Borrowed from the body read back unless links are filled in.
        let mut html = fill_links(html, &report.links, link);
        let f = &report.front;
        let appendix = match f
            .gip_stats
            .as_ref()
            .filter(|_| self.has_annual_tables(report))
        {
            Some(stats) => self.place_annual_tables(report, stats, html.to_mut())?,
            None => String::new(),
        };
        Ok((html, appendix))
    }

    /// The view model of a report for a page at `page_url`, with its body
    /// `html` as that page shows it ([`Renderer::body_html`]) and the
    /// tables `gip_appendix` after it, and the report's structured data
    /// `json_ld` ([`Renderer::json_ld`]).
    pub(super) fn report_view<'b>(
        &self,
        report: &'b Report,
        page_url: &UrlPath,
        html: Value,
        gip_appendix: String,
        share: &'b ShareView,
        json_ld: &'b str,
    ) -> ReportView<'b>
    where
        'a: 'b,
    {
        let f = &report.front;
        let page_url = page_url.clone();
        let section = self.site.section(report.section);
        let signature = f.signature.as_ref().map(|s| SignatureView {
            name: s.name.clone().or_else(|| f.issuer.clone()),
            date: s
                .date
                .or(f.date_written)
                .as_ref()
                .map(|d| DateView::of_date(d, self.chinese)),
        });
        ReportView {
            title: &f.title,
            subtitle: f.subtitle.as_deref(),
            url: &report.url,
            lang: report.lang.tag(),
            date_published: f
                .date_published
                .as_ref()
                .map(|d| DateView::of_timestamp(d, self.chinese)),
            date_written: f
                .date_written
                .as_ref()
                .map(|d| DateView::of_date(d, self.chinese)),
            date_updated: f
                .date_updated
                .as_ref()
                .map(|d| DateView::of_timestamp(d, self.chinese)),
            issuer: f.issuer.as_deref(),
            source: f.source.as_deref(),
            author: f.author.as_deref(),
            summary: f.summary.as_deref(),
            tags: &f.tags,
            keywords: &f.keywords,
            html,
            toc: &report.doc.toc,
            signature,
            sample: f.sample,
            section: LinkView {
                title: &section.title,
                url: &section.url,
            },
            previous: report.previous.map(|id| self.link(id)),
            next: report.next.map(|id| self.link(id)),
            extra: &f.extra,
            index_no: f.index_no.as_deref(),
            doc_no: f.doc_no.as_deref(),
            doc_type: f.doc_type.map(|t| Labelled {
                key: t.key(),
                label: if self.chinese {
                    t.chinese()
                } else {
                    t.english()
                },
            }),
            topics: &f.topics,
            catalogue: f.catalogue.as_deref(),
            column: f.column.as_deref(),
            validity: f.validity.map(|v| Labelled {
                key: v.key(),
                label: if self.chinese {
                    v.chinese()
                } else {
                    v.english()
                },
            }),
            banner: f.validity.filter(|v| v.needs_banner()).map(|v| BannerView {
                label: if self.chinese {
                    v.chinese()
                } else {
                    v.english()
                },
                replacement: report
                    .superseded_by
                    .as_ref()
                    .map(|h| self.href_view(&page_url, None, h)),
            }),
            change_note: f.change_note.as_deref(),
            date_effective: f
                .date_effective
                .as_ref()
                .map(|d| DateView::of_date(d, self.chinese)),
            year: f.year,
            addressee: f.addressee.as_deref(),
            note: f.note.as_deref(),
            attachments: report
                .attachments
                .iter()
                .map(|a| AttachmentView {
                    title: &a.title,
                    url: &a.url,
                    format: &a.format,
                    size: human_size(a.size),
                })
                .collect(),
            related: report
                .related
                .iter()
                .map(|(text, h)| self.href_view(&page_url, Some(text), h))
                .collect(),
            gip_appendix,
            json_ld,
            share,
            print: PrintView {
                page: Layout::Print.url(report),
                share_page: Layout::Share.url(report),
                profile: self.config.print.profile(self.config.language),
                paper: self.config.print.paper,
            },
        }
    }

    /// Renders the three statistics tables of an annual report and puts each
    /// under the body's own heading for it; returns the ones the body has
    /// no heading for, to follow the body.
    fn place_annual_tables(
        &self,
        report: &Report,
        stats: &'a crate::content::annual_report::GipStats,
        html: &mut String,
    ) -> Result<String, Diagnostic> {
        let view = GipView {
            proactive: &stats.proactive,
            request_rows: stats
                .requests
                .rows()
                .into_iter()
                .map(|r| GipRow {
                    label: r.label,
                    level: r.level,
                    groups: r.groups,
                    cells: r.row,
                })
                .collect(),
            appeals: &stats.appeals,
        };
        let g = Value::from(Serde(&view));
        let mut appendix = String::new();
        for (part, heading) in [
            ("proactive", "二、主动公开政府信息情况"),
            ("requests", "三、收到和处理政府信息公开申请情况"),
            ("appeals", "四、政府信息公开行政复议、行政诉讼情况"),
        ] {
            let with_heading = !has_heading(html, heading);
            let ctx = context! { g => g.clone(), part => part, with_heading => with_heading, t => self.strings.clone() };
            let bytes = self.render_template("annual_report.html", ctx, Some(&report.source))?;
            let table = String::from_utf8(bytes).unwrap_or_default();
            if with_heading {
                appendix.push_str(&table);
            } else {
                insert_after_heading(html, heading, &table);
            }
        }
        Ok(appendix)
    }

    /// A link given in front matter, made for the page `from`. Without
    /// `text`, a link to a report is shown by the report's title.
    fn href_view(&self, from: &UrlPath, text: Option<&str>, href: &Href) -> HrefView {
        match href {
            Href::External(address) => HrefView {
                text: text.unwrap_or(address).to_string(),
                href: address.clone(),
            },
            Href::Internal(target) => {
                let title = || {
                    self.site
                        .report_at(&target.url)
                        .map(|id| self.site.report(id).front.title.clone())
                };
                HrefView {
                    text: text
                        .map(str::to_string)
                        .or_else(title)
                        .unwrap_or_else(|| target.url.to_string()),
                    href: self
                        .links
                        .link(from, false, &target.url, target.fragment.as_deref()),
                }
            }
        }
    }

    /// schema.org `Report` with its `GovernmentOrganization`, for search
    /// engines and the share cards of messaging apps.
    pub(super) fn json_ld(&self, report: &Report) -> String {
        let f = &report.front;
        let base = &self.config.base_url;
        let org_name = f
            .issuer
            .as_deref()
            .or(self.config.identity.sponsor.as_deref())
            .unwrap_or(&self.config.name);
        let org = LdOrganization {
            kind: "GovernmentOrganization",
            name: org_name,
            parent: self.config.identity.parent_org.as_deref().map(|parent| {
                Box::new(LdOrganization {
                    kind: "GovernmentOrganization",
                    name: parent,
                    parent: None,
                })
            }),
        };
        let keywords: Vec<&str> = f
            .keywords
            .iter()
            .chain(&f.topics)
            .map(String::as_str)
            .collect();
        let ld = LdReport {
            context: "https://schema.org",
            kind: "Report",
            media: report
                .attachments
                .iter()
                .map(|a| LdMedia {
                    kind: "MediaObject",
                    size: human_size(a.size),
                    url: base.absolute(&a.url),
                    format: &a.format,
                    name: &a.title,
                })
                .collect(),
            author: &org,
            created: f.date_written.as_ref().map(|d| d.iso()),
            modified: f.date_updated.as_ref().map(|d| d.iso()),
            published: f.date_published.as_ref().map(|d| d.iso()),
            description: f.summary.as_deref(),
            headline: &f.title,
            language: report.lang.tag(),
            free: true,
            keywords: (!keywords.is_empty()).then(|| keywords.join(",")),
            name: &f.title,
            publisher: &org,
            number: f
                .doc_no
                .as_ref()
                .or(f.index_no.as_ref())
                .map(String::as_str),
            url: base.absolute(&report.url),
        };
        // `<` can never close the script element it sits in.
        serde_json::to_string(&ld)
            .expect("serializes")
            .replace('<', "\\u003c")
    }

    fn section_page(&self, section: &'a Section, page: usize) -> Result<OutputFile, Diagnostic> {
        let per_page = self.config.paginate;
        let reports = section
            .reports
            .iter()
            .skip(page * per_page)
            .take(per_page)
            .map(|id| self.item(*id))
            .collect();
        let summary = section.front.as_ref().and_then(|f| f.summary.as_deref());
        let view = SectionView {
            title: &section.title,
            url: &section.url,
            summary,
            intro_html: if page == 0 {
                self.intro_html(section)
            } else {
                None
            },
            children: self.children(section),
            panels: if page == 0 {
                self.panels(&section.children)
            } else {
                Vec::new()
            },
            reports,
            total: section.reports.len(),
            pagination: Pagination::of(&section.list_pages, page),
        };
        let url = &section.list_pages[page];
        let title = if page == 0 {
            section.title.clone()
        } else {
            let n = self.string("page_n");
            format!(
                "{} - {}",
                section.title,
                n.replace("{n}", &(page + 1).to_string())
            )
        };
        let ctx = page_context!(self.base_context(url, &title, summary, self.config.language.tag(), &self.nav_current(section.id));
            section => Value::from(Serde(&view)),
            feed_url => self.feed_of(section).map(|u| u.to_string()),
            breadcrumbs => Value::from(Serde(self.crumbs(section.id, true))),
        );
        let bytes = self.render_template("section.html", ctx, section.source.as_ref())?;
        Ok(OutputFile {
            path: url.output_file(),
            contents: Contents::Bytes(bytes),
        })
    }

    /// A section's own text (its `_index.md` body), links filled in.
    fn intro_html(&self, section: &'a Section) -> Option<Cow<'a, str>> {
        let intro = section.intro.as_ref()?;
        Some(fill_links(&intro.html, &section.intro_links, |t| {
            self.links
                .link(&section.url, false, &t.url, t.fragment.as_deref())
        }))
    }

    /// A panel per section: its title and newest reports (sub-sections' included).
    fn panels(&self, sections: &[SectionId]) -> Vec<Panel<'a>> {
        sections
            .iter()
            .map(|id| {
                let s = self.site.section(*id);
                Panel {
                    title: &s.title,
                    url: &s.url,
                    reports: self
                        .below
                        .latest(*id)
                        .iter()
                        .map(|r| self.item(*r))
                        .collect(),
                    children: self.children(s),
                }
            })
            .collect()
    }

    fn home_page(&self) -> Result<OutputFile, Diagnostic> {
        let site = self.site;
        let latest = site
            .reports_by_date()
            .into_iter()
            .take(HOME_LATEST)
            .map(|id| self.item(id))
            .collect();
        let chosen = &self.config.home.sections;
        let ids: Vec<SectionId> = if chosen.is_empty() {
            // The top-level sections with reports; pages such as About
            // have nothing to list.
            site.home()
                .children
                .iter()
                .copied()
                .filter(|id| self.below.count(*id) > 0)
                .collect()
        } else {
            let mut ids = Vec::new();
            for path in chosen {
                let url = UrlPath::parse(&format!("/{}/", path.trim_matches('/')));
                match site.sections.iter().find(|s| s.url == url) {
                    Some(s) => ids.push(s.id),
                    None => {
                        return Err(Diagnostic::error(
                            &ContentPath::from_relative(crate::config::CONFIG_FILE),
                            None,
                            format!("home.sections: there is no section at `{path}`"),
                        )
                        .with_help(
                            "list sections by their address on the site, e.g. `/xxgk/tzgg/`",
                        ));
                    }
                }
            }
            ids
        };
        let sections = self.panels(&ids);
        let home = site.home();
        let view = HomeView {
            intro_html: self.intro_html(home),
            latest,
            sections,
            links: &self.config.home.links,
        };
        let ctx = page_context!(self.base_context(&home.url, &self.config.name, self.config.description.as_deref(), self.config.language.tag(), &home.url);
            home => Value::from(Serde(&view)),
            feed_url => self.feed_of(home).map(|u| u.to_string()),
        );
        let bytes = self.render_template("home.html", ctx, home.source.as_ref())?;
        Ok(OutputFile {
            path: home.url.output_file(),
            contents: Contents::Bytes(bytes),
        })
    }

    /// The search page, `/search/`: a form that works as plain HTML, and
    /// the script that runs the query on the index files beside it.
    fn search_page(&self) -> Result<OutputFile, Diagnostic> {
        let url = UrlPath::parse("/search/");
        let title = self.string("search");
        let (root, suffix) = if self.config.relative_links {
            ("../".to_string(), "index.html")
        } else {
            (self.config.base_url.path().to_string(), "")
        };
        let js_strings = serde_json::json!({
            "prompt": self.string("search_prompt"),
            "searching": self.string("searching"),
            "none": self.string("search_none"),
            "count": self.string("search_count"),
            "failed": self.string("search_failed"),
            "pagination": self.string("pagination"),
        });
        let ctx = page_context!(self.base_context(&url, &title, None, self.config.language.tag(), &url);
            search_root => root,
            search_suffix => suffix,
            search_strings => js_strings.to_string(),
            catalogue_url => self.catalogue.url.as_str(),
            breadcrumbs => Value::from(Serde(vec![
                Crumb { title: self.home_title(), url: &UrlPath::root(), current: false },
                Crumb { title: &title, url: &url, current: true },
            ])),
        );
        let bytes = self.render_template("search.html", ctx, None)?;
        Ok(OutputFile {
            path: url.output_file(),
            contents: Contents::Bytes(bytes),
        })
    }

    /// `404.html` is served for any missing URL, at any depth, so its links
    /// are site paths even in a relative-link build.
    fn not_found_page(&self) -> Result<OutputFile, Diagnostic> {
        let url = UrlPath::parse("/404.html");
        let title = self.string("not_found_title");
        let ctx = page_context!(self.base_context(&url, &title, None, self.config.language.tag(), &UrlPath::parse("/404.html"));
            site_paths => true,
        );
        let bytes = self.render_template("404.html", ctx, None)?;
        Ok(OutputFile {
            path: url.output_file(),
            contents: Contents::Bytes(bytes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every change to a theme changes its hash, also one that only moves
    /// bytes from a name to the text it names.
    #[test]
    fn a_changed_theme_hashes_differently() {
        let hash = |theme: &Theme| {
            let mut h = KeyHasher::default();
            feed_theme(&mut h, theme);
            h.finish()
        };
        let base = Theme::default_theme().unwrap();
        let mut changed = Vec::new();
        let mut theme = base.clone();
        theme.assets.insert("site.css".into(), b"a".to_vec());
        changed.push(theme.clone());
        theme.assets.insert("site.css".into(), b"b".to_vec());
        changed.push(theme.clone());
        theme.assets.remove("site.css");
        theme.assets.insert("site.cssb".into(), Vec::new());
        changed.push(theme);
        let mut theme = base.clone();
        let source = theme.templates.get_mut("base.html").unwrap();
        source.push(' ');
        changed.push(theme);
        let mut theme = base.clone();
        let strings = theme.strings.values_mut().next().unwrap();
        let text = strings.values_mut().next().unwrap();
        text.push('。');
        changed.push(theme);
        let mut theme = base.clone();
        let origin = theme.origins.values_mut().next().unwrap();
        *origin = ContentPath::from_relative("themes/mine/templates/base.html");
        changed.push(theme);
        let mut hashes: Vec<u64> = changed.iter().map(hash).collect();
        hashes.push(hash(&base));
        assert_eq!(hash(&base), hash(&base.clone()));
        let count = hashes.len();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), count, "two themes hashed alike");
    }

    #[test]
    fn pages_kept_in_memory_hold_no_spare_room() {
        use crate::output::{Collect, Sink};
        let page = || {
            let mut bytes = Vec::with_capacity(PAGE_ROOM);
            bytes.extend_from_slice("<p>政务公开</p>".as_bytes());
            OutputFile {
                path: "a/index.html".to_string(),
                contents: Contents::Bytes(bytes),
            }
        };
        let Contents::Shared(shared) = page().shared().contents else {
            panic!("not shared");
        };
        assert!(shared.capacity() < 1024, "{}", shared.capacity());
        let collect = Collect::default();
        collect.put(page()).unwrap();
        let set = collect.into_set();
        let Contents::Bytes(bytes) = &set.files[0].contents else {
            panic!("not bytes");
        };
        assert_eq!(bytes.as_slice(), "<p>政务公开</p>".as_bytes());
        assert!(bytes.capacity() < 1024, "{}", bytes.capacity());
    }

    #[test]
    fn printed_values_are_escaped_but_slashes_and_text_kept() {
        let mut env = Environment::new();
        env.set_formatter(escape_minimal);
        env.add_template("t.html", "{{ a }}|{{ b }}|{{ c | safe }}|{{ d }}")
            .unwrap();
        let html = env
            .get_template("t.html")
            .unwrap()
            .render(context! {
                a => "<a href=\"/政务/公开/\">'办事' & 指南</a>>",
                b => 2022,
                c => "<b>安全</b>",
                d => Value::from(()),
            })
            .unwrap();
        assert_eq!(
            html,
            "&lt;a href=&quot;/政务/公开/&quot;&gt;&#39;办事&#39; &amp; 指南&lt;/a&gt;&gt;|2022|<b>安全</b>|"
        );
    }

    proptest::proptest! {
        /// The search for the next byte to escape finds the first of them,
        /// in any mix of them with Chinese and ASCII text.
        #[test]
        fn the_next_byte_to_escape_is_the_first(
            text in "[<>&\"'a 法治\u{3000}]{0,80}",
            from in 0usize..80,
        ) {
            let bytes = text.as_bytes();
            let from = from.min(bytes.len());
            let first = bytes[from..]
                .iter()
                .position(|b| b"<>&\"'".contains(b))
                .map(|i| from + i);
            proptest::prop_assert_eq!(next_to_escape(bytes, from), first);
        }
    }

    /// A body (or a QR code) is a safe string when it reaches the template, and `| safe`
    /// hands it on without a copy; any other value it marks safe as
    /// minijinja's own filter does.
    #[test]
    fn a_body_reaches_the_template_safe_and_is_not_copied() {
        let mut env = Environment::new();
        env.set_formatter(escape_minimal);
        env.add_filter("safe", safe_filter);
        // A view holds a body as `ReportView` does: made a safe value once,
        // which reaches the template as it is, not copied.
        #[derive(serde::Serialize)]
        struct BodyOnly {
            html: Value,
        }
        let body = Value::from_safe_string("<p>依法行政</p>".to_string());
        let view = Value::from(Serde(BodyOnly { html: body.clone() }));
        let html = view.get_attr("html").unwrap();
        assert!(html.is_safe());
        assert_eq!(
            html.as_str().unwrap().as_ptr(),
            body.as_str().unwrap().as_ptr(),
            "copied into the view"
        );
        // And so is a QR code.
        let share = ShareView {
            url: String::new(),
            qr: Some(Value::from_safe_string("<svg></svg>".to_string())),
            links: Vec::new(),
        };
        assert!(Value::from(Serde(&share)).get_attr("qr").unwrap().is_safe());
        let handed_on = safe_filter(html.clone());
        assert_eq!(
            handed_on.as_str().unwrap().as_ptr(),
            html.as_str().unwrap().as_ptr(),
            "copied"
        );
        env.add_template(
            "t.html",
            "{{ r.html }}|{{ r.html | safe }}|{{ a | safe }}|{{ b | safe }}|{{ a }}",
        )
        .unwrap();
        let out = env
            .get_template("t.html")
            .unwrap()
            .render(context! { r => view, a => "<b>安全</b>", b => 2022 })
            .unwrap();
        assert_eq!(
            out,
            "<p>依法行政</p>|<p>依法行政</p>|<b>安全</b>|2022|&lt;b&gt;安全&lt;/b&gt;"
        );
    }

    /// Feeds serialised bytes to a hasher as they are written, as page
    /// keys were hashed before `serialized_hash`.
    struct Streamed<'a>(&'a mut KeyHasher);

    impl std::io::Write for Streamed<'_> {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.write(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Build caches hold keys hashed field by field through the streaming
    /// hasher; hashing the serialised bytes at once must give the same.
    #[test]
    fn a_serialised_hash_is_the_streamed_one() {
        let values: Vec<(String, Vec<u32>)> = (0..300)
            .map(|n| ("政府信息公开".repeat(n % 7), (0..n as u32).collect()))
            .collect();
        for value in [&values[..0], &values[..1], &values[..40], &values[..]] {
            let mut h = KeyHasher::default();
            postcard::to_io(&value, Streamed(&mut h)).unwrap();
            assert_eq!(serialized_hash(&value), h.finish());
        }
    }
}
