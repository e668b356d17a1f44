//! The search index inside PostgreSQL (docs/search.md): every segment is a row of
//! `specstar.search_segment`, written in the writer's transaction by the spec's statement
//! triggers together with the tombstones of that write, and read under the caller's
//! snapshot. All tantivy work happens in `specstar_search`, in memory, on this (the backend's
//! only) thread, strictly between SPI calls: no tantivy code ever calls PostgreSQL.
//!
//! Errors a client can cause (a malformed query, no right to read the spec, a spec without
//! searchable properties) are raised with SQLSTATEs pgrx knows (22023, 42501), which reach the
//! client unchanged and without a backtrace.

use std::cell::RefCell;
use std::collections::HashMap;

use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};
use specstar_search::cache::{all_ids, top_hits, Searcher};
use specstar_search::{segment, Config, Doc, IndexCache, Language, SearchQuery, SegmentBlob, Tombstone};

/// Segments merged together at each size level (specstar_search::policy).
const FAN_IN: usize = 8;
/// Segments this large are merged only by search_merge, never by a write.
const INLINE_MERGE_MAX_DOCS: u32 = 32 << 10;
/// Documents per segment when (re)building from the table.
const BUILD_BATCH: usize = 200_000;

thread_local! {
    /// Plans of the statements every search or write runs, kept for the backend's life.
    static STMTS: RefCell<HashMap<&'static str, pgrx::spi::OwnedPreparedStatement>> = RefCell::new(HashMap::new());
    static CONFIGS: RefCell<HashMap<i64, Option<Config>>> = RefCell::new(HashMap::new());
    static CACHES: RefCell<HashMap<String, IndexCache>> = RefCell::new(HashMap::new());
    static OWNER: RefCell<Option<pg_sys::Oid>> = const { RefCell::new(None) };
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    error!("specstar search: {what}: {e}")
}

const TEXT: PgOid = PgOid::BuiltIn(PgBuiltInOids::TEXTOID);

