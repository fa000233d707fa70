//! The statistics of a 政府信息公开工作年度报告 (annual report on government
//! information disclosure), in the format of 国办公开办函〔2021〕30号, and the
//! arithmetic the format itself prints as a rule: per column, 第一项加第二项之和
//! 等于第三项加第四项之和; every 总计 equals the sum of its parts.
//!
//! The statistics live in the report's front matter under `gip_stats`; the
//! render stage turns them into the standard tables. A row or number left
//! out counts as zero.

use serde::{Deserialize, Serialize};

/// The columns of the request table (表三): 自然人, then the five kinds of
/// 法人或其他组织, then 总计.
pub const REQUEST_COLUMNS: [&str; 7] = [
    "自然人",
    "商业企业",
    "科研机构",
    "社会公益组织",
    "法律服务机构",
    "其他",
    "总计",
];

/// One row of the request table, one number per column of [`REQUEST_COLUMNS`].
pub type Row = [u64; 7];

/// 本年制发件数 / 本年废止件数 / 现行有效件数.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct IssuedCount {
    pub issued: u64,
    pub repealed: u64,
    pub in_force: u64,
}

/// 二、主动公开政府信息情况.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Proactive {
    /// 第二十条第(一)项: 规章.
    pub rules: IssuedCount,
    /// 第二十条第(一)项: 行政规范性文件.
    pub normative_docs: IssuedCount,
    /// 第二十条第(五)项: 行政许可, 本年处理决定数量.
    pub licensing: u64,
    /// 第二十条第(六)项: 行政处罚.
    pub punishment: u64,
    /// 第二十条第(六)项: 行政强制.
    pub enforcement: u64,
    /// 第二十条第(八)项: 行政事业性收费, 本年收费金额 (万元).
    pub fees: f64,
}

/// 三、(三)不予公开, items 1–8.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Refused {
    pub state_secret: Row,
    pub prohibited_by_law: Row,
    pub three_safeties: Row,
    pub third_party: Row,
    pub internal_affairs: Row,
    pub process_information: Row,
    pub enforcement_files: Row,
    pub administrative_queries: Row,
}

/// 三、(四)无法提供, items 1–3.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Unavailable {
    pub not_held: Row,
    pub would_need_creating: Row,
    pub still_unclear: Row,
}

/// 三、(五)不予处理, items 1–5.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotProcessed {
    pub complaints: Row,
    pub repeated: Row,
    pub publications: Row,
    pub excessive: Row,
    pub confirmation: Row,
}

/// 三、(六)其他处理, items 1–3.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OtherHandling {
    pub no_correction: Row,
    pub no_fee: Row,
    pub other: Row,
}

/// 三、收到和处理政府信息公开申请情况.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Requests {
    /// 一、本年新收政府信息公开申请数量.
    pub received: Row,
    /// 二、上年结转政府信息公开申请数量.
    pub carried_over: Row,
    /// 三、(一)予以公开.
    pub granted: Row,
    /// 三、(二)部分公开.
    pub partly_granted: Row,
    pub refused: Refused,
    pub unavailable: Unavailable,
    pub not_processed: NotProcessed,
    pub other: OtherHandling,
    /// 三、(七)总计.
    pub total: Row,
    /// 四、结转下年度继续办理.
    pub carried_forward: Row,
}

/// 结果维持 / 结果纠正 / 其他结果 / 尚未审结 / 总计.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Outcomes {
    pub upheld: u64,
    pub corrected: u64,
    pub other: u64,
    pub pending: u64,
    pub total: u64,
}

/// 四、政府信息公开行政复议、行政诉讼情况.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Appeals {
    /// 行政复议.
    pub review: Outcomes,
    /// 行政诉讼: 未经复议直接起诉.
    pub litigation_direct: Outcomes,
    /// 行政诉讼: 复议后起诉.
    pub litigation_after_review: Outcomes,
}

/// The statistics of one annual report.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GipStats {
    pub proactive: Proactive,
    pub requests: Requests,
    pub appeals: Appeals,
}

/// A cell whose number does not add up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellProblem {
    /// Where the cell is in front matter: `["requests", "total"]`.
    pub path: Vec<&'static str>,
    pub message: String,
}

/// One labelled row of the request table, in table order.
pub struct LabelledRow<'a> {
    pub key: Vec<&'static str>,
    /// 一、 / (一) / 1. as printed.
    pub label: &'static str,
    /// 1 for 一、…, 2 for (一)…, 3 for 1. items.
    pub level: u8,
    /// The headings the row stands under: 三、本年度办理结果, then (三)…(六).
    pub groups: Vec<&'static str>,
    pub row: &'a Row,
}

