//! specstar-core: everything specstar does that needs no database — checking specs,
//! planning columns, generating SQL, validating documents and JSON Patch. The extension
//! crate is a thin pgrx layer over this.

pub mod ddl;
pub mod descriptor;
pub mod document;
pub mod error;
pub mod errors;
pub mod evolve;
pub mod graphql_names;
pub mod if_match;
pub mod jobs;
pub mod json;
pub mod model;
pub mod names;
pub mod options;
pub mod patch;

use serde_json::{json, Value};

/// Entry point behind `specstar._plan`: check a spec and, when the context carries a
/// version id, generate its DDL. Always returns data: `{"ok": false, "errors": [...]}` or
/// `{"ok": true, "options": {...}, "descriptor": {...}, "roles": [{path, role}],
/// "create": [...], "drop": [...]}`; when the context names the `current` version, also
/// `"evolve"` (see [`evolve::plan`]). The SQL layer reads these facts, computed here from the
/// typed models, rather than digging into the descriptor.
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
    // every role the spec grants to, with where it came from (they must exist)
    let mut roles: Vec<Value> = [("read", &m.read_roles), ("write", &m.write_roles)]
        .into_iter()
        .flat_map(|(kind, list)| list.iter().enumerate().map(move |(i, r)| json!({"path": format!("/options/roles/{kind}/{i}"), "role": r})))
        .collect();
    if let Some(work) = m.options.roles.as_ref().and_then(|r| r.work.as_ref()) {
        roles.extend(work.iter().enumerate().map(|(i, r)| json!({"path": format!("/options/roles/work/{i}"), "role": r})));
    }
    roles.extend(ddl::access::roles(&m).into_iter().map(|(path, role)| json!({"path": path, "role": role})));
    out["roles"] = json!(roles);
    // the access rules, after everything else; sql: rules are checked to be one expression first
    out["access"] = json!(ddl.access);
    out["hooks"] = json!(ddl::hooks::checks(&m).into_iter().map(|(path, function, returns)| json!({"path": path, "function": function, "returns": returns})).collect::<Vec<_>>());
    out["sql_rules"] = json!(ddl::access::sql_rules(&m).into_iter().map(|(path, sql)| json!({"path": path, "sql": sql})).collect::<Vec<_>>());
    out["drop"] = json!([ddl.drop_behaviour.clone(), ddl.drop_storage.clone()].concat());
    // (a change of behaviour options alone rebuilds these in place)
    out["behaviour"] = json!(ddl.behaviour);
    out["drop_behaviour"] = json!(ddl.drop_behaviour);
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
                Ok(old) => {
                    let registered = match current.descriptor.as_ref().map(descriptor::Descriptor::from_json) {
                        Some(Err(e)) => return json!({"ok": false, "errors": [error::SpecError::new("", format!("registered version: {e}"), "")]}),
                        Some(Ok(d)) => Some(d),
                        None => None,
                    };
                    out["evolve"] = evolve::plan(&old, registered.as_ref(), &m, &ddl)
                }
            }
        }
    }
    out
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
        let ctx = json!({"vid": 9, "current": {"schema": v1, "options": {"version": "1"}}, "as_is_versions": []});
        let out = plan("a", &v2, &json!({"version": "2", "migrate": "up"}), &ctx);
        assert_eq!(out["ok"], true, "{out}");
        let e = &out["evolve"];
        assert_eq!(e["changes"][0]["path"], "/properties/n");
        assert_eq!(e["changes"][0]["needs_migrate"], true);
        assert!(out.get("create").is_none());
        let rewrite = e["rewrite_live"].as_str().unwrap();
        assert!(rewrite.contains("\"n\" = d.\"n\""), "{rewrite}");
        assert!(rewrite.contains("jsonb_to_record(m.data) AS d(\"n\" pg_catalog.text, \"title\" pg_catalog.text)"), "{rewrite}");
        assert!(rewrite.contains("_version = '2'"), "{rewrite}");
        // the old behaviour is dropped, the new one names the new version id
        assert!(e["drop_behaviour"].as_array().unwrap().iter().any(|s| s == "DROP VIEW \"api\".\"a\""));
        assert!(e["create_behaviour"].as_array().unwrap().iter().any(|s| s.as_str().unwrap().contains("_revision_trigger('a', '9')")));
        // drop_spec later drops everything, storage included
        assert!(out["drop"].as_array().unwrap().iter().any(|s| s == "DROP TABLE \"specstar_data\".\"a\""));
        // what the SQL layer needs, computed here
        assert_eq!(e["declared"], json!(["n", "title"]));
        assert_eq!(e["rebuild_search"], false);
    }

    #[test]
    fn plan_facts_come_from_the_registered_descriptor() {
        let v1 = json!({"type": "object", "properties": {"t": {"type": "string", "x-search": true}}});
        let v2 = json!({"type": "object", "properties": {"t": {"type": "string"}}});
        let registered = plan("a", &v1, &json!({}), &json!({"vid": 1, "read_roles": ["old_reader"]}));
        assert_eq!(registered["roles"], json!([{"path": "/options/roles/read/0", "role": "old_reader"}]));
        let ctx = json!({"vid": 2, "read_roles": ["new_reader"], "write_roles": ["w"],
                         "current": {"schema": v1, "options": {"version": "1"}, "descriptor": registered["descriptor"]}});
        let out = plan("a", &v2, &json!({"version": "2"}), &ctx);
        // the roles granted then are revoked, not today's defaults
        assert_eq!(out["evolve"]["revoke_roles"], json!(["old_reader"]));
        assert_eq!(out["roles"], json!([{"path": "/options/roles/read/0", "role": "new_reader"}, {"path": "/options/roles/write/0", "role": "w"}]));
        // the index went away: rebuilt (to empty)
        assert_eq!(out["evolve"]["rebuild_search"], true);
    }

    #[test]
    fn a_registered_version_that_no_longer_checks_is_named_as_such() {
        // e.g. a registered x-ref to a spec that is gone from the context
        let v1 = json!({"type": "object", "properties": {"who": {"type": "string", "format": "uuid", "x-ref": "person"}}});
        let v2 = json!({"type": "object", "properties": {"who": {"type": "string", "format": "uuid"}}});
        let ctx = json!({"vid": 9, "current": {"schema": v1, "options": {"version": "1"}}});
        let out = plan("a", &v2, &json!({"version": "2"}), &ctx);
        assert_eq!(out["ok"], false, "{out}");
        let message = out["errors"][0]["message"].as_str().unwrap();
        assert!(message.starts_with("registered version: /properties/who/x-ref"), "{message}");
    }
}
