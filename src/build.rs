//! `gazette build` as a function: runs every stage of the pipeline in order
//! and either writes the whole portal or, when anything is wrong, reports
//! every problem and leaves the previous output exactly as it was.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::bodies::BodyStore;
use crate::checks::{self, CheckContext, Vocabulary};
use crate::config::{BaseUrl, CONFIG_FILE, Config};
use crate::content::{self, BodyHook, LoadOptions, Skipped, SourceDoc};
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::disk_cache::{CacheKey, DiskCache, State, Written};
use crate::markdown::{self, MarkdownOptions, RenderedDoc};
use crate::output::{Collect, OutputError, Scratch, Sink, Stager, Updater, WriteStats};
use crate::paths::ContentPath;
use crate::render::{self, Contents, OutputFile, OutputSet};
use crate::search::{self, shards::IndexFile};
use crate::site::{self, Site};
use crate::theme::Theme;

/// The zone content is read in when `site.yaml` is broken (only to find
/// the content's own problems; nothing is built then).
const DEFAULT_TIMEZONE: chrono::FixedOffset = match chrono::FixedOffset::east_opt(8 * 3600) {
    Some(zone) => zone,
    None => panic!("a valid offset"),
};

/// What to build and how.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// The site root (the folder with `site.yaml`).
    pub root: PathBuf,
    /// The output folder; `ROOT/public` when `None`.
    pub out: Option<PathBuf>,
    /// Replaces `base_url` of `site.yaml`.
    pub base_url: Option<String>,
    /// Build reports marked `draft: true` too.
    pub drafts: bool,
    /// Write relative links ending in `index.html` (for browsing from disk),
    /// whatever `site.yaml` says.
    pub relative: bool,
    /// The time of the build, as seconds since the Unix epoch, for the
    /// checks of future and stale dates. `None` skips those checks. It never
    /// reaches the output.
    pub now: Option<i64>,
    /// Bytes of search postings held in memory before they are spilled to
    /// the scratch folder; the default when `None`. (Tests make it small
    /// to check that a spilled index is the same as one built in memory.)
    pub search_spill_budget: Option<usize>,
    /// Keep what this build read and rendered in the build cache
    /// (`ROOT/.gazette-cache`, [`crate::disk_cache`]) and take from it what
    /// the last build left there.
    pub cache: bool,
}

impl BuildOptions {
    pub fn out_dir(&self) -> PathBuf {
        self.out.clone().unwrap_or_else(|| self.root.join("public"))
    }
}

/// Why a build did not produce a site.
#[derive(Debug)]
pub enum BuildError {
    /// The command was pointed at the wrong place or given a bad option.
    Usage(String),
    /// The content, configuration or theme has errors: all of them, sorted,
    /// with the warnings.
    Content(Vec<Diagnostic>),
    /// The output could not be written.
    Output(OutputError),
}

/// The line that ends what a build with these errors says.
pub fn failed_with(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    format!(
        "build failed with {}; the previous output was left as it was",
        crate::terminal::counted(errors, "error")
    )
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Usage(message) => f.write_str(message),
            BuildError::Content(diagnostics) => {
                for d in diagnostics {
                    writeln!(f, "{d}")?;
                }
                f.write_str(&failed_with(diagnostics))
            }
            BuildError::Output(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// How long each stage took.
#[derive(Clone, Debug, Default)]
pub struct Timings {
    pub load: Duration,
    pub markdown: Duration,
    pub site: Duration,
    /// Pages and the search index are made at the same time: each is the
    /// time from their common start to its own end.
    pub render: Duration,
    pub search: Duration,
    pub write: Duration,
}

impl fmt::Display for Timings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "load {:.3} s, markdown {:.3} s, site {:.3} s, render {:.3} s, search {:.3} s (at once), write {:.3} s",
            self.load.as_secs_f64(),
            self.markdown.as_secs_f64(),
            self.site.as_secs_f64(),
            self.render.as_secs_f64(),
            self.search.as_secs_f64(),
            self.write.as_secs_f64(),
        )
    }
}

/// Told what a build is doing, for a progress bar. Called from worker
/// threads.
pub trait Progress: Sync {
    /// A stage begins, with the number of items it works through (0 when
    /// not counted).
    fn stage(&self, _name: &str, _items: usize) {}
    /// `n` more items of the stage are done.
    fn advance(&self, _n: usize) {}
}

/// No progress shown.
pub struct Quiet;

impl Progress for Quiet {}

