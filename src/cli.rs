//! The command line: parses arguments, runs the command and turns its
//! outcome into an exit code — 0 success, 1 the site has errors (or could
//! not be written), 2 the command was used wrongly.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

use crate::build::{self, BuildError, BuildOptions};
use crate::terminal::{Style, counted, render_all};

#[derive(Parser, Debug)]
#[command(
    name = "gazette",
    version,
    about = "Build a government transparency portal from Markdown reports",
    long_about = "Build a government transparency portal (政府信息公开) from Markdown reports with YAML front matter: \
report pages with their disclosure metadata, share and print layouts, the catalogue, feeds, a sitemap and search.",
    after_help = "Examples:
  gazette init my-portal                 create a portal that builds at once
  gazette new report xxgk/tzgg/notice    add a report (its placeholders must be filled in)
  gazette serve --root my-portal         preview on http://127.0.0.1:1111/, rebuilt on every save
  gazette check --root my-portal         list every problem without writing anything
  gazette build --root my-portal         write the portal to my-portal/public

Run `gazette help COMMAND` for a command's options and examples."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Build the portal into the output folder (ROOT/public by default).
    #[command(after_help = "Examples:
  gazette build                                   the site in this folder, into ./public
  gazette build --root site-content --out /srv/www/portal
  gazette build --base-url https://staging.example.gov.cn/portal/
  gazette build --relative --out /media/usb/portal    a copy to open from disk
  gazette build --watch                           build again after every change

Exit codes: 0 built; 1 the site has errors (the previous output is left as it was); 2 wrong usage.")]
    Build(BuildArgs),
    /// Create a new portal: site.yaml, sections and a sample of every document type.
    #[command(after_help = "Examples:
  gazette init my-portal              a Chinese portal (zh-CN)
  gazette init agency --lang en       an English one")]
    Init(InitArgs),
    /// Create a new report with its required front matter.
    #[command(after_help = "Examples:
  gazette new report xxgk/tzgg/2024-notice      creates content/xxgk/tzgg/2024-notice.md

The build refuses the report until its placeholders (【请填写…】) are replaced.")]
    New(NewArgs),
    /// Check the whole site — front matter, links, anchors, attachments,
    /// portal rules — without writing anything.
    #[command(after_help = "Examples:
  gazette check --root my-portal
  gazette check --format json > problems.json     for a CI tool
  gazette check --external                        also visit links to other sites

Exit code 1 when there are errors.")]
    Check(CheckArgs),
    /// Preview the portal on this computer, rebuilt on every save.
    #[command(after_help = "Examples:
  gazette serve --root my-portal --open
  gazette serve --port 8080 --poll          on a network drive, WSL or in a container")]
    Serve(ServeArgs),
    /// For each query, the bytes the search page downloads with a cold
    /// cache and the number of results (the site is built in memory).
    #[command(after_help = "Example:
  gazette search-cost --root site-content 扫黑除恶 法治政府 \"annual report\"")]
    SearchCost(SearchCostArgs),
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  gazette completions bash > ~/.local/share/bash-completion/completions/gazette
  gazette completions zsh > ~/.zfunc/_gazette
  gazette completions fish > ~/.config/fish/completions/gazette.fish
  gazette completions powershell >> $PROFILE")]
    Completions(CompletionsArgs),
}

#[derive(clap::Args, Debug)]
struct CompletionsArgs {
    /// The shell
    shell: clap_complete::Shell,
}

#[derive(clap::Args, Debug)]
struct InitArgs {
    /// The folder to create the site in [default: the current folder]
    dir: Option<PathBuf>,
    /// The portal's language
    #[arg(long, default_value = "zh-CN", value_parser = ["zh-CN", "en"])]
    lang: String,
}

