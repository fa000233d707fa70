//! `site.yaml`: who publishes the portal and how it is built.
//!
//! [`Config::parse`] reads the file strictly — an unknown key is an error with
//! a "did you mean" hint, since a misspelt `icp_no` would otherwise silently
//! drop a legally required footer line — and returns one complete, typed
//! value. Nothing later in the pipeline reads `site.yaml` again.

use std::collections::BTreeMap;

use chrono::FixedOffset;
use serde::{Deserialize, Serialize};

use crate::dates::parse_offset;
use crate::diagnostics::Diagnostic;
use crate::paths::{ContentPath, UrlPath};
use crate::yaml;

/// The file name of the site configuration, at the site root.
pub const CONFIG_FILE: &str = "site.yaml";

/// The language of the portal's interface (and the default of its reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
pub enum Language {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Language {
    /// The BCP 47 tag for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::En => "en",
        }
    }

    /// Reads a `lang` value from front matter: `zh`, `zh-CN`, `zh-Hans`,
    /// `en`, `en-GB`, `en-US` … map to the two interface languages.
    pub fn from_tag(tag: &str) -> Option<Language> {
        let lower = tag.to_ascii_lowercase();
        if lower == "zh" || lower.starts_with("zh-") {
            Some(Language::ZhCn)
        } else if lower == "en" || lower.starts_with("en-") {
            Some(Language::En)
        } else {
            None
        }
    }
}

/// The site's public address, split into the part before the path
/// (`https://example.gov.cn`) and the path the portal lives under (`/portal/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl {
    origin: String,
    path: String,
}

impl BaseUrl {
    pub fn parse(text: &str) -> Result<BaseUrl, String> {
        let text = text.trim();
        let (scheme, rest) = text.split_once("://").ok_or_else(|| {
            format!("`{text}` is not a full address; write it like https://www.example.gov.cn/")
        })?;
        if scheme != "http" && scheme != "https" {
            return Err(format!("`{text}` must start with https:// or http://"));
        }
        let (host, path) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, "/"),
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(format!("`{text}` has no valid host name"));
        }
        if path.contains(['?', '#']) {
            return Err(format!(
                "`{text}` must not contain a query (?) or fragment (#)"
            ));
        }
        let path = if path.ends_with('/') {
            path.to_string()
        } else {
            format!("{path}/")
        };
        Ok(BaseUrl {
            origin: format!("{scheme}://{host}"),
            path,
        })
    }

    /// `https://example.gov.cn`
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The host name (and port), for the `SiteDomain` meta tag.
    pub fn domain(&self) -> &str {
        self.origin
            .split_once("://")
            .map_or(&self.origin, |(_, host)| host)
    }

    /// The sub-path the portal lives under, `/` or `/portal/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The absolute URL of a page: base URL + the page's encoded path.
    pub fn absolute(&self, url: &UrlPath) -> String {
        format!("{}{}", self.origin, self.site_path(url))
    }

    /// The root-relative link to a page, including the sub-path.
    pub fn site_path(&self, url: &UrlPath) -> String {
        let prefix = self.path.trim_end_matches('/');
        let mut link = String::with_capacity(prefix.len() + url.as_str().len() + 8);
        link.push_str(prefix);
        url.push_encoded(&mut link);
        link
    }
}

impl std::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.origin, self.path)
    }
}

/// One entry of the main navigation.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NavLink {
    pub title: String,
    /// A site path such as `/xxgk/`, or a full `https://` address.
    pub url: String,
}

/// 联系方式: shown in the footer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkdownConfig {
    /// Pass raw HTML in Markdown through. Off by default: raw HTML is shown
    /// as text, so nothing pasted into a report can run in a visitor's browser.
    #[serde(default)]
    pub allow_html: bool,
    /// With `allow_html`: the hosts whose pages may be embedded with
    /// `<iframe>` (a map service, a video platform).
    #[serde(default)]
    pub iframe_hosts: Vec<String>,
}

/// `catalogue:` in `site.yaml`: the 信息公开目录.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogueConfig {
    /// Where the catalogue lives on the site.
    pub path: String,
    /// Rows per catalogue page; the site's `paginate` when not given.
    pub paginate: Option<usize>,
    /// The 主题分类 vocabulary: a file of the site (one topic per line, or
    /// a YAML list). Topics outside it are errors.
    pub topics_file: Option<String>,
}