/// The heading of the rows of 三、.
pub const HANDLED: &str = "三、本年度办理结果";

impl Requests {
    /// Every row of 表三 in the order the format prints them.
    pub fn rows(&self) -> Vec<LabelledRow<'_>> {
        let r = |key: Vec<&'static str>, label, level, row| {
            let groups = match key[0] {
                "received" | "carried_over" | "carried_forward" => vec![],
                "refused" => vec![HANDLED, "（三）不予公开"],
                "unavailable" => vec![HANDLED, "（四）无法提供"],
                "not_processed" => vec![HANDLED, "（五）不予处理"],
                "other" => vec![HANDLED, "（六）其他处理"],
                _ => vec![HANDLED],
            };
            LabelledRow {
                key,
                label,
                level,
                groups,
                row,
            }
        };
        let f = &self.refused;
        let u = &self.unavailable;
        let n = &self.not_processed;
        let o = &self.other;
        vec![
            r(
                vec!["received"],
                "一、本年新收政府信息公开申请数量",
                1,
                &self.received,
            ),
            r(
                vec!["carried_over"],
                "二、上年结转政府信息公开申请数量",
                1,
                &self.carried_over,
            ),
            r(vec!["granted"], "（一）予以公开", 2, &self.granted),
            r(
                vec!["partly_granted"],
                "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
                2,
                &self.partly_granted,
            ),
            r(
                vec!["refused", "state_secret"],
                "1.属于国家秘密",
                3,
                &f.state_secret,
            ),
            r(
                vec!["refused", "prohibited_by_law"],
                "2.其他法律行政法规禁止公开",
                3,
                &f.prohibited_by_law,
            ),
            r(
                vec!["refused", "three_safeties"],
                "3.危及“三安全一稳定”",
                3,
                &f.three_safeties,
            ),
            r(
                vec!["refused", "third_party"],
                "4.保护第三方合法权益",
                3,
                &f.third_party,
            ),
            r(
                vec!["refused", "internal_affairs"],
                "5.属于三类内部事务信息",
                3,
                &f.internal_affairs,
            ),
            r(
                vec!["refused", "process_information"],
                "6.属于四类过程性信息",
                3,
                &f.process_information,
            ),
            r(
                vec!["refused", "enforcement_files"],
                "7.属于行政执法案卷",
                3,
                &f.enforcement_files,
            ),
            r(
                vec!["refused", "administrative_queries"],
                "8.属于行政查询事项",
                3,
                &f.administrative_queries,
            ),
            r(
                vec!["unavailable", "not_held"],
                "1.本机关不掌握相关政府信息",
                3,
                &u.not_held,
            ),
            r(
                vec!["unavailable", "would_need_creating"],
                "2.没有现成信息需要另行制作",
                3,
                &u.would_need_creating,
            ),
            r(
                vec!["unavailable", "still_unclear"],
                "3.补正后申请内容仍不明确",
                3,
                &u.still_unclear,
            ),
            r(
                vec!["not_processed", "complaints"],
                "1.信访举报投诉类申请",
                3,
                &n.complaints,
            ),
            r(
                vec!["not_processed", "repeated"],
                "2.重复申请",
                3,
                &n.repeated,
            ),
            r(
                vec!["not_processed", "publications"],
                "3.要求提供公开出版物",
                3,
                &n.publications,
            ),
            r(
                vec!["not_processed", "excessive"],
                "4.无正当理由大量反复申请",
                3,
                &n.excessive,
            ),
            r(
                vec!["not_processed", "confirmation"],
                "5.要求行政机关确认或重新出具已获取信息",
                3,
                &n.confirmation,
            ),
            r(
                vec!["other", "no_correction"],
                "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
                3,
                &o.no_correction,
            ),
            r(
                vec!["other", "no_fee"],
                "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
                3,
                &o.no_fee,
            ),
            r(vec!["other", "other"], "3.其他", 3, &o.other),
            r(vec!["total"], "（七）总计", 2, &self.total),
            r(
                vec!["carried_forward"],
                "四、结转下年度继续办理",
                1,
                &self.carried_forward,
            ),
        ]
    }
}

fn path(prefix: &[&'static str], rest: &[&'static str]) -> Vec<&'static str> {
    prefix.iter().chain(rest).copied().collect()
}

