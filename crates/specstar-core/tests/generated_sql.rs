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
