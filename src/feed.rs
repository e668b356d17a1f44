//! Writing the change feed (sql/events.sql, docs/events.md), fast: the revision trigger notes
//! each revision it writes in this backend's memory, and at commit one deferred constraint
//! trigger takes the feed lock and inserts the transaction's events, numbered in write
//! order. Commit releases the lock only once the rows are visible, so a cursor becomes
//! visible only after every smaller one.
//!
//! - The constraint trigger (`specstar_feed` on a spec's live table) is queued once per
//!   transaction: its WHEN clause, `specstar._feed_arm()`, is true only for the first row
//!   written since the last flush. Its presence says the spec's feed is on; its argument
//!   says whether events are also NOTIFYed.
//! - Notes made in a subtransaction that rolls back are forgotten with it, and all notes at
//!   the end of the transaction: the transaction callbacks below.
//! - Nothing a client can call adds a note: `_feed_arm` only arms, and the notes come from the
//!   revision trigger. An INSERT that will meet a live row (ON CONFLICT, or 23505) notes
//!   nothing; if an event's revision already has one (a speculative insert that met a
//!   concurrent one), the unique key drops it.

use std::cell::{Cell, RefCell};
use std::ffi::CStr;

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::pg_sys::{self, Datum};
use pgrx::prelude::*;

/// One revision written in this transaction.
struct Note {
    subxact: pg_sys::SubTransactionId,
    spec: String,
    id: pgrx::Uuid,
    revision: i32,
    op: &'static str,
    notify: bool,
}

thread_local! {
    static NOTES: RefCell<Vec<Note>> = const { RefCell::new(Vec::new()) };
    /// the subtransaction that queued the commit trigger, if one is queued
    static ARMED: Cell<Option<pg_sys::SubTransactionId>> = const { Cell::new(None) };
    static CALLBACKS: Cell<bool> = const { Cell::new(false) };
}

/// The name of the constraint trigger that marks a spec's feed as on.
pub const TRIGGER: &CStr = c"specstar_feed";

/// Whether the relation's feed is on, and whether it notifies (from its triggers: relcache).
pub unsafe fn feed_of(rel: pg_sys::Relation) -> Option<bool> {
    unsafe {
        let td = (*rel).trigdesc;
        if td.is_null() {
            return None;
        }
        let triggers = std::slice::from_raw_parts((*td).triggers, (*td).numtriggers as usize);
        let t = triggers.iter().find(|t| CStr::from_ptr(t.tgname) == TRIGGER)?;
        let notify = t.tgnargs == 1 && CStr::from_ptr(*t.tgargs) == c"notify";
        Some(notify)
    }
}

/// Notes held in memory at most: a bigger write has its events written as it goes (under
/// the feed lock, which its transaction then keeps to commit, as SET CONSTRAINTS ALL
/// IMMEDIATE would), so that memory does not grow with the size of a write.
const MAX_NOTES: usize = 10_000;

/// Notes a revision the revision trigger is writing.
pub fn note(spec: &str, id: pgrx::Uuid, revision: i32, op: &'static str, notify: bool) {
    register_callbacks();
    let subxact = unsafe { pg_sys::GetCurrentSubTransactionId() };
    let full = NOTES.with(|n| {
        let mut n = n.borrow_mut();
        n.push(Note { subxact, spec: spec.to_string(), id, revision, op, notify });
        n.len() >= MAX_NOTES
    });
    if full && flush_is_safe() {
        flush();
    }
}

/// Whether the noted events may be written now: only when every note belongs to the current
/// subtransaction or one it has absorbed, so that a rollback to a savepoint takes the events
/// with exactly the revisions they describe. (Writing an enclosing transaction's events in a
/// subtransaction that then rolls back would lose them; they are written at commit instead.)
fn flush_is_safe() -> bool {
    let current = unsafe { pg_sys::GetCurrentSubTransactionId() };
    NOTES.with(|n| n.borrow().iter().all(|note| note.subxact >= current))
}

