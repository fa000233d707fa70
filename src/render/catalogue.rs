//! The 信息公开目录 pages — the whole catalogue and each topic, issuer, year
//! and document type, as paginated tables — and its CSV and JSON downloads.

use super::vars::page_context;
use minijinja::Value;
use minijinja::value::Serde;
use rayon::prelude::*;
use serde::Serialize;

use super::machine::{CatalogueRecord, catalogue_csv, catalogue_json};
use super::views::{Crumb, Pagination};
use super::{Contents, OutputError, OutputFile, Renderer, Sink};
use crate::catalogue::{Facet, Listing};
use crate::diagnostics::Diagnostic;
use crate::paths::UrlPath;
use crate::site::ReportId;

/// One row of a catalogue table.
#[derive(Serialize)]
struct Row<'a> {
    index_no: Option<&'a str>,
    title: &'a str,
    /// `None` for a document disclosed on request: it has no page.
    url: Option<&'a UrlPath>,
    issuer: Option<&'a str>,
    date_written: Option<String>,
    date_published: Option<String>,
    doc_no: Option<&'a str>,
    validity: Option<&'static str>,
    on_request: bool,
}

#[derive(Serialize)]
struct FacetLink<'a> {
    label: Value,
    url: &'a UrlPath,
    current: bool,
}

#[derive(Serialize)]
struct ValueLink<'a> {
    label: &'a str,
    url: &'a UrlPath,
    count: usize,
}

#[derive(Serialize)]
struct CatalogueView<'a> {
    title: String,
    url: &'a UrlPath,
    facets: Vec<FacetLink<'a>>,
    /// On a facet's own page: its values, with counts.
    values: Vec<ValueLink<'a>>,
    rows: Vec<Row<'a>>,
    total: usize,
    pagination: Option<Pagination<'a>>,
    csv: &'a UrlPath,
    json: &'a UrlPath,
}

