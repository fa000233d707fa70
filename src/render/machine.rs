//! The portal's machine-readable files: Atom feeds, the sitemap (split with
//! an index past 50,000 URLs), `robots.txt`, and the catalogue as CSV and
//! JSON. Pure functions from data to bytes; XML is written by hand with
//! every value escaped.

use serde::Serialize;

/// The most URLs one sitemap file may hold (sitemaps.org).
pub const SITEMAP_MAX_URLS: usize = 50_000;

/// Escapes text for XML content and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// One entry of an Atom feed, all URLs absolute, all times RFC 3339.
pub struct FeedEntry {
    pub id: String,
    pub title: String,
    pub link: String,
    pub updated: String,
    pub published: Option<String>,
    pub author: String,
    pub summary: Option<String>,
    pub categories: Vec<String>,
}

/// An Atom feed (RFC 4287).
pub struct Feed {
    pub id: String,
    pub title: String,
    /// The feed's own address.
    pub self_link: String,
    /// The page the feed is the feed of.
    pub alternate: String,
    pub author: String,
    pub lang: &'static str,
    pub entries: Vec<FeedEntry>,
}

impl Feed {
    /// The feed as XML. `updated` is the newest entry's time, so a feed
    /// changes only when its entries do; a feed needs at least one entry.
    pub fn to_xml(&self) -> Option<String> {
        let updated = self.entries.iter().map(|e| e.updated.as_str()).max()?;
        let mut x = String::with_capacity(512 + self.entries.len() * 512);
        x.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        x.push_str(&format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{}\">\n",
            self.lang
        ));
        x.push_str(&format!("  <id>{}</id>\n", xml_escape(&self.id)));
        x.push_str(&format!("  <title>{}</title>\n", xml_escape(&self.title)));
        x.push_str(&format!("  <updated>{updated}</updated>\n"));
        x.push_str(&format!(
            "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
            xml_escape(&self.self_link)
        ));
        x.push_str(&format!(
            "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            xml_escape(&self.alternate)
        ));
        x.push_str(&format!(
            "  <author><name>{}</name></author>\n",
            xml_escape(&self.author)
        ));
        x.push_str("  <generator>Gazette</generator>\n");
        for e in &self.entries {
            x.push_str("  <entry>\n");
            x.push_str(&format!("    <id>{}</id>\n", xml_escape(&e.id)));
            x.push_str(&format!("    <title>{}</title>\n", xml_escape(&e.title)));
            x.push_str(&format!(
                "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
                xml_escape(&e.link)
            ));
            x.push_str(&format!("    <updated>{}</updated>\n", e.updated));
            if let Some(published) = &e.published {
                x.push_str(&format!("    <published>{published}</published>\n"));
            }
            x.push_str(&format!(
                "    <author><name>{}</name></author>\n",
                xml_escape(&e.author)
            ));
            for c in &e.categories {
                x.push_str(&format!("    <category term=\"{}\"/>\n", xml_escape(c)));
            }
            if let Some(summary) = &e.summary {
                x.push_str(&format!("    <summary>{}</summary>\n", xml_escape(summary)));
            }
            x.push_str("  </entry>\n");
        }
        x.push_str("</feed>\n");
        Some(x)
    }
}

/// A URL of the sitemap, absolute, with its last modification date.
pub struct SitemapUrl {
    pub loc: String,
    pub lastmod: Option<String>,
}

/// The sitemap files: `sitemap.xml` alone, or — past [`SITEMAP_MAX_URLS`] —
/// `sitemap.xml` as an index of `sitemap-1.xml`, `sitemap-2.xml`, ….
/// `base` is the absolute URL of the site's root, ending in `/`.
pub fn sitemaps(urls: &[SitemapUrl], base: &str, max: usize) -> Vec<(String, String)> {
    fn urlset(urls: &[SitemapUrl]) -> String {
        let mut x = String::with_capacity(100 + urls.len() * 120);
        x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
        for u in urls {
            x.push_str("  <url><loc>");
            x.push_str(&xml_escape(&u.loc));
            x.push_str("</loc>");
            if let Some(lastmod) = &u.lastmod {
                x.push_str("<lastmod>");
                x.push_str(lastmod);
                x.push_str("</lastmod>");
            }
            x.push_str("</url>\n");
        }
        x.push_str("</urlset>\n");
        x
    }
    if urls.len() <= max {
        return vec![("sitemap.xml".to_string(), urlset(urls))];
    }
    let mut files = Vec::new();
    let mut index = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for (i, chunk) in urls.chunks(max).enumerate() {
        let name = format!("sitemap-{}.xml", i + 1);
        index.push_str(&format!("  <sitemap><loc>{}{name}</loc>", xml_escape(base)));
        if let Some(newest) = chunk.iter().filter_map(|u| u.lastmod.as_deref()).max() {
            index.push_str(&format!("<lastmod>{newest}</lastmod>"));
        }
        index.push_str("</sitemap>\n");
        files.push((name, urlset(chunk)));
    }
    index.push_str("</sitemapindex>\n");
    files.insert(0, ("sitemap.xml".to_string(), index));
    files
}

