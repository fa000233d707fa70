//! The site stage: arranges the loaded and rendered documents into a
//! [`Site`] — sections (栏目) from folders, reports ordered by publication
//! date, URLs, previous/next links — and checks that no two sources claim
//! one URL. It never sees templates or the disk.
//!
//! Everything refers to everything else by id ([`SectionId`], [`ReportId`]),
//! indices into the site's vectors.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::{Config, Language};
use crate::content::{Asset, DocKind, FrontMatter, SourceDoc};
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::markdown::RenderedDoc;
use crate::paths::{ContentPath, UrlPath};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SectionId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReportId(pub u32);

/// A section (栏目): a folder of `content/`.
#[derive(Clone, Debug)]
pub struct Section {
    pub id: SectionId,
    pub url: UrlPath,
    pub title: String,
    /// The `_index.md` that describes it, if there is one.
    pub source: Option<ContentPath>,
    pub front: Option<FrontMatter>,
    /// The `_index.md` body, rendered.
    pub intro: Option<RenderedDoc>,
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
    pub front: FrontMatter,
    pub doc: RenderedDoc,
    pub lang: Language,
    /// 上一篇: the report of the same section published just before this one.
    pub previous: Option<ReportId>,
    /// 下一篇: the one published just after.
    pub next: Option<ReportId>,
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
}

impl Site {
    pub fn home(&self) -> &Section {
        &self.sections[0]
    }

    pub fn section(&self, id: SectionId) -> &Section {
        &self.sections[id.0 as usize]
    }

    pub fn report(&self, id: ReportId) -> &Report {
        &self.reports[id.0 as usize]
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

    /// Every report, newest first.
    pub fn reports_by_date(&self) -> Vec<ReportId> {
        let mut ids: Vec<ReportId> = self.reports.iter().map(|r| r.id).collect();
        ids.sort_by(|a, b| publication_order(self.report(*a), self.report(*b)));
        ids
    }
}

/// Newest first; ties broken by title then source path, so the order never
/// depends on the order files were read in.
fn publication_order(a: &Report, b: &Report) -> std::cmp::Ordering {
    let instant = |r: &Report| {
        r.front
            .date_published
            .map(|d| d.instant())
            .unwrap_or(i64::MIN)
    };
    instant(b)
        .cmp(&instant(a))
        .then_with(|| a.front.title.cmp(&b.front.title))
        .then_with(|| a.source.cmp(&b.source))
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
    docs: Vec<(SourceDoc, RenderedDoc)>,
    assets: Vec<Asset>,
    diagnostics: &mut Diagnostics,
) -> Site {
    let mut sections: Vec<Section> = Vec::new();
    let mut by_folder: BTreeMap<Vec<String>, SectionId> = BTreeMap::new();
    let home = section_for(&mut sections, &mut by_folder, &[], config);
    debug_assert_eq!(home, SectionId(0));

    // Section descriptions first, so a section's title is known before its
    // reports are placed.
    let (indexes, reports): (Vec<_>, Vec<_>) = docs
        .into_iter()
        .partition(|(doc, _)| doc.kind == DocKind::SectionIndex);
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
        site_reports.push(Report {
            id: ReportId(site_reports.len() as u32),
            source: doc.path,
            url,
            section,
            front: doc.front,
            doc: rendered,
            lang,
            previous: None,
            next: None,
        });
    }

    // Reports of each section, newest first, and their neighbours.
    for report in &site_reports {
        sections[report.section.0 as usize].reports.push(report.id);
    }
    for section in &mut sections {
        section.reports.sort_by(|a, b| {
            publication_order(&site_reports[a.0 as usize], &site_reports[b.0 as usize])
        });
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

    Site {
        sections,
        reports: site_reports,
        assets: site_assets,
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
        parent,
        children: Vec::new(),
        reports: Vec::new(),
        list_pages: Vec::new(),
    });
    by_folder.insert(folders.to_vec(), id);
    id
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
    let mut claimed: BTreeMap<String, ContentPath> = BTreeMap::new();
    let mut claims: Vec<(String, ContentPath)> = Vec::new();
    for section in sections {
        let owner = section
            .source
            .clone()
            .unwrap_or_else(|| folder_of(section.id));
        for page in &section.list_pages {
            claims.push((page.output_file(), owner.clone()));
        }
    }
    for report in reports {
        claims.push((report.url.output_file(), report.source.clone()));
    }
    for asset in assets {
        claims.push((
            asset.url.output_file(),
            ContentPath::from_relative(&format!("content{}", asset.url)),
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
mod tests {
    use super::*;
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

    fn doc(path: &str, front: &str) -> (SourceDoc, RenderedDoc) {
        let file = ContentPath::from_relative(path);
        let kind = if path.ends_with("_index.md") {
            DocKind::SectionIndex
        } else {
            DocKind::Report
        };
        let (front, body, body_line, _) = parse_doc(
            &format!("---\n{front}\n---\nbody\n"),
            &file,
            kind,
            config().timezone,
        )
        .unwrap();
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
                front,
                body,
                body_line,
            },
            rendered,
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
