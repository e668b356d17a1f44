//! Behaviour of a spec whose revisions go to the change feed (`options.events.feed`, on by
//! default; sql/events.sql, src/feed.rs, docs/events.md): the deferred constraint trigger
//! that writes a transaction's events at commit, and `<spec>_changes(after, top)`, the
//! spec's events after a cursor that the caller may read.

use super::sql::{ident, literal};
use super::{Function, Objects};
use crate::model::SpecModel;

pub fn changes_fn(o: &Objects) -> Function {
    Function::new(super::sql::QualifiedName::new(&o.view.schema, &format!("{}_changes", o.spec)), "bigint, integer")
}

pub fn create(m: &SpecModel, o: &Objects) -> Vec<String> {
    if !m.options.feed() {
        return vec![];
    }
    let spec = literal(&m.name);
    // (its presence turns the feed on for the revision trigger; its argument says whether
    // events are also NOTIFYed; its WHEN queues it once per transaction: src/feed.rs)
    let mut out = vec![format!(
        "CREATE CONSTRAINT TRIGGER specstar_feed AFTER INSERT OR UPDATE OR DELETE ON {} DEFERRABLE INITIALLY DEFERRED \
         FOR EACH ROW WHEN (specstar._feed_arm()) EXECUTE FUNCTION specstar._feed_flush({})",
        o.table,
        literal(if m.options.notify() { "notify" } else { "quiet" })
    )];
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
    vec![changes_fn(o).drop(), format!("DROP TRIGGER specstar_feed ON {}", o.table)]
}

/// The read roles' grant on `<spec>_changes`.
pub fn grant(m: &SpecModel, o: &Objects, role: &str) -> Option<String> {
    m.options.feed().then(|| format!("GRANT EXECUTE ON FUNCTION {} TO {}", changes_fn(o).signature(), ident(role)))
}
