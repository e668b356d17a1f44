//! Query fields, and the selections every field shares: records, connections (keyset
//! pagination fetching `first + 1` rows), filters and orders. Everything nested — revisions,
//! drafts, referenced and referring records — becomes a correlated subquery of the root
//! field's one statement.

use apollo_compiler::executable::Field;
use apollo_compiler::Node;
use base64::Engine;
use serde_json::Value;
use specstar_core::ddl::sql::{ident, literal, QualifiedName};
use specstar_core::graphql_names::{reference_field, referrers_field};

use crate::catalog::{Kind, SpecAccess};
use crate::entity::{Column, Entity};
use crate::plan::{Collected, Compiler, FieldError, Result, Step};
use crate::sql::{base64, col, object, output, Params};

/// A read-only root field.
pub fn root<'d>(c: &mut Compiler<'d>, field: &'d Node<Field>, merged: &[&'d Node<Field>]) -> Result<Step> {
    let mut p = Params::default();
    let name = field.name.as_str();
    let api = c.api.catalog.api_schema.clone();
    let mut null_on = vec![];
    let read = if name == "node" {
        node(c, &mut p, field, merged)?
    } else {
        let (spec, verb) = root_spec(c, name).ok_or_else(|| FieldError::invalid(format!("unknown field {name}")))?;
        let record = Entity::Record(spec);
        match verb {
            "Collection" => format!("SELECT {}", connection(c, &mut p, List::of(record, &api), merged)?),
            "ByPk" => {
                let id = p.typed(c.arg(field, "id"), Kind::Uuid);
                let x = p.alias("x");
                let fields = c.collect_merged(&record.type_name(), merged)?;
                let obj = record_object(c, &mut p, record, &x, &fields)?;
                format!("SELECT (SELECT {obj} FROM {} {x} WHERE {x}.id = {id})", record.relation(&api))
            }
            "At" => {
                let (revision, at) = (c.arg(field, "revision"), c.arg(field, "at"));
                if !revision.is_null() && !at.is_null() {
                    return Err(FieldError::invalid(format!("{name}: give either revision or at, not both")));
                }
                null_on.push("PT404".to_string());
                let args = format!("{}, {}, {}", p.typed(c.arg(field, "id"), Kind::Uuid), p.typed(revision, Kind::Int), p.typed(at, Kind::Datetime));
                let x = p.alias("x");
                let fields = c.collect_merged(&record.type_name(), merged)?;
                let obj = record_object(c, &mut p, record, &x, &fields)?;
                format!("SELECT (SELECT {obj} FROM {}({args}) {x})", QualifiedName::new(&api, &format!("{}_at", spec.name())))
            }
            "AsOf" => {
                let at = p.typed(c.arg(field, "at"), Kind::Datetime);
                let from = format!("{}({at})", QualifiedName::new(&api, &format!("{}_as_of", spec.name())));
                format!("SELECT {}", connection(c, &mut p, List { from, ..List::of(record, &api) }, merged)?)
            }
            "Revisions" => {
                let revision = Entity::Revision(spec);
                let id = p.typed(c.arg(field, "id"), Kind::Uuid);
                let list = List { extra: Some(format!("{{x}}.id = {id}")), ..List::of(revision, &api) };
                format!("SELECT {}", connection(c, &mut p, list, merged)?)
            }
            "RevisionCollection" => format!("SELECT {}", connection(c, &mut p, List::of(Entity::Revision(spec), &api), merged)?),
            "DraftCollection" => format!("SELECT {}", connection(c, &mut p, List::of(Entity::Draft(spec), &api), merged)?),
            "Diff" => {
                let args = format!(
                    "{}, {}, {}",
                    p.typed(c.arg(field, "id"), Kind::Uuid),
                    p.typed(c.arg(field, "fromRevision"), Kind::Int),
                    p.typed(c.arg(field, "toRevision"), Kind::Int)
                );
                format!("SELECT {}({args})", QualifiedName::new(&api, &format!("{}_diff", spec.name())))
            }
            "Search" => search(c, &mut p, spec, field, merged)?,
            _ => return Err(FieldError::invalid(format!("unknown field {name}"))),
        }
    };
    Ok(Step { key: String::new(), nullable: true, params: Value::Array(p.values), write: None, read: Some(read), null_on, at_most: None })
}

