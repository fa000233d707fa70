//! `gazette serve`: builds the site in memory, serves it on loopback, and
//! rebuilds it whenever a file of the site changes. A site too large for
//! the memory (or with `--on-disk`) is built to disk by `gazette build`
//! processes instead and served from there ([`DiskBuilds`]).
//!
//! - The watcher (notify, debounced) watches the site's folders
//!   ([`SITE_FOLDERS`], not the output or the cache), not single files,
//!   so an editor that saves by writing a temporary file and renaming it
//!   over the report is seen like any other save; editor leftovers
//!   (`.swp`, `4913`, `#…#`, `~`, JetBrains temporaries) are ignored, and a
//!   change that leaves every file's bytes as they were causes no rebuild.
//! - One builder thread runs at most one build at a time. A change after a
//!   quiet spell is built at once; changes that arrive during a build (or
//!   just after it) are gathered until the files are quiet for a moment
//!   into the one build that follows, so a burst of saves (a git checkout,
//!   save-all) costs at most two builds.
//! - Each build makes the whole site in memory, reusing what the last one
//!   made wherever its inputs are unchanged ([`crate::build::BuildCache`]).
//!   Only when it succeeds is the new site swapped in, and only then is the
//!   browser told to reload: a reload never lands on a half-built site. A
//!   failed build keeps the last good site and shows its errors in an
//!   overlay, which goes when they are fixed. The server never exits on a
//!   content error. (On disk, a build that succeeds replaces the changed
//!   files of the preview folder one by one as it ends, and the browser
//!   is told after the last.)
//! - Live reload is a small script and a server-sent event stream on the
//!   same origin, added to HTML responses by the server: `gazette build`
//!   output never contains it.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use notify::RecursiveMode;
use tokio::sync::broadcast;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::build::{self, BuildError, BuildOptions};
use crate::render::{Contents, OutputSet};
use crate::terminal::counted;

/// How `gazette serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub root: PathBuf,
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    /// Poll the disk instead of asking the OS for change events (network
    /// drives, WSL, containers).
    pub poll: bool,
    pub drafts: bool,
    /// Open the preview in the web browser.
    pub open: bool,
    /// Print how long each stage of every rebuild took.
    pub timings: bool,
    /// Build the preview to disk and serve it from there ([`Files::OnDisk`]),
    /// however large the site. A site too large for the memory is served
    /// so without being asked.
    pub on_disk: bool,
}

/// The site being served: the output of the last good build.
struct Snapshot {
    files: Files,
    /// When the build that made it started: a copied file modified later
    /// has changed since.
    built: std::time::SystemTime,
}

impl Snapshot {
    /// What a page must do to show `self` after `old`: swap the
    /// stylesheets when only stylesheets changed, else reload.
    fn notice_since(&self, old: &Snapshot) -> Notice {
        let (Files::InMemory(files), Files::InMemory(old_files)) = (&self.files, &old.files) else {
            return Notice::Reload;
        };
        let mut styles = Vec::new();
        let differs = |a: &Contents, b: Option<&Contents>| match (a, b) {
            // Kept from the last build: the same bytes.
            (a, Some(b)) if a.is_same_shared(b) => false,
            (Contents::Bytes(_) | Contents::Shared(_) | Contents::SharedText(_), Some(b))
                if b.in_memory().is_some() =>
            {
                a.in_memory() != b.in_memory()
            }
            (Contents::CopyOf(a), Some(Contents::CopyOf(b))) if a == b => std::fs::metadata(a)
                .and_then(|m| m.modified())
                .map_or(true, |modified| modified >= old.built),
            (a, b) => Some(a) != b,
        };
        for (path, contents) in files {
            if differs(contents, old_files.get(path)) {
                if !path.ends_with(".css") {
                    return Notice::Reload;
                }
                styles.push(format!("/{path}"));
            }
        }
        if styles.is_empty() || old_files.keys().any(|p| !files.contains_key(p)) {
            return Notice::Reload;
        }
        styles.sort();
        Notice::Styles(styles)
    }

    fn of(output: OutputSet, built: std::time::SystemTime) -> Snapshot {
        Snapshot {
            built,
            files: Files::InMemory(
                output
                    .files
                    .into_iter()
                    .map(|f| (f.path, f.contents))
                    .collect(),
            ),
        }
    }
}

/// Where the files of the site being served are.
enum Files {
    /// Made in memory by serve's own builds, by site path.
    InMemory(HashMap<String, Contents>),
    /// Written to this folder by `gazette build` processes ([`DiskBuilds`]).
    OnDisk(PathBuf),
}

impl Files {
    /// Whether the site has a file at `path` (a site path, no leading `/`).
    fn has(&self, path: &str) -> bool {
        match self {
            Files::InMemory(files) => files.contains_key(path),
            Files::OnDisk(dir) => in_folder(dir, path).is_some_and(|file| file.is_file()),
        }
    }

