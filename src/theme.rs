//! The theme stage: the templates, static assets and interface strings a
//! site is rendered with.
//!
//! The built-in themes are embedded in the binary, so `gazette build` works
//! with no theme folder at all: `default` (the Chinese government portal)
//! and `agency` (for English-language agencies, GOV.UK/USWDS in spirit),
//! which is itself made the way a site team makes its own theme — a few
//! files laid over `default`.
//!
//! A theme is the default theme with the files of the named built-in theme
//! laid over it, then the files of the site's own `themes/<name>/` folder.
//! Interface strings are overridden key by key. Every default template is
//! also available as `default/<name>`, so a theme's template can extend
//! the one it replaces: `{% extends "default/base.html" %}`.

use std::collections::BTreeMap;
use std::path::Path;

use walkdir::WalkDir;

use crate::diagnostics::Diagnostic;
use crate::paths::ContentPath;
use crate::yaml;

/// The folder under the site root that holds site themes.
pub const THEMES_DIR: &str = "themes";

macro_rules! embed {
    ($theme:literal: $($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/themes/", $theme, "/", $path)))),*]
    };
}

/// The files of one theme: relative path → bytes.
pub type ThemeFiles = &'static [(&'static str, &'static [u8])];

/// Every file of `themes/default/`, by relative path. A test checks that
/// this table and the folder agree.
pub const DEFAULT_THEME: ThemeFiles = embed!["default":
    "i18n/en.yaml",
    "i18n/zh-CN.yaml",
    "static/gazette-search.js",
    "static/gazette.css",
    "static/gazette.js",
    "static/print-gbt9704.css",
    "static/print-plain.css",
    "templates/404.html",
    "templates/annual_report.html",
    "templates/base.html",
    "templates/catalogue.html",
    "templates/home.html",
    "templates/macros.html",
    "templates/print.html",
    "templates/print_collection.html",
    "templates/print_document.html",
    "templates/redirect.html",
    "templates/report.html",
    "templates/search.html",
    "templates/section.html",
    "templates/share.html",
];

/// Every file of `themes/agency/`.
pub const AGENCY_THEME: ThemeFiles = embed!["agency":
    "i18n/en.yaml",
    "static/agency.css",
    "templates/base.html",
    "templates/report.html",
];

/// The themes built into the binary, besides `default`.
pub const BUILT_IN: &[(&str, ThemeFiles)] = &[("agency", AGENCY_THEME)];

/// Interface strings of one language: key → text.
pub type Strings = BTreeMap<String, String>;

/// A theme, with the site's overrides applied.
#[derive(Clone, Debug, Default)]
pub struct Theme {
    /// Template name (`report.html`) → source.
    pub templates: BTreeMap<String, String>,
    /// Static files by path below `static/`.
    pub assets: BTreeMap<String, Vec<u8>>,
    /// Language tag → strings.
    pub strings: BTreeMap<String, Strings>,
    /// Where each template came from, for diagnostics.
    pub origins: BTreeMap<String, ContentPath>,
}

impl Theme {
    /// The embedded default theme.
    pub fn default_theme() -> Result<Theme, Vec<Diagnostic>> {
        let mut theme = Theme::default();
        let mut problems = Vec::new();
        for (path, bytes) in DEFAULT_THEME {
            let origin = ContentPath::from_relative(&format!("{THEMES_DIR}/default/{path}"));
            if let Some(name) = path.strip_prefix("templates/") {
                // The parent of every theme's templates.
                theme.add(
                    &format!("templates/default/{name}"),
                    bytes.to_vec(),
                    origin.clone(),
                    &mut problems,
                );
            }
            theme.add(path, bytes.to_vec(), origin, &mut problems);
        }
        if problems.is_empty() {
            Ok(theme)
        } else {
            Err(problems)
        }
    }

    /// The theme named `name` for the site at `root`: the default theme,
    /// the built-in theme of that name if there is one, then the files of
    /// `root/themes/<name>/`.
    pub fn load(root: &Path, name: &str) -> Result<Theme, Vec<Diagnostic>> {
        let mut theme = Theme::default_theme()?;
        let built_in = BUILT_IN.iter().find(|(n, _)| *n == name);
        if let Some((_, files)) = built_in {
            let mut problems = Vec::new();
            for (path, bytes) in *files {
                let origin = ContentPath::from_relative(&format!("{THEMES_DIR}/{name}/{path}"));
                theme.add(path, bytes.to_vec(), origin, &mut problems);
            }
            if !problems.is_empty() {
                return Err(problems);
            }
        }
        let dir = root.join(THEMES_DIR).join(name);
        if !dir.is_dir() {
            if name == "default" || built_in.is_some() {
                return Ok(theme);
            }
            return Err(vec![
                Diagnostic::error(
                    &ContentPath::from_relative(crate::config::CONFIG_FILE),
                    None,
                    format!("theme `{name}` not found: there is no folder {THEMES_DIR}/{name}/"),
                )
                .with_help("create the folder with the templates you want to change, or use `theme: default`"),
            ]);
        }
        let mut problems = Vec::new();
        for entry in WalkDir::new(&dir).sort_by_file_name() {
            let entry = match entry {
                Ok(e) => e,
                Err(err) => {
                    problems.push(Diagnostic::error(
                        &ContentPath::new(root, err.path().unwrap_or(&dir)),
                        None,
                        format!("cannot read the theme: {err}"),
                    ));
                    continue;
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            let relative = ContentPath::new(&dir, entry.path());
            let origin = ContentPath::new(root, entry.path());
            match std::fs::read(entry.path()) {
                Ok(bytes) => theme.add(relative.as_str(), bytes, origin, &mut problems),
                Err(err) => problems.push(Diagnostic::error(
                    &origin,
                    None,
                    format!("cannot read the file: {err}"),
                )),
            }
        }
        if problems.iter().any(Diagnostic::is_error) {
            Err(problems)
        } else {
            Ok(theme)
        }
    }

    fn add(
        &mut self,
        relative: &str,
        bytes: Vec<u8>,
        origin: ContentPath,
        problems: &mut Vec<Diagnostic>,
    ) {
        if let Some(name) = relative.strip_prefix("templates/") {
            match String::from_utf8(bytes) {
                Ok(text) => {
                    self.templates.insert(name.to_string(), text);
                    self.origins.insert(name.to_string(), origin);
                }
                Err(_) => problems.push(Diagnostic::error(
                    &origin,
                    None,
                    "the template is not UTF-8 text",
                )),
            }
        } else if let Some(name) = relative.strip_prefix("static/") {
            self.assets.insert(name.to_string(), bytes);
        } else if let Some(file) = relative.strip_prefix("i18n/") {
            let Some(lang) = file.strip_suffix(".yaml") else {
                return;
            };
            let text = String::from_utf8_lossy(&bytes);
            match yaml::parse::<Strings>(&text, &origin, 1) {
                Ok(strings) => self
                    .strings
                    .entry(lang.to_string())
                    .or_default()
                    .extend(strings),
                Err(d) => problems.extend(d),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded tables list exactly the files of `themes/*/`.
    #[test]
    fn embedded_tables_match_the_theme_folders() {
        let themes = Path::new(env!("CARGO_MANIFEST_DIR")).join("themes");
        let mut folders: Vec<String> = std::fs::read_dir(&themes)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        folders.sort();
        let mut tables = vec![("default", DEFAULT_THEME)];
        tables.extend(BUILT_IN.iter().copied());
        let mut names: Vec<String> = tables.iter().map(|(n, _)| n.to_string()).collect();
        names.sort();
        assert_eq!(
            folders, names,
            "every folder of themes/ is a built-in theme"
        );
        for (name, table) in tables {
            let dir = themes.join(name);
            let on_disk: Vec<String> = WalkDir::new(&dir)
                .sort_by_file_name()
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(|e| ContentPath::new(&dir, e.path()).to_string())
                .collect();
            let embedded: Vec<String> = table.iter().map(|(p, _)| p.to_string()).collect();
            assert_eq!(embedded, on_disk, "themes/{name}");
        }
    }

    #[test]
    fn the_agency_theme_extends_the_default() {
        let root = tempfile::tempdir().unwrap();
        let theme = Theme::load(root.path(), "agency").unwrap();
        assert!(theme.templates["base.html"].contains("extends \"default/base.html\""));
        assert!(theme.templates["default/base.html"].contains("<!DOCTYPE html>"));
        assert!(
            theme.templates.contains_key("section.html"),
            "untouched templates come from default"
        );
        assert!(
            theme.assets.contains_key("agency.css") && theme.assets.contains_key("gazette.css")
        );
    }

    #[test]
    fn both_languages_have_the_same_keys() {
        let theme = Theme::default_theme().unwrap();
        let zh: Vec<&String> = theme.strings["zh-CN"].keys().collect();
        let en: Vec<&String> = theme.strings["en"].keys().collect();
        assert_eq!(zh, en);
    }

    #[test]
    fn a_site_overrides_one_file_and_some_strings() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("themes/default");
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        std::fs::create_dir_all(dir.join("i18n")).unwrap();
        std::fs::write(dir.join("templates/404.html"), "custom").unwrap();
        std::fs::write(dir.join("i18n/zh-CN.yaml"), "home: 网站首页\n").unwrap();
        let theme = Theme::load(root.path(), "default").unwrap();
        assert_eq!(theme.templates["404.html"], "custom");
        assert!(theme.templates["report.html"].contains("report"));
        assert_eq!(theme.strings["zh-CN"]["home"], "网站首页");
        assert!(theme.strings["zh-CN"].len() > 10);
    }

    #[test]
    fn a_missing_named_theme_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let errors = Theme::load(root.path(), "county").unwrap_err();
        assert!(errors[0].message.contains("county"));
    }
}
