//! Gazette's integration tests: one binary, driven by [`TestSite`], a small
//! builder of site folders in a temporary directory, which runs the real
//! `gazette` binary on them.
//!
//! Browser and validator tests (headless Chromium, the W3C Nu checker) run
//! when their tools are installed, and must run when `CI=true`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_gazette");

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A site folder to build.
struct TestSite {
    dir: tempfile::TempDir,
}

/// What one `gazette` run did.
struct Run {
    code: i32,
    stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    #[track_caller]
    fn assert_ok(&self) -> &Run {
        assert_eq!(self.code, 0, "gazette failed:\n{}", self.stderr);
        self
    }
}

const SITE_YAML: &str = "name: 测试门户\nbase_url: https://example.gov.cn/\n";

fn report(title: &str, date: &str, body: &str) -> String {
    format!("---\ntitle: {title}\ndate_published: {date}\n---\n\n{body}\n")
}

impl TestSite {
    /// A site with `site.yaml` and one report.
    fn new() -> TestSite {
        let site = TestSite::empty();
        site.write("site.yaml", SITE_YAML);
        site.write("content/news/_index.md", "---\ntitle: 新闻\n---\n");
        site.write(
            "content/news/first.md",
            &report("第一篇", "2022-12-24", "正文。"),
        );
        site
    }

    fn empty() -> TestSite {
        TestSite {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn out(&self) -> PathBuf {
        self.root().join("public")
    }

    fn write(&self, path: &str, text: &str) {
        self.write_bytes(path, text.as_bytes());
    }

    fn write_bytes(&self, path: &str, bytes: &[u8]) {
        let path = self.root().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn build(&self, args: &[&str]) -> Run {
        let output = Command::new(BIN)
            .arg("build")
            .arg("--root")
            .arg(self.root())
            .args(args)
            .output()
            .expect("run gazette");
        Run::from(output)
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.out().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }
}

/// Every file below `dir`, by relative path, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walk(dir)
        .into_iter()
        .map(|p| {
            let relative = p
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (relative, std::fs::read(&p).unwrap())
        })
        .collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Every `href="…"` and `src="…"` value in `html`.
fn links(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attr) {
            rest = &rest[start + attr.len()..];
            let end = rest.find('"').unwrap();
            found.push(rest[..end].replace("&amp;", "&"));
            rest = &rest[end..];
        }
    }
    found
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn html_files(dir: &Path) -> Vec<PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect()
}

fn is_external(link: &str) -> bool {
    link.starts_with("https://")
        || link.starts_with("http://")
        || link.starts_with("mailto:")
        || link.starts_with('#')
}

/// The demo portal, built into a fresh folder.
fn build_demo(args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    build_example("site-content", args)
}

/// The English demo (the agency theme), built into a fresh folder.
fn build_agency_demo(args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    build_example("site-content/agency", args)
}

/// A site of the repository, built into a fresh folder (leaving no build
/// cache in the repository).
fn build_example(root: &str, args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let out_parent = tempfile::tempdir().unwrap();
    let out = out_parent.path().join("public");
    let run = Run::from(
        Command::new(BIN)
            .arg("build")
            .arg("--root")
            .arg(manifest_dir().join(root))
            .arg("--out")
            .arg(&out)
            .arg("--no-cache")
            .args(args)
            .output()
            .unwrap(),
    );
    run.assert_ok();
    (out_parent, out)
}

const SEED_PAGE: &str = "xxgk/fdzdgknr/fzzfjs/2022-fazhi-zhengfu-jianshe-baogao/index.html";

/// The seed report's text in the demo portal, front matter left out.
fn seed_body() -> String {
    let source = std::fs::read_to_string(
        manifest_dir()
            .join("site-content/content/xxgk/fdzdgknr/fzzfjs/2022-fazhi-zhengfu-jianshe-baogao.md"),
    )
    .unwrap();
    let (_, body) = source.split_once("\n---\n").unwrap();
    body.to_string()
}

#[test]
fn seed_report_page_shows_the_whole_report() {
    let (_keep, out) = build_demo(&[]);
    let html = std::fs::read_to_string(out.join(SEED_PAGE)).unwrap();
    assert!(html.contains("<h1 class=\"report-title\">遂溪县人民政府遂城街道办事处关于2022年度法治政府建设情况的报告</h1>"));
    // The meta line.
    assert!(
        html.contains("发布时间：<time datetime=\"2022-12-24\">2022-12-24</time>"),
        "meta line"
    );
    assert!(html.contains("来源：本网"));
    assert!(html.contains("data-font-size=\"large\""), "字号 buttons");
    assert!(html.contains("打印本页"));
    // Every heading 一、 to 三、, as headings.
    for heading in [
        "一、主要措施及成效",
        "二、存在问题和不足",
        "三、下一步工作计划",
    ] {
        assert!(html.contains(&format!(">{heading}</h2>")), "{heading}");
    }
    // Every (一)… paragraph of the seed, in order, in its own paragraph.
    let seed = std::fs::read_to_string(
        manifest_dir().join("../shared/seed/suicheng-2022-rule-of-law-report.txt"),
    )
    .unwrap_or_else(|_| seed_body());
    let numbered: Vec<&str> = seed
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('('))
        .collect();
    assert_eq!(
        numbered.len(),
        17,
        "the seed has 11 + 6 numbered paragraphs"
    );
    let mut position = 0;
    for paragraph in numbered {
        let found = html[position..]
            .find(&format!("<p>{}</p>", paragraph.trim_end()))
            .unwrap_or_else(|| panic!("paragraph missing or out of order: {paragraph}"));
        position += found;
    }
    // The signature block: 署名 then the date written, after the body.
    let sig = html
        .find("<div class=\"signature\">")
        .expect("signature block");
    let name = html
        .find("<p class=\"signature-name\">遂溪县人民政府遂城街道办事处</p>")
        .expect("署名");
    let date = html
        .find("<time datetime=\"2022-12-08\">2022年12月8日</time></p>")
        .expect("成文日期");
    assert!(position < sig && sig < name && name < date);
    // Right-aligned by the theme.
    let css = std::fs::read_to_string(out.join("static/gazette.css")).unwrap();
    assert!(
        css.contains(".signature { display: flex; justify-content: flex-end; padding-right: 2em;")
    );
}

#[test]
fn demo_portal_relative_links_all_resolve_on_disk() {
    for (_keep, out) in [build_demo(&[]), build_agency_demo(&[])] {
        assert_links_resolve_on_disk(&out);
    }
}

