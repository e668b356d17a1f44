//! specstar: the pgrx layer. Every function here *returns* results — validation errors,
//! plans, patch failures — and the PL/pgSQL in `sql/` raises them, so that specstar's own
//! SQLSTATEs (PT404/PT409/PT422) reach clients unchanged and no client-triggered error
//! carries a Rust backtrace.

use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::json;

mod datum_json;
mod jsonb_build;
mod raise;
pub mod search;
mod session;
mod spec_info;
mod trigger;
mod validator_cache;

::pgrx::pg_module_magic!(name, version);

// Rust's allocations only (PostgreSQL keeps palloc and malloc): see Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

extension_sql_file!("../sql/catalog.sql", name = "catalog", bootstrap);
extension_sql_file!("../sql/helpers.sql", name = "helpers", requires = ["catalog", error_invalid, error_stale]);
extension_sql!(
    r#"
-- The revision trigger of every spec's live table (src/trigger.rs). Not for direct use:
-- it writes history with the table owner's rights, so only specstar attaches it.
CREATE FUNCTION specstar._revision_trigger() RETURNS trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'specstar_revision_trigger';
REVOKE ALL ON FUNCTION specstar._revision_trigger() FROM PUBLIC;

-- The document of a row of a spec's table (src/jsonb_build.rs): one definition for the
-- trigger, the views and the RPC functions.
CREATE FUNCTION specstar._doc(resource record, vid bigint) RETURNS jsonb
LANGUAGE c STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'specstar_doc';
"#,
    name = "revision_trigger",
    requires = ["catalog"]
);
extension_sql_file!(
    "../sql/search.sql",
    name = "search",
    requires = ["catalog", "helpers", search_write, search_merge, search_rebuild, search_counts, search_verify, backend_threads]
);
extension_sql_file!("../sql/specs.sql", name = "specs", finalize);

/// Check a spec and, given `context.vid`, generate its DDL (see specstar_core::plan).
#[pg_extern(name = "_plan", immutable, parallel_safe)]
fn plan(name: &str, schema: JsonB, options: JsonB, context: JsonB) -> JsonB {
    JsonB(specstar_core::plan(name, &schema.0, &options.0, &context.0))
}

/// Validate a document against spec version `vid`: NULL when valid, else a JSON array of
/// `{path, keyword, message}`. The compiled schema is cached for the backend's lifetime.
#[pg_extern(name = "_validate", stable, strict, parallel_safe)]
fn validate(vid: i64, doc: JsonB) -> Option<JsonB> {
    validator_cache::validate(vid, &doc.0, false).map(JsonB)
}

/// Validate a draft against spec version `vid`: types and formats, not the top-level
/// `required` (publishing checks the whole spec). NULL when valid, else the errors.
#[pg_extern(name = "_validate_draft", stable, strict, parallel_safe)]
fn validate_draft(vid: i64, doc: JsonB) -> Option<JsonB> {
    validator_cache::validate(vid, &doc.0, true).map(JsonB)
}

/// RFC 6902 patch from one document to another.
#[pg_extern(name = "_json_diff", immutable, strict, parallel_safe)]
fn json_diff(from: JsonB, to: JsonB) -> JsonB {
    JsonB(specstar_core::patch::diff(&from.0, &to.0))
}

/// Apply an RFC 6902 patch: `{"doc": ...}` or `{"error": {kind, operation, path, message}}`.
#[pg_extern(name = "_json_patch", immutable, strict, parallel_safe)]
fn json_patch(doc: JsonB, patch: JsonB) -> JsonB {
    JsonB(match specstar_core::patch::apply(&doc.0, &patch.0) {
        Ok(doc) => json!({ "doc": doc }),
        Err(failure) => json!({ "error": failure }),
    })
}

/// The PT422 error for a document's validation errors, worded as the revision trigger
/// words it (raised by `specstar._raise`). `subject` names the document when it is not a spec's plain document (a draft, a
/// migrated document).
#[pg_extern(name = "_error_invalid", immutable, parallel_safe)]
fn error_invalid(spec: &str, errors: Option<JsonB>, subject: default!(Option<&str>, "NULL")) -> JsonB {
    let errors = errors.map(|e| e.0).unwrap_or(serde_json::Value::Null);
    let errors: Vec<specstar_core::document::DocError> = serde_json::from_value(errors).unwrap_or_default();
    let errors = if errors.is_empty() {
        vec![specstar_core::document::DocError { path: String::new(), keyword: "$schema".into(), message: "invalid document".into() }]
    } else {
        errors
    };
    let raise = match subject {
        Some(subject) => specstar_core::errors::invalid_subject(spec, subject, &errors),
        None => specstar_core::errors::invalid_document(spec, &errors),
    };
    JsonB(specstar_core::errors::to_json(&raise))
}

/// The PT409 error for a stale revision.
#[pg_extern(name = "_error_stale", immutable, parallel_safe)]
fn error_stale(spec: &str, id: pgrx::Uuid, expected: Option<i32>, current: Option<i32>) -> JsonB {
    let id = id.to_string();
    JsonB(specstar_core::errors::to_json(&specstar_core::errors::stale_revision(
        spec,
        &id,
        expected.map(i64::from),
        current.map(i64::from),
    )))
}

/// The JSON Schema of `register_spec`'s options.
#[pg_extern(immutable, parallel_safe)]
fn options_schema() -> JsonB {
    JsonB(specstar_core::options::options_schema())
}

