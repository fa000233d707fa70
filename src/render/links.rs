//! Links for one build: a site path (`/xxgk/`) made into the right link
//! for the page being rendered — with the base URL's sub-path, or relative
//! and ending in `index.html` when the portal is browsed from disk — and the
//! placeholders the markdown stage left in bodies filled in.

use std::borrow::Cow;

use minijinja::{State, Value};
use percent_encoding::utf8_percent_encode;

use crate::config::BaseUrl;
use crate::markdown::{LINK_PLACEHOLDER, is_external};
use crate::paths::UrlPath;
use crate::site::LinkTarget;

/// Link-making for one build.
#[derive(Clone)]
pub struct Links {
    pub base: BaseUrl,
    pub relative: bool,
}

impl Links {
    /// The link from the page `from` to `url`: relative in a relative build
    /// (unless `site_paths`), else the site path with the base URL's sub-path.
    pub fn link(
        &self,
        from: &UrlPath,
        site_paths: bool,
        url: &UrlPath,
        fragment: Option<&str>,
    ) -> String {
        self.link_from(|| Cow::Borrowed(from), site_paths, url, fragment)
    }

    /// [`Links::link`], from the page `from` makes, which only a relative
    /// link asks for (a link of a site with a base URL does not need it).
    fn link_from<'p>(
        &self,
        from: impl FnOnce() -> Cow<'p, UrlPath>,
        site_paths: bool,
        url: &UrlPath,
        fragment: Option<&str>,
    ) -> String {
        let link = if self.relative && !site_paths {
            url.relative_to(&from())
        } else {
            self.base.site_path(url)
        };
        match fragment {
            Some(fragment) => format!("{link}#{}", utf8_percent_encode(fragment, FRAGMENT)),
            None => link,
        }
    }

    /// The link from the page being rendered to `target`, for templates.
    pub fn href(&self, state: &State, target: &str) -> String {
        if is_external(target) {
            return target.to_string();
        }
        let (path, fragment) = match target.split_once('#') {
            Some((path, fragment)) => (path, Some(fragment)),
            None => (target, None),
        };
        // Looked up only where it can matter: a site of absolute links
        // gives every page the same, and the lookup was a third of this
        // filter's time (it is called some fifty times a report).
        let site_paths = !self.relative || state.lookup("site_paths").is_some_and(|v| v.is_true());
        let from = || {
            let from = state.lookup("page_url");
            Cow::Owned(UrlPath::parse(
                from.as_ref().and_then(Value::as_str).unwrap_or("/"),
            ))
        };
        self.link_from(from, site_paths, &UrlPath::parse(path), fragment)
    }
}

/// Characters escaped in a `#fragment`: controls, space, quotes and `<>`
/// (and, as everywhere in a URL, every non-ASCII byte; browsers decode it
/// before matching the id).
const FRAGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`');

/// Replaces the link placeholders the markdown stage left in `html`.
pub fn fill_links<'h>(
    html: &'h str,
    targets: &[LinkTarget],
    href: impl Fn(&LinkTarget) -> String,
) -> Cow<'h, str> {
    if targets.is_empty() {
        return Cow::Borrowed(html);
    }
    let mut out = String::with_capacity(html.len() + targets.len() * 16);
    let mut rest = html;
    while let Some(at) = rest.find(LINK_PLACEHOLDER) {
        out.push_str(&rest[..at]);
        rest = &rest[at + LINK_PLACEHOLDER.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits]
            .parse::<usize>()
            .ok()
            .and_then(|n| targets.get(n))
        {
            Some(target) => out.push_str(&escape_attribute(&href(target))),
            None => out.push_str(LINK_PLACEHOLDER),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_links_for_the_page() {
        let targets = vec![
            LinkTarget {
                url: UrlPath::parse("/新闻/a/"),
                fragment: Some("一、标题".to_string()),
            },
            LinkTarget {
                url: UrlPath::parse("/files/x.pdf"),
                fragment: None,
            },
        ];
        let links = Links {
            base: crate::config::BaseUrl::parse("https://a.gov.cn/portal/").unwrap(),
            relative: false,
        };
        let from = UrlPath::parse("/news/b/");
        let html = "<a href=\"gazette-content-link:0\">a</a><img src=\"gazette-content-link:1\">";
        let filled = fill_links(html, &targets, |t| {
            links.link(&from, false, &t.url, t.fragment.as_deref())
        });
        assert_eq!(
            filled,
            "<a href=\"/portal/%E6%96%B0%E9%97%BB/a/#%E4%B8%80%E3%80%81%E6%A0%87%E9%A2%98\">a</a><img src=\"/portal/files/x.pdf\">"
        );
        let relative = Links {
            relative: true,
            ..links
        };
        let filled = fill_links(html, &targets, |t| {
            relative.link(&from, false, &t.url, None)
        });
        assert!(
            filled.contains("href=\"../../%E6%96%B0%E9%97%BB/a/index.html\""),
            "{filled}"
        );
    }
}
