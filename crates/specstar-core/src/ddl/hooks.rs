//! Hooks (`options.hooks`, docs/events.md): user functions run inside the writing
//! transaction, with the writer's rights, by two PL/pgSQL row triggers on the live table.
//! They are PL/pgSQL, not part of the revision trigger (Rust), so that an error a hook
//! raises reaches the client with its own SQLSTATE, message, detail and hint.
//!
//! - `specstar_a_hooks` (BEFORE, named to fire before specstar's revision trigger): builds the
//!   event, calls the `before_write` hooks in order, each seeing `new` as the previous one
//!   left it, and writes the final document back into the row; the revision trigger then
//!   validates it, and row-level security checks the final row.
//! - `specstar_z_hooks` (AFTER): calls the `after_write` hooks with the revision as written.
//!
//! Draft saves write no revision and run no hooks; migrations rewrite rows while the spec's
//! behaviour is being rebuilt, so they run none either.

use super::sql::{ident, literal, QualifiedName};
use super::{Function, Objects, DATA_SCHEMA};
use crate::model::SpecModel;
use crate::options::hook_name;

fn before_fn(o: &Objects) -> Function {
    Function::new(QualifiedName::new(DATA_SCHEMA, &format!("{}__hooks_before", o.spec)), "")
}

fn after_fn(o: &Objects) -> Function {
    Function::new(QualifiedName::new(DATA_SCHEMA, &format!("{}__hooks_after", o.spec)), "")
}

/// `"schema"."name"` of each hook of a list (names were checked when the options parsed).
fn calls(list: &[String]) -> Vec<String> {
    list.iter().filter_map(|n| hook_name(n).ok()).map(|(s, f)| format!("{}.{}", ident(&s), ident(&f))).collect()
}

/// Every hook with its pointer and kind, for the registration checks (sql/specs.sql).
pub fn checks(m: &SpecModel) -> Vec<(String, String, &'static str)> {
    let Some(h) = &m.options.hooks else { return Vec::new() };
    let mut out = Vec::new();
    for (point, list, returns) in [("before_write", &h.before_write, "jsonb"), ("after_write", &h.after_write, "void")] {
        for (i, name) in list.iter().enumerate() {
            if let Ok((s, f)) = hook_name(name) {
                out.push((format!("/options/hooks/{point}/{i}"), format!("{}.{}", ident(&s), ident(&f)), returns));
            }
        }
    }
    out
}

/// A hooks function's extension dependency and grants, and its row trigger on the live table.
fn row_trigger(o: &Objects, f: &Function, name: &str, when: &str) -> Vec<String> {
    vec![
        f.depends_on_extension(),
        f.revoke_public(),
        format!("CREATE TRIGGER {name} {when} INSERT OR UPDATE OR DELETE ON {} FOR EACH ROW EXECUTE FUNCTION {}", o.table, f.signature()),
    ]
}

