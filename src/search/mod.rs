//! The search index inside PostgreSQL (docs/search.md): every segment is a row of
//! `specstar.search_segment`, written in the writer's transaction by the spec's statement
//! triggers together with the tombstones of that write, and read under the caller's
//! snapshot. All tantivy work happens in `specstar_search`, in memory, on this (the backend's
//! only) thread, strictly between SPI calls: no tantivy code ever calls PostgreSQL.
//!
//! Errors a client can cause (a malformed query, no right to read the spec, a spec without
//! searchable properties) are raised with SQLSTATEs pgrx knows (22023, 42501), which reach the
//! client unchanged and without a backtrace.

mod background;
mod index;
mod scope;
mod store;

use std::collections::HashMap;

use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};
use specstar_search::cache::{all_ids, top_hits, within_ids};
use specstar_search::{segment, Config, SearchQuery, Tombstone};

use index::{as_stats, config_schema, merge, with_index, with_own_index};
use scope::{read_scope, Scope};
use store::*;

/// Segments merged together at each size level (specstar_search::policy).
const FAN_IN: usize = 8;

/// Segments this large are merged only by the background worker or search_merge, never by a
/// write: a write's merge rewrites at most FAN_IN of them.
const INLINE_MERGE_MAX_DOCS: u32 = 512;

/// Hits of one call that get highlights (the rest get none): highlighting reads the texts.
const HIGHLIGHT_HITS: usize = 100;

/// Documents per segment when (re)building from the table.
const BUILD_BATCH: usize = 200_000;

/// The most hits one search returns (`top`); `skip + top` may be at most ten times as much.
/// Superusers can change it (PGC_SUSET): anonymous callers cannot ask for the whole index.
static MAX_TOP: pgrx::GucSetting<i32> = pgrx::GucSetting::<i32>::new(1000);

/// Called from `_PG_init`.
pub fn register_settings() {
    pgrx::GucRegistry::define_int_guc(
        c"specstar.search_max_top",
        c"The most hits one full-text search may return.",
        c"top may be at most this, and skip + top at most ten times this (22023 beyond). Only superusers can change it.",
        &MAX_TOP,
        1,
        100_000_000,
        pgrx::GucContext::Suset,
        pgrx::GucFlags::default(),
    );
    pgrx::GucRegistry::define_bool_guc(
        c"specstar.search_background_merge",
        c"Whether writes start a background worker to merge the large segments of a search index.",
        c"Off: large segments are merged only by specstar.search_merge. Only superusers can change it.",
        &background::ENABLED,
        pgrx::GucContext::Suset,
        pgrx::GucFlags::default(),
    );
}

/// `top` (NULL: the most allowed) and `skip` checked against the limits (22023 beyond).
fn page(top: Option<i32>, skip: Option<i32>) -> (usize, usize) {
    let max = MAX_TOP.get().max(1) as i64;
    let top = top.map_or(max, i64::from);
    let skip = skip.unwrap_or(0) as i64;
    let hint = format!("Page through the hits with skip; top may be at most {max} and skip + top at most {}.", max * 10);
    if !(0..=max).contains(&top) {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("search: top must be between 0 and {max}, not {top}"), &hint, None);
    }
    if skip < 0 || skip + top > max * 10 {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("search: skip must be between 0 and {} for top {top}, not {skip}", max * 10 - top), &hint, None);
    }
    (top as usize, skip as usize)
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    error!("specstar search: {what}: {e}")
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

fn uuid_of(s: &str) -> Uuid {
    Uuid::from_bytes(specstar_search::uuid_bytes(s).unwrap_or_else(|e| fail("reading a hit", e)))
}

