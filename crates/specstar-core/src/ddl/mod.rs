//! The SQL a spec generates, in two parts so that a spec can evolve:
//!
//! - **storage** ([`storage`]): the live table, the history and the drafts, with their
//!   columns, constraints and indexes — kept (and altered) when a spec evolves;
//! - **behaviour** ([`behaviour`]): triggers, API views, RPC functions, comments and grants —
//!   dropped and created again around every evolution, because they name the spec version
//!   and its columns.
//!
//! Pure generation from typed pieces (`sql`); `specstar.register_spec` executes the
//! statements in one transaction, with `search_path` pinned. Trigger and RPC bodies are
//! PL/pgSQL templates (`templates/*.sql`) so that the SQLSTATEs they raise reach clients
//! unchanged (no Rust frame between raise and client). Every generated PL/pgSQL function
//! pins `search_path = pg_catalog, pg_temp`; the few plain SQL functions that must stay
//! inlinable (so that filters reach their tables) name everything schema-qualified.

pub mod access;
pub mod behaviour;
pub mod events;
pub mod hooks;
pub mod grants;
pub mod history;
pub mod jobs;
pub mod search;
pub mod sql;
pub mod storage;

use serde::Serialize;
use serde_json::Value;

use crate::descriptor::{self, Descriptor};
use crate::model::{ColumnType, Property, SpecModel};
use sql::{ident, literal, QualifiedName};

/// Schema of the storage tables and internal functions.
pub const DATA_SCHEMA: &str = "specstar_data";

/// The search_path every owner-privileged or generated function pins.
pub const PINNED_SEARCH_PATH: &str = "pg_catalog, pg_temp";

/// Statements to create a spec's objects, and to drop them again (in drop order).
#[derive(Debug, Clone, Serialize)]
pub struct Ddl {
    pub storage: Vec<String>,
    pub behaviour: Vec<String>,
    /// the access rules (row-level security), run after the behaviour, each with the
    /// option it implements
    pub access: Vec<access::Step>,
    pub drop_behaviour: Vec<String>,
    pub drop_storage: Vec<String>,
    pub descriptor: Value,
}

/// A function specstar generates: its name and argument types, so that it can be dropped,
/// granted and tied to the extension by one definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: QualifiedName,
    /// argument types as in `DROP FUNCTION name(<args>)`
    pub args: String,
}

impl Function {
    fn new(name: QualifiedName, args: &str) -> Function {
        Function { name, args: args.to_string() }
    }

    /// `"schema"."name"(types)`
    pub fn signature(&self) -> String {
        format!("{}({})", self.name, self.args)
    }

    pub fn drop(&self) -> String {
        format!("DROP FUNCTION {}", self.signature())
    }

    /// A generated function is an ordinary user object (pg_dump carries it), but it calls
    /// specstar's internal functions: it goes when the extension goes.
    pub fn depends_on_extension(&self) -> String {
        format!("ALTER FUNCTION {} DEPENDS ON EXTENSION specstar", self.signature())
    }

    pub fn revoke_public(&self) -> String {
        format!("REVOKE ALL ON FUNCTION {} FROM PUBLIC", self.signature())
    }

    pub fn grant_execute(&self, role: &str) -> String {
        format!("GRANT EXECUTE ON FUNCTION {} TO {}", self.signature(), ident(role))
    }
}

/// Names of everything a spec creates.
#[derive(Debug, Clone)]
pub struct Objects {
    pub spec: String,
    pub table: QualifiedName,
    pub history: QualifiedName,
    pub draft: QualifiedName,
    pub view: QualifiedName,
    pub revision_view: QualifiedName,
    pub draft_view: QualifiedName,
    /// computed relationship `revisions(<view>)`: `select=*,revisions(*)` in PostgREST
    pub fn_revisions: Function,
    pub fn_draft_trigger: Function,
    pub fn_at: Function,
    pub fn_as_of: Function,
    pub fn_diff: Function,
    pub fn_rollback: Function,
    pub fn_restore: Function,
    pub fn_patch: Function,
    pub fn_publish: Function,
    pub fn_discard: Function,
    /// `<spec>_search(q, top, skip)`: BM25 hits (specs with x-search properties)
    pub fn_search: Function,
    /// the statement trigger function that feeds the search index
    pub fn_search_trigger: Function,
}

