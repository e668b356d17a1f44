//! The revision trigger: one C-language trigger function for every spec's live table
//! (BEFORE INSERT / UPDATE / DELETE, FOR EACH ROW, arguments: spec name and version id).
//!
//! It validates documents, numbers revisions, stamps actor/time/message and appends
//! superseded revisions and tombstones to the history. It is written in Rust because the same
//! logic in PL/pgSQL costs several times more per transaction (docs/architecture.md).
//! History rows go straight into the history's heap and indexes; SQL it runs (looking an
//! id up, or writing history when someone altered the history table) uses saved, fully
//! qualified plans with the table owner's rights and a pinned `search_path`
//! (`owner::as_owner`, what `SECURITY DEFINER ... SET search_path` gives a PL/pgSQL
//! function) while the actor is the invoking role.
//!
//! What a write may change (the rule every capability's columns follow):
//! - the spec's **properties** are the resource: a change of any of them is a revision;
//! - columns specstar **maintains** (`created_*`, `updated_*` and the internal `_parent`,
//!   `_op`, `_message`, `_version`) are always set here: values a client sends are ignored,
//!   so an UPDATE that changes nothing else writes no revision and leaves the row as it was;
//! - `id` never changes (22023) and `revision` must be the current one (PT409);
//! - any **other** column (one added to the table by hand) is outside the resource and its
//!   history: an UPDATE that changes it is refused (22023).
//!
//! The operation label of a revision (`rollback`, `restore`, `publish`) comes from which
//! specstar function is writing (`caller.rs`), never from anything a session can set.

use std::ffi::CStr;

use pgrx::pg_sys::{self, Datum, Oid};
use pgrx::prelude::*;
use serde_json::{Map, Value};
use specstar_core::ddl::history::col;
use specstar_core::ddl::DATA_SCHEMA;
use specstar_core::errors::{self, Raise};

use crate::datum_json::{uuid_bytes, uuid_string};
use crate::jsonb_build;
use crate::session;
use crate::spec_info::{self, SpecInfo};

#[no_mangle]
#[doc(hidden)]
pub extern "C" fn pg_finfo_specstar_revision_trigger() -> &'static pg_sys::Pg_finfo_record {
    static V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// Entry point (`specstar._revision_trigger()`). Internal failures are PostgreSQL errors
/// handled by pgrx's guard; expected ones come back as `Raise` and are raised here, after
/// everything else is dropped, with their own SQLSTATE.
#[no_mangle]
pub unsafe extern "C-unwind" fn specstar_revision_trigger(fcinfo: pg_sys::FunctionCallInfo) -> Datum {
    let outcome = unsafe { pg_sys::panic::pgrx_extern_c_guard(|| fire(fcinfo)) };
    match outcome {
        Ok(d) => d,
        Err(r) => unsafe { crate::raise::throw(r) },
    }
}

/// A deformed tuple.
struct Row {
    values: Vec<Datum>,
    nulls: Vec<bool>,
}

impl Row {
    unsafe fn of(tuple: pg_sys::HeapTuple, rel: pg_sys::Relation) -> Row {
        unsafe {
            let natts = (*(*rel).rd_att).natts as usize;
            let mut row = Row { values: vec![Datum::from(0usize); natts], nulls: vec![true; natts] };
            pg_sys::heap_deform_tuple(tuple, (*rel).rd_att, row.values.as_mut_ptr(), row.nulls.as_mut_ptr());
            row
        }
    }

    fn get(&self, i: usize) -> Option<Datum> {
        if self.nulls[i] {
            None
        } else {
            Some(self.values[i])
        }
    }

    fn i32(&self, i: usize) -> Option<i32> {
        self.get(i).map(|d| d.value() as i32)
    }

    fn i64(&self, i: usize) -> Option<i64> {
        self.get(i).map(|d| d.value() as i64)
    }
}

/// Replacements for some columns of a tuple.
struct Changes {
    values: Vec<Datum>,
    nulls: Vec<bool>,
    replace: Vec<bool>,
}

impl Changes {
    fn new(natts: usize) -> Changes {
        Changes { values: vec![Datum::from(0usize); natts], nulls: vec![false; natts], replace: vec![false; natts] }
    }

    fn set(&mut self, i: usize, d: Option<Datum>) {
        self.replace[i] = true;
        match d {
            Some(d) => self.values[i] = d,
            None => self.nulls[i] = true,
        }
    }

    unsafe fn apply(mut self, tuple: pg_sys::HeapTuple, rel: pg_sys::Relation) -> Datum {
        unsafe {
            let t = pg_sys::heap_modify_tuple(
                tuple,
                (*rel).rd_att,
                self.values.as_mut_ptr(),
                self.nulls.as_mut_ptr(),
                self.replace.as_mut_ptr(),
            );
            Datum::from(t)
        }
    }
}

