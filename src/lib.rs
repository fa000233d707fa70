//! Gazette turns a content tree of government reports (Markdown with YAML
//! front matter) into a complete static transparency portal.
//!
//! The pipeline runs in one direction; each stage returns one complete value
//! that the next stage borrows:
//!
//! ```text
//! site.yaml ─► config ─► Config
//! content/  ─► content ─► Vec<SourceDoc> ─► markdown ─► RenderedDoc
//!           ─► site ─► Site
//! themes/   ─► theme ─► Theme
//! Site+Theme ─► render, search ─► OutputFile … ─► output (Sink) ─► public/
//! ```
//!
//! Memory stays bounded on a large site: `gazette build` renders each
//! report's body as soon as its file is read and keeps it on disk
//! ([`bodies`]), hands every page to the output as soon as it is made
//! ([`output::Sink`], written into a staging folder), and builds the search
//! index a partition at a time with its postings spilled to disk.
//!
//! [`build::build`] runs the whole pipeline; [`cli`] is the command line on top.

pub mod bodies;
pub mod build;
mod cache_text;
pub mod catalogue;
pub mod checks;
pub mod cli;
pub mod config;
pub mod content;
pub mod dates;
mod decimal;
pub mod diagnostics;
pub mod disk_cache;
pub mod external;
mod handoff;
pub mod init;
pub mod markdown;
pub mod output;
pub mod paths;
pub mod render;
pub mod search;
pub mod serve;
pub mod site;
pub mod terminal;
pub mod theme;
mod yaml;