/// The spec and the verb of a root field (`blogPostByPk` → blog_post, `ByPk`).
pub fn root_spec<'a>(c: &Compiler<'a>, name: &str) -> Option<(&'a SpecAccess, &'static str)> {
    const VERBS: &[&str] = &["RevisionCollection", "DraftCollection", "Collection", "ByPk", "AsOf", "At", "Revisions", "Diff", "Search"];
    c.api.catalog.specs.iter().find_map(|s| {
        let prefix = s.field_prefix();
        let rest = name.strip_prefix(prefix.as_str())?;
        VERBS.iter().find(|v| **v == rest).map(|v| (s, *v))
    })
}

impl<'d> Compiler<'d> {
    /// The fields of every same-keyed field's selection set together.
    pub fn collect_merged(&mut self, type_name: &str, fields: &[&'d Node<Field>]) -> Result<Collected<'d>> {
        let mut out: Collected<'d> = Vec::new();
        for f in fields {
            for (key, fs) in self.collect(type_name, &f.selection_set)? {
                match out.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, existing)) => existing.extend(fs),
                    None => out.push((key, fs)),
                }
            }
        }
        Ok(out)
    }
}

/// `node(nodeId)`: any spec's record.
fn node<'d>(c: &mut Compiler<'d>, p: &mut Params, field: &'d Node<Field>, merged: &[&'d Node<Field>]) -> Result<String> {
    let Some((schema, spec, id)) = decode_node_id(&c.arg(field, "nodeId")) else {
        return Err(FieldError::invalid("nodeId is not one of this API's node ids"));
    };
    let Some(s) = c.api.catalog.spec(&spec).filter(|_| schema == c.api.catalog.api_schema) else {
        return Ok("SELECT NULL::pg_catalog.jsonb".into());
    };
    let record = Entity::Record(s);
    let x = p.alias("x");
    let fields = c.collect_merged(&record.type_name(), merged)?;
    let obj = record_object(c, p, record, &x, &fields)?;
    let id = p.typed(Value::String(id), Kind::Uuid);
    Ok(format!("SELECT (SELECT {obj} FROM {} {x} WHERE {x}.id = {id})", record.relation(&c.api.catalog.api_schema)))
}

/// `[api schema, spec, id]` from a node id.
pub fn decode_node_id(v: &Value) -> Option<(String, String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(v.as_str()?.trim()).ok()?;
    let parts: Vec<String> = serde_json::from_slice(&bytes).ok()?;
    let [schema, spec, id]: [String; 3] = parts.try_into().ok()?;
    // (a well-formed uuid, so that a bad one is this error, not a cast's)
    (id.len() == 36 && id.chars().all(|ch| ch.is_ascii_hexdigit() || ch == '-')).then_some((schema, spec, id))
}

/// `<spec>Search`: hits in score order; the filter applies before `top` and `skip`.
fn search<'d>(c: &mut Compiler<'d>, p: &mut Params, spec: &'d SpecAccess, field: &'d Node<Field>, merged: &[&'d Node<Field>]) -> Result<String> {
    let api = c.api.catalog.api_schema.clone();
    let record = Entity::Record(spec);
    let q = p.text(c.arg(field, "q"));
    // a list like any other: at most max_rows hits, silently
    let top = c.int_arg(field, "top")?.unwrap_or(20).min(c.settings.max_rows);
    let skip = c.int_arg(field, "skip")?.unwrap_or(0);
    if top < 0 || skip < 0 {
        return Err(FieldError::invalid("top and skip must not be negative"));
    }
    let x = p.alias("x");
    let filter = filter(c, p, record, &x, &c.arg(field, "filter"), 0)?;
    let hit_type = format!("{}SearchHit", spec.type_name());
    let hits = c.collect_merged(&hit_type, merged)?;
    let h = p.alias("h");
    let mut pairs = vec![];
    for (key, fs) in &hits {
        let expr = match fs[0].name.as_str() {
            "__typename" => format!("pg_catalog.to_jsonb({}::pg_catalog.text)", literal(&hit_type)),
            "score" => format!("pg_catalog.to_jsonb({h}.__score)"),
            "highlights" => format!("coalesce({h}.__highlights, '{{}}'::pg_catalog.jsonb)"),
            "node" => {
                let fields = c.collect_merged(&record.type_name(), fs)?;
                record_object(c, p, record, &h, &fields)?
            }
            other => return Err(FieldError::invalid(format!("unknown field {other}"))),
        };
        pairs.push((key.clone(), expr));
    }
    Ok(format!(
        "SELECT coalesce(pg_catalog.jsonb_agg({obj} ORDER BY {h}.__n), '[]'::pg_catalog.jsonb) FROM (\
         SELECT {x}.*, s.score AS __score, s.highlights AS __highlights, s.n AS __n \
         FROM specstar._search_hits({spec}, {q}, NULL, 0, true) WITH ORDINALITY AS s(id, score, highlights, n) \
         JOIN {rel} {x} ON {x}.id = s.id WHERE {filter} ORDER BY s.n OFFSET {skip} LIMIT {top}) {h}",
        obj = object(&pairs),
        spec = literal(spec.name()),
        rel = record.relation(&api),
    ))
}