    /// The bytes of the site's file at `path`.
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        match self {
            Files::InMemory(files) => match files.get(path)? {
                Contents::Bytes(bytes) => Some(bytes.clone()),
                Contents::Shared(bytes) => Some(bytes.to_vec()),
                Contents::SharedText(text) => Some(text.as_bytes().to_vec()),
                Contents::CopyOf(source) => std::fs::read(source).ok(),
                // Serve's pages are in memory; only the build cache keeps
                // files on disk.
                Contents::Kept(_) => None,
            },
            Files::OnDisk(dir) => std::fs::read(in_folder(dir, path)?).ok(),
        }
    }
}

/// The file at site path `path` in the output folder `dir`, unless the
/// path could lead anywhere else (`..`, an empty or `.` part, a backslash
/// or a drive) or names the folder's marker: a request reaches the site's
/// files and nothing else on the disk.
fn in_folder(dir: &Path, path: &str) -> Option<PathBuf> {
    // (A drive or a stream name only means something on Windows.)
    let unsafe_part = |part: &str| {
        matches!(part, "" | "." | "..")
            || part.contains(['\\', '\0'])
            || (cfg!(windows) && part.contains(':'))
    };
    (path != crate::output::MARKER && !path.split('/').any(unsafe_part)).then(|| dir.join(path))
}

/// What the browser is told.
#[derive(Clone, Debug)]
enum Notice {
    /// A new site is in place.
    Reload,
    /// A new site is in place that differs from the last only in these
    /// stylesheets (site paths): the page swaps them without reloading.
    Styles(Vec<String>),
    /// The last build failed; the text lists its errors.
    Failed(String),
}

#[derive(Clone)]
struct Shared {
    site: Arc<RwLock<Arc<Snapshot>>>,
    /// The errors of the last build, if it failed (sent to a page that
    /// connects while they stand).
    failure: Arc<RwLock<Option<String>>>,
    notices: broadcast::Sender<Notice>,
}

impl Shared {
    /// Clears the errors of the last build, after a build that succeeded;
    /// whether there were any.
    fn recovered(&self) -> bool {
        self.failure
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .is_some()
    }

    /// Keeps the errors of a build that failed, for pages that connect
    /// while they stand, and sends them to the open ones.
    fn failed(&self, text: String) {
        *self.failure.write().unwrap_or_else(|e| e.into_inner()) = Some(text.clone());
        let _ = self.notices.send(Notice::Failed(text));
    }
}

const LIVE_SCRIPT: &str = include_str!("serve_live.js");

/// How long the files must be left alone before a rebuild starts, when
/// they change while (or just after) the site is being built: a burst
/// (git checkout, save-all) then costs one more build, not one per file.
/// A change that comes while nothing is happening is built at once.
const QUIET: Duration = Duration::from_millis(150);
/// The longest a rebuild waits for a burst of changes to end.
const MAX_WAIT: Duration = Duration::from_secs(2);
/// The longest a rebuild waits for the writer of a file to close it (a
/// file written and still open may be half written). Watchers that do
/// not report closing (polling, some systems) always wait this long.
const SETTLE: Duration = Duration::from_millis(20);