impl Objects {
    pub fn new(spec: &str, api: &str) -> Objects {
        let data = |suffix: &str| QualifiedName::new(DATA_SCHEMA, &format!("{spec}{suffix}"));
        let api_obj = |suffix: &str| QualifiedName::new(api, &format!("{spec}{suffix}"));
        let view = api_obj("");
        Objects {
            spec: spec.to_string(),
            table: data(""),
            history: data("_revision"),
            draft: data("_draft"),
            revision_view: api_obj("_revision"),
            draft_view: api_obj("_draft"),
            fn_revisions: Function::new(QualifiedName::new(api, "revisions"), &view.to_string()),
            fn_draft_trigger: Function::new(data("__draft"), ""),
            fn_at: Function::new(api_obj("_at"), "uuid, integer, timestamptz"),
            fn_as_of: Function::new(api_obj("_as_of"), "timestamptz"),
            fn_diff: Function::new(api_obj("_diff"), "uuid, integer, integer"),
            fn_rollback: Function::new(api_obj("_rollback"), "uuid, integer, integer"),
            fn_restore: Function::new(api_obj("_restore"), "uuid"),
            fn_patch: Function::new(api_obj("_patch"), "uuid, jsonb, integer"),
            fn_publish: Function::new(api_obj("_publish"), "uuid, boolean"),
            fn_discard: Function::new(api_obj("_discard"), "uuid"),
            fn_search: Function::new(api_obj("_search"), "text, integer, integer"),
            fn_search_trigger: Function::new(data("__search"), ""),
            view,
        }
    }
}

/// `CREATE TRIGGER <prefix>_insert|_update|_delete`: AFTER statement triggers on the live
/// table with its transition tables (one per event: transition tables allow no more).
pub fn statement_triggers(prefix: &str, o: &Objects, f: &Function) -> Vec<String> {
    [("insert", "INSERT", "NEW TABLE AS new_rows"), ("update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"), ("delete", "DELETE", "OLD TABLE AS old_rows")]
        .into_iter()
        .map(|(name, event, refs)| {
            format!(
                "CREATE TRIGGER {prefix}_{name} AFTER {event} ON {} REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION {}",
                o.table,
                f.signature()
            )
        })
        .collect()
}

/// The JSON document of a row of the live table (alias `row`): spec properties only, SQL
/// NULL meaning "absent". Built by the same Rust code as the history documents.
pub fn doc_expr(row: &str, vid: i64) -> String {
    // `row.*`, not `row`: a property (column) named like the alias would win over the row
    format!("specstar._doc({row}.*, {vid})")
}

fn cols(props: &[Property], prefix: &str) -> String {
    props.iter().map(|p| format!("{prefix}{}", ident(&p.name))).collect::<Vec<_>>().join(", ")
}

/// `"a" pg_catalog.int8, "b" pg_catalog.text, ...`: the column definition list of
/// `jsonb_to_record` for the spec's properties (qualified: inlined bodies use it too).
pub fn coldefs(props: &[Property]) -> String {
    props.iter().map(|p| format!("{} {}", ident(&p.name), p.column_type.qualified_sql())).collect::<Vec<_>>().join(", ")
}

/// `"a" = src."a"`, ...: the assignments of an UPDATE that takes every property from `src`.
pub fn assignments(props: &[Property], src: &str) -> Vec<String> {
    props.iter().map(|p| format!("{c} = {src}.{c}", c = ident(&p.name))).collect()
}

