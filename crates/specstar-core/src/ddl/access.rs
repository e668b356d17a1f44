//! Access rules (`options.access`, docs/permissions.md) as PostgreSQL row-level security on
//! the spec's three storage tables, so that one rule set holds for the views, the generated
//! functions, PostgREST, GraphQL, psql and a standby:
//!
//! - the live table: `read` for SELECT, `create` for INSERT, `write` for UPDATE (old and new
//!   row), `delete` for DELETE;
//! - the history: a revision is readable when the read rules admit both its own document and
//!   the resource's head today — the live row (through the live table's own policy) or, for a
//!   deleted resource, its newest tombstone (`<spec>__gone`, a view that reads the history
//!   with its owner's rights, so the policy does not recurse, and lists only the tombstones
//!   the caller may read);
//! - the drafts: the write rules, as if the draft were the resource (its owner is the
//!   resource's, or whoever started the draft of a new resource);
//! - `<spec>__admits(kind, doc)`: the rules of a kind applied to a document, for `sql:`
//!   rules over history and drafts and for the revision trigger's re-creation check.
//!
//! The actor and the role tests are uncorrelated subqueries: PostgreSQL evaluates them once
//! per statement (an InitPlan), not once per row. The owner column is indexed.
//!
//! The statements come with the JSON pointer of the option they implement: the SQL layer
//! runs them one by one and reports a failure (an `sql:` rule that does not compile) as
//! `22023` naming that pointer.

use serde::Serialize;

use super::sql::{ident, literal, QualifiedName};
use super::{Objects, DATA_SCHEMA};
use crate::model::SpecModel;
use crate::options::{AccessRules, Rule};

/// The authenticated actor, once per statement (NULL for anonymous requests).
const ACTOR: &str = "(SELECT specstar._owner_actor())";

/// One statement and the option it implements.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Step {
    pub path: String,
    pub sql: String,
}

/// The `sql:` rules of a spec with their pointers, checked one by one before any policy is
/// created: each must be one boolean expression over the live table's columns.
pub fn sql_rules(m: &SpecModel) -> Vec<(String, String)> {
    let Some(access) = m.options.access.as_ref() else { return Vec::new() };
    let mut out = Vec::new();
    for (kind, _, list) in access.lists() {
        if !access.written(kind) {
            continue; // a defaulted list: its rules are checked where they are written
        }
        for (i, text) in list.iter().enumerate() {
            if let Ok(Rule::Sql(e)) = Rule::parse(text) {
                out.push((format!("/options/access/{kind}/{i}"), e));
            }
        }
    }
    out
}

/// The roles `role:` rules name, with their pointers (they must exist).
pub fn roles(m: &SpecModel) -> Vec<(String, String)> {
    let Some(access) = m.options.access.as_ref() else { return Vec::new() };
    let mut out = Vec::new();
    for (kind, path, list) in access.lists() {
        if !access.written(kind) {
            continue; // a defaulted list: reported under the list it copies
        }
        for (i, text) in list.iter().enumerate() {
            if let Ok(Rule::Role(r)) = Rule::parse(text) {
                out.push((format!("{path}/{i}"), r));
            }
        }
    }
    out
}

pub fn gone_view(o: &Objects) -> QualifiedName {
    QualifiedName::new(DATA_SCHEMA, &format!("{}__gone", o.spec))
}

pub fn admits_fn(o: &Objects) -> QualifiedName {
    QualifiedName::new(DATA_SCHEMA, &format!("{}__admits", o.spec))
}

/// `<spec>__read_scope()`: which rows the caller may read, for search (see [`create`]).
pub fn scope_fn(o: &Objects) -> QualifiedName {
    QualifiedName::new(DATA_SCHEMA, &format!("{}__read_scope", o.spec))
}

/// How a rule list reads the row it judges.
struct RowRef<'a> {
    /// the owner column's value
    owner: String,
    /// an `sql:` rule: inline (the row's columns are in scope) or through `__admits`
    sql: &'a dyn Fn(&str) -> String,
}

fn rule(r: &Rule, row: &RowRef) -> String {
    match r {
        Rule::All => "true".to_string(),
        Rule::Authenticated => format!("({ACTOR} IS NOT NULL)"),
        Rule::Owner => format!("({} OPERATOR(pg_catalog.=) {ACTOR})", row.owner),
        Rule::Role(role) => format!("(SELECT pg_catalog.pg_has_role(CURRENT_USER, {}, 'MEMBER'))", literal(role)),
        Rule::Sql(e) => (row.sql)(e),
    }
}

fn any(rules: &[Rule], row: &RowRef) -> String {
    format!("({})", rules.iter().map(|r| rule(r, row)).collect::<Vec<_>>().join(" OR "))
}

fn has_sql(rules: &[Rule]) -> bool {
    rules.iter().any(|r| matches!(r, Rule::Sql(_)))
}

