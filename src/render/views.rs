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
        DateView {
            day: d.iso(),
            display: d.iso(),
            iso: d.iso(),
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
    pub html: Cow<'a, str>,
    pub toc: &'a [Heading],
    pub signature: Option<SignatureView>,
    pub sample: bool,
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
    pub previous: Option<&'a UrlPath>,
    pub next: Option<&'a UrlPath>,
    /// The first, the last and the pages around the current one.
    pub pages: Vec<PageLink<'a>>,
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
}