unsafe fn fire(fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum, Raise> {
    unsafe {
        let ctx = (*fcinfo).context;
        if ctx.is_null() || (*ctx).type_ != pg_sys::NodeTag::T_TriggerData {
            error!("specstar._revision_trigger() can only be called as a trigger");
        }
        let td = ctx as *mut pg_sys::TriggerData;
        let event = (*td).tg_event;
        if event & pg_sys::TRIGGER_EVENT_ROW == 0 || event & pg_sys::TRIGGER_EVENT_TIMINGMASK != pg_sys::TRIGGER_EVENT_BEFORE {
            error!("specstar._revision_trigger() must be a BEFORE ... FOR EACH ROW trigger");
        }
        let trigger = (*td).tg_trigger;
        if (*trigger).tgnargs != 2 {
            error!("specstar._revision_trigger() needs two arguments: spec name and version id");
        }
        let args = std::slice::from_raw_parts((*trigger).tgargs, 2);
        let spec = CStr::from_ptr(args[0]).to_string_lossy().into_owned();
        let vid: i64 = CStr::from_ptr(args[1])
            .to_string_lossy()
            .parse()
            .unwrap_or_else(|_| error!("specstar._revision_trigger(): bad version id"));
        let rel = (*td).tg_relation;
        let info = spec_info::get(rel, &spec, vid);
        match event & pg_sys::TRIGGER_EVENT_OPMASK {
            pg_sys::TRIGGER_EVENT_INSERT => on_insert(&info, rel, (*td).tg_trigtuple),
            pg_sys::TRIGGER_EVENT_UPDATE => on_update(&info, rel, (*td).tg_trigtuple, (*td).tg_newtuple),
            pg_sys::TRIGGER_EVENT_DELETE => on_delete(&info, rel, (*td).tg_trigtuple),
            _ => error!("specstar._revision_trigger() does not handle TRUNCATE"),
        }
    }
}

/// The spec document of a row: properties only, NULL meaning absent. A value that cannot be
/// the document's — an array that is not one-dimensional from index 1, JSON nested too
/// deeply — is refused (PT422) naming the property.
unsafe fn document(info: &SpecInfo, row: &Row) -> Result<Value, Raise> {
    let mut doc = Map::new();
    for c in &info.columns {
        let Some(d) = row.get(c.index) else { continue };
        let pointer = format!("/{}", specstar_core::error::pointer_segment(&c.name));
        let refuse = |keyword: &str, message: String, path: String| {
            errors::invalid_document(&info.name, &[specstar_core::document::DocError { path, keyword: keyword.into(), message }])
        };
        if !unsafe { c.ty.is_plain_array(d) } {
            return Err(refuse("type", "a one-dimensional array starting at index 1 is expected".into(), pointer));
        }
        let value = unsafe { c.ty.to_json(d) }.map_err(|e| {
            let e = specstar_core::json::TooDeep { path: format!("{pointer}{}", e.path), limit: e.limit };
            let d = specstar_core::document::too_deep(&e);
            refuse(&d.keyword, d.message, d.path)
        })?;
        doc.insert(c.name.clone(), value);
    }
    Ok(Value::Object(doc))
}

fn validate(info: &SpecInfo, doc: &Value) -> Result<(), Raise> {
    let errors = info.validator.errors(doc);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors::invalid_document(&info.name, &errors))
    }
}

fn text_opt(s: Option<&str>) -> Option<Datum> {
    s.map(session::text_datum)
}

/// Runs `f` connected to SPI with the rights of `owner` and `search_path` pinned.
unsafe fn with_spi_as_owner<R>(owner: Oid, f: impl FnOnce() -> R) -> R {
    crate::owner::as_owner(owner, || unsafe {
        if pg_sys::SPI_connect() != pg_sys::SPI_OK_CONNECT as i32 {
            error!("specstar: SPI_connect failed");
        }
        let r = f();
        pg_sys::SPI_finish();
        r
    })
}

/// One history row, in the column order of the history table.
struct HistoryRow {
    values: [Datum; HISTORY_COLUMNS],
    nulls: [bool; HISTORY_COLUMNS],
}

const HISTORY_COLUMNS: usize = specstar_core::ddl::history::COLUMNS.len();

impl HistoryRow {
    fn new() -> HistoryRow {
        HistoryRow { values: [Datum::from(0usize); HISTORY_COLUMNS], nulls: [true; HISTORY_COLUMNS] }
    }
    fn set(&mut self, i: usize, d: Option<Datum>) {
        if let Some(d) = d {
            self.values[i] = d;
            self.nulls[i] = false;
        }
    }
}

