//! The site stage: arranges the loaded and rendered documents into a
//! [`Site`] — sections (栏目) from folders, reports ordered by publication
//! date, URLs, previous/next links — and checks that no two sources claim
//! one URL. It never sees templates or the disk.
//!
//! Links in bodies to other content files (`../tzgg/notice.md`), to files
//! beside a report (`chart.png`) and to site paths (`/xxgk/`) are resolved
//! here to the URL of their target; a link to a file that does not exist is
//! an error naming the file and line it is on.
//!
//! Everything refers to everything else by id ([`SectionId`], [`ReportId`]),
//! indices into the site's vectors.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::bodies::BodyStore;

use crate::config::{Config, Language};
use crate::content::disclosure::{AttachmentRef, Disclosure};
use crate::content::{Asset, DocKind, FrontMatter, SourceDoc};
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::markdown::{ContentLink, RenderedDoc};
use crate::paths::{ContentPath, UrlPath};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct SectionId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct ReportId(pub u32);

/// A section (栏目): a folder of `content/`. (Serialised to be hashed
/// whole, for the key of the pages that list it.)
#[derive(Clone, Debug, serde::Serialize)]
pub struct Section {
    pub id: SectionId,
    pub url: UrlPath,
    pub title: String,
    /// The `_index.md` that describes it, if there is one.
    pub source: Option<ContentPath>,
    pub front: Option<Arc<FrontMatter>>,
    /// The `_index.md` body, rendered.
    pub intro: Option<Arc<RenderedDoc>>,
    /// Where the intro's links lead, in placeholder order.
    pub intro_links: Vec<LinkTarget>,
    /// The line of `_index.md` on which the intro starts.
    pub intro_body_line: usize,
    pub parent: Option<SectionId>,
    /// Sub-sections, by weight then title.
    pub children: Vec<SectionId>,
    /// The section's own reports, newest first.
    pub reports: Vec<ReportId>,
    /// The URL of each page of the section's report list; at least one.
    pub list_pages: Vec<UrlPath>,
}

/// A published document.
#[derive(Clone, Debug)]
pub struct Report {
    pub id: ReportId,
    pub source: ContentPath,
    pub url: UrlPath,
    pub section: SectionId,
    pub front: Arc<FrontMatter>,
    pub doc: Arc<RenderedDoc>,
    /// The line of the source file on which the body starts.
    pub body_line: usize,
    /// Where the body's links lead, in placeholder order.
    pub links: Vec<LinkTarget>,
    /// 附件, found and measured.
    pub attachments: Vec<Attachment>,
    /// Where `superseded_by` leads.
    pub superseded_by: Option<Href>,
    /// 相关链接, resolved.
    pub related: Vec<(String, Href)>,
    /// Whether the report has a page: only proactively disclosed reports
    /// do; the others are listed in the catalogue only.
    pub has_page: bool,
    pub lang: Language,
    /// 上一篇: the report of the same section published just before this one.
    pub previous: Option<ReportId>,
    /// 下一篇: the one published just after.
    pub next: Option<ReportId>,
}

/// A report's front matter and rendered text, by handle. serve's caches
/// hand on the very same values while a report's file is unchanged, so
/// what a cache made from them is still right while they are the same
/// handles ([`SharedValues::are_of`]), without comparing them. (Holding
/// the handles keeps their addresses from being reused.)
#[derive(Clone)]
pub struct SharedValues {
    front: Arc<FrontMatter>,
    doc: Arc<RenderedDoc>,
}

impl SharedValues {
    pub fn of(report: &Report) -> SharedValues {
        SharedValues {
            front: report.front.clone(),
            doc: report.doc.clone(),
        }
    }

    /// Whether these are, handle for handle, `report`'s values.
    pub fn are_of(&self, report: &Report) -> bool {
        Arc::ptr_eq(&self.front, &report.front) && Arc::ptr_eq(&self.doc, &report.doc)
    }
}

/// Where a link inside the site leads.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LinkTarget {
    pub url: UrlPath,
    pub fragment: Option<String>,
}

