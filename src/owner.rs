//! The one way specstar's Rust code runs SQL: with `search_path` pinned to
//! `pg_catalog, pg_temp`, and — where it needs more rights than its caller — as the owner of
//! the objects it works on, the way `SECURITY DEFINER ... SET search_path` runs a function.
//!
//! Why both: SQL runs under the session's `search_path` unless told otherwise, and `pg_temp`
//! comes first there for types and tables. A caller who creates `pg_temp.text` (a domain
//! whose CHECK calls their function) or puts their own operators ahead of `pg_catalog`
//! would otherwise run code in specstar's statements — with the owner's rights when those
//! statements run as the owner (a role with no grants became superuser that way), or make
//! the revision trigger read the wrong spec version with their own.
//!
//! Both switches are undone on the way out, and by PostgreSQL itself when an error aborts
//! the (sub)transaction: `AtEOXact_GUC` restores the GUC nest level and the transaction's
//! abort restores the user id and security context.

use pgrx::pg_sys;

thread_local! {
    /// (catalog generation, owner of specstar's own tables)
    static EXTENSION_OWNER: std::cell::Cell<Option<(pg_sys::Oid, pg_sys::Oid)>> = const { std::cell::Cell::new(None) };
}

/// The owner of specstar's own tables (the catalog, the search index): the role that
/// created the extension. Cached per catalog generation (see spec_info.rs).
pub fn extension_owner() -> pg_sys::Oid {
    let generation = crate::spec_info::generation();
    if let Some((g, oid)) = EXTENSION_OWNER.with(|o| o.get()) {
        if g == generation {
            return oid;
        }
    }
    let oid = unsafe {
        let relid = pg_sys::get_relname_relid(c"spec_versions".as_ptr(), pg_sys::get_namespace_oid(c"specstar".as_ptr(), false));
        let tuple = pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::RELOID as i32, pg_sys::Datum::from(relid));
        if tuple.is_null() {
            pgrx::error!("specstar: specstar.spec_versions is missing");
        }
        let owner = (*(pg_sys::GETSTRUCT(tuple) as *const pg_sys::FormData_pg_class)).relowner;
        pg_sys::ReleaseSysCache(tuple);
        owner
    };
    EXTENSION_OWNER.with(|o| o.set(Some((generation, oid))));
    oid
}

/// `search_path` for everything specstar runs (see ddl::PINNED_SEARCH_PATH).
const SEARCH_PATH: &std::ffi::CStr = c"pg_catalog, pg_temp";

/// Runs `f` with `search_path` pinned, under the caller's rights.
pub fn pinned<R>(f: impl FnOnce() -> R) -> R {
    unsafe {
        let nest = pin_search_path();
        let out = f();
        pg_sys::AtEOXact_GUC(true, nest);
        out
    }
}

/// Runs `f` with the rights of `owner` and `search_path` pinned. The security context is
/// restricted as for maintenance commands (no SET ROLE, no temporary objects): nothing `f`
/// runs can keep the owner's rights beyond it.
pub fn as_owner<R>(owner: pg_sys::Oid, f: impl FnOnce() -> R) -> R {
    unsafe {
        let (mut user, mut context) = (pg_sys::Oid::INVALID, 0);
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        let nest = pin_search_path();
        let switched = context | (pg_sys::SECURITY_LOCAL_USERID_CHANGE | pg_sys::SECURITY_RESTRICTED_OPERATION) as i32;
        pg_sys::SetUserIdAndSecContext(owner, switched);
        let out = f();
        pg_sys::SetUserIdAndSecContext(user, context);
        pg_sys::AtEOXact_GUC(true, nest);
        out
    }
}

/// A new GUC nest level with `search_path` set in it (what a function's `SET` clause does);
/// returns the level to close with `AtEOXact_GUC`.
unsafe fn pin_search_path() -> i32 {
    unsafe {
        let nest = pg_sys::NewGUCNestLevel();
        pg_sys::set_config_option(
            c"search_path".as_ptr(),
            SEARCH_PATH.as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
        nest
    }
}
