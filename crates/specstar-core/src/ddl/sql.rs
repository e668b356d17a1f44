//! Typed pieces of generated SQL. Every name and every string that reaches a generated
//! statement goes through one of these, never through a pre-quoted `String`:
//!
//! - [`QualifiedName`]: `"schema"."name"`, for every object specstar creates or calls;
//! - [`ident`]: a double-quoted identifier;
//! - [`literal`]: a string constant that reads the same in every session setting
//!   (`standard_conforming_strings` on or off) and contains no `$`, so that no user text
//!   can close a dollar-quoted function body;
//! - [`SqlType`]: a column type, schema-qualified where a body is parsed under the
//!   caller's `search_path` (inlined SQL functions);
//! - [`render`]: fills a template and checks that the body's dollar quotes are intact.

use std::fmt;

/// `schema.name`, quoted when displayed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl QualifiedName {
    pub fn new(schema: &str, name: &str) -> QualifiedName {
        QualifiedName { schema: schema.to_string(), name: name.to_string() }
    }

    /// `schema.name` without quotes: how the descriptor and messages name an object (every
    /// name specstar creates is a plain lower-case identifier).
    pub fn plain(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", ident(&self.schema), ident(&self.name))
    }
}

/// A double-quoted SQL identifier. (Quoted identifiers know no backslash escapes, so this is
/// the same in every session setting.)
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `schema.name`, both quoted.
pub fn qualified(schema: &str, name: &str) -> String {
    QualifiedName::new(schema, name).to_string()
}

/// A string constant equal to `value` whatever `standard_conforming_strings` says, as
/// `quote_literal` makes it: plain `'...'` (quotes doubled) when the text has no backslash
/// and no `$`, else an escape string `E'...'` with backslashes doubled and `$` written as
/// `\x24` — so that a rendered literal never contains `$` and cannot end a dollar-quoted body.
pub fn literal(value: &str) -> String {
    if !value.contains(['\\', '$']) {
        return format!("'{}'", value.replace('\'', "''"));
    }
    let mut out = String::with_capacity(value.len() + 8);
    out.push_str("E'");
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\x24"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The dollar quote of every generated function body.
pub const BODY_QUOTE: &str = "$specstar$";

/// Fills the template's `{{name}}` placeholders in one pass: values are never read for
/// placeholders (a default that says `{{spec}}` stays that text). A template that holds a
/// function body must come out with exactly its two body quotes: user text enters only as
/// [`literal`]s and validated names, which contain no `$`, so anything else is a bug, caught
/// here.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").map(|e| start + e).unwrap_or_else(|| panic!("unclosed placeholder in:\n{template}"));
        let key = &rest[start + 2..end];
        let value = vars.iter().find(|(k, _)| *k == key).unwrap_or_else(|| panic!("unfilled placeholder {{{{{key}}}}} in:\n{template}"));
        out.push_str(value.1);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    let quotes = template.matches(BODY_QUOTE).count();
    assert_eq!(out.matches(BODY_QUOTE).count(), quotes, "a value broke the dollar quoting of:\n{out}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(QualifiedName::new("api", "article").to_string(), "\"api\".\"article\"");
        assert_eq!(QualifiedName::new("api", "article").plain(), "api.article");
        assert_eq!(qualified("specstar_data", "a"), "\"specstar_data\".\"a\"");
    }

    #[test]
    fn literals_are_safe_in_every_setting() {
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal(""), "''");
        // with standard_conforming_strings = off, '\' would escape the closing quote
        assert_eq!(literal("a\\'; DROP TABLE x; --"), "E'a\\\\''; DROP TABLE x; --'");
        assert_eq!(literal("$specstar$ $$"), "E'\\x24specstar\\x24 \\x24\\x24'");
        for s in ["x", "\\", "'\\'", "$1", "a$b$c", "é€\u{1F600}"] {
            assert!(!literal(s).contains('$'), "{s}");
        }
    }

    #[test]
    fn render_fills_and_guards_the_body_quotes() {
        let t = "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $specstar$ SELECT {{v}} $specstar$";
        assert_eq!(render(t, &[("v", &literal("$specstar$"))]).matches(BODY_QUOTE).count(), 2);
        let broken = std::panic::catch_unwind(|| render(t, &[("v", "'$specstar$'")]));
        assert!(broken.is_err());
        assert!(std::panic::catch_unwind(|| render("{{missing}}", &[])).is_err());
        // values are not read for placeholders
        assert_eq!(render("a {{x}} b {{y}}", &[("x", "{{y}}"), ("y", "{{z}}")]), "a {{y}} b {{z}}");
    }
}
