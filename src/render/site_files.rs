//! The files of the site as a whole: Atom feeds (the site's and each
//! section's), the sitemap, `robots.txt`, and redirect pages from the old
//! addresses reports list in `old_paths`.

use super::vars::page_context;

use super::machine::{Feed, FeedEntry, SITEMAP_MAX_URLS, SitemapUrl, robots, sitemaps};
use super::{Contents, OutputFile, Renderer, excerpt};
use crate::diagnostics::Diagnostic;
use crate::paths::UrlPath;
use crate::site::{ReportId, Section};

/// The file name of a feed, in the folder of the page it is the feed of.
pub const FEED_FILE: &str = "atom.xml";

impl<'a> Renderer<'a> {
    fn feed_entry(&self, id: ReportId) -> Option<FeedEntry> {
        let r = self.site.report(id);
        let f = &r.front;
        let published = f.date_published?;
        let base = &self.config.base_url;
        Some(FeedEntry {
            id: base.absolute(&r.url),
            title: f.title.clone(),
            link: base.absolute(&r.url),
            updated: f.date_updated.unwrap_or(published).rfc3339(),
            published: Some(published.rfc3339()),
            author: f.issuer.clone().unwrap_or_else(|| self.config.name.clone()),
            summary: Some(
                f.summary
                    .clone()
                    .unwrap_or_else(|| excerpt(&r.doc.lead, 200)),
            ),
            categories: f.topics.clone(),
        })
    }

    fn feed(&self, section: &Section, ids: &[ReportId]) -> Option<OutputFile> {
        let base = &self.config.base_url;
        let entries: Vec<FeedEntry> = ids
            .iter()
            .take(self.config.feeds.entries)
            .filter_map(|id| self.feed_entry(*id))
            .collect();
        let url = section.url.child_file(FEED_FILE);
        let title = if section.parent.is_none() {
            self.config.name.clone()
        } else {
            format!("{} - {}", section.title, self.config.name)
        };
        let feed = Feed {
            id: base.absolute(&url),
            title,
            self_link: base.absolute(&url),
            alternate: base.absolute(&section.url),
            author: self
                .config
                .identity
                .sponsor
                .clone()
                .unwrap_or_else(|| self.config.name.clone()),
            lang: self.config.language.tag(),
            entries,
        };
        Some(OutputFile {
            path: url.output_file(),
            contents: Contents::Bytes(feed.to_xml()?.into_bytes()),
        })
    }

    /// An Atom feed for the site and one for each section with reports,
    /// each of the newest `feeds.entries` reports.
    pub(super) fn feeds(&self) -> Vec<OutputFile> {
        let mut files = Vec::new();
        files.extend(self.feed(self.site.home(), &self.site.reports_by_date()));
        for section in self.site.sections.iter().skip(1) {
            if let Some(ids) = self.below.all.get(&section.id) {
                files.extend(self.feed(section, ids));
            }
        }
        files
    }

    /// Whether a section has a feed (it has reports below it).
    pub(super) fn feed_of(&self, section: &Section) -> Option<UrlPath> {
        let has_reports = if section.parent.is_none() {
            !self.site.reports.is_empty()
        } else {
            self.below.all.contains_key(&section.id)
        };
        has_reports.then(|| section.url.child_file(FEED_FILE))
    }

    /// `sitemap.xml` (split past 50,000 URLs) and `robots.txt` — only for a
    /// site at the root of its host (crawlers read `robots.txt` there and
    /// nowhere else), and not when the site brings its own.
    pub(super) fn sitemap_and_robots(&self) -> Vec<OutputFile> {
        let base = &self.config.base_url;
        let mut urls = Vec::new();
        let newest = self
            .site
            .reports_by_date()
            .first()
            .and_then(|id| self.site.report(*id).front.date_published)
            .map(|d| d.date().iso());
        for section in &self.site.sections {
            let lastmod = self
                .below
                .all
                .get(&section.id)
                .and_then(|ids| ids.first())
                .and_then(|id| self.site.report(*id).front.date_published)
                .map(|d| d.date().iso());
            let lastmod = if section.parent.is_none() {
                newest.clone()
            } else {
                lastmod
            };
            urls.push(SitemapUrl {
                loc: base.absolute(&section.url),
                lastmod,
            });
        }
        for r in self.site.reports.iter().filter(|r| r.has_page) {
            let changed = r
                .front
                .date_updated
                .or(r.front.date_published)
                .map(|d| d.iso());
            urls.push(SitemapUrl {
                loc: base.absolute(&r.url),
                lastmod: changed,
            });
        }
        let c = self.catalogue;
        urls.push(SitemapUrl {
            loc: base.absolute(&c.url),
            lastmod: None,
        });
        for facet in &c.facets {
            for value in &facet.values {
                urls.push(SitemapUrl {
                    loc: base.absolute(&value.listing.pages[0]),
                    lastmod: None,
                });
            }
        }
        urls.sort_by(|a, b| a.loc.cmp(&b.loc));
        let root = base.absolute(&UrlPath::root());
        let mut files: Vec<OutputFile> = sitemaps(&urls, &root, SITEMAP_MAX_URLS)
            .into_iter()
            .map(|(name, xml)| OutputFile {
                path: name,
                contents: Contents::Bytes(xml.into_bytes()),
            })
            .collect();
        let own_robots = self
            .site
            .assets
            .iter()
            .any(|a| a.url.as_str() == "/robots.txt");
        if !own_robots && base.path() == "/" {
            let sitemap = base.absolute(&UrlPath::parse("/sitemap.xml"));
            files.push(OutputFile {
                path: "robots.txt".to_string(),
                contents: Contents::Bytes(robots(&sitemap).into_bytes()),
            });
        }
        files
    }

    /// A page at each old address of a report that sends the reader on.
    pub(super) fn redirect_pages(&self) -> Vec<Result<OutputFile, Diagnostic>> {
        let mut pages = Vec::new();
        for r in self.site.reports.iter().filter(|r| r.has_page) {
            for old in &r.front.old_paths {
                let old = old.trim();
                let is_file = old.ends_with(".html") || old.ends_with(".htm");
                let from = if is_file || old.ends_with('/') {
                    UrlPath::parse(old)
                } else {
                    UrlPath::parse(&format!("{old}/"))
                };
                let target = self.links.link(&from, false, &r.url, None);
                let ctx = page_context!(self.base_context(&from, &r.front.title, None, self.config.language.tag(), &UrlPath::root());
                    target => target,
                    title => &r.front.title,
                );
                let result = self
                    .render_template("redirect.html", ctx, Some(&r.source))
                    .map(|bytes| OutputFile {
                        path: from.output_file(),
                        contents: Contents::Bytes(bytes),
                    });
                pages.push(result);
            }
        }
        pages
    }
}
