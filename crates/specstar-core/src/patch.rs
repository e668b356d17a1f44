//! RFC 6902 JSON Patch: computing the patch between two revisions and applying a
//! client's patch. Failures are returned as data for the SQL layer to raise.

use serde::Serialize;
use serde_json::Value;

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

/// The RFC 6902 patch that turns `from` into `to`.
pub fn diff(from: &Value, to: &Value) -> Value {
    serde_json::to_value(json_patch::diff(from, to)).expect("a patch serializes")
}

/// Apply `patch` to `doc`; the document is untouched when any operation fails.
pub fn apply(doc: &Value, patch: &Value) -> Result<Value, PatchFailure> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone()).map_err(|e| PatchFailure {
        kind: PatchFailureKind::Invalid,
        operation: None,
        path: None,
        message: format!("not an RFC 6902 JSON Patch: {e}"),
    })?;
    let mut out = doc.clone();
    json_patch::patch(&mut out, &ops).map_err(|e| PatchFailure {
        kind: match e.kind {
            json_patch::PatchErrorKind::TestFailed => PatchFailureKind::TestFailed,
            _ => PatchFailureKind::Conflict,
        },
        operation: Some(e.operation),
        path: Some(e.path.to_string()),
        message: format!("operation {} ({}) failed: {}", e.operation, e.path, e.kind),
    })?;
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
        let p = diff(&a, &b);
        assert_eq!(apply(&a, &p).unwrap(), b);
        assert_eq!(diff(&a, &a), json!([]));
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
    fn invalid_and_conflicting_patches() {
        let doc = json!({"title": "a"});
        assert_eq!(apply(&doc, &json!({"op": "add"})).unwrap_err().kind, PatchFailureKind::Invalid);
        assert_eq!(apply(&doc, &json!([{"op": "frobnicate", "path": "/a"}])).unwrap_err().kind, PatchFailureKind::Invalid);
        let f = apply(&doc, &json!([{"op": "remove", "path": "/nope"}])).unwrap_err();
        assert_eq!(f.kind, PatchFailureKind::Conflict);
        assert_eq!(f.path.as_deref(), Some("/nope"));
    }
}
