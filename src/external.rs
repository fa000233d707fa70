//! `gazette check --external`: visits every link to another web site and
//! reports those that are broken, with the file and line that carry them.
//!
//! Politeness and bounds: one request at a time per host with a pause
//! between two, at most [`WORKERS`] hosts at once, a time limit per request,
//! `HEAD` first (a `GET` only where a server refuses `HEAD`), and a cache of
//! good answers (`.gazette/external-links.json` under the site root, kept
//! for [`CACHE_DAYS`] days) so that a second run asks again only about what
//! failed or is new. Broken links are re-checked on every run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::diagnostics::Diagnostic;
use crate::paths::ContentPath;
use crate::site::Site;

/// Hosts checked at once.
pub const WORKERS: usize = 8;
/// How long a good answer is trusted.
pub const CACHE_DAYS: i64 = 7;
/// The pause between two requests to one host.
const PAUSE: Duration = Duration::from_millis(250);
/// The time limit of one request, redirects included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A link to another site, where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalLink {
    pub url: String,
    pub file: ContentPath,
    pub line: usize,
}

/// What a server said about one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It answered with a page (after redirects).
    Good,
    /// It is gone: 404, 410, or the host does not exist.
    Broken(String),
    /// It could not be told: a time-out, a refused connection, a server
    /// error, a refusal to robots (401, 403, 429).
    Unsure(String),
}

/// The cache file: good answers by address, with the Unix time of the check.
#[derive(Default, Deserialize, Serialize)]
struct Cache {
    good: BTreeMap<String, i64>,
}

/// The cache file of a site.
pub fn cache_path(root: &Path) -> PathBuf {
    root.join(".gazette").join("external-links.json")
}

/// Checks `links` (asking `ask` about each address not found good in the
/// cache at `cache` within [`CACHE_DAYS`] of `now`), updates the cache, and
/// returns an error for each broken link and a warning for each that could
/// not be checked, at every place it is written.
pub fn check_links(
    links: &[ExternalLink],
    cache: &Path,
    now: i64,
    ask: &(dyn Fn(&str) -> Verdict + Sync),
) -> Vec<Diagnostic> {
    let mut known: Cache = std::fs::read(cache)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    known
        .good
        .retain(|_, checked| now - *checked < CACHE_DAYS * 86_400);
    let to_ask: BTreeSet<&str> = links
        .iter()
        .map(|l| l.url.as_str())
        .filter(|url| !known.good.contains_key(*url))
        .collect();
    let verdicts = ask_politely(&to_ask, ask);
    for (url, verdict) in &verdicts {
        if *verdict == Verdict::Good {
            known.good.insert(url.to_string(), now);
        }
    }
    // A cache that cannot be written only costs the next run time.
    if let Some(dir) = cache.parent()
        && std::fs::create_dir_all(dir).is_ok()
    {
        let _ = std::fs::write(dir.join(".gitignore"), "# Gazette's cache\n*\n");
        if let Ok(json) = serde_json::to_vec_pretty(&known) {
            let _ = std::fs::write(cache, json);
        }
    }
    links
        .iter()
        .filter_map(|link| match verdicts.get(link.url.as_str())? {
            Verdict::Good => None,
            Verdict::Broken(why) => Some(
                Diagnostic::error(&link.file, Some(link.line), format!("broken external link `{}`: {why}", link.url))
                    .with_help("correct the address or remove the link; open it in a browser to see what the site says now"),
            ),
            Verdict::Unsure(why) => Some(
                Diagnostic::warning(&link.file, Some(link.line), format!("external link `{}` could not be checked: {why}", link.url))
                    .with_help("the site may be down for now or refuse robots: open it in a browser, or run the check again later"),
            ),
        })
        .collect()
}

/// Every link of the site's reports to another web site: in the text, and
/// among the 相关链接 (`related:`).
pub fn links_of(site: &Site) -> Vec<ExternalLink> {
    let mut links = Vec::new();
    for report in &site.reports {
        for link in &report.doc.web_links {
            links.push(ExternalLink {
                url: link.url.clone(),
                file: report.source.clone(),
                line: report.body_line + link.line - 1,
            });
        }
        // 相关链接 keep the line of their href from the front matter.
        for related in &report.front.related {
            let url = related.href.trim();
            if crate::markdown::is_external(url)
                && (url.starts_with("http") || url.starts_with("//"))
            {
                links.push(ExternalLink {
                    url: url.to_string(),
                    file: report.source.clone(),
                    line: related.line,
                });
            }
        }
    }
    links
}

