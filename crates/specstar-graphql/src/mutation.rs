//! Mutation fields. Each compiles into two statements: `write` changes rows through the
//! same views and RPCs as REST (so validation, history, triggers and grants are the same)
//! and returns the rows it wrote as a jsonb array; `read` builds the field's answer from
//! those rows (`$2`), so nested selections — revisions, drafts, references — see the state
//! after the write, which a data-modifying CTE's own statement could not.

use apollo_compiler::executable::Field;
use apollo_compiler::Node;
use serde_json::{Map, Value};
use specstar_core::ddl::sql::{ident, literal, QualifiedName};
use specstar_core::graphql_names::pascal;

use crate::catalog::{Kind, SpecAccess};
use crate::entity::Entity;
use crate::plan::{AtMost, Compiler, FieldError, Result, Step};
use crate::query::{filter, record_object};
use crate::sql::{object, Params};

/// What a mutation field does.
enum Verb {
    Insert,
    Update,
    Delete,
    Patch,
    Rollback,
    Restore,
    SaveDraft,
    Publish,
    Discard,
}

fn mutation_spec<'a>(c: &Compiler<'a>, name: &str) -> Option<(&'a SpecAccess, Verb)> {
    c.api.catalog.specs.iter().find_map(|s| {
        let p = pascal(s.name());
        let verb = if name == format!("insertInto{p}Collection") {
            Verb::Insert
        } else if name == format!("update{p}Collection") {
            Verb::Update
        } else if name == format!("deleteFrom{p}Collection") {
            Verb::Delete
        } else {
            match name.strip_prefix(s.field_prefix().as_str())? {
                "Patch" => Verb::Patch,
                "Rollback" => Verb::Rollback,
                "Restore" => Verb::Restore,
                "SaveDraft" => Verb::SaveDraft,
                "Publish" => Verb::Publish,
                "Discard" => Verb::Discard,
                _ => return None,
            }
        };
        Some((s, verb))
    })
}

/// A root mutation field.
pub fn root<'d>(c: &mut Compiler<'d>, field: &'d Node<Field>, merged: &[&'d Node<Field>]) -> Result<Step> {
    let name = field.name.as_str();
    let (spec, verb) = mutation_spec(c, name).ok_or_else(|| FieldError::invalid(format!("unknown field {name}")))?;
    let api = c.api.catalog.api_schema.clone();
    let record = Entity::Record(spec);
    let mut p = Params::default();
    let mut at_most = None;
    let call = |verb: &str| QualifiedName::new(&api, &format!("{}_{verb}", spec.name()));
    let rows_of = |call: String| format!("SELECT pg_catalog.jsonb_build_array(pg_catalog.to_jsonb(r)) FROM {call} r");
    let (write, read) = match verb {
        Verb::Insert => (insert(c, &mut p, spec, field)?, response(c, &mut p, record, merged)?),
        Verb::Update => {
            let limit = at_most_arg(c, field)?;
            at_most = Some(AtMost { count: limit, message: "update impacts too many records".into() });
            (update(c, &mut p, spec, field)?, response(c, &mut p, record, merged)?)
        }
        Verb::Delete => {
            let limit = at_most_arg(c, field)?;
            at_most = Some(AtMost { count: limit, message: "delete impacts too many records".into() });
            (delete(c, &mut p, spec, field)?, response(c, &mut p, record, merged)?)
        }
        Verb::Patch => {
            let args = format!(
                "{}, {}, {}",
                p.typed(c.arg(field, "id"), Kind::Uuid),
                p.json(c.arg(field, "patch")),
                p.typed(c.arg(field, "expectedRevision"), Kind::Int)
            );
            (rows_of(format!("{}({args})", call("patch"))), single(c, &mut p, record, merged)?)
        }
        Verb::Rollback => {
            let args = format!(
                "{}, {}, {}",
                p.typed(c.arg(field, "id"), Kind::Uuid),
                p.typed(c.arg(field, "toRevision"), Kind::Int),
                p.typed(c.arg(field, "expectedRevision"), Kind::Int)
            );
            (rows_of(format!("{}({args})", call("rollback"))), single(c, &mut p, record, merged)?)
        }
        Verb::Restore => {
            let id = p.typed(c.arg(field, "id"), Kind::Uuid);
            (rows_of(format!("{}({id})", call("restore"))), single(c, &mut p, record, merged)?)
        }
        Verb::Publish => {
            let args = format!("{}, {}", p.typed(c.arg(field, "id"), Kind::Uuid), p.typed(c.arg(field, "force"), Kind::Boolean));
            (rows_of(format!("{}({args})", call("publish"))), single(c, &mut p, record, merged)?)
        }
        Verb::Discard => {
            let id = p.typed(c.arg(field, "id"), Kind::Uuid);
            return Ok(Step {
                key: String::new(),
                nullable: false,
                params: Value::Array(p.values),
                write: Some(format!("SELECT 'true'::pg_catalog.jsonb FROM {}({id}) r", call("discard"))),
                read: None,
                null_on: vec![],
                at_most: None,
            });
        }
        Verb::SaveDraft => (save_draft(c, &mut p, spec, field)?, single(c, &mut p, Entity::Draft(spec), merged)?),
    };
    Ok(Step { key: String::new(), nullable: true, params: Value::Array(p.values), write: Some(write), read: Some(read), null_on: vec![], at_most })
}