/// The JSON object of a row (alias `alias`) for the fields selected on it.
pub fn record_object<'d>(c: &mut Compiler<'d>, p: &mut Params, entity: Entity<'d>, alias: &str, fields: &Collected<'d>) -> Result<String> {
    let api = c.api.catalog.api_schema.clone();
    let spec = entity.spec();
    let (revisions_field, draft_field) = (spec.revisions_field(), spec.draft_field());
    let mut pairs = vec![];
    for (key, fs) in fields {
        let f = fs[0];
        let name = f.name.as_str();
        let expr = if name == "__typename" {
            format!("pg_catalog.to_jsonb({}::pg_catalog.text)", literal(&entity.type_name()))
        } else if let Some(column) = entity.column(name) {
            output(&col(alias, &column.column), column.kind, column.array)
        } else {
            match (entity, name) {
                (Entity::Record(_), "nodeId") => base64(&format!(
                    "pg_catalog.jsonb_build_array({}, {}, {alias}.id)",
                    literal(&api),
                    literal(spec.name())
                )),
                (Entity::Revision(_), "op") => unreachable!("a column"),
                (Entity::Record(_), f) if f == revisions_field => {
                    let list = List { extra: Some(format!("{{x}}.id = {alias}.id")), ..List::of(Entity::Revision(spec), &api) };
                    connection(c, p, list, fs)?
                }
                (Entity::Record(_), f) if f == draft_field => {
                    let draft = Entity::Draft(spec);
                    let d = p.alias("d");
                    let sub = c.collect_merged(&draft.type_name(), fs)?;
                    let obj = record_object(c, p, draft, &d, &sub)?;
                    format!("(SELECT {obj} FROM {} {d} WHERE {d}.id = {alias}.id)", draft.relation(&api))
                }
                (Entity::Record(_), _) => {
                    if let Some((prop, target)) = reference(c, spec, name) {
                        let target = Entity::Record(target);
                        let r = p.alias("r");
                        let sub = c.collect_merged(&target.type_name(), fs)?;
                        let obj = record_object(c, p, target, &r, &sub)?;
                        format!("(SELECT {obj} FROM {} {r} WHERE {r}.id = {})", target.relation(&api), col(alias, &prop))
                    } else if let Some((referrer, prop)) = referrer(c, spec, name) {
                        let list = List { extra: Some(format!("{{x}}.{} = {alias}.id", ident(&prop))), ..List::of(Entity::Record(referrer), &api) };
                        connection(c, p, list, fs)?
                    } else {
                        return Err(FieldError::invalid(format!("unknown field {name}")));
                    }
                }
                _ => return Err(FieldError::invalid(format!("unknown field {name}"))),
            }
        };
        pairs.push((key.clone(), expr));
    }
    Ok(object(&pairs))
}

/// The property behind a `<property>Record` field, and the spec it points at.
fn reference<'d>(c: &Compiler<'d>, spec: &SpecAccess, field: &str) -> Option<(String, &'d SpecAccess)> {
    spec.descriptor.properties.iter().find_map(|p| {
        let target = c.api.catalog.spec(&p.reference.as_ref()?.spec)?;
        (reference_field(&p.name) == field).then(|| (p.name.clone(), target))
    })
}

/// The spec and property behind a `<spec>CollectionBy<Property>` field of `spec`.
fn referrer<'d>(c: &Compiler<'d>, spec: &SpecAccess, field: &str) -> Option<(&'d SpecAccess, String)> {
    c.api.catalog.referrers(spec.name()).find(|(s, p)| referrers_field(s.name(), &p.name) == field).map(|(s, p)| (s, p.name.clone()))
}