/// Appends rows to the history: straight into heap and indexes (what an INSERT would do
/// after planning, without the executor), or through the saved SQL plan.
unsafe fn insert_history(info: &SpecInfo, rows: &mut [HistoryRow]) {
    unsafe {
        match info.insert_history {
            None => {
                let hrel = pg_sys::table_open(info.history, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
                for row in rows.iter_mut() {
                    let tuple = pg_sys::heap_form_tuple((*hrel).rd_att, row.values.as_mut_ptr(), row.nulls.as_mut_ptr());
                    pg_sys::CatalogTupleInsert(hrel, tuple);
                }
                pg_sys::table_close(hrel, pg_sys::NoLock as pg_sys::LOCKMODE);
            }
            Some(plan) => with_spi_as_owner(info.owner, || {
                // the history's guard trigger lets specstar's own SQL through
                let flag = pg_sys::SPI_execute(c"SELECT pg_catalog.set_config('specstar.internal_history_write', 'on', true)".as_ptr(), false, 0);
                if flag != pg_sys::SPI_OK_SELECT as i32 {
                    error!("specstar: cannot flag the history write ({flag})");
                }
                for row in rows.iter_mut() {
                    let mut nulls = row.nulls.map(|n| if n { b'n' } else { b' ' } as std::ffi::c_char);
                    let rc = pg_sys::SPI_execute_plan(plan, row.values.as_mut_ptr(), nulls.as_mut_ptr(), false, 0);
                    if rc != pg_sys::SPI_OK_INSERT as i32 {
                        error!("specstar: writing the history of {} failed ({rc})", info.name);
                    }
                }
                pg_sys::SPI_execute(c"SELECT pg_catalog.set_config('specstar.internal_history_write', '', true)".as_ptr(), false, 0);
            }),
        }
    }
}

/// The superseded revision `old` as a history row closed at `valid_to`.
unsafe fn superseded(info: &SpecInfo, old: &Row, data: Datum, version: Datum, valid_to: Datum) -> HistoryRow {
    // the same mapping as specstar_core::ddl::history::superseded
    let s = &info.sys;
    let mut h = HistoryRow::new();
    h.set(col::ID, old.get(s.id));
    h.set(col::REVISION, old.get(s.revision));
    h.set(col::PARENT_REVISION, old.get(s.parent));
    h.set(col::OP, old.get(s.op));
    h.set(col::DATA, Some(data));
    h.set(col::SCHEMA_VERSION, Some(version));
    h.set(col::VALID_FROM, old.get(s.updated_at));
    h.set(col::VALID_TO, Some(valid_to));
    h.set(col::CHANGED_BY, old.get(s.updated_by));
    h.set(col::MESSAGE, old.get(s.message));
    h.set(col::CREATED_AT, old.get(s.created_at));
    h.set(col::CREATED_BY, old.get(s.created_by));
    h
}

/// The spec version a live row's revision was written under (kept through compatible
/// evolutions, which rewrite no row).
fn written_under(info: &SpecInfo, row: &Row) -> Datum {
    row.get(info.sys.version).unwrap_or_else(|| session::lasting_text(&info.version))
}

/// What the history knows about an id that was not freshly generated.
enum Known {
    /// no live row, no history: a new resource
    New,
    /// a live row exists: the insert will conflict on the id (23505, or the upsert's
    /// ON CONFLICT path, which checks a given revision like any UPDATE)
    Live,
    /// deleted: the newest revision is a tombstone (revision, valid_from, created_at, created_by)
    Deleted(i32, i64, i64, String),
}

/// Looks an id up. The live row is locked first: a transaction deleting it right now makes
/// us wait, and the history is then read with a fresh snapshot (read-write SPI), so a
/// concurrent delete is never missed and a re-created resource continues its numbering.
/// (Under REPEATABLE READ the lock reports the concurrent delete as a serialization failure.)
unsafe fn look_up(info: &SpecInfo, id: Datum) -> Known {
    unsafe {
        with_spi_as_owner(info.owner, || {
            let mut args = [id];
            let mut nulls = [b' ' as std::ffi::c_char];
            let rc = pg_sys::SPI_execute_plan(info.lock_live, args.as_mut_ptr(), nulls.as_mut_ptr(), false, 0);
            if rc != pg_sys::SPI_OK_SELECT as i32 {
                error!("specstar: locking {} {} failed ({rc})", info.name, uuid_string(id));
            }
            if pg_sys::SPI_processed > 0 {
                return Known::Live;
            }
            let rc = pg_sys::SPI_execute_plan(info.latest_revision, args.as_mut_ptr(), nulls.as_mut_ptr(), false, 1);
            if rc != pg_sys::SPI_OK_SELECT as i32 {
                error!("specstar: reading the history of {} failed ({rc})", info.name);
            }
            if pg_sys::SPI_processed == 0 {
                return Known::New;
            }
            let table = pg_sys::SPI_tuptable;
            let tuple = *(*table).vals;
            let desc = (*table).tupdesc;
            let mut isnull = false;
            let revision = pg_sys::SPI_getbinval(tuple, desc, 1, &mut isnull).value() as i32;
            let valid_from = pg_sys::SPI_getbinval(tuple, desc, 2, &mut isnull).value() as i64;
            let created_at = pg_sys::SPI_getbinval(tuple, desc, 3, &mut isnull).value() as i64;
            let created_by = CStr::from_ptr(pg_sys::SPI_getvalue(tuple, desc, 4)).to_string_lossy().into_owned();
            // without a live row the newest revision is the tombstone
            Known::Deleted(revision, valid_from, created_at, created_by)
        })
    }
}

/// Whether the caller may bring back the deleted resource `id`: true without access rules,
/// else when the rules' write list admits its tombstone (docs/permissions.md). The
/// tombstone is read with the owner's rights, the rules are applied with the caller's.
unsafe fn may_recreate(info: &SpecInfo, id: Datum) -> bool {
    use specstar_core::ddl::sql::{ident, literal};
    let history = format!("{}.{}", ident(DATA_SCHEMA), ident(&format!("{}_revision", info.name)));
    let admits = format!("{}.{}", ident(DATA_SCHEMA), ident(&format!("{}__admits", info.name)));
    let tombstone_sql = format!(
        "SELECT (h.data OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('id', h.id, 'revision', h.revision, \
         'created_at', h.created_at, 'created_by', h.created_by, 'updated_at', h.valid_from, 'updated_by', h.changed_by))::pg_catalog.text \
         FROM {history} h WHERE h.id OPERATOR(pg_catalog.=) $1 \
         AND pg_catalog.to_regprocedure({}) IS NOT NULL ORDER BY h.revision DESC LIMIT 1",
        literal(&format!("{admits}(text, jsonb)"))
    );
    let Ok(tombstone_sql) = std::ffi::CString::new(tombstone_sql) else { return false };
    let tombstone: Option<String> = unsafe {
        with_spi_as_owner(info.owner, || {
            let mut types = [pg_sys::UUIDOID];
            let mut args = [id];
            let nulls = [b' ' as std::ffi::c_char];
            let rc = pg_sys::SPI_execute_with_args(tombstone_sql.as_ptr(), 1, types.as_mut_ptr(), args.as_mut_ptr(), nulls.as_ptr(), true, 1);
            if rc != pg_sys::SPI_OK_SELECT as i32 {
                error!("specstar: reading the tombstone of {} failed ({rc})", info.name);
            }
            if pg_sys::SPI_processed == 0 {
                return None;
            }
            let table = pg_sys::SPI_tuptable;
            let v = pg_sys::SPI_getvalue(*(*table).vals, (*table).tupdesc, 1);
            (!v.is_null()).then(|| CStr::from_ptr(v).to_string_lossy().into_owned())
        })
    };
    // no access rules (or no tombstone): nothing to check
    let Some(tombstone) = tombstone else { return true };
    let Ok(admits_sql) = std::ffi::CString::new(format!("SELECT {admits}('write', $1::pg_catalog.jsonb)")) else { return false };
    crate::owner::pinned(|| unsafe {
        if pg_sys::SPI_connect() != pg_sys::SPI_OK_CONNECT as i32 {
            error!("specstar: SPI_connect failed");
        }
        let mut types = [pg_sys::TEXTOID];
        let mut args = [session::text_datum(&tombstone)];
        let nulls = [b' ' as std::ffi::c_char];
        let rc = pg_sys::SPI_execute_with_args(admits_sql.as_ptr(), 1, types.as_mut_ptr(), args.as_mut_ptr(), nulls.as_ptr(), true, 1);
        let mut admitted = false;
        if rc == pg_sys::SPI_OK_SELECT as i32 && pg_sys::SPI_processed == 1 {
            let table = pg_sys::SPI_tuptable;
            let mut isnull = false;
            let d = pg_sys::SPI_getbinval(*(*table).vals, (*table).tupdesc, 1, &mut isnull);
            admitted = !isnull && bool::from_datum(d, false).unwrap_or(false);
        }
        pg_sys::SPI_finish();
        admitted
    })
}

/// The If-Match header's verdict on a resource at `current` (None: it does not exist).
fn check_if_match(info: &SpecInfo, req: &session::Request, id: impl Fn() -> String, current: Option<i64>) -> Result<(), Raise> {
    // (the id is only written out for an error: most writes carry no If-Match)
    match &req.if_match {
        None => Ok(()),
        Some(Err(value)) => Err(errors::bad_if_match(value)),
        Some(Ok(m)) if m.accepts(current) => Ok(()),
        Some(Ok(m)) => Err(match current {
            None => errors::missing_for_if_match(&info.name, &id(), m.expected()),
            Some(c) => errors::stale_revision(&info.name, &id(), m.expected(), Some(c)),
        }),
    }
}

unsafe fn on_insert(info: &SpecInfo, rel: pg_sys::Relation, tuple: pg_sys::HeapTuple) -> Result<Datum, Raise> {
    unsafe {
        let row = Row::of(tuple, rel);
        let s = &info.sys;
        validate(info, &document(info, &row)?)?;
        let mut ch = Changes::new(info.natts);
        let now = pg_sys::GetCurrentTransactionStartTimestamp();
        if let Some(j) = &info.job {
            // (an enqueue's errors name no id: it is usually one generated just now)
            job::on_insert(info, j, &row, &mut ch, "", now)?;
        }
        let actor = session::actor();
        let actor_text = session::text_datum(&actor);
        let given = row.i32(s.revision);
        let req = session::request();
        // A fresh id cannot belong to an existing or deleted resource; any other id, or an
        // insert that names a revision, is looked up.
        let known = match row.get(s.id) {
            None => {
                let id: pgrx::Uuid = crate::session::new_id_for_trigger();
                ch.set(s.id, id.into_datum());
                Known::New
            }
            Some(id) if session::take_new_id(uuid_bytes(id)) && given.is_none() => Known::New,
            Some(id) => look_up(info, id),
        };
        let id_text = || row.get(s.id).map(|d| uuid_string(d)).unwrap_or_default();
        // If-Match on an insert (PUT) that does not hit a live row: the resource is missing
        if !matches!(known, Known::Live) {
            check_if_match(info, &req, id_text, None)?;
        }
        // for the change feed: an insert that meets a live row is no revision (ON CONFLICT
        // takes its UPDATE path, or it fails with 23505)
        let mut feed_op: &'static str = "create";
        let mut feed_key: Option<(Datum, i32)> = None;
        match known {
            Known::New | Known::Live => {
                if let (Known::New, Some(r)) = (&known, given) {
                    if r != 1 {
                        return Err(errors::not_yet_created(&info.name, &id_text(), r.into()));
                    }
                }
                ch.set(s.parent, None);
                ch.set(s.revision, Some(Datum::from(given.unwrap_or(1))));
                let op = if info.writer_op() == Some("publish") { "publish" } else { "create" };
                ch.set(s.op, Some(session::lasting_text(op)));
                if matches!(known, Known::New) {
                    feed_op = op;
                    let id = if ch.replace[s.id] { ch.values[s.id] } else { row.get(s.id).expect("id given") };
                    feed_key = Some((id, given.unwrap_or(1)));
                }
                ch.set(s.created_at, Some(Datum::from(now)));
                ch.set(s.created_by, Some(actor_text));
                ch.set(s.updated_at, Some(Datum::from(now)));
            }
            Known::Deleted(tomb_revision, tomb_from, created_at, created_by) => {
                // the id belongs to a deleted resource: this write brings it back, if the
                // access rules let the caller write its tombstone
                if !may_recreate(info, row.get(s.id).expect("looked up by id")) {
                    return Err(errors::recreate_refused(&info.name, &id_text()));
                }
                if let Some(r) = given {
                    if r != tomb_revision + 1 {
                        return Err(errors::deleted_meanwhile(&info.name, &id_text(), tomb_revision.into(), r.into()));
                    }
                }
                let op = info.writer_op().unwrap_or("create");
                feed_op = op;
                feed_key = Some((row.get(s.id).expect("looked up by id"), tomb_revision + 1));
                ch.set(s.parent, Some(Datum::from(tomb_revision)));
                ch.set(s.revision, Some(Datum::from(tomb_revision + 1)));
                ch.set(s.op, Some(session::lasting_text(op)));
                ch.set(s.created_at, Some(Datum::from(created_at)));
                ch.set(s.created_by, Some(session::text_datum(&created_by)));
                ch.set(s.updated_at, Some(Datum::from(now.max(tomb_from))));
            }
        }
        ch.set(s.updated_by, Some(actor_text));
        ch.set(s.message, text_opt(req.message.as_deref()));
        ch.set(s.version, Some(session::lasting_text(&info.version)));
        // an insert that meets a live row is no revision (ON CONFLICT takes its UPDATE path)
        if let Some((id, revision)) = feed_key {
            feed_note(info, rel, id, revision, feed_op);
            if info.job.is_some() {
                job::notify(info);
            }
        }
        Ok(ch.apply(tuple, rel))
    }
}

/// Notes the revision being written for the change feed, when the spec's feed is on.
unsafe fn feed_note(info: &SpecInfo, rel: pg_sys::Relation, id: Datum, revision: i32, op: &'static str) {
    unsafe {
        if let Some(notify) = crate::feed::feed_of(rel) {
            crate::feed::note(&info.name, pgrx::Uuid::from_bytes(uuid_bytes(id)), revision, op, notify);
        }
    }
}

unsafe extern "C-unwind" {
    fn datum_image_eq(value1: Datum, value2: Datum, typByVal: bool, typLen: std::ffi::c_int) -> bool;
    fn toast_compress_datum(value: Datum, cmethod: std::ffi::c_char) -> Datum;
}

/// Documents smaller than this are stored as they are.
const COMPRESS_MIN_BYTES: usize = 256;

/// History data compressed with lz4 (inline, as TOAST would store it): PostgreSQL only
/// compresses rows over ~2 kB by itself, and history is written once and read rarely.
/// Every reader detoasts transparently.
unsafe fn compressed(data: Datum) -> Datum {
    unsafe {
        if pgrx::varlena::varsize_any_exhdr(data.cast_mut_ptr()) < COMPRESS_MIN_BYTES {
            return data;
        }
        let c = pg_sys::ffi::pg_guard_ffi_boundary(|| toast_compress_datum(data, b'l' as std::ffi::c_char));
        if c.is_null() {
            data
        } else {
            c
        }
    }
}

/// Whether two values of a column are the same (binary image: a change of representation
/// counts as a change).
fn same_value(a: Option<Datum>, b: Option<Datum>, ty: &crate::datum_json::ColumnType) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => unsafe {
            pg_sys::ffi::pg_guard_ffi_boundary(|| datum_image_eq(a, b, ty.typbyval, ty.typlen.into()))
        },
        _ => false,
    }
}