impl Default for CatalogueConfig {
    fn default() -> Self {
        CatalogueConfig {
            path: "/catalogue/".to_string(),
            paginate: None,
            topics_file: None,
        }
    }
}

/// `feeds:` in `site.yaml`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedConfig {
    /// Entries per Atom feed (the newest).
    pub entries: usize,
}

impl Default for FeedConfig {
    fn default() -> Self {
        FeedConfig { entries: 20 }
    }
}

/// `checks:` in `site.yaml`: the portal checks run at build time.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChecksConfig {
    /// How many days ahead of the build a publication date may be (time
    /// zones, a report prepared the evening before).
    pub future_days: u32,
    /// Warn about sections with no reports (空白栏目).
    pub empty_sections: bool,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        ChecksConfig {
            future_days: 1,
            empty_sections: true,
        }
    }
}

/// `content:` in `site.yaml`: how content files are read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContentConfig {
    /// A report without `date_published` takes the date of a `YYYY-MM-DD-`
    /// file name prefix (as Jekyll's `_posts` are named). Off by default:
    /// a missing date is otherwise an error.
    pub dates_from_file_names: bool,
}

/// `home:` in `site.yaml`: what the home page shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HomeConfig {
    /// The sections whose newest reports the home page shows, by site path
    /// (`/xxgk/tzgg/`); the top-level sections when empty.
    pub sections: Vec<String>,
    /// Quick links shown on the home page (e.g. the 政府信息公开 hub's
    /// 指南, 制度, 法定主动公开内容, 年报).
    pub links: Vec<NavLink>,
}

/// A place a report can be shared to, by a plain link (no script of theirs
/// is ever loaded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ShareTarget {
    Weibo,
    Qq,
    Qzone,
    Email,
    X,
    Facebook,
    Linkedin,
}

/// `share:` in `site.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShareConfig {
    /// The share links shown; by default Weibo, QQ, QZone and email on a
    /// Chinese site, email, X, Facebook and LinkedIn on an English one.
    pub links: Option<Vec<ShareTarget>>,
    /// The picture social media show with a shared report (a site path,
    /// e.g. `/static/share.png`; PNG or JPEG, 1200 × 630 works best).
    pub image: Option<String>,
    /// Its text alternative.
    pub image_alt: Option<String>,
    /// The site's X (Twitter) account, e.g. `@agency`.
    pub twitter_site: Option<String>,
}

impl ShareConfig {
    pub fn targets(&self, language: Language) -> Vec<ShareTarget> {
        self.links.clone().unwrap_or_else(|| match language {
            Language::ZhCn => vec![
                ShareTarget::Weibo,
                ShareTarget::Qq,
                ShareTarget::Qzone,
                ShareTarget::Email,
            ],
            Language::En => vec![
                ShareTarget::Email,
                ShareTarget::X,
                ShareTarget::Facebook,
                ShareTarget::Linkedin,
            ],
        })
    }
}

/// How a report is laid out on paper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrintProfile {
    /// GB/T 9704-2012 《党政机关公文格式》: A4, 3号仿宋, 22 lines × 28 characters.
    Gbt9704,
    /// GOV.UK-like: the document, its metadata and its address.
    Plain,
}

/// Paper size of the `plain` profile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Paper {
    #[default]
    A4,
    Letter,
}

/// `print:` in `site.yaml`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrintConfig {
    /// `gbt9704` (default on a Chinese site) or `plain` (default in English).
    pub profile: Option<PrintProfile>,
    /// `a4` or `letter`, for the `plain` profile (GB/T 9704 is always A4).
    pub paper: Paper,
    /// The most reports on one page of a section's collection print.
    pub max_reports: usize,
}

impl Default for PrintConfig {
    fn default() -> Self {
        PrintConfig {
            profile: None,
            paper: Paper::A4,
            max_reports: 50,
        }
    }
}

impl PrintConfig {
    pub fn profile(&self, language: Language) -> PrintProfile {
        self.profile.unwrap_or(match language {
            Language::ZhCn => PrintProfile::Gbt9704,
            Language::En => PrintProfile::Plain,
        })
    }
}

