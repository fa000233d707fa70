//! Generates a benchmark corpus shaped like the seed report: N reports with
//! 10–20 KB Chinese bodies, numbered headings 一、/（一）, the disclosure
//! front matter of a catalogue item (索引号, 主题分类, 目录分类, 文种, and
//! by type a 文号, 有效性 and 实施日期), nested sections (10 top-level
//! sections × 10 columns), a table in every tenth report and two
//! attachments (a CSV table and a PDF) in every twenty-fifth, which is then
//! a folder of its own (`report-N/index.md` with its files, which Hugo
//! copies as page resources). Deterministic: the same N gives the same
//! files.
//!
//!     cargo run --release --example gen_corpus -- OUT_DIR N [VARY]
//!
//! The sentences all come from the seed report, so the whole corpus has the
//! vocabulary of that one report: some 18,000 distinct search terms at
//! 10,000 reports, where real reports bring new names, places and phrases,
//! and so new terms, with every report. With VARY (a fraction, say 0.05),
//! that share of the bodies' CJK characters is replaced by characters of
//! the seed drawn by their frequency, and the number of distinct terms
//! grows with the corpus (at 10,000 reports, a like replacement made 5.7
//! million terms at 0.05 and 17 million at 0.2). Without it, the bodies are
//! as they always were.
//!
//! [`CORPUS_VERSION`] (which `gen_corpus --version` prints) is written to
//! `OUT_DIR/.complete` at the end; the bench scripts make a corpus again
//! when it holds another version.

use std::fmt::Write as _;
use std::path::Path;

const SEED: &str = include_str!(
    "../site-content/content/xxgk/fdzdgknr/fzzfjs/2022-fazhi-zhengfu-jianshe-baogao.md"
);
const NUMERALS: [&str; 12] = [
    "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二",
];

/// The shape of the corpus this generator makes; raised with every change
/// to it, so that a corpus made by an older one is made again.
const CORPUS_VERSION: u32 = 2;

/// 主题分类 (the State Council's subject classification) the reports draw from.
const TOPICS: [&str; 16] = [
    "综合政务",
    "国民经济管理、国有资产监管",
    "财政、金融、审计",
    "国土资源、能源",
    "农业、林业、水利",
    "工业、交通",
    "商贸、海关、旅游",
    "市场监管、安全生产监管",
    "城乡建设、环境保护",
    "科技、教育",
    "文化、广电、新闻出版",
    "卫生、体育",
    "人口与计划生育、妇女儿童工作",
    "劳动、人事、监察",
    "公安、安全、司法",
    "民政、扶贫、救灾",
];