/// Whether no property changed.
fn same(info: &SpecInfo, old: &Row, new: &Row) -> bool {
    info.columns.iter().all(|c| same_value(old.get(c.index), new.get(c.index), &c.ty))
}

unsafe fn on_update(info: &SpecInfo, rel: pg_sys::Relation, old_tuple: pg_sys::HeapTuple, new_tuple: pg_sys::HeapTuple) -> Result<Datum, Raise> {
    unsafe {
        let old = Row::of(old_tuple, rel);
        let new = Row::of(new_tuple, rel);
        let s = &info.sys;
        let old_id = old.get(s.id).expect("id is NOT NULL");
        if new.get(s.id).map(|d| uuid_bytes(d)) != Some(uuid_bytes(old_id)) {
            return Err(errors::id_immutable(&info.name, &uuid_string(old_id)));
        }
        if new.i32(s.revision) != old.i32(s.revision) {
            return Err(errors::stale_revision(
                &info.name,
                &uuid_string(old_id),
                new.i64(s.revision),
                old.i64(s.revision),
            ));
        }
        let req = session::request();
        check_if_match(info, &req, || uuid_string(old_id), old.i64(s.revision))?;
        if let Some(c) = info.other_columns.iter().find(|c| !same_value(old.get(c.0), new.get(c.0), &c.2)) {
            return Err(errors::unversioned_column(&info.name, &uuid_string(old_id), &c.1));
        }
        // a job's transitions are written by the spec's job functions, each its own op
        // (docs/jobs.md); anyone else may change a job only as a pending resource
        // (the call stack is only looked at for a job spec here; other specs' writes look
        // once, below, and only when they write a revision)
        let job_op = if info.job.is_some() { info.writer_op().filter(|op| specstar_core::jobs::OPS.contains(op)) } else { None };
        if job_op == Some("heartbeat") {
            // a heartbeat extends the lease in place: no revision
            return Ok(Datum::from(new_tuple));
        }
        if let (Some(j), None) = (&info.job, job_op) {
            job::on_user_update(info, j, &old, &new, &uuid_string(old_id))?;
        }
        let payload_same = same(info, &old, &new);
        if payload_same && info.job.as_ref().is_none_or(|j| job::same(j, &old, &new)) {
            // no property changed (maintained columns are set here, whatever was sent):
            // no revision, the row stays as it was
            return Ok(Datum::from(old_tuple));
        }
        if !payload_same {
            validate(info, &document(info, &new)?)?;
        }
        let now = pg_sys::GetCurrentTransactionStartTimestamp().max(old.i64(s.updated_at).unwrap_or(i64::MIN));
        let data = compressed(jsonb_build::document(info, &old.values, &old.nulls));
        insert_history(info, &mut [superseded(info, &old, data, written_under(info, &old), Datum::from(now))]);

        let mut ch = Changes::new(info.natts);
        let revision = old.i32(s.revision).expect("revision is NOT NULL");
        let op = match job_op {
            Some(op) => op,
            None => match info.writer_op() {
                Some(op @ ("rollback" | "publish")) => op,
                _ => "update",
            },
        };
        ch.set(s.revision, Some(Datum::from(revision + 1)));
        ch.set(s.parent, Some(Datum::from(revision)));
        ch.set(s.op, Some(session::lasting_text(op)));
        ch.set(s.message, text_opt(req.message.as_deref()));
        ch.set(s.created_at, old.get(s.created_at));
        ch.set(s.created_by, old.get(s.created_by));
        ch.set(s.updated_at, Some(Datum::from(now)));
        // (the job functions run with their owner's rights: the actor is who called them)
        let actor = if job_op.is_some() { session::outer_actor() } else { session::actor() };
        ch.set(s.updated_by, Some(session::text_datum(&actor)));
        ch.set(s.version, Some(session::lasting_text(&info.version)));
        feed_note(info, rel, old_id, revision + 1, op);
        if let Some(j) = &info.job {
            if job::became_ready(j, &old, &new) {
                job::notify(info);
            }
        }
        Ok(ch.apply(new_tuple, rel))
    }
}