/// Runs the server until the process is stopped.
pub fn serve(options: ServeOptions) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(SocketAddr::new(
            options.bind,
            options.port,
        )))
        .map_err(|e| format!("cannot listen on {}:{}: {e}", options.bind, options.port))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let base_url = format!("http://{address}/");
    let build_options = BuildOptions {
        root: options.root.clone(),
        base_url: Some(base_url.clone()),
        drafts: options.drafts,
        ..BuildOptions::default()
    };

    let markdown = markdown_bytes(&options.root);
    let too_large = too_large_for_memory(&options.root, markdown, available_memory());
    if let Some(reason) = &too_large {
        eprintln!("{reason}");
    }
    let started = Instant::now();
    let built = std::time::SystemTime::now();
    // The first build, and what rebuilds the site after every change.
    type Rebuilds = Box<dyn FnOnce(Changes, Shared) + Send>;
    let (snapshot, failure, rebuilds): (Snapshot, Option<String>, Rebuilds) = if options.on_disk
        || too_large.is_some()
    {
        let builds = DiskBuilds::new(&options, &base_url)?;
        eprintln!("building the preview into {}", builds.out.display());
        let failure = match builds.run() {
            Ok(said) => {
                eprint!("{said}");
                None
            }
            // Said as serve says its own ("error: …").
            Err(Failure::Usage(said)) => {
                let said = said.trim_end();
                return Err(said.strip_prefix("error: ").unwrap_or(said).to_string());
            }
            Err(Failure::Site(said)) => {
                eprint!("{said}");
                Some(said)
            }
        };
        let snapshot = Snapshot {
            files: Files::OnDisk(builds.out.clone()),
            built,
        };
        let rebuilds = Box::new(move |changes, shared| rebuild_on_disk(&builds, changes, &shared));
        (snapshot, failure, rebuilds)
    } else {
        // What each build read and rendered, for the next: only
        // changed files are read again and only new texts rendered.
        let mut cache = build::BuildCache::default();
        let first = build::generate_cached(&build_options, &build::Quiet, Some(&mut cache));
        let (snapshot, failure) = match first {
            Ok(generated) => {
                eprint!("{}", console(&generated.warnings, &options.root));
                (Snapshot::of(generated.output, built), None)
            }
            Err(BuildError::Usage(message)) => return Err(message),
            Err(err) => {
                print_failure(&err, &options.root);
                let files = Files::InMemory(HashMap::new());
                (Snapshot { files, built }, Some(err.to_string()))
            }
        };
        eprintln!("built in {} ms", started.elapsed().as_millis());
        let timings = options.timings;
        let rebuilds = Box::new(move |changes, shared| {
            rebuild_loop(&build_options, changes, &shared, cache, timings)
        });
        (snapshot, failure, rebuilds)
    };
    let (notices, _) = broadcast::channel(16);
    let shared = Shared {
        site: Arc::new(RwLock::new(Arc::new(snapshot))),
        failure: Arc::new(RwLock::new(failure)),
        notices,
    };

    if !options.bind.is_loopback() {
        eprintln!(
            "warning: serving on {} makes the preview reachable from other machines",
            options.bind
        );
    }
    println!("serving {} at {base_url}", options.root.display());
    if options.open {
        open_browser(&base_url);
    }

    let changes = Changes::watching(&options.root, options.poll)?;
    let builder_shared = shared.clone();
    std::thread::spawn(move || rebuilds(changes, builder_shared));

    let app = Router::new()
        .route("/__gazette/live.js", get(live_script))
        .route("/__gazette/events", get(events))
        .fallback(get(file))
        .with_state(shared);
    runtime
        .block_on(async move { axum::serve(listener, app).await })
        .map_err(|e| format!("the server stopped: {e}"))
}

/// What serving a site takes in memory per byte of its Markdown: the
/// pages in three layouts, the search index, and what each rebuild
/// reuses. Measured on seed-shaped reports: 369 MB for 18 MB of Markdown
/// (1,000 reports), 3.05 GB for 181 MB (10,000).
const MEMORY_PER_MARKDOWN_BYTE: u64 = 17;

/// Why a site must be served from disk ([`Files::OnDisk`]): serving a
/// site of `markdown` bytes of Markdown from memory would take more than
/// three quarters of the `available` memory, and push the computer into
/// swap or be stopped by it. Said before the first build.
fn too_large_for_memory(root: &Path, markdown: u64, available: Option<u64>) -> Option<String> {
    let needed = markdown * MEMORY_PER_MARKDOWN_BYTE;
    let available = available?;
    let gb = |bytes: u64| format!("{:.1} GB", bytes as f64 / 1e9);
    (needed > available / 4 * 3).then(|| {
        format!(
            "note: previewing this site in memory would take about {} for its {} of \
             Markdown, and this computer has {} available, so the preview is built to \
             disk and served from there (as with `--on-disk`), in {}. A save shows once \
             `gazette build` has made the pages that changed.",
            gb(needed),
            gb(markdown),
            gb(available),
            preview_folder(root).display()
        )
    })
}

/// Where a site served from disk is built: in the build cache, which git
/// ignores and which is safe to delete.
fn preview_folder(root: &Path) -> PathBuf {
    root.join(crate::disk_cache::CACHE_DIR).join("preview")
}

/// The builds of a site served from disk: each a `gazette build` process
/// of its own, into the [`preview_folder`], with the build cache, so a
/// save costs what a rebuild of the portal does (a third of a second at
/// 10,000 reports, three seconds at 100,000), the server holds nothing of
/// the site, and each build gives back its memory when it ends, as with
/// `build --watch`.
struct DiskBuilds {
    program: PathBuf,
    args: Vec<OsString>,
    out: PathBuf,
}

/// The running gazette program, to start builds of their own with (the
/// preview on disk, `build --watch`).
pub fn this_program() -> Result<PathBuf, String> {
    std::env::current_exe()
        .map_err(|e| format!("cannot find the gazette program to build with: {e}"))
}

/// Why a build on disk made no site.
enum Failure {
    /// The build was wrongly called (exit code 2): what it said.
    Usage(String),
    /// The site has errors, or the portal could not be written: what the
    /// build said.
    Site(String),
}

