//! Evolving a registered spec to a new version: which changes a migrate function must
//! carry, and the statements that alter the storage around rewriting the data.
//!
//! Without a migrate function only changes that keep every stored document valid and every
//! column usable are allowed: adding an optional property (or one with a default), dropping
//! `required`, widening an enum, and annotations, indexes and search flags. Anything else —
//! a new required property without a default, a changed type or constraint, a removed
//! property that holds data — needs `options.migrate`.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::ddl::sql::{ident, literal};
use crate::descriptor::Descriptor;
use crate::ddl::{self, history, storage, Objects};
use crate::error::pointer_segment;
use crate::model::SpecModel;

/// Keywords that describe a property without constraining its values.
const ANNOTATIONS: &[&str] = &[
    "title", "description", "default", "examples", "$comment", "deprecated", "readOnly", "writeOnly",
    "x-index", "x-search", "x-unique", "x-ref", "x-on-delete",
];

/// Top-level keywords evolution understands; a change to any other needs a migrate function.
const TOP_LEVEL: &[&str] = &["type", "properties", "required", "title", "description", "$schema", "$comment", "examples"];

/// One difference between two versions of a spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// JSON pointer into the schema
    pub path: String,
    pub what: String,
    /// true when only a migrate function can carry it
    pub needs_migrate: bool,
}

/// How to evolve the storage from one version to the next.
#[derive(Debug, Clone, Serialize)]
pub struct Evolution {
    pub changes: Vec<Change>,
    /// columns of properties the new version no longer has: without a migrate function they
    /// must hold no data (the SQL layer checks)
    pub removed: Vec<String>,
    /// before the data is rewritten: old constraints and indexes dropped, columns relaxed,
    /// added, dropped or retyped (live table and drafts)
    pub before: Vec<String>,
    /// after: defaults, NOT NULL, constraints and indexes of the new version
    pub after: Vec<String>,
}

fn stripped(schema: &Value) -> Value {
    match schema {
        Value::Object(o) => Value::Object(o.iter().filter(|(k, _)| !ANNOTATIONS.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()),
        other => other.clone(),
    }
}

fn props(schema: &Value) -> Map<String, Value> {
    schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default()
}

fn required(schema: &Value) -> Vec<String> {
    schema.get("required").and_then(Value::as_array).map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect()).unwrap_or_default()
}

fn enum_widened(old: &Value, new: &Value) -> bool {
    let (mut o, mut n) = (old.as_object().cloned().unwrap_or_default(), new.as_object().cloned().unwrap_or_default());
    let (oe, ne) = (o.remove("enum"), n.remove("enum"));
    match (oe, ne) {
        (Some(Value::Array(oe)), Some(Value::Array(ne))) => o == n && oe.iter().all(|v| ne.contains(v)),
        _ => false,
    }
}

