//! specstar-core: everything specstar does that needs no database — checking specs,
//! planning columns, generating SQL, validating documents and JSON Patch. The extension
//! crate is a thin pgrx layer over this.

pub mod ddl;
pub mod document;
pub mod error;
pub mod if_match;
pub mod errors;
pub mod evolve;
pub mod model;
pub mod names;
pub mod options;
pub mod patch;

use serde_json::{json, Value};

/// Entry point behind `specstar._plan`: check a spec and, when the context carries a
/// version id, generate its DDL. Always returns data: `{"ok": false, "errors": [...]}` or
/// `{"ok": true, "options": {...}, "descriptor": {...}, "create": [...], "drop": [...]}`;
/// when the context names the `current` version, also `"evolve"` (see [`evolve_plan`]).
pub fn plan(name: &str, schema: &Value, options: &Value, context: &Value) -> Value {
    let ctx: model::Context = match serde_json::from_value(context.clone()) {
        Ok(c) => c,
        Err(e) => return json!({"ok": false, "errors": [error::SpecError::new("", format!("internal: bad planning context: {e}"), "")]}),
    };
    let m = match model::SpecModel::build(name, schema, options, &ctx) {
        Err(errors) => return json!({"ok": false, "errors": errors}),
        Ok(m) => m,
    };
    let normalized = serde_json::to_value(&m.options).expect("options serialize");
    let mut out = json!({"ok": true, "options": normalized, "api_schema": m.api_schema, "version": m.version});
    let Some(vid) = ctx.vid else { return out };
    let ddl = ddl::generate(&m, vid, &ctx.as_is_versions);
    out["descriptor"] = ddl.descriptor.clone();
    out["drop"] = json!([ddl.drop_behaviour.clone(), ddl.drop_storage.clone()].concat());
    match &ctx.current {
        None => out["create"] = json!([ddl.storage, ddl.behaviour].concat()),
        Some(current) => {
            // the registered version is rebuilt as it was checked then
            let old_ctx = model::Context { vid: None, current: None, as_is_versions: Vec::new(), ..ctx.clone() };
            match model::SpecModel::build(name, &current.schema, &current.options, &old_ctx) {
                Err(errors) => {
                    return json!({"ok": false, "errors": errors.into_iter().map(|mut e| {
                        e.message = format!("registered version: {}", e.message);
                        e
                    }).collect::<Vec<_>>()})
                }
                Ok(old) => out["evolve"] = evolve_plan(&old, &m, &ddl),
            }
        }
    }
    out
}

/// How to take a registered spec (`old`) to `new`: the changes found, the statements around
/// rewriting the data, the old behaviour to drop and the new one to create, and the two
/// UPDATEs that write migrated documents (from `pg_temp.specstar_migrated` and
/// `pg_temp.specstar_migrated_drafts`, `(id uuid, data jsonb)`, the first one with the
/// superseded `revision` too; `$1` is the message).
pub fn evolve_plan(old: &model::SpecModel, new: &model::SpecModel, new_ddl: &ddl::Ddl) -> Value {
    let e = evolve::evolution(old, new);
    let old_objects = ddl::Objects::new(&old.name, &old.api_schema);
    let (table, _, draft) = evolve::tables(new);
    let coldefs = evolve::coldefs(new);
    let from = |temp: &str| {
        if new.properties.is_empty() {
            format!("FROM pg_temp.{temp} m")
        } else {
            format!("FROM pg_temp.{temp} m CROSS JOIN LATERAL jsonb_to_record(m.data) AS d({coldefs})")
        }
    };
    let mut live_set: Vec<String> = new.properties.iter().map(|p| format!("{c} = d.{c}", c = names::ident(&p.name))).collect();
    // a draft that started from the revision the migration supersedes now starts from the
    // migrate revision (its data went through the same function)
    let mut draft_set = live_set.clone();
    draft_set.push(
        "base_revision = coalesce((SELECT l.revision + 1 FROM pg_temp.specstar_migrated l \
         WHERE l.id = t.id AND l.revision = t.base_revision), t.base_revision)"
            .to_string(),
    );
    live_set.extend(
        [
            "revision = t.revision + 1".to_string(),
            "_parent = t.revision".to_string(),
            "_op = 'migrate'".to_string(),
            format!("_version = {}", names::literal(&new.version)),
            "updated_at = greatest(now(), t.updated_at)".to_string(),
            "updated_by = specstar.current_actor()".to_string(),
            "_message = $1".to_string(),
        ]
    );
    let rewrite_live = format!("UPDATE {table} AS t SET {} {} WHERE t.id = m.id", live_set.join(", "), from("specstar_migrated"));
    let rewrite_drafts = format!("UPDATE {draft} AS t SET {} {} WHERE t.id = m.id", draft_set.join(", "), from("specstar_migrated_drafts"));
    json!({
        "changes": e.changes,
        "removed": e.removed,
        "drop_behaviour": ddl::behaviour::drop(&old_objects),
        "before": e.before,
        "rewrite_live": rewrite_live,
        "rewrite_drafts": rewrite_drafts,
        "after": e.after,
        "create_behaviour": new_ddl.behaviour,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_reports_errors_as_data() {
        let out = plan("Bad", &json!({"type": "object", "properties": {"a": {}}}), &json!({}), &json!({}));
        assert_eq!(out["ok"], false);
        assert_eq!(out["errors"][0]["path"], "");
    }

    #[test]
    fn plan_without_vid_checks_only() {
        let out = plan("a", &json!({"type": "object", "properties": {"x": {}}}), &json!({}), &json!({}));
        assert_eq!(out["ok"], true);
        assert_eq!(out["options"], json!({"version": "1"}));
        assert!(out.get("create").is_none());
        let out = plan("a", &json!({"type": "object", "properties": {"x": {}}}), &json!({}), &json!({"vid": 3}));
        assert!(out["create"].as_array().unwrap().len() > 10);
        assert!(out.get("evolve").is_none());
    }

    #[test]
    fn plan_for_an_evolving_spec() {
        let v1 = json!({"type": "object", "properties": {"title": {"type": "string"}, "n": {"type": "integer"}}});
        let v2 = json!({"type": "object", "properties": {"title": {"type": "string"}, "n": {"type": "string"}}});
        let ctx = json!({"vid": 9, "current": {"vid": 4, "schema": v1, "options": {"version": "1"}}, "as_is_versions": []});
        let out = plan("a", &v2, &json!({"version": "2", "migrate": "up"}), &ctx);
        assert_eq!(out["ok"], true, "{out}");
        let e = &out["evolve"];
        assert_eq!(e["changes"][0]["path"], "/properties/n");
        assert_eq!(e["changes"][0]["needs_migrate"], true);
        assert!(out.get("create").is_none());
        let rewrite = e["rewrite_live"].as_str().unwrap();
        assert!(rewrite.contains("\"n\" = d.\"n\""), "{rewrite}");
        assert!(rewrite.contains("jsonb_to_record(m.data) AS d(\"n\" text, \"title\" text)"), "{rewrite}");
        assert!(rewrite.contains("_version = '2'"), "{rewrite}");
        // the old behaviour is dropped, the new one names the new version id
        assert!(e["drop_behaviour"].as_array().unwrap().iter().any(|s| s == "DROP VIEW \"api\".\"a\""));
        assert!(e["create_behaviour"].as_array().unwrap().iter().any(|s| s.as_str().unwrap().contains("_revision_trigger('a', '9')")));
        // drop_spec later drops everything, storage included
        assert!(out["drop"].as_array().unwrap().iter().any(|s| s == "DROP TABLE \"specstar_data\".\"a\""));
    }
}