impl DiskBuilds {
    fn new(options: &ServeOptions, base_url: &str) -> Result<DiskBuilds, String> {
        let program = this_program()?;
        let out = preview_folder(&options.root);
        let mut args: Vec<OsString> = vec![
            "build".into(),
            "--root".into(),
            options.root.clone().into(),
            "--out".into(),
            out.clone().into(),
            "--base-url".into(),
            base_url.into(),
        ];
        if options.drafts {
            args.push("--drafts".into());
        }
        if options.timings {
            args.push("--timings".into());
        }
        Ok(DiskBuilds { program, args, out })
    }

    /// Builds the site once; what the build said (its warnings and the
    /// line that sums it up, or its errors). A build whose output is not a
    /// terminal says it all at the end.
    fn run(&self) -> Result<String, Failure> {
        let output = std::process::Command::new(&self.program)
            .args(&self.args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| Failure::Site(format!("cannot start a build: {e}\n")))?;
        let said = String::from_utf8_lossy(&output.stderr).into_owned();
        match output.status.code() {
            Some(0) => Ok(said),
            Some(2) => Err(Failure::Usage(said)),
            _ => Err(Failure::Site(said)),
        }
    }
}

/// Rebuilds a site served from disk ([`DiskBuilds`]) after every change.
fn rebuild_on_disk(builds: &DiskBuilds, mut changes: Changes, shared: &Shared) {
    while changes.next().is_some() {
        match builds.run() {
            Ok(said) => {
                eprint!("{said}");
                shared.recovered();
                let _ = shared.notices.send(Notice::Reload);
            }
            Err(Failure::Usage(said) | Failure::Site(said)) => {
                eprint!("{said}");
                eprintln!("rebuild failed; still serving the last good site");
                shared.failed(said);
            }
        }
    }
}

/// The bytes of the site's Markdown files.
fn markdown_bytes(root: &Path) -> u64 {
    walkdir::WalkDir::new(root.join("content"))
        .into_iter()
        .flatten()
        .filter(|entry| entry.file_type().is_file())
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "md"))
        .filter_map(|entry| entry.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// The memory the system can give without swapping, where it says
/// (`MemAvailable` in Linux's `/proc/meminfo`).
fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Opens `url` in the desktop's browser, where there is one.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        ("open", vec![url])
    } else if cfg!(target_os = "windows") {
        ("cmd", vec!["/C", "start", "", url])
    } else {
        ("xdg-open", vec![url])
    };
    if std::process::Command::new(opener.0)
        .args(opener.1)
        .spawn()
        .is_err()
    {
        eprintln!("could not open a browser; open {url} yourself");
    }
}

/// Whether a changed path is a file of the site (not an editor's leftover
/// or the output folder).
fn relevant(root: &Path, path: &Path) -> bool {
    let Ok(relative) = path.strip_prefix(root) else {
        return false;
    };
    let mut components = relative.components();
    let top = components
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    if ![
        "content",
        "static",
        "themes",
        crate::config::CONFIG_FILE,
        "topics.txt",
    ]
    .contains(&top.as_str())
        && !top.ends_with(".txt")
    {
        return false;
    }
    !relative
        .components()
        .any(|c| crate::content::is_ignored(&c.as_os_str().to_string_lossy()))
}

/// The folders of a site that its builds read, each watched with all it
/// holds. The site root is watched alone, for `site.yaml` and the word
/// lists beside it, and not with what else it holds: the output folder
/// and the build cache (with a preview served from disk) have hundreds of
/// thousands of folders on a large site, more than Linux lets a user watch
/// by default (8,192 on older systems), and every file of every build
/// would be one more change to look at.
const SITE_FOLDERS: [&str; 3] = ["content", "static", "themes"];

/// The watching of a debouncer of either kind (the OS's or polling).
trait Watch: Send {
    fn watch(&mut self, path: &Path, mode: RecursiveMode) -> notify::Result<()>;
    fn unwatch(&mut self, path: &Path) -> notify::Result<()>;
}

impl<T, C> Watch for notify_debouncer_full::Debouncer<T, C>
where
    T: notify::Watcher + Send,
    C: notify_debouncer_full::FileIdCache + Send,
{
    fn watch(&mut self, path: &Path, mode: RecursiveMode) -> notify::Result<()> {
        notify_debouncer_full::Debouncer::watch(self, path, mode)
    }

    fn unwatch(&mut self, path: &Path) -> notify::Result<()> {
        notify_debouncer_full::Debouncer::unwatch(self, path)
    }
}

/// What watches a site's files ([`SITE_FOLDERS`]); it stops when dropped.
struct SiteWatcher {
    root: PathBuf,
    watcher: Box<dyn Watch>,
    /// Whether it is the OS's (not polling).
    native: bool,
}

