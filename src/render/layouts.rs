//! What the share and print layouts of a report need besides the report
//! page's view model: the share links and QR code, the Open Graph and
//! Twitter card data, and the collection print of a section.

use super::Renderer;
use super::share::{SocialMeta, qr_svg, share_link};
use super::vars::page_context;
use super::views::ShareView;
use crate::config::Language;
use crate::paths::UrlPath;
use crate::site::Report;

impl<'a> Renderer<'a> {
    pub(super) fn share_view(&self, report: &Report) -> ShareView {
        let url = self.config.base_url.absolute(&report.url);
        let f = &report.front;
        let summary = f.summary.as_deref().unwrap_or_default();
        let links = self
            .config
            .share
            .targets(self.config.language)
            .into_iter()
            .map(|t| share_link(t, &url, &f.title, summary, &self.config.name))
            .collect();
        let label = match self.config.language {
            Language::ZhCn => format!("二维码：{}", f.title),
            Language::En => format!("QR code: {}", f.title),
        };
        ShareView {
            qr: qr_svg(&url, &label).map(minijinja::Value::from_safe_string),
            url,
            links,
        }
    }

    pub(super) fn social_meta(&self, report: &Report, description: &str) -> SocialMeta {
        let f = &report.front;
        let base = &self.config.base_url;
        let image = self.config.share.image.as_deref().map(|path| {
            if crate::markdown::is_external(path) {
                path.to_string()
            } else {
                base.absolute(&UrlPath::parse(path))
            }
        });
        let mut tags = f.keywords.clone();
        for tag in f.topics.iter().chain(&f.tags) {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        SocialMeta {
            url: base.absolute(&report.url),
            title: f.title.clone(),
            description: description.chars().take(200).collect(),
            site_name: self.config.name.clone(),
            locale: match report.lang {
                Language::ZhCn => "zh_CN",
                Language::En => "en_US",
            },
            twitter_card: if image.is_some() {
                "summary_large_image"
            } else {
                "summary"
            },
            image_alt: image.as_ref().and(self.config.share.image_alt.clone()),
            image,
            published: f.date_published.map(|d| d.rfc3339()),
            modified: f.date_updated.map(|d| d.rfc3339()),
            section: self.site.section(report.section).title.clone(),
            tags,
            twitter_site: self.config.share.twitter_site.clone(),
        }
    }
}

/// The page of a section's collection print, and its neighbours.
#[derive(serde::Serialize)]
struct CollectionView<'a> {
    title: &'a str,
    url: &'a UrlPath,
    documents: Vec<super::views::ReportView<'a>>,
    pagination: Option<super::views::Pagination<'a>>,
}

impl<'a> Renderer<'a> {
    /// The pages of each section's collection print: its reports, newest
    /// first, `print.max_reports` to a page, each starting a new sheet,
    /// after a table of contents.
    ///
    /// Each page is handed to `keep` as soon as it is made (a page holds
    /// whole reports, so they are never all in memory); what it returns is
    /// collected.
    pub(super) fn collection_prints(
        &self,
        render: &(dyn Fn(&crate::site::Section) -> bool + Sync),
        keep: impl Fn(crate::site::SectionId, Result<super::OutputFile, crate::diagnostics::Diagnostic>)
        + Sync,
    ) {
        use minijinja::Value;
        use minijinja::value::Serde;
        use rayon::prelude::*;

        let per_page = self.config.print.max_reports;
        let sections: Vec<(&crate::site::Section, Vec<UrlPath>)> = self
            .site
            .sections
            .iter()
            .filter(|s| !s.reports.is_empty() && render(s))
            .map(|section| {
                let base = section.url.child_page("print");
                let count = section.reports.len().div_ceil(per_page);
                let pages: Vec<UrlPath> = (1..=count)
                    .map(|n| {
                        if n == 1 {
                            base.clone()
                        } else {
                            base.child_page(&n.to_string())
                        }
                    })
                    .collect();
                (section, pages)
            })
            .collect();
        let jobs: Vec<(&crate::site::Section, &[UrlPath], usize)> = sections
            .iter()
            .flat_map(|(section, pages)| {
                (0..pages.len()).map(move |page| (*section, pages.as_slice(), page))
            })
            .collect();
        jobs.into_par_iter()
            .for_each(|(section, pages, page)| {
                let count = pages.len();
                let made = (|| {
                        let url = &pages[page];
                        // Each document's body, share view and JSON-LD, made
                        // first: its view borrows them.
                        let parts = section
                            .reports
                            .iter()
                            .skip(page * per_page)
                            .take(per_page)
                            .map(|id| {
                                let report = self.site.report(*id);
                                let body = self.site.html(report).map_err(|e| super::body_unreadable(report, e))?;
                                // A printed collection shows no QR codes.
                                let share = ShareView { url: self.config.base_url.absolute(&report.url), qr: None, links: Vec::new() };
                                Ok((report, body, share, self.json_ld(report)))
                            })
                            .collect::<Result<Vec<_>, crate::diagnostics::Diagnostic>>()?;
                        let documents = parts
                            .iter()
                            .enumerate()
                            .map(|(i, (report, body, share, json_ld))| {
                                let (html, appendix) = self.body_html(report, url, body)?;
                                // Many documents on one page: keep their ids apart.
                                let prefix = format!("doc-{}-", i + 1);
                                let html = Value::from_safe_string(prefix_ids(&html, &prefix));
                                let appendix = prefix_ids(&appendix, &prefix);
                                Ok(self.report_view(report, url, html, appendix, share, json_ld))
                            })
                            .collect::<Result<Vec<_>, crate::diagnostics::Diagnostic>>()?;
                        let view = CollectionView {
                            title: &section.title,
                            url: &section.url,
                            documents,
                            pagination: (count > 1).then(|| super::views::Pagination::of(pages, page)),
                        };
                        let ctx = page_context!(self.base_context(url, &section.title, None, self.config.language.tag(), &section.url);
                            collection => Value::from(Serde(&view)),
                            profile => Value::from(Serde(self.config.print.profile(self.config.language))),
                            paper => Value::from(Serde(self.config.print.paper)),
                        );
                        let bytes = self.render_template("print_collection.html", ctx, section.source.as_ref())?;
                        Ok(super::OutputFile { path: url.output_file(), contents: super::Contents::Bytes(bytes) })
                })();
                keep(section.id, made)
            })
    }
}