fn register_callbacks() {
    if CALLBACKS.with(|c| c.replace(true)) {
        return;
    }
    unsafe {
        pg_sys::RegisterXactCallback(Some(on_xact), std::ptr::null_mut());
        pg_sys::RegisterSubXactCallback(Some(on_subxact), std::ptr::null_mut());
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_xact(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    use pg_sys::XactEvent::*;
    if matches!(event, XACT_EVENT_COMMIT | XACT_EVENT_ABORT | XACT_EVENT_PARALLEL_COMMIT | XACT_EVENT_PARALLEL_ABORT | XACT_EVENT_PREPARE) {
        NOTES.with(|n| n.borrow_mut().clear());
        ARMED.with(|a| a.set(None));
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_subxact(
    event: pg_sys::SubXactEvent::Type,
    my_subid: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    if event == pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB {
        // the subtransaction and every one begun inside it: ids at least its own
        NOTES.with(|n| n.borrow_mut().retain(|note| note.subxact < my_subid));
        ARMED.with(|a| {
            if a.get().is_some_and(|s| s >= my_subid) {
                a.set(None)
            }
        });
    }
}

/// The WHEN clause of a spec's `specstar_feed` trigger: true for the first row written since
/// the last flush, so that one commit trigger is queued per transaction. It arms only when
/// there are notes to flush, so calling it by hand changes nothing: a row's note is taken
/// just before its WHEN is evaluated, with nothing in between a client could run.
#[pg_extern(name = "_feed_arm", volatile, parallel_unsafe)]
fn feed_arm() -> bool {
    if NOTES.with(|n| n.borrow().is_empty()) {
        return false;
    }
    ARMED.with(|a| {
        if a.get().is_some() {
            false
        } else {
            a.set(Some(unsafe { pg_sys::GetCurrentSubTransactionId() }));
            true
        }
    })
}

/// The feed lock (held to commit), then the events, numbered in write order. A row whose
/// revision has an event already is dropped (see the module doc).
const FLUSH_SQL: &str = "WITH locked AS (SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('specstar.change_cursor'))) \
     INSERT INTO specstar.change (cursor, spec, id, revision, op) \
     SELECT pg_catalog.nextval('specstar.change_cursor'), u.spec, u.id, u.revision, u.op \
       FROM (SELECT x.* FROM locked, ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.uuid[]), \
                                        pg_catalog.unnest($3::pg_catalog.int4[]), pg_catalog.unnest($4::pg_catalog.text[])) \
                       WITH ORDINALITY AS x(spec, id, revision, op, n) ORDER BY x.n) u \
     ON CONFLICT (spec, id, revision) DO NOTHING";

const TEXT_ARRAY: PgOid = PgOid::BuiltIn(PgBuiltInOids::TEXTARRAYOID);
const UUID_ARRAY: PgOid = PgOid::BuiltIn(PgBuiltInOids::UUIDARRAYOID);
const INT4_ARRAY: PgOid = PgOid::BuiltIn(PgBuiltInOids::INT4ARRAYOID);

thread_local! {
    static FLUSH: RefCell<Option<(pg_sys::Oid, pgrx::spi::OwnedPreparedStatement)>> = const { RefCell::new(None) };
}

/// Writes this transaction's noted events, numbered, under the feed lock (held to commit),
/// and queues their notifications.
fn flush() {
    ARMED.with(|a| a.set(None));
    let notes: Vec<Note> = NOTES.with(|n| std::mem::take(&mut *n.borrow_mut()));
    if notes.is_empty() {
        return;
    }
    let specs: Vec<&str> = notes.iter().map(|n| n.spec.as_str()).collect();
    let ids: Vec<pgrx::Uuid> = notes.iter().map(|n| n.id).collect();
    let revisions: Vec<i32> = notes.iter().map(|n| n.revision).collect();
    let ops: Vec<&str> = notes.iter().map(|n| n.op).collect();
    crate::owner::as_owner(crate::owner::extension_owner(), || {
        Spi::connect_mut(|client| {
            // (prepared once per backend and catalog generation)
            let key = crate::spec_info::generation();
            if FLUSH.with(|f| f.borrow().as_ref().map(|(g, _)| *g) != Some(key)) {
                let stmt = client.prepare_mut(FLUSH_SQL, &[TEXT_ARRAY, UUID_ARRAY, INT4_ARRAY, TEXT_ARRAY])?.keep();
                FLUSH.with(|f| *f.borrow_mut() = Some((key, stmt)));
            }
            FLUSH.with(|f| {
                let f = f.borrow();
                let (_, stmt) = f.as_ref().expect("prepared above");
                client.update(stmt, None, &[specs.into(), ids.into(), revisions.into(), ops.into()]).map(|_| ())
            })
        })
    })
    .unwrap_or_else(|e| error!("specstar: writing the change feed: {e}"));
    notify(&notes);
}

/// NOTIFY `specstar_<spec>` (delivered at commit, never for a rollback): a small payload per
/// event, without document data or actor (anyone may LISTEN), or one bulk payload past 100
/// events of a spec.
fn notify(notes: &[Note]) {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for n in notes.iter().filter(|n| n.notify) {
        match counts.iter_mut().find(|(s, _)| *s == n.spec) {
            Some((_, c)) => *c += 1,
            None => counts.push((&n.spec, 1)),
        }
    }
    for (spec, count) in counts {
        let channel = format!("specstar_{spec}");
        if count > 100 {
            send(&channel, &serde_json::json!({"spec": spec, "op": "bulk", "count": count}).to_string());
        } else {
            for n in notes.iter().filter(|n| n.notify && n.spec == spec) {
                let payload = serde_json::json!({"spec": spec, "id": n.id.to_string(), "revision": n.revision, "op": n.op});
                send(&channel, &payload.to_string());
            }
        }
    }
}

unsafe extern "C-unwind" {
    fn Async_Notify(channel: *const std::ffi::c_char, payload: *const std::ffi::c_char);
}

pub(crate) fn send(channel: &str, payload: &str) {
    let (Ok(c), Ok(p)) = (std::ffi::CString::new(channel), std::ffi::CString::new(payload)) else { return };
    unsafe { pg_sys::ffi::pg_guard_ffi_boundary(|| Async_Notify(c.as_ptr(), p.as_ptr())) };
}

/// Forgets this transaction's noted events of a spec (of one resource, or all of them):
/// `specstar._feed_forget`, for purge and drop_spec, whose deletes note tombstones that must
/// not outlive the history they erase. Not for anyone else: revoked from PUBLIC.
#[pg_extern(name = "_feed_unnote")]
fn feed_unnote(spec: &str, id: Option<pgrx::Uuid>) {
    NOTES.with(|n| n.borrow_mut().retain(|note| !(note.spec == spec && id.is_none_or(|id| note.id == id))));
}

/// Writes events at once (the migrate revisions of an evolution, whose triggers are being
/// rebuilt): numbered now, under the feed lock, which the transaction keeps to commit.
#[pg_extern(name = "_feed_now")]
fn feed_now(spec: &str, ids: Vec<pgrx::Uuid>, revisions: Vec<i32>, op: &str, notify: bool) {
    let op: &'static str = match op {
        "migrate" => "migrate",
        _ => error!("specstar: _feed_now writes migrate events only"),
    };
    if !flush_is_safe() {
        ErrorReport::new(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("spec {spec}: a migration with a change feed cannot run inside a savepoint after other writes of its transaction"),
            "specstar",
        )
        .set_hint("Register the new version outside the savepoint, or in a transaction of its own.")
        .report(PgLogLevel::ERROR);
    }
    for (id, revision) in ids.into_iter().zip(revisions) {
        NOTES.with(|n| n.borrow_mut().push(Note { subxact: unsafe { pg_sys::GetCurrentSubTransactionId() }, spec: spec.to_string(), id, revision, op, notify }));
    }
    register_callbacks();
    flush();
}

#[no_mangle]
#[doc(hidden)]
pub extern "C" fn pg_finfo_specstar_feed_flush() -> &'static pg_sys::Pg_finfo_record {
    static V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// `specstar._feed_flush()`: the deferred constraint trigger, at commit.
#[no_mangle]
pub unsafe extern "C-unwind" fn specstar_feed_flush(fcinfo: pg_sys::FunctionCallInfo) -> Datum {
    unsafe {
        pg_sys::panic::pgrx_extern_c_guard(|| {
            let ctx = (*fcinfo).context;
            if ctx.is_null() || (*ctx).type_ != pg_sys::NodeTag::T_TriggerData {
                error!("specstar._feed_flush() can only be called as a trigger");
            }
            flush();
            Datum::from(0usize)
        })
    }
}