impl SiteWatcher {
    /// `watcher` (the OS's when `native`) put on the site at `root`.
    fn start(root: &Path, watcher: Box<dyn Watch>, native: bool) -> notify::Result<SiteWatcher> {
        let mut site = SiteWatcher {
            root: root.to_path_buf(),
            watcher,
            native,
        };
        site.watcher.watch(root, RecursiveMode::NonRecursive)?;
        for folder in SITE_FOLDERS {
            let path = root.join(folder);
            if path.is_dir() {
                site.watcher.watch(&path, RecursiveMode::Recursive)?;
            }
        }
        Ok(site)
    }

    /// Watches the site folder `folder` again, after it was made, removed
    /// or replaced (a watch ends with the folder it was put on).
    fn refresh(&mut self, folder: &str) {
        let path = self.root.join(folder);
        let _ = self.watcher.unwatch(&path);
        if path.is_dir()
            && let Err(e) = self.watcher.watch(&path, RecursiveMode::Recursive)
        {
            eprintln!(
                "warning: cannot watch {} ({e}); its changes are not seen until gazette is started again",
                path.display()
            );
        }
    }
}

/// Watches the site at `root` (an absolute path, as the watcher reports
/// paths): the OS's watcher unless `poll`, or when it cannot.
fn watch(
    root: &Path,
    poll: bool,
    changes: mpsc::Sender<notify_debouncer_full::DebounceEventResult>,
) -> Result<SiteWatcher, String> {
    // The watcher's own delay: enough to pair the two halves of a rename.
    // A file written but not yet closed is waited for in `Changes::next`.
    let delay = Duration::from_millis(5);
    if !poll {
        match notify_debouncer_full::new_debouncer(delay, None, changes.clone()) {
            Ok(debouncer) => match SiteWatcher::start(root, Box::new(debouncer), true) {
                Ok(watcher) => return Ok(watcher),
                Err(e) => eprintln!(
                    "the file system does not report changes ({e}); checking for changes every half second instead (use --poll to choose this)"
                ),
            },
            Err(e) => {
                eprintln!("cannot watch for changes ({e}); checking every half second instead")
            }
        }
    }
    let config = notify::Config::default().with_poll_interval(Duration::from_millis(500));
    let debouncer = notify_debouncer_full::new_debouncer_opt::<_, notify::PollWatcher, _>(
        delay,
        None,
        changes,
        notify_debouncer_full::NoCache,
        config,
    )
    .map_err(|e| format!("cannot watch {}: {e}", root.display()))?;
    SiteWatcher::start(root, Box::new(debouncer), false)
        .map_err(|e| format!("cannot watch {}: {e}", root.display()))
}

/// A fingerprint of a file's content, or `None` when it is gone.
fn fingerprint(path: &Path) -> Option<u64> {
    let bytes = std::fs::read(path).ok()?;
    Some(xxhash_rust::xxh3::xxh3_64(&bytes))
}

/// The site's changes, as the watcher reports them, gathered into one
/// "the site changed" per burst.
struct Changes {
    root: PathBuf,
    events: mpsc::Receiver<notify_debouncer_full::DebounceEventResult>,
    /// The fingerprint of every file seen changing, to tell a real change
    /// from a save that left the bytes as they were.
    known: HashMap<PathBuf, Option<u64>>,
    /// Whether the OS reports changes (not polling): then the paths it
    /// reports are every file that changed, unless it says it lost some.
    native: bool,
    /// The site's files (relative to its root) reported since the last
    /// build, and whether that is all of them.
    seen: Vec<PathBuf>,
    complete: bool,
    /// What reports the changes (none in tests that hand events in).
    watcher: Option<SiteWatcher>,
}

/// What changed since the last build.
struct Changed {
    /// Files of the site, relative to its root.
    paths: Vec<PathBuf>,
    /// Whether `paths` are all the files that changed.
    complete: bool,
}

impl Changes {
    fn new(
        root: &Path,
        events: mpsc::Receiver<notify_debouncer_full::DebounceEventResult>,
        native: bool,
    ) -> Changes {
        // The watcher reports absolute paths.
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        Changes {
            root,
            events,
            known: HashMap::new(),
            native,
            seen: Vec::new(),
            complete: true,
            watcher: None,
        }
    }

    /// The changes of the site at `root`, from a watcher of its own.
    fn watching(root: &Path, poll: bool) -> Result<Changes, String> {
        let (send, receive) = mpsc::channel();
        let mut changes = Changes::new(root, receive, true);
        let watcher = watch(&changes.root, poll, send)?;
        changes.native = watcher.native;
        changes.watcher = Some(watcher);
        Ok(changes)
    }

