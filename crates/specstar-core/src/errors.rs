//! The errors specstar raises, composed in one place so the Rust trigger and the PL/pgSQL
//! functions word them identically, and the catalogue of every SQLSTATE specstar raises
//! (docs/errors.md has a row for each; `tests/error_catalogue.rs` checks both ways).

use serde::Serialize;
use serde_json::{json, Value};

use crate::document::DocError;

/// Every SQLSTATE specstar raises itself (in Rust, in `sql/`, or in generated SQL), with
/// the HTTP status PostgREST answers it with.
pub const CATALOGUE: &[(&str, &str)] = &[
    ("PT422", "422: a document fails its spec"),
    ("PT409", "409: a stale revision, a draft whose base moved, a spec change that needs migrating"),
    ("PT404", "404: an unknown spec, resource, revision or draft"),
    ("22023", "400: an invalid spec, option, argument, query or header"),
    ("22000", "400: a migrate chain returned something other than a JSON object"),
    ("42501", "401/403: not allowed"),
    ("42704", "400: an unknown spec given to an internal search function"),
    ("25001", "400: search maintenance, or a job claim under limits, inside a REPEATABLE READ transaction"),
    ("25006", "400: search maintenance in a read-only transaction or on a standby"),
    ("0A000", "400: a migration of a spec with a change feed inside a savepoint after other writes"),
    ("PGRST", "the status PostgREST is told (405 for writes to a revision view)"),
];

/// An error to raise: SQLSTATE, message, detail and hint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Raise {
    pub sqlstate: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// PT422: a document fails its spec.
pub fn invalid_document(spec: &str, errors: &[DocError]) -> Raise {
    invalid_subject(spec, &format!("{spec} document"), errors)
}

/// PT422 for a document named by `subject` (a draft, a migrated document) of `spec`.
pub fn invalid_subject(spec: &str, subject: &str, errors: &[DocError]) -> Raise {
    let first = &errors[0];
    // (DETAIL carries the full pointers; the message and hint quote it short)
    let path = if first.path.is_empty() { "/".to_string() } else { crate::json::shorten(&first.path, crate::json::QUOTE_CHARS) };
    Raise {
        sqlstate: "PT422",
        message: format!("{subject} is invalid at {path}: {}", first.message),
        detail: Some(serde_json::to_string(errors).expect("errors serialize")),
        hint: Some(format!(
            "Fix the value at {path} (JSON Schema keyword \"{}\"); DETAIL lists all {} error(s). The spec: SELECT schema FROM specstar.specs WHERE name = '{spec}'.",
            first.keyword,
            errors.len()
        )),
    }
}

/// PT409: a write expected another revision than the current one.
pub fn stale_revision(spec: &str, id: &str, expected: Option<i64>, current: Option<i64>) -> Raise {
    let show = |v: Option<i64>, none: &str| v.map(|n| n.to_string()).unwrap_or_else(|| none.to_string());
    Raise {
        sqlstate: "PT409",
        message: format!(
            "{spec} {id}: revision {} is stale, the current revision is {}",
            show(expected, "NULL"),
            show(current, "none")
        ),
        detail: Some(json!({"id": id, "expected_revision": expected, "current_revision": current}).to_string()),
        hint: Some("Someone else wrote in between: read the resource again, re-apply your change and send the new revision.".into()),
    }
}

/// PT409: an INSERT names a revision but the resource does not exist yet.
pub fn not_yet_created(spec: &str, id: &str, given: i64) -> Raise {
    Raise {
        sqlstate: "PT409",
        message: format!("{spec} {id} does not exist: a new resource starts at revision 1, not {given}"),
        detail: Some(json!({"id": id, "expected_revision": given, "current_revision": null}).to_string()),
        hint: Some("Omit revision when creating a resource.".into()),
    }
}

/// 42501: an INSERT with the id of a deleted resource whose tombstone the write rules do not
/// admit (it would continue someone else's history).
pub fn recreate_refused(spec: &str, id: &str) -> Raise {
    Raise {
        sqlstate: "42501",
        message: format!("{spec} {id}: this id belongs to a deleted resource that the access rules do not let you write"),
        detail: None,
        hint: Some("Create the resource without an id (a new one is generated), or ask someone the write rules admit to restore it.".into()),
    }
}

/// PT409: an INSERT names a revision for a deleted resource that is not the next one.
pub fn deleted_meanwhile(spec: &str, id: &str, tombstone: i64, given: i64) -> Raise {
    Raise {
        sqlstate: "PT409",
        message: format!("{spec} {id} was deleted at revision {tombstone}: writing revision {given} is stale"),
        detail: Some(json!({"id": id, "expected_revision": given, "current_revision": tombstone}).to_string()),
        hint: Some("Omit revision to bring the resource back with the next revision number.".into()),
    }
}