/// What a connection lists: rows of `entity` from `from` (a relation or a function call)
/// that satisfy `extra` (`{x}` stands for the row's alias).
pub struct List<'a> {
    pub entity: Entity<'a>,
    pub from: String,
    pub extra: Option<String>,
}

impl<'a> List<'a> {
    pub fn of(entity: Entity<'a>, api: &str) -> List<'a> {
        List { entity, from: entity.relation(api).to_string(), extra: None }
    }
}

/// One key of an order.
struct OrderKey {
    column: Column,
    desc: bool,
    nulls_first: bool,
}

impl OrderKey {
    fn sql(&self, alias: &str, reversed: bool) -> String {
        let desc = self.desc != reversed;
        let nulls_first = self.nulls_first != reversed;
        format!(
            "{} {} {}",
            col(alias, &self.column.column),
            if desc { "DESC" } else { "ASC" },
            if nulls_first { "NULLS FIRST" } else { "NULLS LAST" }
        )
    }

    /// `x` comes strictly after `value` in this key's order (`reversed`: before it).
    fn after(&self, alias: &str, value: Option<&str>, reversed: bool) -> Option<String> {
        let desc = self.desc != reversed;
        let nulls_first = self.nulls_first != reversed;
        let x = col(alias, &self.column.column);
        match value {
            None => nulls_first.then(|| format!("{x} IS NOT NULL")),
            Some(v) => {
                let cmp = if desc { "<" } else { ">" };
                Some(if nulls_first { format!("{x} {cmp} {v}") } else { format!("({x} {cmp} {v} OR {x} IS NULL)") })
            }
        }
    }
}

/// The order of a list: `orderBy` (each object's keys in turn), then the row's key.
fn order(entity: Entity, arg: &Value) -> Result<Vec<OrderKey>> {
    let mut keys: Vec<OrderKey> = vec![];
    let items: Vec<&Value> = match arg {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![arg],
        _ => vec![],
    };
    for item in items {
        for (field, direction) in item.as_object().into_iter().flatten() {
            let Some(direction) = direction.as_str() else { continue };
            let column = entity.column(field).ok_or_else(|| FieldError::invalid(format!("cannot order by {field}")))?;
            if keys.iter().any(|k| k.column.field == column.field) {
                continue;
            }
            keys.push(OrderKey { column, desc: direction.starts_with("Desc"), nulls_first: direction.ends_with("NullsFirst") });
        }
    }
    for column in entity.key() {
        if !keys.iter().any(|k| k.column.field == column.field) {
            keys.push(OrderKey { column, desc: false, nulls_first: false });
        }
    }
    Ok(keys)
}

/// A cursor's values (one per order key), or a 22023.
fn decode_cursor(v: &Value, keys: &[OrderKey]) -> Result<Option<Vec<Value>>> {
    let Some(text) = v.as_str() else { return Ok(None) };
    let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|_| FieldError::invalid("invalid cursor"))?;
    let values: Vec<Value> = serde_json::from_slice(&bytes).map_err(|_| FieldError::invalid("invalid cursor"))?;
    if values.len() != keys.len() {
        return Err(FieldError::invalid("the cursor belongs to another order: pass cursors back with the orderBy they came from"));
    }
    // each value must be one its key's column can hold (a cursor is opaque, but not trusted)
    for (k, v) in keys.iter().zip(&values) {
        if !v.is_null() && !cursor_value_fits(k.column.kind, v) {
            return Err(FieldError::invalid("invalid cursor"));
        }
    }
    Ok(Some(values))
}

/// Whether a cursor value has the shape of a column of `kind` (as `to_jsonb` wrote it).
fn cursor_value_fits(kind: Kind, v: &Value) -> bool {
    match kind {
        Kind::Uuid => v.as_str().is_some_and(|s| s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')),
        Kind::Int | Kind::BigInt => v.as_i64().is_some(),
        Kind::BigFloat => v.is_number(),
        Kind::Boolean => v.is_boolean(),
        Kind::Text | Kind::Datetime | Kind::Date => v.is_string(),
        Kind::Json => true,
    }
}

/// `x` strictly after (or before) the cursor: the first key that differs decides.
fn beyond(p: &mut Params, keys: &[OrderKey], values: &[Value], alias: &str, reversed: bool) -> String {
    let params: Vec<Option<String>> = keys
        .iter()
        .zip(values)
        .map(|(k, v)| (!v.is_null()).then(|| p.typed(Value::String(v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())), k.column.kind)))
        .collect();
    let mut terms = vec![];
    for (i, k) in keys.iter().enumerate() {
        let Some(after) = k.after(alias, params[i].as_deref(), reversed) else { continue };
        let mut parts: Vec<String> = keys[..i]
            .iter()
            .zip(&params)
            .map(|(e, v)| match v {
                Some(v) => format!("{} = {v}", col(alias, &e.column.column)),
                None => format!("{} IS NULL", col(alias, &e.column.column)),
            })
            .collect();
        parts.push(after);
        terms.push(format!("({})", parts.join(" AND ")));
    }
    if terms.is_empty() {
        "false".into()
    } else {
        format!("({})", terms.join(" OR "))
    }
}

