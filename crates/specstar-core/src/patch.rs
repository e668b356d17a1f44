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

/// A patch may add at most this much to a document (its JSON text, roughly): `copy`
/// operations can double a document each, so a short patch could otherwise ask for
/// unbounded memory.
pub const MAX_GROWTH_BYTES: usize = 64 << 20;

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
    let mut grown = 0usize;
    // One operation at a time: before each, what it would add is measured (without
    // recursion) where it would go, so that neither the nesting nor the size can run away —
    // a copy into its own subtree doubles both, and cloning or dropping a value recurses.
    for (i, op) in ops.0.into_iter().enumerate() {
        use json_patch::PatchOperation::*;
        let added = match &op {
            Add(o) => Some((o.path.as_str(), Some(&o.value), true)),
            Replace(o) => Some((o.path.as_str(), Some(&o.value), true)),
            Copy(o) => Some((o.path.as_str(), out.pointer(o.from.as_str()), true)),
            Move(o) => Some((o.path.as_str(), out.pointer(o.from.as_str()), false)),
            Remove(_) | Test(_) => None,
        };
        if let Some((target, Some(value), grows)) = added {
            let refuse = |message: String| PatchFailure { kind: PatchFailureKind::Invalid, operation: Some(i), path: Some(target.to_string()), message };
            if target.matches('/').count() + json::depth(value) > json::MAX_DEPTH {
                return Err(refuse(format!("operation {i} would nest the document deeper than {} levels", json::MAX_DEPTH)));
            }
            if grows {
                grown += json::approx_size(value);
                if grown > MAX_GROWTH_BYTES {
                    return Err(refuse(format!("operation {i} makes the document more than {} MB larger", MAX_GROWTH_BYTES >> 20)));
                }
            }
        }
        json_patch::patch(&mut out, &[op]).map_err(|e| PatchFailure {
            kind: match e.kind {
                json_patch::PatchErrorKind::TestFailed => PatchFailureKind::TestFailed,
                _ => PatchFailureKind::Conflict,
            },
            operation: Some(i),
            path: Some(e.path.to_string()),
            message: format!("operation {i} ({}) failed: {}", e.path, e.kind),
        })?;
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
        assert!(f.message.contains("more than 64 MB larger"), "{}", f.message);
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
        assert!(f.message.contains("would nest the document deeper than 100 levels"), "{}", f.message);
        // copies into their own subtree double the depth each time: refused at the first
        // that would go too deep, long before anything recursive sees it
        let mut deep = json!(1);
        for _ in 0..60 {
            deep = json!([deep]);
        }
        let mut ops = vec![json!({"op": "add", "path": "/x", "value": deep})];
        let mut at = "/x".to_string();
        for _ in 0..12 {
            at = format!("{at}{}", "/0".repeat(60));
            ops.push(json!({"op": "copy", "from": "/x", "path": at.clone()}));
        }
        let f = apply(&json!({}), &Value::Array(ops)).err().expect("too deep");
        assert_eq!(f.operation, Some(1));
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