/// A link given in front matter: inside the site, or a full address.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Href {
    Internal(LinkTarget),
    External(String),
}

/// A file published with a report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Attachment {
    pub title: String,
    pub url: UrlPath,
    /// The file's format as readers know it: `PDF`, `XLSX`, `DOCX`.
    pub format: String,
    pub size: u64,
}

/// A file copied into the site as it is.
#[derive(Clone, Debug)]
pub struct SiteAsset {
    pub source: PathBuf,
    pub url: UrlPath,
    pub size: u64,
}

/// The whole site, arranged.
#[derive(Clone, Debug)]
pub struct Site {
    /// `sections[0]` is the home page (the `content/` folder itself).
    pub sections: Vec<Section>,
    pub reports: Vec<Report>,
    pub assets: Vec<SiteAsset>,
    /// Where the reports' bodies are when they were stowed away
    /// ([`RenderedDoc::stored`]).
    pub bodies: Option<Arc<BodyStore>>,
}

impl Site {
    /// A report's body as HTML, from the report or read back from the
    /// body store.
    pub fn html<'a>(&'a self, report: &'a Report) -> io::Result<Cow<'a, str>> {
        match (report.doc.stored, &self.bodies) {
            (Some(at), Some(store)) => store.html(at).map(Cow::Owned),
            _ => Ok(Cow::Borrowed(&report.doc.html)),
        }
    }

    /// A report's body as plain text (see [`Site::html`]).
    pub fn text<'a>(&'a self, report: &'a Report) -> io::Result<Cow<'a, str>> {
        match (report.doc.stored, &self.bodies) {
            (Some(at), Some(store)) => store.text(at).map(Cow::Owned),
            _ => Ok(Cow::Borrowed(&report.doc.text)),
        }
    }

    /// [`Site::text`], shared with the report when it holds it.
    pub fn shared_text(&self, report: &Report) -> io::Result<Arc<str>> {
        match (report.doc.stored, &self.bodies) {
            (Some(at), Some(store)) => store.text(at).map(Arc::from),
            _ => Ok(report.doc.text.clone()),
        }
    }

    pub fn home(&self) -> &Section {
        &self.sections[0]
    }

    pub fn section(&self, id: SectionId) -> &Section {
        &self.sections[id.0 as usize]
    }

    pub fn report(&self, id: ReportId) -> &Report {
        &self.reports[id.0 as usize]
    }

    /// The report whose page is at `url`.
    pub fn report_at(&self, url: &UrlPath) -> Option<ReportId> {
        self.reports
            .iter()
            .find(|r| r.has_page && &r.url == url)
            .map(|r| r.id)
    }

    /// The chain of sections from the home page down to `id`, inclusive.
    pub fn ancestry(&self, id: SectionId) -> Vec<&Section> {
        let mut chain = vec![self.section(id)];
        while let Some(parent) = chain.last().and_then(|s| s.parent) {
            chain.push(self.section(parent));
        }
        chain.reverse();
        chain
    }

    /// Every report, with a page or not, newest first.
    pub fn reports_by_date_all(&self) -> Vec<ReportId> {
        let mut ids: Vec<ReportId> = self.reports.iter().map(|r| r.id).collect();
        sort_by_publication(&mut ids, &self.reports);
        ids
    }

    /// Every report that has a page, newest first.
    pub fn reports_by_date(&self) -> Vec<ReportId> {
        let mut ids: Vec<ReportId> = self
            .reports
            .iter()
            .filter(|r| r.has_page)
            .map(|r| r.id)
            .collect();
        sort_by_publication(&mut ids, &self.reports);
        ids
    }
}

/// Sorts `ids` (of `reports`) newest first; ties broken by title then
/// source path, so the order never depends on the order files were read
/// in. Each report's instant is worked out once (a time zone's offset is
/// not free, and serve sorts every report on every rebuild).
fn sort_by_publication(ids: &mut [ReportId], reports: &[Report]) {
    ids.sort_by_cached_key(|id| {
        let report = &reports[id.0 as usize];
        let instant = report
            .front
            .date_published
            .map(|d| d.instant())
            .unwrap_or(i64::MIN);
        (
            std::cmp::Reverse(instant),
            report.front.title.as_str(),
            &report.source,
        )
    });
}