/// A connection (`edges { cursor node }`, `pageInfo`, `totalCount`) over a list: keyset
/// pagination that fetches `first + 1` (or `last + 1`) rows.
pub fn connection<'d>(c: &mut Compiler<'d>, p: &mut Params, list: List<'d>, fs: &[&'d Node<Field>]) -> Result<String> {
    let field = fs[0];
    let entity = list.entity;
    let (first, last, offset) = (c.int_arg(field, "first")?, c.int_arg(field, "last")?, c.int_arg(field, "offset")?.unwrap_or(0));
    if first.is_some() && last.is_some() {
        return Err(FieldError::invalid("give first or last, not both"));
    }
    if first.is_some_and(|n| n < 0) || last.is_some_and(|n| n < 0) || offset < 0 {
        return Err(FieldError::invalid("first, last and offset must not be negative"));
    }
    if last.is_some() && offset > 0 {
        return Err(FieldError::invalid("offset goes with first, not last"));
    }
    let backward = last.is_some();
    let n = first.or(last).unwrap_or(c.settings.max_rows).min(c.settings.max_rows);
    let keys = order(entity, &c.arg(field, "orderBy"))?;
    let after = decode_cursor(&c.arg(field, "after"), &keys)?;
    let before = decode_cursor(&c.arg(field, "before"), &keys)?;
    let filter_arg = c.arg(field, "filter");
    // the rows of the list, whatever the page: for the page, totalCount and pageInfo
    let base = |c: &Compiler<'d>, p: &mut Params, alias: &str| -> Result<String> {
        let mut preds = vec![filter(c, p, entity, alias, &filter_arg, 0)?];
        if let Some(extra) = &list.extra {
            preds.push(extra.replace("{x}", alias));
        }
        Ok(preds.join(" AND "))
    };
    let x = p.alias("x");
    let mut wheres = vec![base(c, p, &x)?];
    if let Some(v) = &after {
        wheres.push(beyond(p, &keys, v, &x, false));
    }
    if let Some(v) = &before {
        wheres.push(beyond(p, &keys, v, &x, true));
    }
    let order_sql: Vec<String> = keys.iter().map(|k| k.sql(&x, backward)).collect();
    let cursor_cols: Vec<String> = keys.iter().map(|k| format!("pg_catalog.to_jsonb({})", col(&x, &k.column.column))).collect();
    let inner = format!(
        "SELECT {x}.*, {cursor} AS __cursor, pg_catalog.row_number() OVER (ORDER BY {order}) AS __pos FROM {from} {x} WHERE {wheres} \
         ORDER BY {order} LIMIT {limit} OFFSET {offset}",
        cursor = base64(&format!("pg_catalog.jsonb_build_array({})", cursor_cols.join(", "))),
        order = order_sql.join(", "),
        from = list.from,
        wheres = wheres.join(" AND "),
        limit = n + 1,
    );
    let pg = p.alias("p");
    // (row_number counts the rows OFFSET skips too)
    let in_page = format!("{pg}.__pos <= {}", offset + n);
    let (forward_dir, backward_dir) = if backward { ("DESC", "ASC") } else { ("ASC", "DESC") };
    let type_name = format!("{}Connection", entity.type_name());
    let selected = c.collect_merged(&type_name, fs)?;
    let mut pairs = vec![];
    for (key, sub) in &selected {
        let expr = match sub[0].name.as_str() {
            "__typename" => format!("pg_catalog.to_jsonb({}::pg_catalog.text)", literal(&type_name)),
            "totalCount" => {
                let y = p.alias("y");
                let preds = base(c, p, &y)?;
                format!("(SELECT pg_catalog.to_jsonb(pg_catalog.count(*)::pg_catalog.int4) FROM {} {y} WHERE {preds})", list.from)
            }
            "edges" => {
                let edge_type = format!("{}Edge", entity.type_name());
                let edge_fields = c.collect_merged(&edge_type, sub)?;
                let mut edge = vec![];
                for (ekey, efs) in &edge_fields {
                    let e = match efs[0].name.as_str() {
                        "__typename" => format!("pg_catalog.to_jsonb({}::pg_catalog.text)", literal(&edge_type)),
                        "cursor" => format!("pg_catalog.to_jsonb({pg}.__cursor)"),
                        "node" => {
                            let node_fields = c.collect_merged(&entity.type_name(), efs)?;
                            record_object(c, p, entity, &pg, &node_fields)?
                        }
                        other => return Err(FieldError::invalid(format!("unknown field {other}"))),
                    };
                    edge.push((ekey.clone(), e));
                }
                format!(
                    "coalesce(pg_catalog.jsonb_agg({} ORDER BY {pg}.__pos {forward_dir}) FILTER (WHERE {in_page}), '[]'::pg_catalog.jsonb)",
                    object(&edge)
                )
            }
            "pageInfo" => {
                let info = c.collect_merged("PageInfo", sub)?;
                let mut fields = vec![];
                for (ikey, ifs) in &info {
                    let e = match ifs[0].name.as_str() {
                        "__typename" => "pg_catalog.to_jsonb('PageInfo'::pg_catalog.text)".to_string(),
                        "startCursor" => format!(
                            "pg_catalog.to_jsonb((pg_catalog.array_agg({pg}.__cursor ORDER BY {pg}.__pos {forward_dir}) FILTER (WHERE {in_page}))[1])"
                        ),
                        "endCursor" => format!(
                            "pg_catalog.to_jsonb((pg_catalog.array_agg({pg}.__cursor ORDER BY {pg}.__pos {backward_dir}) FILTER (WHERE {in_page}))[1])"
                        ),
                        name @ ("hasNextPage" | "hasPreviousPage") => {
                            // the side the page was fetched towards: one more row than the page
                            let fetched_side = (name == "hasNextPage") != backward;
                            if fetched_side {
                                format!("pg_catalog.to_jsonb(pg_catalog.count(*) > {n})")
                            } else {
                                // the other side: rows on the far side of the cursor given there
                                let cursor = if backward { &before } else { &after };
                                match cursor {
                                    Some(v) => {
                                        let y = p.alias("y");
                                        let preds = base(c, p, &y)?;
                                        let not_beyond = beyond(p, &keys, v, &y, backward);
                                        format!("pg_catalog.to_jsonb(EXISTS (SELECT 1 FROM {} {y} WHERE {preds} AND NOT {not_beyond}))", list.from)
                                    }
                                    None if !backward && offset > 0 => "pg_catalog.to_jsonb(true)".to_string(),
                                    None => "pg_catalog.to_jsonb(false)".to_string(),
                                }
                            }
                        }
                        other => return Err(FieldError::invalid(format!("unknown field {other}"))),
                    };
                    fields.push((ikey.clone(), e));
                }
                object(&fields)
            }
            other => return Err(FieldError::invalid(format!("unknown field {other}"))),
        };
        pairs.push((key.clone(), expr));
    }
    // GROUP BY (): one row even when the page is empty (totalCount alone is no aggregate)
    Ok(format!("(SELECT {} FROM ({inner}) {pg} GROUP BY ())", object(&pairs)))
}

