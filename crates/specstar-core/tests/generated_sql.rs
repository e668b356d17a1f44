//! Everything `register_spec` generates for `examples/article.json`, as one SQL file under
//! review (`tests/snapshots/generated_sql__article.snap`): a change to generated SQL shows
//! up in the diff as SQL. After an intended change: `INSTA_UPDATE=always cargo test -p
//! specstar-core --test generated_sql` and read the new snapshot before committing it.

use serde_json::{json, Value};

#[test]
fn article() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(root.join("examples/article.json")).unwrap()).unwrap();
    let context = json!({"vid": 2, "specs": ["author"], "read_roles": ["web_anon"], "write_roles": ["web_writer"]});
    let out = specstar_core::plan("article", &schema, &json!({}), &context);
    assert_eq!(out["ok"], true, "{out}");
    let section = |title: &str, key: &str| {
        let statements: Vec<&str> = out[key].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
        format!("-- {title}\n\n{};\n", statements.join(";\n\n"))
    };
    let sql = [section("created by register_spec", "create"), section("dropped by drop_spec", "drop")].join("\n");
    insta::assert_snapshot!("article", sql);
}

/// The row-level security an `access` option adds (docs/permissions.md), with the option
/// each statement implements.
#[test]
fn article_access() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(root.join("examples/article.json")).unwrap()).unwrap();
    let context = json!({"vid": 2, "specs": ["author"], "read_roles": ["web_anon"], "write_roles": ["web_writer"]});
    let options = json!({"access": {"read": ["owner", "role:editor", "sql:status = 'published'"], "write": ["owner", "role:editor"], "create": ["authenticated"]}});
    let out = specstar_core::plan("article", &schema, &options, &context);
    assert_eq!(out["ok"], true, "{out}");
    let steps: Vec<String> = out["access"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("-- {}\n{}", s["path"].as_str().unwrap(), s["sql"].as_str().unwrap()))
        .collect();
    let drops: Vec<&str> = out["drop_behaviour"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).filter(|s| s.contains("POLICY") || s.contains("__")).collect();
    let sql = format!("-- access rules\n\n{};\n\n-- lifted again\n\n{};\n", steps.join(";\n\n"), drops.join(";\n\n"));
    insta::assert_snapshot!("article_access", sql);
}