/// The URL segment of a file or folder name: surrounding space removed and
/// inner runs of white space made one `-`, so that `2022 年报.md` gives
/// `/2022-年报/`. Other characters are kept and percent-encoded in links.
pub fn url_segment(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join("-")
}

/// Arranges the documents into a site. `docs` pairs each source with its
/// rendered body.
pub fn assemble(
    config: &Config,
    docs: Vec<(SourceDoc, Arc<RenderedDoc>)>,
    assets: Vec<Asset>,
    diagnostics: &mut Diagnostics,
) -> Site {
    let mut sections: Vec<Section> = Vec::new();
    let mut by_folder: BTreeMap<Vec<String>, SectionId> = BTreeMap::new();
    let home = section_for(&mut sections, &mut by_folder, &[], config);
    debug_assert_eq!(home, SectionId(0));

    // Section descriptions first, so a section's title is known before its
    // reports are placed.
    let mut indexes = Vec::new();
    let mut reports = Vec::with_capacity(docs.len());
    for doc in docs {
        if doc.0.kind == DocKind::SectionIndex {
            indexes.push(doc);
        } else {
            reports.push(doc);
        }
    }
    for (doc, rendered) in indexes {
        let id = section_for(&mut sections, &mut by_folder, &doc.section, config);
        let section = &mut sections[id.0 as usize];
        if !doc.front.title.is_empty() {
            section.title = doc.front.title.clone();
        }
        section.source = Some(doc.path);
        section.front = Some(doc.front);
        if !doc.body.trim().is_empty() {
            section.intro = Some(rendered);
            section.intro_body_line = doc.body_line;
        }
    }

    let mut site_reports: Vec<Report> = Vec::with_capacity(reports.len());
    for (doc, rendered) in reports {
        let section = section_for(&mut sections, &mut by_folder, &doc.section, config);
        let slug = doc
            .front
            .slug
            .clone()
            .unwrap_or_else(|| url_segment(&doc.stem));
        let url = sections[section.0 as usize].url.child_page(&slug);
        let lang = doc.front.lang.unwrap_or(config.language);
        let has_page = doc.front.disclosure == Disclosure::Proactive;
        site_reports.push(Report {
            id: ReportId(site_reports.len() as u32),
            source: doc.path,
            url,
            section,
            front: doc.front,
            doc: rendered,
            body_line: doc.body_line,
            links: Vec::new(),
            attachments: Vec::new(),
            superseded_by: None,
            related: Vec::new(),
            has_page,
            lang,
            previous: None,
            next: None,
        });
    }

    // Reports of each section, newest first, and their neighbours.
    for report in site_reports.iter().filter(|r| r.has_page) {
        sections[report.section.0 as usize].reports.push(report.id);
    }
    for section in &mut sections {
        sort_by_publication(&mut section.reports, &site_reports);
        for (i, id) in section.reports.iter().enumerate() {
            let report = &mut site_reports[id.0 as usize];
            report.next = i.checked_sub(1).map(|j| section.reports[j]);
            report.previous = section.reports.get(i + 1).copied();
        }
        let pages = section.reports.len().div_ceil(config.paginate).max(1);
        section.list_pages = (1..=pages)
            .map(|n| {
                if n == 1 {
                    section.url.clone()
                } else {
                    section.url.child_page("page").child_page(&n.to_string())
                }
            })
            .collect();
    }

    // Sub-sections in order of weight, then title.
    let order: Vec<(Option<SectionId>, i64, String, SectionId)> = sections
        .iter()
        .map(|s| {
            (
                s.parent,
                s.front.as_ref().and_then(|f| f.weight).unwrap_or(0),
                s.title.clone(),
                s.id,
            )
        })
        .collect();
    let mut sorted = order;
    sorted.sort_by(|a, b| (a.1, &a.2, a.3).cmp(&(b.1, &b.2, b.3)));
    for (parent, _, _, id) in sorted {
        if let Some(parent) = parent {
            sections[parent.0 as usize].children.push(id);
        }
    }

    let site_assets: Vec<SiteAsset> = assets
        .into_iter()
        .map(|a| SiteAsset {
            url: UrlPath::parse(&a.relative),
            source: a.source,
            size: a.size,
        })
        .collect();

    check_unique_urls(
        &sections,
        &site_reports,
        &site_assets,
        &by_folder,
        diagnostics,
    );

    let targets = Targets::new(&sections, &site_reports, &site_assets, &by_folder);
    let sizes: FxHashMap<&UrlPath, u64> = site_assets.iter().map(|a| (&a.url, a.size)).collect();
    for report in &mut site_reports {
        report.links = targets.resolve_all(
            &report.source,
            report.body_line,
            &report.doc.links,
            diagnostics,
        );
        check_page_anchors(&report.source, report.body_line, &report.doc, diagnostics);
        let front = &report.front;
        report.attachments = front
            .attachments
            .iter()
            .filter_map(|a| {
                targets
                    .attachment(&report.source, a, &sizes)
                    .map_err(|d| diagnostics.push(d))
                    .ok()
            })
            .collect();
        report.superseded_by = front.superseded_by.as_deref().and_then(|target| {
            targets.href(
                &report.source,
                target,
                front.line("superseded_by"),
                diagnostics,
            )
        });
        report.related = front
            .related
            .iter()
            .filter_map(|r| {
                let href = targets.href(&report.source, &r.href, Some(r.line), diagnostics)?;
                Some((r.text.clone(), href))
            })
            .collect();
    }
    for section in &mut sections {
        if let (Some(intro), Some(source)) = (&section.intro, &section.source) {
            section.intro_links =
                targets.resolve_all(source, section.intro_body_line, &intro.links, diagnostics);
        }
    }

    Site {
        sections,
        reports: site_reports,
        assets: site_assets,
        bodies: None,
    }
}

