//! The rows of the search index: every statement search runs against PostgreSQL, prepared
//! once per backend, and the switch to the rights of the index's owner (`owner::as_owner`:
//! `search_path` pinned, as every statement here expects).

use std::cell::RefCell;
use std::collections::HashMap;

use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;
use specstar_search::{Config, Doc, Language, PendingRow, SegmentBlob, Tombstone};

use super::fail;

thread_local! {
    /// Plans of the statements every search or write runs, kept for the backend's life.
    static STMTS: RefCell<HashMap<&'static str, pgrx::spi::OwnedPreparedStatement>> = RefCell::new(HashMap::new());
    /// by catalog generation and version id (see spec_info.rs)
    static CONFIGS: RefCell<HashMap<(pg_sys::Oid, i64), Option<Config>>> = RefCell::new(HashMap::new());
}

pub(super) const TEXT: PgOid = PgOid::BuiltIn(PgBuiltInOids::TEXTOID);

/// Runs `sql` as a statement prepared once per backend, handing its result to `f`.
pub(super) fn prepared<R>(
    sql: &'static str,
    types: &[PgOid],
    mutating: bool,
    args: &[pgrx::datum::DatumWithOid],
    f: impl FnOnce(pgrx::spi::SpiTupleTable) -> Result<R, pgrx::spi::Error>,
) -> Result<R, pgrx::spi::Error> {
    Spi::connect_mut(|client| {
        STMTS.with(|stmts| {
            let mut stmts = stmts.borrow_mut();
            if !stmts.contains_key(sql) {
                let p = if mutating { client.prepare_mut(sql, types)? } else { client.prepare(sql, types)? };
                stmts.insert(sql, p.keep());
            }
            let stmt = &stmts[sql];
            let table = if mutating { client.update(stmt, None, args)? } else { client.select(stmt, None, args)? };
            f(table)
        })
    })
}

/// The first column of the first row of a read-only query (no transaction id assigned).
pub(super) use crate::spi_read::one as read_one;

pub(super) use specstar_core::ddl::sql::ident;

/// The index configuration of a descriptor's search section.
pub(super) fn config_from(search: &specstar_core::descriptor::SearchIndex) -> Config {
    let language = match search.language {
        specstar_core::options::Language::Simple => Language::Simple,
        specstar_core::options::Language::English => Language::English,
    };
    Config { fields: search.fields.clone(), language }
}

/// The search config of a spec version (cached: versions never change).
pub(super) fn config_of(vid: i64) -> Option<Config> {
    let key = (crate::spec_info::generation(), vid);
    if let Some(c) = CONFIGS.with(|c| c.borrow().get(&key).cloned()) {
        return c;
    }
    let descriptor = crate::owner::pinned(|| {
        read_one::<JsonB>("SELECT (SELECT v.descriptor FROM specstar.spec_versions v WHERE v.vid = $1)", &[vid.into()])
    })
    .unwrap_or_else(|e| fail("reading the spec version", e));
    let config = descriptor.and_then(|d| {
        let d = specstar_core::descriptor::Descriptor::from_json(&d.0).unwrap_or_else(|e| fail("reading the spec version", e));
        d.search.as_ref().map(config_from)
    });
    CONFIGS.with(|c| c.borrow_mut().insert(key, config.clone()));
    config
}

pub(super) fn current_config(spec: &str) -> Option<Config> {
    let vid = crate::owner::pinned(|| read_one::<i64>("SELECT (SELECT s.current_vid FROM specstar.spec s WHERE s.name = $1)", &[spec.into()]))
        .unwrap_or_else(|e| fail("reading the spec", e))?;
    config_of(vid)
}

/// Runs `f` with the rights of the owner of specstar's search table (it is granted to nobody:
/// segments hold every indexed word), `search_path` pinned. Callers check the user's own
/// rights first.
pub(super) fn as_index_owner<R>(f: impl FnOnce() -> R) -> R {
    crate::owner::as_owner(crate::owner::extension_owner(), f)
}

