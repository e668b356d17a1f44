//! specstar-core: everything specstar does that needs no database — checking specs,
//! planning columns, generating SQL, validating documents and JSON Patch. The extension
//! crate is a thin pgrx layer over this.

pub mod ddl;
pub mod document;
pub mod error;
pub mod if_match;
pub mod errors;
pub mod model;
pub mod names;
pub mod options;
pub mod patch;

use serde_json::{json, Value};

/// Entry point behind `specstar._plan`: check a spec and, when the context carries a
/// version id, generate its DDL. Always returns data: `{"ok": false, "errors": [...]}` or
/// `{"ok": true, "options": {...}, "descriptor": {...}, "create": [...], "drop": [...]}`.
pub fn plan(name: &str, schema: &Value, options: &Value, context: &Value) -> Value {
    let ctx: model::Context = match serde_json::from_value(context.clone()) {
        Ok(c) => c,
        Err(e) => return json!({"ok": false, "errors": [error::SpecError::new("", format!("internal: bad planning context: {e}"), "")]}),
    };
    match model::SpecModel::build(name, schema, options, &ctx) {
        Err(errors) => json!({"ok": false, "errors": errors}),
        Ok(m) => {
            let normalized = serde_json::to_value(&m.options).expect("options serialize");
            match ctx.vid {
                None => json!({"ok": true, "options": normalized, "api_schema": m.api_schema, "version": m.version}),
                Some(vid) => {
                    let ddl = ddl::generate(&m, vid);
                    json!({
                        "ok": true,
                        "options": normalized,
                        "api_schema": m.api_schema,
                        "version": m.version,
                        "descriptor": ddl.descriptor,
                        "create": ddl.create,
                        "drop": ddl.drop,
                    })
                }
            }
        }
    }
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
    }
}