unsafe fn on_delete(info: &SpecInfo, rel: pg_sys::Relation, tuple: pg_sys::HeapTuple) -> Result<Datum, Raise> {
    unsafe {
        let old = Row::of(tuple, rel);
        let s = &info.sys;
        let req = session::request();
        check_if_match(info, &req, || uuid_string(old.get(s.id).expect("id is NOT NULL")), old.i64(s.revision))?;
        if let Some(j) = &info.job {
            if job::status(j, &old).as_deref() == Some("running") {
                return Err(errors::job_not_pending(&info.name, &uuid_string(old.get(s.id).expect("id is NOT NULL")), "running", "a running job cannot be deleted"));
            }
        }
        let now = pg_sys::GetCurrentTransactionStartTimestamp().max(old.i64(s.updated_at).unwrap_or(i64::MIN));
        let data = compressed(jsonb_build::document(info, &old.values, &old.nulls));
        let version = written_under(info, &old);
        let last = superseded(info, &old, data, version, Datum::from(now));
        let revision = old.i32(s.revision).expect("revision is NOT NULL");
        let mut tomb = HistoryRow::new();
        tomb.set(col::ID, old.get(s.id));
        tomb.set(col::REVISION, Some(Datum::from(revision + 1)));
        tomb.set(col::PARENT_REVISION, Some(Datum::from(revision)));
        tomb.set(col::OP, Some(session::lasting_text("delete")));
        tomb.set(col::DATA, Some(data));
        tomb.set(col::SCHEMA_VERSION, Some(version));
        tomb.set(col::VALID_FROM, Some(Datum::from(now)));
        tomb.set(col::CHANGED_BY, Some(session::text_datum(&session::actor())));
        tomb.set(col::MESSAGE, text_opt(req.message.as_deref()));
        tomb.set(col::CREATED_AT, old.get(s.created_at));
        tomb.set(col::CREATED_BY, old.get(s.created_by));
        insert_history(info, &mut [last, tomb]);
        if let Some(notify) = crate::feed::feed_of(rel) {
            let id = pgrx::Uuid::from_bytes(uuid_bytes(old.get(s.id).expect("id is NOT NULL")));
            crate::feed::note(&info.name, id, revision + 1, "delete", notify);
        }
        Ok(Datum::from(tuple))
    }
}