    /// Waits for the next change to the bytes of a file of the site; `None`
    /// when the watcher is gone. Called when the last build is done.
    fn next(&mut self) -> Option<Changed> {
        let built = Instant::now();
        loop {
            let first = self.events.recv().ok()?;
            let mut batch = vec![first];
            if built.elapsed() < QUIET {
                // Files changed during the last build or right after it:
                // everything that arrives until they are quiet for a
                // moment (or a burst has gone on for a while) joins this
                // one build.
                let burst = Instant::now();
                while burst.elapsed() < MAX_WAIT {
                    match self.events.recv_timeout(QUIET) {
                        Ok(more) => batch.push(more),
                        Err(_) => break,
                    }
                }
            } else {
                // The first change after a quiet spell (a save) is built
                // at once, with whatever the watcher has already sent,
                // once every file written has been closed.
                batch.extend(self.events.try_iter());
                let settling = Instant::now();
                while self.still_open(&batch) {
                    let left = SETTLE.saturating_sub(settling.elapsed());
                    match self.events.recv_timeout(left) {
                        Ok(more) => batch.push(more),
                        Err(_) => break,
                    }
                }
            }
            let mut changed = false;
            for events in batch {
                let events = match events {
                    Ok(events) => events,
                    Err(_) => {
                        // The watcher failed to report something.
                        self.complete = false;
                        changed = true;
                        continue;
                    }
                };
                if events.iter().any(|e| e.need_rescan()) {
                    // The OS dropped events (its queue overflowed).
                    self.complete = false;
                    changed = true;
                }
                for event in events.iter() {
                    if let Some(folder) = self.site_folder_moved(event) {
                        // Built whole: files put in before the new watch
                        // began are read too.
                        if let Some(watcher) = &mut self.watcher {
                            watcher.refresh(folder);
                        }
                        changed = true;
                    }
                }
                // Opening or reading a file (an editor opening a report)
                // changes nothing.
                let changes = events
                    .iter()
                    .filter(|e| !matches!(e.kind, notify::EventKind::Access(_)));
                for path in changes.flat_map(|e| e.paths.iter()) {
                    if !relevant(&self.root, path) {
                        continue;
                    }
                    if let Ok(relative) = path.strip_prefix(&self.root) {
                        self.seen.push(relative.to_path_buf());
                    }
                    let now = fingerprint(path);
                    let before = self.known.insert(path.clone(), now);
                    // A path seen for the first time counts as a change
                    // unless it is a folder.
                    if before != Some(now) && !(now.is_none() && path.is_dir()) {
                        changed = true;
                    }
                }
            }
            if changed {
                let changed = Changed {
                    paths: std::mem::take(&mut self.seen),
                    complete: self.native && self.complete,
                };
                self.complete = true;
                return Some(changed);
            }
        }
    }

    /// The site folder ([`SITE_FOLDERS`]) that `event` made, removed or
    /// renamed, if any: its watch has to be put on again.
    fn site_folder_moved(&self, event: &notify::Event) -> Option<&'static str> {
        use notify::EventKind;
        use notify::event::ModifyKind;
        if !matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
        ) {
            return None;
        }
        event.paths.iter().find_map(|path| {
            let name = path.strip_prefix(&self.root).ok()?.to_str()?;
            SITE_FOLDERS.into_iter().find(|folder| *folder == name)
        })
    }

    /// Whether a file of the site in `batch` was written and not closed
    /// after (nor removed or renamed): its writer may not be done.
    fn still_open(&self, batch: &[notify_debouncer_full::DebounceEventResult]) -> bool {
        use notify::EventKind;
        use notify::event::{AccessKind, AccessMode, ModifyKind};
        let mut open: HashSet<&Path> = HashSet::new();
        for event in batch.iter().flatten().flatten() {
            let paths = event.paths.iter().map(PathBuf::as_path);
            match event.kind {
                EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) => {
                    open.extend(paths.filter(|p| relevant(&self.root, p)))
                }
                EventKind::Access(AccessKind::Close(AccessMode::Write))
                | EventKind::Modify(ModifyKind::Name(_))
                | EventKind::Remove(_) => {
                    for path in paths {
                        open.remove(path);
                    }
                }
                _ => {}
            }
        }
        !open.is_empty()
    }
}

/// Diagnostics as the terminal shows them (source line, caret, colour).
fn console(diagnostics: &[crate::diagnostics::Diagnostic], root: &std::path::Path) -> String {
    crate::terminal::render_all(
        diagnostics,
        root,
        crate::terminal::Style::for_stderr(),
        false,
    )
}

/// A failed build on the terminal.
fn print_failure(err: &BuildError, root: &std::path::Path) {
    match err {
        BuildError::Content(all) => eprint!("{}", console(all, root)),
        other => eprintln!("{other}"),
    }
}

