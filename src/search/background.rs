//! The background merger: large segments (at or above `INLINE_MERGE_MAX_DOCS` documents,
//! which no write merges: folds of pending rows usually are that large) are merged by a dynamic
//! background worker, one per spec at a time, so that an index reaches its fast shape after
//! bulk loads and churn without anyone running `search_merge`, and no write pays for
//! rewriting a large part of the index.
//!
//! A write that leaves a full size level of large segments starts the worker, unless one
//! runs for the spec. Who runs is decided by one advisory lock per spec (`Lock::Worker`):
//! the starting write takes it for its transaction, and the worker waits for it, for the rest
//! of its life, as its first step: so it starts merging once the write that started it has
//! committed (and sees its segments), and no write starts a second worker meanwhile. The
//! worker merges one level per transaction, under the spec's merge lock, the same merges a
//! write or `search_merge` makes, until no level is full; then it exits. It runs as the
//! bootstrap superuser, reads and writes only `specstar.search_segment` (as its owner), and
//! never runs on a standby (writes there are replayed, merges included).

use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime};
use pgrx::prelude::*;

use super::store::{as_index_owner, current_config, lock, try_lock, Lock};
use super::{FAN_IN, INLINE_MERGE_MAX_DOCS};

/// Whether writes start background merges (`specstar.search_background_merge`).
pub(super) static ENABLED: pgrx::GucSetting<bool> = pgrx::GucSetting::<bool>::new(true);

/// The local transaction that last started workers, and for which specs (at most one start
/// per spec and transaction). A plain static, not a thread-local: the backend has one thread,
/// and the library's static TLS block is nearly full (mimalloc's), which dlopen refuses past.
static STARTED: std::sync::Mutex<(u32, Vec<String>)> = std::sync::Mutex::new((0, Vec::new()));

/// The largest segment a merge writes (a `bytea` holds at most 1 GB, and a merge holds its
/// output about three times in memory): segments past half of it are not merged again.
const MERGE_MAX_BYTES: i64 = 512 << 20;

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
    let started = |s: &(u32, Vec<String>)| s.0 == lxid && s.1.iter().any(|x| x == spec);
    if started(&STARTED.lock().unwrap_or_else(|e| e.into_inner())) {
        return;
    }
    if !try_lock(Lock::Worker, spec) {
        // a worker runs (it holds the lock for its life): it merges what is full
        return;
    }
    {
        let mut s = STARTED.lock().unwrap_or_else(|e| e.into_inner());
        if s.0 != lxid {
            *s = (lxid, Vec::new());
        }
        s.1.push(spec.to_string());
    }
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

unsafe extern "C-unwind" {
    /// PostgreSQL's SIGTERM handler for backends (sets ProcDiePending and the latch).
    #[link_name = "die"]
    fn postgres_die(signal: std::ffi::c_int);
}

/// The worker's niceness: merging is background work, and on a busy server the writers it
/// merges for should have the CPU first (it holds no lock a writer waits for: writes only
/// try the merge lock).
const NICE: std::ffi::c_int = 10;

/// The worker's main function: merges full levels of the spec's large segments until none is
/// left, then exits.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn specstar_search_merger(arg: pg_sys::Datum) {
    // SIGTERM (pg_terminate_backend, shutdown) as for any backend: the next interrupt check
    // ends the worker, waits for locks included
    unsafe {
        pg_sys::pqsignal(pg_sys::SIGTERM as i32, Some(postgres_die));
        pg_sys::BackgroundWorkerUnblockSignals();
        libc::setpriority(libc::PRIO_PROCESS, 0, NICE);
    }
    let db = pg_sys::Oid::from(arg.value() as u32);
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(db), None);
    let spec = BackgroundWorker::get_extra().to_string();
    // merges need READ COMMITTED and writes, whatever the database's or role's defaults say
    // (set for the session, before its first transaction)
    unsafe {
        let (user, session) = (pg_sys::GucContext::PGC_USERSET, pg_sys::GucSource::PGC_S_SESSION);
        pg_sys::SetConfigOption(c"default_transaction_isolation".as_ptr(), c"read committed".as_ptr(), user, session);
        pg_sys::SetConfigOption(c"default_transaction_read_only".as_ptr(), c"off".as_ptr(), user, session);
    }
    // wait for the write that started us: its transaction holds the lock until it ends (as the
    // index's owner, search_path pinned, like every statement of the worker)
    BackgroundWorker::transaction(|| as_index_owner(|| lock(Lock::Worker, &spec, true)));
    while BackgroundWorker::transaction(|| merge_one_level(&spec)) {}
    // the merged inputs' shared files, and those of dropped or rebuilt indexes, a minute
    // after they were last written
    BackgroundWorker::transaction(|| as_index_owner(|| super::index::sweep_shared_dir(60)));
}

/// One full level of large segments merged, in this transaction; false when none is full.
fn merge_one_level(spec: &str) -> bool {
    pgrx::check_for_interrupts!();
    let Some(config) = current_config(spec) else { return false };
    as_index_owner(|| {
        lock(Lock::Merge, spec, false);
        let sizes: Vec<(String, u32, i64)> =
            super::store::row_sizes(spec).into_iter().filter(|s| !s.2).map(|s| (s.0, s.1, s.3)).collect();
        let mergeable: Vec<(String, u32)> =
            sizes.iter().filter(|s| s.2 <= MERGE_MAX_BYTES / 2).map(|s| (s.0.clone(), s.1)).collect();
        let mut inputs = full_level(&mergeable);
        // the smallest first, while the merged segment stays under MERGE_MAX_BYTES
        inputs.sort_by_key(|id| sizes.iter().find(|s| &s.0 == id).map_or(0, |s| s.2));
        let mut total = 0;
        inputs.retain(|id| {
            total += sizes.iter().find(|s| &s.0 == id).map_or(0, |s| s.2);
            total <= MERGE_MAX_BYTES
        });
        if inputs.len() < 2 {
            return false;
        }
        super::index::merge(spec, &config, Some(inputs));
        true
    })
}