fn assert_links_resolve_on_disk(out: &Path) {
    let mut checked = 0;
    for page in html_files(out) {
        if page.ends_with("404.html") {
            continue; // site paths by design: it is served at any URL
        }
        let html = std::fs::read_to_string(&page).unwrap();
        for link in links(&html) {
            if is_external(&link) {
                continue;
            }
            assert!(
                !link.starts_with('/'),
                "{}: absolute link {link} in a relative build",
                page.display()
            );
            let path = percent_decode(link.split('#').next().unwrap());
            let target = page.parent().unwrap().join(&path);
            assert!(
                target.is_file(),
                "{}: link {link} points to a missing file",
                page.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} links checked");
}

#[test]
fn sub_path_base_url_keeps_every_link_under_the_sub_path() {
    let site = TestSite::new();
    site.write(
        "site.yaml",
        "name: 测试门户\nbase_url: https://example.gov.cn/portal/\n",
    );
    site.write(
        "content/政务公开/关于2022年 工作的报告.md",
        &report("报告", "2022-12-24 09:30", "## 一、标题\n\n正文。"),
    );
    site.build(&[]).assert_ok();
    let mut checked = 0;
    for page in html_files(&site.out()) {
        let html = std::fs::read_to_string(&page).unwrap();
        for link in links(&html) {
            if link.starts_with('#') || link.starts_with("mailto:") {
                continue;
            }
            if let Some(rest) = link.strip_prefix("https://example.gov.cn") {
                assert!(rest.starts_with("/portal/"), "{}: {link}", page.display());
            } else if is_external(&link) {
                continue;
            } else {
                assert!(
                    link.starts_with("/portal/"),
                    "{}: {link} escapes the sub-path",
                    page.display()
                );
                // And it names a file of the output.
                let path = percent_decode(
                    link.trim_start_matches("/portal/")
                        .split('#')
                        .next()
                        .unwrap(),
                );
                let target = site.out().join(&path);
                assert!(
                    target.is_file() || target.join("index.html").is_file(),
                    "{}: {link} is broken",
                    page.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20);
    let section = site.read("政务公开/index.html");
    assert!(
        section.contains("href=\"/portal/%E6%94%BF%E5%8A%A1%E5%85%AC%E5%BC%80/%E5%85%B3%E4%BA%8E2022%E5%B9%B4-%E5%B7%A5%E4%BD%9C%E7%9A%84%E6%8A%A5%E5%91%8A/\""),
        "the Chinese file name is percent-encoded in links"
    );
    assert!(
        site.out()
            .join("政务公开/关于2022年-工作的报告/index.html")
            .is_file()
    );
}

#[test]
fn builds_are_byte_identical_whatever_the_thread_count() {
    let (_a, first) = build_demo(&[]);
    let (_b, second) = build_demo(&[]);
    let (_c, single) = build_demo(&["--jobs", "1"]);
    let first = tree(&first);
    assert!(first.len() > 10);
    assert_eq!(first, tree(&second), "two builds differ");
    assert_eq!(first, tree(&single), "--jobs 1 differs from the default");
}

/// A generated site of seed-shaped reports (numbered headings, a table,
/// Chinese text with English words) in 20 sections.
fn large_site(reports: usize) -> TestSite {
    const PHRASES: [&str; 6] = [
        "扫黑除恶专项斗争",
        "法治政府建设",
        "信访件办理",
        "重大行政决策",
        "综合行政执法",
        "政务公开",
    ];
    let site = TestSite::empty();
    site.write("site.yaml", SITE_YAML);
    for s in 0..20 {
        site.write(
            &format!("content/s{s:02}/_index.md"),
            &format!("---\ntitle: 栏目{s}\n---\n"),
        );
    }
    for i in 0..reports {
        let mut body = String::new();
        for (h, number) in ["一", "二", "三"].iter().enumerate() {
            body += &format!("## {number}、第{}部分工作情况\n\n", h + 1);
            for p in 0..3 {
                body += &format!(
                    "第{i}号报告{}，{}。report {} data {}。\n\n",
                    PHRASES[(i + h + p) % 6],
                    PHRASES[(i * 7 + p) % 6],
                    i % 97,
                    h * p
                );
            }
        }
        body += "| 项目 | 数量 |\n|---|---|\n| 收到申请 | 12 |\n";
        // Two reports in three are catalogue items, of several topics,
        // types and validities (the catalogue's pages and the search
        // index's filters); one in fifty has an attachment.
        let mut disclosure = String::new();
        if i % 3 != 0 {
            const TYPES: [&str; 4] = ["report", "notice", "normative_doc", "plan"];
            const VALIDITY: [&str; 3] = ["effective", "repealed", "expired"];
            disclosure += &format!(
                "index_no: 4400-{i:05}\nsummary: 第{i}号报告的概述。\ntopics: [{}]\ndoc_type: {}\ndoc_no: 示县办〔2022〕{i}号\n",
                PHRASES[i % 6],
                TYPES[i % 4]
            );
            if TYPES[i % 4] == "normative_doc" {
                disclosure += &format!("validity: {}\n", VALIDITY[i % 3]);
            }
        }
        if i % 50 == 0 {
            let file = format!("r{i:04}-附件.csv");
            site.write(
                &format!("content/s{:02}/{file}", i % 20),
                &format!("项目,数量\n收到申请,{i}\n"),
            );
            disclosure += &format!("attachments:\n  - title: 第{i}号报告附件\n    file: {file}\n");
        }
        site.write(
            &format!("content/s{:02}/r{i:04}.md", i % 20),
            &format!(
                "---\ntitle: 第{i}号报告\ndate_published: {}-{:02}-{:02}\nissuer: 示例县第{}办公室\n{disclosure}---\n\n{body}",
                2020 + i % 3,
                1 + i % 12,
                1 + i % 28,
                i % 7
            ),
        );
    }
    site
}

/// The files of a site generated in memory, by path.
fn generated_files(generated: gazette::build::Generated) -> BTreeMap<String, Vec<u8>> {
    generated
        .output
        .files
        .into_iter()
        .map(|f| {
            let bytes = match f.contents {
                gazette::render::Contents::Bytes(b) => b,
                gazette::render::Contents::Shared(b) => b.to_vec(),
                gazette::render::Contents::SharedText(t) => t.as_bytes().to_vec(),
                gazette::render::Contents::CopyOf(p) => std::fs::read(p).unwrap(),
                gazette::render::Contents::Kept(_) => panic!("{}: kept on disk in memory", f.path),
            };
            (f.path, bytes)
        })
        .collect()
}

/// On a site of 2,000 reports, `gazette build` stows the bodies on disk
/// and spills the search index; with one thread or the default, spilling
/// often or never, built in memory as `gazette serve` does, or rebuilt
/// incrementally after an edit (by serve's cache in memory, or by the
/// build cache on disk), the output is the same, byte for byte.
#[test]
fn large_builds_are_byte_identical_spilled_or_in_memory_whatever_the_thread_count() {
    use gazette::build::{
        BuildCache, BuildOptions, CacheUse, Quiet, build, generate, generate_cached,
    };
    let site = large_site(2000);
    let root = site.root().to_path_buf();
    let options = |out: &str, budget: Option<usize>| BuildOptions {
        root: root.clone(),
        out: Some(root.join(out)),
        search_spill_budget: budget,
        ..Default::default()
    };
    let on_disk = |out: &str| -> BTreeMap<String, Vec<u8>> {
        let mut files = tree(&root.join(out));
        files.remove(".gazette-output");
        files
    };
    // A budget of 256 KB spills the postings many times over.
    build(&options("spilled", Some(256 << 10))).unwrap_or_else(|e| panic!("{e}"));
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    one_thread
        .install(|| build(&options("one-thread", None)))
        .unwrap_or_else(|e| panic!("{e}"));
    let spilled = on_disk("spilled");
    assert!(spilled.len() > 6_000, "{} files", spilled.len());
    assert!(
        spilled
            .keys()
            .filter(|k| k.starts_with("search/t-"))
            .count()
            > 20
    );
    // The catalogue's pages by topic and the attachments are there.
    assert!(spilled.keys().any(|k| k.starts_with("catalogue/topic/")));
    assert_eq!(
        spilled.keys().filter(|k| k.ends_with("-附件.csv")).count(),
        40
    );
    assert!(
        spilled == on_disk("one-thread"),
        "a spilled build differs from a one-thread one"
    );
    let in_memory =
        generated_files(generate(&options("unused", None)).unwrap_or_else(|e| panic!("{e}")));
    assert!(
        spilled == in_memory,
        "a build on disk differs from one in memory"
    );

    // An edited report: the incremental rebuild equals a full one.
    let mut cache = BuildCache::default();
    generate_cached(&options("unused", None), &Quiet, Some(&mut cache))
        .unwrap_or_else(|e| panic!("{e}"));
    let cached = BuildOptions {
        cache: true,
        ..options("cached", Some(256 << 10))
    };
    build(&cached).unwrap_or_else(|e| panic!("{e}"));
    site.write(
        "content/s03/r0003.md",
        "---\ntitle: 第3号报告（修订）\ndate_published: 2021-04-04\n---\n\n## 一、修订\n\n扫黑除恶专项斗争的新正文。\n",
    );
    let incremental = generated_files(
        generate_cached(&options("unused", None), &Quiet, Some(&mut cache))
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(cache.read_last(), 1);
    let rebuilt = build(&cached).unwrap_or_else(|e| panic!("{e}"));
    // (The edit moves the report's date from 2023 to 2021, which reorders
    // the reports, so the whole index is made again; the random-edit test
    // counts the edits that re-index one report.)
    assert!(
        matches!(rebuilt.cache, CacheUse::Reused { read: 1, .. }),
        "{}",
        rebuilt.cache
    );
    build(&options("spilled", Some(256 << 10))).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        incremental == on_disk("spilled"),
        "an incremental rebuild differs from a full build"
    );
    assert!(
        on_disk("cached") == on_disk("spilled"),
        "a rebuild with the build cache differs from a full build"
    );
}

#[test]
fn rebuilding_rewrites_only_what_changed() {
    let site = TestSite::new();
    site.write(
        "content/news/second.md",
        &report("第二篇", "2022-12-25", "正文二。"),
    );
    site.build(&[]).assert_ok();
    let static_css = site.out().join("static/gazette.css");
    let css_before = std::fs::metadata(&static_css).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    site.write(
        "content/news/second.md",
        &report("第二篇（修订）", "2022-12-25", "正文二。"),
    );
    let run = site.build(&[]);
    run.assert_ok();
    // first/ links to second/ as 下一篇, so it changes too; the 404 page and assets do not.
    assert!(run.stderr.contains("unchanged"), "{}", run.stderr);
    let css_after = std::fs::metadata(&static_css).unwrap().modified().unwrap();
    assert_eq!(css_after, css_before, "the stylesheet was rewritten");
    site.write(
        "content/news/second.md",
        &report("第二篇（修订）", "2022-12-25", "正文二。"),
    );
    std::fs::remove_file(site.root().join("content/news/second.md")).unwrap();
    site.build(&[]).assert_ok();
    assert!(
        !site.out().join("news/second/index.html").exists(),
        "stale page removed"
    );
}

/// Builds a good site, breaks it, and checks the failed build's message,
/// exit code and that the previous output was left untouched.
#[track_caller]
fn assert_bad_input(break_it: impl FnOnce(&TestSite), expected: &[&str]) -> String {
    let site = TestSite::new();
    site.build(&[]).assert_ok();
    let before = tree(&site.out());
    break_it(&site);
    let run = site.build(&[]);
    assert_eq!(
        run.code, 1,
        "expected exit code 1, got {}:\n{}",
        run.code, run.stderr
    );
    for text in expected {
        assert!(
            run.stderr.contains(text),
            "expected `{text}` in:\n{}",
            run.stderr
        );
    }
    assert!(
        run.stderr
            .contains("the previous output was left as it was"),
        "{}",
        run.stderr
    );
    assert_eq!(before, tree(&site.out()), "the previous output changed");
    run.stderr
}

#[test]
fn malformed_yaml_is_reported_with_its_line() {
    assert_bad_input(
        |s| {
            s.write(
                "content/news/bad.md",
                "---\ntitle: 坏\ndate_published: 2022-12-24\nkeywords: [a, b\n---\n正文\n",
            )
        },
        &["error: content/news/bad.md:", "check the YAML syntax"],
    );
}

#[test]
fn missing_title_is_reported() {
    assert_bad_input(
        |s| {
            s.write(
                "content/news/bad.md",
                "---\ndate_published: 2022-12-24\n---\n正文\n",
            )
        },
        &[
            "error: content/news/bad.md:1: the report has no title",
            "add `title:`",
        ],
    );
}

#[test]
fn missing_publication_date_is_reported() {
    assert_bad_input(
        |s| s.write("content/news/bad.md", "---\ntitle: 无日期\n---\n正文\n"),
        &[
            "error: content/news/bad.md:1: the report has no publication date",
            "never takes it from the build time",
        ],
    );
}

#[test]
fn unparseable_publication_date_is_reported() {
    assert_bad_input(
        |s| {
            s.write(
                "content/news/bad.md",
                "---\ntitle: 坏日期\ndate_published: 2022年12月24日\n---\n正文\n",
            )
        },
        &[
            "error: content/news/bad.md:3: date_published: `2022年12月24日` is not a date",
            "2022-12-24",
        ],
    );
}

#[test]
fn duplicate_key_is_reported_with_both_lines() {
    assert_bad_input(
        |s| {
            s.write(
                "content/news/bad.md",
                "---\ntitle: 一\ndate_published: 2022-12-24\ntitle: 二\n---\n正文\n",
            )
        },
        &[
            "error: content/news/bad.md:4: duplicate key `title`",
            "also set on line 2",
        ],
    );
}

#[test]
fn gbk_file_is_named_with_the_fix() {
    let (gbk, _, _) = encoding_rs::GBK.encode("---\ntitle: 遂溪县人民政府遂城街道办事处关于法治政府建设情况的报告\ndate_published: 2022-12-24\n---\n正文内容\n");
    assert_bad_input(
        |s| s.write_bytes("content/news/gbk.md", &gbk),
        &[
            "error: content/news/gbk.md:2: the file is not UTF-8; it looks like GBK",
            "iconv -f GB18030 -t UTF-8 gbk.md",
        ],
    );
}

#[test]
fn two_files_claiming_one_url_are_both_named() {
    assert_bad_input(
        |s| {
            s.write(
                "content/news/other.md",
                "---\ntitle: 另一篇\nslug: first\ndate_published: 2022-12-24\n---\n正文\n",
            )
        },
        &[
            "`content/news/other.md` and `content/news/first.md` both produce `news/first/index.html`",
        ],
    );
}

#[test]
fn unknown_site_yaml_key_gets_a_hint() {
    assert_bad_input(
        |s| s.write("site.yaml", &format!("{SITE_YAML}icp_number: 粤ICP备1号\n")),
        &[
            "error: site.yaml:3: unknown key `icp_number`",
            "did you mean `icp_no`?",
        ],
    );
}

#[test]
fn every_bad_file_is_reported_sorted_by_path() {
    let stderr = assert_bad_input(
        |s| {
            s.write("content/z.md", "---\ntitle: z\n---\n");
            s.write("content/a.md", "---\ndate_published: 2022-12-24\n---\n");
            s.write("content/m/m.md", "no front matter\n");
        },
        &["build failed with 3 errors"],
    );
    let a = stderr.find("content/a.md:").unwrap();
    let m = stderr.find("content/m/m.md:").unwrap();
    let z = stderr.find("content/z.md:").unwrap();
    assert!(a < m && m < z, "not sorted:\n{stderr}");
}

#[test]
fn a_broken_link_names_its_file_and_line() {
    assert_bad_input(
        |s| {
            s.write(
                "content/news/links.md",
                &report(
                    "链接",
                    "2022-12-24",
                    "第一段。\n\n见[旧通知](../old/notice.md)。",
                ),
            )
        },
        &[
            "error: content/news/links.md:8: broken link: `../old/notice.md` is not a file of content/",
        ],
    );
}

#[test]
fn links_between_reports_follow_the_build() {
    let site = TestSite::new();
    site.write(
        "content/news/first.md",
        &report("第一篇", "2022-12-24", "## 1\n\n正文。"),
    );
    site.write(
        "content/notices/n.md",
        &report(
            "通知",
            "2022-12-25",
            "见[第一篇](../news/first.md#h-1)和[新闻](/news/)。\n\n![图](chart.png)",
        ),
    );
    site.write_bytes("content/notices/chart.png", b"\x89PNG");
    site.build(&["--base-url", "https://example.gov.cn/portal/"])
        .assert_ok();
    let page = site.read("notices/n/index.html");
    assert!(page.contains("href=\"/portal/news/first/#h-1\""), "{page}");
    assert!(page.contains("href=\"/portal/news/\""), "{page}");
    assert!(page.contains("src=\"/portal/notices/chart.png\""), "{page}");
    site.build(&["--relative"]).assert_ok();
    let page = site.read("notices/n/index.html");
    assert!(
        page.contains("href=\"../../news/first/index.html#h-1\""),
        "{page}"
    );
    assert!(page.contains("src=\"../chart.png\""), "{page}");
}

#[test]
fn a_broken_site_yaml_does_not_hide_content_errors() {
    assert_bad_input(
        |s| {
            s.write("site.yaml", &format!("{SITE_YAML}timezone: Beijing\n"));
            s.write("content/news/bad.md", "---\ntitle: 无日期\n---\n");
        },
        &[
            "error: content/news/bad.md:1:",
            "error: site.yaml:3: timezone:",
            "build failed with 2 errors",
        ],
    );
}

#[test]
fn a_link_to_a_missing_heading_is_broken() {
    assert_bad_input(
        |s| {
            s.write(
                "content/news/links.md",
                &report("链接", "2022-12-24", "见[第一篇](first.md#第二部分)。"),
            )
        },
        &[
            "error: content/news/links.md:6: broken link: `first.md#第二部分` has no heading `第二部分`",
        ],
    );
}

#[test]
fn template_syntax_from_other_generators_is_reported() {
    let site = TestSite::new();
    site.write(
        "content/news/hugo.md",
        &report(
            "迁移",
            "2022-12-24",
            "{{< figure src=\"a.png\" >}}\n\n{% include x.html %}",
        ),
    );
    let run = site.build(&[]);
    run.assert_ok();
    assert!(
        run.stderr
            .contains("warning: content/news/hugo.md:6: a Hugo shortcode is shown as text"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("warning: content/news/hugo.md:8: a Liquid/Jinja tag is shown as text"),
        "{}",
        run.stderr
    );
}

/// A web server on loopback for `check --external`: answers by path and
/// counts the requests of each.
fn link_target_server() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut first = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            // Read the headers to their end.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let mut parts = first.split_whitespace();
            let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            log.lock().unwrap().push(format!("{method} {path}"));
            let (status, extra) = match (method, path) {
                (_, "/ok") => ("200 OK", String::new()),
                (_, "/moved") => ("301 Moved Permanently", "Location: /ok\r\n".to_string()),
                ("HEAD", "/no-head") => ("405 Method Not Allowed", String::new()),
                (_, "/no-head") => ("200 OK", String::new()),
                (_, "/down") => ("503 Service Unavailable", String::new()),
                _ => ("404 Not Found", String::new()),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n{extra}\r\n"
            );
        }
    });
    (port, requests)
}

/// `gazette check --external` visits each address once, reports broken
/// links as errors and unreachable ones as warnings at their file and
/// line, and asks again on the next run only about what was not good.
#[test]
fn check_external_finds_broken_web_links_and_caches_good_ones() {
    let (port, requests) = link_target_server();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let site = TestSite::new();
    let base = format!("http://127.0.0.1:{port}");
    site.write(
        "content/news/links.md",
        &format!(
            "---\ntitle: 外部链接\ndate_published: 2022-12-24\nrelated:\n  - {{ text: 国务院, href: \"{base}/gone-related\" }}\n---\n\n\
             [好的]({base}/ok)\n\n[搬走了]({base}/moved)\n\n[不答 HEAD]({base}/no-head)\n\n\
             [没有了]({base}/gone)\n\n[宕机]({base}/down)\n\n[关着的端口](http://127.0.0.1:{closed}/)\n\n[好的，又一次]({base}/ok)\n"
        ),
    );
    let check = |site: &TestSite| {
        let output = Command::new(BIN)
            .args(["check", "--external", "--root"])
            .arg(site.root())
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let (code, out) = check(&site);
    assert_eq!(code, Some(1), "{out}");
    let file = "content/news/links.md";
    let expected = [
        format!(
            "error: {file}:5: broken external link `{base}/gone-related`: the server answers 404 (Not Found)"
        ),
        format!(
            "error: {file}:14: broken external link `{base}/gone`: the server answers 404 (Not Found)"
        ),
        format!(
            "warning: {file}:16: external link `{base}/down` could not be checked: the server answers 503 (Service Unavailable)"
        ),
    ];
    for line in &expected {
        assert!(out.lines().any(|l| l == line), "missing {line} in\n{out}");
    }
    assert!(
        out.contains(&format!(
            "warning: {file}:18: external link `http://127.0.0.1:{closed}/` could not be checked"
        )),
        "{out}"
    );
    for good in ["/ok`", "/moved`", "/no-head`"] {
        assert!(!out.contains(good), "{good} reported:\n{out}");
    }
    assert!(out.ends_with("2 errors, 2 warnings\n"), "{out}");
    let first: Vec<String> = requests.lock().unwrap().clone();
    assert_eq!(
        first.iter().filter(|r| r.ends_with(" /ok")).count(),
        2,
        "one HEAD for /ok, one after /moved: {first:?}"
    );
    assert!(
        first.contains(&"GET /no-head".to_string()),
        "HEAD refused, so GET: {first:?}"
    );
    // The second run asks only about the addresses that were not good.
    let (code, _) = check(&site);
    assert_eq!(code, Some(1));
    let second: Vec<String> = requests.lock().unwrap()[first.len()..].to_vec();
    let mut asked: Vec<&str> = second
        .iter()
        .map(|r| r.split(' ').nth(1).unwrap())
        .collect();
    asked.sort();
    asked.dedup();
    assert_eq!(asked, ["/down", "/gone", "/gone-related"], "{second:?}");
    assert!(site.root().join(".gazette/.gitignore").is_file());
    assert!(!site.out().exists(), "check writes no output");
}

/// tests/fixtures/broken-links: eleven broken links of different kinds —
/// report file, heading of another report, site path, image, file up a
/// folder, heading of the same page, reference-style link, section text,
/// superseded_by, related, attachment — each found at its line, and none
/// of the good links beside them.
#[test]
fn check_finds_every_kind_of_broken_link() {
    let output = Command::new(BIN)
        .args(["check", "--format", "json", "--root"])
        .arg(manifest_dir().join("tests/fixtures/broken-links"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let found: Vec<String> = list
        .iter()
        .map(|d| {
            format!(
                "{} {}:{} {}",
                d["severity"].as_str().unwrap(),
                d["file"].as_str().unwrap(),
                d["line"],
                d["message"].as_str().unwrap()
            )
        })
        .collect();
    let links = "content/news/links.md";
    let expected = [
        "error content/news/_index.md:5 broken link: `../nosuch/` is not a file of content/"
            .to_string(),
        format!("error {links}:4 broken link: `replaced.md` is not a file of content/"),
        format!("error {links}:6 broken link: `../news/gone-related.md` is not a file of content/"),
        format!("error {links}:8 attachment `统计表.xlsx` does not exist"),
        format!("error {links}:13 broken link: `gone.md` is not a file of content/"),
        format!(
            "error {links}:15 broken link: `target.md#不存在的标题` has no heading `不存在的标题`"
        ),
        format!("error {links}:17 broken link: `/xxgk/nowhere/` is not a page of this site"),
        format!("error {links}:19 broken link: `chart.png` is not a file of content/"),
        format!("error {links}:21 broken link: `../about/missing.md` is not a file of content/"),
        format!(
            "error {links}:23 broken link: `#没有这个标题` is not a heading or anchor of this report"
        ),
        format!("error {links}:25 broken link: `gone-by-reference.md` is not a file of content/"),
    ];
    assert_eq!(found, expected);
}

#[test]
fn check_reports_every_problem_without_writing() {
    let site = TestSite::new();
    site.write(
        "content/news/links.md",
        &report(
            "链接",
            "2022-12-24",
            "[甲](gone.md) [乙](first.md#无) [丙](/nowhere/) ![丁](missing.png)",
        ),
    );
    site.write(
        "content/news/hugo.md",
        &report("迁移", "2022-12-24", "{{< x >}}"),
    );
    let output = Command::new(BIN)
        .args(["check", "--format", "json", "--root"])
        .arg(site.root())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let errors: Vec<&serde_json::Value> =
        list.iter().filter(|d| d["severity"] == "error").collect();
    assert_eq!(errors.len(), 4, "{list:#?}");
    assert!(
        errors
            .iter()
            .all(|d| d["file"] == "content/news/links.md" && d["line"] == 6)
    );
    assert!(
        list.iter()
            .any(|d| d["severity"] == "warning" && d["file"] == "content/news/hugo.md")
    );
    assert!(!site.out().exists(), "check writes nothing");
    // The demo portal has no broken link.
    let demo = Command::new(BIN)
        .args(["check", "--root"])
        .arg(manifest_dir().join("site-content"))
        .output()
        .unwrap();
    assert_eq!(
        demo.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&demo.stdout)
    );
    assert!(String::from_utf8_lossy(&demo.stdout).contains("0 errors"));
}

#[test]
fn inaccessible_text_is_warned_about_with_its_line() {
    let site = TestSite::new();
    site.write(
        "content/news/a11y.md",
        &report(
            "无障碍",
            "2022-12-24",
            "#### 跳级标题\n\n![](chart.png)\n\n[点击这里](first.md)",
        ),
    );
    site.write_bytes("content/news/chart.png", b"\x89PNG");
    let run = site.build(&[]);
    run.assert_ok();
    for expected in [
        "warning: content/news/a11y.md:6: a heading of level 4 follows one of level 1",
        "warning: content/news/a11y.md:8: an image has no text alternative",
        "warning: content/news/a11y.md:10: the link text “点击这里” does not say where it leads",
    ] {
        assert!(run.stderr.contains(expected), "{expected}\n{}", run.stderr);
    }
}

#[test]
fn init_creates_a_portal_that_builds_at_once() {
    for lang in ["zh-CN", "en"] {
        let dir = tempfile::tempdir().unwrap();
        let run = Run::from(
            Command::new(BIN)
                .arg("init")
                .arg(dir.path())
                .args(["--lang", lang])
                .output()
                .unwrap(),
        );
        run.assert_ok();
        let output = Command::new(BIN)
            .args(["build", "--root"])
            .arg(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{lang}: {stderr}");
        assert!(!stderr.contains("warning"), "{lang}: {stderr}");
        // One sample of every document type, the annual report with its tables.
        let reports = walk(&dir.path().join("content"))
            .into_iter()
            .filter(|p| p.to_string_lossy().contains("sample-"))
            .count();
        assert_eq!(reports, 14, "{lang}");
        assert!(
            walk(&dir.path().join("public"))
                .iter()
                .any(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("stats-requests")))
        );
        // init refuses a folder that holds a site.
        assert_eq!(
            Command::new(BIN)
                .arg("init")
                .arg(dir.path())
                .output()
                .unwrap()
                .status
                .code(),
            Some(2)
        );
    }
}

#[test]
fn a_new_report_is_refused_until_its_placeholders_are_filled() {
    let site = TestSite::new();
    let run = Run::from(
        Command::new(BIN)
            .args(["new", "report", "news/2024-notice", "--root"])
            .arg(site.root())
            .output()
            .unwrap(),
    );
    run.assert_ok();
    let path = site.root().join("content/news/2024-notice.md");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("title: 【请填写标题"));
    let run = site.build(&[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("error: content/news/2024-notice.md:2: title is still a placeholder"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("issuer is still a placeholder"),
        "{}",
        run.stderr
    );
    let filled = text
        .replace(
            "【请填写标题：文件的正式全称】",
            "关于开展2024年防汛演练的通知",
        )
        .replace("【请填写发布机构全称】", "示例街道办事处")
        .replace("【请填写正文】", "正文。");
    std::fs::write(&path, filled).unwrap();
    site.build(&[]).assert_ok();
}

#[test]
fn hostile_and_huge_inputs_end_with_a_result_or_a_clear_error() {
    // A YAML alias bomb ("billion laughs").
    let mut bomb = String::from(
        "---\ntitle: 炸弹\ndate_published: 2022-12-24\nextra:\n  a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n",
    );
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
        .iter()
        .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
    {
        bomb.push_str(&format!("  {name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
    }
    bomb.push_str("---\n正文\n");
    let started = std::time::Instant::now();
    assert_bad_input(
        |s| s.write("content/news/bomb.md", &bomb),
        &["error: content/news/bomb.md"],
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the alias bomb took {:?}",
        started.elapsed()
    );

    let site = TestSite::new();
    // A file name of 255 bytes (84 Chinese characters and ".md").
    let long = "长".repeat(84);
    site.write(
        &format!("content/news/{long}.md"),
        &report("长文件名", "2022-12-24", "正文"),
    );
    // A table of 100,000 rows.
    let mut table = String::from("| 序号 | 金额 |\n|---|---:|\n");
    for i in 0..100_000 {
        table.push_str(&format!("| {i} | {} |\n", i * 7));
    }
    site.write(
        "content/news/table.md",
        &report("大表", "2022-12-24", &table),
    );
    // A symlink loop.
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        site.root().join("content/news"),
        site.root().join("content/news/loop"),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let run = site.build(&[]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    #[cfg(unix)]
    {
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stderr
                .contains("content/news/loop: this link points back to a folder that contains it"),
            "{}",
            run.stderr
        );
        std::fs::remove_file(site.root().join("content/news/loop")).unwrap();
    }
    site.build(&[]).assert_ok();
    assert!(site.out().join(format!("news/{long}/index.html")).is_file());
    assert!(
        site.read("news/table/index.html")
            .contains("<td>99999</td>")
    );
}

/// A 20 MB report and a tree of 10,000 sections build, in bounded time;
/// an unreadable file is an error naming it.
#[test]
fn a_huge_report_and_ten_thousand_sections_build() {
    let site = TestSite::new();
    let body = seed_body();
    let mut text = String::new();
    while text.len() < 20 << 20 {
        text.push_str(&body);
    }
    site.write(
        "content/news/big.md",
        &report("大文件", "2022-12-24", &text),
    );
    for i in 0..10_000 {
        site.write(
            &format!("content/s{}/c{}/_index.md", i / 100, i % 100),
            &format!("---\ntitle: 栏目{i}\n---\n"),
        );
    }
    let started = std::time::Instant::now();
    let run = site.build(&["-q"]);
    run.assert_ok();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(300),
        "{:?}",
        started.elapsed()
    );
    assert!(site.out().join("s99/c99/index.html").is_file());
    let page = site.read("news/big/index.html");
    assert!(page.len() > 20 << 20, "the whole text is on the page");
    assert!(page.contains("依法行政"));

    // A file the build cannot read (a link to nowhere: tests often run
    // as root, who reads files whatever their permissions).
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(
            site.root().join("gone/report.md"),
            site.root().join("content/news/broken.md"),
        )
        .unwrap();
        let run = site.build(&["-q"]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stderr.contains("content/news/broken.md: cannot read")
                && run.stderr.contains("gone/report.md, which does not exist"),
            "{}",
            run.stderr
        );
    }
}

/// Every command's help shows examples, and the bash completion script
/// completes commands and options.
#[test]
fn help_shows_examples_and_completions_complete() {
    for command in [
        "build",
        "init",
        "new",
        "check",
        "serve",
        "search-cost",
        "completions",
    ] {
        let out = Command::new(BIN).args(["help", command]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("Example"),
            "gazette help {command}:\n{text}"
        );
    }
    let script = Command::new(BIN)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(script.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gazette.bash");
    std::fs::write(&file, &script.stdout).unwrap();
    let Some(bash) = tools(&["bash"]) else { return };
    let complete = |words: &str| {
        let words: Vec<&str> = words.split(' ').collect();
        let shell = format!(
            "source {}; COMP_WORDS=({}); COMP_CWORD={}; _gazette gazette '{}' '{}'; echo \"${{COMPREPLY[@]}}\"",
            file.display(),
            words.join(" "),
            words.len() - 1,
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let out = Command::new(&bash[0])
            .args(["-c", &shell])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(complete("gazette bu"), "build");
    assert_eq!(complete("gazette build --verb"), "--verbose");
    assert_eq!(complete("gazette check --ext"), "--external");
}

#[test]
fn usage_errors_exit_with_2() {
    let run = Run::from(
        Command::new(BIN)
            .args(["build", "--no-such-flag"])
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = Run::from(
        Command::new(BIN)
            .args(["build", "--root", "/no/such/site"])
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    let site = TestSite::new();
    assert_eq!(site.build(&["--jobs", "0"]).code, 2);
    assert_eq!(site.build(&["--base-url", "example.gov.cn"]).code, 2);
}

#[test]
fn a_folder_gazette_did_not_write_is_never_replaced() {
    let site = TestSite::new();
    let precious = site.root().join("documents");
    std::fs::create_dir(&precious).unwrap();
    std::fs::write(precious.join("budget.xlsx"), "data").unwrap();
    let run = site.build(&["--out", precious.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("not written by gazette"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(precious.join("budget.xlsx")).unwrap(),
        "data"
    );
}

/// Kills builds with SIGKILL at moments spread over a whole build, each
/// time building the other of two versions of a site, and checks that the
/// output folder always holds one whole version, never a mix or nothing.
#[test]
fn a_killed_build_leaves_a_whole_site() {
    let site = TestSite::new();
    let body = seed_body();
    for i in 0..100 {
        site.write(
            &format!("content/news/report-{i:03}.md"),
            &report(
                &format!("第{i}号报告"),
                &format!("2023-01-{:02}", i % 28 + 1),
                &body,
            ),
        );
    }
    let version = |v: usize| {
        site.write(
            "site.yaml",
            &SITE_YAML.replace("测试门户", &format!("测试门户{v}")),
        )
    };
    let out = site.out();
    let out_arg = out.to_str().unwrap();
    let mut versions = Vec::new();
    for v in 0..2 {
        version(v);
        let other = site.root().join(format!("v{v}"));
        site.build(&["--out", other.to_str().unwrap(), "-q"])
            .assert_ok();
        versions.push(portal_files(&other));
        std::fs::remove_dir_all(&other).unwrap();
    }
    assert_ne!(versions[0], versions[1]);
    // How long a build like the killed ones takes: the other version into
    // the output folder, with the build cache as they find it (a first
    // build, which reads every file, is much slower).
    version(0);
    site.build(&["--out", out_arg, "-q"]).assert_ok();
    let mut build_time = std::time::Duration::MAX;
    for v in [1, 0] {
        version(v);
        let started = std::time::Instant::now();
        site.build(&["--out", out_arg, "-q"]).assert_ok();
        build_time = build_time.min(started.elapsed());
    }
    // The timing above may fall in a busy moment of a parallel test run and
    // the kills in a quiet one. A kill that comes after the swap shows the
    // build took less than the wait, so the later kills spread over that
    // shorter time instead.
    let mut current = 0;
    let (mut kept, mut replaced) = (0, 0);
    for i in 0..20 {
        let next = 1 - current;
        version(next);
        let mut child = Command::new(BIN)
            .args(["build", "-q", "--root"])
            .arg(site.root())
            .args(["--out", out_arg])
            .spawn()
            .expect("run gazette");
        let wait = build_time.mul_f64((i as f64 + 0.5) / 20.0 * 1.1);
        std::thread::sleep(wait);
        let _ = child.kill();
        child.wait().unwrap();
        let found = portal_files(&out);
        if found == versions[current] {
            kept += 1;
        } else {
            assert!(
                found == versions[next],
                "kill {i}: the output is neither the previous site nor the new one"
            );
            replaced += 1;
            current = next;
            build_time = build_time.min(wait);
        }
    }
    eprintln!("{kept} kills left the previous site, {replaced} came after the swap");
    assert!(
        kept >= 5,
        "most kills should land during the build (kept {kept})"
    );
    // The next build clears what the killed ones left behind.
    version(0);
    site.build(&["--out", out_arg, "-q"]).assert_ok();
    assert!(
        portal_files(&out) == versions[0],
        "a build after the kills writes the site"
    );
    let leftovers: Vec<_> = std::fs::read_dir(site.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".public"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn front_matter_variants_from_real_files_are_accepted() {
    let site = TestSite::new();
    site.write_bytes(
        "content/news/crlf.md",
        "\u{feff}\r\n\r\n---  \r\ntitle: CRLF 与 BOM\r\ndate_published: 2023-01-18 14:18:00 -0500\r\n--- \r\n正文\r\n".as_bytes(),
    );
    site.write("content/news/rfc.md", "---\ntitle: RFC 3339\ndate_published: 2022-12-24T09:30:00+08:00\ntags: 单个\nslug: 124062\n---\n正文\n");
    site.build(&[]).assert_ok();
    let page = site.read("news/crlf/index.html");
    assert!(
        page.contains("2023-01-18 14:18"),
        "time as the source gave it"
    );
    assert!(site.out().join("news/124062/index.html").is_file());
}

/// `tests/fixtures/odd-inputs/`: each `NAME.md` is built as
/// `content/news/NAME.md` beside one good report, and must give exactly
/// what `NAME.expect` says: the exit code, every error and warning line (no
/// more, no fewer; `help:` lines where listed) and text of the pages. No
/// input may end in a panic. All mismatches are reported together.
#[test]
fn odd_inputs_give_exactly_the_expected_outcome() {
    let dir = manifest_dir().join("tests/fixtures/odd-inputs");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .into_string()
                .ok()?
                .strip_suffix(".md")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 40, "{} fixtures", names.len());
    let mut failures = Vec::new();
    for name in &names {
        let expect = std::fs::read_to_string(dir.join(format!("{name}.expect")))
            .unwrap_or_else(|e| panic!("{name}.expect: {e}"));
        let site = TestSite::new();
        let mut site_yaml = SITE_YAML.to_string();
        let (mut exit, mut lines, mut pages) = (None, Vec::new(), Vec::new());
        for line in expect.lines().filter(|l| !l.starts_with('#')) {
            match line.split_once(": ") {
                Some(("site", yaml)) => site_yaml += &format!("{yaml}\n"),
                Some(("exit", code)) => exit = code.parse::<i32>().ok(),
                Some(("stderr", text)) => lines.push(text.to_string()),
                Some(("page", spec)) => {
                    pages.push(spec.split_once(" | ").expect("page: PATH | TEXT"))
                }
                _ => panic!("{name}.expect: cannot read `{line}`"),
            }
        }
        site.write("site.yaml", &site_yaml);
        site.write_bytes(
            &format!("content/news/{name}.md"),
            &std::fs::read(dir.join(format!("{name}.md"))).unwrap(),
        );
        let run = site.build(&[]);
        let mut wrong = Vec::new();
        if run.stderr.contains("panicked") || ![0, 1].contains(&run.code) {
            wrong.push(format!("ended with code {} (a panic?)", run.code));
        }
        if Some(run.code) != exit {
            wrong.push(format!("exit {} instead of {exit:?}", run.code));
        }
        let printed: Vec<&str> = run.stderr.lines().collect();
        for line in &lines {
            if !printed.contains(&line.as_str()) {
                wrong.push(format!("missing: {line}"));
            }
        }
        for line in printed
            .iter()
            .filter(|l| l.starts_with("error: ") || l.starts_with("warning: "))
        {
            if !lines.iter().any(|l| l == line) {
                wrong.push(format!("unexpected: {line}"));
            }
        }
        for (path, text) in pages {
            match std::fs::read_to_string(site.out().join(path)) {
                Ok(page) if page.contains(text) => {}
                Ok(_) => wrong.push(format!("{path} lacks `{text}`")),
                Err(e) => wrong.push(format!("{path}: {e}")),
            }
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{name}:\n  {}\n--- stderr:\n{}",
                wrong.join("\n  "),
                run.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

/// What a person at a terminal sees: the source line under a caret,
/// repeated warnings summarised (all of them with --verbose, which also
/// lists what was left out and why), colour only on a terminal and never
/// with NO_COLOR.
#[test]
fn terminal_output_shows_the_line_summarises_and_colours_only_a_terminal() {
    let site = TestSite::new();
    for i in 0..8 {
        site.write(
            &format!("content/empty{i}/_index.md"),
            &format!("---\ntitle: 空栏目{i}\n---\n"),
        );
    }
    site.write(
        "content/news/draft.md",
        "---\ntitle: 草稿\ndate_published: 2022-12-24\ndraft: true\n---\n正文\n",
    );
    site.write("content/news/.first.md.swp", "vim");
    site.write(
        "content/news/alt.md",
        &report("图片", "2022-12-24", "![](data:image/png;base64,AAAA)"),
    );
    let run = site.build(&[]);
    run.assert_ok();
    assert!(
        run.stderr.contains(
            "warning: content/news/alt.md:6: an image has no text alternative\n  |\n6 | ![](data:image/png;base64,AAAA)\n  | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.matches("has no reports (空白栏目)").count(),
        5,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("warning: … and 3 more like “publish reports in it"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("left out 2 files on purpose"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains('\x1b'), "no colour into a pipe");
    let verbose = site.build(&["--verbose"]);
    assert_eq!(
        verbose.stderr.matches("has no reports (空白栏目)").count(),
        8
    );
    assert!(
        verbose.stderr.contains(
            "skipped content/news/.first.md.swp: a hidden, backup or editor's temporary file"
        ),
        "{}",
        verbose.stderr
    );
    assert!(
        verbose.stderr.contains(
            "skipped content/news/draft.md: a draft (`draft: true`); `--drafts` builds it"
        ),
        "{}",
        verbose.stderr
    );

    // On a terminal (a pseudo-terminal made by util-linux `script`).
    let Some(script) = tools(&["script"]) else {
        return;
    };
    let on_terminal = |no_color: bool| {
        let command = format!("{BIN} build --root {}", site.root().display());
        let mut cmd = Command::new(&script[0]);
        cmd.args(["-qec", &command, "/dev/null"]);
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        String::from_utf8_lossy(&cmd.output().unwrap().stdout).into_owned()
    };
    let coloured = on_terminal(false);
    assert!(
        coloured.contains("\x1b[1;33mwarning\x1b[0m"),
        "{coloured:?}"
    );
    assert!(!on_terminal(true).contains('\x1b'));
}

#[test]
fn drafts_are_left_out_unless_asked_for() {
    let site = TestSite::new();
    site.write(
        "content/news/draft.md",
        "---\ntitle: 草稿\ndate_published: 2022-12-24\ndraft: true\n---\n正文\n",
    );
    site.build(&[]).assert_ok();
    assert!(!site.out().join("news/draft/index.html").exists());
    site.build(&["--drafts"]).assert_ok();
    assert!(site.out().join("news/draft/index.html").exists());
}

#[test]
fn raw_html_in_markdown_never_reaches_the_page() {
    let site = TestSite::new();
    site.write(
        "content/news/x.md",
        &report(
            "脚本",
            "2022-12-24",
            "<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>",
        ),
    );
    site.build(&[]).assert_ok();
    let page = site.read("news/x/index.html");
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(!page.contains("<img src=x"), "{page}");
}

#[test]
fn english_site_uses_english_strings() {
    let site = TestSite::new();
    site.write(
        "site.yaml",
        "name: Example Agency\nbase_url: https://agency.example.gov/\nlanguage: en\n",
    );
    site.write(
        "content/news/first.md",
        &report(
            "Annual transparency report",
            "2023-01-18 14:18:00 -0500",
            "## 1. Summary\n\nText.",
        ),
    );
    site.build(&[]).assert_ok();
    let page = site.read("news/first/index.html");
    assert!(page.contains("<html lang=\"en\">"));
    assert!(
        page.contains("Published：") || page.contains("Published"),
        "{page}"
    );
    assert!(page.contains("Skip to main content"));
}

#[test]
fn a_site_theme_overrides_one_template() {
    let site = TestSite::new();
    site.write(
        "themes/default/templates/404.html",
        "{% extends \"base.html\" %}{% block content %}<h1>找不到了</h1>{% endblock %}",
    );
    site.build(&[]).assert_ok();
    assert!(site.read("404.html").contains("<h1>找不到了</h1>"));
    assert!(
        site.read("news/first/index.html").contains("report-title"),
        "other templates stay the default"
    );
}

#[test]
fn a_template_error_names_the_template_and_line() {
    let site = TestSite::new();
    site.build(&[]).assert_ok();
    site.write(
        "themes/default/templates/404.html",
        "{% extends \"base.html\" %}\n{% block content %}\n{{ 1 + }}\n{% endblock %}",
    );
    let run = site.build(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("themes/default/templates/404.html:3"),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------
// The transparency portal: disclosure metadata, catalogue, machine outputs.

#[test]
fn demo_portal_shows_the_disclosure_model() {
    let (_keep, out) = build_demo(&[]);
    let read = |path: &str| {
        std::fs::read_to_string(out.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    // The seed's 信息公开 table.
    let seed = read(SEED_PAGE);
    assert!(
        seed.contains("<table class=\"disclosure-info\">"),
        "metadata table"
    );
    assert!(seed.contains("<th scope=\"row\">发布机构</th><td>遂溪县人民政府遂城街道办事处</td>"));
    assert!(seed.contains("<th scope=\"row\">文种</th><td>法治政府建设年度报告</td>"));
    assert!(
        seed.contains("<script type=\"application/ld+json\">"),
        "JSON-LD"
    );
    assert!(seed.contains("<meta name=\"PubDate\" content=\"2022-12-24\">"));
    // The structured data of a report with every field, its names in
    // order, as search engines read it.
    let budget = read("xxgk/fdzdgknr/czyjs/2023-bumen-yusuan/index.html");
    let json_ld = concat!(
        "<script type=\"application/ld+json\">",
        "{\"@context\":\"https://schema.org\",\"@type\":\"Report\",\"associatedMedia\":[{\"@type\":\"MediaObject\",\"contentSize\":\"311 B\",\"contentUrl\":\"https://www.example.gov.cn/suicheng/xxgk/fdzdgknr/czyjs/2023-bumen-yusuan/2023%E5%B9%B4%E9%83%A8%E9%97%A8%E9%A2%84%E7%AE%97%E6%94%B6%E6%94%AF%E6%80%BB%E8%A1%A8.csv\",\"encodingFormat\":\"CSV\",\"name\":\"2023年部门预算收支总表（示例）\"},{\"@type\":\"MediaObject\",\"contentSize\":\"125 KB\",\"contentUrl\":\"https://www.example.gov.cn/suicheng/xxgk/fdzdgknr/czyjs/2023-bumen-yusuan/2023-bumen-yusuan-shuoming.pdf\",\"encodingFormat\":\"PDF\",\"name\":\"2023年部门预算公开说明（示例，PDF）\"}],\"author\":{\"@type\":\"GovernmentOrganization\",\"name\":\"遂溪县人民政府遂城街道办事处\",\"parentOrganization\":{\"@type\":\"GovernmentOrganization\",\"name\":\"遂溪县人民政府\"}},\"dateCreated\":\"2023-02-08\",\"datePublished\":\"2023-02-10\",\"description\":\"2023年部门预算收支总体情况（示例数据）。\",\"headline\":\"遂城街道办事处2023年部门预算公开说明\",\"inLanguage\":\"zh-CN\",\"isAccessibleForFree\":true,\"keywords\":\"财政、金融、审计\",\"name\":\"遂城街道办事处2023年部门预算公开说明\",\"publisher\":{\"@type\":\"GovernmentOrganization\",\"name\":\"遂溪县人民政府遂城街道办事处\",\"parentOrganization\":{\"@type\":\"GovernmentOrganization\",\"name\":\"遂溪县人民政府\"}},\"reportNumber\":\"4408230000-2023-0004\",\"url\":\"https://www.example.gov.cn/suicheng/xxgk/fdzdgknr/czyjs/2023-bumen-yusuan/\"}",
        "</script>"
    );
    assert!(budget.contains(json_ld), "{budget}");
    // Its old address leads to it.
    let redirect = read("xxgk/fzzfjs/2022-fazhi-zhengfu-jianshe-baogao/index.html");
    assert!(
        redirect.contains("url=../../fdzdgknr/fzzfjs/2022-fazhi-zhengfu-jianshe-baogao/index.html"),
        "{redirect}"
    );
    // A superseded document and its banner, linking the replacement.
    let repealed = read("xxgk/gkzd/2021-cunwu-gongkai-banfa/index.html");
    assert!(repealed.contains("class=\"validity-banner\""));
    assert!(
        repealed.contains(
            "<a href=\"../2023-cunwu-gongkai-banfa/index.html\">遂城街道村（居）务公开管理办法</a>"
        ),
        "replacement link"
    );
    assert!(
        !read("xxgk/gkzd/2023-cunwu-gongkai-banfa/index.html")
            .contains("class=\"validity-banner\"")
    );
    // Attachments with their size.
    let budget = read("xxgk/fdzdgknr/czyjs/2023-bumen-yusuan/index.html");
    assert!(budget.contains("（CSV，311 B）"), "CSV size");
    assert!(budget.contains("（PDF，125 KB）"), "PDF size");
    assert!(
        out.join("xxgk/fdzdgknr/czyjs/2023-bumen-yusuan/2023-bumen-yusuan-shuoming.pdf")
            .is_file()
    );
    // The annual report with its three tables under the report's own headings.
    let annual = read("xxgk/gknb/2022-gip-annual-report/index.html");
    assert_eq!(
        annual.matches("<table class=\"stats").count(),
        6,
        "4 small tables, 表三 and 表四"
    );
    let heading = annual
        .find(">三、收到和处理政府信息公开申请情况</h2>")
        .unwrap();
    let table = annual.find("stats-requests").unwrap();
    let next_heading = annual
        .find(">四、政府信息公开行政复议、行政诉讼情况</h2>")
        .unwrap();
    assert!(
        heading < table && table < next_heading,
        "表三 sits under its heading"
    );
    assert!(annual.contains("<th id=\"r-org\" colspan=\"5\" headers=\"r-applicant\" scope=\"colgroup\">法人或其他组织</th>"));
    // Catalogue pages by topic, issuer, year and type, with pagination.
    let catalogue = read("xxgk/xxgkml/index.html");
    assert!(catalogue.contains("<th scope=\"col\">索引号</th>"));
    assert!(
        catalogue.contains("rel=\"next\""),
        "7 items at 5 a page paginate"
    );
    assert!(out.join("xxgk/xxgkml/page/2/index.html").is_file());
    for facet in [
        "topic/综合政务",
        "issuer/遂溪县人民政府遂城街道办事处",
        "year/2023",
        "type/行政规范性文件",
    ] {
        assert!(
            out.join(format!("xxgk/xxgkml/{facet}/index.html"))
                .is_file(),
            "{facet}"
        );
    }
    let by_year = read("xxgk/xxgkml/year/index.html");
    assert!(
        by_year.find(">2023</a>").unwrap() < by_year.find(">2021</a>").unwrap(),
        "newest year first"
    );
}

#[test]
fn catalogue_downloads_round_trip_the_front_matter() {
    let (_keep, out) = build_demo(&[]);
    let csv = gazette::render::read_catalogue_csv(
        &std::fs::read(out.join("xxgk/xxgkml/catalogue.csv")).unwrap(),
    )
    .unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("xxgk/xxgkml/catalogue.json")).unwrap())
            .unwrap();
    let from_json: Vec<gazette::render::CatalogueRecord> =
        serde_json::from_value(json["items"].clone()).unwrap();
    assert_eq!(csv, from_json, "CSV and JSON say the same");
    assert_eq!(csv.len(), 7);
    // Every record is what its report's file says.
    let content = manifest_dir().join("site-content/content");
    let zone = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let mut matched = 0;
    for path in walk(&content)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
    {
        let file = gazette::paths::ContentPath::new(&manifest_dir(), &path);
        let kind = if path.ends_with("_index.md") {
            gazette::content::DocKind::SectionIndex
        } else {
            gazette::content::DocKind::Report
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let cx = gazette::content::front_matter::ParseContext {
            file: &file,
            kind,
            timezone: zone,
            dates_from_file_names: false,
        };
        let (front, ..) = gazette::content::parse_doc(&text, &cx).unwrap();
        let Some(index_no) = &front.index_no else {
            continue;
        };
        let record = csv
            .iter()
            .find(|r| &r.index_no == index_no)
            .unwrap_or_else(|| panic!("{index_no} missing"));
        assert_eq!(record.title, front.title);
        assert_eq!(Some(&record.issuer), front.issuer.as_ref());
        assert_eq!(record.doc_no, front.doc_no.clone().unwrap_or_default());
        assert_eq!(
            record.doc_type,
            front
                .doc_type
                .map(|t| t.key().to_string())
                .unwrap_or_default()
        );
        assert_eq!(record.topics, front.topics);
        assert_eq!(
            record.catalogue,
            front.catalogue.clone().unwrap_or_default()
        );
        assert_eq!(
            record.date_written,
            front.date_written.map(|d| d.iso()).unwrap_or_default()
        );
        assert_eq!(
            record.date_published,
            front
                .date_published
                .map(|d| d.display())
                .unwrap_or_default()
        );
        assert_eq!(
            record.validity,
            front
                .validity
                .map(|v| v.key().to_string())
                .unwrap_or_default()
        );
        assert_eq!(Some(&record.summary), front.summary.as_ref());
        assert!(
            record
                .url
                .starts_with("https://www.example.gov.cn/suicheng/"),
            "{}",
            record.url
        );
        matched += 1;
    }
    assert_eq!(matched, csv.len());
}

#[test]
fn attachments_must_exist_inside_the_content() {
    assert_bad_input(
        |s| {
            s.write(
                "content/news/a.md",
                "---\ntitle: 附件\ndate_published: 2022-12-24\nattachments:\n  - title: 表\n    file: stats.xlsx\n  - file: ../../../etc/passwd\n---\n正文\n",
            )
        },
        &[
            "error: content/news/a.md:6: attachment `stats.xlsx` does not exist",
            "error: content/news/a.md:7: attachment `../../../etc/passwd` leads outside content/",
        ],
    );
    let site = TestSite::new();
    site.write("content/news/a.md", "---\ntitle: 附件\ndate_published: 2022-12-24\nattachments:\n  - title: 统计表\n    file: files/统计表.xlsx\n---\n正文\n");
    site.write_bytes("content/news/files/统计表.xlsx", &[0u8; 2048]);
    site.build(&[]).assert_ok();
    assert!(
        site.read("news/a/index.html")
            .contains("统计表</a> <span class=\"file-meta\">（XLSX，2 KB）</span>")
    );
}

#[test]
fn conditional_requirements_fail_the_build() {
    assert_bad_input(
        |s| {
            s.write(
                "content/news/rule.md",
                &report("规章", "2022-12-24\ndoc_type: rule", "正文"),
            )
        },
        &["error: content/news/rule.md:4: a rule or normative document must state its validity"],
    );
    assert_bad_input(
        |s| {
            s.write(
                "content/news/item.md",
                &report("目录项", "2022-12-24\nindex_no: A-1", "正文"),
            )
        },
        &["must have a summary", "must have topics"],
    );
    assert_bad_input(
        |s| {
            s.write(
                "content/news/late.md",
                &report("未来", "2999-01-01", "正文"),
            )
        },
        &["error: content/news/late.md:3: date_published 2999-01-01 is in the future"],
    );
    assert_bad_input(
        |s| {
            s.write(
                "content/news/a.md",
                &report(
                    "甲",
                    "2022-12-24\nindex_no: A-1\nsummary: 摘要\ntopics: 综合政务",
                    "正文",
                ),
            );
            s.write(
                "content/news/b.md",
                &report(
                    "乙",
                    "2022-12-24\nindex_no: A-1\nsummary: 摘要\ntopics: 综合政务",
                    "正文",
                ),
            );
        },
        &["error: content/news/b.md:4: index_no `A-1` is also used by content/news/a.md"],
    );
}

#[test]
fn portal_warnings_do_not_fail_the_build() {
    let site = TestSite::new();
    site.write("content/empty/_index.md", "---\ntitle: 空栏目\n---\n");
    site.write(
        "content/news/bracket.md",
        &report("文号", "2022-12-24\ndoc_no: 遂城办[2022]12号", "正文"),
    );
    let run = site.build(&[]);
    run.assert_ok();
    assert!(
        run.stderr
            .contains("warning: content/empty/_index.md:2: the section 「空栏目」 has no reports"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("write `遂城办〔2022〕12号`"),
        "{}",
        run.stderr
    );
}

/// The `content` of every `<meta property=…>` and `<meta name=…>` of `html`.
fn meta_tags(html: &str) -> BTreeMap<String, Vec<String>> {
    let mut tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for tag in html.split("<meta ").skip(1) {
        let tag = &tag[..tag.find('>').unwrap()];
        let attr = |name: &str| {
            let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
            Some(tag[start..start + tag[start..].find('"')?].replace("&amp;", "&"))
        };
        if let (Some(key), Some(content)) =
            (attr("property").or_else(|| attr("name")), attr("content"))
        {
            tags.entry(key).or_default().push(content);
        }
    }
    tags
}

#[test]
fn share_and_report_pages_carry_complete_absolute_open_graph() {
    let site = TestSite::new();
    site.write(
        "site.yaml",
        "name: 测试门户\nbase_url: https://example.gov.cn/portal/\nshare:\n  image: /static/share.png\n  image_alt: 测试门户标志\n  links: [weibo, email, x]\n",
    );
    site.write("content/news/first.md", "---\ntitle: 第一篇\ndate_published: 2022-12-24 09:30\nsummary: 摘要\nkeywords: [法治]\n---\n正文。\n");
    site.write_bytes("static/share.png", b"\x89PNG");
    site.build(&[]).assert_ok();
    for page in ["news/first/index.html", "news/first/share.html"] {
        let html = site.read(page);
        let tags = meta_tags(&html);
        let one = |k: &str| {
            tags.get(k)
                .and_then(|v| v.first())
                .cloned()
                .unwrap_or_else(|| panic!("{page}: no {k}"))
        };
        assert_eq!(
            one("og:url"),
            "https://example.gov.cn/portal/news/first/",
            "{page}"
        );
        assert_eq!(one("og:type"), "article");
        assert_eq!(one("og:title"), "第一篇");
        assert_eq!(one("og:description"), "摘要");
        assert_eq!(one("og:site_name"), "测试门户");
        assert_eq!(one("og:locale"), "zh_CN");
        assert_eq!(
            one("og:image"),
            "https://example.gov.cn/portal/static/share.png"
        );
        assert_eq!(one("og:image:alt"), "测试门户标志");
        assert_eq!(one("article:published_time"), "2022-12-24T09:30:00+08:00");
        assert_eq!(one("article:tag"), "法治");
        assert_eq!(one("twitter:card"), "summary_large_image");
        assert_eq!(
            one("twitter:image"),
            "https://example.gov.cn/portal/static/share.png"
        );
        assert!(
            html.contains(
                "<link rel=\"canonical\" href=\"https://example.gov.cn/portal/news/first/\">"
            ),
            "{page}"
        );
        assert!(html.contains("\"@type\":\"Report\""), "{page}: JSON-LD");
        // Share links are plain links to the sites; no script of theirs.
        assert!(html.contains("href=\"https://service.weibo.com/share/share.php?url=https%3A%2F%2Fexample.gov.cn%2Fportal%2Fnews%2Ffirst%2F&amp;title=%E7%AC%AC%E4%B8%80%E7%AF%87\""), "{page}");
        assert!(
            html.contains("href=\"https://twitter.com/intent/tweet?url="),
            "{page}"
        );
        assert!(
            !html.contains("QQ空间"),
            "{page}: only the configured links"
        );
        for script in html.split("<script").skip(1) {
            assert!(
                !script.contains("src=\"http"),
                "{page}: a third-party script"
            );
        }
        assert!(
            html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr-code\""),
            "{page}: inline QR code"
        );
    }
    let print = site.read("news/first/print.html");
    assert!(
        print.contains("print-gbt9704.css"),
        "Chinese sites print to GB/T 9704"
    );
    assert!(
        !print.contains("site-nav"),
        "the print page has no navigation"
    );
}

#[test]
fn english_sites_print_plainly_on_their_paper() {
    let site = TestSite::new();
    site.write("site.yaml", "name: Agency\nbase_url: https://agency.example.gov/\nlanguage: en\nprint:\n  paper: letter\n");
    site.build(&[]).assert_ok();
    let print = site.read("news/first/print.html");
    assert!(
        print.contains("print-plain.css") && print.contains("@page { size: letter; }"),
        "{print}"
    );
    assert!(
        site.read("news/print/index.html")
            .contains("class=\"print-contents\""),
        "collection print"
    );
}

#[test]
fn a_collection_print_is_bounded() {
    let site = TestSite::new();
    site.write(
        "site.yaml",
        "name: 测试门户\nbase_url: https://example.gov.cn/\nprint:\n  max_reports: 2\n",
    );
    for i in 2..=5 {
        site.write(
            &format!("content/news/r{i}.md"),
            &report(
                &format!("第{i}篇"),
                &format!("2022-12-{:02}", 10 + i),
                "## 一、标题\n\n正文。",
            ),
        );
    }
    site.build(&[]).assert_ok();
    let first = site.read("news/print/index.html");
    assert_eq!(
        first
            .matches("<article class=\"report print-document\"")
            .count(),
        2
    );
    assert!(first.contains("id=\"doc-2-一标题\""), "ids kept apart");
    assert!(
        site.out().join("news/print/3/index.html").is_file(),
        "5 reports at 2 a page"
    );
    assert!(!site.out().join("news/print/4/index.html").exists());
}

#[test]
fn robots_txt_only_at_the_root_of_a_host() {
    let site = TestSite::new();
    site.build(&[]).assert_ok();
    assert!(
        site.read("robots.txt")
            .contains("Sitemap: https://example.gov.cn/sitemap.xml")
    );
    site.build(&["--base-url", "https://example.gov.cn/portal/"])
        .assert_ok();
    assert!(
        !site.out().join("robots.txt").exists(),
        "a robots.txt under a sub-path is never read"
    );
}

fn xmllint() -> Option<PathBuf> {
    ["/usr/bin/xmllint", "/usr/local/bin/xmllint"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Validates `files` against a schema (`--relaxng` or `--schema`).
fn assert_valid_xml(tool: &Path, kind: &str, schema: &str, files: &[PathBuf]) {
    let output = Command::new(tool)
        .arg("--noout")
        .arg(kind)
        .arg(manifest_dir().join("tests/schemas").join(schema))
        .args(files)
        .output()
        .expect("run xmllint");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn feeds_and_sitemaps_validate_against_their_schemas() {
    let Some(tool) = xmllint() else {
        assert!(
            !in_ci(),
            "CI=true but xmllint is missing (apt-get install libxml2-utils)"
        );
        eprintln!("skipped: xmllint not installed");
        return;
    };
    for (_keep, out) in [build_demo(&[]), build_agency_demo(&[])] {
        let files = walk(&out);
        let feeds: Vec<PathBuf> = files
            .iter()
            .filter(|p| p.ends_with("atom.xml"))
            .cloned()
            .collect();
        assert!(feeds.len() >= 5, "{feeds:?}");
        assert_valid_xml(&tool, "--relaxng", "atom.rng", &feeds);
        assert_valid_xml(&tool, "--schema", "sitemap.xsd", &[out.join("sitemap.xml")]);
    }
    // A synthetic 120,000-URL site: an index and three sitemaps.
    let urls: Vec<gazette::render::SitemapUrl> = (0..120_000)
        .map(|i| gazette::render::SitemapUrl {
            loc: format!("https://example.gov.cn/p/{i}/"),
            lastmod: Some("2022-12-24".into()),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut parts = Vec::new();
    for (name, xml) in gazette::render::sitemaps(
        &urls,
        "https://example.gov.cn/",
        gazette::render::SITEMAP_MAX_URLS,
    ) {
        std::fs::write(dir.path().join(&name), xml).unwrap();
        if name != "sitemap.xml" {
            parts.push(dir.path().join(name));
        }
    }
    assert_eq!(parts.len(), 3);
    assert_valid_xml(
        &tool,
        "--schema",
        "siteindex.xsd",
        &[dir.path().join("sitemap.xml")],
    );
    assert_valid_xml(&tool, "--schema", "sitemap.xsd", &parts);
}

// ---------------------------------------------------------------------------
// gazette serve.

/// A `gazette serve` process on a free loopback port; killed when dropped.
struct Served {
    child: std::process::Child,
    port: u16,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Served {
    fn start(site: &TestSite) -> Served {
        Served::start_with(site, &[])
    }

    /// `gazette serve` with these options too.
    fn start_with(site: &TestSite, options: &[&str]) -> Served {
        use std::io::BufRead;
        let mut child = Command::new(BIN)
            .args(["serve", "--port", "0"])
            .args(options)
            .arg("--root")
            .arg(site.root())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start gazette serve");
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let port: u16 = line
            .rsplit(':')
            .next()
            .unwrap()
            .trim()
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|_| panic!("{line}"));
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        Served { child, port, log }
    }

    fn get(&self, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .unwrap_or("0")
            .parse()
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// Opens the event stream; events arrive on the returned channel.
    fn events(&self) -> std::sync::mpsc::Receiver<String> {
        use std::io::{BufRead, Write};
        let (send, receive) = std::sync::mpsc::channel();
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "GET /__gazette/events HTTP/1.1\r\nHost: localhost\r\n\r\n"
        )
        .unwrap();
        std::thread::spawn(move || {
            let mut event = String::new();
            for line in std::io::BufReader::new(stream)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(name) = line.strip_prefix("event: ") {
                    event = name.to_string();
                } else if let Some(data) = line.strip_prefix("data: ") {
                    let _ = send.send(format!("{event}: {data}"));
                }
            }
        });
        // Let the subscription register before anything changes.
        std::thread::sleep(std::time::Duration::from_millis(300));
        receive
    }

    /// Waits until `ready` holds for the page at `path`, or fails.
    fn wait_for(&self, path: &str, what: &str, ready: impl Fn(u16, &str) -> bool) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let (status, body) = self.get(path);
            if ready(status, &body) {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: {path} is still {status}\n{}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// The page at `path` without the live-reload tag serve adds.
    fn page_as_built(&self, path: &str) -> String {
        self.get(path)
            .1
            .replace("<script src=\"/__gazette/live.js\" defer></script>", "")
    }

    /// Asserts that none of `paths`, each meant to reach past the site's
    /// files, gets anything but the 404 page.
    fn refuses(&self, paths: &[&str]) {
        for path in paths {
            let (status, body) = self.get(path);
            assert_eq!(status, 404, "{path}");
            assert!(!body.contains("base_url"), "{path} leaked site.yaml");
        }
    }

    fn rebuilds(&self) -> usize {
        self.log.lock().unwrap().matches("rebuilt in").count()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn next_event(events: &std::sync::mpsc::Receiver<String>, starting: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match events.recv_timeout(left) {
            Ok(event) if event.starts_with(starting) => return event,
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    panic!("no `{starting}` event");
}

/// A site served with `options`, after one of its reports was saved with
/// a new text (and the page told to reload), and the page's events.
fn serve_and_save(options: &[&str]) -> (TestSite, Served, std::sync::mpsc::Receiver<String>) {
    let site = TestSite::new();
    site.write(
        "content/news/second.md",
        &report("第二篇", "2022-12-25", "原来的正文。"),
    );
    let served = Served::start_with(&site, options);
    let (status, page) = served.get("/news/second/");
    assert_eq!(status, 200, "{}", served.log.lock().unwrap());
    assert!(
        page.contains("原来的正文") && page.contains("/__gazette/live.js"),
        "live reload is added by the server"
    );
    let events = served.events();
    site.write(
        "content/news/second.md",
        &report("第二篇", "2022-12-25", "改过的正文。"),
    );
    next_event(&events, "reload");
    served.wait_for("/news/second/", "edit", |_, b| b.contains("改过的正文"));
    (site, served, events)
}

#[test]
fn serve_rebuilds_on_save_rename_and_delete() {
    let (site, served, events) = serve_and_save(&[]);
    assert!(!site.out().exists(), "serve writes nothing to disk");
    assert!(!site.root().join(".gazette-cache").exists());

    // A save through a temporary file renamed over the report.
    site.write(
        "content/news/.second.md.tmp",
        &report("第二篇", "2022-12-25", "换名保存的正文。"),
    );
    std::fs::rename(
        site.root().join("content/news/.second.md.tmp"),
        site.root().join("content/news/second.md"),
    )
    .unwrap();
    next_event(&events, "reload");
    served.wait_for("/news/second/", "rename", |_, b| {
        b.contains("换名保存的正文")
    });

    // A deleted report leaves its URL, the lists and the search index.
    std::fs::remove_file(site.root().join("content/news/second.md")).unwrap();
    next_event(&events, "reload");
    served.wait_for("/news/second/", "delete", |status, _| status == 404);
    assert!(
        !served.get("/news/").1.contains("第二篇"),
        "the section list"
    );
    assert!(
        served.get("/search/meta.js").1.contains("\"docs\":1"),
        "the search index has one report left"
    );
}

/// A change to stylesheets only swaps them in the open page (a `styles`
/// event naming them); any other change reloads.
#[test]
fn serve_swaps_changed_stylesheets_without_a_reload() {
    let site = TestSite::new();
    site.write("static/site.css", "body { color: #111; }\n");
    let served = Served::start(&site);
    let events = served.events();
    let next = || {
        events
            .recv_timeout(std::time::Duration::from_secs(15))
            .expect("an event")
    };
    site.write("static/site.css", "body { color: #222; }\n");
    // (static/ is copied to the root of the site.)
    assert_eq!(
        next(),
        "styles: [\"/site.css\"]",
        "the first event swaps the stylesheet"
    );
    served.wait_for("/site.css", "css", |_, b| b.contains("#222"));
    site.write(
        "content/news/first.md",
        &report("第一篇", "2022-12-24", "新的正文。"),
    );
    assert_eq!(next(), "reload: reload");
}

/// An incremental build — files read again only when they changed, texts
/// rendered only when new — gives exactly the site a full build gives,
/// after an edit, an addition, a deletion and a change of site.yaml.
#[test]
fn an_incremental_build_gives_exactly_a_full_build() {
    use gazette::build::{BuildCache, BuildOptions, Quiet, generate, generate_cached};
    let site = TestSite::new();
    for i in 0..20 {
        site.write(
            &format!("content/news/r{i:02}.md"),
            &report(
                &format!("第{i}号"),
                "2022-12-20",
                &format!("第{i}篇正文，含[链接](first.md)。"),
            ),
        );
    }
    let options = BuildOptions {
        root: site.root().to_path_buf(),
        ..Default::default()
    };
    let site_files = generated_files;
    let mut cache = BuildCache::default();
    let incremental = |cache: &mut BuildCache| {
        site_files(generate_cached(&options, &Quiet, Some(cache)).unwrap_or_else(|e| panic!("{e}")))
    };
    let full = || site_files(generate(&options).unwrap_or_else(|e| panic!("{e}")));
    incremental(&mut cache);
    assert_eq!((cache.read_last(), cache.rendered_last), (22, 22));
    // Nothing changed: nothing read or rendered again.
    assert_eq!(incremental(&mut cache), full());
    assert_eq!((cache.read_last(), cache.rendered_last), (0, 0));
    assert_eq!(cache.indexed_last(), 0);
    // Edits that keep the reports and their order: a sentence appended,
    // a paragraph put first (every position moves), most of the text
    // cut (the length class changes), the title and 文号 changed, two
    // reports at once. Only the edited reports are indexed again; only
    // their pages are rendered again, and their neighbours' when their
    // title changed.
    let long = format!(
        "第3篇正文，含[链接](first.md)。{}",
        "街道办事处依法行政。".repeat(30)
    );
    let appended = format!("{long}又加一句：扫黑除恶。");
    let first = format!("开头新加一段。\n\n{long}");
    // (report number, title, body) of each report saved, and how many
    // reports' pages are rendered again.
    type Saves<'a> = &'a [(usize, &'a str, &'a str)];
    let edits: [(Saves, usize); 6] = [
        (&[(3, "第3号", &long)], 1),
        (&[(3, "第3号", &appended)], 1),
        (&[(3, "第3号", &first)], 1),
        (&[(3, "第3号", "第3篇。")], 1),
        // The title shows on the pages before and after it.
        (&[(3, "第3号（修订稿）", "第3篇。")], 3),
        (
            &[
                (5, "第5号", "第5篇，改了。"),
                (3, "第3号（修订稿）", "第3篇，又改了。"),
            ],
            2,
        ),
    ];
    for (edit, pages) in edits {
        for (i, title, body) in edit {
            site.write(
                &format!("content/news/r{i:02}.md"),
                &report(title, "2022-12-20", body),
            );
        }
        assert_eq!(incremental(&mut cache), full(), "after {edit:?}");
        assert_eq!(cache.indexed_last(), edit.len(), "after {edit:?}");
        assert_eq!(cache.pages_last(), pages, "after {edit:?}");
    }
    site.write(
        "content/news/r09.md",
        &report("第9号", "2022-12-20", &format!("{long}加一句。")),
    );
    site.write(
        "content/news/r03.md",
        &report("第3号（修订稿）", "2022-12-20", &appended),
    );
    incremental(&mut cache);
    site.write(
        "content/news/r09.md",
        &report("第9号", "2022-12-20", &format!("{long}加两句。")),
    );
    site.write(
        "content/news/r03.md",
        &report(
            "第3号（修订稿）",
            "2022-12-20",
            &format!("{appended}再改。"),
        ),
    );
    assert_eq!(incremental(&mut cache), full());
    assert_eq!((cache.indexed_last(), cache.pages_last()), (2, 2));
    // An edit, an addition and a deletion.
    site.write(
        "content/news/r03.md",
        &report("第3号（修订）", "2022-12-21", "改过的正文。"),
    );
    site.write(
        "content/news/new.md",
        &report("新增", "2022-12-22", "新的正文。"),
    );
    std::fs::remove_file(site.root().join("content/news/r07.md")).unwrap();
    let after = incremental(&mut cache);
    assert_eq!((cache.read_last(), cache.rendered_last), (2, 2));
    // The pages of the two reports and of the neighbours they left and
    // joined (r03 moved to the front, after the new one), and of r07's.
    assert_eq!(cache.pages_last(), 8);
    assert_eq!(
        after,
        full(),
        "the incremental build differs from a full build"
    );
    assert!(!after.contains_key("news/r07/index.html"));
    // A report published after all the others: it alone is indexed, and
    // only its pages and the next newest one's are rendered.
    site.write(
        "content/news/latest.md",
        &report("最新", "2022-12-25", &format!("{long}最新的一句。")),
    );
    assert_eq!(incremental(&mut cache), full());
    assert_eq!((cache.indexed_last(), cache.pages_last()), (1, 2));
    // site.yaml decides how texts are rendered: all are rendered again.
    site.write(
        "site.yaml",
        &format!("{SITE_YAML}markdown:\n  allow_html: true\n"),
    );
    let after = incremental(&mut cache);
    assert_eq!(cache.rendered_last, 23);
    assert_eq!(after, full());
    // The theme is in the key of every page: a template of the site's
    // own, then one byte of a static file of the theme's, and every page
    // showing them is made again.
    site.write(
        "themes/default/templates/404.html",
        "{% extends \"base.html\" %}{% block content %}<h1>找不到了</h1>{% endblock %}",
    );
    let after = incremental(&mut cache);
    assert!(String::from_utf8_lossy(&after["404.html"]).contains("找不到了"));
    assert_eq!(after, full());
    site.write("themes/default/static/site.css", "body { color: #111; }");
    let after = incremental(&mut cache);
    assert_eq!(after, full());
    site.write("themes/default/static/site.css", "body { color: #112; }");
    let after = incremental(&mut cache);
    assert!(String::from_utf8_lossy(&after["static/site.css"]).contains("#112"));
    assert!(cache.pages_last() > 20, "{}", cache.pages_last());
    assert_eq!(after, full());
}

/// Random edits one after another — to bodies (appended, put first,
/// replaced), titles, 文号, dates (which reorder lists and neighbours),
/// a section's intro, and reports added and removed — each followed by an
/// incremental build that must give exactly the files of a full build.
/// Forty seeded random edits to a small site of three sections: bodies
/// appended to, put first or replaced; titles, 文号 and dates changed
/// (dates reorder lists and neighbours); reports added and removed; a
/// section's intro rewritten. After each, `check` is given the step, what
/// was edited and how many reports there are.
fn random_edits(site: &TestSite, mut check: impl FnMut(usize, &str, usize)) {
    site.write("content/notices/_index.md", "---\ntitle: 通知公告\n---\n");
    site.write("content/news/local/_index.md", "---\ntitle: 本地\n---\n");
    let sections = ["news", "notices", "news/local"];
    const PHRASES: [&str; 8] = [
        "扫黑除恶专项斗争取得成效。",
        "街道办事处依法行政，",
        "重大行政决策程序得到落实。",
        "法治政府建设年度报告，",
        "综合行政执法改革稳步推进。",
        "Open data report 2022. ",
        "人民调解组织化解矛盾纠纷。",
        "安全生产和疫情防控常抓不懈，",
    ];
    // xorshift: the same edits on every run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut random = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    struct Doc {
        path: String,
        title: String,
        date: String,
        doc_no: usize,
        body: String,
    }
    let text = |random: &mut dyn FnMut(usize) -> usize| -> String {
        let paragraphs = 1 + random(4);
        (0..paragraphs)
            .map(|_| {
                (0..1 + random(12))
                    .map(|_| PHRASES[random(PHRASES.len())])
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    let write = |doc: &Doc| {
        site.write(
            &doc.path,
            &format!(
                "---\ntitle: {}\ndate_published: {}\ndoc_no: 示例〔2023〕{}号\n---\n\n{}\n",
                doc.title, doc.date, doc.doc_no, doc.body
            ),
        );
    };
    let mut docs: Vec<Doc> = Vec::new();
    for i in 0..14 {
        let doc = Doc {
            path: format!("content/{}/r{i:02}.md", sections[i % 3]),
            title: format!("第{i}号报告"),
            date: format!("2023-0{}-1{}", 1 + i % 9, i % 10),
            doc_no: i,
            // Most open with more than lists quote, so that an edit further
            // down keeps the other pages.
            body: if i % 4 == 0 {
                text(&mut random)
            } else {
                format!("{}\n\n{}", PHRASES.concat().repeat(2), text(&mut random))
            },
        };
        write(&doc);
        docs.push(doc);
    }
    check(0, "nothing (the first build)", docs.len());
    let mut added = 100;
    for step in 1..=40 {
        let i = random(docs.len());
        let edit = match random(10) {
            0..=2 => {
                let more = text(&mut random);
                docs[i].body.push_str(&more);
                "a sentence appended"
            }
            3 => {
                docs[i].body = format!("{}\n\n{}", text(&mut random), docs[i].body);
                "a paragraph put first"
            }
            4 => {
                docs[i].body = text(&mut random);
                "the body replaced"
            }
            5 => {
                docs[i].title = format!("{}（修订）", docs[i].title);
                "the title changed"
            }
            6 => {
                docs[i].date = format!("2022-1{}-2{}", random(3), random(9));
                "the date changed"
            }
            7 => {
                docs[i].doc_no += 50;
                "文号 changed"
            }
            8 if docs.len() > 6 => {
                let gone = docs.remove(i);
                std::fs::remove_file(site.root().join(&gone.path)).unwrap();
                "a report removed"
            }
            _ => {
                added += 1;
                let doc = Doc {
                    path: format!("content/{}/new{added}.md", sections[random(3)]),
                    title: format!("新增{added}"),
                    date: format!("2023-1{}-0{}", random(3), 1 + random(9)),
                    doc_no: added,
                    body: text(&mut random),
                };
                write(&doc);
                docs.push(doc);
                "a report added"
            }
        };
        if let Some(doc) = docs.get(i)
            && !edit.starts_with("a report")
        {
            write(doc);
        }
        if step % 9 == 4 {
            site.write(
                "content/notices/_index.md",
                &format!("---\ntitle: 通知公告\n---\n\n第{step}次修改的栏目说明。\n"),
            );
        }
        check(step, edit, docs.len());
    }
}

#[test]
fn random_edits_keep_incremental_builds_exact() {
    use gazette::build::{BuildCache, BuildOptions, Quiet, generate, generate_cached};
    let site = TestSite::new();
    let options = BuildOptions {
        root: site.root().to_path_buf(),
        ..Default::default()
    };
    let full = || generated_files(generate(&options).unwrap_or_else(|e| panic!("{e}")));
    let mut cache = BuildCache::default();
    let incremental = |cache: &mut BuildCache| {
        generated_files(
            generate_cached(&options, &Quiet, Some(cache)).unwrap_or_else(|e| panic!("{e}")),
        )
    };
    // Steps that kept some report's pages, and that indexed one report.
    let (mut kept_pages, mut indexed_one) = (0, 0);
    random_edits(&site, |step, edit, reports| {
        assert!(
            incremental(&mut cache) == full(),
            "step {step}: {edit}: the incremental build differs from a full build"
        );
        kept_pages += usize::from(cache.pages_last() < reports);
        indexed_one += usize::from(cache.indexed_last() == 1);
    });
    assert!(
        kept_pages >= 4 && indexed_one >= 10,
        "{kept_pages} steps kept pages, {indexed_one} indexed one report"
    );
}

/// The portal in the output folder `dir`: every file but the marker,
/// which names the build that wrote the folder.
fn portal_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = tree(dir);
    assert!(files.remove(gazette::output::MARKER).is_some());
    files
}

/// Copies the folder `from` to `to`, leaving out build output and caches.
fn copy_site(from: &Path, to: &Path) {
    for file in walk(from) {
        let relative = file.strip_prefix(from).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        if first == "public" || first == ".gazette-cache" {
            continue;
        }
        std::fs::create_dir_all(to.join(relative).parent().unwrap()).unwrap();
        std::fs::copy(&file, to.join(relative)).unwrap();
    }
}

#[test]
fn the_demo_portal_builds_the_same_from_the_build_cache() {
    let site = tempfile::tempdir().unwrap();
    copy_site(&manifest_dir().join("site-content"), site.path());
    let build = |args: &[&str]| {
        let run = Run::from(
            Command::new(BIN)
                .args(["build", "--verbose", "--root"])
                .arg(site.path())
                .args(args)
                .output()
                .unwrap(),
        );
        run.assert_ok();
        run.stderr
    };
    let clean = site.path().join("clean");
    let first = build(&[]);
    assert!(first.contains("build cache: made afresh"), "{first}");
    assert!(site.path().join(".gazette-cache/.gitignore").is_file());
    let report = site
        .path()
        .join("content/xxgk/fdzdgknr/fzzfjs/2022-fazhi-zhengfu-jianshe-baogao.md");
    let text = std::fs::read_to_string(&report).unwrap();
    std::fs::write(&report, format!("{text}\n补充一段说明。\n")).unwrap();
    let second = build(&[]);
    assert!(
        second.contains(
            "build cache: used; 1 Markdown file read again, 1 report's pages made again, \
             1 report indexed again; the output folder updated in place"
        ),
        "{second}"
    );
    build(&["--no-cache", "--out", clean.to_str().unwrap()]);
    assert!(
        portal_files(&site.path().join("public")) == portal_files(&clean),
        "the demo built from the cache differs from a build without it"
    );
    // A search index kept by an earlier build than the output folder's
    // (a build killed between its renames) is not used.
    let cache = site.path().join(".gazette-cache");
    let index = cache.join("search/index.bin");
    let earlier = std::fs::read(&index).unwrap();
    std::fs::write(&report, format!("{text}\n补充第二段说明。\n")).unwrap();
    build(&[]);
    std::fs::write(&index, earlier).unwrap();
    std::fs::write(&report, format!("{text}\n补充第三段说明。\n")).unwrap();
    build(&[]);
    build(&["--no-cache", "--out", clean.to_str().unwrap()]);
    assert!(
        portal_files(&site.path().join("public")) == portal_files(&clean),
        "a build with an earlier build's search index differs from a build without the cache"
    );
    // The read files are kept in 32 part files, only the last build's.
    let parts = || -> Vec<std::path::PathBuf> {
        let mut parts: Vec<_> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("read-")
            })
            .collect();
        parts.sort();
        parts
    };
    assert_eq!(parts().len(), 32, "{:?}", parts());
    // A cache that cannot be read (its state, or a part of it, damaged or
    // gone) is made afresh; one that another build holds is left alone.
    std::fs::remove_file(&parts()[5]).unwrap();
    let lost = build(&[]);
    assert!(
        lost.contains("build cache: made afresh, because it cannot be read"),
        "{lost}"
    );
    assert_eq!(parts().len(), 32, "{:?}", parts());
    std::fs::write(&parts()[9], "not a part").unwrap();
    let damaged = build(&[]);
    assert!(
        damaged.contains("build cache: made afresh, because it cannot be read"),
        "{damaged}"
    );
    std::fs::write(cache.join("state.bin"), "not a cache").unwrap();
    let broken = build(&[]);
    assert!(
        broken.contains("build cache: made afresh, because it cannot be read"),
        "{broken}"
    );
    let held = std::fs::File::open(cache.join("lock")).unwrap();
    held.lock().unwrap();
    let busy = build(&[]);
    assert!(
        busy.contains("another gazette build of this site is using it"),
        "{busy}"
    );
    drop(held);
    assert!(build(&[]).contains("build cache: used"));
    assert!(
        portal_files(&site.path().join("public")) == portal_files(&clean),
        "the demo built after all that differs from a build without the cache"
    );
}

/// Options to build `site` with the build cache into its `public/`, and
/// without it into `clean_dir/public`, to compare the two.
fn cached_and_clean(
    site: &TestSite,
    clean_dir: &Path,
) -> (gazette::build::BuildOptions, gazette::build::BuildOptions) {
    let cached = gazette::build::BuildOptions {
        root: site.root().to_path_buf(),
        out: Some(site.root().join("public")),
        cache: true,
        ..Default::default()
    };
    let clean = gazette::build::BuildOptions {
        out: Some(clean_dir.join("public")),
        cache: false,
        ..cached.clone()
    };
    (cached, clean)
}

/// A body of the same length for every `i` below 100 (the test site's
/// first report's too), so that the average length stays put.
fn even_body(i: usize) -> String {
    format!("第{i:02}篇。{}", "街道办事处依法行政，扫黑除恶。".repeat(6))
}

/// The test site with 13 reports of [`even_body`], one a day from
/// 2023-03-01 after the first.
fn dated_site() -> TestSite {
    let site = TestSite::new();
    site.write(
        "content/news/first.md",
        &report("第一篇", "2022-12-01", &even_body(0)),
    );
    for i in 0..12 {
        site.write(
            &format!("content/news/r{i:02}.md"),
            &report(
                &format!("第{i}号"),
                &format!("2023-03-{:02}", i + 1),
                &even_body(i),
            ),
        );
    }
    site
}

#[test]
fn random_edits_keep_cached_builds_exact() {
    use gazette::build::{CacheUse, build};
    let site = TestSite::new();
    // A report whose text has a warning, kept in the cache with it.
    site.write(
        "content/news/outline.md",
        &report("提纲", "2023-02-01", "## 一、总体\n\n#### 细节\n\n正文。"),
    );
    let clean_dir = tempfile::tempdir().unwrap();
    let (cached, clean) = cached_and_clean(&site, clean_dir.path());
    // Steps that kept some report's pages, and that indexed one report.
    let (mut kept_pages, mut indexed_one) = (0, 0);
    random_edits(&site, |step, edit, reports| {
        let incremental = build(&cached).unwrap_or_else(|e| panic!("step {step}: {e}"));
        if let CacheUse::Reused { pages, indexed, .. } = &incremental.cache {
            kept_pages += usize::from(pages.is_some_and(|p| p < reports + 1));
            indexed_one += usize::from(*indexed == Some(1));
        }
        let full = build(&clean).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(full.cache, CacheUse::Off);
        match (step, &incremental.cache) {
            (0, CacheUse::Fresh(_)) => {}
            // One report saved, or a report and a section's intro.
            (
                _,
                CacheUse::Reused {
                    read,
                    pages: Some(_),
                    indexed: Some(_),
                },
            ) if *read <= 2 => {}
            (_, other) => panic!("step {step}: {edit}: {other}"),
        }
        assert_eq!(incremental.warnings, full.warnings, "step {step}: {edit}");
        assert!(
            incremental
                .warnings
                .iter()
                .any(|w| w.message.contains("level")),
            "{:?}",
            incremental.warnings
        );
        assert!(
            portal_files(&site.root().join("public"))
                == portal_files(&clean_dir.path().join("public")),
            "step {step}: {edit}: the cached build differs from a build without the cache"
        );
    });
    assert!(
        kept_pages >= 4 && indexed_one >= 10,
        "{kept_pages} steps kept pages, {indexed_one} indexed one report"
    );
}

/// A report made longer by a paragraph of words it did not have moves to
/// another length class: its search weight changes in every term it has,
/// though the postings of its other terms do not. The build cache indexes
/// it alone (the site's average stays in its class) and its output is
/// still a clean build's.
#[test]
fn a_report_that_changes_length_class_is_weighed_again_everywhere() {
    use gazette::build::{CacheUse, build};
    let site = dated_site();
    let clean_dir = tempfile::tempdir().unwrap();
    let (cached, clean) = cached_and_clean(&site, clean_dir.path());
    build(&cached).unwrap_or_else(|e| panic!("{e}"));
    site.write(
        "content/news/r05.md",
        &report(
            "第5号",
            "2023-03-06",
            &format!(
                "{}\n\n春夏秋冬东南西北金木水火土日月星辰山川河流。",
                even_body(5)
            ),
        ),
    );
    let incremental = build(&cached).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        incremental.cache,
        CacheUse::Reused {
            read: 1,
            pages: Some(1),
            indexed: Some(1)
        }
    );
    build(&clean).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        portal_files(&site.root().join("public")) == portal_files(&clean_dir.path().join("public")),
        "the cached build differs from a build without the cache"
    );
}

/// Publishing a report dated after all the others is the commonest change
/// to a portal: with the build cache on disk, only it is indexed (it takes
/// the next document number) and only its pages and its neighbour's are
/// rendered. A report dated before others moves their numbers: all are
/// indexed again. Either way the output is a clean build's.
#[test]
fn a_report_published_last_is_indexed_alone() {
    use gazette::build::{CacheUse, build};
    let site = dated_site();
    let clean_dir = tempfile::tempdir().unwrap();
    let (mut cached, clean) = cached_and_clean(&site, clean_dir.path());
    // A spill budget so small that every partition is remade alone, as a
    // large site's largest are.
    cached.search_spill_budget = Some(1);
    let same = |what: &str| {
        build(&clean).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            portal_files(&site.root().join("public"))
                == portal_files(&clean_dir.path().join("public")),
            "{what}: the cached build differs from a build without the cache"
        );
    };
    build(&cached).unwrap_or_else(|e| panic!("{e}"));
    let reused = |read, pages, indexed| CacheUse::Reused {
        read,
        pages: Some(pages),
        indexed: Some(indexed),
    };
    // More than the cache keeps apart before it writes a partition's
    // terms whole again.
    for i in 12..32 {
        site.write(
            &format!("content/news/r{i:02}.md"),
            &report(
                &format!("第{i}号"),
                &format!("2023-04-{:02}", i - 11),
                &even_body(i),
            ),
        );
        let incremental = build(&cached).unwrap_or_else(|e| panic!("{e}"));
        same("a report published last");
        assert_eq!(incremental.cache, reused(1, 2, 1), "report {i}");
    }
    // An edit after them: the partitions it changes (kept apart by the
    // reports published since) are written whole again, one at a time.
    site.write(
        "content/news/r30.md",
        &report(
            "第30号",
            "2023-04-19",
            &even_body(30).replace("扫黑除恶", "法治政府"),
        ),
    );
    let incremental = build(&cached).unwrap_or_else(|e| panic!("{e}"));
    same("a report edited");
    assert_eq!(incremental.cache, reused(1, 1, 1));
    // Dated before the others: every later document's number moves, and
    // it has a neighbour on each side (the test site's first report is
    // older still).
    site.write(
        "content/news/early.md",
        &report("早前", "2023-01-01", &even_body(99)),
    );
    let incremental = build(&cached).unwrap_or_else(|e| panic!("{e}"));
    same("a report dated before others");
    assert_eq!(incremental.cache, reused(1, 3, 34));
}

#[test]
fn reports_published_the_same_day_move_only_the_numbers_after_them() {
    use gazette::build::{
        BuildCache, BuildOptions, CacheUse, Quiet, build, generate, generate_cached,
    };
    let site = dated_site();
    let clean_dir = tempfile::tempdir().unwrap();
    let (cached, clean) = cached_and_clean(&site, clean_dir.path());
    // Serve's cache in memory goes through the same steps.
    let mut served = BuildCache::default();
    let in_memory = BuildOptions {
        out: None,
        cache: false,
        ..cached.clone()
    };
    generate_cached(&in_memory, &Quiet, Some(&mut served)).unwrap_or_else(|e| panic!("{e}"));
    let mut indexed_again = |what: &str| {
        let incremental = build(&cached).unwrap_or_else(|e| panic!("{e}"));
        build(&clean).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            portal_files(&site.root().join("public"))
                == portal_files(&clean_dir.path().join("public")),
            "{what}: the cached build differs from a build without the cache"
        );
        let live = generate_cached(&in_memory, &Quiet, Some(&mut served))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            generated_files(live)
                == generated_files(generate(&in_memory).unwrap_or_else(|e| panic!("{e}"))),
            "{what}: serve's rebuild differs from a full build"
        );
        let indexed = match incremental.cache {
            CacheUse::Reused { indexed, .. } => indexed,
            other => panic!("{what}: {other:?}"),
        };
        // (reports the build cache indexed again, and serve's)
        (indexed.unwrap_or(0), served.indexed_last())
    };
    build(&cached).unwrap_or_else(|e| panic!("{e}"));
    // Two reports of one day are numbered by title (the later title
    // first), so the second published here takes the first one's number.
    site.write(
        "content/news/b.md",
        &report("乙通知", "2023-04-01", &even_body(20)),
    );
    assert_eq!(indexed_again("a report published last"), (1, 1));
    site.write(
        "content/news/a.md",
        &report("甲通知", "2023-04-01", &even_body(21)),
    );
    assert_eq!(
        indexed_again("a report published the same day, numbered before"),
        (2, 2)
    );
    // Withdrawn the same day: the number after it moves back.
    std::fs::remove_file(site.root().join("content/news/a.md")).unwrap();
    assert_eq!(indexed_again("the report withdrawn"), (2, 2));
    // Published again, dated before the last report.
    site.write(
        "content/news/a.md",
        &report("甲通知", "2023-03-20", &even_body(21)),
    );
    assert_eq!(indexed_again("a report dated before the last"), (2, 2));
    std::fs::remove_file(site.root().join("content/news/b.md")).unwrap();
    assert_eq!(indexed_again("the last report withdrawn"), (1, 1));
    // An edit after a publish writes the partitions it changes whole
    // again; a report then numbered before the edited one moves numbers
    // that those partitions' terms files hold: they are written whole
    // again, their terms cut as they are read.
    site.write(
        "content/news/c.md",
        &report("丙通知", "2023-04-02", &even_body(22)),
    );
    assert_eq!(indexed_again("a report published last"), (1, 1));
    site.write(
        "content/news/c.md",
        &report(
            "丙通知",
            "2023-04-02",
            &even_body(22).replace("扫黑除恶", "法治政府"),
        ),
    );
    assert_eq!(indexed_again("a report edited"), (1, 1));
    site.write(
        "content/news/d.md",
        &report("戊通知", "2023-04-02", &even_body(23)),
    );
    assert_eq!(
        indexed_again("a report numbered before the edited one"),
        (2, 2)
    );
}

/// The build cache is safe to lose: a damaged file of the search index it
/// kept costs a full re-index and a warning, never a failed build.
#[test]
fn a_damaged_search_cache_is_set_aside() {
    use gazette::build::{CacheUse, build};
    let site = dated_site();
    let clean_dir = tempfile::tempdir().unwrap();
    let (cached, clean) = cached_and_clean(&site, clean_dir.path());
    build(&cached).unwrap_or_else(|e| panic!("{e}"));
    let search = site.root().join(".gazette-cache/search");
    let mut damaged = 0;
    for entry in std::fs::read_dir(&search).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "terms") {
            let bytes = std::fs::read(&path).unwrap();
            std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
            damaged += 1;
        }
    }
    assert!(damaged > 10, "{damaged} terms files");
    site.write(
        "content/news/new.md",
        &report("新发布", "2023-04-01", &even_body(30)),
    );
    let rebuilt =
        build(&cached).unwrap_or_else(|e| panic!("a damaged cache failed the build: {e}"));
    assert!(
        rebuilt
            .warnings
            .iter()
            .any(|w| w.message.contains("could not be read")),
        "{:?}",
        rebuilt.warnings
    );
    assert!(
        matches!(
            rebuilt.cache,
            CacheUse::Reused {
                indexed: Some(14),
                ..
            }
        ),
        "{}",
        rebuilt.cache
    );
    build(&clean).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        portal_files(&site.root().join("public")) == portal_files(&clean_dir.path().join("public")),
        "the rebuilt site differs from a build without the cache"
    );
    // The index was kept again: the next publish indexes one report.
    site.write(
        "content/news/newer.md",
        &report("更新发布", "2023-04-02", &even_body(31)),
    );
    let next = build(&cached).unwrap_or_else(|e| panic!("{e}"));
    assert!(next.warnings.is_empty(), "{:?}", next.warnings);
    assert!(
        matches!(
            next.cache,
            CacheUse::Reused {
                indexed: Some(1),
                ..
            }
        ),
        "{}",
        next.cache
    );
}

/// A section's printed collection holds every report of it: a report
/// published in another section, or a section's intro changed, leaves it
/// as it was, unmade.
#[test]
fn a_printed_collection_is_made_again_only_when_its_reports_change() {
    use gazette::build::{BuildCache, BuildOptions, Quiet, generate, generate_cached};
    let site = TestSite::new();
    site.write("content/notices/_index.md", "---\ntitle: 通知公告\n---\n");
    site.write(
        "content/notices/n1.md",
        &report("通知一", "2023-01-02", "通知正文。"),
    );
    let options = BuildOptions {
        root: site.root().to_path_buf(),
        ..Default::default()
    };
    let mut cache = BuildCache::default();
    let mut exact = |what: &str| {
        let incremental = generated_files(
            generate_cached(&options, &Quiet, Some(&mut cache)).unwrap_or_else(|e| panic!("{e}")),
        );
        let full = generated_files(generate(&options).unwrap_or_else(|e| panic!("{e}")));
        assert!(incremental == full, "{what}: differs from a full build");
        cache.prints_last()
    };
    assert_eq!(exact("the first build"), 2, "news and notices");
    site.write(
        "content/news/second.md",
        &report("第二篇", "2023-01-03", "正文二。"),
    );
    assert_eq!(exact("a report published in news"), 1);
    site.write(
        "content/notices/_index.md",
        "---\ntitle: 通知公告\n---\n\n本栏目发布通知。\n",
    );
    assert_eq!(exact("the notices intro written"), 0);
    site.write(
        "content/notices/_index.md",
        "---\ntitle: 通知与公告\n---\n\n本栏目发布通知。\n",
    );
    assert_eq!(
        exact("the notices retitled"),
        2,
        "the title is in every page's menu"
    );
}

#[test]
fn serve_keeps_the_last_good_site_and_shows_errors() {
    let site = TestSite::new();
    let served = Served::start(&site);
    let events = served.events();
    breaks_and_mends(&site, &served, &events, ("/news/first/", "第一篇"));
}

/// A report with an error is saved and then mended: the page is told the
/// error (with file and line), the last good site (`good`: a path and
/// what its page says) is served meanwhile, and the mended report is.
fn breaks_and_mends(
    site: &TestSite,
    served: &Served,
    events: &std::sync::mpsc::Receiver<String>,
    good: (&str, &str),
) {
    site.write(
        "content/news/bad.md",
        "---\ntitle: 坏\ndate_published: 2022年12月24日\n---\n正文\n",
    );
    let failed = next_event(events, "failed");
    assert!(
        failed.contains("content/news/bad.md:3: date_published"),
        "{failed}"
    );
    let (status, page) = served.get(good.0);
    assert_eq!(status, 200, "the last good site is still served");
    assert!(page.contains(good.1));
    // A page opened while the error stands gets it at once.
    let late = served.events();
    assert!(next_event(&late, "failed").contains("content/news/bad.md:3: date_published"));
    site.write("content/news/bad.md", &report("好了", "2022-12-26", "正文"));
    next_event(events, "reload");
    served.wait_for("/news/bad/", "fixed", |status, b| {
        status == 200 && b.contains("好了")
    });
}

#[test]
fn a_burst_of_saves_costs_at_most_two_rebuilds() {
    let site = TestSite::new();
    let served = Served::start(&site);
    let events = served.events();
    for i in 0..50 {
        site.write(
            "content/news/first.md",
            &report("第一篇", "2022-12-24", &format!("第{i}次保存。")),
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    next_event(&events, "reload");
    served.wait_for("/news/first/", "burst", |_, b| b.contains("第49次保存"));
    std::thread::sleep(std::time::Duration::from_millis(600));
    let rebuilds = served.rebuilds();
    assert!(
        (1..=2).contains(&rebuilds),
        "{rebuilds} rebuilds:\n{}",
        served.log.lock().unwrap()
    );
    // Editor leftovers change nothing, nor does opening a report.
    site.write("content/news/.first.md.swp", "x");
    site.write("content/news/4913", "x");
    std::fs::read(site.root().join("content/news/_index.md")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert_eq!(
        served.rebuilds(),
        rebuilds,
        "editor temp files or opening a report caused a rebuild"
    );
    // The served page is what a full build writes, but for the live-reload tag.
    site.build(&["--base-url", &format!("http://127.0.0.1:{}/", served.port)])
        .assert_ok();
    let built = site.read("news/first/index.html");
    assert_eq!(served.page_as_built("/news/first/"), built);
}

/// A site too large for the memory is built to disk by `gazette build`
/// processes and served from there: saves, errors and escapes behave as
/// they do in memory.
#[test]
fn serve_on_disk_rebuilds_and_keeps_the_last_good_site() {
    let (site, served, events) = serve_and_save(&["--on-disk"]);
    let preview = site.root().join(".gazette-cache/preview");
    assert!(preview.join("news/second/index.html").is_file());
    assert!(!site.out().exists(), "the site's own output is left alone");

    breaks_and_mends(&site, &served, &events, ("/news/second/", "改过的正文"));

    std::fs::remove_file(site.root().join("content/news/second.md")).unwrap();
    next_event(&events, "reload");
    served.wait_for("/news/second/", "delete", |status, _| status == 404);
    assert_eq!(served.get("/news").0, 301, "a folder without its slash");
    served.refuses(&[
        "/../site.yaml",
        "/%2e%2e/site.yaml",
        // (The preview is ROOT/.gazette-cache/preview.)
        "/..%2f..%2fsite.yaml",
        "/news/..%2f..%2f..%2fsite.yaml",
        "/.gazette-output",
    ]);
    // The pages are the build's, with the live-reload tag added.
    let built = std::fs::read_to_string(preview.join("news/bad/index.html")).unwrap();
    assert_eq!(served.page_as_built("/news/bad/"), built);
}

/// Serve watches the folders a build reads, not the output folder or the
/// build cache beside them (a large site's output has more folders than
/// Linux lets a user watch), and a site folder made while it runs is
/// watched from then on.
#[test]
fn serve_watches_the_sites_folders_only() {
    let site = TestSite::new();
    // An output folder of 400 folders, as a build leaves it.
    for i in 0..400 {
        site.write(&format!("public/r{i}/index.html"), "<p>old</p>");
    }
    let served = Served::start(&site);
    #[cfg(target_os = "linux")]
    {
        // Each watched folder is one `inotify wd:` line of the watcher's
        // file descriptor: the root, content/ and content/news/.
        let pid = served.child.id();
        let watches = || -> usize {
            std::fs::read_dir(format!("/proc/{pid}/fdinfo"))
                .unwrap()
                .flatten()
                .map(|fd| std::fs::read_to_string(fd.path()).unwrap_or_default())
                .map(|info| info.matches("inotify wd:").count())
                .sum()
        };
        // (The watcher starts once the site is served.)
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while watches() < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        let watched = watches();
        assert!(
            (3..10).contains(&watched),
            "{watched} folders watched for a site of 3"
        );
    }
    let events = served.events();
    assert_eq!(served.get("/added.css").0, 404);
    site.write("static/added.css", "p { color: #111; }\n");
    next_event(&events, "");
    served.wait_for("/added.css", "a new static folder", |status, b| {
        status == 200 && b.contains("#111")
    });
    // The new folder is watched: a change in it is seen, and the page is
    // told. (A copied file is read when it is asked for, so its bytes
    // alone would not show it.)
    std::thread::sleep(std::time::Duration::from_millis(500));
    while events.try_recv().is_ok() {}
    site.write("static/added.css", "p { color: #222; }\n");
    next_event(&events, "");
}

#[test]
fn serve_answers_only_with_the_sites_files() {
    let site = TestSite::new();
    site.write(
        "content/政务公开/通知.md",
        &report("通知", "2022-12-24", "正文"),
    );
    let served = Served::start(&site);
    assert_eq!(
        served
            .get("/%E6%94%BF%E5%8A%A1%E5%85%AC%E5%BC%80/%E9%80%9A%E7%9F%A5/")
            .0,
        200,
        "percent-encoded Chinese path"
    );
    assert_eq!(
        served.get("/news").0,
        301,
        "a folder without its slash is redirected"
    );
    served.refuses(&[
        "/../site.yaml",
        "/%2e%2e/site.yaml",
        "/news/..%2f..%2fsite.yaml",
        "/content/news/first.md",
    ]);
    let (_, css) = served.get("/static/gazette.css");
    assert!(css.contains(".site-header"));
}

#[test]
fn build_watch_writes_again_after_a_change() {
    let site = TestSite::new();
    let mut child = Command::new(BIN)
        .args(["build", "--watch", "--root"])
        .arg(site.root())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let page = site.out().join("news/first/index.html");
    let wait = |what: &str, ready: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while !ready() {
            assert!(std::time::Instant::now() < deadline, "{what}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait("first build", &|| page.is_file());
    std::thread::sleep(std::time::Duration::from_millis(300));
    site.write(
        "content/news/first.md",
        &report("第一篇", "2022-12-24", "监视后的正文。"),
    );
    wait("rebuild", &|| {
        std::fs::read_to_string(&page).is_ok_and(|p| p.contains("监视后的正文"))
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !std::fs::read_to_string(&page)
            .unwrap()
            .contains("__gazette"),
        "a build never carries the live-reload script"
    );
}

// ---------------------------------------------------------------------------
// Search.

/// A query, its filters (facet, value) and whether results are by date.
type SearchCase = (&'static str, Vec<(&'static str, &'static str)>, bool);

/// Queries, filters and sort orders the browser engine is checked on.
fn search_cases() -> Vec<SearchCase> {
    vec![
        ("扫黑除恶", vec![], false),
        ("法治政府", vec![], false),
        ("法治政府", vec![], true),
        ("法治政府建设", vec![], false),
        ("街道办", vec![], false),
        // Three characters: the phrase terms that begin with them, and
        // their own where a run ends with them.
        ("办事处", vec![], false),
        ("安全生", vec![], false),
        ("年度报", vec![], true),
        ("遂城街道办事处", vec![], false),
        ("\"法治 政府\"", vec![], false),
        ("扫", vec![], false),
        ("遂城", vec![], false),
        ("遂城", vec![("type", "通知")], false),
        ("2023", vec![("year", "2023")], true),
        ("2022年", vec![], false),
        ("街道 办事处", vec![], false),
        ("\"安全生产\"", vec![], false),
        ("遂城办〔2023〕15号", vec![], false),
        ("不存在的词语", vec![], false),
        ("GB/T", vec![], false),
        ("records", vec![], false),
        ("polic", vec![], false),
        ("\"retention policy\"", vec![], false),
        ("open government", vec![("validity", "Repealed")], false),
    ]
}

#[test]
fn the_browser_search_matches_the_reference_engine() {
    let Some(t) = tools(&["node"]) else { return };
    // Each site twice: with the shipped position-file threshold, and with
    // every term's positions in a file of its own.
    for (root, own_position_file) in [
        ("site-content", None),
        ("site-content", Some(0)),
        ("site-content/agency", None),
        ("site-content/agency", Some(0)),
    ] {
        let options = gazette::build::BuildOptions {
            root: manifest_dir().join(root),
            ..Default::default()
        };
        let generated = gazette::build::generate(&options).unwrap_or_else(|e| panic!("{e}"));
        let index = gazette::search::SearchIndex::build(&generated.site, &generated.config);
        let dir = tempfile::tempdir().unwrap();
        let files = match own_position_file {
            Some(bytes) => gazette::search::shards::shards_with(&index, bytes, 8),
            None => gazette::search::shards::shards(&index),
        };
        if own_position_file.is_some() {
            assert!(
                files.iter().any(|f| f.name.starts_with("q-")),
                "{root}: terms have position files of their own"
            );
            assert!(
                files
                    .iter()
                    .any(|f| f.name.starts_with("dir-") && f.script.contains("],[")),
                "{root}: common shard keys are split into parts"
            );
        }
        for file in files {
            std::fs::write(
                dir.path().join(format!("{}.js", file.name)),
                file.script.as_bytes(),
            )
            .unwrap();
        }
        let mut dated_apart = false;
        let cases: Vec<serde_json::Value> = search_cases()
            .into_iter()
            .map(|(query, filters, by_date)| {
                let mut f = gazette::search::Filters::new();
                for (facet, value) in &filters {
                    f.entry(facet.to_string()).or_default().insert(value.to_string());
                }
                let found = index.search(query, &f, by_date);
                if by_date {
                    let dates: Vec<&str> = found.iter().map(|r| index.docs[r.0 as usize].date.as_str()).collect();
                    assert!(dates.is_sorted_by(|a, b| a >= b), "{root}: {query} by date, newest first: {dates:?}");
                    dated_apart |= dates.first() > dates.last();
                }
                let filters: BTreeMap<&str, Vec<&str>> = filters.iter().map(|(k, v)| (*k, vec![*v])).collect();
                serde_json::json!({
                    "query": query,
                    "filters": filters,
                    "by_date": by_date,
                    "docs": found.iter().map(|r| r.0).collect::<Vec<_>>(),
                    "scores": found.iter().map(|r| r.1).collect::<Vec<_>>(),
                    "titles": found.iter().take(3).map(|r| index.docs[r.0 as usize].title.clone()).collect::<Vec<_>>(),
                })
            })
            .collect();
        assert!(
            cases
                .iter()
                .any(|c| c["docs"].as_array().unwrap().len() > 1),
            "{root}: some query finds several reports"
        );
        assert!(
            dated_apart,
            "{root}: a query by date finds reports of different dates"
        );
        let expect = dir.path().join("expect.json");
        std::fs::write(&expect, serde_json::to_string(&cases).unwrap()).unwrap();
        let output = Command::new(&t[0])
            .arg("--test")
            .arg(manifest_dir().join("tests/js/"))
            .env("GAZETTE_SEARCH_DIR", dir.path())
            .env("GAZETTE_SEARCH_EXPECT", &expect)
            .output()
            .expect("run node");
        let report = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{root}:\n{report}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            report.contains("# fail 0") && report.contains("# skipped 0"),
            "{report}"
        );
    }
}

// ---------------------------------------------------------------------------
// Tools from outside: the W3C Nu HTML Checker and headless Chromium.

fn vnu_jar() -> Option<PathBuf> {
    let path = std::env::var_os("GAZETTE_VNU_JAR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("node_modules/vnu-jar/build/dist/vnu.jar"));
    path.is_file().then_some(path)
}

#[test]
fn demo_portal_passes_the_nu_html_checker() {
    let Some(jar) = vnu_jar() else {
        assert!(
            !in_ci(),
            "CI=true but vnu.jar is missing: run `npm ci` (see .ci/run)"
        );
        eprintln!("skipped: vnu.jar not installed (npm ci)");
        return;
    };
    for args in [
        &[][..],
        &["--base-url", "https://example.gov.cn/portal/"][..],
    ] {
        let (_keep, out) = build_demo(args);
        let output = Command::new("java")
            .arg("-jar")
            .arg(&jar)
            .args(["--errors-only", "--skip-non-html"])
            .arg(&out)
            .output()
            .expect("run java");
        let report = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && report.trim().is_empty(),
            "Nu HTML Checker errors:\n{report}"
        );
    }
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// The DOM of `page` after its scripts ran, in a window `width` wide.
fn dump_dom(browser: &Path, page: &Path, width: u32) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--window-size={width},2000"))
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn chromium_args(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    .iter()
    .map(|a| a.to_string())
    .chain(std::iter::once(format!(
        "--user-data-dir={}",
        profile.display()
    )))
    .collect()
}

/// Prints `page` to PDF the way the browser's print dialog would.
fn print_to_pdf(browser: &Path, page: &Path, pdf: &Path) {
    let profile = tempfile::tempdir().unwrap();
    let status = Command::new(browser)
        .args(chromium_args(profile.path()))
        .arg("--no-pdf-header-footer")
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        pdf.is_file(),
        "no PDF: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// The tools a test needs, or `None` (and a skip) outside CI.
fn tools(names: &[&str]) -> Option<Vec<PathBuf>> {
    let found: Vec<Option<PathBuf>> = names
        .iter()
        .map(|n| {
            ["/usr/bin", "/usr/local/bin"]
                .iter()
                .map(|d| Path::new(d).join(n))
                .find(|p| p.is_file())
        })
        .collect();
    if found.iter().all(Option::is_some) {
        return Some(found.into_iter().flatten().collect());
    }
    assert!(
        !in_ci(),
        "CI=true but one of {names:?} is missing (see .ci/run)"
    );
    eprintln!("skipped: needs {names:?}");
    None
}

/// The text of each page of `pdf`, as `pdftotext -layout` lays it out.
fn pdf_pages(pdftotext: &Path, pdf: &Path) -> Vec<String> {
    let output = Command::new(pdftotext)
        .arg("-layout")
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_string).collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

/// Checks a printed report: A4, `— n —` on every page, no chrome, the
/// signature and date on the last page. Returns the pages' text.
fn assert_gbt9704_print(pdf: &Path, pdfinfo: &Path, pdftotext: &Path) -> Vec<String> {
    let info = String::from_utf8_lossy(&Command::new(pdfinfo).arg(pdf).output().unwrap().stdout)
        .into_owned();
    assert!(
        info.contains("Page size:       594.96 x 841.92 pts (A4)"),
        "{info}"
    );
    let pages = pdf_pages(pdftotext, pdf);
    assert!(pages.len() >= 2, "{} pages", pages.len());
    for (i, page) in pages.iter().enumerate() {
        let compact: String = page.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(
            compact.contains(&format!("—{}—", i + 1)),
            "page {} has no page number — {} —:\n{page}",
            i + 1,
            i + 1
        );
        for chrome in [
            "您当前的位置",
            "政务动态",
            "扫一扫在手机打开当前页",
            "上一篇",
            "网站标识码",
            "字号",
        ] {
            assert!(
                !page.contains(chrome),
                "page {} prints the page's chrome ({chrome})",
                i + 1
            );
        }
    }
    let last: String = pages
        .last()
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(
        last.contains("遂溪县人民政府遂城街道办事处") && last.contains("2022年12月8日"),
        "signature not on the last page:\n{last}"
    );
    pages
}

#[test]
fn seed_prints_as_a_gbt9704_document() {
    let Some(browser) = chromium() else {
        assert!(!in_ci(), "CI=true but chromium is not installed");
        return;
    };
    let Some(t) = tools(&["pdfinfo", "pdftotext"]) else {
        return;
    };
    let (keep, out) = build_demo(&[]);
    let report = out.join(SEED_PAGE);
    // The print page, and the report page printed with 打印本页.
    for page in [report.with_file_name("print.html"), report.clone()] {
        let pdf = keep.path().join("seed.pdf");
        let _ = std::fs::remove_file(&pdf);
        print_to_pdf(&browser, &page, &pdf);
        let pages = assert_gbt9704_print(&pdf, &t[0], &t[1]);
        // A full page holds 22 lines of text (GB/T 9704-2012 5.2.3).
        let lines = pages[1]
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.contains('—'))
            .count();
        assert_eq!(lines, 22, "page 2 of {}:\n{}", page.display(), pages[1]);
    }
}

#[test]
fn the_qr_code_decodes_to_the_reports_address() {
    let Some(browser) = chromium() else {
        assert!(!in_ci(), "CI=true but chromium is not installed");
        return;
    };
    let Some(t) = tools(&["zbarimg"]) else { return };
    let (keep, out) = build_demo(&["--base-url", "https://example.gov.cn/portal/"]);
    for (page, expected) in [
        (
            SEED_PAGE,
            "https://example.gov.cn/portal/xxgk/fdzdgknr/fzzfjs/2022-fazhi-zhengfu-jianshe-baogao/",
        ),
        (
            "xxgk/fdzdgknr/tzgg/关于开展2023年安全生产月活动的通知/index.html",
            "https://example.gov.cn/portal/xxgk/fdzdgknr/tzgg/%E5%85%B3%E4%BA%8E%E5%BC%80%E5%B1%952023%E5%B9%B4%E5%AE%89%E5%85%A8%E7%94%9F%E4%BA%A7%E6%9C%88%E6%B4%BB%E5%8A%A8%E7%9A%84%E9%80%9A%E7%9F%A5/",
        ),
    ] {
        let share = out.join(page).with_file_name("share.html");
        let png = keep.path().join("share.png");
        let profile = tempfile::tempdir().unwrap();
        Command::new(&browser)
            .args(chromium_args(profile.path()))
            .args(["--hide-scrollbars", "--window-size=800,1200"])
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}", share.display()))
            .output()
            .unwrap();
        let decoded = Command::new(&t[0])
            .args(["-q", "--raw"])
            .arg(&png)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&decoded.stdout).trim(), expected);
    }
}

/// A static file server on loopback for browser tests: serves `dir` under
/// `prefix` (e.g. `/portal/`) with `Content-Security-Policy: script-src
/// 'self'`, as a strict government host would. Stops when dropped.
struct TestServer {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl TestServer {
    fn start(dir: PathBuf, prefix: &'static str) -> TestServer {
        use std::io::{BufRead, BufReader, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
            while !flag.load(std::sync::atomic::Ordering::Relaxed)
                && std::time::Instant::now() < deadline
            {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let target = request.split_whitespace().nth(1).unwrap_or("/");
                let path = percent_decode(target.split('?').next().unwrap_or("/"));
                let file = path.strip_prefix(prefix).map(|rest| {
                    let f = dir.join(rest);
                    if rest.is_empty() || rest.ends_with('/') {
                        f.join("index.html")
                    } else {
                        f
                    }
                });
                let mut stream = stream;
                match file.filter(|f| f.is_file() && !rest_escapes(&path)) {
                    Some(f) => {
                        let body = std::fs::read(&f).unwrap();
                        let kind = match f.extension().and_then(|e| e.to_str()) {
                            Some("html") => "text/html; charset=utf-8",
                            Some("js") => "text/javascript; charset=utf-8",
                            Some("css") => "text/css; charset=utf-8",
                            Some("svg") => "image/svg+xml",
                            _ => "application/octet-stream",
                        };
                        let _ = write!(
                            stream,
                            "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nContent-Security-Policy: script-src 'self'; object-src 'none'\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(&body);
                    }
                    None => {
                        let _ = write!(
                            stream,
                            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        );
                    }
                }
            }
        });
        TestServer { port, stop }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn rest_escapes(path: &str) -> bool {
    path.split('/').any(|s| s == "..")
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The DOM of a page at `url` after its scripts ran.
fn dump_url(browser: &Path, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(browser)
        .args(chromium_args(profile.path()))
        .args(["--virtual-time-budget=8000", "--dump-dom"])
        .arg(url)
        .output()
        .expect("run chromium");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The titles of the search results in a dumped search page.
fn result_titles(dom: &str) -> Vec<String> {
    dom.split("<h2 class=\"search-title\">")
        .skip(1)
        .map(|part| {
            let start = part.find('>').unwrap() + 1;
            part[start..start + part[start..].find("</a>").unwrap()].to_string()
        })
        .collect()
}

fn search_status(dom: &str) -> String {
    let start = dom.find("id=\"search-status\"").expect("search page");
    let text = &dom[start..];
    let open = text.find('>').unwrap() + 1;
    text[open..open + text[open..].find('<').unwrap()].to_string()
}

#[test]
fn the_search_page_finds_reports_from_disk_and_under_a_sub_path() {
    let Some(browser) = chromium() else {
        assert!(!in_ci(), "CI=true but chromium is not installed");
        return;
    };
    const SEED_TITLE: &str = "遂溪县人民政府遂城街道办事处关于2022年度法治政府建设情况的报告";
    // From disk, with relative links.
    let (_keep, out) = build_demo(&[]);
    let page = |query: &str| format!("file://{}?{query}", out.join("search/index.html").display());
    let dom = dump_url(&browser, &page("q=%E6%89%AB%E9%BB%91%E9%99%A4%E6%81%B6"));
    assert_eq!(result_titles(&dom), [SEED_TITLE], "扫黑除恶 from file://");
    assert!(
        dom.contains(
            "href=\"../xxgk/fdzdgknr/fzzfjs/2022-fazhi-zhengfu-jianshe-baogao/index.html\""
        ),
        "a link that works from disk"
    );
    assert!(
        dom.contains("<mark>扫黑除恶</mark>") || dom.contains("search-excerpt"),
        "an excerpt"
    );
    let dom = dump_url(
        &browser,
        &page("q=%E4%B8%8D%E5%AD%98%E5%9C%A8%E7%9A%84%E8%AF%8D%E8%AF%AD"),
    );
    assert!(result_titles(&dom).is_empty());
    assert_eq!(search_status(&dom), "没有找到包含“不存在的词语”的信息。");
    let all = result_titles(&dump_url(&browser, &page("q=%E9%81%82%E5%9F%8E")));
    let notices = result_titles(&dump_url(
        &browser,
        &page("q=%E9%81%82%E5%9F%8E&type=%E9%80%9A%E7%9F%A5"),
    ));
    assert!(
        all.len() > notices.len() && !notices.is_empty(),
        "a filter narrows {all:?} to {notices:?}"
    );
    // Over HTTP under /portal/, with script-src 'self'.
    let (_keep2, served) = build_demo(&["--base-url", "https://example.gov.cn/portal/"]);
    let server = TestServer::start(served.clone(), "/portal/");
    let dom = dump_url(
        &browser,
        &server.url("/portal/search/?q=%E6%89%AB%E9%BB%91%E9%99%A4%E6%81%B6"),
    );
    assert_eq!(
        result_titles(&dom),
        [SEED_TITLE],
        "扫黑除恶 under /portal/ with a strict CSP"
    );
    // The demo keeps relative links, which work over HTTP as well.
    assert!(
        dom.contains(
            "href=\"../xxgk/fdzdgknr/fzzfjs/2022-fazhi-zhengfu-jianshe-baogao/index.html\""
        )
    );
    drop(server);
    // A site with site paths links results under its sub-path.
    let site = TestSite::new();
    site.write(
        "site.yaml",
        "name: 测试门户\nbase_url: https://example.gov.cn/portal/\n",
    );
    site.build(&[]).assert_ok();
    let server = TestServer::start(site.out(), "/portal/");
    let dom = dump_url(
        &browser,
        &server.url("/portal/search/?q=%E7%AC%AC%E4%B8%80%E7%AF%87"),
    );
    assert_eq!(result_titles(&dom), ["第一篇"]);
    assert!(dom.contains("href=\"/portal/news/first/\""), "{dom}");
}

#[test]
fn search_results_are_text_never_markup() {
    let Some(browser) = chromium() else {
        assert!(!in_ci(), "CI=true but chromium is not installed");
        return;
    };
    let site = TestSite::new();
    site.write("content/news/x.md", "---\ntitle: \"<img src=x onerror=alert(1)>警示\"\ndate_published: 2022-12-24\nsummary: \"<script>alert(2)</script>摘要\"\n---\n正文\n");
    site.build(&["--relative"]).assert_ok();
    let url = format!(
        "file://{}?q=%E8%AD%A6%E7%A4%BA",
        site.out().join("search/index.html").display()
    );
    let dom = dump_url(&browser, &url);
    assert_eq!(
        result_titles(&dom),
        ["&lt;img src=x onerror=alert(1)&gt;警示"]
    );
    assert!(
        !dom.contains("<img src=\"x\"") && !dom.contains("<script>alert(2)"),
        "{dom}"
    );
}

/// Runs axe-core (WCAG 2.0/2.1 A and AA rules) on a page, in elder mode or
/// not, and returns its violations as `rule (impact): elements`.
fn axe_violations(browser: &Path, page: &Path, query: &str, elder: bool) -> Vec<String> {
    let axe = manifest_dir().join("node_modules/axe-core/axe.min.js");
    let html = std::fs::read_to_string(page).unwrap();
    let elder_script = if elder {
        "<script>localStorage.setItem(\"gazette-elder\",\"on\")</script>"
    } else {
        ""
    };
    let runner = format!(
        "<script src=\"file://{}\"></script><script>window.addEventListener(\"load\",function(){{setTimeout(function(){{axe.run(document,{{runOnly:{{type:\"tag\",values:[\"wcag2a\",\"wcag2aa\",\"wcag21a\",\"wcag21aa\"]}}}}).then(function(r){{document.body.setAttribute(\"data-axe\",JSON.stringify(r.violations.map(function(v){{return v.id+\" (\"+v.impact+\"): \"+v.nodes.map(function(n){{return n.target.join(\" \")}}).join(\", \")}})));}});}},500);}});</script></body>",
        axe.display()
    );
    let probe = page.with_file_name("axe-probe.html");
    let html = html
        .replacen(
            "<meta charset=\"utf-8\">",
            &format!("<meta charset=\"utf-8\">{elder_script}"),
            1,
        )
        .replace("</body>", &runner);
    std::fs::write(&probe, html).unwrap();
    let dom = dump_url(browser, &format!("file://{}{query}", probe.display()));
    let _ = std::fs::remove_file(&probe);
    let start = dom
        .find("data-axe=\"")
        .unwrap_or_else(|| panic!("axe did not run on {}", page.display()))
        + 10;
    let json = dom[start..start + dom[start..].find('"').unwrap()]
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    serde_json::from_str(&json).unwrap()
}

/// A script of tests/js/ that drives the Debian chromium through
/// playwright-core (from `npm ci`): `node SCRIPT CHROMIUM OUT ARGS…` must
/// succeed.
struct BrowserScript {
    browser: PathBuf,
    node: PathBuf,
}

impl BrowserScript {
    /// `None` (skip) when chromium, node or playwright-core is missing —
    /// which fails the test when CI=true.
    fn find() -> Option<BrowserScript> {
        let (Some(browser), Some(node)) = (chromium(), tools(&["node"])) else {
            assert!(!in_ci(), "CI=true but chromium or node is missing");
            return None;
        };
        if !manifest_dir().join("node_modules/playwright-core").is_dir() {
            assert!(
                !in_ci(),
                "CI=true but node_modules/playwright-core is missing (npm ci)"
            );
            return None;
        }
        Some(BrowserScript {
            browser,
            node: node.into_iter().next()?,
        })
    }

    #[track_caller]
    fn run(&self, script: &str, out: &Path, args: &[&str]) {
        let run = Command::new(&self.node)
            .arg(manifest_dir().join("tests/js").join(script))
            .arg(&self.browser)
            .arg(out)
            .args(args)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{script}:\n{}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

/// Keyboard only, with real key events in Chromium (tests/js/keyboard.mjs):
/// the search box, a search, the first result, elder mode and 字号, each
/// reached with Tab and used with Enter or Space, and every stop visibly
/// focused.
#[test]
fn the_portal_can_be_used_with_the_keyboard_alone() {
    let Some(browser_script) = BrowserScript::find() else {
        return;
    };
    let (_dir, out) = build_demo(&[]);
    let report = "xxgk/fdzdgknr/fzzfjs/2022-fazhi-zhengfu-jianshe-baogao/index.html";
    let html = std::fs::read_to_string(out.join(report)).unwrap();
    let title = html
        .split("<h1")
        .nth(1)
        .and_then(|h| h.split_once('>'))
        .map(|(_, rest)| rest.split('<').next().unwrap())
        .unwrap();
    browser_script.run("keyboard.mjs", &out, &["扫黑除恶", title]);
}

/// Reflow (WCAG 2.1 1.4.10): every page type of both demos, at 320 CSS
/// px, in normal and elder mode, without scrolling sideways
/// (tests/js/reflow.mjs; wide tables scroll inside their own box).
#[test]
fn every_page_type_reflows_at_320_px() {
    let Some(browser_script) = BrowserScript::find() else {
        return;
    };
    // Relative links, so that every page finds its styles and script from
    // file://.
    let (_zh_dir, zh) = build_demo(&["--relative"]);
    let (_en_dir, en) = build_agency_demo(&["--relative"]);
    let seed = "xxgk/fdzdgknr/fzzfjs/2022-fazhi-zhengfu-jianshe-baogao";
    let zh_pages = [
        "index.html".to_string(),
        "xxgk/index.html".to_string(),
        format!("{seed}/index.html"),
        format!("{seed}/share.html"),
        format!("{seed}/print.html"),
        "xxgk/gknb/2022-gip-annual-report/index.html".to_string(),
        "xxgk/xxgkml/index.html".to_string(),
        "search/index.html?q=%E6%89%AB%E9%BB%91%E9%99%A4%E6%81%B6".to_string(),
        "wza/index.html".to_string(),
    ];
    // (404.html links its styles from the site root even in a relative
    // build, since a server shows it at any address, so it cannot be
    // looked at from file://; it shares the base layout checked here.)
    let en_pages = [
        "index.html".to_string(),
        "search/index.html?q=records".to_string(),
    ];
    for (out, pages) in [(&zh, &zh_pages[..]), (&en, &en_pages[..])] {
        let pages: Vec<&str> = pages.iter().map(String::as_str).collect();
        browser_script.run("reflow.mjs", out, &pages);
    }
}

#[test]
fn every_page_type_passes_axe_in_both_languages_and_modes() {
    let Some(browser) = chromium() else {
        assert!(!in_ci(), "CI=true but chromium is not installed");
        return;
    };
    if !manifest_dir()
        .join("node_modules/axe-core/axe.min.js")
        .is_file()
    {
        assert!(!in_ci(), "CI=true but axe-core is missing: run `npm ci`");
        return;
    }
    let (_a, zh) = build_demo(&[]);
    let (_b, en) = build_agency_demo(&[]);
    let pages = [
        (zh.join("index.html"), ""),
        (zh.join("xxgk/index.html"), ""),
        (zh.join(SEED_PAGE), ""),
        (
            zh.join("xxgk/fdzdgknr/fzzfjs/2022-fazhi-zhengfu-jianshe-baogao/share.html"),
            "",
        ),
        (
            zh.join("xxgk/fdzdgknr/fzzfjs/2022-fazhi-zhengfu-jianshe-baogao/print.html"),
            "",
        ),
        (zh.join("xxgk/gknb/2022-gip-annual-report/index.html"), ""),
        (zh.join("xxgk/xxgkml/index.html"), ""),
        (zh.join("wza/index.html"), ""),
        (
            zh.join("search/index.html"),
            "?q=%E6%89%AB%E9%BB%91%E9%99%A4%E6%81%B6",
        ),
        (zh.join("404.html"), ""),
        (en.join("index.html"), ""),
        (
            en.join("publications/policies/records-retention-policy-2020/index.html"),
            "",
        ),
        (en.join("search/index.html"), "?q=records"),
    ];
    let mut failures = Vec::new();
    for (page, query) in &pages {
        for elder in [false, true] {
            let violations = axe_violations(&browser, page, query, elder);
            if !violations.is_empty() {
                failures.push(format!(
                    "{} (elder {elder}): {violations:?}",
                    page.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Whether a payload ran: it marks the `<html>` element.
fn pwned(dom: &str) -> bool {
    let open = dom
        .find("<html")
        .map(|at| &dom[at..at + dom[at..].find('>').unwrap_or(0)])
        .unwrap_or("");
    open.contains("data-pwned")
}

#[test]
fn script_payloads_never_run_on_any_page() {
    let Some(browser) = chromium() else {
        assert!(!in_ci(), "CI=true but chromium is not installed");
        return;
    };
    const RUN: &str = "document.documentElement.setAttribute('data-pwned','1')";
    let img = format!("<img src=x onerror=\\\"{RUN}\\\">");
    let site = TestSite::new();
    site.write(
        "content/news/xss.md",
        &format!(
            "---\ntitle: \"{img}标题\"\nissuer: \"<script>{RUN}</script>机构\"\nsummary: \"\\\"><svg onload={RUN}>摘要\"\ntags: [\"<b onmouseover={RUN}>\"]\nkeywords: [\"</script><script>{RUN}</script>\"]\nindex_no: \"X-<i>1</i>\"\ntopics: [\"<u>主题</u>\"]\ndoc_no: \"{img}\"\ndate_published: 2022-12-24\nattachments:\n  - title: \"{img}附件\"\n    file: a.csv\n---\n\n{img}\n\n<script>{RUN}</script>\n\n[链接](javascript:{RUN})\n"
        ),
    );
    site.write("content/news/a.csv", "a,b\n");
    site.build(&["--relative"]).assert_ok();
    let pages = [
        "news/xss/index.html",
        "news/xss/share.html",
        "news/xss/print.html",
        "news/print/index.html",
        "news/index.html",
        "index.html",
        "catalogue/index.html",
    ];
    for page in pages {
        let path = site.out().join(page);
        assert!(path.is_file(), "{page}");
        let dom = dump_url(&browser, &format!("file://{}", path.display()));
        assert!(dom.contains("</body>"), "{page} did not load");
        assert!(!pwned(&dom), "a payload ran on {page}");
    }
    let search = dump_url(
        &browser,
        &format!(
            "file://{}?q=%E6%A0%87%E9%A2%98",
            site.out().join("search/index.html").display()
        ),
    );
    assert!(search.contains("search-title"), "the report is found");
    assert!(!pwned(&search), "a payload ran in the search results");
    let feed = site.read("atom.xml");
    assert!(
        !feed.contains("<script>") && !feed.contains("<img"),
        "the feed carries markup unescaped"
    );
}

/// Measures the signature block in a real browser: the 署名 ends two
/// characters from the right edge of the text, and the date starts two
/// characters right of the 署名's first character (GB/T 9704-2012 7.3.5.2).
#[test]
fn seed_signature_is_right_aligned_in_a_browser() {
    let Some(browser) = chromium() else {
        assert!(
            !in_ci(),
            "CI=true but chromium is not installed (apt-get install chromium)"
        );
        eprintln!("skipped: chromium not installed");
        return;
    };
    let (_keep, out) = build_demo(&[]);
    let page = out.join(SEED_PAGE);
    let html = std::fs::read_to_string(&page).unwrap();
    let probe = r#"<script>
window.addEventListener("load", function () {
  function box(el) { var r = document.createRange(); r.selectNodeContents(el); return r.getBoundingClientRect(); }
  var body = document.querySelector(".report-body").getBoundingClientRect();
  var name = box(document.querySelector(".signature-name"));
  var date = box(document.querySelector(".signature-date time"));
  var em = parseFloat(getComputedStyle(document.querySelector(".signature")).fontSize);
  document.body.setAttribute("data-probe", [body.right, name.left, name.right, date.left, em, document.documentElement.getAttribute("data-ready")].join(" "));
});
</script></body>"#;
    let probe_page = page.with_file_name("probe.html");
    std::fs::write(&probe_page, html.replace("</body>", probe)).unwrap();
    for width in [1280, 390] {
        let dom = dump_dom(&browser, &probe_page, width);
        let start = dom
            .find("data-probe=\"")
            .unwrap_or_else(|| panic!("no probe result at {width}px:\n{dom}"))
            + 12;
        let values: Vec<&str> = dom[start..].split('"').next().unwrap().split(' ').collect();
        let n: Vec<f64> = values[..5].iter().map(|v| v.parse().unwrap()).collect();
        let (body_right, name_left, name_right, date_left, em) = (n[0], n[1], n[2], n[3], n[4]);
        assert!(
            (body_right - 2.0 * em - name_right).abs() < 2.0,
            "at {width}px the 署名 is not 2 characters from the right: {values:?}"
        );
        assert!(
            (date_left - (name_left + 2.0 * em)).abs() < 2.0,
            "at {width}px the date does not start 2 characters in: {values:?}"
        );
        assert_eq!(
            values[5], "true",
            "the theme script did not run from file://"
        );
    }
}