fn rebuild_loop(
    options: &BuildOptions,
    mut changes: Changes,
    shared: &Shared,
    mut cache: build::BuildCache,
    timings: bool,
) {
    while let Some(changed) = changes.next() {
        let started = Instant::now();
        if changed.complete {
            cache.trust_changes(changed.paths);
        }
        let built = std::time::SystemTime::now();
        match build::generate_cached(options, &build::Quiet, Some(&mut cache)) {
            Ok(generated) => {
                eprint!("{}", console(&generated.warnings, &options.root));
                let new = Arc::new(Snapshot::of(generated.output, built));
                let old = std::mem::replace(
                    &mut *shared.site.write().unwrap_or_else(|e| e.into_inner()),
                    new.clone(),
                );
                let recovered = shared.recovered();
                eprintln!(
                    "rebuilt in {} ms (read {}, rendered {} and the pages of {}, indexed {})",
                    started.elapsed().as_millis(),
                    counted(cache.read_last(), "changed file"),
                    counted(cache.rendered_last, "text"),
                    counted(cache.pages_last(), "report"),
                    counted(cache.indexed_last(), "report")
                );
                if timings {
                    eprintln!("timings: {}", generated.timings);
                }
                // After a failed build the page shows the overlay: reload.
                let notice = if recovered {
                    Notice::Reload
                } else {
                    new.notice_since(&old)
                };
                let _ = shared.notices.send(notice);
            }
            Err(err) => {
                let text = err.to_string();
                print_failure(&err, &options.root);
                eprintln!(
                    "rebuild failed in {} ms; still serving the last good site",
                    started.elapsed().as_millis()
                );
                shared.failed(text);
            }
        }
    }
}

async fn live_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        LIVE_SCRIPT,
    )
        .into_response()
}

async fn events(
    State(shared): State<Shared>,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, std::convert::Infallible>>> {
    let standing = shared
        .failure
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let initial =
        tokio_stream::iter(standing.map(|text| Ok(Event::default().event("failed").data(text))));
    let updates =
        BroadcastStream::new(shared.notices.subscribe()).filter_map(|notice| match notice {
            Ok(Notice::Reload) => Some(Ok(Event::default().event("reload").data("reload"))),
            Ok(Notice::Styles(paths)) => Some(Ok(Event::default()
                .event("styles")
                .data(serde_json::to_string(&paths).unwrap_or_default()))),
            Ok(Notice::Failed(text)) => Some(Ok(Event::default().event("failed").data(text))),
            Err(_) => None,
        });
    Sse::new(initial.chain(updates)).keep_alive(KeepAlive::default())
}

fn content_type(path: &str) -> &'static str {
    match path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("xml") => "application/xml; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("pdf") => "application/pdf",
        Some("csv") => "text/csv; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
}

