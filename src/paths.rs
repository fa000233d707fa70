//! The two kinds of path Gazette deals in, made once and used everywhere:
//!
//! - [`ContentPath`]: where a source file sits, relative to the site root
//!   (`content/news/report.md`). It is what every diagnostic names.
//! - [`UrlPath`]: where a page lives on the site, relative to the site's base
//!   URL (`/news/report/`). It is raw Unicode; it is percent-encoded only when
//!   it is written into a link ([`UrlPath::encoded`]), and turned into a file
//!   name only by [`UrlPath::output_file`].

use std::fmt;
use std::path::Path;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// A source file's path relative to the site root, with `/` separators on
/// every platform, so diagnostics read the same everywhere and sort stably.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct ContentPath(String);

impl ContentPath {
    /// The path of `path` relative to `root`; a path outside `root` is kept whole.
    pub fn new(root: &Path, path: &Path) -> ContentPath {
        let relative = path.strip_prefix(root).unwrap_or(path);
        let text: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        ContentPath(text.join("/"))
    }

    /// A path given directly in `/` form (tests, synthetic sources).
    pub fn from_relative(text: &str) -> ContentPath {
        ContentPath(text.trim_start_matches('/').to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Characters kept as they are in a path segment of a link: RFC 3986
/// unreserved characters and the sub-delimiters that are safe in a path.
/// Everything else, including every non-ASCII byte, is percent-encoded.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// [`PATH_SEGMENT`] for a whole path: its `/` kept, so that the path is
/// encoded at once, as its segments would be one by one.
const PATH: &AsciiSet = &PATH_SEGMENT.remove(b'/');

/// A page's or file's location on the site, relative to the base URL.
///
/// Always starts with `/`. A page (a directory with an `index.html`) ends
/// with `/`; a file (`/static/gazette.css`, `/404.html`) does not.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct UrlPath(String);

impl UrlPath {
    /// The site's home page.
    pub fn root() -> UrlPath {
        UrlPath("/".to_string())
    }

    /// A site-relative path as written in a template or `site.yaml`.
    /// A missing leading `/` is added.
    pub fn parse(text: &str) -> UrlPath {
        if text.starts_with('/') {
            UrlPath(text.to_string())
        } else {
            UrlPath(format!("/{text}"))
        }
    }

    /// The page `segment/` below this page.
    pub fn child_page(&self, segment: &str) -> UrlPath {
        debug_assert!(self.is_page());
        UrlPath(format!("{}{segment}/", self.0))
    }

    /// The file `name` inside this page's directory.
    pub fn child_file(&self, name: &str) -> UrlPath {
        debug_assert!(self.is_page());
        UrlPath(format!("{}{name}", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a page (a directory served by its `index.html`).
    pub fn is_page(&self) -> bool {
        self.0.ends_with('/')
    }

    /// The path segments, without the empty ones at either end.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    /// The file this URL is written to, relative to the output folder:
    /// `/news/a/` → `news/a/index.html`, `/static/x.css` → `static/x.css`.
    pub fn output_file(&self) -> String {
        let trimmed = self.0.trim_start_matches('/');
        if self.is_page() {
            format!("{trimmed}index.html")
        } else {
            trimmed.to_string()
        }
    }

    /// The path with every segment percent-encoded, for use in a link.
    pub fn encoded(&self) -> String {
        let mut link = String::with_capacity(self.0.len());
        self.push_encoded(&mut link);
        link
    }

    /// Appends [`UrlPath::encoded`] to `link` (every page has links, so
    /// they are made without a string per segment).
    pub fn push_encoded(&self, link: &mut String) {
        link.extend(utf8_percent_encode(&self.0, PATH));
    }

    /// A relative link from the page `from` to `self` that works when the
    /// site is opened straight from disk: pages are linked to their
    /// `index.html`, since a file system serves no directory index.
    ///
    /// ```
    /// use gazette::paths::UrlPath;
    /// let from = UrlPath::parse("/xxgk/tzgg/notice/");
    /// assert_eq!(UrlPath::parse("/政务动态/").relative_to(&from), "../../../%E6%94%BF%E5%8A%A1%E5%8A%A8%E6%80%81/index.html");
    /// ```
    pub fn relative_to(&self, from: &UrlPath) -> String {
        let from_dir: Vec<&str> = if from.is_page() {
            from.segments().collect()
        } else {
            let mut dir: Vec<&str> = from.segments().collect();
            dir.pop();
            dir
        };
        let target: Vec<&str> = self.segments().collect();
        let common = from_dir
            .iter()
            .zip(&target)
            .take_while(|(a, b)| a == b)
            .count();
        let mut parts: Vec<String> = Vec::new();
        parts.extend(std::iter::repeat_n(
            "..".to_string(),
            from_dir.len() - common,
        ));
        parts.extend(
            target[common..]
                .iter()
                .map(|s| utf8_percent_encode(s, PATH_SEGMENT).to_string()),
        );
        if self.is_page() {
            parts.push("index.html".to_string());
        }
        parts.join("/")
    }
}

impl fmt::Display for UrlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_file_of_pages_and_files() {
        assert_eq!(UrlPath::root().output_file(), "index.html");
        assert_eq!(
            UrlPath::parse("/news/a/").output_file(),
            "news/a/index.html"
        );
        assert_eq!(
            UrlPath::parse("/static/x.css").output_file(),
            "static/x.css"
        );
    }

    #[test]
    fn encodes_chinese_segments_but_not_slashes() {
        let url = UrlPath::parse("/政务公开/2022 年报/");
        assert_eq!(
            url.encoded(),
            "/%E6%94%BF%E5%8A%A1%E5%85%AC%E5%BC%80/2022%20%E5%B9%B4%E6%8A%A5/"
        );
    }

    proptest::proptest! {
        /// The whole path encoded at once is each segment encoded, joined
        /// by `/`: what a link to each page of the site needs.
        #[test]
        fn a_path_encodes_as_its_segments_do(path in "/[a-z0-9/ %#?~.'!@:;=+,政务年报\u{1F600}-]{0,40}") {
            let url = UrlPath::parse(&path);
            let by_segment: Vec<String> = path
                .split('/')
                .map(|segment| utf8_percent_encode(segment, PATH_SEGMENT).to_string())
                .collect();
            proptest::prop_assert_eq!(url.encoded(), by_segment.join("/"));
        }
    }

    #[test]
    fn relative_links_end_in_index_html() {
        let from = UrlPath::parse("/news/a/");
        assert_eq!(UrlPath::root().relative_to(&from), "../../index.html");
        assert_eq!(
            UrlPath::parse("/news/b/").relative_to(&from),
            "../b/index.html"
        );
        assert_eq!(UrlPath::parse("/news/a/").relative_to(&from), "index.html");
        assert_eq!(
            UrlPath::parse("/static/x.css").relative_to(&from),
            "../../static/x.css"
        );
        assert_eq!(
            UrlPath::parse("/news/a/").relative_to(&UrlPath::root()),
            "news/a/index.html"
        );
        assert_eq!(
            UrlPath::parse("/static/x.css").relative_to(&UrlPath::parse("/404.html")),
            "static/x.css"
        );
    }

    #[test]
    fn content_path_uses_forward_slashes() {
        let root = Path::new("/site");
        let p = ContentPath::new(root, Path::new("/site/content/news/a.md"));
        assert_eq!(p.as_str(), "content/news/a.md");
    }
}