/// Ids every page of the theme has, besides the text's own: the skip
/// link's target and the top of the page.
const LAYOUT_IDS: [&str; 2] = ["main", "top"];

/// Links to a place on the same page (`[见下文](#二工作措施)`) must find an
/// id in the rendered text: a heading, a footnote or an element of raw HTML.
fn check_page_anchors(
    source: &ContentPath,
    body_line: usize,
    doc: &RenderedDoc,
    diagnostics: &mut Diagnostics,
) {
    if doc.page_anchors.is_empty() {
        return;
    }
    let ids: Vec<&str> = doc
        .html
        .split(" id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .chain(LAYOUT_IDS)
        .collect();
    for link in &doc.page_anchors {
        let id = percent_encoding::percent_decode_str(&link.url).decode_utf8_lossy();
        if id.is_empty() || ids.contains(&id.as_ref()) {
            continue;
        }
        let headings: Vec<&str> = doc.toc.iter().map(|h| h.id.as_str()).collect();
        diagnostics.push(
            Diagnostic::error(
                source,
                Some(body_line + link.line - 1),
                format!("broken link: `#{id}` is not a heading or anchor of this report"),
            )
            .with_help(match crate::diagnostics::did_you_mean(&id, &headings) {
                Some(close) => format!("did you mean `#{close}`?"),
                None if headings.is_empty() => "the report has no headings to link to".to_string(),
                None => format!("its headings are: {}", headings.join(", ")),
            }),
        );
    }
}

/// The section of `folders`, created (with its parents) if new.
fn section_for(
    sections: &mut Vec<Section>,
    by_folder: &mut BTreeMap<Vec<String>, SectionId>,
    folders: &[String],
    config: &Config,
) -> SectionId {
    if let Some(id) = by_folder.get(folders) {
        return *id;
    }
    let parent = folders
        .split_last()
        .map(|(_, parent_folders)| section_for(sections, by_folder, parent_folders, config));
    let (url, title) = match (parent, folders.last()) {
        (Some(parent), Some(name)) => (
            sections[parent.0 as usize]
                .url
                .child_page(&url_segment(name)),
            name.clone(),
        ),
        _ => (UrlPath::root(), config.name.clone()),
    };
    let id = SectionId(sections.len() as u32);
    sections.push(Section {
        id,
        url,
        title,
        source: None,
        front: None,
        intro: None,
        intro_links: Vec::new(),
        intro_body_line: 0,
        parent,
        children: Vec::new(),
        reports: Vec::new(),
        list_pages: Vec::new(),
    });
    by_folder.insert(folders.to_vec(), id);
    id
}

/// What links inside the site can point at.
struct Targets {
    /// Path below `content/` of each report, `_index.md`, section folder and
    /// asset → its URL.
    by_source: FxHashMap<String, UrlPath>,
    /// Every output file, for checking links written as site paths.
    outputs: FxHashSet<String>,
    /// Each report's page and text (its headings' ids), for checking
    /// `#fragments`.
    anchors: FxHashMap<UrlPath, Arc<RenderedDoc>>,
}

impl Targets {
    fn new(
        sections: &[Section],
        reports: &[Report],
        assets: &[SiteAsset],
        by_folder: &BTreeMap<Vec<String>, SectionId>,
    ) -> Targets {
        let mut by_source = FxHashMap::default();
        for (folders, id) in by_folder {
            let url = sections[id.0 as usize].url.clone();
            let folder = folders.join("/");
            let index = if folder.is_empty() {
                "_index.md".to_string()
            } else {
                format!("{folder}/_index.md")
            };
            by_source.insert(index, url.clone());
            by_source.insert(folder, url);
        }
        for report in reports {
            by_source.insert(below_content(&report.source), report.url.clone());
        }
        for asset in assets {
            by_source.insert(
                asset.url.as_str().trim_start_matches('/').to_string(),
                asset.url.clone(),
            );
        }
        let outputs = sections
            .iter()
            .flat_map(|s| s.list_pages.iter())
            .chain(reports.iter().map(|r| &r.url))
            .chain(assets.iter().map(|a| &a.url))
            .map(UrlPath::output_file)
            .collect();
        let anchors = reports
            .iter()
            .map(|r| (r.url.clone(), r.doc.clone()))
            .collect();
        Targets {
            by_source,
            outputs,
            anchors,
        }
    }

    fn resolve_all(
        &self,
        source: &ContentPath,
        body_line: usize,
        links: &[ContentLink],
        diagnostics: &mut Diagnostics,
    ) -> Vec<LinkTarget> {
        let from = below_content(source);
        let folder = from.rsplit_once('/').map_or("", |(folder, _)| folder);
        links
            .iter()
            .map(|link| {
                let line = Some(body_line + link.line - 1);
                let url = self
                    .resolve(folder, &link.target)
                    .unwrap_or_else(|problem| {
                        diagnostics.push(problem.into_diagnostic(source, line, &link.target));
                        UrlPath::root()
                    });
                if let (Some(fragment), Some(doc)) = (&link.fragment, self.anchors.get(&url)) {
                    let id = percent_encoding::percent_decode_str(fragment).decode_utf8_lossy();
                    if !doc.toc.iter().any(|h| h.id == id) {
                        let mut known: Vec<&str> = doc.toc.iter().map(|h| h.id.as_str()).collect();
                        known.sort();
                        known.dedup();
                        diagnostics.push(
                            Diagnostic::error(
                                source,
                                line,
                                format!(
                                    "broken link: `{}#{fragment}` has no heading `{id}`",
                                    link.target
                                ),
                            )
                            .with_help(
                                match crate::diagnostics::did_you_mean(&id, &known) {
                                    Some(close) => format!("did you mean `#{close}`?"),
                                    None if known.is_empty() => {
                                        "the report has no headings to link to".to_string()
                                    }
                                    None => format!("its headings are: {}", known.join(", ")),
                                },
                            ),
                        );
                    }
                }
                LinkTarget {
                    url,
                    fragment: link.fragment.clone(),
                }
            })
            .collect()
    }

    /// Where a link given in front matter leads; a broken one is reported.
    fn href(
        &self,
        source: &ContentPath,
        target: &str,
        line: Option<usize>,
        diagnostics: &mut Diagnostics,
    ) -> Option<Href> {
        if crate::markdown::is_external(target) {
            return Some(Href::External(target.to_string()));
        }
        let (path, fragment) = match target.split_once('#') {
            Some((path, fragment)) => (path, Some(fragment.to_string())),
            None => (target, None),
        };
        let from = below_content(source);
        let folder = from.rsplit_once('/').map_or("", |(folder, _)| folder);
        match self.resolve(folder, path) {
            Ok(url) => Some(Href::Internal(LinkTarget { url, fragment })),
            Err(problem) => {
                diagnostics.push(problem.into_diagnostic(source, line, target));
                None
            }
        }
    }

    /// Finds an attachment among the files of `content/`.
    fn attachment(
        &self,
        source: &ContentPath,
        a: &AttachmentRef,
        sizes: &FxHashMap<&UrlPath, u64>,
    ) -> Result<Attachment, Diagnostic> {
        let from = below_content(source);
        let folder = from.rsplit_once('/').map_or("", |(folder, _)| folder);
        let found = if let Some(rooted) = a.file.strip_prefix('/') {
            self.resolve("", rooted)
        } else {
            self.resolve(folder, &a.file)
        };
        let missing = |why: &str| {
            Diagnostic::error(source, Some(a.line), format!("attachment `{}` {why}", a.file)).with_help(
                "put the file beside the report (or under content/) and give its path relative to the report, e.g. `file: 统计表.xlsx`",
            )
        };
        let url = match found {
            Ok(url) => url,
            Err(LinkProblem::OutsideContent) => return Err(missing("leads outside content/")),
            Err(_) => return Err(missing("does not exist")),
        };
        let Some(size) = sizes.get(&url).copied() else {
            return Err(missing("is a page, not a file"));
        };
        let format = url
            .as_str()
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_uppercase())
            .filter(|ext| !ext.contains('/'))
            .unwrap_or_else(|| "FILE".to_string());
        Ok(Attachment {
            title: a.title.clone(),
            url,
            format,
            size,
        })
    }

    /// The URL a link written in a file of `folder` (below `content/`) leads to.
    fn resolve(&self, folder: &str, target: &str) -> Result<UrlPath, LinkProblem> {
        if target.is_empty() {
            return Ok(UrlPath::root());
        }
        if target.starts_with('/') {
            // A site path, as the reader sees it (`/xxgk/`), or a content
            // path (`/xxgk/notice.md`).
            if let Some(url) = self.by_source.get(target.trim_matches('/')) {
                return Ok(url.clone());
            }
            let url = UrlPath::parse(target);
            let as_page = UrlPath::parse(&format!("{}/", target.trim_end_matches('/')));
            return if self.outputs.contains(&url.output_file()) {
                Ok(url)
            } else if self.outputs.contains(&as_page.output_file()) {
                Ok(as_page)
            } else {
                Err(LinkProblem::NoSuchPage)
            };
        }
        let mut parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
        for part in target.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(LinkProblem::OutsideContent);
                    }
                }
                part => parts.push(part),
            }
        }
        self.by_source
            .get(&parts.join("/"))
            .cloned()
            .ok_or(LinkProblem::NoSuchFile)
    }
}

