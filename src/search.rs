//! The search index inside PostgreSQL (docs/search.md): segments and tombstones are rows of
//! `specstar.search_segment` / `specstar.search_tombstone`, written in the writer's
//! transaction by the spec's statement triggers, and read under the caller's snapshot. All
//! tantivy work happens in `specstar_search`, in memory, on this (the backend's only) thread,
//! strictly between SPI calls: no tantivy code ever calls PostgreSQL.

use std::cell::RefCell;
use std::collections::HashMap;

use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};
use specstar_search::cache::{all_ids, top_hits};
use specstar_search::{segment, Config, Doc, IndexCache, Language, SearchQuery, SegmentBlob, Tombstone};

/// Segments merged together at each size level (specstar_search::policy).
const FAN_IN: usize = 8;
/// Segments this large are merged only by search_merge, never by a write.
const INLINE_MERGE_MAX_DOCS: u32 = 32 << 10;
/// Documents per segment when (re)building from the table.
const BUILD_BATCH: usize = 200_000;

thread_local! {
    static CONFIGS: RefCell<HashMap<i64, Option<Config>>> = RefCell::new(HashMap::new());
    static CACHES: RefCell<HashMap<String, IndexCache>> = RefCell::new(HashMap::new());
    static OWNER: RefCell<Option<pg_sys::Oid>> = const { RefCell::new(None) };
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    error!("specstar search: {what}: {e}")
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
    let search = Spi::get_one_with_args::<JsonB>("SELECT (SELECT descriptor -> 'search' FROM specstar.spec_versions WHERE vid = $1)", &[vid.into()])
        .unwrap_or_else(|e| fail("reading the spec version", e));
    let config = search.and_then(|s| parse_config(&s.0));
    CONFIGS.with(|c| c.borrow_mut().insert(vid, config.clone()));
    config
}

/// The current version of a spec and its search config (`None`: not registered).
fn current(spec: &str) -> Option<(i64, Option<Config>)> {
    let vid = Spi::get_one_with_args::<i64>("SELECT (SELECT current_vid FROM specstar.spec WHERE name = $1)", &[spec.into()])
        .unwrap_or_else(|e| fail("reading the spec", e))?;
    Some((vid, config_of(vid)))
}

/// Runs `f` with the rights of the owner of specstar's search tables (they are not granted to
/// anyone: segments hold every indexed word). Callers check the user's own rights first.
/// An error inside `f` aborts the (sub)transaction, which restores the user as well.
fn as_index_owner<R>(f: impl FnOnce() -> R) -> R {
    let owner = OWNER.with(|o| *o.borrow()).unwrap_or_else(|| {
        let oid = Spi::get_one::<pg_sys::Oid>("SELECT relowner FROM pg_catalog.pg_class WHERE oid = 'specstar.search_segment'::regclass")
            .unwrap_or_else(|e| fail("finding the index owner", e))
            .unwrap_or_else(|| fail("finding the index owner", "specstar.search_segment is missing"));
        OWNER.with(|o| *o.borrow_mut() = Some(oid));
        oid
    });
    let (mut user, mut context) = (pg_sys::Oid::INVALID, 0);
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        pg_sys::SetUserIdAndSecContext(owner, context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32);
    }
    let out = f();
    unsafe { pg_sys::SetUserIdAndSecContext(user, context) };
    out
}

fn can_read(spec: &str) -> bool {
    Spi::get_one_with_args::<bool>(
        // by oid: a name would need USAGE on specstar_data just to be looked up
        "SELECT (SELECT pg_catalog.has_table_privilege(c.oid, 'SELECT') FROM pg_catalog.pg_class c
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'specstar_data' AND c.relname = $1)",
        &[spec.into()],
    )
    .unwrap_or_else(|e| fail("checking privileges", e))
    .unwrap_or(false)
}

fn problem(sqlstate: &str, message: String, hint: String) -> Option<JsonB> {
    Some(JsonB(json!({"sqlstate": sqlstate, "message": message, "hint": hint})))
}