/// The revision trigger's part in jobs (docs/jobs.md): what an enqueue may set, what anyone
/// but the job functions may change, and the NOTIFY that wakes workers.
mod job {
    use pgrx::pg_sys::{self, Datum};
    use specstar_core::errors::{self, Raise};
    use specstar_core::jobs::{col, Writable, COLUMNS};

    use super::{same_value, Changes, Row};
    use crate::session;
    use crate::spec_info::{JobInfo, SpecInfo};

    fn text(d: Datum) -> String {
        unsafe { std::ffi::CStr::from_ptr(pg_sys::text_to_cstring(d.cast_mut_ptr())).to_string_lossy().into_owned() }
    }

    /// A job's status.
    pub fn status(j: &JobInfo, row: &Row) -> Option<String> {
        row.get(j.col[col::STATUS]).map(text)
    }

    fn changed(j: &JobInfo, c: usize, old: &Row, new: &Row) -> bool {
        !same_value(old.get(j.col[c]), new.get(j.col[c]), &j.columns[c].ty)
    }

    /// Whether no job column changed.
    pub fn same(j: &JobInfo, old: &Row, new: &Row) -> bool {
        (0..COLUMNS.len()).all(|c| !changed(j, c, old, new))
    }

    /// Whether an update made the job ready for a claim (pending now, and not before, or at
    /// another time): workers are told.
    pub fn became_ready(j: &JobInfo, old: &Row, new: &Row) -> bool {
        status(j, new).as_deref() == Some("pending") && (status(j, old).as_deref() != Some("pending") || changed(j, col::RUN_AT, old, new))
    }