/// What one build keeps for the next, so that `gazette serve` re-reads
/// only the files that changed, renders Markdown only for texts it has
/// not rendered before, re-indexes only the reports whose text changed
/// ([`search::LiveIndex`]) and renders again only the pages that can show
/// what changed ([`render::PageMemo`]). The site itself is assembled anew
/// on every build, and what is kept is kept under keys of everything it
/// was made from, so an incremental build gives exactly what a full build
/// gives (the tests compare every file after every kind of edit).
#[derive(Default)]
pub struct BuildCache {
    read: content::ReadCache,
    /// Rendered texts by a hash of the text, for the Markdown options in
    /// `markdown_options`.
    rendered: HashMap<u64, Arc<RenderedDoc>>,
    markdown_options: Option<(bool, Vec<String>)>,
    /// How many texts the last build rendered (the rest came from here).
    pub rendered_last: usize,
    /// The search index, re-indexing only the reports that changed.
    search: search::LiveIndex,
    /// Report pages, rendered again only when they can have changed.
    pages: render::PageMemo,
}

impl BuildCache {
    /// Files the last build read from disk.
    pub fn read_last(&self) -> usize {
        self.read.read_last
    }

    /// Tells the next build that, since the last one, only the files at
    /// `paths` (relative to the site's root) changed, as a watcher of the
    /// site's folders saw: it then looks at just those instead of walking
    /// the folders and stamping every file (a file added, removed or
    /// renamed still makes it walk them).
    pub fn trust_changes(&mut self, paths: Vec<PathBuf>) {
        self.read.changed = Some(paths);
    }

    /// Reports whose pages the last build rendered (the rest were kept).
    pub fn pages_last(&self) -> usize {
        self.pages.rendered_last
    }

    /// Pages of printed collections the last build rendered.
    pub fn prints_last(&self) -> usize {
        self.pages.prints_last
    }

    /// Reports the last build indexed for search (the rest were kept).
    pub fn indexed_last(&self) -> usize {
        self.search.indexed_last
    }
}

/// A site generated in memory, not yet written.
pub struct Generated {
    pub config: Config,
    pub site: Site,
    pub output: OutputSet,
    pub warnings: Vec<Diagnostic>,
    /// Content left out of the site, and why.
    pub skipped: Vec<Skipped>,
    pub timings: Timings,
}

/// What a successful build did.
#[derive(Debug)]
pub struct BuildSummary {
    pub out: PathBuf,
    pub reports: usize,
    pub sections: usize,
    pub assets: usize,
    /// 附件 of the reports.
    pub attachments: usize,
    /// The bytes of the search index.
    pub search_bytes: u64,
    /// Content left out of the site, and why (for `--verbose`).
    pub skipped: Vec<Skipped>,
    pub written: WriteStats,
    pub warnings: Vec<Diagnostic>,
    pub timings: Timings,
    /// What the build cache gave.
    pub cache: CacheUse,
}

/// What a build took from the build cache on disk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CacheUse {
    /// No cache (`--no-cache`, or the site has configuration errors).
    #[default]
    Off,
    /// The cache could not be used; the build wrote a new one.
    Fresh(String),
    /// The last build's cache was used: this many Markdown files were read
    /// again, the rest taken from it; when the output folder was updated in
    /// place, this many reports' pages were made again; and this many
    /// reports were indexed again.
    Reused {
        read: usize,
        pages: Option<usize>,
        indexed: Option<usize>,
    },
    /// The cache folder could not be written; the build went without it.
    Failed(String),
}

impl fmt::Display for CacheUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheUse::Off => f.write_str("build cache: not used"),
            CacheUse::Fresh(why) => {
                write!(f, "build cache: made afresh, because {why}")
            }
            CacheUse::Reused {
                read,
                pages,
                indexed,
            } => {
                write!(
                    f,
                    "build cache: used; {} read again",
                    crate::terminal::counted(*read, "Markdown file")
                )?;
                if let Some(pages) = pages {
                    let whose = if *pages == 1 { "report's" } else { "reports'" };
                    write!(f, ", {pages} {whose} pages made again")?;
                }
                if let Some(indexed) = indexed {
                    let indexed = crate::terminal::counted(*indexed, "report");
                    write!(f, ", {indexed} indexed again")?;
                }
                match pages {
                    Some(_) => f.write_str("; the output folder updated in place"),
                    None => f.write_str("; the output folder written whole"),
                }
            }
            CacheUse::Failed(why) => write!(f, "build cache: not used: {why}"),
        }
    }
}

