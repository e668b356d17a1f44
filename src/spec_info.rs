//! What the revision trigger needs to know about a spec's table, loaded once per backend and
//! spec version: which columns are the spec's properties (and their types), where the system
//! columns are, the compiled validator, the saved plans that write the history, and which
//! functions label their writes.
//!
//! Cached by the table's OID and checked against the trigger's version id and the catalog's
//! generation (the OID of schema `specstar_data`, new with every CREATE EXTENSION: version
//! ids start again at 1 in a re-created catalog, so a version id alone could name another
//! spec's version in a session that outlived the re-creation).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CStr;
use std::rc::Rc;

use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use pgrx::JsonB;
use specstar_core::ddl::{history, Objects, DATA_SCHEMA};
use specstar_core::descriptor::Descriptor;
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

/// What the revision trigger knows about a job spec's job columns (docs/jobs.md).
pub struct JobInfo {
    /// tuple index of each of `specstar_core::jobs::COLUMNS`
    pub col: Vec<usize>,
    /// the same columns with their types, for documents
    pub columns: Vec<SpecColumn>,
    /// the default of max_attempts (options.job.max_attempts)
    pub max_attempts: i32,
}

pub struct SpecInfo {
    pub name: String,
    pub vid: i64,
    /// the revision trigger this was loaded for: a change of behaviour options rebuilds the
    /// spec's triggers and functions under the same version id (new OIDs for `labelled`)
    pub trigger: Oid,
    /// the catalog generation this was loaded from (see the module doc)
    pub generation: Oid,
    pub version: String,
    /// Owner of the spec's tables: history is written with its rights.
    pub owner: Oid,
    pub natts: usize,
    /// each attribute's type and whether it is dropped: a changed table needs a new load
    pub shape: Vec<(Oid, bool)>,
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
    /// columns that are neither properties nor specstar's: (index, name, type)
    pub other_columns: Vec<(usize, String, ColumnType)>,
    /// the generated functions whose writes carry their own operation label
    pub labelled: Vec<(Oid, &'static str)>,
    /// a job spec's job columns
    pub job: Option<JobInfo>,
}

impl SpecInfo {
    /// The label of the write under way when one of the spec's own `_rollback`,
    /// `_restore` or `_publish` functions is doing it (see caller.rs).
    pub fn writer_op(&self) -> Option<&'static str> {
        self.writer_op_at(0)
    }

    /// The same, for a caller `outward` PL/pgSQL frames out (a hook trigger asks from inside
    /// its own frame).
    pub fn writer_op_at(&self, outward: usize) -> Option<&'static str> {
        let oid = crate::caller::plpgsql_function_at(outward)?;
        self.labelled.iter().find(|(f, _)| *f == oid).map(|(_, op)| *op)
    }
}

/// `specstar._hook_op(table, op)`: the operation a spec's before-write hooks are told about,
/// asked by its hooks trigger (PL/pgSQL) for the row being written to `table`: `op` (create,
/// update, delete), or rollback, restore or publish when the spec's own function of that
/// name is writing — recognised as the revision trigger does, never from anything a session
/// can set.
#[pgrx::pg_extern(name = "_hook_op", stable)]
fn hook_op(table: Oid, op: &str) -> String {
    unsafe {
        let rel = pg_sys::RelationIdGetRelation(table);
        if rel.is_null() {
            return op.to_string();
        }
        let mut label = None;
        let td = (*rel).trigdesc;
        if !td.is_null() {
            let triggers = std::slice::from_raw_parts((*td).triggers, (*td).numtriggers as usize);
            if let Some(t) = triggers.iter().find(|t| CStr::from_ptr(t.tgname) == c"specstar_before_insert" && t.tgnargs == 2) {
                let args = std::slice::from_raw_parts(t.tgargs, 2);
                let spec = CStr::from_ptr(args[0]).to_string_lossy().into_owned();
                if let Ok(vid) = CStr::from_ptr(args[1]).to_string_lossy().parse::<i64>() {
                    // (frame 0 is the hooks trigger itself; the writer is the one outside it)
                    label = get(rel, &spec, vid).writer_op_at(1);
                }
            }
        }
        pg_sys::RelationClose(rel);
        label.unwrap_or(op).to_string()
    }
}

thread_local! {
    static CACHE: RefCell<HashMap<Oid, Rc<SpecInfo>>> = RefCell::new(HashMap::new());
}

/// The type OID of each history column (specstar_core::ddl::history::COLUMNS).
fn history_arg_types() -> Vec<Oid> {
    history::COLUMNS
        .iter()
        .map(|(_, ty)| match *ty {
            "uuid" => pg_sys::UUIDOID,
            "integer" => pg_sys::INT4OID,
            "text" => pg_sys::TEXTOID,
            "jsonb" => pg_sys::JSONBOID,
            "timestamptz" => pg_sys::TIMESTAMPTZOID,
            other => error!("specstar: no type OID for history type {other}"),
        })
        .collect()
}

