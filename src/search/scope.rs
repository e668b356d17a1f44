//! Which rows of a spec with access rules (docs/permissions.md) the caller may read, for
//! search, decided without a query where it can be: a rule that admits every row for the
//! caller (`all`, `authenticated` when signed in, `role:` when a member), only the caller's
//! own resources (then their ids come from one prepared statement on the owner index), or
//! nothing; `sql:` rules are left to the table's row-level security, row by row.
//!
//! The rules are read from the catalog once per backend for each creation of the spec's
//! `__read_scope()` function, which every change of the rules re-creates: its OID (a
//! system-cache lookup) keys the cache, so a change of rules is never missed.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString};

use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use specstar_core::ddl::sql::ident;
use specstar_core::options::{Access, Rule};

/// Which rows the caller may read.
pub(super) enum Scope {
    /// every row (a rule admits the caller's every row): hits are still checked
    All,
    /// only the caller's own resources, these ids: the search runs within them
    Own(Vec<String>),
    /// none
    Nothing,
    /// sql: rules decide row by row: candidates come in growing windows
    Rows,
}

/// The most own ids a search runs within; beyond, hits are checked in windows.
const MAX_OWN_IDS: i64 = 10_000;

struct Rules {
    read: Vec<Rule>,
    /// SELECT id FROM <table> WHERE <owner> = $1 LIMIT $2, prepared once
    own_ids: pgrx::spi::OwnedPreparedStatement,
}

thread_local! {
    static RULES: RefCell<HashMap<Oid, std::rc::Rc<Rules>>> = RefCell::new(HashMap::new());
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    error!("specstar search: {what}: {e}")
}

/// None: the spec has no access rules (its table has no row security).
pub(super) fn read_scope(spec: &str) -> Option<Scope> {
    if !row_security(spec) {
        return None;
    }
    let Some(key) = scope_function(spec) else { return Some(Scope::Rows) };
    let rules = match RULES.with(|r| r.borrow().get(&key).cloned()) {
        Some(r) => r,
        None => {
            let loaded = std::rc::Rc::new(load(spec));
            RULES.with(|r| r.borrow_mut().insert(key, loaded.clone()));
            loaded
        }
    };
    let actor = owner_actor();
    let user = unsafe { pg_sys::GetUserId() };
    let admits_all = rules.read.iter().any(|r| match r {
        Rule::All => true,
        Rule::Authenticated => actor.is_some(),
        Rule::Role(name) => member_of(user, name),
        Rule::Owner | Rule::Sql(_) => false,
    });
    if admits_all {
        return Some(Scope::All);
    }
    if rules.read.iter().any(|r| matches!(r, Rule::Sql(_))) {
        return Some(Scope::Rows);
    }
    let (true, Some(actor)) = (rules.read.contains(&Rule::Owner), actor) else { return Some(Scope::Nothing) };
    let ids = crate::owner::pinned(|| {
        Spi::connect(|client| {
            let mut out = Vec::new();
            for row in client.select(&rules.own_ids, None, &[actor.as_str().into(), (MAX_OWN_IDS + 1).into()])? {
                if let Some(id) = row.get::<String>(1)? {
                    out.push(id);
                }
            }
            Ok::<_, pgrx::spi::SpiError>(out)
        })
    })
    .unwrap_or_else(|e| fail("reading the caller's resources", e));
    Some(if ids.len() as i64 > MAX_OWN_IDS { Scope::Rows } else { Scope::Own(ids) })
}

/// The spec's read rules and owner column from the catalog, and the prepared statement.
fn load(spec: &str) -> Rules {
    let access = crate::owner::pinned(|| {
        crate::spi_read::one::<pgrx::JsonB>(
            "SELECT v.options OPERATOR(pg_catalog.->) 'access' FROM specstar.spec s \
               JOIN specstar.spec_versions v ON v.vid OPERATOR(pg_catalog.=) s.current_vid WHERE s.name OPERATOR(pg_catalog.=) $1",
            &[spec.into()],
        )
    })
    .unwrap_or_else(|e| fail("reading the access rules", e));
    let access: Access = access
        .and_then(|j| serde_json::from_value(j.0).ok())
        .unwrap_or_else(|| fail("reading the access rules", format!("spec {spec} has none")));
    let rules = access.rules().unwrap_or_else(|_| fail("reading the access rules", "they no longer parse"));
    let sql = format!(
        "SELECT t.id::pg_catalog.text FROM specstar_data.{} t WHERE t.{} OPERATOR(pg_catalog.=) $1 LIMIT $2",
        ident(spec),
        ident(&rules.owner)
    );
    let own_ids = crate::owner::pinned(|| {
        Spi::connect(|client| client.prepare(sql.as_str(), &[pg_sys::TEXTOID.into(), pg_sys::INT8OID.into()]).map(|s| s.keep()))
    })
    .unwrap_or_else(|e| fail("preparing the owner's ids", e));
    Rules { read: rules.read, own_ids }
}

/// The OID of `specstar_data.<spec>__read_scope()`, re-created with every change of rules.
fn scope_function(spec: &str) -> Option<Oid> {
    let schema = CString::new("specstar_data").ok()?;
    let name = CString::new(format!("{spec}__read_scope")).ok()?;
    unsafe {
        let list = pg_sys::list_make2_impl(
            pg_sys::NodeTag::T_List,
            pg_sys::ListCell { ptr_value: pg_sys::makeString(pg_sys::pstrdup(schema.as_ptr())) as *mut _ },
            pg_sys::ListCell { ptr_value: pg_sys::makeString(pg_sys::pstrdup(name.as_ptr())) as *mut _ },
        );
        let oid = pg_sys::LookupFuncName(list, 0, std::ptr::null(), true);
        (oid != pg_sys::InvalidOid).then_some(oid)
    }
}

/// Whether the current role is a member of `role` (pg_has_role(current_user, role, 'MEMBER')).
fn member_of(user: Oid, role: &str) -> bool {
    let Ok(name) = CString::new(role) else { return false };
    unsafe {
        let oid = pg_sys::get_role_oid(name.as_ptr(), true);
        oid != pg_sys::InvalidOid && pg_sys::is_member_of_role(user, oid)
    }
}

/// specstar._owner_actor(): the JWT sub when PostgREST set claims, the role in a direct
/// session, None for an anonymous request.
fn owner_actor() -> Option<String> {
    match crate::session::guc(c"request.jwt.claims") {
        None => unsafe {
            let p = pg_sys::GetUserNameFromId(pg_sys::GetUserId(), false);
            Some(CStr::from_ptr(p).to_string_lossy().into_owned())
        },
        Some(claims) => serde_json::from_str::<serde_json::Value>(&claims)
            .ok()?
            .get("sub")?
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    }
}

/// Whether the spec's table has row-level security on (from the relation cache: no query).
fn row_security(spec: &str) -> bool {
    let Ok(name) = CString::new(spec) else { return false };
    unsafe {
        let nsp = pg_sys::get_namespace_oid(c"specstar_data".as_ptr(), true);
        if nsp == pg_sys::InvalidOid {
            return false;
        }
        let relid = pg_sys::get_relname_relid(name.as_ptr(), nsp);
        if relid == pg_sys::InvalidOid {
            return false;
        }
        let rel = pg_sys::RelationIdGetRelation(relid);
        if rel.is_null() {
            return false;
        }
        let on = (*(*rel).rd_rel).relrowsecurity;
        pg_sys::RelationClose(rel);
        on
    }
}