/// Why a link inside the site leads nowhere.
enum LinkProblem {
    NoSuchFile,
    NoSuchPage,
    OutsideContent,
}

impl LinkProblem {
    fn into_diagnostic(self, file: &ContentPath, line: Option<usize>, target: &str) -> Diagnostic {
        let help = "link to another report by its file, relative to this one (e.g. `../tzgg/notice.md`), \
                    to a file beside the report (e.g. `chart.png`), or to a page by its address on the site (e.g. `/xxgk/`)";
        let message = match self {
            LinkProblem::NoSuchFile => format!("broken link: `{target}` is not a file of content/"),
            LinkProblem::NoSuchPage => {
                format!("broken link: `{target}` is not a page of this site")
            }
            LinkProblem::OutsideContent => {
                format!("broken link: `{target}` leads outside content/")
            }
        };
        Diagnostic::error(file, line, message).with_help(help)
    }
}

/// `content/xxgk/a.md` → `xxgk/a.md`
fn below_content(path: &ContentPath) -> String {
    let text = path.as_str();
    text.strip_prefix("content/").unwrap_or(text).to_string()
}

/// Two sources writing one output file is an error naming both.
fn check_unique_urls(
    sections: &[Section],
    reports: &[Report],
    assets: &[SiteAsset],
    by_folder: &BTreeMap<Vec<String>, SectionId>,
    diagnostics: &mut Diagnostics,
) {
    let folder_of = |id: SectionId| {
        by_folder
            .iter()
            .find(|(_, v)| **v == id)
            .map(|(k, _)| ContentPath::from_relative(&format!("content/{}", k.join("/"))))
            .unwrap_or_else(|| ContentPath::from_relative("content"))
    };
    // Owners borrowed where they can be: a large site has one per report.
    let mut claimed: FxHashMap<String, Cow<ContentPath>> = FxHashMap::default();
    let mut claims: Vec<(String, Cow<ContentPath>)> = Vec::new();
    for section in sections {
        let owner = match &section.source {
            Some(source) => Cow::Borrowed(source),
            None => Cow::Owned(folder_of(section.id)),
        };
        for page in &section.list_pages {
            claims.push((page.output_file(), owner.clone()));
        }
    }
    for report in reports {
        claims.push((report.url.output_file(), Cow::Borrowed(&report.source)));
    }
    for asset in assets {
        claims.push((
            asset.url.output_file(),
            Cow::Owned(ContentPath::from_relative(&format!("content{}", asset.url))),
        ));
    }
    for (file, owner) in claims {
        if let Some(first) = claimed.get(&file) {
            if *first != owner {
                let (a, b) = if *first < owner {
                    (first.clone(), owner)
                } else {
                    (owner, first.clone())
                };
                diagnostics.push(
                    Diagnostic::error(&b, None, format!("`{b}` and `{a}` both produce `{file}`"))
                        .with_help("give one of them another file name, or a different `slug:` in its front matter"),
                );
            }
            continue;
        }
        claimed.insert(file, owner);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::content::front_matter::ParseContext;
    use crate::content::parse_doc;
    use crate::markdown::{MarkdownOptions, render};

    fn config() -> Config {
        Config::parse(
            "name: 测试门户\nbase_url: https://example.gov.cn/\npaginate: 2\n",
            &ContentPath::from_relative("site.yaml"),
        )
        .unwrap()
        .0
    }

    fn doc(path: &str, front: &str) -> (SourceDoc, Arc<RenderedDoc>) {
        doc_with_body(path, front, "body\n")
    }

    /// A source file `path` with the given front matter and body, read and rendered.
    pub(crate) fn doc_with_body(
        path: &str,
        front: &str,
        body: &str,
    ) -> (SourceDoc, Arc<RenderedDoc>) {
        let file = ContentPath::from_relative(path);
        let kind = if path.ends_with("_index.md") {
            DocKind::SectionIndex
        } else {
            DocKind::Report
        };
        let cx = ParseContext {
            file: &file,
            kind,
            timezone: config().timezone,
            dates_from_file_names: false,
        };
        let (front, body, body_line, _) =
            parse_doc(&format!("---\n{front}\n---\n{body}"), &cx).unwrap();
        let mut section: Vec<String> = path.split('/').skip(1).map(String::from).collect();
        let name = section.pop().unwrap();
        let stem = if kind == DocKind::SectionIndex {
            String::new()
        } else {
            name.trim_end_matches(".md").to_string()
        };
        let rendered = render(&body, &MarkdownOptions::default());
        (
            SourceDoc {
                path: file,
                kind,
                section,
                stem,
                front: Arc::new(front),
                body: body.into(),
                body_hash: None,
                body_line,
                rendered: None,
            },
            Arc::new(rendered),
        )
    }

    #[test]
    fn reports_are_ordered_newest_first_with_neighbours() {
        let mut d = Diagnostics::new();
        let site = assemble(
            &config(),
            vec![
                doc("content/news/_index.md", "title: 新闻"),
                doc("content/news/a.md", "title: A\ndate_published: 2022-01-01"),
                doc("content/news/b.md", "title: B\ndate_published: 2022-03-01"),
                doc("content/news/c.md", "title: C\ndate_published: 2022-02-01"),
            ],
            vec![],
            &mut d,
        );
        assert!(d.is_empty(), "{d:?}");
        let news = site.section(SectionId(1));
        assert_eq!(news.title, "新闻");
        let titles: Vec<&str> = news
            .reports
            .iter()
            .map(|id| site.report(*id).front.title.as_str())
            .collect();
        assert_eq!(titles, ["B", "C", "A"]);
        let c = site.reports.iter().find(|r| r.front.title == "C").unwrap();
        assert_eq!(site.report(c.previous.unwrap()).front.title, "A");
        assert_eq!(site.report(c.next.unwrap()).front.title, "B");
        assert_eq!(news.list_pages.len(), 2);
        assert_eq!(news.list_pages[1].as_str(), "/news/page/2/");
    }

    #[test]
    fn chinese_file_names_give_chinese_urls() {
        let mut d = Diagnostics::new();
        let site = assemble(
            &config(),
            vec![doc(
                "content/政务公开/2022 年报.md",
                "title: 年报\ndate_published: 2022-01-01",
            )],
            vec![],
            &mut d,
        );
        assert_eq!(site.reports[0].url.as_str(), "/政务公开/2022-年报/");
        assert_eq!(site.section(site.reports[0].section).title, "政务公开");
    }

    #[test]
    fn links_to_content_files_and_site_paths_resolve() {
        let mut d = Diagnostics::new();
        let site = assemble(
            &config(),
            vec![
                doc("content/news/_index.md", "title: 新闻"),
                doc_with_body(
                    "content/news/a.md",
                    "title: A\ndate_published: 2022-01-01",
                    "## 二\n\n正文\n",
                ),
                doc_with_body(
                    "content/notices/b.md",
                    "title: B\ndate_published: 2022-01-01",
                    "[a](../news/a.md#二) [news](/news/) [news2](/news) [index](../news/_index.md)\n\n[gone](../news/gone.md) [nowhere](/nowhere/)\n",
                ),
            ],
            vec![],
            &mut d,
        );
        let b = site.reports.iter().find(|r| r.front.title == "B").unwrap();
        let urls: Vec<&str> = b.links.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(urls[..4], ["/news/a/", "/news/", "/news/", "/news/"]);
        assert_eq!(b.links[0].fragment.as_deref(), Some("二"));
        let problems = d.sorted();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].line, Some(7));
        assert!(
            problems[0].message.contains("`../news/gone.md`"),
            "{}",
            problems[0]
        );
        assert!(
            problems[1].message.contains("`/nowhere/`"),
            "{}",
            problems[1]
        );
    }

    #[test]
    fn two_sources_for_one_url_name_both_files() {
        let mut d = Diagnostics::new();
        assemble(
            &config(),
            vec![
                doc("content/news/a.md", "title: A\ndate_published: 2022-01-01"),
                doc(
                    "content/news/b.md",
                    "title: B\ndate_published: 2022-01-01\nslug: a",
                ),
            ],
            vec![],
            &mut d,
        );
        let all = d.sorted();
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0].message.contains("content/news/a.md")
                && all[0].message.contains("content/news/b.md"),
            "{}",
            all[0]
        );
    }
}