pub fn create(m: &SpecModel, o: &Objects, vid: i64) -> Vec<String> {
    let Some(h) = &m.options.hooks else { return Vec::new() };
    let spec = literal(&m.name);
    let props: Vec<String> = m.properties.iter().map(|p| ident(&p.name)).collect();
    let row = |alias: &str| {
        if props.is_empty() {
            "ROW()".to_string()
        } else {
            format!("ROW({})", props.iter().map(|p| format!("{alias}.{p}")).collect::<Vec<_>>().join(", "))
        }
    };
    let prop_names = format!("ARRAY[{}]::pg_catalog.text[]", m.properties.iter().map(|p| literal(&p.name)).collect::<Vec<_>>().join(", "));
    let mut out = Vec::new();
    let before = calls(&h.before_write);
    if !before.is_empty() {
        let chain: String = before
            .iter()
            .map(|f| {
                format!(
                    "  _ret := {f}(_event);\n  IF _ret IS NOT NULL AND TG_OP <> 'DELETE' THEN\n    _new := _ret;\n    _event := pg_catalog.jsonb_set(_event, '{{new}}', _new);\n  END IF;\n"
                )
            })
            .collect();
        let f = before_fn(o);
        out.push(format!(
            "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $specstar$
-- The before_write hooks of spec {plain}, in order (see crates/specstar-core/src/ddl/hooks.rs).
DECLARE
  _old jsonb;
  _new jsonb;
  _orig jsonb;
  _ret jsonb;
  _errors jsonb;
  _event jsonb;
BEGIN
  IF TG_OP = 'UPDATE' AND {old_row} IS NOT DISTINCT FROM {new_row} THEN
    RETURN NEW;  -- no property changes: no revision, no hooks
  END IF;
  IF TG_OP <> 'INSERT' THEN
    _old := specstar._doc(OLD.*, {vid});
  END IF;
  IF TG_OP <> 'DELETE' THEN
    _new := specstar._doc(NEW.*, {vid});
  END IF;
  _orig := _new;
  _event := jsonb_build_object(
    'spec', {spec},
    'op', specstar._hook_op(TG_RELID, CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END),
    'id', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
    'revision', CASE WHEN TG_OP = 'INSERT'
                     THEN coalesce((SELECT max(h.revision) FROM {history} h WHERE h.id = NEW.id), 0) + 1
                     ELSE OLD.revision + 1 END,
    'old', _old, 'new', _new, 'actor', specstar.current_actor(), 'message', specstar.current_message());
{chain}  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  IF _new IS DISTINCT FROM _orig THEN
    IF jsonb_typeof(_new) IS DISTINCT FROM 'object' THEN
      RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = format('%s: a before_write hook returned %s, not a JSON object', {spec}, coalesce(jsonb_typeof(_new), 'NULL')),
        HINT = 'A before_write hook returns the document to write, or NULL to keep it.';
    END IF;
    _errors := specstar._undeclared({spec}, _new, {prop_names});
    IF _errors IS NOT NULL THEN
      PERFORM specstar._raise_invalid({spec}, _errors);
    END IF;
    NEW := jsonb_populate_record(NEW, (SELECT coalesce(jsonb_object_agg(p.name, _new -> p.name), '{{}}') FROM unnest({prop_names}) AS p(name)));
  END IF;
  RETURN NEW;
END
$specstar$",
            name = f.name,
            plain = m.name,
            old_row = row("OLD"),
            new_row = row("NEW"),
            history = o.history,
        ));
        out.extend(row_trigger(o, &f, "specstar_a_hooks", "BEFORE"));
    }
    let after = calls(&h.after_write);
    if !after.is_empty() {
        let chain: String = after.iter().map(|f| format!("  PERFORM {f}(_event);\n")).collect();
        let f = after_fn(o);
        out.push(format!(
            "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $specstar$
-- The after_write hooks of spec {plain}, in order, with the revision as written.
DECLARE
  _event jsonb;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.revision = OLD.revision THEN
    RETURN NULL;  -- no revision was written
  END IF;
  _event := jsonb_build_object(
    'spec', {spec},
    'op', CASE WHEN TG_OP = 'DELETE' THEN 'delete' ELSE NEW._op END,
    'id', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
    'revision', CASE WHEN TG_OP = 'DELETE' THEN OLD.revision + 1 ELSE NEW.revision END,
    'old', CASE WHEN TG_OP <> 'INSERT' THEN specstar._doc(OLD.*, {vid}) END,
    'new', CASE WHEN TG_OP <> 'DELETE' THEN specstar._doc(NEW.*, {vid}) END,
    'actor', specstar.current_actor(), 'message', specstar.current_message());
{chain}  RETURN NULL;
END
$specstar$",
            name = f.name,
            plain = m.name,
        ));
        out.extend(row_trigger(o, &f, "specstar_z_hooks", "AFTER"));
    }
    out
}

pub fn drop(m: &SpecModel, o: &Objects) -> Vec<String> {
    let Some(h) = &m.options.hooks else { return Vec::new() };
    let mut out = Vec::new();
    if !calls(&h.after_write).is_empty() {
        out.push(format!("DROP TRIGGER specstar_z_hooks ON {}", o.table));
        out.push(after_fn(o).drop());
    }
    if !calls(&h.before_write).is_empty() {
        out.push(format!("DROP TRIGGER specstar_a_hooks ON {}", o.table));
        out.push(before_fn(o).drop());
    }
    out
}
