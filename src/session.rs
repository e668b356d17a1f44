//! What a write records about its context: the actor, the message, and the id `specstar.new_id()` generated last (an id just generated cannot belong to a deleted
//! resource, so the insert trigger need not look for a tombstone).

use std::cell::Cell;
use std::ffi::{CStr, CString};

use pgrx::pg_sys;
use pgrx::prelude::*;
use serde_json::Value;
use specstar_core::if_match::{self, IfMatch};

thread_local! {
    static LAST_NEW_ID: Cell<Option<[u8; 16]>> = const { Cell::new(None) };
}

/// A GUC's value, or None when unset or empty.
pub fn guc(name: &CStr) -> Option<String> {
    let p = unsafe { pg_sys::GetConfigOption(name.as_ptr(), true, false) };
    if p.is_null() {
        return None;
    }
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy();
    if s.is_empty() {
        None
    } else {
        Some(s.into_owned())
    }
}

fn json_guc_field(name: &CStr, field: &str) -> Option<String> {
    let text = guc(name)?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v.get(field)?.as_str().map(str::to_string)
}

/// The JWT `sub` PostgREST set, else the current role.
pub fn actor() -> String {
    if let Some(sub) = json_guc_field(c"request.jwt.claims", "sub") {
        return sub;
    }
    unsafe {
        let p = pg_sys::GetUserNameFromId(pg_sys::GetUserId(), false);
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// The JWT `sub`, else the role outside any SECURITY DEFINER function (the session's role or
/// the one SET ROLE chose): who called specstar's job functions, which run as the spec's owner.
pub fn outer_actor() -> String {
    if let Some(sub) = json_guc_field(c"request.jwt.claims", "sub") {
        return sub;
    }
    unsafe {
        let p = pg_sys::GetUserNameFromId(pg_sys::GetOuterUserId(), false);
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// What the HTTP request (if PostgREST made one) asks of a write.
pub struct Request {
    /// GUC `specstar.message`, else the `X-Specstar-Message` header
    pub message: Option<String>,
    /// the `If-Match` header: the revisions the client expects (or the unreadable value)
    pub if_match: Option<Result<IfMatch, String>>,
}

/// Reads `request.headers` (set by PostgREST, names lower-cased) once per row written.
pub fn request() -> Request {
    let headers: Option<Value> = guc(c"request.headers").and_then(|h| serde_json::from_str(&h).ok());
    let header = |name: &str| headers.as_ref().and_then(|h| h.get(name)).and_then(Value::as_str);
    Request {
        message: guc(c"specstar.message").or_else(|| header("x-specstar-message").map(str::to_string)),
        if_match: header("if-match").map(if_match::parse),
    }
}

/// True once for the id `new_id()` generated last (then forgotten).
pub fn take_new_id(id: [u8; 16]) -> bool {
    LAST_NEW_ID.with(|c| {
        if c.get() == Some(id) {
            c.set(None);
            true
        } else {
            false
        }
    })
}

fn random_uuid() -> [u8; 16] {
    let d = unsafe { pgrx::direct_function_call_as_datum(pg_sys::gen_random_uuid, &[]) }
        .expect("gen_random_uuid returns a value");
    unsafe { crate::datum_json::uuid_bytes(d) }
}

/// A random (version 4) uuid: the default of every spec's `id` column.
#[pg_extern(volatile, parallel_safe)]
fn new_id() -> pgrx::Uuid {
    let bytes = random_uuid();
    LAST_NEW_ID.with(|c| c.set(Some(bytes)));
    pgrx::Uuid::from_bytes(bytes)
}

/// A time-ordered (version 7) uuid: the default id of a job spec (its enqueue order is its
/// index order). The random bits come from gen_random_uuid.
#[pg_extern(volatile, parallel_safe)]
fn new_job_id() -> pgrx::Uuid {
    let mut bytes = random_uuid();
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    bytes[6] = 0x70 | (bytes[6] & 0x0f); // version 7
    bytes[8] = 0x80 | (bytes[8] & 0x3f); // RFC 4122 variant
    LAST_NEW_ID.with(|c| c.set(Some(bytes)));
    pgrx::Uuid::from_bytes(bytes)
}

/// An id for a row inserted with an explicit NULL id.
pub fn new_id_for_trigger() -> pgrx::Uuid {
    pgrx::Uuid::from_bytes(random_uuid())
}

/// A text datum for one of the few strings every write repeats (operation labels, spec
/// version labels): built once per backend in TopMemoryContext and shared. Tuples built from
/// it copy it; nothing frees it.
pub fn lasting_text(s: &str) -> pg_sys::Datum {
    thread_local! {
        static TEXTS: std::cell::RefCell<std::collections::HashMap<String, usize>> = Default::default();
    }
    if let Some(d) = TEXTS.with(|t| t.borrow().get(s).copied()) {
        return pg_sys::Datum::from(d);
    }
    let d = unsafe { pgrx::PgMemoryContexts::TopMemoryContext.switch_to(|_| text_datum(s)) };
    TEXTS.with(|t| t.borrow_mut().insert(s.to_string(), d.value()));
    d
}

/// A text datum (palloc'd in the current memory context).
pub fn text_datum(s: &str) -> pg_sys::Datum {
    let c = CString::new(s.replace('\0', "")).expect("NUL removed");
    unsafe { pg_sys::Datum::from(pg_sys::cstring_to_text(c.as_ptr())) }
}