fn at_most_arg(c: &Compiler, field: &Field) -> Result<i64> {
    let n = c.int_arg(field, "atMost")?.unwrap_or(1);
    if n < 0 {
        return Err(FieldError::invalid("atMost must not be negative"));
    }
    Ok(n)
}

/// `WITH w AS (<statement> RETURNING x.*) SELECT <the rows as a jsonb array>`.
fn returning_rows(statement: &str) -> String {
    format!("WITH w AS ({statement} RETURNING x.*) SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(w)), '[]'::pg_catalog.jsonb) FROM w")
}

/// The (column, value) pairs of an input object (`…InsertInput`, `…UpdateInput`).
fn assignments(p: &mut Params, entity: Entity, input: &Map<String, Value>, with_id: bool) -> Result<Vec<(String, String)>> {
    let mut out = vec![];
    for (field, v) in input {
        let column = entity
            .column(field)
            .filter(|c| with_id || c.column != "id")
            .ok_or_else(|| FieldError::invalid(format!("{field} cannot be written")))?;
        out.push((column.column.clone(), p.column(v.clone(), column.kind, column.array)));
    }
    Ok(out)
}

/// `insertInto<X>Collection(objects, onConflict)`: one INSERT of every object (DEFAULT for
/// the keys an object leaves out), an upsert with `onConflict`.
fn insert(c: &Compiler, p: &mut Params, spec: &SpecAccess, field: &Field) -> Result<String> {
    let record = Entity::Record(spec);
    let objects = c.arg(field, "objects");
    let objects: Vec<&Map<String, Value>> = objects.as_array().into_iter().flatten().filter_map(|o| o.as_object()).collect();
    if objects.is_empty() {
        return Ok("SELECT '[]'::pg_catalog.jsonb".into());
    }
    // the columns any object names, id first
    let mut columns: Vec<String> = vec!["id".into()];
    let mut rows: Vec<Vec<(String, String)>> = vec![];
    for o in &objects {
        let pairs = assignments(p, record, o, true)?;
        for (column, _) in &pairs {
            if !columns.contains(column) {
                columns.push(column.clone());
            }
        }
        rows.push(pairs);
    }
    let values: Vec<String> = rows
        .iter()
        .map(|row| {
            let items: Vec<String> = columns
                .iter()
                .map(|col| row.iter().find(|(c, _)| c == col).map(|(_, v)| v.clone()).unwrap_or_else(|| "DEFAULT".into()))
                .collect();
            format!("({})", items.join(", "))
        })
        .collect();
    let column_list: Vec<String> = columns.iter().map(|c| ident(c)).collect();
    let mut statement = format!(
        "INSERT INTO {} AS x ({}) VALUES {}",
        record.relation(&c.api.catalog.api_schema),
        column_list.join(", "),
        values.join(", ")
    );
    let conflict = c.arg(field, "onConflict");
    if let Some(conflict) = conflict.as_object() {
        let names = |key: &str| -> Result<Vec<String>> {
            conflict
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|v| {
                    let f = v.as_str().unwrap_or_default();
                    record.column(f).map(|col| col.column).ok_or_else(|| FieldError::invalid(format!("onConflict: unknown column {f}")))
                })
                .collect()
        };
        let on = names("on")?;
        if on.is_empty() {
            return Err(FieldError::invalid("onConflict.on must name id or a unique property"));
        }
        for column in &on {
            let unique = column == "id" || spec.descriptor.properties.iter().any(|pr| pr.name == *column && pr.unique);
            if !unique {
                return Err(FieldError::invalid(format!(
                    "onConflict.on: {column} is not unique (name id, or a property with x-unique)"
                )));
            }
        }
        if on.len() > 1 {
            return Err(FieldError::invalid("onConflict.on names one column: id or one x-unique property"));
        }
        let update = names("update")?;
        if update.iter().any(|u| u == "id") {
            return Err(FieldError::invalid("onConflict.update cannot overwrite id"));
        }
        let set: Vec<String> = if update.is_empty() {
            // nothing to overwrite: the clashing record is returned as it is (no revision)
            vec!["id = x.id".into()]
        } else {
            update.iter().map(|u| format!("{} = EXCLUDED.{}", ident(u), ident(u))).collect()
        };
        statement.push_str(&format!(
            " ON CONFLICT ({}) DO UPDATE SET {}",
            on.iter().map(|o| ident(o)).collect::<Vec<_>>().join(", "),
            set.join(", ")
        ));
    }
    Ok(returning_rows(&statement))
}

