//! What the revision trigger needs to know about a spec's table, loaded once per backend and
//! spec version: which columns are the spec's properties (and their types), where the system
//! columns are, the compiled validator and the saved plans that write the history.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CStr;
use std::rc::Rc;

use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use pgrx::JsonB;
use specstar_core::document::DocValidator;

use crate::datum_json::ColumnType;

/// A spec property's column.
pub struct SpecColumn {
    pub name: String,
    /// index into the deformed tuple (attnum - 1)
    pub index: usize,
    pub ty: ColumnType,
}

/// Indexes (attnum - 1) of the columns specstar maintains.
pub struct SystemColumns {
    pub id: usize,
    pub revision: usize,
    pub created_at: usize,
    pub created_by: usize,
    pub updated_at: usize,
    pub updated_by: usize,
    pub parent: usize,
    pub op: usize,
    pub message: usize,
    /// the spec version the current revision was written under
    pub version: usize,
}

pub struct SpecInfo {
    pub name: String,
    pub vid: i64,
    pub version: String,
    /// Owner of the spec's tables: history is written with its rights.
    pub owner: Oid,
    pub natts: usize,
    pub columns: Vec<SpecColumn>,
    pub sys: SystemColumns,
    pub validator: Rc<DocValidator>,
    /// The history table, written directly (heap + indexes) when all its indexes are plain.
    pub history: Oid,
    /// Otherwise through this saved plan: INSERT INTO <history> VALUES ($1 .. $12).
    pub insert_history: Option<pg_sys::SPIPlanPtr>,
    /// the newest stored revision of an id
    pub latest_revision: pg_sys::SPIPlanPtr,
    /// locks the live row of an id (waits for a concurrent delete of it to finish)
    pub lock_live: pg_sys::SPIPlanPtr,
}

thread_local! {
    static CACHE: RefCell<HashMap<Oid, Rc<SpecInfo>>> = RefCell::new(HashMap::new());
}

pub const HISTORY_ARG_TYPES: [Oid; 12] = [
    pg_sys::UUIDOID,        // id
    pg_sys::INT4OID,        // revision
    pg_sys::INT4OID,        // parent_revision
    pg_sys::TEXTOID,        // op
    pg_sys::JSONBOID,       // data
    pg_sys::TEXTOID,        // schema_version
    pg_sys::TIMESTAMPTZOID, // valid_from
    pg_sys::TIMESTAMPTZOID, // valid_to
    pg_sys::TEXTOID,        // changed_by
    pg_sys::TEXTOID,        // message
    pg_sys::TIMESTAMPTZOID, // created_at
    pg_sys::TEXTOID,        // created_by
];

/// The spec info for the trigger's relation, (re)loaded when the spec version changed.
pub unsafe fn get(rel: pg_sys::Relation, spec: &str, vid: i64) -> Rc<SpecInfo> {
    let relid = unsafe { (*rel).rd_id };
    if let Some(info) = CACHE.with(|c| c.borrow().get(&relid).cloned()) {
        if info.vid == vid && info.natts == unsafe { (*(*rel).rd_att).natts } as usize {
            return info;
        }
    }
    let info = Rc::new(unsafe { load(rel, spec, vid) });
    CACHE.with(|c| c.borrow_mut().insert(relid, info.clone()));
    info
}

unsafe fn attr_names(rel: pg_sys::Relation) -> Vec<Option<String>> {
    unsafe {
        let tupdesc = (*rel).rd_att;
        let natts = (*tupdesc).natts as usize;
        (*tupdesc)
            .attrs
            .as_slice(natts)
            .iter()
            .map(|a| {
                if a.attisdropped {
                    None
                } else {
                    Some(CStr::from_ptr(a.attname.data.as_ptr()).to_string_lossy().into_owned())
                }
            })
            .collect()
    }
}