/// What is wrong with searching `spec` for `q`, as `{sqlstate, message, hint}`, or NULL.
/// (Returned, not raised, so that the SQLSTATE reaches the client as is: sql/search.sql
/// raises it.)
#[pg_extern(name = "_search_problem", stable)]
fn search_problem(spec: &str, q: Option<&str>) -> Option<JsonB> {
    let Some((_, config)) = current(spec) else {
        return problem("PT404", format!("spec {spec} is not registered"), "SELECT name FROM specstar.specs lists the registered specs.".into());
    };
    let Some(config) = config else {
        return problem(
            "22023",
            format!("spec {spec} has no searchable properties"),
            "Mark string properties with \"x-search\": true (a new version of the spec) to index them.".into(),
        );
    };
    if !can_read(spec) {
        return problem(
            "42501",
            format!("permission denied to search spec {spec}"),
            "Searching needs the right to read the spec: options.roles.read, or GRANT SELECT on its table.".into(),
        );
    }
    let Some(q) = q else {
        return problem("22023", "search query: q is required".into(), "Pass the words to look for: q => 'word'.".into());
    };
    let schema = config.index_schema();
    match SearchQuery::parse(&config, &schema, q) {
        Ok(_) => None,
        Err(e) => Some(JsonB(json!({
            "sqlstate": "22023",
            "message": e.message,
            "detail": json!({"query": q, "position": e.position}).to_string(),
            "hint": e.hint,
        }))),
    }
}

/// The visible segment ids and tombstones of a spec, in one snapshot.
fn visible_state(spec: &str) -> (Vec<String>, Vec<Tombstone>) {
    Spi::connect(|client| {
        let row = client
            .select(
                "SELECT ARRAY(SELECT replace(s.segment::text, '-', '') FROM specstar.search_segment s WHERE s.spec = $1),
                        ARRAY(SELECT t.id FROM specstar.search_tombstone t WHERE t.spec = $1 ORDER BY t.id),
                        ARRAY(SELECT t.key::text FROM specstar.search_tombstone t WHERE t.spec = $1 ORDER BY t.id),
                        ARRAY(SELECT t.seq FROM specstar.search_tombstone t WHERE t.spec = $1 ORDER BY t.id)",
                None,
                &[spec.into()],
            )?
            .first();
        let segments: Vec<String> = row.get(1)?.unwrap_or_default();
        let ids: Vec<i64> = row.get(2)?.unwrap_or_default();
        let keys: Vec<String> = row.get(3)?.unwrap_or_default();
        let seqs: Vec<i64> = row.get(4)?.unwrap_or_default();
        let tombs = ids.into_iter().zip(keys).zip(seqs).map(|((id, key), seq)| Tombstone { id, key, seq: seq as u64 }).collect();
        Ok::<_, pgrx::spi::Error>((segments, tombs))
    })
    .unwrap_or_else(|e| fail("reading the index", e))
}

/// Loads the segments of `wanted` that `cache` lacks.
fn load_missing(spec: &str, cache: &mut IndexCache, wanted: &[String]) {
    let missing: Vec<String> = wanted.iter().filter(|s| !cache.is_loaded(s)).cloned().collect();
    if missing.is_empty() {
        return;
    }
    let blobs = Spi::connect(|client| {
        let mut out = vec![];
        for row in client.select(
            "SELECT replace(segment::text, '-', ''), docs, files, data FROM specstar.search_segment
              WHERE spec = $1 AND segment = ANY($2::uuid[])",
            None,
            &[spec.into(), missing.clone().into()],
        )? {
            let id: String = row.get(1)?.unwrap_or_default();
            let docs: i32 = row.get(2)?.unwrap_or_default();
            let files: JsonB = row.get(3)?.unwrap_or(JsonB(Value::Null));
            let data: Vec<u8> = row.get(4)?.unwrap_or_default();
            out.push((id, docs, files, data));
        }
        Ok::<_, pgrx::spi::Error>(out)
    })
    .unwrap_or_else(|e| fail("reading segments", e));
    if blobs.len() != missing.len() {
        fail("reading segments", format!("{} of {} segments are gone", missing.len() - blobs.len(), missing.len()));
    }
    for (id, docs, files, data) in blobs {
        let files = SegmentBlob::parse_files(&files.0).unwrap_or_else(|e| fail(&format!("segment {id}"), e));
        let blob = SegmentBlob { id: id.clone(), docs: docs as u32, meta: Value::Null, files, data };
        cache.load(&blob).unwrap_or_else(|e| fail(&format!("segment {id}"), e));
    }
}

