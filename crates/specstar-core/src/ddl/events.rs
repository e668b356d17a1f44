//! Behaviour of a spec whose revisions go to the change feed (`options.events.feed`, on by
//! default; sql/events.sql, docs/events.md): statement triggers that hand the revisions each
//! statement wrote to `specstar._feed_write` in write order, and `<spec>_changes(after,
//! top)`, the spec's events after a cursor that the caller may read.

use super::sql::{ident, literal};
use super::{Function, Objects};
use crate::model::SpecModel;

pub fn trigger_fn(o: &Objects) -> Function {
    Function::new(super::sql::QualifiedName::new(super::DATA_SCHEMA, &format!("{}__feed", o.spec)), "")
}

pub fn changes_fn(o: &Objects) -> Function {
    Function::new(super::sql::QualifiedName::new(&o.view.schema, &format!("{}_changes", o.spec)), "bigint, integer")
}

pub fn create(m: &SpecModel, o: &Objects) -> Vec<String> {
    if !m.options.feed() {
        return vec![];
    }
    let spec = literal(&m.name);
    let f = trigger_fn(o);
    // (SECURITY DEFINER: the spec's owner may call specstar._feed_write, its writers not)
    let body = format!(
        "-- The revisions this statement wrote, in write order, to the change feed. An UPDATE that
-- changed nothing wrote no revision; a DELETE wrote the tombstone after the old revision.
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM specstar._feed_write({spec}, array_agg(n.id ORDER BY n._n), array_agg(n.revision ORDER BY n._n))
       FROM (SELECT r.id, r.revision, row_number() OVER () AS _n FROM new_rows r) n;
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM specstar._feed_write({spec}, array_agg(n.id ORDER BY n._n), array_agg(n.revision ORDER BY n._n))
       FROM (SELECT r.id, r.revision, row_number() OVER () AS _n FROM new_rows r) n
       JOIN old_rows o ON o.id = n.id WHERE n.revision <> o.revision;
  ELSE
    PERFORM specstar._feed_write({spec}, array_agg(o.id ORDER BY o._n), array_agg(o.revision + 1 ORDER BY o._n))
       FROM (SELECT r.id, r.revision, row_number() OVER () AS _n FROM old_rows r) o;
  END IF;
  RETURN NULL;
END
"
    );
    let mut out = vec![
        format!(
            "CREATE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $specstar$\n{body}$specstar$",
            f.name
        ),
        f.depends_on_extension(),
        f.revoke_public(),
    ];
    out.extend(super::statement_triggers("specstar_feed", o, &f));
    let c = changes_fn(o);
    out.push(format!(
        "CREATE FUNCTION {}(after bigint DEFAULT 0, top integer DEFAULT 100) \
         RETURNS TABLE (cursor bigint, id uuid, revision integer, op text, changed_at timestamptz, changed_by text, data jsonb) \
         LANGUAGE sql STABLE AS $specstar$\n{}\n$specstar$",
        c.name,
        (format!(
            "-- Plain SQL without SET (inlined: PostgREST's filters reach it); every name qualified.\n\
             -- specstar._changes gives the cursors the caller may read; a skip row has only a cursor.\n\
             SELECT k.cursor, k.id, k.revision, COALESCE(r.op, 'skip'::pg_catalog.text), r.valid_from, r.changed_by, r.data\n\
               FROM specstar._changes(ARRAY[{spec}]::pg_catalog.text[], $1, $2) WITH ORDINALITY AS k(spec, cursor, id, revision, n)\n\
               LEFT JOIN {rv} r ON r.id OPERATOR(pg_catalog.=) k.id AND r.revision OPERATOR(pg_catalog.=) k.revision\n\
              ORDER BY k.n",
            rv = o.revision_view
        ))
    ));
    out.push(c.depends_on_extension());
    out.push(c.revoke_public());
    out.push(format!(
        "COMMENT ON FUNCTION {} IS {}",
        c.signature(),
        literal(&format!(
            "Change feed of {}\nEvery revision as one event, in commit order, after a cursor: store the last cursor you processed and pass it as after (docs/events.md).",
            m.name
        ))
    ));
    out
}

pub fn drop(m: &SpecModel, o: &Objects) -> Vec<String> {
    if !m.options.feed() {
        return vec![];
    }
    vec![
        changes_fn(o).drop(),
        format!("DROP TRIGGER specstar_feed_delete ON {}", o.table),
        format!("DROP TRIGGER specstar_feed_update ON {}", o.table),
        format!("DROP TRIGGER specstar_feed_insert ON {}", o.table),
        trigger_fn(o).drop(),
    ]
}

/// The read roles' grant on `<spec>_changes`.
pub fn grant(m: &SpecModel, o: &Objects, role: &str) -> Option<String> {
    m.options.feed().then(|| format!("GRANT EXECUTE ON FUNCTION {} TO {}", changes_fn(o).signature(), ident(role)))
}