    /// `NOTIFY specstar_jobs, '<spec>'` at commit (PostgreSQL folds the repeats of a
    /// transaction into one; nothing is sent on rollback).
    pub fn notify(info: &SpecInfo) {
        crate::feed::send("specstar_jobs", &info.name);
    }

    /// An enqueue: specstar's columns start empty, the rest is checked and filled.
    pub unsafe fn on_insert(info: &SpecInfo, j: &JobInfo, row: &Row, ch: &mut Changes, id: &str, now: i64) -> Result<(), Raise> {
        let spec = &info.name;
        let at = |c: usize| j.col[c];
        match row.get(at(col::STATUS)).map(text) {
            None => ch.set(at(col::STATUS), Some(session::lasting_text("pending"))),
            Some(s) if s == "pending" => {}
            Some(s) => return Err(errors::job_column(spec, id, "status", &format!("is set by specstar: a job is enqueued pending, not {s}"))),
        }
        for c in [col::ATTEMPTS, col::RUNS] {
            match row.i32(at(c)) {
                None => ch.set(at(c), Some(Datum::from(0i32))),
                Some(0) => {}
                Some(n) => return Err(errors::job_column(spec, id, COLUMNS[c].name, &format!("is counted by specstar (0 at enqueue, not {n})"))),
            }
        }
        for c in [col::LEASED_BY, col::LEASE_UNTIL, col::STARTED_AT, col::FINISHED_AT, col::LAST_ERROR, col::RESULT] {
            if row.get(at(c)).is_some() {
                return Err(errors::job_column(spec, id, COLUMNS[c].name, "is set by specstar, not at enqueue"));
            }
        }
        match row.i32(at(col::MAX_ATTEMPTS)) {
            None => ch.set(at(col::MAX_ATTEMPTS), Some(Datum::from(j.max_attempts))),
            Some(n) if n >= 1 => {}
            Some(n) => return Err(errors::job_value(spec, id, "max_attempts", &format!("must be at least 1, not {n}"), "Leave it out for the spec's default (options.job.max_attempts).")),
        }
        for c in [col::IDEMPOTENCY_KEY, col::PARTITION_KEY] {
            if let Some(key) = row.get(at(c)).map(text) {
                if key.is_empty() || key.len() > 1000 {
                    return Err(errors::job_value(spec, id, COLUMNS[c].name, "must be 1 to 1000 bytes long", "Use a short key, such as order-1234 or a hash of what makes the job unique."));
                }
            }
        }
        if row.get(at(col::PRIORITY)).is_none() {
            ch.set(at(col::PRIORITY), Some(Datum::from(0i16)));
        }
        check_schedule(info, j, row, id)?;
        if row.get(at(col::RUN_AT)).is_none() {
            let run_at = match row.get(at(col::CRON)).map(text) {
                Some(expr) => crate::jobs::cron_next(&expr, now).map_err(|e| bad_cron(spec, id, &e))?,
                None => now,
            };
            ch.set(at(col::RUN_AT), Some(Datum::from(run_at)));
        }
        Ok(())
    }