/// `update<X>Collection(set, filter, atMost, expectedRevision)`: one UPDATE of the view;
/// `expectedRevision` is the write's `revision`, which the revision trigger checks against
/// every matched record (PT409), as REST's If-Match does.
fn update(c: &Compiler, p: &mut Params, spec: &SpecAccess, field: &Field) -> Result<String> {
    let record = Entity::Record(spec);
    let set = c.arg(field, "set");
    let mut pairs = assignments(p, record, set.as_object().unwrap_or(&Map::new()), false)?;
    if pairs.is_empty() {
        return Err(FieldError::invalid("set names no column: give at least one"));
    }
    if let Some(expected) = c.int_arg(field, "expectedRevision")? {
        pairs.push(("revision".into(), p.typed(Value::from(expected), Kind::Int)));
    }
    let filter = filter(c, p, record, "x", &c.arg(field, "filter"), 0)?;
    let set: Vec<String> = pairs.iter().map(|(col, v)| format!("{} = {v}", ident(col))).collect();
    Ok(returning_rows(&format!("UPDATE {} AS x SET {} WHERE {filter}", record.relation(&c.api.catalog.api_schema), set.join(", "))))
}

/// `deleteFrom<X>Collection(filter, atMost, expectedRevision)`: one DELETE of the view; a
/// matched record at another revision than `expectedRevision` is PT409 (checked only for
/// rows the filter matched: CASE keeps the order).
fn delete(c: &Compiler, p: &mut Params, spec: &SpecAccess, field: &Field) -> Result<String> {
    let record = Entity::Record(spec);
    let filter = filter(c, p, record, "x", &c.arg(field, "filter"), 0)?;
    let condition = match c.int_arg(field, "expectedRevision")? {
        None => filter,
        Some(expected) => {
            let e = p.typed(Value::from(expected), Kind::Int);
            format!(
                "CASE WHEN ({filter}) IS NOT TRUE THEN false WHEN x.revision = {e} THEN true \
                 ELSE specstar._expect_revision({}, x.id, {e}, x.revision) END",
                literal(spec.name())
            )
        }
    };
    Ok(returning_rows(&format!("DELETE FROM {} AS x WHERE {condition}", record.relation(&c.api.catalog.api_schema))))
}