#[derive(clap::Args, Debug)]
struct NewArgs {
    /// What to create: `report`
    #[arg(value_parser = ["report"])]
    kind: String,
    /// Where, below content/, e.g. xxgk/tzgg/2024-notice (".md" is added)
    path: PathBuf,
    /// The site folder [default: the current folder]
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct CheckArgs {
    /// The site folder [default: the current folder]
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Also check reports marked `draft: true`
    #[arg(long)]
    drafts: bool,
    /// `text` for people, `json` for CI tools
    #[arg(long, value_enum, default_value = "text")]
    format: CheckFormat,
    /// Also visit every link to another web site (politely: one request at
    /// a time per host; good answers are cached for 7 days in .gazette/)
    #[arg(long)]
    external: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum CheckFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// The site folder [default: the current folder]
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// The address to listen on; anything but 127.0.0.1 makes the preview reachable from other machines
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// The port (0 picks a free one)
    #[arg(long, default_value_t = 1111)]
    port: u16,
    /// Check for changes by reading the disk every half second (network drives, WSL, containers)
    #[arg(long)]
    poll: bool,
    /// Also build reports marked `draft: true`
    #[arg(long)]
    drafts: bool,
    /// Open the preview in the web browser
    #[arg(long)]
    open: bool,
    /// Print how long each stage of every rebuild took
    #[arg(long)]
    timings: bool,
    /// Build the preview to disk (in ROOT/.gazette-cache/preview) and serve it from there instead of holding it in memory; chosen without asking for a site too large for this computer's memory
    #[arg(long)]
    on_disk: bool,
}

#[derive(clap::Args, Debug)]
struct SearchCostArgs {
    /// The site folder [default: the current folder]
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// The queries, e.g. 扫黑除恶 "annual report"
    #[arg(required = true)]
    queries: Vec<String>,
}

#[derive(clap::Args, Debug)]
struct BuildArgs {
    /// The site folder, holding site.yaml and content/ [default: the current folder]
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Where to write the portal [default: ROOT/public]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The public address, replacing base_url of site.yaml (e.g. https://www.example.gov.cn/portal/)
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Also build reports marked `draft: true`
    #[arg(long)]
    drafts: bool,
    /// Write every link relative and ending in index.html, so the portal can be opened from disk
    #[arg(long)]
    relative: bool,
    /// How many threads to use [default: one per CPU core]
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Print only warnings and errors
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Print how long each stage of the build took
    #[arg(long)]
    timings: bool,
    /// Print every warning (not a summary of repeated ones) and what was left out of the site and why
    #[arg(long, short = 'v')]
    verbose: bool,
    /// After building, build again whenever a file of the site changes (for a site served by another server)
    #[arg(long)]
    watch: bool,
    /// With --watch: check for changes by reading the disk every half second
    #[arg(long, requires = "watch")]
    poll: bool,
    /// Build everything from the files alone: neither use nor update the build cache (ROOT/.gazette-cache, safe to delete)
    #[arg(long)]
    no_cache: bool,
}

/// Whether the command line in `args` (the program name first) holds the
/// site in memory from one build to the next: `serve`. (`build --watch`
/// runs until it is stopped too, but each of its builds is a `gazette
/// build` of its own, from the files and the build cache on disk.)
pub fn holds_the_site(args: &[OsString]) -> bool {
    matches!(
        Cli::try_parse_from(args).map(|cli| cli.command),
        Ok(Command::Serve(_))
    )
}

/// Runs the command line given in `args` (the program name first).
pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let command_line: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&command_line) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Build(args) => run_build(args, &command_line),
        Command::SearchCost(args) => run_search_cost(args),
        Command::Serve(args) => run_serve(args),
        Command::Check(args) => run_check(args),
        Command::Init(args) => run_init(args),
        Command::New(args) => run_new(args),
        Command::Completions(args) => {
            use clap::CommandFactory;
            // Into a buffer first: clap_complete panics on a closed pipe.
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "gazette", &mut script);
            let _ = std::io::stdout().write_all(&script);
            ExitCode::SUCCESS
        }
    }
}

fn run_build(args: BuildArgs, command_line: &[OsString]) -> ExitCode {
    let root = args.root.unwrap_or_else(|| PathBuf::from("."));
    if args.watch {
        return watch_in_children(&root, args.poll, command_line);
    }
    let options = BuildOptions {
        root,
        out: args.out,
        base_url: args.base_url,
        drafts: args.drafts,
        relative: args.relative,
        cache: !args.no_cache,
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs() as i64),
        ..BuildOptions::default()
    };
    let jobs = match args.jobs {
        Some(0) => {
            eprintln!("error: --jobs must be at least 1");
            return ExitCode::from(2);
        }
        Some(n) => n,
        None => 0,
    };
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("error: cannot start worker threads: {e}");
            return ExitCode::from(1);
        }
    };
    let started = Instant::now();
    let report = Report {
        root: &options.root,
        quiet: args.quiet,
        timings: args.timings,
        verbose: args.verbose,
        style: Style::for_stderr(),
    };
    let bar = crate::terminal::ProgressBar::for_build(args.quiet);
    let result = pool.install(|| build::build_with(&options, &bar));
    bar.clear();
    report.build(result, started)
}