/// Runs `sql` as a statement prepared once per backend, handing its result to `f`.
fn prepared<R>(
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

/// The first column of the first row of a read-only query. (Not `Spi::get_one`: that assigns
/// the transaction an id, which makes every later statement of the call take a new snapshot,
/// and which a hot standby refuses.)
fn read_one<T: FromDatum + IntoDatum>(sql: &str, args: &[pgrx::datum::DatumWithOid]) -> Result<Option<T>, pgrx::spi::Error> {
    Spi::connect(|client| client.select(sql, Some(1), args)?.first().get::<T>(1))
}

/// Raises a client's error with a SQLSTATE pgrx knows (kept as is, no backtrace) and a hint.
fn raise(code: PgSqlErrorCode, message: String, hint: &str, detail: Option<String>) -> ! {
    let mut report = pgrx::pg_sys::panic::ErrorReport::new(code, message, "specstar search").set_hint(hint);
    if let Some(d) = detail {
        report = report.set_detail(d);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn parse_config(search: &Value) -> Option<Config> {
    let fields: Vec<String> = search.get("fields")?.as_array()?.iter().filter_map(|f| f.as_str().map(String::from)).collect();
    let language = Language::parse(search.get("language")?.as_str()?)?;
    (!fields.is_empty()).then_some(Config { fields, language })
}

/// The search config of a spec version (cached: versions never change).
fn config_of(vid: i64) -> Option<Config> {
    if let Some(c) = CONFIGS.with(|c| c.borrow().get(&vid).cloned()) {
        return c;
    }
    let search = read_one::<JsonB>(
        "SELECT (SELECT descriptor -> 'search' FROM specstar.spec_versions WHERE vid = $1)",
        &[vid.into()],
    )
    .unwrap_or_else(|e| fail("reading the spec version", e));
    let config = search.and_then(|s| parse_config(&s.0));
    CONFIGS.with(|c| c.borrow_mut().insert(vid, config.clone()));
    config
}

fn owner() -> pg_sys::Oid {
    OWNER.with(|o| *o.borrow()).unwrap_or_else(|| {
        let oid = read_one::<pg_sys::Oid>("SELECT relowner FROM pg_catalog.pg_class WHERE oid = 'specstar.search_segment'::regclass", &[])
            .unwrap_or_else(|e| fail("finding the index owner", e))
            .unwrap_or_else(|| fail("finding the index owner", "specstar.search_segment is missing"));
        OWNER.with(|o| *o.borrow_mut() = Some(oid));
        oid
    })
}

/// Runs `f` with the rights of the owner of specstar's search table (it is granted to nobody:
/// segments hold every indexed word). Callers check the user's own rights first. An error
/// inside `f` aborts the (sub)transaction, which restores the user as well.
fn as_index_owner<R>(f: impl FnOnce() -> R) -> R {
    let owner = owner();
    let (mut user, mut context) = (pg_sys::Oid::INVALID, 0);
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        pg_sys::SetUserIdAndSecContext(owner, context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32);
    }
    let out = f();
    unsafe { pg_sys::SetUserIdAndSecContext(user, context) };
    out
}

/// What one call needs to know about a spec's index, read in one statement (so in one
/// snapshot, whatever the transaction did before): the spec's current version, whether `user`
/// may read it, the visible segments, and those of them the backend has not loaded yet.
struct State {
    vid: Option<i64>,
    readable: bool,
    segments: Vec<String>,
    missing: Vec<SegmentBlob>,
}

fn read_state(spec: &str, user: pg_sys::Oid, loaded: Vec<String>) -> State {
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
        let wanted: Vec<String> = segments.iter().filter(|s| !loaded.contains(s)).cloned().collect();
        let missing = if wanted.is_empty() { vec![] } else { read_segments(spec, &wanted) };
        if missing.len() == wanted.len() {
            return State { vid, readable, segments, missing };
        }
    }
    fail("reading the index", "segments kept disappearing under concurrent merges")
}

/// The segments `ids` of a spec, as stored.
fn read_segments(spec: &str, ids: &[String]) -> Vec<SegmentBlob> {
    prepared(
        "SELECT replace(segment::text, '-', ''), docs, files, data, tombstones FROM specstar.search_segment
          WHERE spec = $1 AND segment = ANY($2::uuid[])",
        &[TEXT, PgOid::BuiltIn(PgBuiltInOids::TEXTARRAYOID)],
        false,
        &[spec.into(), ids.to_vec().into()],
        |table| {
            let mut out = vec![];
            for row in table {
                let id: String = row.get(1)?.unwrap_or_default();
                let what = format!("segment {id}");
                let files: JsonB = row.get(3)?.unwrap_or(JsonB(Value::Null));
                let files = SegmentBlob::parse_files(&files.0).unwrap_or_else(|e| fail(&what, e));
                let tombstones = SegmentBlob::parse_tombstones(row.get::<&[u8]>(5)?.unwrap_or_default())
                    .unwrap_or_else(|e| fail(&what, e));
                let docs = row.get::<i32>(2)?.unwrap_or(0) as u32;
                let data = row.get::<&[u8]>(4)?.unwrap_or_default().to_vec();
                out.push(SegmentBlob { id, docs, files, data, tombstones });
            }
            Ok(out)
        },
    )
    .unwrap_or_else(|e| fail("reading segments", e))
}

/// Reads the spec's index as this statement sees it and runs `f` over it (loaded, tombstones
/// applied), with the state read. `check` may refuse the state (it raises).
fn with_index<R>(
    spec: &str,
    user: pg_sys::Oid,
    check: impl Fn(&State) -> Config,
    f: impl FnOnce(&mut IndexCache, &Searcher, &State, &Config) -> R,
) -> R {
    CACHES.with(|caches| {
        let mut caches = caches.borrow_mut();
        let loaded = |c: &HashMap<String, IndexCache>| c.get(spec).map(|c| c.loaded_ids()).unwrap_or_default();
        let mut st = read_state(spec, user, loaded(&caches));
        let config = check(&st);
        if caches.get(spec).is_none_or(|c| c.config != config) {
            // a new version changed the index: what was read relied on the old cache
            let c = IndexCache::new(config.clone()).unwrap_or_else(|e| fail("opening the index", e));
            caches.insert(spec.to_string(), c);
            st = read_state(spec, user, vec![]);
            check(&st);
        }
        let cache = caches.get_mut(spec).expect("inserted above");
        cache.evict_except(&st.segments).unwrap_or_else(|e| fail("evicting segments", e));
        for blob in &st.missing {
            cache.load(blob).unwrap_or_else(|e| fail(&format!("segment {}", blob.id), e));
        }
        let searcher = cache.open(&st.segments).unwrap_or_else(|e| fail("opening the index", e));
        f(cache, &searcher, &st, &config)
    })
}

/// `with_index` for specstar's own maintenance: the spec's current config, no rights check.
fn with_own_index<R>(spec: &str, config: &Config, f: impl FnOnce(&mut IndexCache, &Searcher, &State) -> R) -> R {
    let user = unsafe { pg_sys::GetUserId() };
    with_index(spec, user, |_| config.clone(), |cache, searcher, st, _| f(cache, searcher, st))
}

fn uuid_of(s: &str) -> Uuid {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    let mut bytes = [0u8; 16];
    if hex.len() != 32 {
        fail("reading a hit", format!("{s} is not a uuid"));
    }
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or_else(|e| fail("reading a hit", e));
    }
    Uuid::from_bytes(bytes)
}

