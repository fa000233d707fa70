//! Generates a benchmark corpus shaped like the seed report: N reports with
//! 10–20 KB Chinese bodies, numbered headings 一、/（一）, full front matter,
//! nested sections (10 top-level sections × 10 columns) and a table in every
//! tenth report. Deterministic: the same N gives the same files.
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
//! million terms at 0.05 and 17 million at 0.2). Without it, the output is
//! as it always was.

use std::fmt::Write as _;
use std::path::Path;

const SEED: &str = include_str!(
    "../site-content/content/xxgk/fdzdgknr/fzzfjs/2022-fazhi-zhengfu-jianshe-baogao.md"
);
const NUMERALS: [&str; 12] = [
    "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二",
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
        let front = format!(
            "---\ntitle: 示例县关于{year}年度第{i}项工作情况的报告\nissuer: 示例县第{}办公室\nsource: 本网\n\
             date_published: {year}-{month:02}-{day:02} {:02}:{:02}\ndate_written: {year}-{month:02}-{day:02}\n\
             summary: 第{i}项工作的主要措施、存在问题和下一步计划。\nkeywords: [工作报告, 示例]\n\
             signature:\n  name: 示例县第{}办公室\n---\n\n",
            i % 37,
            rng.below(24),
            rng.below(60),
            i % 37,
        );
        std::fs::write(
            out.join(format!("content/{section}/report-{i:06}.md")),
            front + &text,
        )
        .unwrap();
    }
    eprintln!("wrote {n} reports to {}", out.display());
}