/// A SQL literal for a JSON default in the property's column type.
pub fn default_sql(value: &Value, ty: ColumnType) -> Option<String> {
    let scalar = |v: &Value, sql: &str| -> Option<String> {
        Some(match v {
            Value::String(s) => format!("{}::{sql}", literal(s)),
            Value::Number(n) => format!("{}::{sql}", literal(&n.to_string())),
            Value::Bool(b) => format!("{b}::{sql}"),
            _ => return None,
        })
    };
    match (value, ty) {
        (Value::Null, _) => None,
        (_, ColumnType::Jsonb) => Some(format!("{}::jsonb", literal(&value.to_string()))),
        (_, ColumnType::Scalar(s)) => scalar(value, s.sql()),
        (Value::Array(items), ColumnType::Array(s)) if items.is_empty() => Some(format!("'{{}}'::{}[]", s.sql())),
        (Value::Array(items), ColumnType::Array(s)) => {
            let elems: Option<Vec<String>> = items.iter().map(|v| scalar(v, s.sql())).collect();
            Some(format!("ARRAY[{}]::{}[]", elems?.join(", "), s.sql()))
        }
        _ => None,
    }
}

/// A deterministic name for an object specstar creates on a column, within PostgreSQL's
/// 63-byte limit (long names keep a prefix and a hash, so they stay unique).
pub fn object_name(spec: &str, column: &str, suffix: &str) -> String {
    let full = format!("{spec}_{column}_{suffix}");
    if full.len() <= 63 {
        return full;
    }
    // FNV-1a: stable across builds, unlike std's hasher
    let hash = full.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3));
    let keep = 63 - suffix.len() - 10;
    let mut prefix: String = full.chars().take(keep).collect();
    while prefix.len() > keep {
        prefix.pop();
    }
    format!("{prefix}_{:08x}_{suffix}", hash as u32)
}