fn load_config(options: &BuildOptions) -> Result<(Config, Vec<Diagnostic>), BuildError> {
    let root = &options.root;
    if !root.is_dir() {
        return Err(BuildError::Usage(format!(
            "the site folder {} does not exist",
            root.display()
        )));
    }
    let path = root.join(CONFIG_FILE);
    let bytes = std::fs::read(&path).map_err(|e| {
        BuildError::Usage(format!(
            "cannot read {}: {e}\n  help: run gazette in the folder that holds site.yaml, or pass --root FOLDER",
            path.display()
        ))
    })?;
    let file = ContentPath::from_relative(CONFIG_FILE);
    let text = content::decode(&bytes).map_err(|_| {
        BuildError::Content(vec![
            Diagnostic::error(&file, None, "site.yaml is not UTF-8 text")
                .with_help("save it as UTF-8"),
        ])
    })?;
    let (mut config, warnings) = Config::parse(&text, &file).map_err(BuildError::Content)?;
    if let Some(base) = &options.base_url {
        config.base_url =
            BaseUrl::parse(base).map_err(|e| BuildError::Usage(format!("--base-url: {e}")))?;
    }
    if options.relative {
        config.relative_links = true;
    }
    Ok((config, warnings))
}

/// Runs every stage but the writing.
pub fn generate(options: &BuildOptions) -> Result<Generated, BuildError> {
    generate_with(options, &Quiet)
}

/// [`generate`], telling `progress` what it does.
pub fn generate_with(
    options: &BuildOptions,
    progress: &dyn Progress,
) -> Result<Generated, BuildError> {
    generate_cached(options, progress, None)
}

/// [`generate_with`], reusing and refilling `cache` when given.
pub fn generate_cached(
    options: &BuildOptions,
    progress: &dyn Progress,
    mut cache: Option<&mut BuildCache>,
) -> Result<Generated, BuildError> {
    let mut prepared = prepare(options, progress, cache.as_deref_mut(), None, None)?;
    let sink = Collect::default();
    let (index, pages) = match cache {
        Some(cache) => (
            SearchIndexing::Live(&mut cache.search),
            Some(&mut cache.pages),
        ),
        None => (SearchIndexing::Full(None), None),
    };
    emit(&mut prepared, &sink, index, pages, progress)?;
    Ok(Generated {
        config: prepared.config,
        site: prepared.site,
        output: sink.into_set(),
        warnings: prepared.diagnostics.sorted(),
        skipped: prepared.skipped,
        timings: prepared.timings,
    })
}

/// A site read and checked, ready to be rendered: the stages before any
/// output is made.
struct Prepared {
    config: Config,
    site: Site,
    theme: Theme,
    /// Warnings only (a site with errors is never prepared).
    diagnostics: Diagnostics,
    skipped: Vec<Skipped>,
    timings: Timings,
}