/// `site.yaml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    name: String,
    base_url: String,
    #[serde(default)]
    language: Language,
    description: Option<String>,
    #[serde(default = "default_theme")]
    theme: String,
    timezone: Option<String>,
    #[serde(default)]
    relative_links: bool,
    #[serde(default = "default_paginate")]
    paginate: usize,
    #[serde(default)]
    content: ContentConfig,
    #[serde(default)]
    markdown: MarkdownConfig,
    #[serde(default)]
    catalogue: CatalogueConfig,
    #[serde(default)]
    feeds: FeedConfig,
    #[serde(default)]
    checks: ChecksConfig,
    #[serde(default)]
    share: ShareConfig,
    #[serde(default)]
    print: PrintConfig,
    #[serde(default)]
    home: HomeConfig,
    #[serde(default)]
    nav: Vec<NavLink>,
    parent_org: Option<String>,
    site_id_code: Option<String>,
    icp_no: Option<String>,
    psb_no: Option<String>,
    sponsor: Option<String>,
    operator: Option<String>,
    #[serde(default)]
    contact: Contact,
    #[serde(default)]
    footer_links: Vec<NavLink>,
    #[serde(default)]
    extra: BTreeMap<String, serde_json::Value>,
}

fn default_theme() -> String {
    "default".to_string()
}

fn default_paginate() -> usize {
    20
}

/// The site configuration, checked.
#[derive(Clone, Debug)]
pub struct Config {
    /// 网站名称 (`SiteName`).
    pub name: String,
    pub base_url: BaseUrl,
    pub language: Language,
    pub description: Option<String>,
    pub theme: String,
    /// The zone of times written without an offset.
    pub timezone: FixedOffset,
    /// Write every link relative, ending in `index.html`, so the portal can
    /// be browsed from disk.
    pub relative_links: bool,
    /// Reports per list page.
    pub paginate: usize,
    pub content: ContentConfig,
    pub markdown: MarkdownConfig,
    pub catalogue: CatalogueConfig,
    pub feeds: FeedConfig,
    pub checks: ChecksConfig,
    pub share: ShareConfig,
    pub print: PrintConfig,
    pub home: HomeConfig,
    pub nav: Vec<NavLink>,
    /// The portal's identifiers and the footer's fixed content.
    pub identity: Identity,
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// What the 底部功能区 of a government site must show.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Identity {
    /// 上级机关: the government whose portal hosts this site.
    pub parent_org: Option<String>,
    /// 网站标识码 (`SiteIDCode`).
    pub site_id_code: Option<String>,
    /// ICP备案号.
    pub icp_no: Option<String>,
    /// 公安机关备案号, e.g. 粤公网安备44082302000123号.
    pub psb_no: Option<String>,
    /// 主办单位.
    pub sponsor: Option<String>,
    /// 承办单位.
    pub operator: Option<String>,
    pub contact: Contact,
    pub footer_links: Vec<NavLink>,
}

impl Config {
    /// Reads `site.yaml` text. `file` names it in diagnostics. Warnings come
    /// back beside the config; any error fails the whole file.
    pub fn parse(
        text: &str,
        file: &ContentPath,
    ) -> Result<(Config, Vec<Diagnostic>), Vec<Diagnostic>> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let raw: RawConfig = yaml::parse(text, file, 1)?;
        let mut errors = Vec::new();
        let at = |key: &str| yaml::key_line(text, key);