/// `robots.txt`: everything may be crawled; the sitemap is named.
pub fn robots(sitemap: &str) -> String {
    format!("User-agent: *\nAllow: /\n\nSitemap: {sitemap}\n")
}

/// One row of the catalogue downloads. The field names are the front
/// matter's, so a row reads back into what the report's file says.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct CatalogueRecord {
    pub index_no: String,
    pub title: String,
    /// The report's page; empty for a document disclosed on request.
    pub url: String,
    pub issuer: String,
    pub doc_no: String,
    pub doc_type: String,
    pub topics: Vec<String>,
    pub catalogue: String,
    pub date_written: String,
    pub date_published: String,
    pub date_effective: String,
    pub validity: String,
    pub disclosure: String,
    pub summary: String,
}

/// The fields of [`CatalogueRecord`] in CSV column order.
const CSV_HEADER: [&str; 14] = [
    "index_no",
    "title",
    "url",
    "issuer",
    "doc_no",
    "doc_type",
    "topics",
    "catalogue",
    "date_written",
    "date_published",
    "date_effective",
    "validity",
    "disclosure",
    "summary",
];

/// The catalogue as CSV: UTF-8 with a byte-order mark (so Excel on Windows
/// opens Chinese text correctly), one header row, topics separated by `;`.
/// `records` gives the rows, once to count the bytes and once to write
/// them ([`sized`]).
pub fn catalogue_csv<I>(records: impl Fn() -> I) -> Vec<u8>
where
    I: Iterator<Item = CatalogueRecord>,
{
    sized(|out| {
        out.write_all("\u{feff}".as_bytes())?;
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(out);
        writer.write_record(CSV_HEADER)?;
        for r in records() {
            let topics = r.topics.join(";");
            writer.write_record([
                &r.index_no,
                &r.title,
                &r.url,
                &r.issuer,
                &r.doc_no,
                &r.doc_type,
                &topics,
                &r.catalogue,
                &r.date_written,
                &r.date_published,
                &r.date_effective,
                &r.validity,
                &r.disclosure,
                &r.summary,
            ])?;
        }
        writer.flush()
    })
}

/// The catalogue as JSON: `{"site": …, "items": [...]}`, its items from
/// `records` as [`catalogue_csv`] takes them.
pub fn catalogue_json<I>(site: &str, records: impl Fn() -> I) -> Vec<u8>
where
    I: Iterator<Item = CatalogueRecord>,
{
    /// The items, made one at a time as they are written.
    struct Items<F>(F);
    impl<F, I> Serialize for Items<F>
    where
        F: Fn() -> I,
        I: Iterator<Item = CatalogueRecord>,
    {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq((self.0)())
        }
    }
    #[derive(Serialize)]
    #[serde(bound(serialize = "Items<F>: Serialize"))]
    struct Document<'a, F> {
        site: &'a str,
        items: Items<F>,
    }
    let document = Document {
        site,
        items: Items(records),
    };
    sized(|out| {
        serde_json::to_writer_pretty(&mut *out, &document)?;
        out.write_all(b"\n")
    })
}

/// What `write` writes, in a buffer of just its size: it is run twice, the
/// first time only counting the bytes. A download of the catalogue of
/// 100,000 reports is 40 to 70 MB; grown by doubling, its buffer took up to
/// twice that while it was copied, and with the rows made all at once
/// first, the downloads raised the peak memory of such a build by 240 MB.
fn sized(write: impl Fn(&mut dyn std::io::Write) -> std::io::Result<()>) -> Vec<u8> {
    /// Counts what is written to it.
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to memory fails only where the data cannot be written at
    // all (a value serde cannot write), and then the same way both times.
    if write(&mut count).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::with_capacity(count.0);
    if write(&mut bytes).is_err() {
        return Vec::new();
    }
    debug_assert_eq!(bytes.len(), count.0, "both writes give the same bytes");
    bytes
}

