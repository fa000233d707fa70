//! The 信息公开目录 (publication catalogue): every report that carries a 索引号
//! or a 目录分类, newest first, and the same items grouped by topic
//! (主题分类), issuer (发布机构), year and document type (文种), each group
//! with its own paginated pages.
//!
//! Built from the [`Site`] after it is assembled; the render stage turns it
//! into the catalogue pages and the CSV and JSON downloads.

use std::collections::BTreeMap;

use crate::config::{Config, Language};
use crate::content::disclosure::DocType;
use crate::paths::UrlPath;
use crate::site::{ReportId, Site, url_segment};

/// A way to group the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FacetKind {
    Topic,
    Issuer,
    Year,
    DocType,
}

impl FacetKind {
    pub const ALL: [FacetKind; 4] = [
        FacetKind::Topic,
        FacetKind::Issuer,
        FacetKind::Year,
        FacetKind::DocType,
    ];

    /// The URL segment of the facet's pages.
    pub fn segment(self) -> &'static str {
        match self {
            FacetKind::Topic => "topic",
            FacetKind::Issuer => "issuer",
            FacetKind::Year => "year",
            FacetKind::DocType => "type",
        }
    }

    /// The key of the facet's name in the theme's strings.
    pub fn string_key(self) -> &'static str {
        match self {
            FacetKind::Topic => "by_topic",
            FacetKind::Issuer => "by_issuer",
            FacetKind::Year => "by_year",
            FacetKind::DocType => "by_doc_type",
        }
    }
}

/// The pages of one list of items.
#[derive(Clone, Debug)]
pub struct Listing {
    /// Newest first.
    pub items: Vec<ReportId>,
    /// The URL of each page; at least one.
    pub pages: Vec<UrlPath>,
}

/// One group of a facet: one topic, one issuer, one year, one type.
#[derive(Clone, Debug)]
pub struct FacetValue {
    pub label: String,
    pub listing: Listing,
}

/// All the groups of one facet.
#[derive(Clone, Debug)]
pub struct Facet {
    pub kind: FacetKind,
    /// The page listing the facet's values.
    pub url: UrlPath,
    pub values: Vec<FacetValue>,
}

/// The whole catalogue.
#[derive(Clone, Debug)]
pub struct Catalogue {
    pub url: UrlPath,
    pub all: Listing,
    pub facets: Vec<Facet>,
    pub csv: UrlPath,
    pub json: UrlPath,
}

/// A facet value as a URL segment: the name with path separators and white
/// space made `-`.
fn facet_segment(name: &str) -> String {
    url_segment(&name.replace(['/', '\\', '?', '#', '%'], "-"))
}

fn listing(base: &UrlPath, items: Vec<ReportId>, per_page: usize) -> Listing {
    let count = items.len().div_ceil(per_page).max(1);
    let pages = (1..=count)
        .map(|n| {
            if n == 1 {
                base.clone()
            } else {
                base.child_page("page").child_page(&n.to_string())
            }
        })
        .collect();
    Listing { items, pages }
}

/// The year an item is filed under: the year it was written (成文), or
/// else published.
fn filing_year(site: &Site, id: ReportId) -> Option<i32> {
    let f = &site.report(id).front;
    f.date_written
        .map(|d| d.year())
        .or(f.date_published.map(|d| d.year()))
}

/// Builds the catalogue of `site`.
pub fn build(site: &Site, config: &Config) -> Catalogue {
    let url = UrlPath::parse(&config.catalogue.path);
    let per_page = config.catalogue.paginate.unwrap_or(config.paginate);
    let mut items = site.reports_by_date_all();
    items.retain(|&id| site.report(id).front.in_catalogue());

    let chinese = config.language == Language::ZhCn;
    let facets = FacetKind::ALL
        .iter()
        .map(|&kind| {
            // label → items, in newest-first order since `items` is.
            let mut groups: BTreeMap<(i64, String), Vec<ReportId>> = BTreeMap::new();
            for &id in &items {
                let f = &site.report(id).front;
                let keys: Vec<(i64, String)> = match kind {
                    FacetKind::Topic => f.topics.iter().map(|t| (0, t.clone())).collect(),
                    FacetKind::Issuer => f.issuer.iter().map(|i| (0, i.clone())).collect(),
                    FacetKind::Year => filing_year(site, id)
                        .map(|y| (-(y as i64), y.to_string()))
                        .into_iter()
                        .collect(),
                    FacetKind::DocType => f
                        .doc_type
                        .map(|t| {
                            let order =
                                DocType::ALL.iter().position(|x| *x == t).unwrap_or(0) as i64;
                            (
                                order,
                                if chinese { t.chinese() } else { t.english() }.to_string(),
                            )
                        })
                        .into_iter()
                        .collect(),
                };
                for key in keys {
                    groups.entry(key).or_default().push(id);
                }
            }
            let facet_url = url.child_page(kind.segment());
            let values = groups
                .into_iter()
                .map(|((_, label), ids)| {
                    let base = facet_url.child_page(&facet_segment(&label));
                    FacetValue {
                        listing: listing(&base, ids, per_page),
                        label,
                    }
                })
                .collect();
            Facet {
                kind,
                url: facet_url,
                values,
            }
        })
        .collect();

    Catalogue {
        all: listing(&url, items, per_page),
        facets,
        csv: url.child_file("catalogue.csv"),
        json: url.child_file("catalogue.json"),
        url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facet_segments_are_one_url_segment() {
        assert_eq!(facet_segment("综合政务\\政务公开"), "综合政务-政务公开");
        assert_eq!(facet_segment("a/b c"), "a-b-c");
    }
}