/// Serves a file of the current site. Paths are looked up in the site's
/// own list of files, or only inside the folder of a site on disk
/// ([`in_folder`]), so no request can reach anything else on the disk.
async fn file(State(shared): State<Shared>, uri: Uri) -> Response {
    let raw = uri.path();
    let path = percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned();
    let site = shared
        .site
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let files = &site.files;
    let key = path.trim_start_matches('/');
    let not_found = || ("404.html".to_string(), StatusCode::NOT_FOUND);
    let (key, status) = if key.is_empty() || key.ends_with('/') {
        let index = format!("{key}index.html");
        if files.has(&index) {
            (index, StatusCode::OK)
        } else {
            not_found()
        }
    } else if files.has(key) {
        (key.to_string(), StatusCode::OK)
    } else if files.has(&format!("{key}/index.html")) {
        let location = format!("{raw}/");
        return Response::builder()
            .status(StatusCode::MOVED_PERMANENTLY)
            .header(header::LOCATION, location)
            .body(Body::empty())
            .unwrap_or_default();
    } else {
        not_found()
    };
    let bytes = files.read(&key).unwrap_or_else(|| b"Not found".to_vec());
    let kind = content_type(&key);
    let body = if kind.starts_with("text/html") {
        with_live_reload(bytes)
    } else {
        bytes
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Adds the live-reload script to an HTML page, before `</body>`.
fn with_live_reload(html: Vec<u8>) -> Vec<u8> {
    const TAG: &[u8] = b"<script src=\"/__gazette/live.js\" defer></script>";
    match html.windows(7).rposition(|w| w == b"</body>") {
        Some(at) => [&html[..at], TAG, &html[at..]].concat(),
        None => [html.as_slice(), TAG].concat(),
    }
}

/// `gazette build --watch`: calls `build` after every change of the site
/// at `root` (it builds to disk, for teams that serve the output with
/// their own server). Runs until stopped.
pub fn watch_and_build(root: &Path, poll: bool, mut build: impl FnMut()) -> Result<(), String> {
    let mut changes = Changes::watching(root, poll)?;
    eprintln!("watching {} for changes", root.display());
    while changes.next().is_some() {
        build();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A save is built at once only when its writer has closed the file:
    /// a file written and still open may be half written.
    #[test]
    fn a_file_written_and_not_yet_closed_is_waited_for() {
        use notify::event::{AccessKind, AccessMode, DataChange, ModifyKind, RenameMode};
        use notify::{Event, EventKind};
        let (_send, receive) = mpsc::channel();
        let changes = Changes::new(Path::new("/site"), receive, true);
        let event = |kind: EventKind, path: &str| -> notify_debouncer_full::DebounceEventResult {
            let event = Event::new(kind).add_path(PathBuf::from(path));
            Ok(vec![notify_debouncer_full::DebouncedEvent::new(
                event,
                Instant::now(),
            )])
        };
        let written = EventKind::Modify(ModifyKind::Data(DataChange::Content));
        let closed = EventKind::Access(AccessKind::Close(AccessMode::Write));
        let renamed = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        let (a, b) = ("/site/content/a.md", "/site/content/b.md");
        assert!(changes.still_open(&[event(written, a)]));
        assert!(!changes.still_open(&[event(written, a), event(closed, a)]));
        assert!(!changes.still_open(&[event(written, a), event(renamed, a)]));
        // Another file closed does not end this one's writing.
        assert!(changes.still_open(&[event(written, a), event(closed, b)]));
        // Written again after it was closed.
        assert!(changes.still_open(&[event(written, a), event(closed, a), event(written, a)]));
        // An editor's own files are not waited for.
        assert!(!changes.still_open(&[event(written, "/site/content/.a.md.swp")]));
    }

    #[test]
    fn editor_leftovers_and_output_are_not_changes() {
        let root = Path::new("/site");
        assert!(relevant(root, Path::new("/site/content/a.md")));
        assert!(relevant(root, Path::new("/site/site.yaml")));
        assert!(relevant(root, Path::new("/site/content/LICENSE")));
        assert!(!relevant(root, Path::new("/site/content/.a.md.swp")));
        assert!(!relevant(root, Path::new("/site/content/4913")));
        assert!(!relevant(root, Path::new("/site/content/a.md~")));
        assert!(!relevant(root, Path::new("/site/public/index.html")));
        // The build cache changes on every build: it must not start another.
        assert!(!relevant(root, Path::new("/site/.gazette-cache/state.bin")));
    }

    /// 100,000 seed-shaped reports (1.8 GB of Markdown) need some 31 GB
    /// to serve from memory; 10,000 need 3 GB.
    #[test]
    fn a_site_too_large_for_the_memory_is_served_from_disk() {
        let gb = 1_000_000_000;
        let site = Path::new("portal");
        let reason = too_large_for_memory(site, 1_815 * gb / 1000, Some(24 * gb)).unwrap();
        assert!(reason.contains("about 30.9 GB"), "{reason}");
        let preview = Path::new("portal/.gazette-cache/preview");
        assert!(reason.contains(&preview.display().to_string()), "{reason}");
        assert_eq!(
            too_large_for_memory(site, 181 * gb / 1000, Some(24 * gb)),
            None
        );
        // Three quarters of what is available, at most.
        assert!(too_large_for_memory(site, gb, Some(22 * gb)).is_some());
        assert!(too_large_for_memory(site, gb, Some(23 * gb)).is_none());
        // Where the system does not say, the site is served from memory.
        assert_eq!(too_large_for_memory(site, 1_815 * gb / 1000, None), None);
        assert!(available_memory().is_none_or(|bytes| bytes > 0));
    }

    /// A site served from disk answers with the files of its folder and
    /// nothing else.
    #[test]
    fn a_path_on_disk_stays_in_the_output_folder() {
        let out = Path::new("/site/.gazette-cache/preview");
        assert_eq!(
            in_folder(out, "政务公开/通知/index.html"),
            Some(out.join("政务公开/通知/index.html"))
        );
        assert_eq!(
            in_folder(out, ".well-known/security.txt"),
            Some(out.join(".well-known/security.txt"))
        );
        for escape in [
            "../site.yaml",
            "news/../../site.yaml",
            "news/./index.html",
            "news//index.html",
            "/etc/passwd",
            "news\\..\\..\\site.yaml",
            "index.html\0",
            crate::output::MARKER,
        ] {
            assert_eq!(in_folder(out, escape), None, "{escape}");
        }
    }

    #[test]
    fn the_live_script_goes_before_the_end_of_the_body() {
        let page = with_live_reload(b"<html><body><p>x</p></body></html>".to_vec());
        assert_eq!(
            String::from_utf8(page).unwrap(),
            "<html><body><p>x</p><script src=\"/__gazette/live.js\" defer></script></body></html>"
        );
    }
}
