//! Validation of documents against a spec's full JSON Schema (formats included).
//!
//! A compiled [`DocValidator`] is cached per backend and spec version by the extension;
//! compiling is the expensive part, validating a document is cheap.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::pointer_segment;
use crate::json;

/// At most this many errors are reported for one document.
pub const MAX_ERRORS: usize = 20;

/// One reason a document fails its spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocError {
    /// JSON pointer to the offending value; for a missing required property, where it belongs.
    pub path: String,
    /// The JSON Schema keyword that failed.
    pub keyword: String,
    pub message: String,
}

/// The error of a document nested too deeply (see [`json::MAX_DEPTH`]).
pub fn too_deep(e: &json::TooDeep) -> DocError {
    DocError {
        path: e.path.clone(),
        keyword: "maxDepth".into(),
        message: format!("nested deeper than {} levels (specstar keeps documents up to {} levels deep)", e.limit, e.limit),
    }
}

/// Top-level keywords a draft need not satisfy yet: a draft is checked for types and
/// formats on save, and against the whole spec when it is published.
const DRAFT_RELAXED: &[&str] = &["required", "dependentRequired", "minProperties"];

/// The schema drafts are checked against: the spec without its top-level
/// [`DRAFT_RELAXED`] keywords (nested objects keep theirs).
pub fn draft_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(o) => Value::Object(o.iter().filter(|(k, _)| !DRAFT_RELAXED.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()),
        other => other.clone(),
    }
}

/// Why a schema does not compile, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", if self.path.is_empty() { "/" } else { &self.path }, self.message)
    }
}

/// A compiled spec schema.
pub struct DocValidator {
    inner: jsonschema::Validator,
}

impl DocValidator {
    /// Compiles a schema (nested at most [`json::MAX_DEPTH`] levels); an error names the
    /// keyword (a JSON pointer into the schema) that cannot be compiled.
    pub fn compile(schema: &Value) -> Result<DocValidator, CompileError> {
        json::check_depth(schema, json::MAX_DEPTH)
            .map_err(|e| CompileError { message: format!("the schema is {e}"), path: e.path })?;
        jsonschema::options()
            .should_validate_formats(true)
            .build(schema)
            .map(|inner| DocValidator { inner })
            .map_err(|e| CompileError { path: e.instance_path().as_str().to_string(), message: e.masked_with(json::quote(e.instance())).to_string() })
    }

    /// Every error (up to [`MAX_ERRORS`]); empty when the document is valid. A document
    /// nested deeper than [`json::MAX_DEPTH`] gets one error (keyword `maxDepth`) and is not
    /// looked at further; values are quoted at most [`json::QUOTE_CHARS`] long.
    pub fn errors(&self, doc: &Value) -> Vec<DocError> {
        if let Err(e) = json::check_depth(doc, json::MAX_DEPTH) {
            return vec![too_deep(&e)];
        }
        if self.inner.is_valid(doc) {
            return Vec::new();
        }
        self.inner
            .iter_errors(doc)
            .take(MAX_ERRORS)
            .map(|e| {
                let mut path = e.instance_path().as_str().to_string();
                if let jsonschema::error::ValidationErrorKind::Required { property } = e.kind() {
                    if let Some(p) = property.as_str() {
                        path.push('/');
                        path.push_str(&pointer_segment(p));
                    }
                }
                let full = e.instance().to_string();
                let short = json::quote(e.instance());
                let message = if short == full { e.to_string() } else { e.masked_with(short).to_string() };
                DocError { path, keyword: e.kind().keyword().to_string(), message }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v() -> DocValidator {
        DocValidator::compile(&json!({
            "type": "object",
            "properties": {
                "title": {"type": "string", "minLength": 1},
                "views": {"type": "integer", "minimum": 0},
                "email": {"type": "string", "format": "email"},
                "when": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}}
            },
            "required": ["title"]
        }))
        .unwrap()
    }

    #[test]
    fn valid_documents_have_no_errors() {
        assert!(v().errors(&json!({"title": "x", "views": 3, "when": "2024-01-02T03:04:05.123+00:00"})).is_empty());
    }

    #[test]
    fn errors_carry_pointer_keyword_and_message() {
        let e = v().errors(&json!({"title": "", "views": -1}));
        assert_eq!(e.len(), 2);
        let by_path = |p: &str| e.iter().find(|x| x.path == p).unwrap().clone();
        assert_eq!(by_path("/views").keyword, "minimum");
        assert!(by_path("/views").message.contains("minimum of 0"));
        assert_eq!(by_path("/title").keyword, "minLength");
    }

    #[test]
    fn missing_required_points_at_the_property() {
        let e = v().errors(&json!({}));
        assert_eq!(e, vec![DocError { path: "/title".into(), keyword: "required".into(), message: "\"title\" is a required property".into() }]);
    }

    #[test]
    fn formats_are_checked() {
        let e = v().errors(&json!({"title": "x", "email": "not-an-email", "when": "yesterday"}));
        let mut paths: Vec<_> = e.iter().map(|x| (x.path.as_str(), x.keyword.as_str())).collect();
        paths.sort();
        assert_eq!(paths, vec![("/email", "format"), ("/when", "format")]);
    }

    #[test]
    fn nested_paths() {
        let e = v().errors(&json!({"title": "x", "tags": ["ok", "toolong"]}));
        assert_eq!(e[0].path, "/tags/1");
        assert_eq!(e[0].keyword, "maxLength");
    }

    #[test]
    fn error_count_is_bounded() {
        let v = DocValidator::compile(&json!({"type": "array", "items": {"type": "string"}})).unwrap();
        let doc = Value::Array((0..100).map(|i| json!(i)).collect());
        assert_eq!(v.errors(&doc).len(), MAX_ERRORS);
    }

    #[test]
    fn deep_documents_are_refused_before_validation() {
        let mut doc = json!("x");
        for _ in 0..json::MAX_DEPTH {
            doc = json!({ "n": doc });
        }
        let deep = json!({ "title": "x", "tags": [doc] });
        let e = v().errors(&deep);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].keyword, "maxDepth");
        assert!(e[0].path.starts_with("/tags/0/n/n"), "{}", e[0].path);
    }

    #[test]
    fn long_values_are_quoted_short() {
        let v = DocValidator::compile(&json!({"properties": {"s": {"type": "string", "maxLength": 3}}})).unwrap();
        let e = v.errors(&json!({"s": "y".repeat(50_000)}));
        assert!(e[0].message.len() < 200, "{}", e[0].message);
        assert!(e[0].message.contains("(50000 characters)") && e[0].message.contains("longer than 3"), "{}", e[0].message);
        // short values read as before
        assert_eq!(v.errors(&json!({"s": "abcd"}))[0].message, "\"abcd\" is longer than 3 characters");
    }

    #[test]
    fn drafts_skip_required_only() {
        let schema = json!({
            "type": "object",
            "properties": {"title": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
                           "meta": {"type": "object", "properties": {"k": {"type": "string"}}, "required": ["k"]}},
            "required": ["title"]
        });
        let v = DocValidator::compile(&draft_schema(&schema)).unwrap();
        assert!(v.errors(&json!({})).is_empty());
        assert_eq!(v.errors(&json!({"title": 3}))[0].keyword, "type");
        assert_eq!(v.errors(&json!({"at": "yesterday"}))[0].keyword, "format");
        assert_eq!(v.errors(&json!({"meta": {}}))[0].path, "/meta/k");
        assert!(!DocValidator::compile(&schema).unwrap().errors(&json!({})).is_empty());
    }
}