/// What one call needs to know about a spec's index, read in one statement (so in one
/// snapshot, whatever the transaction did before): the spec's current version, whether `user`
/// may read it, the visible rows (stored segments and pending writes), and those of them the
/// backend has not loaded yet (stored segments without their bytes).
pub(super) struct State {
    pub(super) vid: Option<i64>,
    pub(super) readable: bool,
    pub(super) segments: Vec<String>,
    pub(super) missing: Vec<Row>,
}

/// A row of the index as read.
pub(super) enum Row {
    /// a stored segment; its bytes only when they were asked for
    Stored(SegmentBlob),
    /// a write whose documents are not indexed yet
    Pending(RawPending),
}

/// A pending write as stored: its documents as the triggers hand them over (`[[id, field
/// values...], ...]`, read with the spec's current config), its number and tombstones.
pub(super) struct RawPending {
    pub(super) id: String,
    pub(super) docs: Value,
    pub(super) seq: u64,
    pub(super) tombstones: Vec<Tombstone>,
}

impl RawPending {
    pub(super) fn read(self, config: &Config) -> PendingRow {
        let docs = self.docs.as_array().into_iter().flatten().filter_map(|r| doc_of(config, r, self.seq)).collect();
        PendingRow { id: self.id, docs, tombstones: self.tombstones }
    }
}

pub(super) fn read_state(spec: &str, user: pg_sys::Oid, loaded: std::collections::HashSet<String>) -> State {
    // Usually every visible segment is loaded already: one small statement. Otherwise the
    // missing ones are read by a second statement; should a concurrent merge have removed one
    // in between (a transaction that has written takes a new snapshot per statement), the
    // whole read starts again.
    for _ in 0..10 {
        let (vid, readable, segments) = prepared(
            "SELECT (SELECT s.current_vid FROM specstar.spec s WHERE s.name = $1),
                    coalesce((SELECT pg_catalog.has_table_privilege($2, c.oid, 'SELECT') FROM pg_catalog.pg_class c
                               WHERE c.relnamespace = 'specstar_data'::regnamespace AND c.relname = $1), false),
                    ARRAY(SELECT replace(g.segment::text, '-', '') FROM specstar.search_segment g WHERE g.spec = $1 ORDER BY g.segment)",
            &[TEXT, PgOid::BuiltIn(PgBuiltInOids::OIDOID)],
            false,
            &[spec.into(), user.into()],
            |table| {
                let row = table.first();
                Ok((row.get::<i64>(1)?, row.get::<bool>(2)?.unwrap_or(false), row.get::<Vec<String>>(3)?.unwrap_or_default()))
            },
        )
        .unwrap_or_else(|e| fail("reading the index", e));
        let wanted: Vec<String> = segments.iter().filter(|s| !loaded.contains(*s)).cloned().collect();
        let missing = if wanted.is_empty() { vec![] } else { read_rows(spec, &wanted, false) };
        if missing.len() == wanted.len() {
            return State { vid, readable, segments, missing };
        }
    }
    fail("reading the index", "segments kept disappearing under concurrent merges")
}

