//! `gazette init` and `gazette new report`: a working portal skeleton to
//! start from, and a new report with its required front matter, whose
//! placeholders the build refuses until they are replaced.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::Language;
use crate::content::disclosure::DocType;

/// The text that marks a value still to be filled in; a build fails on it.
pub const PLACEHOLDER_ZH: &str = "【请填写";
pub const PLACEHOLDER_EN: &str = "[fill in:";

/// Whether a front-matter value is a placeholder left by `gazette new`.
pub fn is_placeholder(value: &str) -> bool {
    value.contains(PLACEHOLDER_ZH) || value.contains(PLACEHOLDER_EN)
}

fn site_yaml(lang: Language) -> String {
    match lang {
        Language::ZhCn => r#"# 网站配置。完整说明见 Gazette 的 README（site.yaml 一节）。
name: 示例街道政务公开               # 网站名称（必填）
base_url: https://www.example.gov.cn/  # 网站正式地址（必填）；放在子目录下时写完整路径，如 https://www.example.gov.cn/jiedao/
language: zh-CN
# parent_org: 示例县人民政府          # 上级机关，显示在网站名称上方
# description: 示例街道办事处政府信息公开

# 底部功能区：政府网站必须展示的标识，按实际填写后取消注释
# sponsor: 示例县人民政府示例街道办事处   # 主办单位
# operator: 示例街道办事处党政综合办公室  # 承办单位
# site_id_code: "4400000000"            # 网站标识码（10 位）
# icp_no: 粤ICP备00000000号              # ICP备案号
# psb_no: 粤公网安备00000000000000号      # 公安机关备案号
# contact:
#   address: 示例县示例街道办事处
#   phone: 0000-0000000
#   email: gk@example.gov.cn

catalogue:
  path: /xxgk/xxgkml/                # 信息公开目录的地址

nav:
  - { title: 首页, url: / }
  - { title: 政府信息公开, url: /xxgk/ }
  - { title: 信息公开目录, url: /xxgk/xxgkml/ }
  - { title: 政务动态, url: /zwdt/ }
"#
        .to_string(),
        Language::En => r#"# Site configuration. See the README of Gazette (site.yaml) for every key.
name: Example Agency                   # the site's name (required)
base_url: https://www.example.gov/     # its public address (required), with any sub-path
language: en
# parent_org: Example County Government
# description: Publications of the Example Agency

# The footer. Fill in and uncomment.
# sponsor: Example Agency
# contact:
#   address: 1 Main Street, Example City
#   phone: (555) 010-0000
#   email: info@example.gov
# footer_links:
#   - { title: About, url: /about/ }
#   - { title: Accessibility statement, url: /accessibility/ }
#   - { title: FOIA requests, url: /foia/ }
#   - { title: Privacy policy, url: /privacy/ }

theme: agency
catalogue:
  path: /publications/catalogue/
"#
        .to_string(),
    }
}

/// The annual-report statistics of a sample (balanced: they add up).
const SAMPLE_STATS: &str = "gip_stats:
  proactive:
    normative_docs: { issued: 1, repealed: 0, in_force: 3 }
  requests:
    received:        [3, 1, 0, 0, 0, 0, 4]
    granted:         [2, 1, 0, 0, 0, 0, 3]
    unavailable:
      not_held:      [1, 0, 0, 0, 0, 0, 1]
    total:           [3, 1, 0, 0, 0, 0, 4]
";

/// One sample report of each document type.
fn sample(doc_type: DocType, lang: Language, serial: usize) -> String {
    let zh = lang == Language::ZhCn;
    let label = if zh {
        doc_type.chinese()
    } else {
        doc_type.english()
    };
    let mut front = String::new();
    let _ = writeln!(front, "---");
    if zh {
        let _ = writeln!(front, "title: 示例{label}（请替换为正式标题）");
        let _ = writeln!(front, "issuer: 示例县人民政府示例街道办事处");
        let _ = writeln!(front, "source: 本网");
        let _ = writeln!(
            front,
            "summary: 这是一篇示例{label}，用于演示本栏目的版式。"
        );
        let _ = writeln!(front, "topics: [综合政务]");
    } else {
        let _ = writeln!(
            front,
            "title: Sample {} (replace with the real title)",
            label.to_lowercase()
        );
        let _ = writeln!(front, "issuer: Example Agency");
        let _ = writeln!(
            front,
            "summary: A sample {} showing how the site presents one.",
            label.to_lowercase()
        );
        let _ = writeln!(front, "topics: [Transparency]");
    }
    let _ = writeln!(front, "doc_type: {}", doc_type.key());
    let _ = writeln!(front, "index_no: SAMPLE-2024-{serial:04}");
    let _ = writeln!(front, "date_written: 2024-01-{:02}", serial + 1);
    let _ = writeln!(front, "date_published: 2024-01-{:02}", serial + 2);
    if matches!(doc_type, DocType::Rule | DocType::NormativeDoc) {
        let _ = writeln!(front, "validity: effective");
    }
    if doc_type == DocType::GipAnnualReport {
        front.push_str(SAMPLE_STATS);
    }
    let _ = writeln!(front, "sample: true");
    let _ = writeln!(front, "---");
    let body = if zh {
        format!(
            "\n这是一篇示例{label}。请把它替换为正式发布的内容，或删除本文件。\n\n## 一、第一部分\n\n正文段落。\n\n## 二、第二部分\n\n正文段落。\n"
        )
    } else {
        format!(
            "\nThis is a sample {}. Replace it with the real document, or delete this file.\n\n## 1. First part\n\nText.\n\n## 2. Second part\n\nText.\n",
            label.to_lowercase()
        )
    };
    front + &body
}