/// The rules of a list over a row whose columns are in scope, `sql:` rules inline.
fn inline(rules: &[Rule], owner: &str) -> String {
    let sql = |e: &str| format!("(({e}))");
    any(rules, &RowRef { owner: ident(owner), sql: &sql })
}

/// The rules of a list over a history row (alias prefix `p`, e.g. `h.`): the owner from
/// its own columns, `sql:` rules through `__admits` over the revision's document.
fn over_history(a: &AccessRules, kind: &str, rules: &[Rule], o: &Objects, p: &str, data: &str) -> String {
    if has_sql(rules) {
        return format!(
            "{}({}, ({data}) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('id', {p}id, 'revision', {p}revision, \
             'created_at', {p}created_at, 'created_by', {p}created_by, 'updated_at', {p}valid_from, 'updated_by', {p}changed_by))",
            admits_fn(o),
            literal(kind)
        );
    }
    let owner = if a.owner == "created_by" {
        format!("{p}created_by")
    } else {
        format!("({p}data OPERATOR(pg_catalog.->>) {})", literal(&a.owner))
    };
    let sql = |_: &str| unreachable!("no sql: rule here");
    any(rules, &RowRef { owner, sql: &sql })
}

/// Statements that put the rules in force, after the storage and behaviour exist.
/// `hist_data(alias)` is the expression of a history row's document under this version.
pub fn create(m: &SpecModel, o: &Objects, hist_data: &dyn Fn(&str) -> String) -> Vec<Step> {
    let Some(a) = &m.access else { return Vec::new() };
    let mut out = Vec::new();
    let step = |path: &str, sql: String| Step { path: path.to_string(), sql };
    let path = |kind: &str| -> String {
        let acc = m.options.access.as_ref().expect("access rules come from options.access");
        acc.lists().into_iter().find(|(k, _, _)| *k == kind).map(|(_, p, _)| p).unwrap_or_default()
    };
    // each sql: rule compiles against the live table on its own, so that an error names it
    for (p, e) in sql_rules(m) {
        out.push(step(&p, format!("SELECT (({e}))::pg_catalog.bool FROM {} AS {} WHERE false", o.table, ident(&o.spec))));
    }
    // the owner column is indexed: rules must not make reads slow
    out.push(step(
        "/options/access/owner",
        format!("CREATE INDEX {} ON {} ({})", ident(&format!("{}__owner_idx", o.spec)), o.table, ident(&a.owner)),
    ));
    // the rules over a document of the spec (history and drafts with sql: rules, re-creation)
    let sql = |e: &str| format!("(({e}))");
    let row = RowRef { owner: ident(&a.owner), sql: &sql };
    let body = format!(
        "SELECT CASE $1 WHEN 'read' THEN {} WHEN 'write' THEN {} WHEN 'create' THEN {} WHEN 'delete' THEN {} END \
         FROM pg_catalog.jsonb_populate_record(NULL::{}, $2) AS {}",
        any(&a.read, &row),
        any(&a.write, &row),
        any(&a.create, &row),
        any(&a.delete, &row),
        o.table,
        ident(&o.spec)
    );
    let admits = admits_fn(o);
    out.push(step(
        "/options/access",
        format!(
            "CREATE FUNCTION {admits}(kind text, doc jsonb) RETURNS boolean LANGUAGE sql STABLE \
             SET search_path = pg_catalog, pg_temp AS {}",
            literal(&body)
        ),
    ));
    out.push(step("/options/access", format!("ALTER FUNCTION {admits}(text, jsonb) DEPENDS ON EXTENSION specstar")));
    out.push(step("/options/access", format!("REVOKE ALL ON FUNCTION {admits}(text, jsonb) FROM PUBLIC")));
    // which rows the caller may read, when that is simple to say — 'all' (a rule admits every
    // row), 'owner' (only their own), 'none', or NULL (sql: rules decide row by row). Search
    // decides the same in Rust (src/search/scope.rs) and keys its cache of the rules by this
    // function's OID, new with every change of rules.
    let free: Vec<String> = a.read.iter().filter(|r| !matches!(r, Rule::Owner | Rule::Sql(_))).map(|r| rule(r, &row)).collect();
    let free = if free.is_empty() { "false".to_string() } else { free.join(" OR ") };
    let by_owner = if a.read.contains(&Rule::Owner) { format!("{ACTOR} IS NOT NULL") } else { "false".to_string() };
    let scope = format!(
        "SELECT CASE WHEN {free} THEN 'all'::pg_catalog.text WHEN {} THEN NULL WHEN {by_owner} THEN 'owner' ELSE 'none' END",
        if has_sql(&a.read) { "true" } else { "false" }
    );
    let f = scope_fn(o);
    out.push(step(
        "/options/access/read",
        format!("CREATE FUNCTION {f}() RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS {}", literal(&scope)),
    ));
    out.push(step("/options/access", format!("ALTER FUNCTION {f}() DEPENDS ON EXTENSION specstar")));
    out.push(step("/options/access", format!("REVOKE ALL ON FUNCTION {f}() FROM PUBLIC")));
    // the tombstones of deleted resources the caller may read today
    let gone = gone_view(o);
    out.push(step(
        "/options/access/read",
        format!(
            "CREATE VIEW {gone} WITH (security_barrier) AS SELECT h.id FROM {hist} h \
             WHERE h.op OPERATOR(pg_catalog.=) 'delete' \
               AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id OPERATOR(pg_catalog.=) h.id) \
               AND NOT EXISTS (SELECT 1 FROM {hist} n WHERE n.id OPERATOR(pg_catalog.=) h.id AND n.revision OPERATOR(pg_catalog.>) h.revision) \
               AND {readable}",
            hist = o.history,
            table = o.table,
            readable = over_history(a, "read", &a.read, o, "h.", &hist_data("h"))
        ),
    ));
    out.push(step("/options/access", format!("REVOKE ALL ON {gone} FROM PUBLIC")));
    // the live table
    for (kind, cmd, clause) in [
        ("read", "SELECT", "USING"),
        ("create", "INSERT", "WITH CHECK"),
        ("delete", "DELETE", "USING"),
    ] {
        let rules = match kind {
            "read" => &a.read,
            "create" => &a.create,
            _ => &a.delete,
        };
        out.push(step(
            &path(kind),
            format!("CREATE POLICY {} ON {} FOR {cmd} {clause} {}", ident(&format!("specstar_{kind}")), o.table, inline(rules, &a.owner)),
        ));
    }
    let w = inline(&a.write, &a.owner);
    out.push(step(&path("write"), format!("CREATE POLICY specstar_write ON {} FOR UPDATE USING {w} WITH CHECK {w}", o.table)));
    // the history: readable then (its own document) and now (the head)
    let hist_name = ident(&o.history.name);
    out.push(step(
        &path("read"),
        format!(
            "CREATE POLICY specstar_read ON {hist} FOR SELECT USING ({then} AND (\
             EXISTS (SELECT 1 FROM {table} t WHERE t.id OPERATOR(pg_catalog.=) {hist_name}.id) \
             OR EXISTS (SELECT 1 FROM {gone} g WHERE g.id OPERATOR(pg_catalog.=) {hist_name}.id)))",
            hist = o.history,
            table = o.table,
            then = over_history(a, "read", &a.read, o, &format!("{hist_name}."), &hist_data(&hist_name)),
        ),
    ));
    // the drafts: the write rules, as if the draft were the resource
    let draft_name = ident(&o.draft.name);
    let d = if has_sql(&a.write) {
        format!("{admits}('write', pg_catalog.to_jsonb({draft_name}))")
    } else {
        let sql = |_: &str| unreachable!("no sql: rule here");
        any(&a.write, &RowRef { owner: format!("{draft_name}.{}", ident(&a.owner)), sql: &sql })
    };
    out.push(step(&path("write"), format!("CREATE POLICY specstar_write ON {} FOR ALL USING ({d}) WITH CHECK ({d})", o.draft)));
    for t in [&o.table, &o.history, &o.draft] {
        out.push(step("/options/access", format!("ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")));
    }
    // the policies read the tombstones and apply __admits with the caller's rights
    for role in super::dedup(m.read_roles.iter().chain(m.write_roles.iter())) {
        out.push(step("/options/roles", format!("GRANT SELECT ON {gone} TO {}", ident(role))));
        out.push(step("/options/roles", format!("GRANT EXECUTE ON FUNCTION {admits}(text, jsonb) TO {}", ident(role))));
        out.push(step("/options/roles", format!("GRANT EXECUTE ON FUNCTION {}() TO {}", scope_fn(o), ident(role))));
    }
    out
}

/// Statements that lift the rules of `m` again (drop_spec, evolution, a change of rules).
pub fn drop(m: &SpecModel, o: &Objects) -> Vec<String> {
    if m.access.is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for t in [&o.table, &o.history, &o.draft] {
        out.push(format!("ALTER TABLE {t} DISABLE ROW LEVEL SECURITY"));
    }
    for p in ["specstar_read", "specstar_create", "specstar_write", "specstar_delete"] {
        out.push(format!("DROP POLICY {p} ON {}", o.table));
    }
    out.push(format!("DROP POLICY specstar_read ON {}", o.history));
    out.push(format!("DROP POLICY specstar_write ON {}", o.draft));
    out.push(format!("DROP VIEW {}", gone_view(o)));
    out.push(format!("DROP FUNCTION {}(text, jsonb)", admits_fn(o)));
    out.push(format!("DROP FUNCTION {}()", scope_fn(o)));
    out.push(format!("DROP INDEX {}", QualifiedName::new(DATA_SCHEMA, &format!("{}__owner_idx", o.spec))));
    out
}