/// A filter (`<Type>Filter`) on a row (alias `alias`) as a predicate.
pub fn filter<'d>(c: &Compiler<'d>, p: &mut Params, entity: Entity<'d>, alias: &str, value: &Value, depth: usize) -> Result<String> {
    if depth > crate::plan::MAX_NESTING {
        return Err(FieldError::invalid("the filter nests too deeply"));
    }
    let Some(obj) = value.as_object() else { return Ok("true".into()) };
    let mut preds = vec![];
    for (key, v) in obj {
        if v.is_null() {
            continue;
        }
        let pred = match key.as_str() {
            "and" | "or" => {
                let parts: Vec<String> =
                    v.as_array().into_iter().flatten().map(|f| filter(c, p, entity, alias, f, depth + 1)).collect::<Result<_>>()?;
                match (key.as_str(), parts.is_empty()) {
                    ("and", true) => "true".into(),
                    ("or", true) => "false".into(),
                    (k, _) => format!("({})", parts.join(if k == "and" { " AND " } else { " OR " })),
                }
            }
            "not" => format!("NOT ({})", filter(c, p, entity, alias, v, depth + 1)?),
            "nodeId" if matches!(entity, Entity::Record(_)) => match v.get("eq") {
                Some(id) if !id.is_null() => match decode_node_id(id) {
                    Some((schema, spec, id)) if schema == c.api.catalog.api_schema && spec == entity.spec().name() => {
                        format!("{} = {}", col(alias, "id"), p.typed(Value::String(id), Kind::Uuid))
                    }
                    Some(_) => "false".into(),
                    None => return Err(FieldError::invalid("nodeId is not one of this API's node ids")),
                },
                _ => "true".into(),
            },
            field => {
                if let Some(column) = entity.column(field) {
                    column_filter(p, alias, &column, v)?
                } else if let (Entity::Record(spec), Some((prop, target))) = (entity, if let Entity::Record(s) = entity { reference(c, s, field) } else { None }) {
                    let _ = spec;
                    let target = Entity::Record(target);
                    let r = p.alias("r");
                    let inner = filter(c, p, target, &r, v, depth + 1)?;
                    format!("EXISTS (SELECT 1 FROM {} {r} WHERE {r}.id = {} AND {inner})", target.relation(&c.api.catalog.api_schema), col(alias, &prop))
                } else {
                    return Err(FieldError::invalid(format!("cannot filter by {field}")));
                }
            }
        };
        preds.push(pred);
    }
    Ok(if preds.is_empty() { "true".into() } else { format!("({})", preds.join(" AND ")) })
}

