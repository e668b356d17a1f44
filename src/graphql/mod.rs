//! The GraphQL endpoint's Rust half (docs/graphql.md): `specstar._graphql_plan` turns a
//! request into a plan — the answer itself when no database work is needed (errors,
//! introspection), else one SQL statement per root field — and `specstar._graphql` (PL/pgSQL,
//! sql/graphql.sql) runs it with the caller's rights. The schema is built from the specs
//! of the API schema and the calling role's privileges, and cached per backend. After any
//! invalidation that could change it (a relation, a function or a role membership changed),
//! the next request runs one catalog query to check that neither a spec nor a grant changed;
//! otherwise a request touches no catalog.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use pgrx::prelude::*;
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting, JsonB};
use serde_json::json;
use specstar_core::descriptor::Descriptor;
use specstar_graphql::plan::{plan, Request, Settings};
use specstar_graphql::{ApiSchema, Catalog, SpecAccess};

use crate::json::Json;

static MAX_ROWS: GucSetting<i32> = GucSetting::<i32>::new(30);
static INTROSPECTION: GucSetting<bool> = GucSetting::<bool>::new(true);

pub fn register_settings() {
    GucRegistry::define_int_guc(
        c"specstar.graphql_max_rows",
        c"The most rows one GraphQL list returns.",
        c"first, last and the default page size are capped at this, silently. Only superusers can change it.",
        &MAX_ROWS,
        1,
        10_000,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"specstar.graphql_introspection",
        c"Whether GraphQL introspection (__schema, __type) answers.",
        c"Only superusers can change it.",
        &INTROSPECTION,
        GucContext::Suset,
        GucFlags::default(),
    );
}

/// The verbs of a spec's RPC functions, as the catalog names them.
const VERBS: &[&str] = &["at", "as_of", "diff", "search", "rollback", "restore", "patch", "publish", "discard"];

/// What a role may do with the specs of one API schema: the rows of the fingerprint query
/// (spec, version id, privileges), in name order.
type Fingerprint = Vec<(String, i64, Vec<String>)>;

struct Cached {
    generation: pg_sys::Oid,
    fingerprint: Fingerprint,
    /// the invalidation epoch at which the fingerprint was last found unchanged
    epoch: u64,
    schema: Rc<ApiSchema>,
}

thread_local! {
    /// (role, api schema) → its schema
    static CACHE: RefCell<HashMap<(u32, String), Cached>> = RefCell::new(HashMap::new());
    /// Counts the catalog invalidations this backend received that may change a schema: of
    /// any relation (a view created, altered, dropped or granted), function, or role
    /// membership. A cached schema checked at the current epoch is used without a query.
    static EPOCH: Cell<u64> = const { Cell::new(1) };
    static WATCHING: Cell<bool> = const { Cell::new(false) };
}

unsafe extern "C-unwind" fn relation_changed(_arg: pg_sys::Datum, _relid: pg_sys::Oid) {
    EPOCH.with(|e| e.set(e.get().wrapping_add(1)));
}

unsafe extern "C-unwind" fn catalog_changed(_arg: pg_sys::Datum, _cache: std::ffi::c_int, _hash: u32) {
    EPOCH.with(|e| e.set(e.get().wrapping_add(1)));
}

/// Registers the invalidation callbacks, once per backend.
fn watch_catalog() {
    if WATCHING.with(|w| w.replace(true)) {
        return;
    }
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(Some(relation_changed), pg_sys::Datum::from(0));
        for cache in [pg_sys::SysCacheIdentifier::PROCOID, pg_sys::SysCacheIdentifier::AUTHMEMROLEMEM, pg_sys::SysCacheIdentifier::AUTHOID] {
            pg_sys::CacheRegisterSyscacheCallback(cache as i32, Some(catalog_changed), pg_sys::Datum::from(0));
        }
    }
}

/// Most (role, api schema) schemas one backend keeps.
const CACHE_ENTRIES: usize = 32;

/// For each spec of `api`: its version id and the privileges `role` holds on its views
/// (`<relation>:<PRIVILEGE>`) and functions (`<function>`).
const FINGERPRINT_SQL: &str = "\
SELECT s.name, s.current_vid, ARRAY(
  SELECT c.relname::text || ':' || k.privilege
    FROM pg_catalog.pg_class c CROSS JOIN pg_catalog.unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS k(privilege)
   WHERE c.relnamespace = n.oid AND c.relname = ANY (ARRAY[s.name, s.name || '_revision', s.name || '_draft']::name[])
     AND pg_catalog.has_table_privilege($2, c.oid, k.privilege)
  UNION ALL
  SELECT f.proname::text FROM pg_catalog.pg_proc f
   WHERE f.pronamespace = n.oid AND f.proname = ANY (ARRAY(SELECT s.name || '_' || v FROM pg_catalog.unnest($3::text[]) AS v)::name[])
     AND pg_catalog.has_function_privilege($2, f.oid, 'EXECUTE')
  ORDER BY 1)
FROM specstar.spec s JOIN pg_catalog.pg_namespace n ON n.nspname = s.api_schema
WHERE s.api_schema = $1 ORDER BY s.name";