impl GipStats {
    /// Every cell that does not add up, with where it is and what it should be.
    pub fn check(&self) -> Vec<CellProblem> {
        let mut problems = Vec::new();
        let req = &self.requests;
        let rows = req.rows();
        // Each row's 总计 is the sum of its columns.
        for labelled in &rows {
            let sum: u64 = labelled.row[..6].iter().sum();
            if labelled.row[6] != sum {
                problems.push(CellProblem {
                    path: path(&["requests"], &labelled.key),
                    message: format!(
                        "表三「{}」, column 总计: {} but the other columns add up to {sum}",
                        labelled.label, labelled.row[6]
                    ),
                });
            }
        }
        // (七)总计 is the sum of (一) to (六), column by column.
        let handled: Vec<&LabelledRow> = rows
            .iter()
            .filter(|r| {
                r.key[0] != "received"
                    && r.key[0] != "carried_over"
                    && r.key[0] != "total"
                    && r.key[0] != "carried_forward"
            })
            .collect();
        for (c, column) in REQUEST_COLUMNS.iter().enumerate() {
            let sum: u64 = handled.iter().map(|r| r.row[c]).sum();
            if req.total[c] != sum {
                problems.push(CellProblem {
                    path: vec!["requests", "total"],
                    message: format!(
                        "表三「（七）总计」, column {column}: {} but （一）to（六）add up to {sum}",
                        req.total[c]
                    ),
                });
            }
            let left = req.received[c] + req.carried_over[c];
            let right = req.total[c] + req.carried_forward[c];
            if left != right {
                problems.push(CellProblem {
                    path: vec!["requests", "carried_forward"],
                    message: format!(
                        "表三, column {column}: 第一项加第二项之和 ({} + {} = {left}) 不等于 第三项加第四项之和 ({} + {} = {right})",
                        req.received[c], req.carried_over[c], req.total[c], req.carried_forward[c]
                    ),
                });
            }
        }
        let appeals = [
            ("review", "行政复议", &self.appeals.review),
            (
                "litigation_direct",
                "行政诉讼（未经复议直接起诉）",
                &self.appeals.litigation_direct,
            ),
            (
                "litigation_after_review",
                "行政诉讼（复议后起诉）",
                &self.appeals.litigation_after_review,
            ),
        ];
        for (key, label, o) in appeals {
            let sum = o.upheld + o.corrected + o.other + o.pending;
            if o.total != sum {
                problems.push(CellProblem {
                    path: vec!["appeals", key, "total"],
                    message: format!("表四「{label}」, 总计: {} but 结果维持, 结果纠正, 其他结果 and 尚未审结 add up to {sum}", o.total),
                });
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: [u64; 6]) -> Row {
        let mut r = [0; 7];
        r[..6].copy_from_slice(&cells);
        r[6] = cells.iter().sum();
        r
    }

    /// A table that adds up: 13 received, 2 carried over; 10 granted,
    /// 2 partly, 1 not held; 2 carried forward.
    pub(crate) fn balanced() -> GipStats {
        let mut s = GipStats::default();
        s.requests.received = row([10, 2, 0, 0, 1, 0]);
        s.requests.carried_over = row([2, 0, 0, 0, 0, 0]);
        s.requests.granted = row([8, 1, 0, 0, 1, 0]);
        s.requests.partly_granted = row([2, 0, 0, 0, 0, 0]);
        s.requests.unavailable.not_held = row([1, 0, 0, 0, 0, 0]);
        s.requests.total = row([11, 1, 0, 0, 1, 0]);
        s.requests.carried_forward = row([1, 1, 0, 0, 0, 0]);
        s.appeals.review = Outcomes {
            upheld: 1,
            corrected: 0,
            other: 0,
            pending: 1,
            total: 2,
        };
        s
    }

    #[test]
    fn a_balanced_table_passes() {
        assert_eq!(balanced().check(), []);
    }

    #[test]
    fn the_bad_cell_is_named() {
        let mut s = balanced();
        s.requests.carried_forward[1] = 0;
        s.requests.carried_forward[6] = 1;
        let problems = s.check();
        // The 商业企业 column and, through it, the 总计 column no longer balance.
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].path, ["requests", "carried_forward"]);
        assert!(
            problems[0].message.contains("column 商业企业"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn a_wrong_row_total_is_named() {
        let mut s = balanced();
        s.requests.granted[6] = 11;
        let messages: Vec<String> = s.check().into_iter().map(|p| p.message).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("（一）予以公开") && m.contains("add up to 10")),
            "{messages:?}"
        );
    }

    #[test]
    fn appeal_totals_are_checked() {
        let mut s = balanced();
        s.appeals.litigation_direct.total = 3;
        let problems = s.check();
        assert_eq!(problems[0].path, ["appeals", "litigation_direct", "total"]);
    }
}