/// `values[from..from+n]` of a JSON array as the text values of each field.
fn doc_fields(values: &Value, from: usize, n: usize) -> Vec<Vec<String>> {
    (0..n)
        .map(|i| match values.get(from + i) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
            _ => vec![],
        })
        .collect()
}

/// The text values of each searchable field of the resources `ids`, from the live table.
fn field_texts(spec: &str, config: &Config, ids: &[String]) -> HashMap<String, Vec<Vec<String>>> {
    let cols: Vec<String> = config.fields.iter().map(|f| format!("to_jsonb(t.{})", ident(f))).collect();
    let sql = format!(
        "SELECT t.id::text, jsonb_build_array({}) FROM specstar_data.{} t WHERE t.id = ANY($1::uuid[])",
        cols.join(", "),
        ident(spec)
    );
    Spi::connect(|client| {
        let mut out = HashMap::new();
        for row in client.select(sql.as_str(), None, &[ids.to_vec().into()])? {
            let id: String = row.get(1)?.unwrap_or_default();
            let values: JsonB = row.get(2)?.unwrap_or(JsonB(Value::Null));
            out.insert(id, doc_fields(&values.0, 0, config.fields.len()));
        }
        Ok::<_, pgrx::spi::Error>(out)
    })
    .unwrap_or_else(|e| fail("reading texts to highlight", e))
}

/// The hits of `q` in `spec`, best first: resource id, BM25 score and (when asked) per
/// searchable field the text with the query's words marked `<b>…</b>`. `top` NULL: every
/// hit. The caller must have the right to read the spec.
#[pg_extern(name = "_search_hits", stable, parallel_restricted)]
fn search_hits(
    spec: &str,
    q: Option<&str>,
    top: Option<i32>,
    skip: Option<i32>,
    highlights: Option<bool>,
) -> TableIterator<'static, (name!(id, Uuid), name!(score, f32), name!(highlights, Option<JsonB>))> {
    let user = unsafe { pg_sys::GetUserId() };
    let check = |st: &State| -> Config {
        let Some(vid) = st.vid else {
            raise(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, format!("spec {spec} is not registered"), "SELECT name FROM specstar.specs lists the registered specs.", None);
        };
        if !st.readable {
            raise(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, format!("permission denied to search spec {spec}"), "Searching needs the right to read the spec: options.roles.read, or GRANT SELECT on its table.", None);
        }
        config_of(vid).unwrap_or_else(|| {
            raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("spec {spec} has no searchable properties"), "Mark string properties with \"x-search\": true (in a new version of the spec) to index them.", None)
        })
    };
    let rows = as_index_owner(|| {
        let (hits, query, config) = with_index(spec, user, check, |_, searcher, _, config| {
            let Some(q) = q else {
                raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "search query: q is required".into(), "Pass the words to look for: q => 'word'.", None);
            };
            let query = SearchQuery::parse(config, config_schema(config), q).unwrap_or_else(|e| {
                let detail = json!({"query": q, "position": e.position}).to_string();
                raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, e.message, &e.hint, Some(detail))
            });
            let top = top.map(|t| t.max(0) as usize);
            let skip = skip.unwrap_or(0).max(0) as usize;
            let hits = top_hits(searcher, &*query.query, top, skip).unwrap_or_else(|e| fail("searching", e));
            (hits, query, config.clone())
        });
        let mut marked = HashMap::new();
        if highlights.unwrap_or(false) && !hits.is_empty() {
            let ids: Vec<String> = hits.iter().map(|h| h.0.clone()).collect();
            for (id, fields) in field_texts(spec, &config, &ids) {
                let mut obj = serde_json::Map::new();
                for (i, values) in fields.iter().enumerate() {
                    let parts: Vec<String> = values.iter().filter_map(|v| query.highlight(i, v)).collect();
                    if !parts.is_empty() {
                        obj.insert(config.fields[i].clone(), Value::String(parts.join(" … ")));
                    }
                }
                marked.insert(id, Value::Object(obj));
            }
        }
        hits.into_iter().map(|(id, score)| (uuid_of(&id), score, marked.remove(&id).map(JsonB))).collect::<Vec<_>>()
    });
    TableIterator::new(rows)
}