/// Reads, renders the Markdown of, assembles and checks the site. With a
/// body store, each report's body is rendered as soon as it is read and
/// stowed there ([`BodyStore`]), so that the texts of a large site are
/// never all in memory. With a `read` cache (the build cache on disk's),
/// files unchanged since they were put there are taken from it.
fn prepare(
    options: &BuildOptions,
    progress: &dyn Progress,
    mut cache: Option<&mut BuildCache>,
    bodies: Option<BodyStore>,
    read: Option<&mut content::ReadCache>,
) -> Result<Prepared, BuildError> {
    progress.stage("reading content", 0);
    let mut timings = Timings::default();
    let mut diagnostics = Diagnostics::new();
    let started = Instant::now();
    // A broken site.yaml does not stop the content from being checked, so
    // that one build reports every problem.
    let config = match load_config(options) {
        Ok((config, warnings)) => {
            diagnostics.extend(warnings);
            Some(config)
        }
        Err(BuildError::Content(problems)) => {
            diagnostics.extend(problems);
            None
        }
        Err(other) => return Err(other),
    };
    let theme = Theme::load(
        &options.root,
        config.as_ref().map_or("default", |c| &c.theme),
    );
    let load_options = load_options(config.as_ref(), options.drafts);
    let markdown_options = config.as_ref().map(markdown_options);
    let store = match (bodies, &markdown_options) {
        (Some(bodies), Some(_)) => Some(Arc::new(bodies)),
        _ => None,
    };
    let stow_failed: Mutex<Option<io::Error>> = Mutex::new(None);
    let stow = |doc: &mut SourceDoc| {
        let (Some(store), Some(markdown_options)) = (&store, &markdown_options) else {
            return;
        };
        match markdown::render_stowed(&doc.body, markdown_options, store) {
            Ok(mut rendered) => {
                doc.body = Arc::from("");
                rendered.source_hash = doc.body_hash;
                doc.rendered = Some(rendered);
            }
            Err(e) => {
                stow_failed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(e);
            }
        }
    };
    let mut content = content::load_cached(
        &options.root,
        &load_options,
        &mut diagnostics,
        cache.as_deref_mut().map(|c| &mut c.read).or(read),
        store.is_some().then_some(&stow as BodyHook),
    );
    if let (Some(e), Some(store)) = (
        stow_failed.into_inner().unwrap_or_else(|e| e.into_inner()),
        &store,
    ) {
        return Err(BuildError::Output(OutputError {
            path: store.path().to_path_buf(),
            action: "write report bodies to",
            source: Some(e),
            help: Some("check that the disk of the output folder has room".to_string()),
        }));
    }
    let content_skipped = std::mem::take(&mut content.skipped);
    let Some(config) = config else {
        return Err(BuildError::Content(diagnostics.sorted()));
    };
    let theme = match theme {
        Ok(theme) => theme,
        Err(problems) => {
            diagnostics.extend(problems);
            Theme::default()
        }
    };
    timings.load = started.elapsed();

    let started = Instant::now();
    let markdown_options = markdown_options.unwrap_or_default();
    progress.stage("rendering Markdown", content.docs.len());
    let options_key = markdown_options.key();
    if let Some(cache) = cache.as_deref_mut()
        && cache.markdown_options.as_ref() != Some(&options_key)
    {
        cache.rendered.clear();
        cache.markdown_options = Some(options_key);
    }
    let known = cache.as_deref().map(|c| &c.rendered);
    let rendered: Vec<(u64, bool, Arc<RenderedDoc>)> = content
        .docs
        .par_iter_mut()
        .map(|doc| {
            if let Some(rendered) = doc.rendered.take() {
                progress.advance(1);
                return (0, true, Arc::new(rendered));
            }
            let key = if known.is_some() {
                doc.body_hash
                    .unwrap_or_else(|| content::text_hash(&doc.body))
            } else {
                0
            };
            let (fresh, rendered) = match known.and_then(|k| k.get(&key)) {
                // Rendered from this text, so its `source_hash` is the key.
                Some(hit) => (false, hit.clone()),
                None => {
                    let mut rendered = markdown::render(&doc.body, &markdown_options);
                    if known.is_some() {
                        rendered.source_hash = Some(key);
                    }
                    (true, Arc::new(rendered))
                }
            };
            progress.advance(1);
            (key, fresh, rendered)
        })
        .collect();
    if let Some(cache) = cache {
        // Updated in place, as the read cache is: on a large site only a
        // few texts were rendered, and every handle copied is a cache miss.
        cache.rendered_last = 0;
        for (key, fresh, doc) in &rendered {
            if *fresh {
                cache.rendered.insert(*key, doc.clone());
                cache.rendered_last += 1;
            }
        }
        // Texts no file has any more.
        let present: HashSet<u64> = rendered.iter().map(|(key, ..)| *key).collect();
        cache.rendered.retain(|key, _| present.contains(key));
    }
    let rendered: Vec<Arc<RenderedDoc>> = rendered.into_iter().map(|(_, _, doc)| doc).collect();
    progress.stage("checking the site", 0);
    timings.markdown = started.elapsed();

    let started = Instant::now();
    for (doc, rendered) in content.docs.iter().zip(&rendered) {
        for issue in &rendered.issues {
            diagnostics.push(
                Diagnostic::warning(
                    &doc.path,
                    Some(doc.body_line + issue.line - 1),
                    issue.message.clone(),
                )
                .with_help(issue.help.clone()),
            );
        }
    }
    let docs = content.docs.into_iter().zip(rendered).collect();
    let mut assets = content.assets;
    assets.extend(content.static_files);
    let mut site = site::assemble(&config, docs, assets, &mut diagnostics);
    site.bodies = store;
    let vocabulary = load_vocabulary(&options.root, &config, &mut diagnostics);
    let now = options
        .now
        .and_then(|seconds| crate::dates::Timestamp::from_unix(seconds, config.timezone));
    checks::run(
        &site,
        &config,
        &CheckContext {
            now,
            vocabulary: vocabulary.as_ref(),
        },
        &mut diagnostics,
    );
    timings.site = started.elapsed();
    if diagnostics.has_errors() {
        return Err(BuildError::Content(diagnostics.sorted()));
    }

    Ok(Prepared {
        config,
        site,
        theme,
        diagnostics,
        skipped: content_skipped,
        timings,
    })
}