/// A small deterministic random number generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--version") {
        println!("{CORPUS_VERSION}");
        return;
    }
    if !(3..=4).contains(&args.len()) {
        eprintln!("usage: gen_corpus OUT_DIR N [VARY]");
        std::process::exit(2);
    }
    let out = Path::new(&args[1]);
    let usage = |what: &str| -> ! {
        eprintln!("usage: gen_corpus OUT_DIR N [VARY]: {what}");
        std::process::exit(2);
    };
    let n: usize = args[2]
        .parse()
        .unwrap_or_else(|_| usage("N must be a number"));
    let vary: f64 = args.get(3).map_or(0.0, |v| {
        v.parse()
            .ok()
            .filter(|v| (0.0..=1.0).contains(v))
            .unwrap_or_else(|| usage("VARY must be a fraction from 0 to 1, such as 0.05"))
    });
    let body = SEED.split("\n---\n").nth(1).expect("seed body");
    let is_cjk = |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c);
    // Every CJK character of the seed, as often as it occurs there.
    let pool: Vec<char> = body.chars().filter(|&c| is_cjk(c)).collect();
    // Its own generator, so that the corpus without VARY is unchanged.
    let mut vary_rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut meta_rng = Rng(0x94D0_49BB_1331_11EB);
    let threshold = (vary * 1_000_000.0) as u64;
    let sentences: Vec<&str> = body
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .flat_map(|l| l.split_inclusive('。'))
        .map(|s| {
            s.trim_start_matches(|c: char| {
                c == '(' || c == ')' || NUMERALS.iter().any(|n| n.starts_with(c))
            })
        })
        .filter(|s| s.chars().count() > 10)
        .collect();

    std::fs::create_dir_all(out).unwrap();
    std::fs::write(
        out.join("site.yaml"),
        "name: 基准测试门户\nbase_url: https://bench.example.gov.cn/portal/\nparent_org: 示例县人民政府\n\
         site_id_code: \"4400000000\"\nicp_no: 粤ICP备00000000号\npsb_no: 粤公网安备00000000000000号\n\
         sponsor: 示例县人民政府办公室\noperator: 示例县政务服务数据管理局\n",
    )
    .unwrap();
    let topics = [
        "综合政务",
        "财政",
        "法治",
        "应急",
        "民政",
        "教育",
        "卫生",
        "农业",
        "城建",
        "交通",
    ];
    for (t, topic) in topics.iter().enumerate() {
        let dir = out.join(format!("content/s{t:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("_index.md"),
            format!("---\ntitle: {topic}\nweight: {t}\n---\n"),
        )
        .unwrap();
        for c in 0..10 {
            let sub = dir.join(format!("c{c:02}"));
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(
                sub.join("_index.md"),
                format!("---\ntitle: {topic}栏目{}\n---\n", c + 1),
            )
            .unwrap();
        }
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..n {
        let section = format!("s{:02}/c{:02}", i % 10, (i / 10) % 10);
        let target = 10_000 + rng.below(10_000);
        let mut text = String::with_capacity(target + 2_000);
        let mut heading = 0;
        while text.len() < target {
            let _ = write!(
                text,
                "## {}、第{}部分工作情况\n\n",
                NUMERALS[heading % NUMERALS.len()],
                heading + 1
            );
            for p in 0..(2 + rng.below(4)) {
                let _ = write!(text, "（{}）", NUMERALS[p % NUMERALS.len()]);
                for _ in 0..(3 + rng.below(5)) {
                    text.push_str(sentences[rng.below(sentences.len())]);
                }
                text.push_str("\n\n");
            }
            heading += 1;
        }
        if i % 10 == 0 {
            text.push_str("| 项目 | 2022年 | 2023年 |\n|---|---:|---:|\n");
            for r in 0..8 {
                let _ = writeln!(
                    text,
                    "| 指标{} | {} | {} |",
                    r + 1,
                    rng.below(10_000),
                    rng.below(10_000)
                );
            }
        }
        if threshold > 0 {
            text = text
                .chars()
                .map(|c| {
                    if is_cjk(c) && vary_rng.next() % 1_000_000 < threshold {
                        pool[vary_rng.below(pool.len())]
                    } else {
                        c
                    }
                })
                .collect();
        }
        let year = 2015 + (i % 9);
        let month = 1 + rng.below(12);
        let day = 1 + rng.below(28);
        let (hour, minute) = (rng.below(24), rng.below(60));
        let issuer = i % 37;
        let mut front = format!(
            "---\ntitle: 示例县关于{year}年度第{i}项工作情况的报告\nissuer: 示例县第{issuer}办公室\nsource: 本网\n\
             date_published: {year}-{month:02}-{day:02} {hour:02}:{minute:02}\ndate_written: {year}-{month:02}-{day:02}\n\
             summary: 第{i}项工作的主要措施、存在问题和下一步计划。\nkeywords: [工作报告, 示例]\n\
             signature:\n  name: 示例县第{issuer}办公室\n",
        );
        // The disclosure fields, from a generator of their own so that the
        // bodies stay as they were before there were any.
        let _ = writeln!(front, "index_no: 4400000000-{year}-{i:06}");
        let first = meta_rng.below(TOPICS.len());
        let _ = match meta_rng.below(4) {
            0 => writeln!(
                front,
                "topics: [{}, {}]",
                TOPICS[first],
                TOPICS[(first + 1 + meta_rng.below(TOPICS.len() - 1)) % TOPICS.len()]
            ),
            _ => writeln!(front, "topics: [{}]", TOPICS[first]),
        };
        let _ = writeln!(front, "catalogue: 法定主动公开内容/{}", topics[i % 10]);
        let doc_type = match meta_rng.below(20) {
            0..=7 => "report",
            8..=10 => "notice",
            11..=12 => "announcement",
            13..=14 => "plan",
            15 => "opinion",
            16..=17 => "normative_doc",
            18 => "budget",
            _ => "news",
        };
        let _ = writeln!(front, "doc_type: {doc_type}");
        if !matches!(doc_type, "report" | "budget" | "news") {
            let _ = writeln!(
                front,
                "doc_no: 示县{issuer}办〔{year}〕{}号",
                1 + meta_rng.below(150)
            );
        }
        if doc_type == "normative_doc" || (doc_type == "notice" && meta_rng.below(3) == 0) {
            let validity = match meta_rng.below(20) {
                0 => "amended",
                1..=2 => "repealed",
                3 => "expired",
                _ => "effective",
            };
            let _ = writeln!(front, "validity: {validity}");
            let (year, month) = if month == 12 {
                (year + 1, 1)
            } else {
                (year, month + 1)
            };
            let _ = writeln!(front, "date_effective: {year}-{month:02}-{day:02}");
        }
        let path = if i % 25 == 0 {
            // A report with attachments is a folder with its files.
            let dir = out.join(format!("content/{section}/report-{i:06}"));
            std::fs::create_dir_all(&dir).unwrap();
            let mut table = String::from("项目,2022年,2023年,增减\n");
            for r in 0..(20 + meta_rng.below(40)) {
                let (a, b) = (meta_rng.below(100_000), meta_rng.below(100_000));
                let _ = writeln!(table, "指标{},{a},{b},{}", r + 1, b as i64 - a as i64);
            }
            std::fs::write(dir.join(format!("第{i}项工作数据表.csv")), table).unwrap();
            std::fs::write(dir.join(format!("report-{i:06}-shuoming.pdf")), pdf(i)).unwrap();
            let _ = write!(
                front,
                "attachments:\n  - title: 第{i}项工作数据表\n    file: 第{i}项工作数据表.csv\n\
                 \x20 - title: 第{i}项工作情况说明（PDF）\n    file: report-{i:06}-shuoming.pdf\n"
            );
            dir.join("index.md")
        } else {
            out.join(format!("content/{section}/report-{i:06}.md"))
        };
        front.push_str("---\n\n");
        std::fs::write(path, front + &text).unwrap();
    }
    std::fs::write(out.join(".complete"), format!("{CORPUS_VERSION}\n")).unwrap();
    eprintln!("wrote {n} reports to {}", out.display());
}

/// A one-page PDF of a few kilobytes, different for each report: what a
/// scanned 情况说明 attachment stands for here (its bytes are copied, not
/// read).
fn pdf(i: usize) -> Vec<u8> {
    let text = format!("BT /F1 12 Tf 72 720 Td (Report {i}: attachment) Tj ET\n").repeat(40);
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{text}endstream", text.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (n, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", n + 1).as_bytes());
    }
    let xref = pdf.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(tail, "{offset:010} 00000 n ");
    }
    let _ = write!(
        tail,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    pdf.extend_from_slice(tail.as_bytes());
    pdf
}