unsafe fn load(rel: pg_sys::Relation, spec: &str, vid: i64) -> SpecInfo {
    unsafe {
        // The trigger may only run on the live table of the spec it names.
        let relname = CStr::from_ptr((*(*rel).rd_rel).relname.data.as_ptr()).to_string_lossy().into_owned();
        let nsp = CStr::from_ptr(pg_sys::get_namespace_name((*(*rel).rd_rel).relnamespace)).to_string_lossy().into_owned();
        if nsp != specstar_core::ddl::DATA_SCHEMA || relname != spec {
            error!("specstar._revision_trigger belongs on specstar_data.{spec}, not on {nsp}.{relname}");
        }
        let (version, descriptor) = Spi::get_two_with_args::<String, JsonB>(
            "SELECT version, descriptor FROM specstar.spec_versions WHERE vid = $1 AND spec = $2",
            &[vid.into(), spec.into()],
        )
        .unwrap_or_else(|e| error!("specstar: cannot read spec version {vid}: {e}"));
        let version = version.unwrap_or_else(|| error!("specstar: spec {spec} has no version {vid}"));
        let descriptor = descriptor.expect("descriptor is NOT NULL").0;
        let names = attr_names(rel);
        let index_of = |col: &str| -> usize {
            names
                .iter()
                .position(|n| n.as_deref() == Some(col))
                .unwrap_or_else(|| error!("specstar: column {col} is missing from specstar_data.{spec}"))
        };
        let tupdesc = (*rel).rd_att;
        let attrs = (*tupdesc).attrs.as_slice((*tupdesc).natts as usize);
        let columns = descriptor["properties"]
            .as_array()
            .map(|props| {
                props
                    .iter()
                    .filter_map(|p| p["name"].as_str())
                    .map(|name| {
                        let index = index_of(name);
                        SpecColumn { name: name.to_string(), index, ty: ColumnType::of(attrs[index].atttypid) }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let sys = SystemColumns {
            id: index_of("id"),
            revision: index_of("revision"),
            created_at: index_of("created_at"),
            created_by: index_of("created_by"),
            updated_at: index_of("updated_at"),
            updated_by: index_of("updated_by"),
            parent: index_of("_parent"),
            op: index_of("_op"),
            message: index_of("_message"),
            version: index_of("_version"),
        };
        let validator = crate::validator_cache::load(vid).unwrap_or_else(|e| error!("specstar: {e}"));
        let history = specstar_core::names::qualified(specstar_core::ddl::DATA_SCHEMA, &format!("{spec}_revision"));
        let history_oid = {
            let name = std::ffi::CString::new(format!("{spec}_revision")).expect("no NUL");
            pg_sys::get_relname_relid(name.as_ptr(), (*(*rel).rd_rel).relnamespace)
        };
        if history_oid == Oid::INVALID {
            error!("specstar: {history} is missing");
        }
        // Writing heap and indexes directly skips the executor; it needs the table as
        // specstar made it (these columns, in this order) and indexes without expressions,
        // predicates or deferred checks. Anything else goes through SQL.
        let direct = Spi::get_one_with_args::<bool>(
            "SELECT (SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute \
                      WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped) \
                    = ARRAY['id', 'revision', 'parent_revision', 'op', 'data', 'schema_version', 'valid_from', \
                            'valid_to', 'changed_by', 'message', 'created_at', 'created_by'] \
                AND NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = $1 AND attisdropped) \
                AND NOT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = $1 \
                                 AND (indexprs IS NOT NULL OR indpred IS NOT NULL OR NOT indimmediate OR indisexclusion))",
            &[history_oid.into()],
        )
        .ok()
        .flatten()
        .unwrap_or(false);
        // Fully qualified, operators included: these plans run with the owner's rights.
        let insert_history = (!direct).then(|| prepare(
            &format!(
                "INSERT INTO {history} (id, revision, parent_revision, op, data, schema_version, valid_from, valid_to, \
                 changed_by, message, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ),
            &HISTORY_ARG_TYPES,
        ));
        let latest_revision = prepare(
            &format!(
                "SELECT h.revision, h.valid_from, h.created_at, h.created_by FROM {history} h \
                 WHERE h.id OPERATOR(pg_catalog.=) $1 ORDER BY h.revision DESC LIMIT 1"
            ),
            &[pg_sys::UUIDOID],
        );
        let lock_live = prepare(
            &format!(
                "SELECT 1 FROM {} t WHERE t.id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
                specstar_core::names::qualified(specstar_core::ddl::DATA_SCHEMA, spec)
            ),
            &[pg_sys::UUIDOID],
        );
        SpecInfo {
            name: spec.to_string(),
            vid,
            version,
            owner: (*(*rel).rd_rel).relowner,
            natts: (*tupdesc).natts as usize,
            columns,
            sys,
            validator,
            history: history_oid,
            insert_history,
            latest_revision,
            lock_live,
        }
    }
}

/// SPI_prepare + SPI_keepplan: a plan that lives as long as the backend.
unsafe fn prepare(sql: &str, types: &[Oid]) -> pg_sys::SPIPlanPtr {
    unsafe {
        let c = std::ffi::CString::new(sql).expect("no NUL in generated SQL");
        let mut types = types.to_vec();
        if pg_sys::SPI_connect() != pg_sys::SPI_OK_CONNECT as i32 {
            error!("specstar: SPI_connect failed");
        }
        let plan = pg_sys::SPI_prepare(c.as_ptr(), types.len() as i32, types.as_mut_ptr());
        if plan.is_null() {
            error!("specstar: cannot prepare {sql}");
        }
        pg_sys::SPI_keepplan(plan);
        pg_sys::SPI_finish();
        plan
    }
}