/// The rows `ids` of a spec's index, as stored; stored segments with their bytes when
/// `with_data` (otherwise `data` is empty: their files are in the shared directory).
pub(super) fn read_rows(spec: &str, ids: &[String], with_data: bool) -> Vec<Row> {
    prepared(
        "SELECT replace(segment::text, '-', ''), docs, files, CASE WHEN $3 THEN data END, tombstones, pending, seq
           FROM specstar.search_segment WHERE spec = $1 AND segment = ANY($2::uuid[])",
        &[TEXT, PgOid::BuiltIn(PgBuiltInOids::TEXTARRAYOID), PgOid::BuiltIn(PgBuiltInOids::BOOLOID)],
        false,
        &[spec.into(), ids.to_vec().into(), with_data.into()],
        |table| {
            let mut out = vec![];
            for row in table {
                let id: String = row.get(1)?.unwrap_or_default();
                let what = format!("segment {id}");
                let tombstones = SegmentBlob::parse_tombstones(row.get::<&[u8]>(5)?.unwrap_or_default())
                    .unwrap_or_else(|e| fail(&what, e));
                if let Some(JsonB(docs)) = row.get::<JsonB>(6)? {
                    let seq = row.get::<i64>(7)?.unwrap_or(0) as u64;
                    out.push(Row::Pending(RawPending { id, docs, seq, tombstones }));
                    continue;
                }
                let files: JsonB = row.get(3)?.unwrap_or(JsonB(Value::Null));
                let files = SegmentBlob::parse_files(&files.0).unwrap_or_else(|e| fail(&what, e));
                let docs = row.get::<i32>(2)?.unwrap_or(0) as u32;
                let data = row.get::<&[u8]>(4)?.unwrap_or_default().to_vec();
                out.push(Row::Stored(SegmentBlob { id, docs, files, data, tombstones }));
            }
            Ok(out)
        },
    )
    .unwrap_or_else(|e| fail("reading segments", e))
}

/// The sizes of every row of a spec's index as this statement sees them.
pub(super) fn sizes(spec: &str) -> Vec<Size> {
    row_sizes(spec).into_iter().map(|(id, docs, pending, _)| (id, docs, pending)).collect()
}

/// (id, documents, pending, bytes of a segment's files) of every row of a spec's index.
pub(super) fn row_sizes(spec: &str) -> Vec<(String, u32, bool, i64)> {
    prepared(
        "SELECT replace(segment::text, '-', ''), docs, pending IS NOT NULL, pg_catalog.octet_length(data)
           FROM specstar.search_segment WHERE spec = $1",
        &[TEXT],
        false,
        &[spec.into()],
        |table| {
            let mut out = vec![];
            for row in table {
                out.push((
                    row.get::<String>(1)?.unwrap_or_default(),
                    row.get::<i32>(2)?.unwrap_or(0) as u32,
                    row.get::<bool>(3)?.unwrap_or(false),
                    row.get::<i32>(4)?.unwrap_or(0) as i64,
                ));
            }
            Ok(out)
        },
    )
    .unwrap_or_else(|e| fail("reading the index", e))
}

/// Takes the pending writes of a spec this statement sees out of the index (deletes them,
/// in one statement) and returns them: a fold, under the merge lock. Pending writes of
/// transactions that have not committed are left alone: a later fold takes them.
pub(super) fn take_pending(spec: &str, config: &Config) -> Vec<PendingRow> {
    prepared(
        "DELETE FROM specstar.search_segment WHERE spec = $1 AND pending IS NOT NULL
         RETURNING replace(segment::text, '-', ''), tombstones, pending, seq",
        &[TEXT],
        true,
        &[spec.into()],
        |table| {
            let mut out = vec![];
            for row in table {
                let id: String = row.get(1)?.unwrap_or_default();
                let what = format!("pending write {id}");
                let tombstones = SegmentBlob::parse_tombstones(row.get::<&[u8]>(2)?.unwrap_or_default()).unwrap_or_else(|e| fail(&what, e));
                let docs = row.get::<JsonB>(3)?.map_or(Value::Null, |j| j.0);
                let seq = row.get::<i64>(4)?.unwrap_or(0) as u64;
                out.push(RawPending { id, docs, seq, tombstones }.read(config));
            }
            Ok(out)
        },
    )
    .unwrap_or_else(|e| fail("folding pending writes", e))
}

/// (rows, documents, bytes) of the pending writes of a spec this statement sees (a partial
/// index holds them alone).
pub(super) fn pending_totals(spec: &str) -> (usize, u32, usize) {
    prepared(
        "SELECT count(*), coalesce(sum(docs), 0), coalesce(sum(pg_catalog.pg_column_size(pending)), 0)
           FROM specstar.search_segment WHERE spec = $1 AND pending IS NOT NULL",
        &[TEXT],
        false,
        &[spec.into()],
        |t| {
            let row = t.first();
            Ok((row.get::<i64>(1)?.unwrap_or(0) as usize, row.get::<i64>(2)?.unwrap_or(0) as u32, row.get::<i64>(3)?.unwrap_or(0) as usize))
        },
    )
    .unwrap_or_else(|e| fail("reading the index", e))
}