/// `<x>SaveDraft(id, set)`: one INSERT into the draft view, updating the keys `set` gives
/// when the draft exists (the draft trigger fills the rest from the live record).
fn save_draft(c: &Compiler, p: &mut Params, spec: &SpecAccess, field: &Field) -> Result<String> {
    let draft = Entity::Draft(spec);
    let set = c.arg(field, "set");
    let mut pairs = assignments(p, draft, set.as_object().unwrap_or(&Map::new()), false)?;
    pairs.insert(0, ("id".into(), match c.arg(field, "id") {
        Value::Null => "DEFAULT".into(),
        id => p.typed(id, Kind::Uuid),
    }));
    let columns: Vec<String> = pairs.iter().map(|(col, _)| ident(col)).collect();
    let values: Vec<&str> = pairs.iter().map(|(_, v)| v.as_str()).collect();
    let updates: Vec<String> = pairs.iter().skip(1).map(|(col, _)| format!("{} = EXCLUDED.{}", ident(col), ident(col))).collect();
    let on_conflict = if updates.is_empty() { "DO UPDATE SET id = x.id".to_string() } else { format!("DO UPDATE SET {}", updates.join(", ")) };
    Ok(returning_rows(&format!(
        "INSERT INTO {} AS x ({}) VALUES ({}) ON CONFLICT (id) {on_conflict}",
        draft.relation(&c.api.catalog.api_schema),
        columns.join(", "),
        values.join(", ")
    )))
}

/// `{affectedCount, records}` of the rows written (`$2`).
fn response<'d>(c: &mut Compiler<'d>, p: &mut Params, record: Entity<'d>, merged: &[&'d Node<Field>]) -> Result<String> {
    let api = c.api.catalog.api_schema.clone();
    let t = record.spec().type_name();
    let kind = match merged[0].name.as_str() {
        n if n.starts_with("insertInto") => "Insert",
        n if n.starts_with("update") => "Update",
        _ => "Delete",
    };
    let type_name = format!("{t}{kind}Response");
    let selected = c.collect_merged(&type_name, merged)?;
    let mut pairs = vec![];
    for (key, fs) in &selected {
        let expr = match fs[0].name.as_str() {
            "__typename" => format!("pg_catalog.to_jsonb({}::pg_catalog.text)", literal(&type_name)),
            "affectedCount" => "pg_catalog.to_jsonb(pg_catalog.jsonb_array_length($2))".to_string(),
            "records" => {
                let x = p.alias("x");
                let fields = c.collect_merged(&t, fs)?;
                let obj = record_object(c, p, record, &x, &fields)?;
                // (property names start with a letter: __n cannot clash)
                format!(
                    "(SELECT coalesce(pg_catalog.jsonb_agg({obj} ORDER BY {x}.__n), '[]'::pg_catalog.jsonb) \
                     FROM (SELECT r.*, pg_catalog.row_number() OVER () AS __n \
                     FROM pg_catalog.jsonb_populate_recordset(NULL::{}, $2) r) {x})",
                    record.relation(&api)
                )
            }
            other => return Err(FieldError::invalid(format!("unknown field {other}"))),
        };
        pairs.push((key.clone(), expr));
    }
    Ok(format!("SELECT {}", object(&pairs)))
}

/// The one row written (`$2`) as the field's object.
fn single<'d>(c: &mut Compiler<'d>, p: &mut Params, entity: Entity<'d>, merged: &[&'d Node<Field>]) -> Result<String> {
    let api = c.api.catalog.api_schema.clone();
    let x = p.alias("x");
    let fields = c.collect_merged(&entity.type_name(), merged)?;
    let obj = record_object(c, p, entity, &x, &fields)?;
    Ok(format!("SELECT (SELECT {obj} FROM pg_catalog.jsonb_populate_recordset(NULL::{}, $2) AS {x} LIMIT 1)", entity.relation(&api)))
}