/// The hits of `q` in `spec`, best first: resource id, BM25 score and (when asked) per
/// searchable field the text with the query's words marked `<b>…</b>`. `top` NULL: as many
/// as `specstar.search_max_top` allows.
/// The caller must have the right to read the spec.
#[pg_extern(name = "_search_hits", stable, parallel_restricted)]
fn search_hits(
    spec: Option<&str>,
    q: Option<&str>,
    top: Option<i32>,
    skip: Option<i32>,
    highlights: Option<bool>,
) -> TableIterator<'static, (name!(id, Uuid), name!(score, f32), name!(highlights, Option<JsonB>))> {
    let Some(spec) = spec else {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "search: spec is required".into(), "Name a registered spec.", None);
    };
    let user = unsafe { pg_sys::GetUserId() };
    let check = |st: &State| -> Config {
        let Some(vid) = st.vid else {
            raise(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, format!("spec {spec} is not registered"), "SELECT name FROM specstar.specs lists the registered specs.", None);
        };
        if !st.readable {
            raise(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, format!("permission denied to search spec {spec}"), "Searching needs the right to read the spec: name the role in options.roles.read (docs/security.md says what a role granted by hand needs).", None);
        }
        config_of(vid).unwrap_or_else(|| {
            raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("spec {spec} has no searchable properties"), "Mark string properties with \"x-search\": true (in a new version of the spec) to index them.", None)
        })
    };
    // With access rules (row-level security on the spec's table), top and skip count the
    // hits the caller may read: candidates come in growing windows, best first, until the
    // page is full or the hits run out (docs/permissions.md).
    // with access rules, what they let the caller read when simple: every row, only their
    // own (searched within their ids), or nothing; otherwise hits are checked row by row
    let scope = read_scope(spec);
    let rls = scope.is_some();
    let scope = scope.unwrap_or(Scope::All);
    if matches!(scope, Scope::Nothing) {
        return TableIterator::new(Vec::new());
    }
    let mut window: Option<usize> = None;
    let rows = loop {
        let (hits, query, config, (page_top, page_skip)) = as_index_owner(|| {
            with_index(spec, user, check, |_, searcher, _, config| {
                let Some(q) = q else {
                    raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "search query: q is required".into(), "Pass the words to look for: q => 'word'.", None);
                };
                let query = SearchQuery::parse(config, config_schema(config), q).unwrap_or_else(|e| {
                    // (the query quoted at most 200 characters long: it may be megabytes)
                    let detail = json!({"query": specstar_core::json::shorten(q, 200), "position": e.position}).to_string();
                    raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, e.message, &e.hint, Some(detail))
                });
                let (top, skip) = page(top, skip);
                let hits = match (&scope, rls, window) {
                    (Scope::Own(ids), _, _) => top_hits(searcher, &within_ids(&*query.query, config_schema(config), ids), Some(top), skip),
                    (_, false, _) => top_hits(searcher, &*query.query, Some(top), skip),
                    (_, true, w) => top_hits(searcher, &*query.query, Some(w.unwrap_or_else(|| first_window(&scope, top, skip))), 0),
                }
                .unwrap_or_else(|e| fail("searching", e));
                (hits, query, config.clone(), (top, skip))
            })
        });
        if !rls || matches!(scope, Scope::Own(_)) {
            break (hits, query, config);
        }
        let fetched = hits.len();
        let asked = window.unwrap_or_else(|| first_window(&scope, page_top, page_skip));
        let visible = visible_ids(spec, &hits);
        let seen: Vec<(String, f32)> = hits.into_iter().filter(|h| visible.contains(&h.0)).collect();
        let cap = MAX_TOP.get().max(1) as usize * 10;
        if seen.len() >= page_top + page_skip || fetched < asked || asked >= cap {
            break (seen.into_iter().skip(page_skip).take(page_top).collect(), query, config);
        }
        window = Some((asked * 4).min(cap));
    };
    let rows = as_index_owner(|| {
        let (hits, query, config) = rows;
        let mut marked = HashMap::new();
        if highlights.unwrap_or(false) && !hits.is_empty() {
            let ids: Vec<String> = hits.iter().take(HIGHLIGHT_HITS).map(|h| h.0.clone()).collect();
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

/// The first window of candidates: the page itself when every row is likely visible.
fn first_window(scope: &Scope, top: usize, skip: usize) -> usize {
    match scope {
        Scope::All => top + skip,
        _ => ((top + skip) * 2).max(20),
    }
}

/// The ids among `hits` the caller may read (the table's row-level security decides).
fn visible_ids(spec: &str, hits: &[(String, f32)]) -> std::collections::HashSet<String> {
    if hits.is_empty() {
        return Default::default();
    }
    let ids: Vec<Uuid> = hits.iter().map(|h| uuid_of(&h.0)).collect();
    let sql = format!("SELECT t.id::pg_catalog.text FROM specstar_data.{} t WHERE t.id OPERATOR(pg_catalog.=) ANY ($1)", specstar_core::ddl::sql::ident(spec));
    crate::owner::pinned(|| {
        Spi::connect(|client| {
            let mut out = std::collections::HashSet::new();
            for row in client.select(&sql, None, &[ids.into()])? {
                if let Some(id) = row.get::<String>(1)? {
                    out.insert(id);
                }
            }
            Ok::<_, pgrx::spi::SpiError>(out)
        })
    })
    .unwrap_or_else(|e| fail("filtering the hits by the access rules", e))
}

/// Called (through `specstar._search_feed`) with a chunk of a statement too large to store
/// pending: its documents (`[[id, field values...], ...]` in the order of the version's
/// searchable fields) and the resources whose old versions it replaced or deleted
/// (`deleted`, one tombstone each), indexed into one segment at once; then, as after a fold,
/// a merge of a full level of small segments or the background worker for large ones.
#[pg_extern(name = "_search_write")]
fn search_write(spec: &str, vid: i64, deleted: Option<Vec<Uuid>>, docs: Option<crate::json::Json>) {
    let Some(config) = config_of(vid) else { return };
    let docs = docs.map(|d| d.0.unwrap_or_else(|e| fail("reading the documents to index", e)));
    as_index_owner(|| {
        let seq = next_seq();
        let tombstones: Vec<Tombstone> =
            deleted.unwrap_or_default().iter().map(|u| Tombstone { key: u.to_string(), seq }).collect();
        let docs: Vec<_> = docs.iter().flat_map(|d| d.as_array().into_iter().flatten()).filter_map(|r| doc_of(&config, r, seq)).collect();
        let Some(blob) = segment::build(&config, &docs, tombstones).unwrap_or_else(|e| fail("indexing", e)) else { return };
        let sizes = insert_segment(spec, &blob);
        maintain(spec, &config, sizes);
    })
}

/// Called by `specstar._search_feed` after one pending write in 16: folds the pending rows
/// into a segment when they hold enough (and no one else holds the merge lock), then merges
/// as [`search_write`] does.
#[pg_extern(name = "_search_maintain")]
fn search_maintain(spec: &str, vid: i64) {
    let Some(config) = config_of(vid) else { return };
    if !read_committed() {
        return;
    }
    as_index_owner(|| {
        let (rows, docs, bytes) = pending_totals(spec);
        if (rows >= FOLD_ROWS || docs >= FOLD_DOCS || bytes >= FOLD_BYTES) && try_lock(Lock::Fold, spec) {
            let sizes = fold(spec, &config).unwrap_or_default();
            merge_small(spec, &config, &sizes);
        }
    })
}

/// Pending rows are folded into a segment once they hold this many documents or rows.
const FOLD_DOCS: u32 = 512;
const FOLD_ROWS: usize = 512;
/// ... or this many bytes of documents.
const FOLD_BYTES: usize = 8 << 20;

/// What a write that stored a segment does, given the sizes of every row: fold the pending
/// rows when they are enough, merge a full level of small segments, and start the background
/// worker when a level of large segments is full. Folds and merges wait for no one: they are
/// left to a later write when another one holds the fold or merge lock.
fn maintain(spec: &str, config: &Config, mut sizes: Vec<store::Size>) {
    if !read_committed() {
        return;
    }
    let pending: Vec<&store::Size> = sizes.iter().filter(|s| s.2).collect();
    let fold_now = pending.len() >= FOLD_ROWS || pending.iter().map(|s| s.1).sum::<u32>() >= FOLD_DOCS;
    if !fold_now && specstar_search::policy::pick(&stored(&sizes), FAN_IN, INLINE_MERGE_MAX_DOCS).is_empty() {
        background::wanted(spec, &stored(&sizes));
        return;
    }
    if fold_now && try_lock(Lock::Fold, spec) {
        if let Some(s) = fold(spec, config) {
            sizes = s;
        }
    }
    merge_small(spec, config, &sizes);
}

/// The stored segments among the sizes of a spec's rows.
fn stored(sizes: &[store::Size]) -> Vec<(String, u32)> {
    sizes.iter().filter(|s| !s.2).map(|s| (s.0.clone(), s.1)).collect()
}

/// Merges a full level of small segments (when it gets the merge lock without waiting), else
/// starts the background worker when a level of large ones is full.
fn merge_small(spec: &str, config: &Config, sizes: &[store::Size]) {
    let small = specstar_search::policy::pick(&stored(sizes), FAN_IN, INLINE_MERGE_MAX_DOCS);
    if small.is_empty() {
        background::wanted(spec, &stored(sizes));
        return;
    }
    if try_lock(Lock::Merge, spec) {
        merge(spec, config, Some(small));
    }
}

/// Folds the pending rows this statement sees into one segment (under the fold lock: a
/// concurrent merge of segments is fine, it leaves pending rows alone).
/// Returns the sizes after, or None when there was nothing to fold.
fn fold(spec: &str, config: &Config) -> Option<Vec<store::Size>> {
    let rows = take_pending(spec, config);
    if rows.is_empty() {
        return None;
    }
    let writes: Vec<_> = rows.into_iter().map(|r| (r.docs, r.tombstones)).collect();
    let blob = segment::fold(config, &writes, true).unwrap_or_else(|e| fail("folding pending writes", e));
    Some(match blob {
        Some(b) => insert_segment(spec, &b),
        None => sizes(spec),
    })
}

fn read_committed() -> bool {
    unsafe { pg_sys::XactIsoLevel < pg_sys::XACT_REPEATABLE_READ as i32 }
}

/// search_merge and search_rebuild write: refused cleanly (25006) in a read-only transaction,
/// a hot standby's included.
fn require_writable(what: &str) {
    if unsafe { pg_sys::RecoveryInProgress() || pg_sys::XactReadOnly } {
        raise(PgSqlErrorCode::ERRCODE_READ_ONLY_SQL_TRANSACTION, format!("{what} cannot run in a read-only transaction"), "Run it on the primary server, in a read-write transaction: a standby replays the primary's merges.", None);
    }
}

fn require_read_committed(what: &str) {
    if !read_committed() {
        raise(PgSqlErrorCode::ERRCODE_ACTIVE_SQL_TRANSACTION, format!("{what} needs READ COMMITTED isolation"), "Run it in its own transaction at the default isolation level.", None);
    }
}

/// Merges every segment of a spec's index into one, dropping deleted documents and the
/// tombstones that hid them. Returns what it did.
#[pg_extern(name = "_search_merge")]
fn search_merge(spec: &str) -> JsonB {
    require_writable("search_merge");
    require_read_committed("search_merge");
    let Some(config) = current_config(spec) else { return JsonB(json!({"merged": 0, "tombstones_dropped": 0})) };
    as_index_owner(|| {
        lock(Lock::Fold, spec, false);
        lock(Lock::Merge, spec, false);
        let (merged, dropped) = merge(spec, &config, None);
        JsonB(json!({"merged": merged, "tombstones_dropped": dropped}))
    })
}

/// Removes the shared segment files of this database that no segment needs any more and that
/// were written `grace_seconds` ago or more (the background merger does it after its merges,
/// with a minute's grace); returns how many.
#[pg_extern(name = "_search_sweep")]
fn search_sweep(grace_seconds: i32) -> i64 {
    as_index_owner(|| index::sweep_shared_dir(grace_seconds.max(0) as u64) as i64)
}

/// Re-indexes a spec from its table: every segment replaced. Writers wait meanwhile.
#[pg_extern(name = "_search_rebuild")]
fn search_rebuild(spec: &str) -> JsonB {
    require_writable("search_rebuild");
    require_read_committed("search_rebuild");
    let config = current_config(spec);
    as_index_owner(|| {
        lock(Lock::Fold, spec, false);
        lock(Lock::Merge, spec, false);
        Spi::run(&format!("LOCK TABLE specstar_data.{} IN SHARE MODE", ident(spec))).unwrap_or_else(|e| fail("locking the table", e));
        Spi::run_with_args("DELETE FROM specstar.search_segment WHERE spec = $1", &[spec.into()])
            .unwrap_or_else(|e| fail("rebuilding", e));
        let Some(config) = config else { return JsonB(json!({"documents": 0, "segments": 0})) };
        let seq = next_seq();
        let sql = docs_sql(spec, &config, "");
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
                    docs.extend(row.get::<JsonB>(1)?.and_then(|r| doc_of(&config, &r.0, seq)));
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
