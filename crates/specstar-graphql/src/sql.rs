//! Pieces of the SQL a request compiles to. Every value a client sends becomes a
//! parameter — an element of the one jsonb array `$1` the statement gets — and never text
//! of the statement; names come from the catalog (validated spec and property names).

use serde_json::Value;
use specstar_core::ddl::sql::{ident, literal};

use crate::catalog::Kind;

/// The parameters of one statement, and a counter for table aliases.
#[derive(Default)]
pub struct Params {
    pub values: Vec<Value>,
    aliases: usize,
}

impl Params {
    /// `$1 -> n`: the value as jsonb.
    pub fn json(&mut self, v: Value) -> String {
        self.values.push(v);
        format!("($1 OPERATOR(pg_catalog.->) {})", self.values.len() - 1)
    }

    /// The value as text (a JSON string unquoted; other JSON as its text).
    pub fn text(&mut self, v: Value) -> String {
        self.values.push(v);
        format!("($1 OPERATOR(pg_catalog.->>) {})", self.values.len() - 1)
    }

    /// The value cast to the column type of `kind`.
    pub fn typed(&mut self, v: Value, kind: Kind) -> String {
        match kind {
            // (`$1 -> n` of a JSON null is the jsonb value null, not SQL NULL)
            Kind::Json if v.is_null() => "NULL::pg_catalog.jsonb".to_string(),
            Kind::Json => self.json(v),
            _ => format!("({}::{})", self.text(v), kind.sql()),
        }
    }

    /// A JSON array as an SQL array of `kind`.
    pub fn array(&mut self, v: Value, kind: Kind) -> String {
        // GraphQL's input coercion: one value where a list is expected is a list of one
        let v = if v.is_array() { v } else { Value::Array(vec![v]) };
        let j = self.json(v);
        format!("ARRAY(SELECT pg_catalog.jsonb_array_elements_text({j}))::{}[]", kind.sql())
    }

    /// A column value: an array property's value as an array, others typed.
    pub fn column(&mut self, v: Value, kind: Kind, array: bool) -> String {
        if array && !v.is_null() {
            self.array(v, kind)
        } else if array {
            format!("NULL::{}[]", kind.sql())
        } else {
            self.typed(v, kind)
        }
    }

    /// A fresh table alias.
    pub fn alias(&mut self, prefix: &str) -> String {
        self.aliases += 1;
        format!("{prefix}{}", self.aliases)
    }
}

/// `jsonb_build_object` of (key, expression) pairs, chunked by 50 pairs and joined with
/// `||` (PostgreSQL functions take at most 100 arguments).
pub fn object(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return "'{}'::pg_catalog.jsonb".to_string();
    }
    pairs
        .chunks(50)
        .map(|c| {
            let args: Vec<String> = c.iter().map(|(k, e)| format!("{}, {e}", literal(k))).collect();
            format!("pg_catalog.jsonb_build_object({})", args.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" OPERATOR(pg_catalog.||) ")
}

/// `alias."column"`.
pub fn col(alias: &str, column: &str) -> String {
    format!("{alias}.{}", ident(column))
}

/// A column's value as the API returns it: 64-bit integers and decimals as strings, JSON as
/// itself, everything else as `to_jsonb` writes it.
pub fn output(expr: &str, kind: Kind, array: bool) -> String {
    match (kind, array) {
        (Kind::Json, _) => expr.to_string(),
        (Kind::BigInt | Kind::BigFloat, false) => format!("pg_catalog.to_jsonb(({expr})::pg_catalog.text)"),
        (Kind::BigInt | Kind::BigFloat, true) => format!("pg_catalog.to_jsonb(({expr})::pg_catalog.text[])"),
        _ => format!("pg_catalog.to_jsonb({expr})"),
    }
}

/// The base64 of a value's text, without the line breaks PostgreSQL puts every 76
/// characters: cursors and node ids.
pub fn base64(expr: &str) -> String {
    format!(
        "pg_catalog.translate(pg_catalog.encode(pg_catalog.convert_to(({expr})::pg_catalog.text, 'UTF8'), 'base64'), E'\\n', '')"
    )
}