/// Prefixes every id in `html`, and every reference to one (`href="#…"`,
/// `headers`, `aria-labelledby`, `aria-describedby`, `for`), with `prefix`.
///
/// The text is scanned once, from one `="` to the next, and the name
/// before each looked at: searching for each of the six attributes in
/// turn went through a report's body six times, for every report of every
/// printed collection.
pub(super) fn prefix_ids(html: &str, prefix: &str) -> String {
    // Each attribute, and what its value starts with before the first id.
    const ATTRIBUTES: [(&str, &str); 6] = [
        (" id", ""),
        (" headers", ""),
        (" aria-labelledby", ""),
        (" aria-describedby", ""),
        (" for", ""),
        (" href", "#"),
    ];
    let mut out = String::with_capacity(html.len() + 256);
    let mut done = 0;
    let mut from = 0;
    // (A quote is found by `memchr`, several times faster than a search
    // for both characters; most quotes end a value.)
    while let Some(found) = html[from..].find('"') {
        let quote = from + found;
        from = quote + 1;
        if quote == 0 || html.as_bytes()[quote - 1] != b'=' {
            continue;
        }
        let equals = quote - 1;
        let Some(lead) = ATTRIBUTES.iter().find_map(|&(name, lead)| {
            (html[..equals].ends_with(name)
                && equals - name.len() >= done
                && html[from..].starts_with(lead))
            .then_some(lead)
        }) else {
            continue;
        };
        let value_start = from + lead.len();
        let Some(len) = html[value_start..].find('"') else {
            break;
        };
        out.push_str(&html[done..value_start]);
        for (i, id) in html[value_start..value_start + len]
            .split_whitespace()
            .enumerate()
        {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(prefix);
            out.push_str(id);
        }
        done = value_start + len;
        from = done;
    }
    out.push_str(&html[done..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_their_references_are_prefixed_together() {
        let html = "<h2 id=\"一\">一</h2><a href=\"#一\">x</a><a href=\"../a/#b\">y</a><td headers=\"r-a r-b\">1</td>";
        assert_eq!(
            prefix_ids(html, "doc-2-"),
            "<h2 id=\"doc-2-一\">一</h2><a href=\"#doc-2-一\">x</a><a href=\"../a/#b\">y</a><td headers=\"doc-2-r-a doc-2-r-b\">1</td>"
        );
        // Other attributes, an id-like name without its space, a value
        // naming no id, and a label's reference are told apart.
        let html = "<p class=\"x\" data-id=\"k\"><a href=\"\">e</a><label for=\"f\" aria-describedby=\"d  e\">l</label><th id=\"r\" title=\"t\">";
        assert_eq!(
            prefix_ids(html, "p-"),
            "<p class=\"x\" data-id=\"k\"><a href=\"\">e</a><label for=\"p-f\" aria-describedby=\"p-d p-e\">l</label><th id=\"p-r\" title=\"t\">"
        );
        // An unclosed value ends the work; the rest is kept as it is.
        assert_eq!(
            prefix_ids("<b id=\"a\"><i id=\"b", "p-"),
            "<b id=\"p-a\"><i id=\"b"
        );
    }
}