/// The catalog's generation: the OID of schema specstar_data (see the module doc).
pub fn generation() -> Oid {
    unsafe { pg_sys::get_namespace_oid(c"specstar_data".as_ptr(), false) }
}

/// The spec info for the trigger's relation, (re)loaded when the spec version changed.
pub unsafe fn get(rel: pg_sys::Relation, spec: &str, vid: i64) -> Rc<SpecInfo> {
    let relid = unsafe { (*rel).rd_id };
    let trigger = unsafe { behaviour_mark(rel) };
    let generation = unsafe { (*(*rel).rd_rel).relnamespace };
    if let Some(info) = CACHE.with(|c| c.borrow().get(&relid).cloned()) {
        if info.vid == vid && info.trigger == trigger && info.generation == generation && unsafe { same_shape(&info.shape, rel) } {
            return info;
        }
    }
    let owner = unsafe { (*(*rel).rd_rel).relowner };
    let info = Rc::new(crate::owner::as_owner(owner, || unsafe { load(rel, spec, vid, trigger) }));
    CACHE.with(|c| c.borrow_mut().insert(relid, info.clone()));
    info
}

/// Whether the table still has the attributes `shape` was taken from (compared in place:
/// this runs for every row written).
unsafe fn same_shape(shape: &[(Oid, bool)], rel: pg_sys::Relation) -> bool {
    unsafe {
        let tupdesc = (*rel).rd_att;
        let attrs = (*tupdesc).attrs.as_slice((*tupdesc).natts as usize);
        attrs.len() == shape.len() && attrs.iter().zip(shape).all(|(a, s)| (a.atttypid, a.attisdropped) == *s)
    }
}

