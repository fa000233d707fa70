//! The view models templates see: typed, built per page from the site, and
//! serialized for minijinja. Templates never see the site itself.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Identity;
use crate::dates::{CalendarDate, Timestamp};
use crate::markdown::Heading;
use crate::paths::UrlPath;

/// A date as templates need it.
#[derive(Serialize)]
pub struct DateView {
    /// `2022-12-24`
    pub day: String,
    /// `2022-12-24 09:30`, or the day alone when no time was given.
    pub display: String,
    /// ISO 8601 for `datetime` attributes.
    pub iso: String,
    /// `2022年12月24日` or `24 December 2022`, by the site's language.
    pub text: String,
}

impl DateView {
    pub fn of_timestamp(t: &Timestamp, chinese: bool) -> DateView {
        let date = t.date();
        DateView {
            day: date.iso(),
            display: t.display(),
            iso: t.iso(),
            text: if chinese {
                date.chinese()
            } else {
                date.english()
            },
        }
    }

    pub fn of_date(d: &CalendarDate, chinese: bool) -> DateView {
        let iso = d.iso();
        DateView {
            day: iso.clone(),
            display: iso.clone(),
            iso,
            text: if chinese { d.chinese() } else { d.english() },
        }
    }
}

#[derive(Serialize)]
pub struct Crumb<'a> {
    pub title: &'a str,
    pub url: &'a UrlPath,
    pub current: bool,
}

#[derive(Serialize)]
pub struct NavItem {
    pub title: String,
    pub url: String,
}

#[derive(Serialize)]
pub struct IdentityView<'a> {
    #[serde(flatten)]
    pub identity: &'a Identity,
    /// The digits of the 公安机关备案号, for the link to its record.
    pub psb_record_code: Option<String>,
}

#[derive(Serialize)]
pub struct SiteView<'a> {
    pub name: &'a str,
    pub lang: &'static str,
    pub description: Option<&'a str>,
    pub base_url: String,
    pub domain: &'a str,
    pub nav: Vec<NavItem>,
    pub identity: IdentityView<'a>,
    pub extra: &'a BTreeMap<String, serde_json::Value>,
}

/// A report in a list.
#[derive(Serialize)]
pub struct ReportItem<'a> {
    pub title: &'a str,
    pub url: &'a UrlPath,
    pub date: Option<DateView>,
    pub issuer: Option<&'a str>,
    pub sample: bool,
}

#[derive(Serialize)]
pub struct LinkView<'a> {
    pub title: &'a str,
    pub url: &'a UrlPath,
}

#[derive(Serialize)]
pub struct SignatureView {
    pub name: Option<String>,
    pub date: Option<DateView>,
}

#[derive(Serialize)]
pub struct ReportView<'a> {
    pub title: &'a str,
    pub subtitle: Option<&'a str>,
    pub url: &'a UrlPath,
    pub lang: &'static str,
    pub date_published: Option<DateView>,
    pub date_written: Option<DateView>,
    pub date_updated: Option<DateView>,
    pub issuer: Option<&'a str>,
    pub source: Option<&'a str>,
    pub author: Option<&'a str>,
    pub summary: Option<&'a str>,
    pub tags: &'a [String],
    pub keywords: &'a [String],
    /// The body's HTML, a template value marked safe. The themes print it
    /// with `| safe`, which then hands it on as it is
    /// ([`super::safe_filter`]): as a plain string, tens of kilobytes a
    /// page, it was copied twice more on the way. Made once for a report's
    /// page and print page when their bodies are the same
    /// ([`super::ReportBody`]).
    pub html: minijinja::Value,
    pub toc: &'a [Heading],
    pub signature: Option<SignatureView>,
    pub sample: bool,
    /// 索引号
    pub index_no: Option<&'a str>,
    /// 文号
    pub doc_no: Option<&'a str>,
    pub doc_type: Option<Labelled>,
    /// 主题分类
    pub topics: &'a [String],
    /// 目录分类
    pub catalogue: Option<&'a str>,
    /// 栏目 (`ColumnName`) when the report names one.
    pub column: Option<&'a str>,
    pub validity: Option<Labelled>,
    /// Shown when the document is not in effect.
    pub banner: Option<BannerView>,
    pub change_note: Option<&'a str>,
    /// 实施日期
    pub date_effective: Option<DateView>,
    /// 年度
    pub year: Option<i32>,
    /// 主送机关
    pub addressee: Option<&'a str>,
    /// 附注
    pub note: Option<&'a str>,
    pub attachments: Vec<AttachmentView<'a>>,
    pub related: Vec<HrefView>,
    /// The annual-report tables the body has no heading for, each with
    /// its own heading, placed after the body.
    pub gip_appendix: String,
    /// schema.org JSON-LD, safe to put in a `<script>` element.
    pub json_ld: &'a str,
    /// Shared by a report's layouts (its QR code is drawn once).
    pub share: &'a ShareView,
    pub print: PrintView,
    pub section: LinkView<'a>,
    pub previous: Option<LinkView<'a>>,
    pub next: Option<LinkView<'a>>,
    pub extra: &'a BTreeMap<String, serde_json::Value>,
}

