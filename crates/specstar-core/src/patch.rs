//! RFC 6902 JSON Patch: computing the patch between two revisions and applying a
//! client's patch. Failures are returned as data for the SQL layer to raise.

use serde::Serialize;
use serde_json::Value;

use crate::json;

/// Why a patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchFailureKind {
    /// The patch is not an RFC 6902 document.
    Invalid,
    /// A `test` operation did not match.
    TestFailed,
    /// An operation does not fit the document (missing path, bad index, ...).
    Conflict,
}

/// A patch that failed, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatchFailure {
    pub kind: PatchFailureKind,
    /// Index of the failed operation, when one failed.
    pub operation: Option<usize>,
    pub path: Option<String>,
    pub message: String,
}

/// Patches with more operations are refused.
pub const MAX_OPERATIONS: usize = 1000;

/// A patch may not make a document larger than this (its JSON text, roughly): `copy`
/// operations can double a document each, so a short patch could otherwise ask for
/// unbounded memory.
pub const MAX_RESULT_BYTES: usize = 64 << 20;

/// The RFC 6902 patch that turns `from` into `to` (both nested at most
/// [`json::MAX_DEPTH`] levels: the diff recurses).
pub fn diff(from: &Value, to: &Value) -> Result<Value, json::TooDeep> {
    json::check_depth(from, json::MAX_DEPTH)?;
    json::check_depth(to, json::MAX_DEPTH)?;
    Ok(serde_json::to_value(json_patch::diff(from, to)).expect("a patch serializes"))
}

fn invalid(message: String) -> PatchFailure {
    PatchFailure { kind: PatchFailureKind::Invalid, operation: None, path: None, message }
}

/// Apply `patch` to `doc`; the document is untouched when any operation fails.
pub fn apply(doc: &Value, patch: &Value) -> Result<Value, PatchFailure> {
    json::check_depth(patch, json::MAX_DEPTH).map_err(|e| invalid(format!("the patch is {e}")))?;
    json::check_depth(doc, json::MAX_DEPTH).map_err(|e| invalid(format!("the document is {e}")))?;
    if patch.as_array().is_some_and(|ops| ops.len() > MAX_OPERATIONS) {
        return Err(invalid(format!("a patch may have at most {MAX_OPERATIONS} operations")));
    }
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| invalid(format!("not an RFC 6902 JSON Patch: {e}")))?;
    let mut out = doc.clone();
    // one operation at a time, so that growth is checked after each copy
    for (i, op) in ops.0.into_iter().enumerate() {
        let copies = matches!(op, json_patch::PatchOperation::Copy(_));
        json_patch::patch(&mut out, &[op]).map_err(|e| PatchFailure {
            kind: match e.kind {
                json_patch::PatchErrorKind::TestFailed => PatchFailureKind::TestFailed,
                _ => PatchFailureKind::Conflict,
            },
            operation: Some(i),
            path: Some(e.path.to_string()),
            message: format!("operation {i} ({}) failed: {}", e.path, e.kind),
        })?;
        if copies && json::approx_size(&out) > MAX_RESULT_BYTES {
            return Err(PatchFailure {
                kind: PatchFailureKind::Invalid,
                operation: Some(i),
                path: None,
                message: format!("operation {i} makes the document larger than {} MB", MAX_RESULT_BYTES >> 20),
            });
        }
    }
    json::check_depth(&out, json::MAX_DEPTH).map_err(|e| invalid(format!("the patched document is {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_round_trips() {
        let a = json!({"title": "a", "tags": ["x"], "views": 1});
        let b = json!({"title": "b", "tags": ["x", "y"]});
        let p = diff(&a, &b).unwrap();
        assert_eq!(apply(&a, &p).unwrap(), b);
        assert_eq!(diff(&a, &a).unwrap(), json!([]));
        assert!(p.as_array().unwrap().iter().any(|op| op["op"] == "remove" && op["path"] == "/views"));
    }

    #[test]
    fn apply_ops() {
        let doc = json!({"title": "a", "views": 1});
        let out = apply(&doc, &json!([{"op": "replace", "path": "/title", "value": "b"}, {"op": "remove", "path": "/views"}])).unwrap();
        assert_eq!(out, json!({"title": "b"}));
    }

    #[test]
    fn failed_test_changes_nothing() {
        let doc = json!({"title": "a"});
        let f = apply(&doc, &json!([{"op": "replace", "path": "/title", "value": "b"}, {"op": "test", "path": "/title", "value": "zzz"}])).unwrap_err();
        assert_eq!(f.kind, PatchFailureKind::TestFailed);
        assert_eq!(f.operation, Some(1));
        assert_eq!(f.path.as_deref(), Some("/title"));
    }

    #[test]
    fn copies_cannot_blow_up_a_document() {
        let doc = json!({"a": "x".repeat(1 << 20)});
        let ops: Vec<Value> = (0..70).map(|i| json!({"op": "copy", "from": "", "path": format!("/k{i}")})).collect();
        let f = apply(&doc, &Value::Array(ops)).err().expect("the copies double the document");
        assert_eq!(f.kind, PatchFailureKind::Invalid);
        assert!(f.message.contains("larger than 64 MB"), "{}", f.message);
        let many: Vec<Value> = (0..=MAX_OPERATIONS).map(|_| json!({"op": "test", "path": "/a", "value": 1})).collect();
        assert_eq!(apply(&doc, &Value::Array(many)).unwrap_err().kind, PatchFailureKind::Invalid);
    }

    #[test]
    fn deep_patches_and_documents_are_refused() {
        let mut deep = json!(1);
        for _ in 0..=json::MAX_DEPTH {
            deep = json!([deep]);
        }
        let f = apply(&json!({}), &json!([{"op": "add", "path": "/x", "value": deep}])).err().expect("too deep");
        assert_eq!(f.kind, PatchFailureKind::Invalid);
        assert!(f.message.starts_with("the patch is nested deeper than"), "{}", f.message);
        assert!(diff(&json!({"x": deep}), &json!({})).is_err());
        // a patch that nests a shallow document too deeply
        let mut half = json!(1);
        for _ in 0..60 {
            half = json!([half]);
        }
        let path = format!("/a{}", "/0".repeat(50));
        let f = apply(&json!({"a": half.clone()}), &json!([{"op": "add", "path": path, "value": half}])).err().expect("too deep");
        assert!(f.message.starts_with("the patched document is nested deeper"), "{}", f.message);
    }

    #[test]
    fn invalid_and_conflicting_patches() {
        let doc = json!({"title": "a"});
        assert_eq!(apply(&doc, &json!({"op": "add"})).unwrap_err().kind, PatchFailureKind::Invalid);
        assert_eq!(apply(&doc, &json!([{"op": "frobnicate", "path": "/a"}])).unwrap_err().kind, PatchFailureKind::Invalid);
        let f = apply(&doc, &json!([{"op": "remove", "path": "/nope"}])).unwrap_err();
        assert_eq!(f.kind, PatchFailureKind::Conflict);
        assert_eq!(f.path.as_deref(), Some("/nope"));
    }
}