unsafe fn shape(rel: pg_sys::Relation) -> Vec<(Oid, bool)> {
    unsafe {
        let tupdesc = (*rel).rd_att;
        (*tupdesc).attrs.as_slice((*tupdesc).natts as usize).iter().map(|a| (a.atttypid, a.attisdropped)).collect()
    }
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

/// Loads what the trigger needs, as the table's owner with `search_path` pinned (the caller
/// of `get` switches): the plans prepared here are run the same way, so they never need to
/// be planned again under another path.
/// The OID of the spec's revision trigger on `rel` (relation cache, no query): every
/// rebuild of the spec's behaviour creates it anew.
unsafe fn behaviour_mark(rel: pg_sys::Relation) -> Oid {
    unsafe {
        let td = (*rel).trigdesc;
        if td.is_null() {
            return Oid::INVALID;
        }
        std::slice::from_raw_parts((*td).triggers, (*td).numtriggers as usize)
            .iter()
            .find(|t| CStr::from_ptr(t.tgname) == c"specstar_before_insert")
            .map_or(Oid::INVALID, |t| t.tgoid)
    }
}

unsafe fn load(rel: pg_sys::Relation, spec: &str, vid: i64, trigger: Oid) -> SpecInfo {
    unsafe {
        // The trigger may only run on the live table of the spec it names.
        let relname = CStr::from_ptr((*(*rel).rd_rel).relname.data.as_ptr()).to_string_lossy().into_owned();
        let nsp = CStr::from_ptr(pg_sys::get_namespace_name((*(*rel).rd_rel).relnamespace)).to_string_lossy().into_owned();
        if nsp != DATA_SCHEMA || relname != spec {
            error!("specstar._revision_trigger belongs on specstar_data.{spec}, not on {nsp}.{relname}");
        }
        let (version, descriptor) = crate::spi_read::two::<String, JsonB>(
            "SELECT v.version, v.descriptor FROM specstar.spec_versions v WHERE v.vid = $1 AND v.spec = $2",
            &[vid.into(), spec.into()],
        )
        .unwrap_or_else(|e| error!("specstar: cannot read spec version {vid}: {e}"));
        let version = version.unwrap_or_else(|| error!("specstar: spec {spec} has no version {vid}"));
        let descriptor = Descriptor::from_json(&descriptor.expect("descriptor is NOT NULL").0).unwrap_or_else(|e| error!("specstar: {e}"));
        let names = attr_names(rel);
        let index_of = |col: &str| -> usize {
            names
                .iter()
                .position(|n| n.as_deref() == Some(col))
                .unwrap_or_else(|| error!("specstar: column {col} is missing from specstar_data.{spec}"))
        };
        let tupdesc = (*rel).rd_att;
        let attrs = (*tupdesc).attrs.as_slice((*tupdesc).natts as usize);
        let columns: Vec<SpecColumn> = descriptor
            .property_names()
            .map(|name| {
                let index = index_of(name);
                SpecColumn { name: name.to_string(), index, ty: ColumnType::of(attrs[index].atttypid) }
            })
            .collect();
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
        let job = descriptor.job.as_ref().map(|config| {
            let job_columns: Vec<SpecColumn> = specstar_core::jobs::COLUMNS
                .iter()
                .map(|c| {
                    let index = index_of(c.name);
                    SpecColumn { name: c.name.to_string(), index, ty: ColumnType::of(attrs[index].atttypid) }
                })
                .collect();
            JobInfo { col: job_columns.iter().map(|c| c.index).collect(), columns: job_columns, max_attempts: config.max_attempts }
        });
        let job_known: Vec<usize> = match &job {
            Some(j) => j.col.iter().copied().chain([index_of("_seq")]).collect(),
            None => Vec::new(),
        };
        let known: Vec<usize> = columns.iter().map(|c| c.index).chain(job_known).chain([
            sys.id, sys.revision, sys.created_at, sys.created_by, sys.updated_at, sys.updated_by, sys.parent, sys.op, sys.message, sys.version,
        ]).collect();
        let other_columns = names
            .iter()
            .enumerate()
            .filter(|(i, n)| n.is_some() && !known.contains(i))
            .map(|(i, n)| (i, n.clone().unwrap_or_default(), ColumnType::of(attrs[i].atttypid)))
            .collect();
        let validator = crate::validator_cache::load(vid).unwrap_or_else(|e| error!("specstar: {e}"));
        let history = specstar_core::ddl::sql::QualifiedName::new(DATA_SCHEMA, &format!("{spec}_revision"));
        let history_oid = {
            let name = std::ffi::CString::new(history.name.as_str()).expect("no NUL");
            pg_sys::get_relname_relid(name.as_ptr(), (*(*rel).rd_rel).relnamespace)
        };
        if history_oid == Oid::INVALID {
            error!("specstar: {history} is missing");
        }
        // Writing heap and indexes directly skips the executor; it needs the table as
        // specstar made it (these columns, in this order) and indexes without expressions,
        // predicates or deferred checks. Anything else goes through SQL.
        let expected: Vec<String> = history::COLUMNS.iter().map(|(n, _)| n.to_string()).collect();
        let direct = crate::spi_read::one::<bool>(
            "SELECT (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_catalog.pg_attribute a \
                      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped) = $2 \
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1 AND a.attisdropped) \
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = $1 \
                                 AND (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL OR NOT i.indimmediate OR i.indisexclusion))",
            &[history_oid.into(), expected.into()],
        )
        .ok()
        .flatten()
        .unwrap_or(false);
        let placeholders: Vec<String> = (1..=history::COLUMNS.len()).map(|i| format!("${i}")).collect();
        let insert_history = (!direct).then(|| {
            prepare(
                &format!("INSERT INTO {history} ({}) VALUES ({})", history::column_list(), placeholders.join(", ")),
                &history_arg_types(),
            )
        });
        let latest_revision = prepare(
            &format!(
                "SELECT h.revision, h.valid_from, h.created_at, h.created_by FROM {history} h \
                 WHERE h.id = $1 ORDER BY h.revision DESC LIMIT 1"
            ),
            &[pg_sys::UUIDOID],
        );
        let lock_live = prepare(
            &format!("SELECT 1 FROM {} t WHERE t.id = $1 FOR UPDATE", specstar_core::ddl::sql::QualifiedName::new(DATA_SCHEMA, spec)),
            &[pg_sys::UUIDOID],
        );
        // the generated functions that label their writes, found by their signatures, and
        // only while they belong to the table's owner or a superuser (whoever owns the API
        // schema could otherwise drop specstar's and put their own in its place)
        let objects = Objects::new(spec, &descriptor.api_schema);
        let owner = (*(*rel).rd_rel).relowner;
        let job_objects = specstar_core::ddl::jobs::JobObjects::new(spec, &descriptor.api_schema);
        let mut candidates = vec![(&objects.fn_rollback, "rollback"), (&objects.fn_restore, "restore"), (&objects.fn_publish, "publish")];
        if descriptor.job.is_some() {
            candidates.extend(job_objects.labelled());
        }
        let labelled = candidates
            .into_iter()
            .filter_map(|(f, op)| {
                crate::spi_read::one::<Oid>(
                    "SELECT p.oid FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_roles r ON r.oid = p.proowner \
                      WHERE p.oid = pg_catalog.to_regprocedure($1) AND (p.proowner = $2 OR r.rolsuper)",
                    &[f.signature().into(), owner.into()],
                )
                .ok()
                .flatten()
                .map(|oid| (oid, op))
            })
            .collect();
        SpecInfo {
            name: spec.to_string(),
            vid,
            trigger,
            generation: (*(*rel).rd_rel).relnamespace,
            version,
            owner: (*(*rel).rd_rel).relowner,
            natts: (*tupdesc).natts as usize,
            shape: shape(rel),
            columns,
            sys,
            validator,
            history: history_oid,
            insert_history,
            latest_revision,
            lock_live,
            other_columns,
            labelled,
            job,
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