#[derive(Serialize)]
pub struct ChildView<'a> {
    pub title: &'a str,
    pub url: &'a UrlPath,
    pub count: usize,
}

#[derive(Serialize)]
pub struct PageLink<'a> {
    pub n: usize,
    pub url: &'a UrlPath,
}

#[derive(Serialize)]
pub struct Pagination<'a> {
    pub current: usize,
    pub total: usize,
    pub first: &'a UrlPath,
    pub last: &'a UrlPath,
    pub previous: Option<&'a UrlPath>,
    pub next: Option<&'a UrlPath>,
    /// The first, the last and the pages around the current one.
    pub pages: Vec<PageLink<'a>>,
}

impl<'a> Pagination<'a> {
    /// Page `page` (0-based) of the list whose pages are at `urls`.
    pub fn of(urls: &'a [UrlPath], page: usize) -> Pagination<'a> {
        let total = urls.len();
        let pages = (0..total)
            .filter(|&i| i == 0 || i + 1 == total || i.abs_diff(page) <= 2)
            .map(|i| PageLink {
                n: i + 1,
                url: &urls[i],
            })
            .collect();
        Pagination {
            current: page + 1,
            total,
            first: &urls[0],
            last: &urls[total - 1],
            previous: page.checked_sub(1).map(|i| &urls[i]),
            next: urls.get(page + 1),
            pages,
        }
    }
}

#[derive(Serialize)]
pub struct SectionView<'a> {
    pub title: &'a str,
    pub url: &'a UrlPath,
    pub summary: Option<&'a str>,
    pub intro_html: Option<Cow<'a, str>>,
    pub children: Vec<ChildView<'a>>,
    /// The sub-sections with their newest reports.
    pub panels: Vec<Panel<'a>>,
    pub reports: Vec<ReportItem<'a>>,
    pub total: usize,
    pub pagination: Pagination<'a>,
}

/// A section on the home page or a hub page, with its newest reports.
#[derive(Serialize)]
pub struct Panel<'a> {
    pub title: &'a str,
    pub url: &'a UrlPath,
    pub reports: Vec<ReportItem<'a>>,
    pub children: Vec<ChildView<'a>>,
}

#[derive(Serialize)]
pub struct HomeView<'a> {
    pub intro_html: Option<Cow<'a, str>>,
    pub latest: Vec<ReportItem<'a>>,
    pub sections: Vec<Panel<'a>>,
    /// Quick links (`home.links` of `site.yaml`).
    pub links: &'a [crate::config::NavLink],
}

/// A value of a closed vocabulary (文种, 有效性) with its label in the
/// site's language.
#[derive(Serialize)]
pub struct Labelled {
    pub key: &'static str,
    pub label: &'static str,
}

/// A link given in front matter, made for the page.
#[derive(Serialize)]
pub struct HrefView {
    pub text: String,
    pub href: String,
}

/// The banner of a document that is no longer in effect.
#[derive(Serialize)]
pub struct BannerView {
    pub label: &'static str,
    pub replacement: Option<HrefView>,
}

/// A file published with a report.
#[derive(Serialize)]
pub struct AttachmentView<'a> {
    pub title: &'a str,
    pub url: &'a UrlPath,
    pub format: &'a str,
    /// `1.2 MB`, `356 KB`.
    pub size: String,
}

/// One row of the annual report's request table.
#[derive(Serialize)]
pub struct GipRow<'a> {
    pub label: &'static str,
    pub level: u8,
    /// The headings the row stands under, outermost first.
    pub groups: Vec<&'static str>,
    pub cells: &'a [u64; 7],
}

/// The statistics tables of a 政府信息公开工作年度报告.
#[derive(Serialize)]
pub struct GipView<'a> {
    pub proactive: &'a crate::content::annual_report::Proactive,
    pub request_rows: Vec<GipRow<'a>>,
    pub appeals: &'a crate::content::annual_report::Appeals,
}

/// A file size as readers expect it: `820 B`, `356 KB`, `1.2 MB`.
pub fn human_size(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KB {
        format!("{bytes} B")
    } else if b < KB * KB {
        format!("{:.0} KB", (b / KB).max(1.0))
    } else if b < KB * KB * KB {
        format!("{:.1} MB", b / KB / KB)
    } else {
        format!("{:.1} GB", b / KB / KB / KB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(820), "820 B");
        assert_eq!(human_size(364_544), "356 KB");
        assert_eq!(human_size(1_258_291), "1.2 MB");
    }
}

/// The share block of a report and its share page.
#[derive(Clone, Serialize)]
pub struct ShareView {
    /// The report's address, absolute: what is shared.
    pub url: String,
    /// The QR code of `url`, as inline SVG, marked safe for the templates
    /// (as a report's body is, [`ReportView::html`]): made a template value once,
    /// which all three layouts of the report share rather than copy.
    pub qr: Option<minijinja::Value>,
    pub links: Vec<super::share::ShareLink>,
}

/// Where a report's other layouts are, and how it prints.
#[derive(Serialize)]
pub struct PrintView {
    pub page: UrlPath,
    pub share_page: UrlPath,
    pub profile: crate::config::PrintProfile,
    pub paper: crate::config::Paper,
}