/// Reads the CSV download back (for tests and for teams' own tooling).
pub fn read_catalogue_csv(bytes: &[u8]) -> Result<Vec<CatalogueRecord>, csv::Error> {
    let text = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut reader = csv::Reader::from_reader(text);
    reader
        .records()
        .map(|row| {
            let row = row?;
            let get = |i: usize| row.get(i).unwrap_or_default().to_string();
            Ok(CatalogueRecord {
                index_no: get(0),
                title: get(1),
                url: get(2),
                issuer: get(3),
                doc_no: get(4),
                doc_type: get(5),
                topics: get(6)
                    .split(';')
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect(),
                catalogue: get(7),
                date_written: get(8),
                date_published: get(9),
                date_effective: get(10),
                validity: get(11),
                disclosure: get(12),
                summary: get(13),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_site_gets_a_sitemap_index() {
        let urls: Vec<SitemapUrl> = (0..120_000)
            .map(|i| SitemapUrl {
                loc: format!("https://a.gov.cn/p/{i}/"),
                lastmod: Some(format!("2022-01-{:02}", i % 28 + 1)),
            })
            .collect();
        let files = sitemaps(&urls, "https://a.gov.cn/", SITEMAP_MAX_URLS);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "sitemap.xml",
                "sitemap-1.xml",
                "sitemap-2.xml",
                "sitemap-3.xml"
            ]
        );
        assert!(files[0].1.contains("<sitemapindex"));
        assert_eq!(files[0].1.matches("<sitemap>").count(), 3);
        let mut total = 0;
        for (_, xml) in &files[1..] {
            let count = xml.matches("<url>").count();
            assert!(count <= SITEMAP_MAX_URLS, "{count}");
            total += count;
        }
        assert_eq!(total, 120_000);
    }

    #[test]
    fn a_small_site_gets_one_sitemap() {
        let urls = [SitemapUrl {
            loc: "https://a.gov.cn/?a=1&b=2".into(),
            lastmod: None,
        }];
        let files = sitemaps(&urls, "https://a.gov.cn/", SITEMAP_MAX_URLS);
        assert_eq!(files.len(), 1);
        assert!(
            files[0]
                .1
                .contains("<loc>https://a.gov.cn/?a=1&amp;b=2</loc>")
        );
    }

    #[test]
    fn csv_round_trips_awkward_text() {
        let record = CatalogueRecord {
            index_no: "4408-2022-001".into(),
            title: "关于\"双减\"工作的通知, 第二版".into(),
            url: "https://a.gov.cn/x/".into(),
            issuer: "遂城街道".into(),
            doc_no: "遂城办〔2022〕12号".into(),
            doc_type: "notice".into(),
            topics: vec!["综合政务\\政务公开".into(), "教育".into()],
            catalogue: "法定主动公开内容/通知".into(),
            date_written: "2022-12-08".into(),
            date_published: "2022-12-24 09:30".into(),
            date_effective: String::new(),
            validity: "effective".into(),
            disclosure: "proactive".into(),
            summary: "第一行\n第二行".into(),
        };
        let csv = catalogue_csv(|| std::iter::once(record.clone()));
        assert!(csv.starts_with("\u{feff}index_no,".as_bytes()));
        assert_eq!(
            read_catalogue_csv(&csv).unwrap(),
            std::slice::from_ref(&record)
        );
        let json: serde_json::Value =
            serde_json::from_slice(&catalogue_json("站", || std::iter::once(record.clone())))
                .unwrap();
        let back: CatalogueRecord = serde_json::from_value(json["items"][0].clone()).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn the_catalogue_downloads_are_made_in_buffers_of_their_size() {
        let record = |i: usize| CatalogueRecord {
            index_no: format!("4408-2022-{i:05}"),
            title: format!("关于第{i}项工作的通知"),
            url: format!("https://a.gov.cn/tzgg/{i}/"),
            doc_no: format!("遂城办〔2022〕{i}号"),
            topics: vec!["综合政务".into()],
            summary: "概述".repeat(i % 7),
            ..Default::default()
        };
        let records = || (0..5_000).map(record);
        let csv = catalogue_csv(records);
        let json = catalogue_json("站", records);
        // No spare room: a buffer grown by doubling would have some.
        assert_eq!(csv.capacity(), csv.len());
        assert_eq!(json.capacity(), json.len());
        assert_eq!(read_catalogue_csv(&csv).unwrap().len(), 5_000);
        let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(json["items"].as_array().unwrap().len(), 5_000);
        assert_eq!(json["items"][4_999]["index_no"], "4408-2022-04999");
    }

    #[test]
    fn feeds_take_their_time_from_the_newest_entry() {
        let entry = |t: &str| FeedEntry {
            id: format!("https://a.gov.cn/{t}/"),
            title: "A & B".into(),
            link: format!("https://a.gov.cn/{t}/"),
            updated: t.into(),
            published: None,
            author: "办".into(),
            summary: None,
            categories: vec![],
        };
        let feed = Feed {
            id: "https://a.gov.cn/".into(),
            title: "站".into(),
            self_link: "https://a.gov.cn/atom.xml".into(),
            alternate: "https://a.gov.cn/".into(),
            author: "办".into(),
            lang: "zh-CN",
            entries: vec![
                entry("2022-01-01T00:00:00+08:00"),
                entry("2023-01-01T00:00:00+08:00"),
            ],
        };
        let xml = feed.to_xml().unwrap();
        assert!(xml.contains("<updated>2023-01-01T00:00:00+08:00</updated>\n  <link rel=\"self\""));
        assert!(xml.contains("<title>A &amp; B</title>"));
        assert!(
            Feed {
                entries: vec![],
                ..feed
            }
            .to_xml()
            .is_none()
        );
    }
}
