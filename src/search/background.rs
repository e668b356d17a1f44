//! The background merger: large segments (at or above `INLINE_MERGE_MAX_DOCS` documents,
//! which no write merges: folds of pending rows are that large) are merged by a dynamic
//! background worker, one per spec at a time, so that an index reaches its fast shape after
//! bulk loads and churn without anyone running `search_merge`, and no write pays for
//! rewriting a large part of the index.
//!
//! A write that leaves a full size level of large segments starts the worker, unless one
//! runs for the spec. Who runs is decided by one advisory lock per spec ("specstar.search.bg:"):
//! the starting write takes it for its transaction, and the worker waits for it, for the rest
//! of its life, as its first step: so it starts merging once the write that started it has
//! committed (and sees its segments), and no write starts a second worker meanwhile. The
//! worker merges one level per transaction, under the spec's merge lock, the same merges a
//! write or `search_merge` makes, until no level is full; then it exits. It runs as the
//! bootstrap superuser, reads and writes only `specstar.search_segment` (as its owner), and
//! never runs on a standby (writes there are replayed, merges included).

use std::cell::Cell;

use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags};
use pgrx::prelude::*;

use super::store::{as_index_owner, current_config, prepared, TEXT};
use super::{fail, FAN_IN, INLINE_MERGE_MAX_DOCS};

/// Whether writes start background merges (`specstar.search_background_merge`).
pub(super) static ENABLED: pgrx::GucSetting<bool> = pgrx::GucSetting::<bool>::new(true);

thread_local! {
    /// the local transaction that last started a worker (at most one start per transaction)
    static STARTED_IN: Cell<u32> = const { Cell::new(0) };
}

fn lock_key(spec: &str) -> String {
    format!("specstar.search.bg:{spec}")
}

/// The large segments to merge now among the stored `sizes`: a full level of them, or none.
fn full_level(sizes: &[(String, u32)]) -> Vec<String> {
    let large: Vec<(String, u32)> = sizes.iter().filter(|s| s.1 >= INLINE_MERGE_MAX_DOCS).cloned().collect();
    specstar_search::policy::pick(&large, FAN_IN, u32::MAX)
}

/// Called by a write with the sizes of the stored segments: starts the spec's worker when a
/// level of large segments is full and no worker runs (nor was started by this transaction).
pub(super) fn wanted(spec: &str, sizes: &[(String, u32)]) {
    if !ENABLED.get() || full_level(sizes).is_empty() || unsafe { pg_sys::RecoveryInProgress() } {
        return;
    }
    let lxid = unsafe { (*pg_sys::MyProc).lxid };
    if STARTED_IN.get() == lxid {
        return;
    }
    let free = prepared("SELECT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext($1))", &[TEXT], true, &[lock_key(spec).into()], |t| {
        t.first().get::<bool>(1)
    })
    .unwrap_or_else(|e| fail("locking the index", e))
    .unwrap_or(false);
    if !free {
        // a worker runs (it holds the lock for its life): it merges what is full
        return;
    }
    STARTED_IN.set(lxid);
    let started = BackgroundWorkerBuilder::new(&format!("specstar search merge: {spec}"))
        .set_type("specstar search merge")
        .set_library("specstar")
        .set_function("specstar_search_merger")
        .set_argument(Some(pg_sys::Datum::from(unsafe { pg_sys::MyDatabaseId }.to_u32())))
        .set_extra(spec)
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .enable_spi_access()
        .load_dynamic();
    if started.is_err() {
        // no free worker slot (max_worker_processes): a later write tries again
        pgrx::log!("specstar search: no background worker slot to merge the index of {spec}");
    }
}

/// The worker's main function: merges full levels of the spec's large segments until none is
/// left, then exits.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn specstar_search_merger(arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGTERM);
    let db = pg_sys::Oid::from(arg.value() as u32);
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(db), None);
    let spec = BackgroundWorker::get_extra().to_string();
    // wait for the write that started us: its transaction holds the lock until it ends
    BackgroundWorker::transaction(|| {
        Spi::run_with_args("SELECT pg_catalog.pg_advisory_lock(pg_catalog.hashtext($1))", &[lock_key(&spec).into()])
            .unwrap_or_else(|e| fail("waiting for the write that asked for a merge", e));
    });
    while !BackgroundWorker::sigterm_received() {
        let merged = BackgroundWorker::transaction(|| merge_one_level(&spec));
        if !merged {
            break;
        }
    }
    // the merged inputs' shared files: nobody starting a search from now on needs them
    BackgroundWorker::transaction(|| as_index_owner(super::index::sweep_shared_dir));
}

/// One full level of large segments merged, in this transaction; false when none is full.
fn merge_one_level(spec: &str) -> bool {
    let Some(config) = current_config(spec) else { return false };
    as_index_owner(|| {
        super::store::merge_lock(spec);
        let sizes: Vec<(String, u32)> = super::store::sizes(spec).into_iter().filter(|s| !s.2).map(|s| (s.0, s.1)).collect();
        let inputs = full_level(&sizes);
        if inputs.is_empty() {
            return false;
        }
        super::index::merge(spec, &config, Some(inputs));
        true
    })
}
