//! specstar: the pgrx layer. Every function here *returns* results — validation errors,
//! plans, patch failures — and the PL/pgSQL in `sql/` raises them, so that specstar's own
//! SQLSTATEs (PT404/PT409/PT422) reach clients unchanged and no client-triggered error
//! carries a Rust backtrace. JSON arguments arrive through `json::Json`, which measures
//! their nesting before any recursive code reads them; SQL runs through `owner`.

use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::json;

mod access;
mod admin;
mod caller;
mod datum_json;
mod events;
mod feed;
mod graphql;
mod jobs;
mod json;
mod jsonb_build;
mod owner;
mod raise;
pub mod search;
mod session;
mod spec_info;
mod spi_read;
mod trigger;
mod validator_cache;

use json::Json;

::pgrx::pg_module_magic!(name, version);

/// Registers specstar's settings (docs/search.md: `specstar.search_max_top`).
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    search::register_settings();
    graphql::register_settings();
}

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
-- trigger, the views and the RPC functions. PARALLEL RESTRICTED, as every function here that
-- may read the catalog on its first call in a backend: a parallel worker cannot.
CREATE FUNCTION specstar._doc(resource record, vid bigint) RETURNS jsonb
LANGUAGE c STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'specstar_doc';

-- The payload of a job row: its document without the job columns (src/jobs.rs).
CREATE FUNCTION specstar._payload(resource record, vid bigint) RETURNS jsonb
LANGUAGE c STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'specstar_payload';
"#,
    name = "revision_trigger",
    requires = ["catalog"]
);
extension_sql_file!(
    "../sql/search.sql",
    name = "search",
    requires = ["catalog", "helpers", search_write, search_merge, search_rebuild, search_counts, search_verify, backend_threads]
);
extension_sql_file!("../sql/graphql.sql", name = "graphql", requires = ["helpers", graphql_plan, graphql_sdl]);
extension_sql_file!("../sql/admin.sql", name = "admin", requires = ["helpers", admin_page, admin_headers, admin_specs]);
extension_sql_file!("../sql/events.sql", name = "events", requires = ["helpers", changes, feed_now, feed_arm, feed_unnote]);
extension_sql_file!("../sql/jobs.sql", name = "jobs", requires = ["helpers", "revision_trigger", cron_next_sql, job_result_errors, job_dispatch_sql]);
extension_sql_file!("../sql/specs.sql", name = "specs", requires = ["helpers", "search", "graphql", "admin", "events", "jobs"]);
extension_sql_file!("../sql/grants.sql", name = "grants", finalize);

/// Check a spec and, given `context.vid`, generate its DDL (see specstar_core::plan). A
/// schema or options nested too deeply are reported like any other spec error.
#[pg_extern(name = "_plan", immutable, parallel_safe)]
fn plan(name: &str, schema: Json, options: Json, context: Json) -> JsonB {
    let too_deep = |what: &str, path: String, e: specstar_core::json::TooDeep| {
        json!({"ok": false, "errors": [{
            "path": path,
            "message": format!("{what} {e}"),
            "hint": "Flatten the structure: a spec can use \"$defs\" and \"$ref\" for deep types."}]})
    };
    JsonB(match (schema.0, options.0) {
        (Err(e), _) => too_deep("the spec is", e.path.clone(), e),
        (_, Err(e)) => too_deep("the options are", format!("/options{}", e.path), e),
        (Ok(schema), Ok(options)) => specstar_core::plan(name, &schema, &options, &context.0.unwrap_or(serde_json::Value::Null)),
    })
}

/// The errors of a document nested too deeply to be read.
fn too_deep_errors(e: &specstar_core::json::TooDeep) -> JsonB {
    JsonB(json!([specstar_core::document::too_deep(e)]))
}

/// Validate a document against spec version `vid`: NULL when valid, else a JSON array of
/// `{path, keyword, message}`. The compiled schema is cached for the backend's lifetime.
#[pg_extern(name = "_validate", stable, strict, parallel_restricted)]
fn validate(vid: i64, doc: Json) -> Option<JsonB> {
    match doc.0 {
        Ok(doc) => validator_cache::validate(vid, &doc, false).map(JsonB),
        Err(e) => Some(too_deep_errors(&e)),
    }
}

/// Validate a draft against spec version `vid`: types and formats, not the top-level
/// `required` (publishing checks the whole spec). NULL when valid, else the errors.
#[pg_extern(name = "_validate_draft", stable, strict, parallel_restricted)]
fn validate_draft(vid: i64, doc: Json) -> Option<JsonB> {
    match doc.0 {
        Ok(doc) => validator_cache::validate(vid, &doc, true).map(JsonB),
        Err(e) => Some(too_deep_errors(&e)),
    }
}

/// RFC 6902 patch from one document to another, or `{"error": {sqlstate, message, hint}}`
/// when a document is nested too deeply to compare.
#[pg_extern(name = "_json_diff", immutable, strict, parallel_safe)]
fn json_diff(from: Json, to: Json) -> JsonB {
    let diffed = match (from.0, to.0) {
        (Ok(from), Ok(to)) => specstar_core::patch::diff(&from, &to),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    JsonB(match diffed {
        Ok(patch) => patch,
        Err(e) => json!({"error": {
            "sqlstate": "22023",
            "message": format!("cannot diff: a revision's document is {e}"),
            "hint": format!("specstar compares documents up to {} levels deep; read the revisions themselves.", e.limit)}}),
    })
}

/// Apply an RFC 6902 patch: `{"doc": ...}` or `{"error": {kind, operation, path, message}}`.
#[pg_extern(name = "_json_patch", immutable, strict, parallel_safe)]
fn json_patch(doc: Json, patch: Json) -> JsonB {
    let invalid = |what: &str, e: specstar_core::json::TooDeep| specstar_core::patch::PatchFailure {
        kind: specstar_core::patch::PatchFailureKind::Invalid,
        operation: None,
        path: None,
        message: format!("the {what} is {e}"),
    };
    let applied = match (doc.0, patch.0) {
        (Err(e), _) => Err(invalid("document", e)),
        (_, Err(e)) => Err(invalid("patch", e)),
        (Ok(doc), Ok(patch)) => specstar_core::patch::apply(&doc, &patch),
    };
    JsonB(match applied {
        Ok(doc) => json!({ "doc": doc }),
        Err(failure) => json!({ "error": failure }),
    })
}

/// The PT422 error for a document's validation errors, worded as the revision trigger
/// words it (raised by `specstar._raise`). `subject` names the document when it is not a spec's plain document (a draft, a
/// migrated document).
#[pg_extern(name = "_error_invalid", immutable, parallel_safe)]
fn error_invalid(spec: Option<&str>, errors: Option<Json>, subject: default!(Option<&str>, "NULL")) -> JsonB {
    let spec = spec.unwrap_or_default();
    let errors = errors.and_then(|e| e.0.ok()).unwrap_or(serde_json::Value::Null);
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
fn error_stale(spec: Option<&str>, id: Option<pgrx::Uuid>, expected: Option<i32>, current: Option<i32>) -> JsonB {
    let id = id.map(|i| i.to_string()).unwrap_or_default();
    JsonB(specstar_core::errors::to_json(&specstar_core::errors::stale_revision(
        spec.unwrap_or_default(),
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