/// 22023: an If-Match header specstar cannot read.
pub fn bad_if_match(value: &str) -> Raise {
    Raise {
        sqlstate: "22023",
        message: format!(
            "If-Match {:?} is not a revision: use \"n\" (the revision you read), a list of them, or *",
            crate::json::shorten(value, crate::json::QUOTE_CHARS)
        ),
        detail: None,
        hint: Some("Send back the revision of the resource you read, e.g. If-Match: \"3\".".into()),
    }
}

/// PT409: If-Match names revisions but the resource does not exist.
pub fn missing_for_if_match(spec: &str, id: &str, expected: Option<i64>) -> Raise {
    Raise {
        sqlstate: "PT409",
        message: format!("{spec} {id} does not exist, but If-Match expects it to"),
        detail: Some(json!({"id": id, "expected_revision": expected, "current_revision": null}).to_string()),
        hint: Some("Drop If-Match to create the resource.".into()),
    }
}

/// 22023: the id of a resource cannot change.
pub fn id_immutable(spec: &str, id: &str) -> Raise {
    Raise {
        sqlstate: "22023",
        message: format!("{spec} {id}: id cannot change"),
        detail: None,
        hint: Some("Create a new resource instead of changing the id.".into()),
    }
}

/// 22023: an UPDATE changes a column that is neither a property of the spec nor one
/// specstar maintains (one added to the table by hand): it has no place in the history.
pub fn unversioned_column(spec: &str, id: &str, column: &str) -> Raise {
    Raise {
        sqlstate: "22023",
        message: format!("{spec} {id}: column {column} is not a property of spec {spec} and cannot be changed"),
        detail: None,
        hint: Some(format!(
            "Only the spec's properties are versioned: add {column} to the spec (a new version) or keep it in a table of its own."
        )),
    }
}

/// 22023: a write sets a job column it may not (docs/jobs.md lists who writes which).
pub fn job_column(spec: &str, id: &str, column: &str, why: &str) -> Raise {
    Raise {
        sqlstate: "22023",
        message: if id.is_empty() { format!("{spec} job: {column} {why}") } else { format!("{spec} job {id}: {column} {why}") },
        detail: None,
        hint: Some(format!(
            "specstar maintains status, attempts, leased_by, lease_until, started_at, finished_at, last_error, result and runs; \
             enqueue with INSERT and move jobs with the job functions ({spec}_claim, _complete, _fail, _cancel, _rerun; docs/jobs.md)."
        )),
    }
}

/// 22023: a job column holds a value it cannot (a bad cron expression, a negative interval).
pub fn job_value(spec: &str, id: &str, column: &str, why: &str, hint: &str) -> Raise {
    let message = if id.is_empty() { format!("{spec} job: {column} {why}") } else { format!("{spec} job {id}: {column} {why}") };
    Raise { sqlstate: "22023", message, detail: None, hint: Some(hint.to_string()) }
}

/// PT409: a change a job only takes while it is pending, or a delete of a running job.
pub fn job_not_pending(spec: &str, id: &str, status: &str, action: &str) -> Raise {
    Raise {
        sqlstate: "PT409",
        message: format!("{spec} job {id} is {status}: {action}"),
        detail: Some(json!({"id": id, "status": status}).to_string()),
        hint: Some(if status == "running" {
            format!("Cancel it first (SELECT specstar.job_cancel('{spec}', id)), or wait until it is finished.")
        } else {
            format!("Rerun it to change it (SELECT specstar.job_rerun('{spec}', id)); finished jobs keep what they ran with.")
        }),
    }
}

/// Errors as the JSON the SQL helper `specstar._raise(jsonb)` raises.
pub fn to_json(r: &Raise) -> Value {
    serde_json::to_value(r).expect("raise serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_document_names_the_pointer() {
        let r = invalid_document(
            "article",
            &[DocError { path: "/views".into(), keyword: "minimum".into(), message: "-1 is less than the minimum of 0".into() }],
        );
        assert_eq!(r.sqlstate, "PT422");
        assert_eq!(r.message, "article document is invalid at /views: -1 is less than the minimum of 0");
        assert_eq!(r.detail.unwrap(), r#"[{"path":"/views","keyword":"minimum","message":"-1 is less than the minimum of 0"}]"#);
        assert!(r.hint.unwrap().contains("keyword \"minimum\""));
        let root = invalid_document("a", &[DocError { path: "".into(), keyword: "type".into(), message: "m".into() }]);
        assert!(root.message.contains(" at /: "));
    }

    #[test]
    fn stale_revision_detail_is_json() {
        let r = stale_revision("article", "x", Some(1), Some(3));
        assert_eq!(r.message, "article x: revision 1 is stale, the current revision is 3");
        let d: Value = serde_json::from_str(&r.detail.unwrap()).unwrap();
        assert_eq!(d, json!({"id": "x", "expected_revision": 1, "current_revision": 3}));
        assert_eq!(to_json(&id_immutable("a", "x"))["sqlstate"], "22023");
    }
}