/// A resource as the triggers hand it to the index, `[id, field values...]` (a value: a
/// string, an array of strings or null), as a document written by write `seq`.
pub(super) fn doc_of(config: &Config, row: &Value, seq: u64) -> Option<Doc> {
    let id = row.get(0)?.as_str()?.to_string();
    let fields = (1..=config.fields.len())
        .map(|i| match row.get(i) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
            _ => vec![],
        })
        .collect();
    Some(Doc { id, seq, fields })
}

/// `SELECT` of the spec's live resources in the shape of [`doc_of`], then `rest` (a filter).
pub(super) fn docs_sql(spec: &str, config: &Config, rest: &str) -> String {
    let cols: Vec<String> = config.fields.iter().map(|f| format!("to_jsonb(t.{})", ident(f))).collect();
    format!("SELECT jsonb_build_array(t.id, {}) FROM specstar_data.{} t {rest}", cols.join(", "), ident(spec))
}

/// What highlighting reads of each searchable field: its first values (of an array) and
/// their first characters, so that a page of hits never loads whole large documents.
pub(super) const HIGHLIGHT_VALUES: usize = 8;
pub(super) const HIGHLIGHT_CHARS: usize = 16 << 10;

/// The text values of each searchable field of the resources `ids`, from the live table, as
/// much as highlighting reads of them.
pub(super) fn field_texts(spec: &str, config: &Config, ids: &[String]) -> HashMap<String, Vec<Vec<String>>> {
    // text and text[] alike: ARRAY[]::text[] || col appends a text or concatenates an array
    let cols: Vec<String> = config
        .fields
        .iter()
        .map(|f| {
            format!(
                "(SELECT jsonb_agg(left(u.e, {HIGHLIGHT_CHARS})) FROM unnest(ARRAY[]::text[] || t.{}) WITH ORDINALITY AS u(e, n) WHERE u.n <= {HIGHLIGHT_VALUES})",
                ident(f)
            )
        })
        .collect();
    let sql = format!("SELECT jsonb_build_array(t.id, {}) FROM specstar_data.{} t WHERE t.id = ANY($1::uuid[])", cols.join(", "), ident(spec));
    Spi::connect(|client| {
        let mut out = HashMap::new();
        for row in client.select(sql.as_str(), None, &[ids.to_vec().into()])? {
            if let Some(doc) = row.get::<JsonB>(1)?.and_then(|r| doc_of(config, &r.0, 0)) {
                out.insert(doc.id, doc.fields);
            }
        }
        Ok::<_, pgrx::spi::Error>(out)
    })
    .unwrap_or_else(|e| fail("reading texts to highlight", e))
}

pub(super) fn next_seq() -> u64 {
    prepared("SELECT pg_catalog.nextval('specstar.search_seq')", &[], true, &[], |t| t.first().get::<i64>(1))
        .unwrap_or_else(|e| fail("numbering the write", e))
        .unwrap_or_else(|| fail("numbering the write", "nextval returned NULL")) as u64
}

/// A row of the index as a write sees it: (id, documents, pending).
pub(super) type Size = (String, u32, bool);

/// Stores a segment and returns the sizes of every row of the spec's index, the new one
/// included: what a write needs to decide whether to fold or merge, in one statement.
pub(super) fn insert_segment(spec: &str, blob: &SegmentBlob) -> Vec<Size> {
    insert_row(spec, blob)
}