/// `build --watch`: builds once, then again after every change of the
/// site, each time as a `gazette build` process of its own with the same
/// command line but `--watch` and `--poll`. A build's process gives back
/// all it took when it ends, so the watcher never holds more than one
/// build takes: built in the watcher's own process, even with a build's
/// allocator settings (`main.rs`), one save on a site of 100,000 reports
/// took it to 1.56 GB (1.2 GB held between saves; 1.99 GB when it kept
/// all it freed, as `serve` does), where a build alone peaks at 0.77 GB.
fn watch_in_children(root: &Path, poll: bool, command_line: &[OsString]) -> ExitCode {
    let program = match crate::serve::this_program() {
        Ok(program) => program,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(1);
        }
    };
    let once: Vec<&OsString> = command_line
        .iter()
        .skip(1)
        .filter(|arg| *arg != "--watch" && *arg != "--poll")
        .collect();
    let build = || match std::process::Command::new(&program).args(&once).status() {
        Ok(status) => status.code(),
        Err(e) => {
            eprintln!("error: cannot start a build: {e}");
            None
        }
    };
    // A mistyped option is not watched for.
    if build() == Some(2) {
        return ExitCode::from(2);
    }
    match crate::serve::watch_and_build(root, poll, || {
        build();
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

/// How to tell a person about a build.
struct Report<'a> {
    root: &'a Path,
    quiet: bool,
    timings: bool,
    verbose: bool,
    style: Style,
}

impl Report<'_> {
    /// Prints what a build did, or its errors, and gives the exit code.
    fn build(&self, result: Result<build::BuildSummary, BuildError>, started: Instant) -> ExitCode {
        let mut stderr = std::io::stderr().lock();
        match result {
            Ok(summary) => {
                let _ = write!(
                    stderr,
                    "{}",
                    render_all(&summary.warnings, self.root, self.style, self.verbose)
                );
                if self.verbose {
                    for skipped in &summary.skipped {
                        let _ = writeln!(stderr, "skipped {}: {}", skipped.path, skipped.reason);
                    }
                    let _ = writeln!(
                        stderr,
                        "{} files unchanged since the last build were kept as they were (their dates too)",
                        summary.written.unchanged
                    );
                }
                if self.verbose || self.timings {
                    let _ = writeln!(stderr, "{}", summary.cache);
                }
                if !self.quiet {
                    let w = &summary.written;
                    let _ = writeln!(
                        stderr,
                        "built {} reports in {} sections ({} attachments), {} files ({} changed, {} unchanged, {} removed), {:.1} MB, search index {:.1} MB, in {:.2} s → {}",
                        summary.reports,
                        summary.sections,
                        summary.attachments,
                        w.files,
                        w.written,
                        w.unchanged,
                        w.removed,
                        w.bytes as f64 / 1_000_000.0,
                        summary.search_bytes as f64 / 1_000_000.0,
                        started.elapsed().as_secs_f64(),
                        summary.out.display(),
                    );
                    if !summary.skipped.is_empty() && !self.verbose {
                        let _ = writeln!(
                            stderr,
                            "left out {} files on purpose (drafts, 不予公开, editors' temporary files); --verbose lists them",
                            summary.skipped.len()
                        );
                    }
                }
                if self.timings {
                    let _ = writeln!(stderr, "timings: {}", summary.timings);
                }
                ExitCode::SUCCESS
            }
            Err(err @ BuildError::Usage(_)) => {
                let _ = writeln!(stderr, "error: {err}");
                ExitCode::from(2)
            }
            Err(BuildError::Content(all)) => {
                let _ = write!(
                    stderr,
                    "{}",
                    render_all(&all, self.root, self.style, self.verbose)
                );
                let _ = writeln!(stderr, "{}", build::failed_with(&all));
                ExitCode::from(1)
            }
            Err(err @ BuildError::Output(_)) => {
                let _ = writeln!(stderr, "error: {err}");
                ExitCode::from(1)
            }
        }
    }
}

fn run_search_cost(args: SearchCostArgs) -> ExitCode {
    let options = BuildOptions {
        root: args.root.unwrap_or_else(|| PathBuf::from(".")),
        ..BuildOptions::default()
    };
    let generated = match build::generate(&options) {
        Ok(g) => g,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(if matches!(err, BuildError::Usage(_)) {
                2
            } else {
                1
            });
        }
    };
    let index = crate::search::SearchIndex::build(&generated.site, &generated.config);
    let files = crate::search::shards::shards(&index);
    let total: usize = files.iter().map(|f| f.script.len()).sum();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "index: {} files, {} bytes, {} reports",
        files.len(),
        total,
        index.docs.len()
    );
    let _ = writeln!(out, "{:>10} {:>8}  query", "bytes", "results");
    for query in &args.queries {
        let (bytes, results) = crate::search::shards::query_cost(&index, &files, query, 10);
        let _ = writeln!(out, "{bytes:>10} {results:>8}  {query}");
    }
    ExitCode::SUCCESS
}