fn changed_keywords(old: &Value, new: &Value) -> Vec<String> {
    let (o, n) = (old.as_object().cloned().unwrap_or_default(), new.as_object().cloned().unwrap_or_default());
    let mut keys: Vec<String> = o.keys().chain(n.keys()).filter(|k| o.get(*k) != n.get(*k)).cloned().collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The differences between two versions, each marked compatible or not.
pub fn changes(old: &SpecModel, new: &SpecModel) -> Vec<Change> {
    let mut out = Vec::new();
    let (old_props, new_props) = (props(&old.schema), props(&new.schema));
    let (old_req, new_req) = (required(&old.schema), required(&new.schema));
    let mut add = |path: String, what: String, needs_migrate: bool| out.push(Change { path, what, needs_migrate });
    for (name, old_sub) in &old_props {
        let path = format!("/properties/{}", pointer_segment(name));
        match new_props.get(name) {
            None => add(path, "property removed".into(), false),
            Some(new_sub) => {
                let (o, n) = (old.properties.iter().find(|p| &p.name == name), new.properties.iter().find(|p| &p.name == name));
                if let (Some(o), Some(n)) = (o, n) {
                    if o.column_type != n.column_type {
                        add(path.clone(), format!("type changed from {} to {}", o.column_type.sql(), n.column_type.sql()), true);
                        continue;
                    }
                }
                let (so, sn) = (stripped(old_sub), stripped(new_sub));
                if so != sn {
                    if enum_widened(&so, &sn) {
                        add(path.clone(), "enum widened".into(), false);
                    } else {
                        add(path.clone(), format!("{} changed", changed_keywords(&so, &sn).join(", ")), true);
                    }
                }
                if old_req.contains(name) && !new_req.contains(name) {
                    add(path.clone(), "no longer required".into(), false);
                }
                if !old_req.contains(name) && new_req.contains(name) {
                    add(path, "now required".into(), true);
                }
            }
        }
    }
    for (name, new_sub) in &new_props {
        if old_props.contains_key(name) {
            continue;
        }
        let path = format!("/properties/{}", pointer_segment(name));
        let has_default = new_sub.get("default").is_some_and(|d| !d.is_null());
        if new_req.contains(name) && !has_default {
            add(path, "new required property without a default".into(), true);
        } else {
            add(path, "property added".into(), false);
        }
    }
    let (oo, no) = (old.schema.as_object().cloned().unwrap_or_default(), new.schema.as_object().cloned().unwrap_or_default());
    let mut top: Vec<&String> = oo.keys().chain(no.keys()).filter(|k| !TOP_LEVEL.contains(&k.as_str())).collect();
    top.sort();
    top.dedup();
    for key in top {
        if oo.get(key) != no.get(key) {
            add(format!("/{}", pointer_segment(key)), "changed".into(), true);
        }
    }
    out
}

/// The storage statements that take the tables from `old` to `new`.
pub fn evolution(old: &SpecModel, new: &SpecModel) -> Evolution {
    let (o, n) = (Objects::new(&old.name, &old.api_schema), Objects::new(&new.name, &new.api_schema));
    let mut before = storage::drop_constraints(old, &o);
    let mut after = Vec::new();
    let mut removed = Vec::new();
    for p in &old.properties {
        let col = ident(&p.name);
        match new.properties.iter().find(|q| q.name == p.name) {
            None => {
                removed.push(p.name.clone());
                for table in [&o.table, &o.draft] {
                    before.push(format!("ALTER TABLE {table} DROP COLUMN {col}"));
                }
            }
            Some(q) if q.column_type != p.column_type => {
                // the data comes back from the migrate function
                for (table, draft) in [(&o.table, false), (&o.draft, true)] {
                    before.push(format!("ALTER TABLE {table} DROP COLUMN {col}"));
                    let mut relaxed = q.clone();
                    relaxed.required = false;
                    before.push(format!("ALTER TABLE {table} ADD COLUMN {}", storage::column(&relaxed, draft)));
                }
            }
            Some(_) => {
                if p.required {
                    before.push(format!("ALTER TABLE {} ALTER COLUMN {col} DROP NOT NULL", o.table));
                }
                if p.default.is_some() {
                    before.push(format!("ALTER TABLE {} ALTER COLUMN {col} DROP DEFAULT", o.table));
                }
            }
        }
    }
    for q in &new.properties {
        let col = ident(&q.name);
        let existed = old.properties.iter().find(|p| p.name == q.name);
        let default = q.default.as_ref().and_then(|d| ddl::default_sql(d, q.column_type));
        if existed.is_none() {
            // a new column starts with its default (existing rows and drafts take it), and
            // NULL allowed; drafts keep no DEFAULT (see storage::column)
            let mut relaxed = q.clone();
            relaxed.required = false;
            before.push(format!("ALTER TABLE {} ADD COLUMN {}", o.table, storage::column(&relaxed, false)));
            before.push(format!("ALTER TABLE {} ADD COLUMN {}", o.draft, storage::column(&relaxed, true)));
            if let Some(d) = &default {
                before.push(format!("UPDATE {} SET {col} = {d}", o.draft));
            }
        }
        if let Some(d) = &default {
            after.push(format!("ALTER TABLE {} ALTER COLUMN {col} SET DEFAULT {d}", n.table));
        }
        if q.required {
            after.push(format!("ALTER TABLE {} ALTER COLUMN {col} SET NOT NULL", n.table));
        }
    }
    after.extend(storage::constraints(new, &n));
    Evolution { changes: changes(old, new), removed, before, after }
}

/// Everything `specstar._evolve_spec` executes to take a registered spec (`old`) to `new`:
/// the changes found, the old behaviour to drop, the storage statements around rewriting
/// the data, the two UPDATEs that write migrated documents (from `pg_temp.specstar_migrated`,
/// `(id, revision, data, ...)`, and `pg_temp.specstar_migrated_drafts`, `(id, data)`; `$1` is
/// the revision message), the INSERT that moves the superseded revisions into the history,
/// and the new behaviour; besides, what the SQL layer needs to know: the new version's
/// property names (`declared`), the old version's roles (`revoke_roles`) and whether the
/// search index must be rebuilt (`rebuild_search`).
pub fn plan(old: &SpecModel, registered: Option<&Descriptor>, new: &SpecModel, new_ddl: &ddl::Ddl) -> Value {
    let e = evolution(old, new);
    let (o, n) = (Objects::new(&old.name, &old.api_schema), Objects::new(&new.name, &new.api_schema));
    let from = |temp: &str| {
        if new.properties.is_empty() {
            format!("FROM pg_temp.{temp} m")
        } else {
            format!("FROM pg_temp.{temp} m CROSS JOIN LATERAL jsonb_to_record(m.data) AS d({})", ddl::coldefs(&new.properties))
        }
    };
    let mut live_set = ddl::assignments(&new.properties, "d");
    // a draft that started from the revision the migration supersedes now starts from the
    // migrate revision (its data went through the same function)
    let mut draft_set = live_set.clone();
    draft_set.push(
        "base_revision = coalesce((SELECT l.revision + 1 FROM pg_temp.specstar_migrated l \
         WHERE l.id = t.id AND l.revision = t.base_revision), t.base_revision)"
            .to_string(),
    );
    live_set.extend([
        "revision = t.revision + 1".to_string(),
        "_parent = t.revision".to_string(),
        "_op = 'migrate'".to_string(),
        format!("_version = {}", literal(&new.version)),
        "updated_at = greatest(now(), t.updated_at)".to_string(),
        "updated_by = specstar.current_actor()".to_string(),
        "_message = $1".to_string(),
    ]);
    let drop_behaviour = ddl::drop_behaviour(old, &o);
    // what the registered version granted and indexed (its descriptor says; the old model,
    // checked again under today's defaults, may name other roles)
    let no_work = Vec::new();
    let (old_read, old_write, old_work, old_search) = match registered {
        Some(d) => (&d.roles.read, &d.roles.write, d.roles.work.as_ref().unwrap_or(&no_work), d.search.clone()),
        None => (&old.read_roles, &old.write_roles, &old.work_roles, ddl::search::descriptor(old)),
    };
    let mut old_roles: Vec<&String> = old_read.iter().chain(old_write.iter()).chain(old_work.iter()).collect();
    old_roles.sort();
    old_roles.dedup();
    let new_search = ddl::search::descriptor(new);
    // the index follows: rebuilt when its fields or language change, or when a migrate
    // function rewrites the documents (the triggers that feed it are dropped meanwhile)
    let rebuild_search = new_search != old_search || (new.options.migrate.is_some() && new_search.is_some());
    json!({
        "declared": new.property_names(),
        "revoke_roles": old_roles,
        "rebuild_search": rebuild_search,
        "changes": e.changes,
        "removed": e.removed,
        "drop_behaviour": drop_behaviour,
        "before": e.before,
        "copy_history": format!(
            "INSERT INTO {} ({}) SELECT {} FROM pg_temp.specstar_migrated m",
            n.history,
            history::column_list(),
            history::superseded("m", "m.old_data", "greatest(pg_catalog.now(), m.updated_at)")
        ),
        "rewrite_live": format!("UPDATE {} AS t SET {} {} WHERE t.id = m.id", n.table, live_set.join(", "), from("specstar_migrated")),
        "rewrite_drafts": format!("UPDATE {} AS t SET {} {} WHERE t.id = m.id", n.draft, draft_set.join(", "), from("specstar_migrated_drafts")),
        "after": e.after,
        "create_behaviour": new_ddl.behaviour,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Context;
    use serde_json::json;

    fn model(schema: Value) -> SpecModel {
        SpecModel::build("article", &schema, &json!({}), &Context::default()).unwrap()
    }

    fn v1() -> Value {
        json!({
            "type": "object",
            "properties": {
                "title": {"type": "string", "maxLength": 100, "description": "Headline"},
                "status": {"enum": ["draft", "live"], "default": "draft"},
                "views": {"type": "integer"},
                "body": {"type": "string"}
            },
            "required": ["title", "views"]
        })
    }

    fn kinds(old: Value, new: Value) -> Vec<(String, String, bool)> {
        changes(&model(old), &model(new)).into_iter().map(|c| (c.path, c.what, c.needs_migrate)).collect()
    }

    #[test]
    fn compatible_changes() {
        let mut v2 = v1();
        v2["properties"]["title"]["description"] = json!("The headline");
        v2["properties"]["status"]["enum"] = json!(["draft", "live", "archived"]);
        v2["properties"]["subtitle"] = json!({"type": "string"});
        v2["properties"]["rank"] = json!({"type": "integer", "default": 0});
        v2["properties"]["body"]["x-search"] = json!(true);
        v2["properties"]["views"]["x-index"] = json!(true);
        v2["required"] = json!(["title", "rank"]);
        let k = kinds(v1(), v2);
        assert!(k.iter().all(|(_, _, m)| !m), "{k:?}");
        assert!(k.contains(&("/properties/status".into(), "enum widened".into(), false)));
        assert!(k.contains(&("/properties/views".into(), "no longer required".into(), false)));
        assert!(k.contains(&("/properties/rank".into(), "property added".into(), false)));
        assert!(k.contains(&("/properties/subtitle".into(), "property added".into(), false)));
    }

    #[test]
    fn incompatible_changes() {
        let mut v2 = v1();
        v2["properties"]["views"] = json!({"type": "string"});
        v2["properties"]["title"]["maxLength"] = json!(50);
        v2["properties"]["status"]["enum"] = json!(["draft"]);
        v2["properties"]["owner"] = json!({"type": "string"});
        v2["required"] = json!(["title", "views", "owner", "body"]);
        v2["additionalProperties"] = json!(false);
        let k = kinds(v1(), v2);
        let needs: Vec<_> = k.iter().filter(|c| c.2).map(|c| (c.0.as_str(), c.1.as_str())).collect();
        assert!(needs.contains(&("/properties/views", "type changed from bigint to text")), "{needs:?}");
        assert!(needs.contains(&("/properties/title", "maxLength changed")), "{needs:?}");
        assert!(needs.contains(&("/properties/status", "enum changed")), "{needs:?}");
        assert!(needs.contains(&("/properties/owner", "new required property without a default")), "{needs:?}");
        assert!(needs.contains(&("/properties/body", "now required")), "{needs:?}");
        assert!(needs.contains(&("/additionalProperties", "changed")), "{needs:?}");
    }

    #[test]
    fn removed_properties_are_listed_for_a_data_check() {
        let mut v2 = v1();
        v2["properties"].as_object_mut().unwrap().remove("body");
        let e = evolution(&model(v1()), &model(v2));
        assert_eq!(e.removed, vec!["body"]);
        assert!(e.changes.contains(&Change { path: "/properties/body".into(), what: "property removed".into(), needs_migrate: false }));
        assert!(e.before.contains(&"ALTER TABLE \"specstar_data\".\"article\" DROP COLUMN \"body\"".to_string()));
        assert!(e.before.contains(&"ALTER TABLE \"specstar_data\".\"article_draft\" DROP COLUMN \"body\"".to_string()));
    }

    #[test]
    fn storage_statements() {
        let mut v2 = v1();
        v2["properties"]["views"] = json!({"type": "string"});
        v2["properties"]["rank"] = json!({"type": "integer", "default": 0});
        v2["required"] = json!(["title", "rank"]);
        let e = evolution(&model(v1()), &model(v2));
        let has = |list: &Vec<String>, s: &str| list.iter().any(|x| x == s);
        let t = "ALTER TABLE \"specstar_data\".\"article\"";
        // old constraints go first, the enum CHECK comes back after the data
        assert!(has(&e.before, &format!("{t} DROP CONSTRAINT \"article_status_check\"")), "{:#?}", e.before);
        assert!(has(&e.after, &format!("{t} ADD CONSTRAINT \"article_status_check\" CHECK (\"status\" IN ('draft', 'live'))")));
        // a retyped column is dropped and added back empty, to be filled by the migrate function
        assert!(has(&e.before, &format!("{t} DROP COLUMN \"views\"")));
        assert!(has(&e.before, &format!("{t} ADD COLUMN \"views\" text")));
        // required columns are relaxed before and tightened after
        assert!(has(&e.before, &format!("{t} ALTER COLUMN \"title\" DROP NOT NULL")));
        assert!(has(&e.after, &format!("{t} ALTER COLUMN \"title\" SET NOT NULL")));
        assert!(has(&e.after, &format!("{t} ALTER COLUMN \"rank\" SET NOT NULL")));
        // a new column with a default fills existing rows
        assert!(has(&e.before, &format!("{t} ADD COLUMN \"rank\" bigint DEFAULT '0'::bigint")));
        assert!(!has(&e.after, &format!("{t} ALTER COLUMN \"views\" SET NOT NULL")));
        // drafts get the value, not the DEFAULT: NULL in a draft means "left out"
        let d = "\"specstar_data\".\"article_draft\"";
        assert!(has(&e.before, &format!("ALTER TABLE {d} ADD COLUMN \"rank\" bigint")));
        assert!(has(&e.before, &format!("UPDATE {d} SET \"rank\" = '0'::bigint")));
        assert!(!e.after.iter().any(|s| s.starts_with(&format!("ALTER TABLE {d}"))), "{:#?}", e.after);
    }

    #[test]
    fn identical_versions_differ_in_nothing() {
        assert!(changes(&model(v1()), &model(v1())).is_empty());
    }
}