/// Runs `f` over the spec's index as the caller's snapshot sees it (loaded, tombstones applied).
fn with_index<R>(spec: &str, config: &Config, f: impl FnOnce(&mut IndexCache, &specstar_search::cache::Searcher, &[String], &[Tombstone]) -> R) -> R {
    let (segments, tombs) = visible_state(spec);
    CACHES.with(|caches| {
        let mut caches = caches.borrow_mut();
        if caches.get(spec).is_none_or(|c| c.config != *config) {
            let c = IndexCache::new(config.clone()).unwrap_or_else(|e| fail("opening the index", e));
            caches.insert(spec.to_string(), c);
        }
        let cache = caches.get_mut(spec).expect("inserted above");
        cache.evict_except(&segments).unwrap_or_else(|e| fail("evicting segments", e));
        load_missing(spec, cache, &segments);
        let searcher = cache.open(&segments, &tombs).unwrap_or_else(|e| fail("opening the index", e));
        f(cache, &searcher, &segments, &tombs)
    })
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

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
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

/// The hits of `q` in `spec`, best first: resource id, BM25 score and (when asked) per
/// searchable field the text with the query's terms marked `<b>…</b>`. `top` NULL: every hit.
#[pg_extern(name = "_search_hits", stable)]
fn search_hits(
    spec: &str,
    q: &str,
    top: Option<i32>,
    skip: Option<i32>,
    highlights: Option<bool>,
) -> TableIterator<'static, (name!(id, Uuid), name!(score, f32), name!(highlights, Option<JsonB>))> {
    let Some((_, Some(config))) = current(spec) else {
        error!("specstar search: spec {spec} is not registered or has no searchable properties")
    };
    if !can_read(spec) {
        ereport!(ERROR, PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, format!("permission denied to search spec {spec}"));
    }
    let schema = config.index_schema();
    let query = SearchQuery::parse(&config, &schema, q).unwrap_or_else(|e| {
        ereport!(ERROR, PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, e.message);
    });
    let top = top.map(|t| t.max(0) as usize);
    let skip = skip.unwrap_or(0).max(0) as usize;
    let rows = as_index_owner(|| {
        let (hits, marked) = with_index(spec, &config, |cache, searcher, _, _| {
            let hits = top_hits(searcher, &*query.query, top, skip).unwrap_or_else(|e| fail("searching", e));
            if !highlights.unwrap_or(false) || hits.is_empty() {
                return (hits, HashMap::new());
            }
            let ids: Vec<String> = hits.iter().map(|h| h.0.clone()).collect();
            let texts = field_texts(spec, &config, &ids);
            let mut marked = HashMap::new();
            for (id, fields) in texts {
                let mut obj = serde_json::Map::new();
                for (i, values) in fields.iter().enumerate() {
                    let parts: Vec<String> =
                        values.iter().filter_map(|v| query.highlight(i, v)).collect();
                    if !parts.is_empty() {
                        obj.insert(config.fields[i].clone(), Value::String(parts.join(" … ")));
                    }
                }
                marked.insert(id, Value::Object(obj));
            }
            (hits, marked)
        });
        hits.into_iter()
            .map(|(id, score)| {
                let h = marked.get(&id).cloned().map(JsonB);
                (uuid_of(&id), score, h)
            })
            .collect::<Vec<_>>()
    });
    TableIterator::new(rows)
}

fn next_seq() -> u64 {
    Spi::get_one::<i64>("SELECT pg_catalog.nextval('specstar.search_seq')")
        .unwrap_or_else(|e| fail("numbering the write", e))
        .unwrap_or_else(|| fail("numbering the write", "nextval returned NULL")) as u64
}