thread_local! {
    static SCHEMAS: RefCell<HashMap<Config, &'static specstar_search::schema::IndexSchema>> = RefCell::new(HashMap::new());
}

/// The tantivy schema of a config, built once per backend (a handful of configs at most).
fn config_schema(config: &Config) -> &'static specstar_search::schema::IndexSchema {
    SCHEMAS.with(|s| {
        *s.borrow_mut().entry(config.clone()).or_insert_with(|| Box::leak(Box::new(config.index_schema())))
    })
}

fn next_seq() -> u64 {
    prepared("SELECT pg_catalog.nextval('specstar.search_seq')", &[], true, &[], |t| t.first().get::<i64>(1))
        .unwrap_or_else(|e| fail("numbering the write", e))
        .unwrap_or_else(|| fail("numbering the write", "nextval returned NULL")) as u64
}

fn insert_segment(spec: &str, blob: &SegmentBlob) {
    let tombstones = blob.tombstones_bytes().unwrap_or_else(|e| fail("storing a segment", e));
    let bytea = PgOid::BuiltIn(PgBuiltInOids::BYTEAOID);
    prepared(
        "INSERT INTO specstar.search_segment (spec, segment, docs, files, data, tombstones) VALUES ($1, $2::uuid, $3, $4, $5, $6)",
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
        |_| Ok(()),
    )
    .unwrap_or_else(|e| fail("storing a segment", e));
}

