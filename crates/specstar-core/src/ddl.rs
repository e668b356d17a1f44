//! The SQL a spec generates: storage tables, triggers, API views and RPC functions,
//! grants, and the statements that drop them again. Pure string generation; the SQL
//! layer (`specstar.register_spec`) executes the statements in one transaction.
//!
//! Trigger and RPC bodies are PL/pgSQL templates (`src/templates/*.sql`) so that the
//! SQLSTATEs they raise reach clients unchanged (no Rust frame between raise and client).

use serde::Serialize;
use serde_json::{json, Value};

use crate::model::{ColumnType, Property, SpecModel};
use crate::names::{ident, literal, qualified};

/// Schema of the storage tables and internal functions.
pub const DATA_SCHEMA: &str = "specstar_data";

/// Statements to create a spec's objects, and to drop them again (in drop order).
#[derive(Debug, Clone, Serialize)]
pub struct Ddl {
    pub create: Vec<String>,
    pub drop: Vec<String>,
    pub descriptor: Value,
}

/// Names of everything a spec creates.
#[derive(Debug, Clone)]
pub struct Objects {
    pub table: String,
    pub history: String,
    pub view: String,
    pub revision_view: String,
    /// computed relationship `revisions(<view>)`: `select=*,revisions(*)` in PostgREST
    pub fn_revisions: String,
    pub fn_at: String,
    pub fn_as_of: String,
    pub fn_diff: String,
    pub fn_rollback: String,
    pub fn_restore: String,
    pub fn_patch: String,
}

impl Objects {
    pub fn new(spec: &str, api: &str) -> Objects {
        let data = |suffix: &str| qualified(DATA_SCHEMA, &format!("{spec}{suffix}"));
        let api_obj = |suffix: &str| qualified(api, &format!("{spec}{suffix}"));
        Objects {
            table: data(""),
            history: data("_revision"),
            view: api_obj(""),
            revision_view: api_obj("_revision"),
            fn_revisions: format!("{}({})", qualified(api, "revisions"), api_obj("")),
            fn_at: api_obj("_at"),
            fn_as_of: api_obj("_as_of"),
            fn_diff: api_obj("_diff"),
            fn_rollback: api_obj("_rollback"),
            fn_restore: api_obj("_restore"),
            fn_patch: api_obj("_patch"),
        }
    }
}

fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (key, value) in vars {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    debug_assert!(!out.contains("{{"), "unfilled placeholder in:\n{out}");
    out
}

/// The JSON document of a row of the live table (alias `row`): spec properties only, SQL
/// NULL meaning "absent". Built by the same Rust code as the history documents.
pub fn doc_expr(row: &str, vid: i64) -> String {
    format!("specstar._doc({row}, {vid})")
}

