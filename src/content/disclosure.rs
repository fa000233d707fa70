//! The disclosure vocabulary of a government document: its type (文种), how
//! it is disclosed (公开方式) and whether it is in effect (有效性), with the
//! Chinese and English names the interface shows.

use serde::{Deserialize, Serialize};

/// 文种: what kind of document a report is. Drives the checks a report must
/// pass and the catalogue's "by type" pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocType {
    Report,
    RuleOfLawReport,
    GipAnnualReport,
    Notice,
    Announcement,
    Opinion,
    Plan,
    Rule,
    NormativeDoc,
    Interpretation,
    News,
    Budget,
    TransparencyData,
    FoiRelease,
}

impl DocType {
    pub const ALL: [DocType; 14] = [
        DocType::Report,
        DocType::RuleOfLawReport,
        DocType::GipAnnualReport,
        DocType::Notice,
        DocType::Announcement,
        DocType::Opinion,
        DocType::Plan,
        DocType::Rule,
        DocType::NormativeDoc,
        DocType::Interpretation,
        DocType::News,
        DocType::Budget,
        DocType::TransparencyData,
        DocType::FoiRelease,
    ];

    /// The key as written in front matter (`rule_of_law_report`).
    pub fn key(self) -> &'static str {
        match self {
            DocType::Report => "report",
            DocType::RuleOfLawReport => "rule_of_law_report",
            DocType::GipAnnualReport => "gip_annual_report",
            DocType::Notice => "notice",
            DocType::Announcement => "announcement",
            DocType::Opinion => "opinion",
            DocType::Plan => "plan",
            DocType::Rule => "rule",
            DocType::NormativeDoc => "normative_doc",
            DocType::Interpretation => "interpretation",
            DocType::News => "news",
            DocType::Budget => "budget",
            DocType::TransparencyData => "transparency_data",
            DocType::FoiRelease => "foi_release",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            DocType::Report => "报告",
            DocType::RuleOfLawReport => "法治政府建设年度报告",
            DocType::GipAnnualReport => "政府信息公开工作年度报告",
            DocType::Notice => "通知",
            DocType::Announcement => "公告公示",
            DocType::Opinion => "意见",
            DocType::Plan => "规划计划",
            DocType::Rule => "规章",
            DocType::NormativeDoc => "行政规范性文件",
            DocType::Interpretation => "政策解读",
            DocType::News => "工作动态",
            DocType::Budget => "预决算",
            DocType::TransparencyData => "透明度数据",
            DocType::FoiRelease => "依申请公开答复",
        }
    }

    /// GOV.UK / US terms.
    pub fn english(self) -> &'static str {
        match self {
            DocType::Report => "Report",
            DocType::RuleOfLawReport => "Rule of law report",
            DocType::GipAnnualReport => "Open government information annual report",
            DocType::Notice => "Notice",
            DocType::Announcement => "Announcement",
            DocType::Opinion => "Opinion",
            DocType::Plan => "Plan",
            DocType::Rule => "Regulation",
            DocType::NormativeDoc => "Policy document",
            DocType::Interpretation => "Policy explainer",
            DocType::News => "News story",
            DocType::Budget => "Budget",
            DocType::TransparencyData => "Transparency data",
            DocType::FoiRelease => "FOI release",
        }
    }
}

/// 公开方式 / 公开属性.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disclosure {
    /// 主动公开: published on the portal.
    #[default]
    Proactive,
    /// 依申请公开: listed in the catalogue, given on request; no page.
    OnRequest,
    /// 不予公开: neither listed nor published.
    NotPublic,
}

impl Disclosure {
    pub fn chinese(self) -> &'static str {
        match self {
            Disclosure::Proactive => "主动公开",
            Disclosure::OnRequest => "依申请公开",
            Disclosure::NotPublic => "不予公开",
        }
    }

    pub fn english(self) -> &'static str {
        match self {
            Disclosure::Proactive => "Published",
            Disclosure::OnRequest => "Available on request",
            Disclosure::NotPublic => "Not published",
        }
    }
}

/// 有效性: whether a rule or policy document is in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    /// 有效
    Effective,
    /// 已修改
    Amended,
    /// 已废止
    Repealed,
    /// 已失效
    Expired,
}

impl Validity {
    pub fn key(self) -> &'static str {
        match self {
            Validity::Effective => "effective",
            Validity::Amended => "amended",
            Validity::Repealed => "repealed",
            Validity::Expired => "expired",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Validity::Effective => "有效",
            Validity::Amended => "已修改",
            Validity::Repealed => "已废止",
            Validity::Expired => "已失效",
        }
    }

    pub fn english(self) -> &'static str {
        match self {
            Validity::Effective => "In force",
            Validity::Amended => "Amended",
            Validity::Repealed => "Repealed",
            Validity::Expired => "Expired",
        }
    }

    /// Whether the page must carry a "not in effect" banner (国办发〔2017〕47号:
    /// 在已发布的原文件上作出明确标注).
    pub fn needs_banner(self) -> bool {
        self != Validity::Effective
    }
}

/// A file published with a report (附件), as its front matter names it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct AttachmentRef {
    pub title: String,
    /// The path as written: relative to the report's file, or from
    /// `content/` when it starts with `/`.
    pub file: String,
    /// The line of the front matter that names the file.
    pub line: usize,
}

/// A link in a report's 相关链接 list.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RelatedLink {
    pub text: String,
    /// A full address, a site path or a content file (`../a.md`).
    pub href: String,
    /// The line of the file that gives `href` (0 until read).
    #[serde(skip)]
    pub line: usize,
}

/// Checks a 文号 for the brackets GB/T 9704-2012 prescribes (六角括号 〔 〕).
/// Returns the corrected form when the year is in other brackets.
pub fn doc_no_fix(doc_no: &str) -> Option<String> {
    let pairs = [
        ('[', ']'),
        ('【', '】'),
        ('(', ')'),
        ('（', '）'),
        ('［', '］'),
        ('〖', '〗'),
    ];
    for (open, close) in pairs {
        if let Some(start) = doc_no.find(open) {
            let after = &doc_no[start + open.len_utf8()..];
            if let Some(end) = after.find(close) {
                let year = &after[..end];
                if year.len() == 4 && year.chars().all(|c| c.is_ascii_digit()) {
                    return Some(format!(
                        "{}〔{year}〕{}",
                        &doc_no[..start],
                        &after[end + close.len_utf8()..]
                    ));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_no_brackets_are_fixed() {
        assert_eq!(
            doc_no_fix("遂城办[2022]12号").as_deref(),
            Some("遂城办〔2022〕12号")
        );
        assert_eq!(
            doc_no_fix("遂城办【2022】12号").as_deref(),
            Some("遂城办〔2022〕12号")
        );
        assert_eq!(
            doc_no_fix("国办发(2017)47号").as_deref(),
            Some("国办发〔2017〕47号")
        );
        assert_eq!(doc_no_fix("国办发〔2017〕47号"), None);
        assert_eq!(doc_no_fix("Ref [A12]"), None);
    }

    #[test]
    fn doc_type_keys_round_trip() {
        for t in DocType::ALL {
            let parsed: DocType = serde_json::from_value(serde_json::json!(t.key())).unwrap();
            assert_eq!(parsed, t);
        }
    }
}
