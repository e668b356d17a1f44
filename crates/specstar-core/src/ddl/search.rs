//! Behaviour of a spec with `x-search` properties: the statement triggers that feed its
//! search index (one per event: transition tables allow no more), and `<spec>_search`.

use serde_json::{json, Value};

use super::{coldefs, Objects};
use crate::model::{Property, SpecModel};
use crate::names::{ident, literal};
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

/// `{"fields": [...], "language": ...}`, or null without searchable properties: what the
/// index is built from; a change of it rebuilds the index.
pub fn descriptor(m: &SpecModel) -> Value {
    let names: Vec<&str> = fields(m).map(|p| p.name.as_str()).collect();
    if names.is_empty() {
        return Value::Null;
    }
    json!({"fields": names, "language": language(m)})
}

pub fn create(m: &SpecModel, o: &Objects, vid: i64) -> Vec<String> {
    let searched: Vec<&Property> = fields(m).collect();
    if searched.is_empty() {
        return vec![];
    }
    let spec = literal(&m.name);
    let cols = |alias: &str| searched.iter().map(|p| format!("{alias}.{}", ident(&p.name))).collect::<Vec<_>>().join(", ");
    let doc = |alias: &str| format!("jsonb_build_array({alias}.id, {})", cols(alias));
    let tuple = |alias: &str| format!("ROW({})", cols(alias));
    // Rows go to the index in chunks (one segment each): a bulk statement never builds one
    // huge JSON value, and a chunk holds an updated resource's new version with its tombstone.
    let mut out = vec![format!(
        "CREATE FUNCTION {f}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $specstar$\n\
         -- Feeds the search index of spec {name} (specstar._search_write): new documents from\n\
         -- new_rows, tombstones for the old versions in old_rows; updates that leave every\n\
         -- searchable property as it was change nothing.\n\
         DECLARE\n  v_ids uuid[];\n  v_docs jsonb;\n\
         BEGIN\n\
           IF TG_OP = 'INSERT' THEN\n\
             FOR v_docs IN SELECT jsonb_agg({doc_n}) FROM (SELECT *, (row_number() OVER ()) / {chunk} AS _chunk FROM new_rows) n GROUP BY n._chunk LOOP\n\
               PERFORM specstar._search_write({spec}, {vid}, NULL, v_docs);\n\
             END LOOP;\n\
           ELSIF TG_OP = 'UPDATE' THEN\n\
             FOR v_ids, v_docs IN\n\
               SELECT array_agg(n.id), jsonb_agg({doc_n})\n\
                 FROM (SELECT n.*, (row_number() OVER ()) / {chunk} AS _chunk\n\
                         FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {tn} IS DISTINCT FROM {to}) n\n\
                GROUP BY n._chunk\n\
             LOOP\n\
               PERFORM specstar._search_write({spec}, {vid}, v_ids, v_docs);\n\
             END LOOP;\n\
           ELSE\n\
             FOR v_ids IN SELECT array_agg(o.id) FROM (SELECT id, (row_number() OVER ()) / {chunk} AS _chunk FROM old_rows) o GROUP BY o._chunk LOOP\n\
               PERFORM specstar._search_write({spec}, {vid}, v_ids, NULL);\n\
             END LOOP;\n\
           END IF;\n\
           RETURN NULL;\n\
         END\n$specstar$",
        f = o.fn_search_trigger,
        name = m.name,
        doc_n = doc("n"),
        tn = tuple("n"),
        to = tuple("o"),
        chunk = CHUNK_ROWS,
    )];
    out.push(format!("REVOKE ALL ON FUNCTION {}() FROM PUBLIC", o.fn_search_trigger));
    for (name, event, refs) in [
        ("specstar_search_insert", "INSERT", "NEW TABLE AS new_rows"),
        ("specstar_search_update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("specstar_search_delete", "DELETE", "OLD TABLE AS old_rows"),
    ] {
        out.push(format!(
            "CREATE TRIGGER {name} AFTER {event} ON {} REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION {}()",
            o.table, o.fn_search_trigger
        ));
    }
    let props = if m.properties.is_empty() { String::new() } else { format!("{}, ", coldefs(&m.properties)) };
    let t_cols: String = m.properties.iter().map(|p| format!("t.{}, ", ident(&p.name))).collect();
    // Plain SQL (inlined into the caller's query, so filters reach the join); the checks and
    // errors live in specstar._search_hits.
    out.push(format!(
        "CREATE FUNCTION {f}(q text, top integer DEFAULT 20, skip integer DEFAULT 0)\n\
         RETURNS TABLE (id uuid, {props}revision integer, created_at timestamptz, created_by text, updated_at timestamptz, updated_by text, score real, highlights jsonb)\n\
         LANGUAGE sql STABLE AS $specstar$\n\
           SELECT t.id, {t_cols}t.revision, t.created_at, t.created_by, t.updated_at, t.updated_by, h.score, h.highlights\n\
             FROM specstar._search_hits({spec}, $1, $2, $3, true) WITH ORDINALITY AS h(id, score, highlights, n)\n\
             JOIN {view} t ON t.id = h.id\n\
            ORDER BY h.n\n\
         $specstar$",
        f = o.fn_search,
        view = o.view,
    ));
    out.push(format!(
        "COMMENT ON FUNCTION {} IS {}",
        o.fn_search,
        literal(&format!(
            "Full-text search of {name} (BM25): the best `top` hits after `skip`, with score and highlights. \
             Query: words (all must match), AND, OR, -word, \"a phrase\", field:word, prefix*, fuzzy~1. Searchable: {fields}.",
            name = m.name,
            fields = searched.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
        ))
    ));
    out.push(format!("REVOKE ALL ON FUNCTION {} FROM PUBLIC", o.fn_search));
    for role in super::dedup(m.read_roles.iter().chain(m.write_roles.iter())) {
        out.push(format!("GRANT EXECUTE ON FUNCTION {} TO {}", o.fn_search, ident(role)));
    }
    out
}

pub fn drop(m: &SpecModel, o: &Objects) -> Vec<String> {
    if fields(m).next().is_none() {
        return vec![];
    }
    vec![
        format!("DROP FUNCTION {}(text, integer, integer)", o.fn_search),
        format!("DROP TRIGGER specstar_search_delete ON {}", o.table),
        format!("DROP TRIGGER specstar_search_update ON {}", o.table),
        format!("DROP TRIGGER specstar_search_insert ON {}", o.table),
        format!("DROP FUNCTION {}()", o.fn_search_trigger),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Context;

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
        assert_eq!(descriptor(&model(json!({}))), json!({"fields": ["tags", "title"], "language": "english"}));
        assert_eq!(descriptor(&model(json!({"search": {"language": "simple"}})))["language"], "simple");
    }

    #[test]
    fn triggers_and_function_only_with_searchable_properties() {
        let m = model(json!({}));
        let o = Objects::new("article", "api");
        let sql = create(&m, &o, 3).join("\n");
        assert!(sql.contains("AFTER UPDATE ON \"specstar_data\".\"article\" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"));
        assert!(sql.contains("specstar._search_write('article', 3, v_ids, v_docs)"));
        assert!(sql.contains("specstar._search_write('article', 3, NULL, v_docs)"));
        assert!(sql.contains("specstar._search_write('article', 3, v_ids, NULL)"));
        assert!(sql.contains("jsonb_build_array(n.id, n.\"tags\", n.\"title\")"));
        assert!(sql.contains("\"views\" bigint") || sql.contains("\"views\" "), "{sql}");
        assert_eq!(drop(&m, &o).len(), 5);
        let plain = SpecModel::build("note", &json!({"type": "object", "properties": {"t": {"type": "string"}}}), &json!({}), &Context::default()).unwrap();
        assert!(create(&plain, &Objects::new("note", "api"), 1).is_empty());
        assert!(drop(&plain, &Objects::new("note", "api")).is_empty());
        assert_eq!(descriptor(&plain), Value::Null);
    }
}