fn cols(props: &[Property], prefix: &str) -> String {
    props.iter().map(|p| format!("{prefix}{}", ident(&p.name))).collect::<Vec<_>>().join(", ")
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

fn column_comment(p: &Property) -> Option<String> {
    match (&p.title, &p.description) {
        (Some(t), Some(d)) => Some(format!("{t}: {d}")),
        (Some(t), None) => Some(t.clone()),
        (None, Some(d)) => Some(d.clone()),
        (None, None) => None,
    }
}

const SYSTEM_COMMENTS: &[(&str, &str)] = &[
    ("id", "Identifier of the resource (a uuid; generated when not given)."),
    ("revision", "Current revision number. Send it back with an update to fail with 409 if someone else wrote in between."),
    ("created_at", "When revision 1 was written."),
    ("created_by", "Who wrote revision 1 (JWT sub, else the database role)."),
    ("updated_at", "When the current revision was written."),
    ("updated_by", "Who wrote the current revision."),
];

/// Generate every statement for a spec. `vid` is the catalog id of its version.
pub fn generate(m: &SpecModel, vid: i64) -> Ddl {
    let o = Objects::new(&m.name, &m.api_schema);
    let props = &m.properties;
    let spec_lit = literal(&m.name);
    let version_lit = literal(&m.version);
    let vid_s = vid.to_string();
    let live_row = format!(
        "t.id, {}t.revision, t.created_at, t.created_by, t.updated_at, t.updated_by",
        if props.is_empty() { String::new() } else { format!("{}, ", cols(props, "t.")) }
    );
    let hist_row = format!(
        "h.id, {}h.revision, h.created_at, h.created_by, h.valid_from, h.changed_by",
        if props.is_empty() { String::new() } else { format!("{}, ", cols(props, "d.")) }
    );
    let data_at = |id: &str, rev: &str| {
        format!(
            "(SELECT x.data FROM (SELECT {doc} AS data FROM {table} t WHERE t.id = {id} AND ({rev} IS NULL OR t.revision = {rev}) \
             UNION ALL SELECT h.data FROM {hist} h WHERE h.id = {id} AND h.revision = {rev}) x LIMIT 1)",
            doc = doc_expr("t", vid),
            table = o.table,
            hist = o.history
        )
    };
    let set_from_d = props.iter().map(|p| format!("{c} = d.{c}", c = ident(&p.name))).collect::<Vec<_>>().join(", ");
    let prop_names = format!(
        "ARRAY[{}]::text[]",
        props.iter().map(|p| literal(&p.name)).collect::<Vec<_>>().join(", ")
    );
    let doc_t = doc_expr("t", vid);
    let data_from = data_at("$1", "$2");
    let data_to = data_at("$1", "$3");
    let data_target = data_at("$1", "$2");
    let plain_cols = cols(props, "");
    let d_cols = cols(props, "d.");
    // the column definition list that reads a stored document back into typed columns
    let coldefs = props.iter().map(|p| format!("{} {}", ident(&p.name), p.column_type.sql())).collect::<Vec<_>>().join(", ");
    let vars: Vec<(&str, &str)> = vec![
        ("spec", &spec_lit),
        ("vid", &vid_s),
        ("version", &version_lit),
        ("table", &o.table),
        ("history", &o.history),
        ("view", &o.view),
        ("fn_at", &o.fn_at),
        ("fn_as_of", &o.fn_as_of),
        ("fn_diff", &o.fn_diff),
        ("fn_rollback", &o.fn_rollback),
        ("fn_restore", &o.fn_restore),
        ("fn_patch", &o.fn_patch),
        ("doc_t", &doc_t),
        ("cols", &plain_cols),
        ("d_cols", &d_cols),
        ("coldefs", &coldefs),
        ("live_row", &live_row),
        ("hist_row", &hist_row),
        ("data_from", &data_from),
        ("data_to", &data_to),
        ("data_target", &data_target),
        ("set_from_d", &set_from_d),
        ("prop_names", &prop_names),
    ];
    let t = |tpl: &str| render(tpl, &vars);

    let mut create = Vec::new();
    // 1. storage; its triggers use the shared C function specstar._revision_trigger(spec, vid)
    create.push(live_table(m, &o));
    create.push(format!(
        "CREATE TABLE {hist} (\n  id uuid NOT NULL,\n  revision integer NOT NULL,\n  parent_revision integer,\n  \
         op text NOT NULL,\n  \
         data jsonb NOT NULL,\n  schema_version text NOT NULL,\n  valid_from timestamptz NOT NULL,\n  valid_to timestamptz,\n  \
         changed_by text NOT NULL,\n  message text,\n  created_at timestamptz NOT NULL,\n  created_by text NOT NULL,\n  \
         PRIMARY KEY (id, revision)\n)",
        hist = o.history
    ));
    for p in props.iter().filter(|p| p.index && !p.unique) {
        create.push(format!("CREATE INDEX ON {} ({})", o.table, ident(&p.name)));
    }
    let revision_trigger = format!("specstar._revision_trigger({spec_lit}, {})", literal(&vid_s));
    for (name, event) in [("specstar_before_insert", "INSERT"), ("specstar_before_update", "UPDATE"), ("specstar_before_delete", "DELETE")] {
        create.push(format!(
            "CREATE TRIGGER {name} BEFORE {event} ON {} FOR EACH ROW EXECUTE FUNCTION {revision_trigger}",
            o.table
        ));
    }
    create.push(format!(
        "CREATE TRIGGER specstar_no_truncate BEFORE TRUNCATE ON {} FOR EACH STATEMENT EXECUTE FUNCTION specstar._append_only({})",
        o.table, spec_lit
    ));
    create.push(format!(
        "CREATE TRIGGER specstar_append_only BEFORE INSERT OR UPDATE OR DELETE ON {} FOR EACH ROW EXECUTE FUNCTION specstar._append_only({})",
        o.history, spec_lit
    ));
    create.push(format!(
        "CREATE TRIGGER specstar_no_truncate BEFORE TRUNCATE ON {} FOR EACH STATEMENT EXECUTE FUNCTION specstar._append_only({})",
        o.history, spec_lit
    ));
    create.push(format!(
        "COMMENT ON TABLE {} IS {}",
        o.table,
        literal(&format!("Live resources of spec {} (managed by specstar; write through {}).", m.name, o.view))
    ));
    create.push(format!(
        "COMMENT ON TABLE {} IS {}",
        o.history,
        literal(&format!("Append-only revision history of spec {} (managed by specstar).", m.name))
    ));

    // 2. API views
    create.push(format!(
        "CREATE VIEW {} WITH (security_invoker = true) AS SELECT {} FROM {} t",
        o.view, live_row, o.table
    ));
    let view_comment = match (&m.title, &m.description) {
        (Some(t), Some(d)) => format!("{t}\n{d}"),
        (Some(t), None) => t.clone(),
        (None, Some(d)) => format!("{}\n{d}", m.name),
        (None, None) => format!("{}\nResources of spec {}; every change is a revision.", m.name, m.name),
    };
    create.push(format!("COMMENT ON VIEW {} IS {}", o.view, literal(&view_comment)));
    for p in props {
        if let Some(c) = column_comment(p) {
            create.push(format!("COMMENT ON COLUMN {}.{} IS {}", o.view, ident(&p.name), literal(&c)));
            create.push(format!("COMMENT ON COLUMN {}.{} IS {}", o.table, ident(&p.name), literal(&c)));
        }
    }
    for (col, c) in SYSTEM_COMMENTS {
        create.push(format!("COMMENT ON COLUMN {}.{} IS {}", o.view, ident(col), literal(c)));
    }
    // A tombstone stays the current revision until the resource comes back; its valid_to is
    // then the next revision's valid_from (history rows are never updated).
    create.push(format!(
        "CREATE VIEW {rv} WITH (security_invoker = true) AS\n  \
         SELECT h.id, h.revision, h.parent_revision, h.op, h.data, h.schema_version, h.valid_from,\n         \
         CASE WHEN h.op = 'delete' THEN (\n           \
           SELECT n.valid_from FROM {hist} n WHERE n.id = h.id AND n.revision = h.revision + 1\n           \
           UNION ALL SELECT l.updated_at FROM {table} l WHERE l.id = h.id AND l.revision = h.revision + 1)\n         \
         ELSE h.valid_to END,\n         \
         h.changed_by, h.message FROM {hist} h\n  \
         UNION ALL\n  \
         SELECT t.id, t.revision, t._parent, t._op, {doc}, {ver}::text, t.updated_at, NULL::timestamptz, t.updated_by, t._message FROM {table} t",
        rv = o.revision_view,
        hist = o.history,
        table = o.table,
        doc = doc_t,
        ver = version_lit
    ));
    create.push(format!(
        "COMMENT ON VIEW {} IS {}",
        o.revision_view,
        literal(&format!("{} revisions\nEvery revision of every {} resource, deleted ones included (read-only).", m.name, m.name))
    ));

    // PostgREST computed relationship: GET /article?select=*,revisions(*) embeds the history.
    // (One function name for every spec, told apart by its argument type, as PostgREST expects.)
    create.push(format!(
        "CREATE FUNCTION {} RETURNS SETOF {} LANGUAGE sql STABLE AS $specstar$\n  \
         SELECT * FROM {} r WHERE r.id = $1.id ORDER BY r.revision\n$specstar$",
        o.fn_revisions, o.revision_view, o.revision_view
    ));
    create.push(format!(
        "COMMENT ON FUNCTION {} IS {}",
        o.fn_revisions,
        literal(&format!("The revisions of a {} resource: embed them with select=*,revisions(*).", m.name))
    ));

    // 3. API functions
    let fns: [(&str, &str, &str); 6] = [
        (include_str!("templates/at.sql"), &o.fn_at, "One resource: current, at a revision, or as it was at a time (at => timestamptz)."),
        (include_str!("templates/as_of.sql"), &o.fn_as_of, "The whole collection as it was at a time; filters apply."),
        (include_str!("templates/diff.sql"), &o.fn_diff, "RFC 6902 JSON Patch from one revision to another (default: the current one)."),
        (include_str!("templates/rollback.sql"), &o.fn_rollback, "Writes a new revision whose data equals to_revision."),
        (include_str!("templates/restore.sql"), &o.fn_restore, "Brings a deleted resource back from its tombstone."),
        (include_str!("templates/patch.sql"), &o.fn_patch, "Applies an RFC 6902 JSON Patch as one new revision; a failed test op changes nothing."),
    ];
    for (tpl, name, comment) in fns {
        create.push(t(tpl));
        create.push(format!("COMMENT ON FUNCTION {name} IS {}", literal(comment)));
    }

    // 4. privileges
    let read_fns = [&o.fn_at, &o.fn_as_of, &o.fn_diff, &o.fn_revisions];
    let write_fns = [&o.fn_rollback, &o.fn_restore, &o.fn_patch];
    for f in read_fns.iter().chain(write_fns.iter()) {
        create.push(format!("REVOKE ALL ON FUNCTION {f} FROM PUBLIC"));
    }
    let readers: Vec<&String> = m.read_roles.iter().chain(m.write_roles.iter()).collect();
    for role in dedup(readers) {
        let r = ident(role);
        create.push(format!("GRANT USAGE ON SCHEMA {}, {}, specstar TO {r}", ident(&m.api_schema), ident(DATA_SCHEMA)));
        create.push(format!("GRANT SELECT ON {}, {}, {}, {} TO {r}", o.view, o.revision_view, o.table, o.history));
        for f in read_fns {
            create.push(format!("GRANT EXECUTE ON FUNCTION {f} TO {r}"));
        }
    }
    for role in dedup(m.write_roles.iter().collect()) {
        let r = ident(role);
        create.push(format!("GRANT INSERT, UPDATE, DELETE ON {}, {} TO {r}", o.view, o.table));
        for f in write_fns {
            create.push(format!("GRANT EXECUTE ON FUNCTION {f} TO {r}"));
        }
    }

    let drop = vec![
        format!("DROP FUNCTION {}(uuid, jsonb, integer)", o.fn_patch),
        format!("DROP FUNCTION {}(uuid)", o.fn_restore),
        format!("DROP FUNCTION {}(uuid, integer, integer)", o.fn_rollback),
        format!("DROP FUNCTION {}(uuid, integer, integer)", o.fn_diff),
        format!("DROP FUNCTION {}(timestamptz)", o.fn_as_of),
        format!("DROP FUNCTION {}(uuid, integer, timestamptz)", o.fn_at),
        format!("DROP FUNCTION {}", o.fn_revisions),
        format!("DROP VIEW {}", o.revision_view),
        format!("DROP VIEW {}", o.view),
        format!("DROP TABLE {}", o.history),
        format!("DROP TABLE {}", o.table),
    ];

    let unq = |s: &str| s.replace('"', "");
    let descriptor = json!({
        "name": m.name,
        "version": m.version,
        "api_schema": m.api_schema,
        "title": m.title,
        "description": m.description,
        "storage": {"table": unq(&o.table), "history": unq(&o.history)},
        "api": {
            "resource": unq(&o.view),
            "revisions": unq(&o.revision_view),
            "functions": [unq(&o.fn_at), unq(&o.fn_as_of), unq(&o.fn_diff), unq(&o.fn_rollback), unq(&o.fn_restore), unq(&o.fn_patch)],
        },
        "properties": m.properties,
        "roles": {"read": m.read_roles, "write": m.write_roles},
    });
    Ddl { create, drop, descriptor }
}

fn dedup(v: Vec<&String>) -> Vec<&String> {
    let mut out: Vec<&String> = Vec::new();
    for s in v {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn live_table(m: &SpecModel, o: &Objects) -> String {
    // specstar.new_id() lets the trigger know an id is fresh (no tombstone to look for)
    let mut lines = vec!["id uuid NOT NULL DEFAULT specstar.new_id() PRIMARY KEY".to_string()];
    for p in &m.properties {
        let mut line = format!("{} {}", ident(&p.name), p.column_type.sql());
        if p.required {
            line.push_str(" NOT NULL");
        }
        if let Some(d) = p.default.as_ref().and_then(|d| default_sql(d, p.column_type)) {
            line.push_str(&format!(" DEFAULT {d}"));
        }
        if p.unique {
            line.push_str(" UNIQUE");
        }
        if let Some(values) = &p.enum_values {
            let list = values.iter().map(|v| literal(v)).collect::<Vec<_>>().join(", ");
            line.push_str(&format!(" CHECK ({} IN ({list}))", ident(&p.name)));
        }
        if let Some(r) = &p.reference {
            line.push_str(&format!(
                " REFERENCES {} (id) ON DELETE {}",
                qualified(DATA_SCHEMA, &r.spec),
                r.on_delete.sql()
            ));
        }
        lines.push(line);
    }
    lines.extend(
        [
            "revision integer NOT NULL",
            "created_at timestamptz NOT NULL",
            "created_by text NOT NULL",
            "updated_at timestamptz NOT NULL",
            "updated_by text NOT NULL",
            "_parent integer",
            "_op text NOT NULL",
            "_message text",
        ]
        .map(String::from),
    );
    format!("CREATE TABLE {} (\n  {}\n)", o.table, lines.join(",\n  "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Context, SpecModel};

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

    #[test]
    fn live_table_columns() {
        let ddl = generate(&model(), 7);
        let table = ddl.create.iter().find(|s| s.starts_with("CREATE TABLE \"specstar_data\".\"article\" ")).unwrap();
        assert!(table.contains("\"title\" text NOT NULL UNIQUE"), "{table}");
        assert!(table.contains("\"status\" text DEFAULT 'draft'::text CHECK (\"status\" IN ('draft', 'live'))"), "{table}");
        assert!(table.contains("\"tags\" text[] DEFAULT ARRAY['a'::text, 'b'::text]::text[]"), "{table}");
        assert!(table.contains("\"meta\" jsonb,"), "{table}");
        assert!(table.contains("\"author\" uuid REFERENCES \"specstar_data\".\"author\" (id) ON DELETE SET NULL"), "{table}");
        assert!(ddl.create.iter().any(|s| s == "CREATE INDEX ON \"specstar_data\".\"article\" (\"status\")"));
    }

    #[test]
    fn triggers_carry_the_spec_and_version_id() {
        let ddl = generate(&model(), 7);
        for event in ["INSERT", "UPDATE", "DELETE"] {
            let t = format!(
                "BEFORE {event} ON \"specstar_data\".\"article\" FOR EACH ROW EXECUTE FUNCTION specstar._revision_trigger('article', '7')"
            );
            assert!(ddl.create.iter().any(|s| s.contains(&t)), "{t}");
        }
        for s in &ddl.create {
            assert!(!s.contains("{{"), "unfilled placeholder: {s}");
        }
    }

    #[test]
    fn documents_come_from_one_function() {
        let ddl = generate(&model(), 7);
        let rv = ddl.create.iter().find(|s| s.starts_with("CREATE VIEW \"api\".\"article_revision\"")).unwrap();
        assert!(rv.contains("specstar._doc(t, 7)"), "{rv}");
        assert!(!ddl.create.iter().any(|s| s.contains("jsonb_build_object")));
    }

    #[test]
    fn grants_and_revokes() {
        let ddl = generate(&model(), 1);
        assert!(ddl.create.iter().any(|s| s == "REVOKE ALL ON FUNCTION \"api\".\"article_rollback\" FROM PUBLIC"));
        assert!(ddl.create.iter().any(|s| s == "GRANT INSERT, UPDATE, DELETE ON \"api\".\"article\", \"specstar_data\".\"article\" TO \"editor\""));
        assert!(ddl.create.iter().any(|s| s == "GRANT EXECUTE ON FUNCTION \"api\".\"article_at\" TO \"editor\""));
    }

    #[test]
    fn drop_order_reverses_dependencies() {
        let ddl = generate(&model(), 1);
        let pos = |needle: &str| ddl.drop.iter().position(|s| s.contains(needle)).unwrap();
        assert!(pos("DROP FUNCTION \"api\".\"article_at\"") < pos("DROP VIEW \"api\".\"article\""));
        assert!(pos("DROP VIEW \"api\".\"article\"") < pos("DROP TABLE \"specstar_data\".\"article\""));
        assert!(pos("DROP TABLE \"specstar_data\".\"article_revision\"") < pos("DROP TABLE \"specstar_data\".\"article\""));
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
    fn descriptor_names_the_objects() {
        let d = generate(&model(), 1).descriptor;
        assert_eq!(d["api"]["resource"], "api.article");
        assert_eq!(d["storage"]["history"], "specstar_data.article_revision");
        assert_eq!(d["properties"][0]["name"], "author");
        assert_eq!(d["properties"][0]["type"], "uuid");
    }
}