    fn bad_cron(spec: &str, id: &str, why: &str) -> Raise {
        errors::job_value(spec, id, "cron", &format!("is not usable: {why}"), "Write 5 fields in UTC: minute hour day-of-month month day-of-week, e.g. '*/15 * * * *' or '0 9 * * MON-FRI'.")
    }

    /// The periodic settings of a row: `every` or `cron` (not both), positive, and max_runs.
    unsafe fn check_schedule(info: &SpecInfo, j: &JobInfo, row: &Row, id: &str) -> Result<(), Raise> {
        let spec = &info.name;
        let every = row.get(j.col[col::EVERY]);
        let cron = row.get(j.col[col::CRON]).map(text);
        if every.is_some() && cron.is_some() {
            return Err(errors::job_value(spec, id, "every", "and cron are both set", "A periodic job runs every <interval> or by cron, not both."));
        }
        if let Some(d) = every {
            let i = unsafe { *(d.cast_mut_ptr::<pg_sys::Interval>()) };
            if i.month < 0 || i.day < 0 || i.time < 0 || (i.month == 0 && i.day == 0 && i.time < 1_000_000) || i.month > 120 || i.day > 3660 || i.time > 3660 * 86_400_000_000 {
                return Err(errors::job_value(spec, id, "every", "must be an interval from one second to ten years", "Write e.g. every => '1 hour'."));
            }
        }
        if let Some(expr) = cron {
            // (one that names no time, such as 30 February, could never be scheduled again)
            let now = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
            crate::jobs::cron_next(&expr, now).map_err(|e| bad_cron(spec, id, &e))?;
        }
        if let Some(n) = row.i32(j.col[col::MAX_RUNS]) {
            if n < 1 {
                return Err(errors::job_value(spec, id, "max_runs", &format!("must be at least 1, not {n}"), "Leave it out to run the periodic job without end."));
            }
        }
        Ok(())
    }

    /// An UPDATE by anyone but the job functions: specstar's columns and those set at enqueue
    /// stay, and only a pending job's payload and schedule may change.
    pub unsafe fn on_user_update(info: &SpecInfo, j: &JobInfo, old: &Row, new: &Row, id: &str) -> Result<(), Raise> {
        let spec = &info.name;
        let mut schedule_changed = false;
        for (c, column) in COLUMNS.iter().enumerate() {
            if !changed(j, c, old, new) {
                continue;
            }
            match column.writable {
                Writable::Never => return Err(errors::job_column(spec, id, column.name, "is set by specstar")),
                Writable::InsertOnly => return Err(errors::job_column(spec, id, column.name, "is set at enqueue and cannot change")),
                Writable::WhilePending => schedule_changed = true,
            }
        }
        let payload_changed = !super::same(info, old, new);
        let status = status(j, old).unwrap_or_default();
        if (payload_changed || schedule_changed) && status != "pending" {
            return Err(errors::job_not_pending(spec, id, &status, "only a pending job's payload, run_at, priority and schedule can change"));
        }
        if schedule_changed {
            if new.get(j.col[col::RUN_AT]).is_none() {
                return Err(errors::job_value(spec, id, "run_at", "cannot be NULL", "Give the time the job may run from, e.g. now()."));
            }
            if new.get(j.col[col::PRIORITY]).is_none() {
                return Err(errors::job_value(spec, id, "priority", "cannot be NULL", "Lower runs first; 0 is the default."));
            }
            unsafe { check_schedule(info, j, new, id)? };
        }
        Ok(())
    }
}
