//! This backend's copy of each spec's index: loaded from the rows a statement sees, opened
//! with the tombstones applied, and merged.

use std::cell::RefCell;
use std::collections::HashMap;

use pgrx::prelude::*;
use specstar_search::cache::Searcher;
use specstar_search::{Config, IndexCache};

use super::fail;
use super::store::{insert_segment, read_state, State};

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
    let removed = Spi::get_one_with_args::<i64>(
        "WITH d AS (DELETE FROM specstar.search_segment WHERE spec = $1 AND segment = ANY($2::uuid[]) RETURNING 1)
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
pub(super) fn as_stats(spec: &str, config: &Config) -> (usize, u64, u64) {
    with_own_index(spec, config, |cache, _, _| {
        let s = cache.stats();
        (s.segments, s.documents, s.tombstones)
    })
}