fn fingerprint(api: &str, role: pg_sys::Oid) -> Fingerprint {
    let verbs: Vec<String> = VERBS.iter().map(|v| v.to_string()).collect();
    Spi::connect(|client| {
        let mut out = vec![];
        for row in client.select(FINGERPRINT_SQL, None, &[api.into(), role.into(), verbs.into()])? {
            out.push((
                row.get::<String>(1)?.unwrap_or_default(),
                row.get::<i64>(2)?.unwrap_or_default(),
                row.get::<Vec<String>>(3)?.unwrap_or_default(),
            ));
        }
        Ok::<_, pgrx::spi::Error>(out)
    })
    .unwrap_or_else(|e| error!("specstar graphql: cannot read the catalog: {e}"))
}

fn descriptor(vid: i64) -> Descriptor {
    let d = crate::spi_read::one::<JsonB>("SELECT v.descriptor FROM specstar.spec_versions v WHERE v.vid = $1", &[vid.into()])
        .unwrap_or_else(|e| error!("specstar graphql: cannot read spec version {vid}: {e}"))
        .unwrap_or_else(|| error!("specstar graphql: spec version {vid} is missing"));
    Descriptor::from_json(&d.0).unwrap_or_else(|e| error!("specstar graphql: {e}"))
}

/// The catalog a fingerprint describes: the specs the role may read, with what it may do.
fn catalog(api: &str, fp: &Fingerprint) -> Catalog {
    let specs = fp
        .iter()
        .filter(|(name, _, privileges)| privileges.contains(&format!("{name}:SELECT")))
        .map(|(name, vid, privileges)| {
            let has = |p: String| privileges.contains(&p);
            SpecAccess {
                descriptor: descriptor(*vid),
                insert: has(format!("{name}:INSERT")),
                update: has(format!("{name}:UPDATE")),
                delete: has(format!("{name}:DELETE")),
                revisions: has(format!("{name}_revision:SELECT")),
                drafts_read: has(format!("{name}_draft:SELECT")),
                drafts_write: has(format!("{name}_draft:INSERT")) && has(format!("{name}_draft:UPDATE")),
                functions: VERBS.iter().filter(|v| has(format!("{name}_{v}"))).map(|v| v.to_string()).collect::<BTreeSet<_>>(),
            }
        })
        .collect();
    Catalog { api_schema: api.to_string(), specs }
}

/// The schema of `api` for the current role, from the cache when nothing changed.
pub(crate) fn schema(api: &str) -> Rc<ApiSchema> {
    watch_catalog();
    let role = unsafe { pg_sys::GetUserId() };
    let generation = crate::spec_info::generation();
    let key = (u32::from(role), api.to_string());
    // read before the query: an invalidation that arrives during it is seen next time
    let epoch = EPOCH.with(|e| e.get());
    let current = |e: &Cached| e.generation == generation && e.epoch == epoch;
    if let Some(s) = CACHE.with(|c| c.borrow().get(&key).filter(|e| current(e)).map(|e| e.schema.clone())) {
        return s;
    }
    let owner = crate::owner::extension_owner();
    let fp = crate::owner::as_owner(owner, || fingerprint(api, role));
    let unchanged = CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let e = c.get_mut(&key).filter(|e| e.generation == generation && e.fingerprint == fp)?;
        e.epoch = epoch;
        Some(e.schema.clone())
    });
    if let Some(s) = unchanged {
        return s;
    }
    let catalog = crate::owner::as_owner(owner, || catalog(api, &fp));
    let built = Rc::new(ApiSchema::build(catalog).unwrap_or_else(|e| error!("specstar graphql: {e}")));
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_ENTRIES && !c.contains_key(&key) {
            c.clear();
        }
        c.insert(key, Cached { generation, fingerprint: fp, epoch, schema: built.clone() });
    });
    built
}

/// Plans a GraphQL request against the schema of `api_schema` for the current role. Never
/// raises for anything a client sends: errors are part of the plan's response.
#[pg_extern(name = "_graphql_plan", volatile, parallel_unsafe)]
fn graphql_plan(
    api_schema: &str,
    query: Option<&str>,
    variables: Option<Json>,
    operation_name: Option<&str>,
    method: Option<&str>,
) -> JsonB {
    let variables = match variables.map(|v| v.0) {
        Some(Err(_)) => {
            return JsonB(json!({"response": {"errors": [{"message": "variables nest too deeply", "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]}}))
        }
        Some(Ok(v)) => Some(v),
        None => None,
    };
    let api = schema(api_schema);
    let request = Request { query, variables: variables.as_ref(), operation_name, method };
    let settings = Settings { max_rows: i64::from(MAX_ROWS.get()), introspection: INTROSPECTION.get() };
    let outcome = plan(&api, &request, settings);
    JsonB(serde_json::to_value(&outcome).unwrap_or_else(|e| json!({"response": {"errors": [{"message": e.to_string()}]}})))
}

/// The SDL of `api_schema` as the current role sees it.
#[pg_extern(name = "_graphql_sdl", stable, parallel_restricted)]
fn graphql_sdl(api_schema: &str) -> String {
    schema(api_schema).sdl.clone()
}