impl<'a> Renderer<'a> {
    fn row(&self, id: ReportId) -> Row<'a> {
        let r = self.site.report(id);
        let f = &r.front;
        Row {
            index_no: f.index_no.as_deref(),
            title: &f.title,
            url: r.has_page.then_some(&r.url),
            issuer: f.issuer.as_deref(),
            date_written: f.date_written.map(|d| d.iso()),
            date_published: f.date_published.map(|d| d.date().iso()),
            doc_no: f.doc_no.as_deref(),
            validity: f.validity.map(|v| {
                if self.chinese {
                    v.chinese()
                } else {
                    v.english()
                }
            }),
            on_request: !r.has_page,
        }
    }

    /// Every page of the catalogue, each handed to `keep` as soon as it is
    /// made (in parallel); what `keep` returns is collected.
    pub(super) fn catalogue_pages<T: Send>(
        &self,
        keep: impl Fn(Result<OutputFile, Diagnostic>) -> Option<T> + Sync,
    ) -> Vec<T> {
        let c = self.catalogue;
        let title = self.string("catalogue");
        let crumbs_root = vec![
            (self.home_title().to_string(), UrlPath::root()),
            (title.clone(), c.url.clone()),
        ];
        // Breadcrumbs above the listings: the catalogue's, then each facet's.
        let mut trails: Vec<Vec<(String, UrlPath)>> = vec![crumbs_root[..1].to_vec()];
        // (listing, title, facet, trail): every listing of the catalogue.
        let mut listings: Vec<(&'a Listing, String, Option<&'a Facet>, usize)> =
            vec![(&c.all, title.clone(), None, 0)];
        let mut facet_pages = Vec::new();
        for facet in &c.facets {
            let facet_title = self.string(facet.kind.string_key());
            let mut crumbs = crumbs_root.clone();
            facet_pages.push(keep(self.facet_page(facet, &facet_title, &crumbs)));
            crumbs.push((facet_title.clone(), facet.url.clone()));
            trails.push(crumbs);
            for value in &facet.values {
                listings.push((
                    &value.listing,
                    value.label.clone(),
                    Some(facet),
                    trails.len() - 1,
                ));
            }
        }
        let jobs: Vec<(usize, usize)> = listings
            .iter()
            .enumerate()
            .flat_map(|(i, (listing, ..))| (0..listing.pages.len()).map(move |page| (i, page)))
            .collect();
        let mut kept: Vec<T> = facet_pages.into_iter().flatten().collect();
        kept.par_extend(jobs.into_par_iter().filter_map(|(i, page)| {
            let (listing, title, facet, trail) = &listings[i];
            keep(self.listing_page(listing, title, *facet, &trails[*trail], page))
        }));
        kept
    }

    fn facet_links(&self, current: Option<&Facet>) -> Vec<FacetLink<'a>> {
        self.catalogue
            .facets
            .iter()
            .map(|f| FacetLink {
                label: Value::from(self.string(f.kind.string_key())),
                url: &f.url,
                current: current.is_some_and(|c| c.kind == f.kind),
            })
            .collect()
    }

    fn catalogue_page(
        &self,
        url: &UrlPath,
        view: CatalogueView<'_>,
        crumbs: &[(String, UrlPath)],
    ) -> Result<OutputFile, Diagnostic> {
        let crumb_views: Vec<Crumb<'_>> = crumbs
            .iter()
            .map(|(title, url)| Crumb {
                title,
                url,
                current: false,
            })
            .chain(std::iter::once(Crumb {
                title: &view.title,
                url: view.url,
                current: true,
            }))
            .collect();
        let ctx = page_context!(self.base_context(url, &view.title, None, self.config.language.tag(), &self.catalogue.url);
            catalogue => Value::from(Serde(&view)),
            breadcrumbs => Value::from(Serde(crumb_views)),
        );
        let bytes = self.render_template("catalogue.html", ctx, None)?;
        Ok(OutputFile {
            path: url.output_file(),
            contents: Contents::Bytes(bytes),
        })
    }

    fn listing_page(
        &self,
        listing: &'a Listing,
        title: &str,
        facet: Option<&'a Facet>,
        crumbs: &[(String, UrlPath)],
        page: usize,
    ) -> Result<OutputFile, Diagnostic> {
        let per_page = self
            .config
            .catalogue
            .paginate
            .unwrap_or(self.config.paginate);
        let view = CatalogueView {
            title: title.to_string(),
            url: &listing.pages[0],
            facets: self.facet_links(facet),
            values: Vec::new(),
            rows: listing
                .items
                .iter()
                .skip(page * per_page)
                .take(per_page)
                .map(|id| self.row(*id))
                .collect(),
            total: listing.items.len(),
            pagination: (listing.pages.len() > 1).then(|| Pagination::of(&listing.pages, page)),
            csv: &self.catalogue.csv,
            json: &self.catalogue.json,
        };
        self.catalogue_page(&listing.pages[page], view, crumbs)
    }

    fn facet_page(
        &self,
        facet: &'a Facet,
        title: &str,
        crumbs: &[(String, UrlPath)],
    ) -> Result<OutputFile, Diagnostic> {
        let view = CatalogueView {
            title: title.to_string(),
            url: &facet.url,
            facets: self.facet_links(Some(facet)),
            values: facet
                .values
                .iter()
                .map(|v| ValueLink {
                    label: &v.label,
                    url: &v.listing.pages[0],
                    count: v.listing.items.len(),
                })
                .collect(),
            rows: Vec::new(),
            total: facet.values.len(),
            pagination: None,
            csv: &self.catalogue.csv,
            json: &self.catalogue.json,
        };
        self.catalogue_page(&facet.url, view, crumbs)
    }

    /// The catalogue as CSV and JSON, with the keys of front matter, each
    /// handed to `sink` as soon as it is made: the two downloads of a large
    /// site are tens of megabytes each, and each row is made as it is
    /// written rather than all of them first.
    pub(super) fn put_catalogue_downloads(&self, sink: &dyn Sink) -> Result<(), OutputError> {
        let base = &self.config.base_url;
        let records = || {
            self.catalogue.all.items.iter().map(|id| {
                let r = self.site.report(*id);
                let f = &r.front;
                let text = |v: &Option<String>| v.clone().unwrap_or_default();
                CatalogueRecord {
                    index_no: text(&f.index_no),
                    title: f.title.clone(),
                    url: if r.has_page {
                        base.absolute(&r.url)
                    } else {
                        String::new()
                    },
                    issuer: text(&f.issuer),
                    doc_no: text(&f.doc_no),
                    doc_type: f.doc_type.map(|t| t.key().to_string()).unwrap_or_default(),
                    topics: f.topics.clone(),
                    catalogue: text(&f.catalogue),
                    date_written: f.date_written.map(|d| d.iso()).unwrap_or_default(),
                    date_published: f.date_published.map(|d| d.display()).unwrap_or_default(),
                    date_effective: f.date_effective.map(|d| d.iso()).unwrap_or_default(),
                    validity: f.validity.map(|v| v.key().to_string()).unwrap_or_default(),
                    disclosure: match f.disclosure {
                        crate::content::disclosure::Disclosure::Proactive => "proactive",
                        crate::content::disclosure::Disclosure::OnRequest => "on_request",
                        crate::content::disclosure::Disclosure::NotPublic => "not_public",
                    }
                    .to_string(),
                    summary: text(&f.summary),
                }
            })
        };
        sink.put(OutputFile {
            path: self.catalogue.csv.output_file(),
            contents: Contents::Bytes(catalogue_csv(records)),
        })?;
        sink.put(OutputFile {
            path: self.catalogue.json.output_file(),
            contents: Contents::Bytes(catalogue_json(&self.config.name, records)),
        })
    }
}
