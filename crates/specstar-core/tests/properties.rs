//! Property tests of the pure core over generated input: documents, schemas, options and
//! patches of any shape (deep nesting, huge and tiny numbers, odd keys) give a result or an
//! error value — never a panic, a stack overflow or an unbounded allocation.

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use specstar_core::document::DocValidator;
use specstar_core::json::{check_depth, MAX_DEPTH};
use specstar_core::patch;

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        prop::sample::select(vec!["1e400", "-1e400", "1e-400", "123456789012345678901234567890", "-0", "0.0000000001"])
            .prop_map(|s| serde_json::from_str::<Value>(s).unwrap()),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        "\\PC{0,12}".prop_map(Value::String),
        prop::sample::select(vec!["string", "integer", "object", "array", "number", "boolean", "null", "date-time", "uuid", "(", "[a-", "#/$defs/x", "http://example.com/s", "file:///etc/passwd"])
            .prop_map(|s| Value::String(s.into())),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "type", "properties", "items", "required", "pattern", "maxLength", "minLength", "minimum", "maximum", "multipleOf",
            "enum", "const", "default", "format", "$ref", "$defs", "anyOf", "oneOf", "allOf", "not", "if", "then", "else",
            "additionalProperties", "patternProperties", "uniqueItems", "maxItems", "x-search", "x-ref", "x-unique", "x-index",
            "x-on-delete", "title", "description", "$schema", "$id", "a", "b", "id", "_x", "score",
        ])
        .prop_map(String::from),
        "[a-z~/]{0,6}",
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `v` under `n` more levels of arrays and objects (built without deep recursion).
fn wrapped(v: Value, n: usize) -> Value {
    (0..n).fold(v, |v, i| if i % 2 == 0 { Value::Array(vec![v]) } else { json!({ "k": v }) })
}

fn deep_value() -> impl Strategy<Value = Value> {
    (value(), 0usize..140).prop_map(|(v, n)| wrapped(v, n))
}

/// A spec whose properties are generated subschemas.
fn spec() -> impl Strategy<Value = Value> {
    (prop::collection::btree_map("[a-z][a-z_]{0,8}", prop_oneof![value(), deep_value()], 1..5), value()).prop_map(|(props, extra)| {
        let mut root = Map::new();
        root.insert("type".into(), json!("object"));
        root.insert("properties".into(), Value::Object(props.into_iter().collect()));
        if let Value::Object(o) = extra {
            for (k, v) in o.into_iter().filter(|(k, _)| k != "type" && k != "properties") {
                root.insert(k, v);
            }
        }
        Value::Object(root)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn depth_checks_agree_with_the_nesting(v in value(), n in 0usize..200) {
        let deep = wrapped(v, n);
        if check_depth(&deep, MAX_DEPTH).is_ok() {
            // within the limit, serde_json reads it back (its own limit is 128)
            prop_assert!(serde_json::from_str::<Value>(&deep.to_string()).is_ok());
        } else {
            prop_assert!(n + 1 > MAX_DEPTH - 6);
        }
    }

    #[test]
    fn any_spec_is_planned_or_refused(schema in spec(), options in prop_oneof![value(), Just(json!({}))]) {
        let out = specstar_core::plan("gen", &schema, &options, &json!({"vid": 1, "specs": ["other"]}));
        prop_assert!(out["ok"].is_boolean(), "{}", out);
        if out["ok"] == json!(true) {
            // a spec that registers compiles, and validates any document without panicking
            let v = DocValidator::compile(&schema).expect("registered specs compile");
            let _ = v.errors(&json!({}));
            let _ = v.errors(&schema);
        } else {
            prop_assert!(out["errors"].as_array().is_some_and(|e| !e.is_empty()), "{}", out);
        }
    }

    #[test]
    fn any_document_is_validated(schema in spec(), doc in deep_value()) {
        if let Ok(v) = DocValidator::compile(&schema) {
            let errors = v.errors(&doc);
            prop_assert!(errors.len() <= 20);
            for e in errors {
                prop_assert!(e.message.chars().count() < 2000, "{}", e.message);
            }
        }
    }

    #[test]
    fn any_patch_is_applied_or_refused(doc in deep_value(), ops in prop::collection::vec((
        prop::sample::select(vec!["add", "remove", "replace", "move", "copy", "test", "bogus"]),
        prop::sample::select(vec!["", "/", "/k", "/0", "/-", "/k/0", "/a", "/~1", "/0/k/0"]),
        prop::sample::select(vec!["", "/k", "/0", "/k/0"]),
        deep_value()), 0..12)) {
        let patch: Vec<Value> = ops.into_iter().map(|(op, path, from, value)| json!({"op": op, "path": path, "from": from, "value": value})).collect();
        match patch::apply(&doc, &Value::Array(patch)) {
            Ok(out) => prop_assert!(check_depth(&out, MAX_DEPTH).is_ok()),
            Err(f) => prop_assert!(!f.message.is_empty()),
        }
        let _ = patch::diff(&doc, &json!({"k": doc.clone()}));
    }
}
