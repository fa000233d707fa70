//! The variables a template sees, in objects built for fast lookup.
//!
//! Templates look a name up every time they print it: `t.colon` two dozen
//! times on a report page, `site`, `report` and `t` at almost every line.
//! A context merged with `context! { .., ..base }` asks each of its maps in
//! turn, through minijinja's generic item lookup, and minijinja's map of
//! the theme's hundred strings compares [`Value`]s down a B-tree. With
//! [`PageVars`], a page's variables in one flat list, and [`StringTable`],
//! the strings in a hash table, a clean build of the 1,000-report bench
//! corpus takes 2 % fewer instructions (callgrind: minijinja's variable
//! loads went from 3.4 % of them to 2.3 %).

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::Value;
use minijinja::value::{Enumerator, Object, ObjectRepr};
use rustc_hash::FxHashMap;

/// A page's variables, in the order they were first set; setting a name
/// again replaces its value, so a page's own variables set after the
/// variables every page has ([`super::Renderer::base_context`]) win over
/// them.
#[derive(Debug, Default)]
pub(super) struct PageVars(Vec<(&'static str, Value)>);

impl PageVars {
    pub fn set(&mut self, name: &'static str, value: Value) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, old)) => *old = value,
            None => self.0.push((name, value)),
        }
    }

    /// The variables as a template's context.
    pub fn into_value(self) -> Value {
        Value::from_object(self)
    }
}

impl Object for PageVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        self.0
            .iter()
            .find_map(|(name, value)| (*name == key).then(|| value.clone()))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.iter().map(|(name, _)| Value::from(*name)).collect())
    }
}

/// A page's context: the variables `$base` ([`PageVars`]) with the page's
/// own set over them, as `minijinja::context!` takes them (`name =>
/// value`, each turned into a [`Value`] with `Value::from`).
macro_rules! page_context {
    ($base:expr; $($name:ident => $value:expr),* $(,)?) => {{
        let mut vars: $crate::render::vars::PageVars = $base;
        $( vars.set(stringify!($name), ::minijinja::Value::from($value)); )*
        vars.into_value()
    }};
}
pub(super) use page_context;

/// The theme's strings for the site's language (`t`), looked up by hash;
/// iterated, as a map, in the order of their names (sorted then: no theme
/// iterates them on a page).
#[derive(Debug)]
pub(super) struct StringTable(FxHashMap<String, Value>);

impl StringTable {
    pub fn new(strings: &BTreeMap<String, String>) -> StringTable {
        StringTable(
            strings
                .iter()
                .map(|(name, text)| (name.clone(), Value::from(text.as_str())))
                .collect(),
        )
    }
}

impl Object for StringTable {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        self.0.get(key).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut names: Vec<&str> = self.0.keys().map(String::as_str).collect();
        names.sort_unstable();
        Enumerator::Values(names.into_iter().map(Value::from).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::Environment;

    fn render(source: &str, ctx: Value) -> String {
        let mut env = Environment::new();
        env.add_template("t", source).unwrap();
        env.get_template("t").unwrap().render(ctx).unwrap()
    }

    #[test]
    fn a_page_sees_its_own_variables_over_the_base_ones() {
        let mut base = PageVars::default();
        base.set("canonical", Value::from("https://example.gov/"));
        base.set("lang", Value::from("zh-CN"));
        let ctx = page_context!(base; canonical => "https://example.gov/a/", title => "报告");
        assert_eq!(
            render(
                "{{ canonical }} {{ lang }} {{ title }} [{{ missing }}]",
                ctx.clone()
            ),
            "https://example.gov/a/ zh-CN 报告 []"
        );
        // A name set twice is there once.
        assert_eq!(ctx.try_iter().unwrap().count(), 3);
        assert_eq!(
            render("{{ x is mapping }}", minijinja::context! { x => ctx }),
            "True"
        );
    }

    #[test]
    fn strings_are_found_by_name_and_listed_in_order() {
        let strings: BTreeMap<String, String> = [
            ("colon", "："),
            ("share", "分享"),
            ("copy_link", "复制链接"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut vars = PageVars::default();
        vars.set("t", Value::from_object(StringTable::new(&strings)));
        let ctx = vars.into_value();
        assert_eq!(
            render(
                "{{ t.share }}{{ t.colon }}{{ t['copy_link'] }}[{{ t.missing }}]",
                ctx.clone()
            ),
            "分享：复制链接[]"
        );
        assert_eq!(
            render(
                "{% for k, v in t | items %}{{ k }}={{ v }};{% endfor %}{{ t | length }}",
                ctx
            ),
            "colon=：;copy_link=复制链接;share=分享;3"
        );
    }
}
