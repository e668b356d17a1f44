//! This backend's copy of each spec's index: loaded from the rows a statement sees, opened
//! with the tombstones applied, and merged.

use std::cell::RefCell;
use std::collections::HashMap;

use pgrx::prelude::*;
use specstar_search::cache::Searcher;
use specstar_search::{Config, IndexCache};

use super::fail;
use super::store::{delete_rows, insert_segment, read_rows, read_state, Row, State};

thread_local! {
    /// This backend's copy of each spec's index.
    static CACHES: RefCell<HashMap<String, IndexCache>> = RefCell::new(HashMap::new());
}

/// Reads the spec's index as this statement sees it and runs `f` over it (loaded, tombstones
/// applied), with the state read. `check` may refuse the state (it raises).
pub(super) fn with_index<R>(
    spec: &str,
    user: pg_sys::Oid,
    check: impl Fn(&State) -> Config,
    f: impl FnOnce(&mut IndexCache, &Searcher, &State, &Config) -> R,
) -> R {
    CACHES.with(|caches| {
        let mut caches = caches.borrow_mut();
        for _ in 0..10 {
            let loaded = |c: &HashMap<String, IndexCache>| c.get(spec).map(|c| c.loaded_ids().into_iter().collect()).unwrap_or_default();
            let mut st = read_state(spec, user, loaded(&caches));
            let config = check(&st);
            if caches.get(spec).is_none_or(|c| c.config != config) {
                // a new version changed the index: what was read relied on the old cache
                caches.insert(spec.to_string(), new_cache(config.clone()));
                st = read_state(spec, user, Default::default());
                if check(&st) != config {
                    continue; // (and yet another version meanwhile)
                }
            }
            let cache = caches.get_mut(spec).expect("inserted above");
            // pending rows whose group lost a member are read again
            let orphans = cache.evict_except(&st.segments).unwrap_or_else(|e| fail("evicting segments", e));
            let mut rows = std::mem::take(&mut st.missing);
            if !orphans.is_empty() {
                let again = read_rows(spec, &orphans, false);
                if again.len() != orphans.len() {
                    continue;
                }
                rows.extend(again);
            }
            // stored segments come from the shared directory when they are there, else
            // with their bytes, which puts them there
            let mut pending = vec![];
            let mut need = vec![];
            for row in rows {
                match row {
                    Row::Pending(p) => pending.push(p.read(&config)),
                    Row::Stored(meta) => {
                        if !cache.load_shared(&meta).unwrap_or_else(|e| fail(&format!("segment {}", meta.id), e)) {
                            need.push(meta.id);
                        }
                    }
                }
            }
            if !need.is_empty() {
                let blobs = read_rows(spec, &need, true);
                if blobs.len() != need.len() {
                    continue;
                }
                for row in blobs {
                    if let Row::Stored(blob) = row {
                        cache.load(&blob).unwrap_or_else(|e| fail(&format!("segment {}", blob.id), e));
                    }
                }
            }
            cache.load_pending(pending).unwrap_or_else(|e| fail("indexing pending writes", e));
            let searcher = cache.open(&st.segments).unwrap_or_else(|e| fail("opening the index", e));
            return f(cache, &searcher, &st, &config);
        }
        fail("reading the index", "segments kept disappearing under concurrent merges")
    })
}

/// A new cache of a spec's index, over the server's shared directory of segment files (for
/// segments of INLINE_MERGE_MAX_DOCS documents or more: smaller ones are merged away soon).
fn new_cache(config: Config) -> IndexCache {
    IndexCache::with_shared_dir(config, &shared_dir(), super::INLINE_MERGE_MAX_DOCS).unwrap_or_else(|e| fail("opening the index", e))
}

/// `$PGDATA/base/pgsql_tmp/pgsql_tmp_specstar/<database oid>`: PostgreSQL empties its
/// temporary-file directories when it starts (after a crash too), and base backups leave them
/// out, so the copies of segment files never outlive the server run that wrote them and are
/// never copied to a replica (which writes its own from the rows it replays).
pub(super) fn shared_dir() -> std::path::PathBuf {
    let data = unsafe { std::ffi::CStr::from_ptr(pg_sys::DataDir) }.to_string_lossy().into_owned();
    let db = unsafe { pg_sys::MyDatabaseId }.to_u32().to_string();
    std::path::Path::new(&data).join("base").join("pgsql_tmp").join("pgsql_tmp_specstar").join(db)
}

/// Removes the shared files of segments that no longer exist (merged away, dropped specs,
/// rebuilt indexes): every file of this database's directory whose segment this statement
/// does not see and that was last written `grace` seconds ago or more. A backend that still
/// needs one (an older snapshot, or a segment committed after this statement began) writes it
/// again from the row. Returns the files removed.
pub(super) fn sweep_shared_dir(grace: u64) -> usize {
    let Ok(entries) = std::fs::read_dir(shared_dir()) else { return 0 };
    let live: std::collections::HashSet<String> = super::store::prepared(
        "SELECT replace(segment::text, '-', '') FROM specstar.search_segment WHERE pending IS NULL",
        &[],
        false,
        &[],
        |table| {
            let mut out = std::collections::HashSet::new();
            for row in table {
                out.extend(row.get::<String>(1)?);
            }
            Ok(out)
        },
    )
    .unwrap_or_else(|e| fail("reading the index", e));
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let young = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|age| age.as_secs() < grace));
        if young {
            continue;
        }
        let segment = name.split('.').next().unwrap_or_default();
        if !live.contains(segment) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// `with_index` for specstar's own maintenance: the spec's current config, no rights check.
pub(super) fn with_own_index<R>(spec: &str, config: &Config, f: impl FnOnce(&mut IndexCache, &Searcher, &State) -> R) -> R {
    let user = unsafe { pg_sys::GetUserId() };
    with_index(spec, user, |_| config.clone(), |cache, searcher, st, _| f(cache, searcher, st))
}

thread_local! {
    static SCHEMAS: RefCell<HashMap<Config, &'static specstar_search::schema::IndexSchema>> = RefCell::new(HashMap::new());
}

/// The tantivy schema of a config, built once per backend (a handful of configs at most).
pub(super) fn config_schema(config: &Config) -> &'static specstar_search::schema::IndexSchema {
    SCHEMAS.with(|s| {
        *s.borrow_mut().entry(config.clone()).or_insert_with(|| Box::leak(Box::new(config.index_schema())))
    })
}

/// Merges `inputs` (None: every segment) into one segment, which keeps only the tombstones
/// that still hide something elsewhere. Needs the merge lock and READ COMMITTED, so that the
/// segments read here include every merge committed before; inputs that are not visible
/// (any more) are left out. Returns (segments merged, tombstones dropped).
pub(super) fn merge(spec: &str, config: &Config, inputs: Option<Vec<String>>) -> (usize, usize) {
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
    delete_rows(spec, &inputs, "merging");
    if let Some(m) = &merged {
        insert_segment(spec, m);
    }
    (inputs.len(), dropped as usize)
}

/// (segments, documents, tombstones) of the index as this statement sees it.
pub(super) fn as_stats(spec: &str, config: &Config) -> (usize, u64, u64) {
    with_own_index(spec, config, |cache, _, _| {
        let s = cache.stats();
        (s.segments, s.documents, s.tombstones)
    })
}