/// Writes a new site into `dir`, which must not hold a `site.yaml` yet.
pub fn init(dir: &Path, lang: Language) -> Result<Vec<String>, String> {
    if dir.join(crate::config::CONFIG_FILE).exists() {
        return Err(format!(
            "{} already holds a site (site.yaml exists); choose an empty folder",
            dir.display()
        ));
    }
    let zh = lang == Language::ZhCn;
    let mut files: Vec<(String, String)> = vec![("site.yaml".to_string(), site_yaml(lang))];
    let sections: &[(&str, &str, &str)] = if zh {
        &[
            (
                "content/_index.md",
                "示例街道政务公开",
                "本站由 Gazette 生成。示例内容均标注为“示例”，请替换为正式内容。",
            ),
            ("content/xxgk/_index.md", "政府信息公开", ""),
            (
                "content/xxgk/samples/_index.md",
                "法定主动公开内容（示例）",
                "",
            ),
            ("content/zwdt/_index.md", "政务动态", ""),
        ]
    } else {
        &[
            (
                "content/_index.md",
                "Example Agency",
                "This site is built with Gazette. Sample content is marked as such: replace it.",
            ),
            ("content/publications/_index.md", "Publications", ""),
            (
                "content/publications/samples/_index.md",
                "Sample publications",
                "",
            ),
            ("content/news/_index.md", "News", ""),
        ]
    };
    for (path, title, body) in sections {
        files.push((
            path.to_string(),
            format!("---\ntitle: {title}\n---\n\n{body}\n"),
        ));
    }
    let (folder, news) = if zh {
        ("content/xxgk/samples", "content/zwdt")
    } else {
        ("content/publications/samples", "content/news")
    };
    for (i, doc_type) in DocType::ALL.iter().enumerate() {
        let target = if *doc_type == DocType::News {
            news
        } else {
            folder
        };
        files.push((
            format!("{target}/sample-{}.md", doc_type.key().replace('_', "-")),
            sample(*doc_type, lang, i + 1),
        ));
    }
    let mut written = Vec::new();
    for (path, text) in files {
        let full = dir.join(&path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&full, text).map_err(|e| format!("cannot write {}: {e}", full.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// The text of a new report: every required field present, the ones only
/// its author can fill in as placeholders the build refuses.
pub fn new_report(lang: Language, today: &str) -> String {
    match lang {
        Language::ZhCn => format!(
            "---\ntitle: 【请填写标题：文件的正式全称】\nissuer: 【请填写发布机构全称】\nsource: 本网\ndate_published: {today}\n# date_written: {today}        # 成文日期\n# doc_type: notice               # 文种：report, notice, announcement, rule, normative_doc …\n# doc_no: 【请填写文号，如 某办〔2024〕1号】\n# index_no: 【请填写索引号】      # 列入信息公开目录的文件必填，同时填写 summary 和 topics\n# summary: 【请填写内容概述】\n# topics: [综合政务]\n# signature:\n#   name: 【请填写署名】\n---\n\n【请填写正文】\n"
        ),
        Language::En => format!(
            "---\ntitle: \"[fill in: the document's full title]\"\nissuer: \"[fill in: the issuing organisation]\"\ndate_published: {today}\n# doc_type: report               # report, notice, transparency_data, foi_release …\n# index_no: \"[fill in: reference]\"  # for the catalogue; then also summary and topics\n# summary: \"[fill in: a one-sentence summary]\"\n# topics: [Transparency]\n---\n\n[fill in: the text]\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_recognised() {
        assert!(is_placeholder("【请填写标题：文件的正式全称】"));
        assert!(is_placeholder("[fill in: the title]"));
        assert!(!is_placeholder("关于填写统计表的通知"));
    }
}
