//! Errors found in a spec or its options, reported as data to the SQL layer which raises
//! them (SQLSTATE 22023) — Rust never raises for conditions a client can cause.

use serde::Serialize;

/// One problem in a spec: where (a JSON pointer into the spec, or `/options/...`), what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecError {
    pub path: String,
    pub message: String,
    pub hint: String,
}

impl SpecError {
    pub fn new(path: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        SpecError { path: path.into(), message: message.into(), hint: hint.into() }
    }
}

/// Escape one JSON pointer segment (RFC 6901).
pub fn pointer_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}