/// The operators of one column's filter.
fn column_filter(p: &mut Params, alias: &str, column: &Column, v: &Value) -> Result<String> {
    let x = col(alias, &column.column);
    let mut preds = vec![];
    for (op, operand) in v.as_object().into_iter().flatten() {
        if operand.is_null() {
            continue;
        }
        let kind = column.kind;
        let pred = match (op.as_str(), column.array, kind) {
            ("is", _, _) => match operand.as_str() {
                Some("NULL") => format!("{x} IS NULL"),
                _ => format!("{x} IS NOT NULL"),
            },
            ("contains", _, Kind::Json) => format!("{x} @> {}", p.json(operand.clone())),
            ("containedBy", _, Kind::Json) => format!("{x} <@ {}", p.json(operand.clone())),
            ("hasKey", _, Kind::Json) => format!("{x} ? {}", p.text(operand.clone())),
            ("contains", true, k) => format!("{x} @> {}", p.array(operand.clone(), k)),
            ("containedBy", true, k) => format!("{x} <@ {}", p.array(operand.clone(), k)),
            ("overlaps", true, k) => format!("{x} && {}", p.array(operand.clone(), k)),
            ("eq", true, k) => format!("{x} = {}", p.array(operand.clone(), k)),
            ("in", false, k) => format!("{x} = ANY ({})", p.array(operand.clone(), k)),
            ("startsWith", false, Kind::Text) => format!("pg_catalog.starts_with({x}, {})", p.text(operand.clone())),
            ("like", false, Kind::Text) => format!("{x} ~~ {}", p.text(operand.clone())),
            ("ilike", false, Kind::Text) => format!("{x} ~~* {}", p.text(operand.clone())),
            ("regex", false, Kind::Text) => format!("{x} ~ {}", p.text(operand.clone())),
            ("iregex", false, Kind::Text) => format!("{x} ~* {}", p.text(operand.clone())),
            (cmp @ ("eq" | "neq" | "gt" | "gte" | "lt" | "lte"), false, k) => {
                let operator = match cmp {
                    "eq" => "=",
                    "neq" => "<>",
                    "gt" => ">",
                    "gte" => ">=",
                    "lt" => "<",
                    _ => "<=",
                };
                format!("{x} {operator} {}", p.typed(scalar(operand), k))
            }
            (other, _, _) => return Err(FieldError::invalid(format!("{} cannot be filtered with {other}", column.field))),
        };
        preds.push(pred);
    }
    Ok(if preds.is_empty() { "true".into() } else { format!("({})", preds.join(" AND ")) })
}

/// A scalar input as the text a cast reads (numbers as their digits).
fn scalar(v: &Value) -> Value {
    match v {
        Value::String(_) => v.clone(),
        other => Value::String(other.to_string()),
    }
}