/// The host part of an address, for grouping.
pub fn host(url: &str) -> &str {
    let rest = url.split_once("//").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

/// Asks about every address: hosts in parallel (at most [`WORKERS`]), one
/// host's addresses one after another with a pause between them.
fn ask_politely<'a>(
    urls: &BTreeSet<&'a str>,
    ask: &(dyn Fn(&str) -> Verdict + Sync),
) -> BTreeMap<&'a str, Verdict> {
    let mut by_host: BTreeMap<&str, Vec<&'a str>> = BTreeMap::new();
    for url in urls {
        by_host.entry(host(url)).or_default().push(url);
    }
    let queue = Mutex::new(by_host.into_values().collect::<Vec<_>>());
    let results = Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS.min(urls.len()) {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop();
                    let Some(host_urls) = next else { break };
                    for (i, url) in host_urls.into_iter().enumerate() {
                        if i > 0 {
                            std::thread::sleep(PAUSE);
                        }
                        let verdict = ask(url);
                        results
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(url, verdict);
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// A client that asks the web about an address: `HEAD`, then `GET` where
/// the server will not answer `HEAD`. One connection pool for the run.
pub fn web_client() -> impl Fn(&str) -> Verdict + Sync {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(10)
        .user_agent(concat!(
            "gazette-link-check/",
            env!("CARGO_PKG_VERSION"),
            " (checking the links of a government portal)"
        ))
        .build()
        .into();
    move |url| ask(&agent, url)
}

fn ask(agent: &ureq::Agent, url: &str) -> Verdict {
    let url = match url.strip_prefix("//") {
        Some(rest) => format!("https://{rest}"),
        None => url.to_string(),
    };
    let status = |response: Result<ureq::http::Response<ureq::Body>, ureq::Error>| {
        response.map(|r| r.status().as_u16())
    };
    let mut answer = status(agent.head(&url).call());
    // Many servers answer HEAD wrongly (405, 501, 403, 404 from a CDN).
    if !matches!(answer, Ok(200..=299)) {
        answer = status(agent.get(&url).call());
    }
    match answer {
        Ok(200..=299) => Verdict::Good,
        Ok(code @ (404 | 410)) => {
            Verdict::Broken(format!("the server answers {code} ({})", reason(code)))
        }
        Ok(code) => Verdict::Unsure(format!("the server answers {code} ({})", reason(code))),
        Err(ureq::Error::HostNotFound) => {
            Verdict::Broken(format!("the host `{}` does not exist", host(&url)))
        }
        Err(ureq::Error::Timeout(_)) => {
            Verdict::Unsure(format!("no answer within {} s", TIMEOUT.as_secs()))
        }
        Err(ureq::Error::TooManyRedirects) => Verdict::Broken("it redirects in a loop".to_string()),
        Err(e) => Verdict::Unsure(e.to_string()),
    }
}

fn reason(code: u16) -> &'static str {
    ureq::http::StatusCode::from_u16(code)
        .ok()
        .and_then(|c| c.canonical_reason())
        .unwrap_or("unknown status")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn link(url: &str, line: usize) -> ExternalLink {
        ExternalLink {
            url: url.to_string(),
            file: ContentPath::from_relative("content/a.md"),
            line,
        }
    }

    #[test]
    fn each_address_is_asked_once_and_good_ones_are_cached() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache_path(dir.path());
        let asked = AtomicUsize::new(0);
        let ask = |url: &str| {
            asked.fetch_add(1, Ordering::SeqCst);
            if url.ends_with("/gone") {
                Verdict::Broken("the server answers 404 (Not Found)".to_string())
            } else {
                Verdict::Good
            }
        };
        let links = [
            link("https://a.gov.cn/", 3),
            link("https://a.gov.cn/gone", 5),
            link("https://a.gov.cn/", 9),
            link("https://b.gov.cn/", 2),
        ];
        let found = check_links(&links, &cache, 1_000_000, &ask);
        assert_eq!(asked.load(Ordering::SeqCst), 3, "each address once");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, Some(5));
        assert!(
            found[0]
                .message
                .contains("`https://a.gov.cn/gone`: the server answers 404")
        );
        // A day later only the broken address is asked again; after the
        // cache expires, all of them are.
        check_links(&links, &cache, 1_000_000 + 86_400, &ask);
        assert_eq!(asked.load(Ordering::SeqCst), 4);
        check_links(&links, &cache, 1_000_000 + 8 * 86_400, &ask);
        assert_eq!(asked.load(Ordering::SeqCst), 7);
        assert!(dir.path().join(".gazette/.gitignore").is_file());
    }

    #[test]
    fn hosts_are_grouped() {
        assert_eq!(host("https://www.gov.cn/zhengce/?a=1"), "www.gov.cn");
        assert_eq!(host("//example.gov.cn#x"), "example.gov.cn");
    }
}
