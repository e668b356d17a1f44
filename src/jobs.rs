//! Jobs (docs/jobs.md): the pieces the generated job functions call that are Rust — cron
//! schedules, the payload of a job row, and results checked against `result_schema`. The job
//! logic of the revision trigger is in trigger.rs; the SQL surface in sql/jobs.sql.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use pgrx::pg_sys::{self, Datum};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::json;
use specstar_core::document::DocValidator;
use specstar_core::jobs::Cron;

use crate::json::Json;

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

/// The first time after `after` (a PostgreSQL timestamptz, microseconds since 2000) that the
/// cron expression names, or why not.
pub fn cron_next(expr: &str, after: i64) -> Result<i64, String> {
    let cron = Cron::parse(expr)?;
    cron.next_after(after + PG_EPOCH_UNIX_MICROS)
        .map(|t| t - PG_EPOCH_UNIX_MICROS)
        .ok_or_else(|| format!("\"{expr}\" names no time after then"))
}

/// `specstar._cron_next(expr, after)`: the next time of a cron schedule (NULL for an
/// expression that names none; the revision trigger refuses bad expressions at write time).
#[pg_extern(name = "_cron_next", immutable, strict, parallel_safe)]
fn cron_next_sql(expr: &str, after: pgrx::datum::TimestampWithTimeZone) -> Option<pgrx::datum::TimestampWithTimeZone> {
    if !after.is_finite() {
        return None;
    }
    let next = cron_next(expr, after.into_inner()).ok()?;
    pgrx::datum::TimestampWithTimeZone::try_from(next).ok()
}

thread_local! {
    static RESULT_SCHEMAS: RefCell<HashMap<(pg_sys::Oid, i64, i64), Option<Rc<DocValidator>>>> = RefCell::new(HashMap::new());
}

fn result_validator(vid: i64, schema_key: i64) -> Result<Option<Rc<DocValidator>>, String> {
    let key = (crate::spec_info::generation(), vid, schema_key);
    if let Some(v) = RESULT_SCHEMAS.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(v);
    }
    let schema = crate::owner::pinned(|| {
        crate::spi_read::one::<JsonB>(
            "SELECT v.descriptor -> 'job' -> 'result_schema' FROM specstar.spec_versions v WHERE v.vid = $1",
            &[vid.into()],
        )
    })
    .map_err(|e| format!("spec version {vid}: {e}"))?;
    let schema = schema.map(|s| s.0).filter(|s| !s.is_null());
    // (the descriptor may already hold another schema than the caller was made for: the job
    // options changed in place meanwhile; that one is used, and kept under its own key)
    let key = (key.0, key.1, schema.as_ref().map(specstar_core::jobs::schema_key).unwrap_or(schema_key));
    let compiled = match schema {
        None => None,
        Some(s) => Some(Rc::new(DocValidator::compile(&s).map_err(|e| format!("result_schema of spec version {vid} does not compile: {e}"))?)),
    };
    RESULT_SCHEMAS.with(|c| c.borrow_mut().insert(key, compiled.clone()));
    Ok(compiled)
}

/// `specstar._job_result_errors(vid, schema_key, result)`: NULL when `result` satisfies the
/// spec version's `result_schema` (or it has none), else the errors as `[{path, keyword,
/// message}]`. `schema_key` names the schema the caller expects (see sql/jobs.sql).
#[pg_extern(name = "_job_result_errors", stable, parallel_restricted)]
fn job_result_errors(vid: i64, schema_key: i64, result: Option<Json>) -> Option<JsonB> {
    let value = match result {
        None => serde_json::Value::Null,
        Some(Json(Ok(v))) => v,
        Some(Json(Err(e))) => return Some(JsonB(json!([specstar_core::document::too_deep(&e)]))),
    };
    match result_validator(vid, schema_key) {
        Err(message) => Some(JsonB(json!([{"path": "", "keyword": "$schema", "message": message}]))),
        Ok(None) => None,
        Ok(Some(v)) => {
            let errors = v.errors(&value);
            (!errors.is_empty()).then(|| JsonB(serde_json::to_value(errors).expect("errors serialize")))
        }
    }
}

#[no_mangle]
#[doc(hidden)]
pub extern "C" fn pg_finfo_specstar_payload() -> &'static pg_sys::Pg_finfo_record {
    static V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// `specstar._payload(row, vid)`: the payload of a job row — its document without the job
/// columns (what a worker runs the job with, and what a patch applies to).
#[no_mangle]
pub unsafe extern "C-unwind" fn specstar_payload(fcinfo: pg_sys::FunctionCallInfo) -> Datum {
    unsafe { pg_sys::panic::pgrx_extern_c_guard(|| crate::jsonb_build::doc_of_row(fcinfo, false)) }
}

/// `specstar._job_dispatch_sql(specs)`: the statements that (re)write `specstar.job_<verb>`
/// with a static call per job spec (specstar_core::ddl::jobs::dispatch).
#[pg_extern(name = "_job_dispatch_sql", immutable, strict, parallel_safe)]
fn job_dispatch_sql(specs: Vec<String>) -> Vec<String> {
    specstar_core::ddl::jobs::dispatch(&specs)
}