fn insert_segment(spec: &str, blob: &SegmentBlob) {
    Spi::run_with_args(
        "INSERT INTO specstar.search_segment (spec, segment, docs, files, data) VALUES ($1, $2::uuid, $3, $4, $5)",
        &[
            spec.into(),
            blob.id.as_str().into(),
            (blob.docs as i32).into(),
            JsonB(blob.files_json()).into(),
            blob.data.as_slice().into(),
        ],
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

/// Called by a spec's statement triggers: tombstones for `deleted` (old versions of updated
/// or deleted resources), one new segment for `docs` (`[[id, field values...], ...]` in the
/// order of the version's searchable fields), then, past MERGE_AT segments, a merge.
#[pg_extern(name = "_search_write")]
fn search_write(spec: &str, vid: i64, deleted: Option<Vec<Uuid>>, docs: Option<JsonB>) {
    let Some(config) = config_of(vid) else { return };
    as_index_owner(|| {
        let seq = next_seq();
        let deleted: Vec<String> = deleted.unwrap_or_default().iter().map(|u| u.to_string()).collect();
        if !deleted.is_empty() {
            Spi::run_with_args(
                "INSERT INTO specstar.search_tombstone (spec, key, seq) SELECT $1, k, $3 FROM unnest($2::uuid[]) k",
                &[spec.into(), deleted.into(), (seq as i64).into()],
            )
            .unwrap_or_else(|e| fail("storing tombstones", e));
        }
        let docs = docs.map(|d| docs_from_json(&config, &d.0, seq)).unwrap_or_default();
        if let Some(blob) = segment::build(&config, &docs).unwrap_or_else(|e| fail("indexing", e)) {
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
    Spi::connect(|client| {
        let mut out = vec![];
        for row in client.select(
            "SELECT replace(segment::text, '-', ''), docs FROM specstar.search_segment WHERE spec = $1",
            None,
            &[spec.into()],
        )? {
            out.push((row.get::<String>(1)?.unwrap_or_default(), row.get::<i32>(2)?.unwrap_or(0) as u32));
        }
        Ok::<_, pgrx::spi::Error>(out)
    })
    .unwrap_or_else(|e| fail("listing segments", e))
}

fn read_committed() -> bool {
    unsafe { pg_sys::XactIsoLevel < pg_sys::XACT_REPEATABLE_READ as i32 }
}

fn lock_key(spec: &str) -> String {
    format!("specstar.search:{spec}")
}

fn try_merge_lock(spec: &str) -> bool {
    Spi::get_one_with_args::<bool>("SELECT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext($1))", &[lock_key(spec).into()])
        .unwrap_or_else(|e| fail("locking the index", e))
        .unwrap_or(false)
}

fn merge_lock(spec: &str) {
    Spi::run_with_args("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext($1))", &[lock_key(spec).into()])
        .unwrap_or_else(|e| fail("locking the index", e));
}

/// Merges `inputs` (None: every segment) and drops the tombstones that no longer hide
/// anything. Needs the merge lock and READ COMMITTED, so that the state read here includes
/// every merge committed before; inputs that are not visible (any more) are left out.
fn merge(spec: &str, config: &Config, inputs: Option<Vec<String>>) -> (usize, usize) {
    let (merged, inputs, idle) = with_index(spec, config, |cache, _, visible, tombs| {
        let inputs: Vec<String> = match inputs {
            Some(wanted) => wanted.into_iter().filter(|s| visible.contains(s)).collect(),
            None if visible.len() < 2 && tombs.is_empty() => vec![],
            None => visible.to_vec(),
        };
        if inputs.is_empty() {
            return (None, inputs, vec![]);
        }
        let merged = cache.merge(&inputs).unwrap_or_else(|e| fail("merging", e));
        if let Some(m) = &merged {
            cache.load(m).unwrap_or_else(|e| fail("merging", e));
        }
        let mut after: Vec<String> = visible.iter().filter(|s| !inputs.contains(s)).cloned().collect();
        after.extend(merged.iter().map(|m| m.id.clone()));
        cache.open(&after, tombs).unwrap_or_else(|e| fail("merging", e));
        let idle = cache.idle_tombstones(&after, tombs);
        (merged, inputs, idle)
    });
    if inputs.is_empty() {
        return (0, 0);
    }
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
    if !idle.is_empty() {
        Spi::run_with_args(
            "DELETE FROM specstar.search_tombstone WHERE spec = $1 AND id = ANY($2)",
            &[spec.into(), idle.clone().into()],
        )
        .unwrap_or_else(|e| fail("dropping tombstones", e));
    }
    (inputs.len(), idle.len())
}

fn require_read_committed(what: &str) {
    if !read_committed() {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_ACTIVE_SQL_TRANSACTION,
            format!("{what} needs READ COMMITTED isolation"),
            "Run it in its own transaction at the default isolation level."
        );
    }
}

/// Merges every segment of a spec's index into one, dropping deleted documents and the
/// tombstones that hid them. Returns what it did.
#[pg_extern(name = "_search_merge")]
fn search_merge(spec: &str) -> JsonB {
    require_read_committed("search_merge");
    let Some((_, Some(config))) = current(spec) else { return JsonB(json!({"merged": 0, "tombstones_dropped": 0})) };
    as_index_owner(|| {
        merge_lock(spec);
        let (merged, dropped) = merge(spec, &config, None);
        JsonB(json!({"merged": merged, "tombstones_dropped": dropped}))
    })
}

/// Re-indexes a spec from its table: every segment and tombstone replaced. Writers wait.
#[pg_extern(name = "_search_rebuild")]
fn search_rebuild(spec: &str) -> JsonB {
    require_read_committed("search_rebuild");
    let Some((_, config)) = current(spec) else { return JsonB(json!({"documents": 0, "segments": 0})) };
    as_index_owner(|| {
        merge_lock(spec);
        Spi::run(&format!("LOCK TABLE specstar_data.{} IN SHARE MODE", ident(spec))).unwrap_or_else(|e| fail("locking the table", e));
        Spi::run_with_args("DELETE FROM specstar.search_segment WHERE spec = $1", &[spec.into()])
            .unwrap_or_else(|e| fail("rebuilding", e));
        Spi::run_with_args("DELETE FROM specstar.search_tombstone WHERE spec = $1", &[spec.into()])
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
                if let Some(b) = segment::build(&config, &docs).unwrap_or_else(|e| fail("indexing", e)) {
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

/// Live documents of the index as the caller's snapshot sees it.
#[pg_extern(name = "_search_documents", stable)]
fn search_documents(spec: &str) -> i64 {
    let Some((_, Some(config))) = current(spec) else { return 0 };
    as_index_owner(|| with_index(spec, &config, |_, searcher, _, _| searcher.num_docs() as i64))
}

/// Compares the index with the table: ids missing from the index, ids indexed that the table
/// lacks, ids indexed more than once, and damaged segments.
#[pg_extern(name = "_search_verify", stable)]
fn search_verify(spec: &str) -> JsonB {
    let Some((_, config)) = current(spec) else { return JsonB(json!({"ok": false, "problems": ["spec is not registered"]})) };
    let Some(config) = config else { return JsonB(json!({"ok": true, "indexed": 0, "rows": 0})) };
    as_index_owner(|| {
        let (indexed, damaged) = with_index(spec, &config, |_, searcher, _, _| {
            let damaged = searcher.index().validate_checksum().map(|s| s.len()).unwrap_or(usize::MAX);
            (all_ids(searcher).unwrap_or_else(|e| fail("verifying", e)), damaged)
        });
        let report = Spi::get_one_with_args::<JsonB>(
            &format!(
                "WITH i AS (SELECT k::uuid AS id FROM unnest($1::text[]) k),
                      t AS (SELECT id FROM specstar_data.{} )
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
        let mut report = report;
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
