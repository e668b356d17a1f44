//! Behaviour of a spec with `x-search` properties: the statement triggers that feed its
//! search index (one per event: transition tables allow no more), and `<spec>_search`.

use super::sql::{ident, literal, render};
use super::Objects;
use crate::descriptor::SearchIndex;
use crate::model::{Property, SpecModel};
use crate::options::Language;

/// Rows of one statement indexed together (one segment).
pub const CHUNK_ROWS: usize = 20_000;

/// The searchable properties, in column order (the index's field order).
pub fn fields(m: &SpecModel) -> impl Iterator<Item = &Property> {
    m.properties.iter().filter(|p| p.search)
}

fn language(m: &SpecModel) -> Language {
    m.options.search.as_ref().map(|s| s.language).unwrap_or_default()
}

/// What the index is built from, or None without searchable properties.
pub fn descriptor(m: &SpecModel) -> Option<SearchIndex> {
    let names: Vec<String> = fields(m).map(|p| p.name.clone()).collect();
    (!names.is_empty()).then(|| SearchIndex { fields: names, language: language(m) })
}

pub fn create(m: &SpecModel, o: &Objects, vid: i64) -> Vec<String> {
    let searched: Vec<&Property> = fields(m).collect();
    if searched.is_empty() {
        return vec![];
    }
    let cols = |alias: &str| searched.iter().map(|p| format!("{alias}.{}", ident(&p.name))).collect::<Vec<_>>().join(", ");
    let props = format!("{}, ", m.properties.iter().map(|p| format!("{} {}", ident(&p.name), p.column_type.sql())).collect::<Vec<_>>().join(", "));
    let t_cols: String = m.properties.iter().map(|p| format!("t.{}, ", ident(&p.name))).collect();
    let names = [
        ("fn_search_trigger", o.fn_search_trigger.name.to_string()),
        ("fn_search", o.fn_search.name.to_string()),
        ("view", o.view.to_string()),
        ("spec", literal(&m.name)),
        ("name", m.name.clone()),
        ("vid", vid.to_string()),
        ("chunk", CHUNK_ROWS.to_string()),
        ("doc_n", format!("jsonb_build_array(n.id, {})", cols("n"))),
        ("tuple_n", format!("ROW({})", cols("n"))),
        ("tuple_o", format!("ROW({})", cols("o"))),
        ("props", props),
        ("t_cols", t_cols),
    ];
    let vars: Vec<(&str, &str)> = names.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut out = vec![
        render(include_str!("templates/search_trigger.sql"), &vars),
        o.fn_search_trigger.depends_on_extension(),
        o.fn_search_trigger.revoke_public(),
    ];
    out.extend(super::statement_triggers("specstar_search", o, &o.fn_search_trigger));
    out.push(render(include_str!("templates/search.sql"), &vars));
    out.push(o.fn_search.depends_on_extension());
    out.push(format!(
        "COMMENT ON FUNCTION {} IS {}",
        o.fn_search.signature(),
        literal(&format!(
            "Full-text search of {name} (BM25): the best `top` hits after `skip`, with score and highlights. \
             Query: words (all must match), AND, OR, -word, \"a phrase\", field:word, prefix*, fuzzy~1. Searchable: {fields}.",
            name = m.name,
            fields = searched.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
        ))
    ));
    out
}

pub fn drop(m: &SpecModel, o: &Objects) -> Vec<String> {
    if fields(m).next().is_none() {
        return vec![];
    }
    vec![
        o.fn_search.drop(),
        format!("DROP TRIGGER specstar_search_delete ON {}", o.table),
        format!("DROP TRIGGER specstar_search_update ON {}", o.table),
        format!("DROP TRIGGER specstar_search_insert ON {}", o.table),
        o.fn_search_trigger.drop(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Context;
    use serde_json::{json, Value};

    fn model(options: Value) -> SpecModel {
        let schema = json!({
            "type": "object",
            "properties": {
                "title": {"type": "string", "x-search": true},
                "tags": {"type": "array", "items": {"type": "string"}, "x-search": true},
                "views": {"type": "integer"}
            }
        });
        SpecModel::build("article", &schema, &options, &Context::default()).unwrap()
    }

    #[test]
    fn descriptor_lists_fields_in_column_order_and_the_language() {
        let d = descriptor(&model(json!({}))).unwrap();
        assert_eq!(d, SearchIndex { fields: vec!["tags".into(), "title".into()], language: Language::English });
        assert_eq!(descriptor(&model(json!({"search": {"language": "simple"}}))).unwrap().language, Language::Simple);
    }

    #[test]
    fn triggers_and_function_only_with_searchable_properties() {
        let m = model(json!({}));
        let o = Objects::new("article", "api");
        let sql = create(&m, &o, 3).join("\n");
        assert!(sql.contains("AFTER UPDATE ON \"specstar_data\".\"article\" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"));
        assert!(sql.contains("specstar._search_feed('article', 3, _ids, _docs, _n)"));
        assert!(sql.contains("specstar._search_feed('article', 3, NULL, _docs, _n)"));
        assert!(sql.contains("specstar._search_feed('article', 3, _ids, NULL, _n)"));
        assert!(sql.contains("jsonb_build_array(n.id, n.\"tags\", n.\"title\")"));
        assert!(sql.contains("\"views\" bigint") || sql.contains("\"views\" "), "{sql}");
        assert_eq!(drop(&m, &o).len(), 5);
        let plain = SpecModel::build("note", &json!({"type": "object", "properties": {"t": {"type": "string"}}}), &json!({}), &Context::default()).unwrap();
        assert!(create(&plain, &Objects::new("note", "api"), 1).is_empty());
        assert!(drop(&plain, &Objects::new("note", "api")).is_empty());
        assert_eq!(descriptor(&plain), None);
    }
}