fn insert_row(spec: &str, blob: &SegmentBlob) -> Vec<Size> {
    let tombstones = blob.tombstones_bytes().unwrap_or_else(|e| fail("storing a segment", e));
    let bytea = PgOid::BuiltIn(PgBuiltInOids::BYTEAOID);
    let mut sizes = prepared(
        // the outer SELECT sees the table as it was before the INSERT of its WITH clause
        "WITH stored AS (INSERT INTO specstar.search_segment (spec, segment, docs, files, data, tombstones)
                         VALUES ($1, $2::uuid, $3, $4, $5, $6))
         SELECT replace(segment::text, '-', ''), docs, pending IS NOT NULL FROM specstar.search_segment WHERE spec = $1 ORDER BY segment",
        &[TEXT, TEXT, PgOid::BuiltIn(PgBuiltInOids::INT4OID), PgOid::BuiltIn(PgBuiltInOids::JSONBOID), bytea, bytea],
        true,
        &[
            spec.into(),
            blob.id.as_str().into(),
            (blob.docs as i32).into(),
            JsonB(blob.files_json()).into(),
            blob.data.as_slice().into(),
            tombstones.as_slice().into(),
        ],
        |table| {
            let mut out = vec![];
            for row in table {
                out.push((row.get::<String>(1)?.unwrap_or_default(), row.get::<i32>(2)?.unwrap_or(0) as u32, row.get::<bool>(3)?.unwrap_or(false)));
            }
            Ok(out)
        },
    )
    .unwrap_or_else(|e| fail("storing a segment", e));
    sizes.push((blob.id.clone(), blob.docs, false));
    sizes
}

/// Deletes rows of the index that a fold or merge replaced; they must all be there (the
/// merge lock is held).
pub(super) fn delete_rows(spec: &str, ids: &[String], what: &str) {
    let removed = prepared(
        "WITH d AS (DELETE FROM specstar.search_segment WHERE spec = $1 AND segment = ANY($2::uuid[]) RETURNING 1)
         SELECT count(*) FROM d",
        &[TEXT, PgOid::BuiltIn(PgBuiltInOids::TEXTARRAYOID)],
        true,
        &[spec.into(), ids.to_vec().into()],
        |t| t.first().get::<i64>(1),
    )
    .unwrap_or_else(|e| fail(what, e))
    .unwrap_or(0);
    if removed as usize != ids.len() {
        fail(what, format!("{} of {} input rows were already gone (a concurrent merge?)", ids.len() - removed as usize, ids.len()));
    }
}

/// The advisory locks of a spec's index, each in a class of its own (the two-key form, so
/// that they never collide with each other or with one-key advisory locks): folds of pending
/// rows, merges of segments, and the background worker's life. `search_merge` and
/// `search_rebuild` take the first two.
#[derive(Clone, Copy)]
pub(super) enum Lock {
    Fold = 0x5353_4601,
    Merge = 0x5353_4602,
    Worker = 0x5353_4603,
}

/// Takes `lock` for the transaction if no one holds it: whether it got it.
pub(super) fn try_lock(lock: Lock, spec: &str) -> bool {
    prepared(
        "SELECT pg_catalog.pg_try_advisory_xact_lock($1, pg_catalog.hashtext($2))",
        &[PgOid::BuiltIn(PgBuiltInOids::INT4OID), TEXT],
        true,
        &[(lock as i32).into(), spec.into()],
        |t| t.first().get::<bool>(1),
    )
    .unwrap_or_else(|e| fail("locking the index", e))
    .unwrap_or(false)
}

/// Waits for `lock` and takes it for the transaction (or, `session`, for the session).
pub(super) fn lock(lock: Lock, spec: &str, session: bool) {
    let sql = if session {
        "SELECT pg_catalog.pg_advisory_lock($1, pg_catalog.hashtext($2))"
    } else {
        "SELECT pg_catalog.pg_advisory_xact_lock($1, pg_catalog.hashtext($2))"
    };
    prepared(sql, &[PgOid::BuiltIn(PgBuiltInOids::INT4OID), TEXT], true, &[(lock as i32).into(), spec.into()], |_| Ok(()))
        .unwrap_or_else(|e| fail("locking the index", e));
}