fn dedup<'a>(v: impl IntoIterator<Item = &'a String>) -> Vec<&'a String> {
    let mut out: Vec<&String> = Vec::new();
    for s in v {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Every statement for a spec. `vid` is the catalog id of its version; `as_is` the earlier
/// versions whose documents read unchanged under it (see [`behaviour::create`]).
pub fn generate(m: &SpecModel, vid: i64, as_is: &[String]) -> Ddl {
    let o = Objects::new(&m.name, &m.api_schema);
    let mut storage = storage::tables(m, &o);
    storage.extend(storage::constraints(m, &o));
    storage.extend(jobs::storage(m, &o));
    Ddl {
        storage,
        behaviour: [
            behaviour::create(m, &o, vid, as_is),
            jobs::create(m, &o, vid, &behaviour::live_row(m)),
            hooks::create(m, &o, vid),
            search::create(m, &o, vid),
            events::create(m, &o),
            grants::create(m, &o),
        ]
        .concat(),
        access: access::create(m, &o, &|alias| behaviour::hist_data(m, as_is, alias)),
        drop_behaviour: drop_behaviour(m, &o),
        drop_storage: storage::drop(&o),
        descriptor: descriptor(m, &o).to_json(),
    }
}

/// Dropping a spec's behaviour, in reverse dependency order (its tables stay): for a drop, a
/// rebuild in place and an evolution alike.
pub fn drop_behaviour(m: &SpecModel, o: &Objects) -> Vec<String> {
    [access::drop(m, o), events::drop(m, o), search::drop(m, o), hooks::drop(m, o), jobs::drop(m, o), behaviour::drop(o)].concat()
}

fn descriptor(m: &SpecModel, o: &Objects) -> Descriptor {
    let mut functions = vec![&o.fn_at, &o.fn_as_of, &o.fn_diff, &o.fn_rollback, &o.fn_restore, &o.fn_patch, &o.fn_publish, &o.fn_discard];
    if search::fields(m).next().is_some() {
        functions.push(&o.fn_search);
    }
    let changes = events::changes_fn(o);
    if m.options.feed() {
        functions.push(&changes);
    }
    let job_objects = jobs::JobObjects::new(&m.name, &m.api_schema);
    if m.job.is_some() {
        functions.extend(job_objects.rpcs.iter().map(|(f, _)| f));
    }
    Descriptor {
        name: m.name.clone(),
        version: m.version.clone(),
        api_schema: m.api_schema.clone(),
        title: m.title.clone(),
        description: m.description.clone(),
        storage: descriptor::Storage { table: o.table.plain(), history: o.history.plain(), drafts: o.draft.plain() },
        api: descriptor::Api {
            resource: o.view.plain(),
            revisions: o.revision_view.plain(),
            drafts: o.draft_view.plain(),
            functions: functions.into_iter().map(|f| f.name.plain()).collect(),
        },
        properties: m.properties.clone(),
        roles: crate::options::Roles {
            read: m.read_roles.clone(),
            write: m.write_roles.clone(),
            work: m.job.as_ref().map(|_| m.work_roles.clone()),
        },
        search: search::descriptor(m),
        job: m.job.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Context, SpecModel};
    use serde_json::json;

    fn model() -> SpecModel {
        let schema = json!({
            "type": "object",
            "title": "Article",
            "properties": {
                "title": {"type": "string", "title": "Title", "x-unique": true},
                "status": {"enum": ["draft", "live"], "default": "draft", "x-index": true},
                "tags": {"type": "array", "items": {"type": "string"}, "default": ["a", "b"]},
                "meta": {"type": "object"},
                "author": {"type": "string", "format": "uuid", "x-ref": "author", "x-on-delete": "set_null"}
            },
            "required": ["title"]
        });
        let ctx = Context { specs: vec!["author".into()], write_roles: vec!["editor".into()], ..Default::default() };
        SpecModel::build("article", &schema, &json!({}), &ctx).unwrap()
    }

    fn all(ddl: &Ddl) -> Vec<String> {
        [ddl.storage.clone(), ddl.behaviour.clone()].concat()
    }

    #[test]
    fn live_table_columns_and_constraints() {
        let ddl = generate(&model(), 7, &[]);
        let table = ddl.storage.iter().find(|s| s.starts_with("CREATE TABLE \"specstar_data\".\"article\" ")).unwrap();
        assert!(table.contains("\"title\" text NOT NULL,"), "{table}");
        assert!(table.contains("\"status\" text DEFAULT 'draft'::text,"), "{table}");
        assert!(table.contains("\"tags\" text[] DEFAULT ARRAY['a'::text, 'b'::text]::text[]"), "{table}");
        assert!(table.contains("\"meta\" jsonb,"), "{table}");
        assert!(table.contains("_version text NOT NULL"), "{table}");
        let has = |s: &str| ddl.storage.iter().any(|x| x == s);
        let t = "ALTER TABLE \"specstar_data\".\"article\"";
        assert!(has(&format!("{t} ADD CONSTRAINT \"article_title_key\" UNIQUE (\"title\")")));
        assert!(has(&format!("{t} ADD CONSTRAINT \"article_status_check\" CHECK (\"status\" IN ('draft', 'live'))")));
        assert!(has(&format!(
            "{t} ADD CONSTRAINT \"article_author_fkey\" FOREIGN KEY (\"author\") REFERENCES \"specstar_data\".\"author\" (id) ON DELETE SET NULL"
        )));
        assert!(has("CREATE INDEX \"article_status_idx\" ON \"specstar_data\".\"article\" (\"status\")"));
    }

    #[test]
    fn drafts_have_every_column_nullable_and_no_constraints() {
        let ddl = generate(&model(), 7, &[]);
        let draft = ddl.storage.iter().find(|s| s.starts_with("CREATE TABLE \"specstar_data\".\"article_draft\" ")).unwrap();
        assert!(draft.contains("\"title\" text,"), "{draft}");
        assert!(draft.contains("\"status\" text,") && !draft.contains("DEFAULT 'draft'"), "{draft}");
        // left-out properties: from the live revision, else the spec's default
        let trigger = ddl.behaviour.iter().find(|s| s.contains("\"article__draft\"() RETURNS trigger")).unwrap();
        assert!(trigger.contains("NEW.\"status\" := coalesce(NEW.\"status\", _live.\"status\");"), "{trigger}");
        assert!(trigger.contains("SET search_path = pg_catalog, pg_temp"), "{trigger}");
        assert!(trigger.contains("pg_catalog.array_ndims(NEW.\"tags\") > 1"), "{trigger}");
        assert!(trigger.contains("NEW.\"status\" := coalesce(NEW.\"status\", 'draft'::text);"), "{trigger}");
        assert!(draft.contains("base_revision integer"), "{draft}");
        assert!(!draft.contains("REFERENCES") && !draft.contains("UNIQUE") && !draft.contains("CHECK"), "{draft}");
        let view = ddl.behaviour.iter().find(|s| s.starts_with("CREATE VIEW \"api\".\"article_draft\"")).unwrap();
        assert!(view.contains("d.base_revision, d.updated_at, d.updated_by FROM \"specstar_data\".\"article_draft\" d"), "{view}");
        // drafts are writers' work
        assert!(ddl.behaviour.iter().any(|s| s
            == "GRANT SELECT, INSERT, UPDATE, DELETE ON \"api\".\"article_draft\", \"specstar_data\".\"article_draft\" TO \"editor\""));
    }

    #[test]
    fn triggers_carry_the_spec_and_version_id() {
        let ddl = generate(&model(), 7, &[]);
        for event in ["INSERT", "UPDATE", "DELETE"] {
            let t = format!(
                "BEFORE {event} ON \"specstar_data\".\"article\" FOR EACH ROW EXECUTE FUNCTION specstar._revision_trigger('article', '7')"
            );
            assert!(ddl.behaviour.iter().any(|s| s.contains(&t)), "{t}");
        }
        for s in all(&ddl) {
            assert!(!s.contains("{{"), "unfilled placeholder: {s}");
        }
    }

    #[test]
    fn generated_functions_pin_their_search_path_or_qualify_every_name() {
        let ddl = generate(&model(), 7, &[]);
        for f in ddl.behaviour.iter().filter(|s| s.starts_with("CREATE FUNCTION")) {
            let header = &f[..f.find("$specstar$").unwrap()];
            if header.contains("LANGUAGE plpgsql") {
                assert!(header.contains("SET search_path = pg_catalog, pg_temp"), "{f}");
            } else {
                // inlinable SQL: no bare function call, operator or type outside pg_catalog/specstar
                let body: String = f[f.find("$specstar$").unwrap()..].lines().filter(|l| !l.trim_start().starts_with("--")).collect();
                for bare in [" = ", " <= ", " > ", " <> ", "::text", " text,", " bigint,"] {
                    assert!(!body.contains(bare), "{bare:?} unqualified in\n{f}");
                }
                for (at, _) in body.match_indices("jsonb_to_record(") {
                    assert!(body[..at].ends_with("pg_catalog."), "jsonb_to_record unqualified in\n{f}");
                }
            }
        }
    }

    #[test]
    fn documents_come_from_one_function() {
        let ddl = generate(&model(), 7, &[]);
        let rv = ddl.behaviour.iter().find(|s| s.starts_with("CREATE VIEW \"api\".\"article_revision\"")).unwrap();
        assert!(rv.contains("specstar._doc(t.*, 7)"), "{rv}");
        assert!(rv.contains("t._version"), "{rv}");
        // (the draft trigger builds an error, not a document, with it)
        assert!(!all(&ddl).iter().filter(|s| !s.contains("__draft")).any(|s| s.contains("jsonb_build_object")));
    }

    #[test]
    fn old_documents_pass_through_the_migrate_chain() {
        let ddl = generate(&model(), 7, &["0.9".to_string()]);
        let at = ddl.behaviour.iter().find(|s| s.starts_with("CREATE FUNCTION \"api\".\"article_at\"")).unwrap();
        assert!(
            at.contains("CASE WHEN h.schema_version OPERATOR(pg_catalog.=) ANY (ARRAY['1', '0.9']::pg_catalog.text[]) THEN h.data ELSE specstar._upgrade('article', h.schema_version, h.data) END"),
            "{at}"
        );
    }

    #[test]
    fn grants_and_revokes() {
        let ddl = generate(&model(), 1, &[]);
        let b = &ddl.behaviour;
        assert!(b.iter().any(|s| s == "REVOKE ALL ON FUNCTION \"api\".\"article_rollback\"(uuid, integer, integer) FROM PUBLIC"));
        assert!(b.iter().any(|s| s == "REVOKE ALL ON FUNCTION \"api\".\"article_publish\"(uuid, boolean) FROM PUBLIC"));
        assert!(b.iter().any(|s| s == "GRANT INSERT, UPDATE, DELETE ON \"api\".\"article\", \"specstar_data\".\"article\" TO \"editor\""));
        assert!(b.iter().any(|s| s == "GRANT EXECUTE ON FUNCTION \"api\".\"article_at\"(uuid, integer, timestamptz) TO \"editor\""));
        assert!(b.iter().any(|s| s == "GRANT EXECUTE ON FUNCTION \"api\".\"article_publish\"(uuid, boolean) TO \"editor\""));
        assert!(b.iter().any(|s| s.starts_with("GRANT EXECUTE ON FUNCTION specstar.new_id(), specstar._validate(bigint, jsonb)") && s.ends_with(" TO \"editor\"")));
        // every generated function goes with the extension
        let created: Vec<&String> = b.iter().filter(|s| s.starts_with("CREATE FUNCTION")).collect();
        let tied = b.iter().filter(|s| s.starts_with("ALTER FUNCTION") && s.ends_with("DEPENDS ON EXTENSION specstar")).count();
        assert_eq!(created.len(), tied);
    }

    #[test]
    fn drop_order_reverses_dependencies() {
        let ddl = generate(&model(), 1, &[]);
        let drop = [ddl.drop_behaviour.clone(), ddl.drop_storage.clone()].concat();
        let pos = |needle: &str| drop.iter().position(|s| s.contains(needle)).unwrap_or_else(|| panic!("{needle}"));
        assert!(pos("DROP FUNCTION \"api\".\"article_at\"(uuid, integer, timestamptz)") < pos("DROP VIEW \"api\".\"article\""));
        assert!(pos("DROP FUNCTION \"api\".\"article_publish\"") < pos("DROP VIEW \"api\".\"article\""));
        assert!(pos("DROP VIEW \"api\".\"article\"") < pos("DROP TABLE \"specstar_data\".\"article\""));
        assert!(pos("DROP TABLE \"specstar_data\".\"article_revision\"") < pos("DROP TABLE \"specstar_data\".\"article\""));
        // every behaviour object created is dropped again
        let created_fns = ddl.behaviour.iter().filter(|s| s.starts_with("CREATE FUNCTION")).count();
        let dropped_fns = ddl.drop_behaviour.iter().filter(|s| s.starts_with("DROP FUNCTION")).count();
        assert_eq!(created_fns, dropped_fns);
        // no access rules: no policy
        assert!(ddl.access.is_empty() && !ddl.drop_behaviour.iter().any(|s| s.contains("POLICY")));
    }

    #[test]
    fn defaults() {
        use crate::model::Scalar::*;
        assert_eq!(default_sql(&json!(5), ColumnType::Scalar(Bigint)).unwrap(), "'5'::bigint");
        assert_eq!(default_sql(&json!(true), ColumnType::Scalar(Boolean)).unwrap(), "true::boolean");
        assert_eq!(default_sql(&json!("it's"), ColumnType::Scalar(Text)).unwrap(), "'it''s'::text");
        assert_eq!(default_sql(&json!([]), ColumnType::Array(Bigint)).unwrap(), "'{}'::bigint[]");
        assert_eq!(default_sql(&json!({"a": null}), ColumnType::Jsonb).unwrap(), "'{\"a\":null}'::jsonb");
        assert_eq!(default_sql(&Value::Null, ColumnType::Jsonb), None);
    }

    #[test]
    fn long_object_names_stay_unique_within_63_bytes() {
        let long = "p".repeat(60);
        let a = object_name("article", &long, "key");
        let b = object_name("article", &format!("{long}x"), "key");
        assert!(a.len() <= 63 && b.len() <= 63, "{a} {b}");
        assert_ne!(a, b);
        assert!(a.ends_with("_key"));
        assert_eq!(object_name("article", "title", "key"), "article_title_key");
    }

    #[test]
    fn descriptor_names_the_objects() {
        let d = generate(&model(), 1, &[]).descriptor;
        assert_eq!(d["api"]["resource"], "api.article");
        assert_eq!(d["api"]["drafts"], "api.article_draft");
        assert_eq!(d["storage"]["history"], "specstar_data.article_revision");
        assert_eq!(d["properties"][0]["name"], "author");
        assert_eq!(d["properties"][0]["type"], "uuid");
    }
}