fn run_serve(args: ServeArgs) -> ExitCode {
    let options = crate::serve::ServeOptions {
        root: args.root.unwrap_or_else(|| PathBuf::from(".")),
        bind: args.bind,
        port: args.port,
        poll: args.poll,
        drafts: args.drafts,
        open: args.open,
        timings: args.timings,
        on_disk: args.on_disk,
    };
    match crate::serve::serve(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run_check(args: CheckArgs) -> ExitCode {
    let options = BuildOptions {
        root: args.root.unwrap_or_else(|| PathBuf::from(".")),
        drafts: args.drafts,
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs() as i64),
        ..BuildOptions::default()
    };
    let (mut diagnostics, code) = match build::generate(&options) {
        Ok(generated) if args.external => {
            let links = crate::external::links_of(&generated.site);
            let hosts: std::collections::BTreeSet<&str> = links
                .iter()
                .map(|l| crate::external::host(&l.url))
                .collect();
            eprintln!(
                "checking {} external links on {} sites…",
                links.len(),
                hosts.len()
            );
            let now = options.now.unwrap_or_default();
            let cache = crate::external::cache_path(&options.root);
            let found =
                crate::external::check_links(&links, &cache, now, &crate::external::web_client());
            let code = if found.iter().any(|d| d.is_error()) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
            let mut all = generated.warnings;
            all.extend(found);
            (all, code)
        }
        Ok(generated) => (generated.warnings, ExitCode::SUCCESS),
        Err(BuildError::Content(all)) => (all, ExitCode::from(1)),
        Err(BuildError::Usage(message)) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(1);
        }
    };
    diagnostics.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    let mut out = std::io::stdout().lock();
    match args.format {
        CheckFormat::Json => {
            let list: Vec<serde_json::Value> = diagnostics
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "severity": if d.is_error() { "error" } else { "warning" },
                        "file": d.file.as_ref().map(|f| f.to_string()),
                        "line": d.line,
                        "message": d.message,
                        "help": d.help,
                    })
                })
                .collect();
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            );
        }
        CheckFormat::Text => {
            // `check` lists everything: no summary of repeated warnings.
            let _ = write!(
                out,
                "{}",
                render_all(&diagnostics, &options.root, Style::for_stdout(), true)
            );
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            let _ = writeln!(
                out,
                "{}, {}",
                counted(errors, "error"),
                counted(diagnostics.len() - errors, "warning")
            );
        }
    }
    code
}

fn run_init(args: InitArgs) -> ExitCode {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let lang = if args.lang == "en" {
        crate::config::Language::En
    } else {
        crate::config::Language::ZhCn
    };
    match crate::init::init(&dir, lang) {
        Ok(files) => {
            eprintln!(
                "created {} files in {}; build it with: gazette build --root {}",
                files.len(),
                dir.display(),
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run_new(args: NewArgs) -> ExitCode {
    let root = args.root.unwrap_or_else(|| PathBuf::from("."));
    let config = std::fs::read_to_string(root.join(crate::config::CONFIG_FILE))
        .ok()
        .and_then(|text| {
            crate::config::Config::parse(
                &text,
                &crate::paths::ContentPath::from_relative(crate::config::CONFIG_FILE),
            )
            .ok()
        })
        .map(|(c, _)| c);
    let Some(config) = config else {
        eprintln!(
            "error: {} has no valid site.yaml; run gazette new in a site folder, or pass --root",
            root.display()
        );
        return ExitCode::from(2);
    };
    let mut path = root.join(crate::content::CONTENT_DIR).join(&args.path);
    if path.extension().is_none_or(|e| e != "md") {
        path.set_extension("md");
    }
    if path.exists() {
        eprintln!("error: {} already exists", path.display());
        return ExitCode::from(2);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let today = crate::dates::Timestamp::from_unix(now, config.timezone)
        .map(|t| t.date().iso())
        .unwrap_or_default();
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    match std::fs::write(&path, crate::init::new_report(config.language, &today)) {
        Ok(()) => {
            eprintln!(
                "created {}; fill in the placeholders (the build refuses them until then)",
                path.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_serving_holds_the_site() {
        let args = |line: &str| -> Vec<OsString> {
            std::iter::once("gazette")
                .chain(line.split_whitespace())
                .map(OsString::from)
                .collect()
        };
        assert!(holds_the_site(&args("serve --port 8080")));
        assert!(!holds_the_site(&args("build --watch --root site")));
        assert!(!holds_the_site(&args("build --root site")));
        assert!(!holds_the_site(&args("check")));
        assert!(!holds_the_site(&args("serve --no-such-flag")));
    }
}