        let base_url = BaseUrl::parse(&raw.base_url).unwrap_or_else(|message| {
            errors.push(Diagnostic::error(
                file,
                at("base_url"),
                format!("base_url: {message}"),
            ));
            BaseUrl::parse("http://localhost/").expect("fallback base URL")
        });
        let default_zone = match raw.language {
            Language::ZhCn => "+08:00",
            Language::En => "+00:00",
        };
        let timezone = parse_offset(raw.timezone.as_deref().unwrap_or(default_zone))
            .unwrap_or_else(|e| {
                errors.push(Diagnostic::error(
                    file,
                    at("timezone"),
                    format!("timezone: {e}"),
                ));
                FixedOffset::east_opt(0).expect("zero offset")
            });
        if raw.name.trim().is_empty() {
            errors.push(
                Diagnostic::error(file, at("name"), "name is empty")
                    .with_help("give the site's full name, e.g. 遂溪县人民政府遂城街道办事处"),
            );
        }
        if raw.print.max_reports == 0 {
            errors.push(Diagnostic::error(
                file,
                at("print"),
                "print.max_reports must be at least 1",
            ));
        }
        if raw.feeds.entries == 0 {
            errors.push(Diagnostic::error(
                file,
                at("feeds"),
                "feeds.entries must be at least 1",
            ));
        }
        if raw.catalogue.paginate == Some(0) {
            errors.push(Diagnostic::error(
                file,
                at("catalogue"),
                "catalogue.paginate must be at least 1",
            ));
        }
        if raw.catalogue.path.trim_matches('/').is_empty() {
            errors.push(
                Diagnostic::error(
                    file,
                    at("catalogue"),
                    "catalogue.path cannot be the home page",
                )
                .with_help("use a path such as /xxgkml/"),
            );
        }
        if raw.paginate == 0 {
            errors.push(Diagnostic::error(
                file,
                at("paginate"),
                "paginate must be at least 1",
            ));
        }
        if let Some(code) = &raw.site_id_code
            && (code.chars().count() != 10 || !code.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            errors.push(
                Diagnostic::warning(
                    file,
                    at("site_id_code"),
                    format!("site_id_code `{code}` is not 10 letters or digits"),
                )
                .with_help("网站标识码 are 10 characters, e.g. 4408230001 or bm55000001"),
            );
        }
        if errors.iter().any(Diagnostic::is_error) {
            return Err(errors);
        }
        let config = Config {
            name: raw.name,
            base_url,
            language: raw.language,
            description: raw.description,
            theme: raw.theme,
            timezone,
            relative_links: raw.relative_links,
            paginate: raw.paginate,
            content: raw.content,
            markdown: raw.markdown,
            catalogue: CatalogueConfig {
                path: format!("/{}/", raw.catalogue.path.trim_matches('/')),
                ..raw.catalogue
            },
            feeds: raw.feeds,
            checks: raw.checks,
            share: raw.share,
            print: raw.print,
            home: raw.home,
            nav: raw.nav,
            identity: Identity {
                parent_org: raw.parent_org,
                site_id_code: raw.site_id_code,
                icp_no: raw.icp_no,
                psb_no: raw.psb_no,
                sponsor: raw.sponsor,
                operator: raw.operator,
                contact: raw.contact,
                footer_links: raw.footer_links,
            },
            extra: raw.extra,
        };
        Ok((config, errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> ContentPath {
        ContentPath::from_relative("site.yaml")
    }

    #[test]
    fn minimal_config_gets_chinese_defaults() {
        let config = Config::parse(
            "name: 测试\nbase_url: https://example.gov.cn/portal\n",
            &file(),
        )
        .unwrap()
        .0;
        assert_eq!(config.language, Language::ZhCn);
        assert_eq!(config.base_url.path(), "/portal/");
        assert_eq!(config.timezone.local_minus_utc(), 8 * 3600);
        assert_eq!(config.theme, "default");
    }

    #[test]
    fn unknown_key_is_an_error_with_a_hint() {
        let errors = Config::parse(
            "name: x\nbase_url: https://a.gov.cn/\nicp_num: 1\n",
            &file(),
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, Some(3));
        assert_eq!(errors[0].help.as_deref(), Some("did you mean `icp_no`?"));
    }

    #[test]
    fn bad_base_url_names_its_line() {
        let errors = Config::parse("name: x\nbase_url: example.gov.cn\n", &file()).unwrap_err();
        assert_eq!(errors[0].line, Some(2));
        assert!(errors[0].message.contains("full address"));
    }

    #[test]
    fn absolute_urls_carry_the_sub_path() {
        let base = BaseUrl::parse("https://example.gov.cn/portal/").unwrap();
        assert_eq!(
            base.absolute(&UrlPath::parse("/新闻/a/")),
            "https://example.gov.cn/portal/%E6%96%B0%E9%97%BB/a/"
        );
        assert_eq!(base.site_path(&UrlPath::root()), "/portal/");
    }

    #[test]
    fn language_tags() {
        assert_eq!(Language::from_tag("zh-Hans"), Some(Language::ZhCn));
        assert_eq!(Language::from_tag("en-GB"), Some(Language::En));
        assert_eq!(Language::from_tag("fr"), None);
    }
}