/// How [`emit`] makes the search index.
enum SearchIndexing<'a> {
    /// All of it, its postings spilled to this scratch folder (above this
    /// budget) on a large site, or in memory when `None`.
    Full(Option<(&'a Path, Option<usize>)>),
    /// By updating the index of the last build.
    Live(&'a mut search::LiveIndex),
    /// By updating the index the build cache kept, when there is one and
    /// the output folder holds its files; otherwise all of it, kept.
    Kept {
        index: &'a mut Option<search::KeptIndex>,
        /// The cache's search folder, and this build's generation.
        dir: &'a Path,
        generation: u64,
        scratch: (&'a Path, Option<usize>),
    },
}

/// Renders every page and the search index into `sink`; returns the bytes
/// of the search index.
fn emit(
    prepared: &mut Prepared,
    sink: &dyn Sink,
    index: SearchIndexing,
    pages: Option<&mut render::PageMemo>,
    progress: &dyn Progress,
) -> Result<u64, BuildError> {
    let Prepared {
        config,
        site,
        theme,
        diagnostics,
        timings,
        ..
    } = prepared;
    // Pages and the search index are made at the same time. Each is
    // parallel, but each has stretches where fewer tasks than threads are
    // left (the last pages of a stage, a partition being merged, the
    // index's tail); made one after the other, those stretches left a
    // core idle, about a twentieth of a large build's time.
    progress.stage("rendering pages and building the search index", 0);
    let started = Instant::now();
    let site: &Site = site;
    let config: &Config = config;
    let rendered = || {
        let catalogue = crate::catalogue::build(site, config);
        let result = render::render(site, &catalogue, theme, config, sink, diagnostics, pages);
        (result, started.elapsed())
    };
    let indexed = || {
        // A file the sink could not take is kept here, so that its error
        // reaches the user as it was; any other failure is the index's own
        // (its spill files).
        let refused: Mutex<Option<OutputError>> = Mutex::new(None);
        let hand_on = |name: &str, contents: Contents| {
            sink.put(OutputFile {
                path: format!("search/{name}.js"),
                contents,
            })
            .map_err(|e| {
                let message = e.to_string();
                refused
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(e);
                io::Error::other(message)
            })
        };
        let put = |file: IndexFile| hand_on(&file.name, Contents::SharedText(file.script));
        let keep = |name: &str, size: u64| hand_on(name, Contents::Kept(size));
        // (what was made, the folder a failure of the index's own is in)
        let mut unreadable = false;
        let (indexed, folder) = match index {
            SearchIndexing::Full(scratch) => (
                search::write_index(site, config, scratch, &put),
                scratch.map(|s| s.0),
            ),
            SearchIndexing::Live(live) => (live.update(site, config, &put), None),
            SearchIndexing::Kept {
                index,
                dir,
                generation,
                scratch,
            } => {
                let outputs = search::kept::Outputs {
                    emit: &put,
                    keep: &keep,
                };
                let updated = match index.as_mut() {
                    Some(kept) => kept.update(site, config, (dir, scratch.1), generation, &outputs),
                    None => Ok(None),
                };
                let indexed = match updated {
                    Ok(Some(bytes)) => Ok(bytes),
                    Ok(None) => search::KeptIndex::build(
                        site, config, scratch, dir, generation, &put,
                    )
                    .map(|(bytes, fresh)| {
                        *index = Some(fresh);
                        bytes
                    }),
                    Err(e) => {
                        unreadable = true;
                        Err(e)
                    }
                };
                (indexed, Some(dir))
            }
        };
        (indexed, folder, unreadable, refused, started.elapsed())
    };
    let ((rendered, render_time), (indexed, folder, unreadable, refused, search_time)) =
        rayon::join(rendered, indexed);
    timings.render = render_time;
    timings.search = search_time;
    rendered.map_err(BuildError::Output)?;
    let search_bytes = indexed.map_err(|e| {
        BuildError::Output(
            refused
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_else(|| {
                    let (action, source) = if unreadable {
                        let kind = e.kind();
                        (
                            "read the search index kept in",
                            io::Error::new(kind, UnreadableKeptIndex(e)),
                        )
                    } else {
                        ("build the search index in", e)
                    };
                    OutputError {
                        path: folder.unwrap_or(Path::new(".")).to_path_buf(),
                        action,
                        source: Some(source),
                        help: None,
                    }
                }),
        )
    })?;
    for path in sink.taken_twice() {
        diagnostics.push(Diagnostic {
            file: None,
            ..Diagnostic::error(&ContentPath::from_relative(""), None, format!("two files would be written to `{path}`"))
                .with_help("a file in content/ or static/ has the same path as a page or a theme file; rename one of them")
        });
    }
    if diagnostics.has_errors() {
        return Err(BuildError::Content(std::mem::take(diagnostics).sorted()));
    }
    Ok(search_bytes)
}

/// Reads the 主题分类 vocabulary named by `catalogue.topics_file`.
fn load_vocabulary(
    root: &Path,
    config: &Config,
    diagnostics: &mut Diagnostics,
) -> Option<Vocabulary> {
    let name = config.catalogue.topics_file.as_deref()?;
    let file = ContentPath::from_relative(name);
    match std::fs::read(root.join(name)).map(|bytes| content::decode(&bytes)) {
        Ok(Ok(text)) => Some(Vocabulary::parse(&text, file)),
        Ok(Err(_)) => {
            diagnostics.push(
                Diagnostic::error(&file, None, "the topics file is not UTF-8 text")
                    .with_help("save it as UTF-8"),
            );
            None
        }
        Err(e) => {
            diagnostics.push(
                Diagnostic::error(
                    &ContentPath::from_relative(CONFIG_FILE),
                    None,
                    format!("catalogue.topics_file: cannot read {name}: {e}"),
                )
                .with_help("give the path of the file from the site folder, e.g. `topics.txt`"),
            );
            None
        }
    }
}

/// Builds the site and writes it to the output folder.
pub fn build(options: &BuildOptions) -> Result<BuildSummary, BuildError> {
    build_with(options, &Quiet)
}

/// Why the search index the build cache kept could not be read: the
/// source of the [`OutputError`] of a build that [`build_with`] makes
/// again without that index.
#[derive(Debug)]
struct UnreadableKeptIndex(io::Error);

impl fmt::Display for UnreadableKeptIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for UnreadableKeptIndex {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl OutputError {
    /// Whether the build failed on reading the build cache's search index.
    fn is_unreadable_kept_index(&self) -> bool {
        self.source
            .as_ref()
            .and_then(|e| e.get_ref())
            .is_some_and(|inner| inner.is::<UnreadableKeptIndex>())
    }
}

/// [`build`], telling `progress` what it does.
///
/// When the search index the build cache kept cannot be read (a file of
/// it damaged or removed by hand), the build is made again with the index
/// set aside, and says so in a warning: the cache is safe to lose, so it
/// never fails a build. (The failed attempt changed nothing: the output
/// and the cache are written only when a build succeeds.)
pub fn build_with(
    options: &BuildOptions,
    progress: &dyn Progress,
) -> Result<BuildSummary, BuildError> {
    match build_once(options, progress) {
        Err(BuildError::Output(e)) if e.is_unreadable_kept_index() => {
            let kept = search::kept::dir_in(DiskCache::of(&options.root).dir()).join("index.bin");
            std::fs::remove_file(&kept).map_err(|source| {
                BuildError::Output(OutputError {
                    path: kept,
                    action: "set aside the unreadable search index",
                    source: Some(source),
                    help: Some("delete the folder .gazette-cache under the site root".into()),
                })
            })?;
            let mut summary = build_once(options, progress)?;
            let message = format!(
                "the search index kept by the build cache could not be read ({}), so it was made again",
                e.source.map_or_else(String::new, |s| s.to_string())
            );
            summary.warnings.push(Diagnostic {
                file: None,
                ..Diagnostic::warning(&ContentPath::from_relative(""), None, message)
            });
            Ok(summary)
        }
        other => other,
    }
}

/// How the binary sets its allocator's purge delay, in milliseconds
/// ([`set_allocator_tuning`]).
pub type AllocatorTuning = fn(purge_delay_ms: i64);

static ALLOCATOR_TUNING: std::sync::OnceLock<AllocatorTuning> = std::sync::OnceLock::new();

/// Registers how to set the allocator's purge delay: the binary's
/// mimalloc, which the library (holding no unsafe code) cannot reach. A
/// build calls it with [`purge_delay_ms`] of its site once the content is
/// read. `gazette build` registers it; `serve` and `--watch` keep freed
/// memory for good instead.
pub fn set_allocator_tuning(tuning: AllocatorTuning) {
    let _ = ALLOCATOR_TUNING.set(tuning);
}

/// The most reports of a site whose build keeps freed memory a while.
pub const SMALL_SITE_REPORTS: usize = 20_000;

/// How long, in milliseconds, the allocator holds memory a build of a site
/// with `reports` reports has freed before giving it back to the system.
///
/// Given back after 10 ms, the memory a build frees and soon wants again
/// returns as page faults and pages the kernel zeroes. Held 100 ms, a
/// 10,000-report build took 89,000-99,000 minor faults instead of
/// 212,000-255,000 and 2.9-3.2 s of system time instead of 3.3-5.9 s, and
/// peaked at 307-342 MB instead of 253-288 MB. At 100,000 reports the same
/// delay peaked at 896 MB against 748 MB, too near the 1 GiB a large site
/// must stay under: a larger site keeps the 10 ms.
pub fn purge_delay_ms(reports: usize) -> i64 {
    if reports <= SMALL_SITE_REPORTS {
        100
    } else {
        10
    }
}

/// [`build_with`], once.
fn build_once(options: &BuildOptions, progress: &dyn Progress) -> Result<BuildSummary, BuildError> {
    // A mistyped --root is reported before anything is made beside the
    // output folder.
    let config = match load_config(options) {
        Err(usage @ BuildError::Usage(_)) => return Err(usage),
        other => other.ok().map(|(config, _)| config),
    };
    let out = options.out_dir();
    refuse_overlap(&options.root, &out)?;
    let scratch = Scratch::beside(&out).map_err(BuildError::Output)?;
    let mut disk = DiskCache::of(&options.root);
    let (mut cache_use, bodies, mut state) =
        open_cache(&mut disk, config.as_ref(), options, scratch.path())?;
    let mut prepared = prepare(
        options,
        progress,
        None,
        Some(bodies),
        state.as_mut().map(|s| &mut s.read),
    )?;
    if let Some(tune) = ALLOCATOR_TUNING.get() {
        tune(purge_delay_ms(prepared.site.reports.len()));
    }
    if let (Some(state), CacheUse::Reused { read, .. }) = (&state, &mut cache_use) {
        *read = state.read.read_last;
    }
    // With the cache, and an output folder that still holds what the last
    // build wrote there, only the pages that can have changed are made
    // and the folder is updated in place. Otherwise the new site is
    // written into a staging folder as its pages are made, and swapped in
    // whole. Either way a failed build leaves the folder as it was.
    //
    // The search index kept by the cache is updated only where the output
    // folder holds the files it made: the folder the same build wrote.
    //
    // What was read is staged for the next build meanwhile (on a large
    // site, megabytes written), and its memory freed before the pages are
    // made.
    let search_dir = search::kept::dir_in(disk.dir());
    let mut caching = !matches!(cache_use, CacheUse::Off | CacheUse::Failed(_));
    let (staged, (mut last, mut kept_index)) = rayon::join(
        || state.take().map(|state| disk.stage(&state)),
        || {
            let last = caching.then(|| disk.written(&out)).flatten();
            let kept_index = last.as_ref().and_then(|last| {
                search::KeptIndex::load(&search_dir).filter(|index| index.generation == last.token)
            });
            (last, kept_index)
        },
    );
    let parts = match staged {
        Some(Err(e)) => {
            cache_use = CacheUse::Failed(format!("{}: {e}", disk.dir().display()));
            (caching, last, kept_index) = (false, None, None);
            Vec::new()
        }
        Some(Ok(parts)) => parts,
        None => Vec::new(),
    };
    let (writer, mut memo) = match last {
        Some(last) => (
            Writer::InPlace(Updater::begin(&out, last.files).map_err(BuildError::Output)?),
            Some(last.memo),
        ),
        None => (
            Writer::Whole(Stager::begin(&out).map_err(BuildError::Output)?),
            caching.then(render::PageMemo::on_disk),
        ),
    };
    // This build's token: named by the output folder's marker, and the
    // generation of the search terms it keeps.
    let token = caching.then(|| {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(Instant::now())
    });
    let spill = (scratch.path(), options.search_spill_budget);
    let indexing = match token {
        Some(generation) => SearchIndexing::Kept {
            index: &mut kept_index,
            dir: &search_dir,
            generation,
            scratch: spill,
        },
        None => SearchIndexing::Full(Some(spill)),
    };
    let search_bytes = emit(
        &mut prepared,
        writer.sink(),
        indexing,
        memo.as_mut(),
        progress,
    )?;
    progress.stage("writing files", 0);
    let started = Instant::now();
    let in_place = matches!(writer, Writer::InPlace(_));
    // What the cache keeps of this build, freed once it is written.
    let mut freed_later: Vec<Box<dyn Send>> = Vec::new();
    let files = writer.sink().paths();
    let staged = kept_index.as_ref().map(|index| index.stage(&search_dir));
    let written = writer.finish(token).map_err(BuildError::Output)?;
    if let (Some(token), Some(memo), Some(index)) = (token, memo, kept_index) {
        if let CacheUse::Reused { pages, indexed, .. } = &mut cache_use {
            *pages = in_place.then_some(memo.rendered_last);
            *indexed = Some(index.indexed_last);
        }
        let kept = staged.unwrap_or(Ok(())).and_then(|()| {
            let written = Written {
                out: std::fs::canonicalize(&out)?,
                token,
                memo,
                files,
            };
            // The pages and the search terms are kept side by side: a
            // next build trusts either only when the output folder's
            // marker names this build, so one kept without the other is
            // not used. The state goes in place once both are.
            let (kept, committed) =
                rayon::join(|| disk.keep_written(&written), || index.commit(&search_dir));
            freed_later.push(Box::new(written));
            freed_later.push(Box::new(index));
            kept?;
            committed?;
            disk.commit(&parts)
        });
        if let Err(e) = kept {
            cache_use = CacheUse::Failed(format!("{}: {e}", disk.dir().display()));
        }
    }
    let mut timings = prepared.timings;
    timings.write = started.elapsed();
    let site = &prepared.site;
    let summary = BuildSummary {
        out,
        reports: site.reports.len(),
        sections: site.sections.len(),
        assets: site.assets.len(),
        attachments: site.reports.iter().map(|r| r.attachments.len()).sum(),
        search_bytes,
        skipped: prepared.skipped,
        written,
        warnings: prepared.diagnostics.sorted(),
        timings,
        cache: cache_use,
    };
    // Freeing a large site's metadata, and what the cache keeps of its
    // pages and search terms, takes a noticeable part of a small rebuild
    // (tens of milliseconds at 10,000 reports): it is done beside the
    // caller (or not at all, when the program ends first).
    let site = prepared.site;
    std::thread::spawn(move || drop((site, freed_later)));
    Ok(summary)
}

/// Opens the build cache, when on and the configuration can be read
/// (which says how files are read, part of the cache's key): what it gave,
/// the store for this build's report bodies (the cache's, or a new one in
/// the `scratch` folder), and the last build's state to take files from.
fn open_cache(
    disk: &mut DiskCache,
    config: Option<&Config>,
    options: &BuildOptions,
    scratch: &Path,
) -> Result<(CacheUse, BodyStore, Option<State>), BuildError> {
    let in_scratch = || {
        BodyStore::create(scratch).map_err(|e| {
            BuildError::Output(OutputError {
                path: scratch.to_path_buf(),
                action: "keep report bodies in",
                source: Some(e),
                help: None,
            })
        })
    };
    let Some(config) = config.filter(|_| options.cache) else {
        return Ok((CacheUse::Off, in_scratch()?, None));
    };
    let key = cache_key(config, options.drafts);
    let opened = match disk.open(&key) {
        Ok(opened) => opened,
        Err(e) => {
            let why = format!("{}: {e}", disk.dir().display());
            return Ok((CacheUse::Failed(why), in_scratch()?, None));
        }
    };
    let cache_use = match opened.fresh_because {
        Some(why) => CacheUse::Fresh(why),
        None => CacheUse::Reused {
            read: 0,
            pages: None,
            indexed: None,
        },
    };
    let mut state = State {
        key,
        read: opened.state.map(|s| s.read).unwrap_or_default(),
    };
    state.read.stage = true;
    Ok((cache_use, opened.bodies, Some(state)))
}

/// Where a build writes its files: a whole new folder swapped in, or the
/// old one updated in place.
enum Writer {
    Whole(Stager),
    InPlace(Updater),
}

impl Writer {
    fn sink(&self) -> &dyn Sink {
        match self {
            Writer::Whole(stager) => stager,
            Writer::InPlace(updater) => updater,
        }
    }

    fn finish(self, token: Option<u64>) -> Result<WriteStats, OutputError> {
        match self {
            Writer::Whole(stager) => stager.finish(token),
            Writer::InPlace(updater) => updater.finish(token),
        }
    }
}

/// How the site's files are read (with defaults when `site.yaml` is
/// broken, to find the content's own problems).
fn load_options(config: Option<&Config>, drafts: bool) -> LoadOptions {
    LoadOptions {
        timezone: config.map_or(DEFAULT_TIMEZONE, |c| c.timezone),
        drafts,
        dates_from_file_names: config.is_some_and(|c| c.content.dates_from_file_names),
    }
}

/// How the site's Markdown is rendered.
fn markdown_options(config: &Config) -> MarkdownOptions {
    MarkdownOptions {
        allow_html: config.markdown.allow_html,
        iframe_hosts: config.markdown.iframe_hosts.clone(),
    }
}

/// The key of the build cache: what decides how files are read and their
/// Markdown rendered.
fn cache_key(config: &Config, drafts: bool) -> CacheKey {
    CacheKey::new(
        load_options(Some(config), drafts).key(),
        markdown_options(config).key(),
    )
}

/// The output folder must not be the site root or hold the content.
fn refuse_overlap(root: &Path, out: &Path) -> Result<(), BuildError> {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let root = canonical(root);
    let out = canonical(out);
    if root.starts_with(&out) {
        return Err(BuildError::Usage(format!(
            "the output folder {} contains the site itself; choose another --out",
            out.display()
        )));
    }
    for source in [
        content::CONTENT_DIR,
        content::STATIC_DIR,
        crate::theme::THEMES_DIR,
    ] {
        if out.starts_with(root.join(source)) {
            return Err(BuildError::Usage(format!(
                "the output folder {} is inside the site's {source}/ folder; choose another --out",
                out.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_small_site_holds_freed_memory_longer() {
        assert_eq!(purge_delay_ms(0), 100);
        assert_eq!(purge_delay_ms(SMALL_SITE_REPORTS), 100);
        assert_eq!(purge_delay_ms(SMALL_SITE_REPORTS + 1), 10);
        assert_eq!(purge_delay_ms(100_000), 10);
    }
}