fn docs_from_json(config: &Config, docs: &Value, seq: u64) -> Vec<Doc> {
    docs.as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|r| {
                    let id = r.get(0)?.as_str()?.to_string();
                    Some(Doc { id, seq, fields: doc_fields(r, 1, config.fields.len()) })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Called by a spec's statement triggers: one new segment holding `docs` (`[[id, field
/// values...], ...]` in the order of the version's searchable fields) and tombstones for
/// `deleted` (old versions of updated or deleted resources); then, when a size level of the
/// index is full, a merge of that level.
#[pg_extern(name = "_search_write")]
fn search_write(spec: &str, vid: i64, deleted: Option<Vec<Uuid>>, docs: Option<JsonB>) {
    let Some(config) = config_of(vid) else { return };
    as_index_owner(|| {
        let seq = next_seq();
        let tombstones: Vec<Tombstone> =
            deleted.unwrap_or_default().iter().map(|u| Tombstone { key: u.to_string(), seq }).collect();
        let docs = docs.map(|d| docs_from_json(&config, &d.0, seq)).unwrap_or_default();
        if let Some(blob) = segment::build(&config, &docs, tombstones).unwrap_or_else(|e| fail("indexing", e)) {
            insert_segment(spec, &blob);
        }
        let inputs = specstar_search::policy::pick(&segment_sizes(spec), FAN_IN, INLINE_MERGE_MAX_DOCS);
        if !inputs.is_empty() && read_committed() && try_merge_lock(spec) {
            merge(spec, &config, Some(inputs));
        }
    })
}

/// (segment, documents) of every visible segment of a spec.
fn segment_sizes(spec: &str) -> Vec<(String, u32)> {
    prepared(
        "SELECT replace(segment::text, '-', ''), docs FROM specstar.search_segment WHERE spec = $1",
        &[TEXT],
        false,
        &[spec.into()],
        |table| {
            let mut out = vec![];
            for row in table {
                out.push((row.get::<String>(1)?.unwrap_or_default(), row.get::<i32>(2)?.unwrap_or(0) as u32));
            }
            Ok(out)
        },
    )
    .unwrap_or_else(|e| fail("listing segments", e))
}

fn read_committed() -> bool {
    unsafe { pg_sys::XactIsoLevel < pg_sys::XACT_REPEATABLE_READ as i32 }
}

fn lock_key(spec: &str) -> String {
    format!("specstar.search:{spec}")
}

fn try_merge_lock(spec: &str) -> bool {
    prepared("SELECT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext($1))", &[TEXT], true, &[lock_key(spec).into()], |t| {
        t.first().get::<bool>(1)
    })
        .unwrap_or_else(|e| fail("locking the index", e))
        .unwrap_or(false)
}

fn merge_lock(spec: &str) {
    Spi::run_with_args("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext($1))", &[lock_key(spec).into()])
        .unwrap_or_else(|e| fail("locking the index", e));
}

/// Merges `inputs` (None: every segment) into one segment, which keeps only the tombstones
/// that still hide something elsewhere. Needs the merge lock and READ COMMITTED, so that the
/// segments read here include every merge committed before; inputs that are not visible
/// (any more) are left out. Returns (segments merged, tombstones dropped).
fn merge(spec: &str, config: &Config, inputs: Option<Vec<String>>) -> (usize, usize) {
    let (merged, inputs) = with_own_index(spec, config, |cache, _, st| {
        let inputs: Vec<String> = match inputs {
            Some(wanted) => wanted.into_iter().filter(|s| st.segments.contains(s)).collect(),
            None => st.segments.clone(),
        };
        if inputs.is_empty() || (inputs.len() == 1 && cache.stats().tombstones == 0) {
            return (None, inputs);
        }
        let before = cache.tombstones_in(&inputs);
        let merged = cache.merge(&inputs).unwrap_or_else(|e| fail("merging", e));
        let kept = merged.as_ref().map_or(0, |m| m.tombstones.len() as u64);
        (Some((merged, before - kept)), inputs)
    });
    let Some((merged, dropped)) = merged else { return (0, 0) };
    let removed = Spi::get_one_with_args::<i64>(
        "WITH d AS (DELETE FROM specstar.search_segment WHERE spec = $1 AND replace(segment::text, '-', '') = ANY($2) RETURNING 1)
         SELECT count(*) FROM d",
        &[spec.into(), inputs.clone().into()],
    )
    .unwrap_or_else(|e| fail("merging", e))
    .unwrap_or(0);
    if removed as usize != inputs.len() {
        fail("merging", format!("{} of {} input segments were already gone (a concurrent merge?)", inputs.len() - removed as usize, inputs.len()));
    }
    if let Some(m) = &merged {
        insert_segment(spec, m);
    }
    (inputs.len(), dropped as usize)
}

/// (segments, documents, tombstones) of the index as this statement sees it.
fn as_stats(spec: &str, config: &Config) -> (usize, u64, u64) {
    with_own_index(spec, config, |cache, _, _| {
        let s = cache.stats();
        (s.segments, s.documents, s.tombstones)
    })
}

fn require_read_committed(what: &str) {
    if !read_committed() {
        raise(PgSqlErrorCode::ERRCODE_ACTIVE_SQL_TRANSACTION, format!("{what} needs READ COMMITTED isolation"), "Run it in its own transaction at the default isolation level.", None);
    }
}

fn current_config(spec: &str) -> Option<Config> {
    let vid = read_one::<i64>("SELECT (SELECT current_vid FROM specstar.spec WHERE name = $1)", &[spec.into()])
        .unwrap_or_else(|e| fail("reading the spec", e))?;
    config_of(vid)
}

/// Merges every segment of a spec's index into one, dropping deleted documents and the
/// tombstones that hid them. Returns what it did.
#[pg_extern(name = "_search_merge")]
fn search_merge(spec: &str) -> JsonB {
    require_read_committed("search_merge");
    let Some(config) = current_config(spec) else { return JsonB(json!({"merged": 0, "tombstones_dropped": 0})) };
    as_index_owner(|| {
        merge_lock(spec);
        let (merged, dropped) = merge(spec, &config, None);
        JsonB(json!({"merged": merged, "tombstones_dropped": dropped}))
    })
}

/// Re-indexes a spec from its table: every segment replaced. Writers wait meanwhile.
#[pg_extern(name = "_search_rebuild")]
fn search_rebuild(spec: &str) -> JsonB {
    require_read_committed("search_rebuild");
    let config = current_config(spec);
    as_index_owner(|| {
        merge_lock(spec);
        Spi::run(&format!("LOCK TABLE specstar_data.{} IN SHARE MODE", ident(spec))).unwrap_or_else(|e| fail("locking the table", e));
        Spi::run_with_args("DELETE FROM specstar.search_segment WHERE spec = $1", &[spec.into()])
            .unwrap_or_else(|e| fail("rebuilding", e));
        let Some(config) = config else { return JsonB(json!({"documents": 0, "segments": 0})) };
        let seq = next_seq();
        let cols: Vec<String> = config.fields.iter().map(|f| format!("to_jsonb(t.{})", ident(f))).collect();
        let sql = format!("SELECT jsonb_build_array(t.id, {}) FROM specstar_data.{} t", cols.join(", "), ident(spec));
        let mut blobs = vec![];
        let mut total = 0usize;
        Spi::connect(|client| {
            let mut cursor = client.open_cursor(sql.as_str(), &[]);
            loop {
                let table = cursor.fetch(BUILD_BATCH as i64)?;
                if table.is_empty() {
                    break;
                }
                let mut docs = Vec::with_capacity(table.len());
                for row in table {
                    let r: JsonB = row.get(1)?.unwrap_or(JsonB(Value::Null));
                    if let Some(id) = r.0.get(0).and_then(Value::as_str) {
                        docs.push(Doc { id: id.to_string(), seq, fields: doc_fields(&r.0, 1, config.fields.len()) });
                    }
                }
                total += docs.len();
                if let Some(b) = segment::build(&config, &docs, vec![]).unwrap_or_else(|e| fail("indexing", e)) {
                    blobs.push(b);
                }
                pgrx::check_for_interrupts!();
            }
            Ok::<_, pgrx::spi::Error>(())
        })
        .unwrap_or_else(|e| fail("reading the table", e));
        let n = blobs.len();
        for b in &blobs {
            insert_segment(spec, b);
        }
        if n > 1 {
            merge(spec, &config, None);
        }
        JsonB(json!({"documents": total, "segments": n.min(1)}))
    })
}

/// Live documents and tombstones of the index as the caller's snapshot sees it.
#[pg_extern(name = "_search_counts", stable)]
fn search_counts(spec: &str) -> JsonB {
    let Some(config) = current_config(spec) else { return JsonB(json!({"documents": 0, "tombstones": 0})) };
    as_index_owner(|| {
        let (_, documents, tombstones) = as_stats(spec, &config);
        JsonB(json!({"documents": documents, "tombstones": tombstones}))
    })
}

/// Compares the index with the table: ids missing from the index, ids indexed that the table
/// lacks, ids indexed more than once, and damaged files.
#[pg_extern(name = "_search_verify", stable)]
fn search_verify(spec: &str) -> JsonB {
    let Some(config) = current_config(spec) else { return JsonB(json!({"ok": true, "indexed": 0, "rows": 0})) };
    as_index_owner(|| {
        let (indexed, damaged) = with_own_index(spec, &config, |_, searcher, _| {
            let damaged = searcher.index().validate_checksum().map(|s| s.len()).unwrap_or(usize::MAX);
            (all_ids(searcher).unwrap_or_else(|e| fail("verifying", e)), damaged)
        });
        let mut report = read_one::<JsonB>(
            &format!(
                "WITH i AS (SELECT k::uuid AS id FROM unnest($1::text[]) k),
                      t AS (SELECT id FROM specstar_data.{})
                 SELECT jsonb_build_object(
                   'indexed', (SELECT count(*) FROM i),
                   'rows', (SELECT count(*) FROM t),
                   'missing', coalesce((SELECT jsonb_agg(t.id ORDER BY t.id) FROM t WHERE NOT EXISTS (SELECT 1 FROM i WHERE i.id = t.id)), '[]'),
                   'unexpected', coalesce((SELECT jsonb_agg(DISTINCT i.id) FROM i WHERE NOT EXISTS (SELECT 1 FROM t WHERE t.id = i.id)), '[]'),
                   'duplicated', coalesce((SELECT jsonb_agg(d.id) FROM (SELECT id FROM i GROUP BY id HAVING count(*) > 1) d), '[]'))",
                ident(spec)
            ),
            &[indexed.into()],
        )
        .unwrap_or_else(|e| fail("verifying", e))
        .map(|j| j.0)
        .unwrap_or(Value::Null);
        let ok = ["missing", "unexpected", "duplicated"].iter().all(|k| report[k].as_array().is_some_and(|a| a.is_empty()))
            && damaged == 0;
        report["damaged_files"] = json!(damaged);
        report["ok"] = json!(ok);
        JsonB(report)
    })
}

/// Threads of this process: the test of "tantivy never starts a thread" (docs/search.md).
#[pg_extern(name = "_backend_threads")]
fn backend_threads() -> i32 {
    std::fs::read_dir("/proc/self/task").map(|d| d.count() as i32).unwrap_or(-1)
}
