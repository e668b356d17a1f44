//! Behaviour of a spec: the revision and draft triggers, the API views, the RPC functions,
//! comments and grants. All of it names the spec version (`vid`) or its columns, so an
//! evolving spec drops it ([`drop`]) and creates it again ([`create`]) around altering its
//! storage.

use super::{assignments, cols, coldefs, dedup, doc_expr, render, Objects, DATA_SCHEMA};
use crate::model::{Property, SpecModel};
use crate::names::{ident, literal};

fn column_comment(p: &Property) -> Option<String> {
    match (&p.title, &p.description) {
        (Some(t), Some(d)) => Some(format!("{t}: {d}")),
        (Some(t), None) => Some(t.clone()),
        (None, Some(d)) => Some(d.clone()),
        (None, None) => None,
    }
}

const SYSTEM_COMMENTS: &[(&str, &str)] = &[
    ("id", "Identifier of the resource (a uuid; generated when not given)."),
    ("revision", "Current revision number. Send it back with an update to fail with 409 if someone else wrote in between."),
    ("created_at", "When revision 1 was written."),
    ("created_by", "Who wrote revision 1 (JWT sub, else the database role)."),
    ("updated_at", "When the current revision was written."),
    ("updated_by", "Who wrote the current revision."),
];

/// Every behaviour statement, in creation order.
///
/// `as_is` lists earlier version labels whose stored documents read unchanged under this
/// version; documents of any other version pass through `specstar._upgrade` (the chain of
/// migrate functions), lazily, when they are read.
pub fn create(m: &SpecModel, o: &Objects, vid: i64, as_is: &[String]) -> Vec<String> {
    let props = &m.properties;
    let spec_lit = literal(&m.name);
    let as_is_list = std::iter::once(&m.version).chain(as_is.iter().filter(|v| **v != m.version)).map(|v| literal(v)).collect::<Vec<_>>().join(", ");
    let vid_s = vid.to_string();
    let with_cols = |prefix: &str| if props.is_empty() { String::new() } else { format!("{}, ", cols(props, prefix)) };
    let live_row = format!("t.id, {}t.revision, t.created_at, t.created_by, t.updated_at, t.updated_by", with_cols("t."));
    let hist_row = format!("h.id, {}h.revision, h.created_at, h.created_by, h.valid_from, h.changed_by", with_cols("d."));
    let hist_data = |alias: &str| {
        format!(
            "CASE WHEN {alias}.schema_version IN ({as_is_list}) THEN {alias}.data \
             ELSE specstar._upgrade({spec_lit}, {alias}.schema_version, {alias}.data) END"
        )
    };
    let data_at = |id: &str, rev: &str| {
        format!(
            "(SELECT x.data FROM (SELECT {doc} AS data FROM {table} t WHERE t.id = {id} AND ({rev} IS NULL OR t.revision = {rev}) \
             UNION ALL SELECT {hdata} FROM {hist} h WHERE h.id = {id} AND h.revision = {rev}) x LIMIT 1)",
            doc = doc_expr("t", vid),
            hdata = hist_data("h"),
            table = o.table,
            hist = o.history
        )
    };
    let set_from = |src: &str| assignments(props, src).join(", ");
    let prop_names = format!("ARRAY[{}]::text[]", props.iter().map(|p| literal(&p.name)).collect::<Vec<_>>().join(", "));
    let coldefs = coldefs(props);
    let doc_t = doc_expr("t", vid);
    let (data_from, data_to, data_target) = (data_at("$1", "$2"), data_at("$1", "$3"), data_at("$1", "$2"));
    let (plain_cols, d_cols, draft_values) = (cols(props, ""), cols(props, "d."), cols(props, "v_draft."));
    let (set_from_d, set_from_draft, hist_data_h) = (set_from("d"), set_from("v_draft"), hist_data("h"));
    let fill_from_live = if props.is_empty() {
        "      NULL;".to_string()
    } else {
        props.iter().map(|p| format!("      NEW.{c} := coalesce(NEW.{c}, v_live.{c});", c = ident(&p.name))).collect::<Vec<_>>().join("\n")
    };
    let fill_defaults = props
        .iter()
        .filter_map(|p| {
            let d = p.default.as_ref().and_then(|d| super::default_sql(d, p.column_type))?;
            Some(format!("      NEW.{c} := coalesce(NEW.{c}, {d});", c = ident(&p.name)))
        })
        .collect::<Vec<_>>();
    let fill_defaults = if fill_defaults.is_empty() { "      NULL;".to_string() } else { fill_defaults.join("\n") };
    let vars: Vec<(&str, &str)> = vec![
        ("spec", &spec_lit),
        ("vid", &vid_s),
        ("table", &o.table),
        ("history", &o.history),
        ("draft", &o.draft),
        ("view", &o.view),
        ("fn_draft_trigger", &o.fn_draft_trigger),
        ("fn_at", &o.fn_at),
        ("fn_as_of", &o.fn_as_of),
        ("fn_diff", &o.fn_diff),
        ("fn_rollback", &o.fn_rollback),
        ("fn_restore", &o.fn_restore),
        ("fn_patch", &o.fn_patch),
        ("fn_publish", &o.fn_publish),
        ("fn_discard", &o.fn_discard),
        ("doc_t", &doc_t),
        ("cols", &plain_cols),
        ("d_cols", &d_cols),
        ("draft_values", &draft_values),
        ("coldefs", &coldefs),
        ("live_row", &live_row),
        ("hist_row", &hist_row),
        ("hist_data", &hist_data_h),
        ("data_from", &data_from),
        ("data_to", &data_to),
        ("data_target", &data_target),
        ("set_from_d", &set_from_d),
        ("set_from_draft", &set_from_draft),
        ("prop_names", &prop_names),
        ("fill_from_live", &fill_from_live),
        ("fill_defaults", &fill_defaults),
    ];
    let t = |tpl: &str| render(tpl, &vars);
    let mut out = Vec::new();

    // triggers: the revision trigger (C, src/trigger.rs) and the drafts' (PL/pgSQL)
    let revision_trigger = format!("specstar._revision_trigger({spec_lit}, {})", literal(&vid_s));
    for (name, event) in [("specstar_before_insert", "INSERT"), ("specstar_before_update", "UPDATE"), ("specstar_before_delete", "DELETE")] {
        out.push(format!("CREATE TRIGGER {name} BEFORE {event} ON {} FOR EACH ROW EXECUTE FUNCTION {revision_trigger}", o.table));
    }
    out.push(t(include_str!("templates/draft_trigger.sql")));
    out.push(format!(
        "CREATE TRIGGER specstar_draft BEFORE INSERT OR UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION {}()",
        o.draft, o.fn_draft_trigger
    ));

    // views
    out.push(format!("CREATE VIEW {} WITH (security_invoker = true) AS SELECT {} FROM {} t", o.view, live_row, o.table));
    let view_comment = match (&m.title, &m.description) {
        (Some(t), Some(d)) => format!("{t}\n{d}"),
        (Some(t), None) => t.clone(),
        (None, Some(d)) => format!("{}\n{d}", m.name),
        (None, None) => format!("{}\nResources of spec {}; every change is a revision.", m.name, m.name),
    };
    out.push(format!("COMMENT ON VIEW {} IS {}", o.view, literal(&view_comment)));
    let comment_columns = |out: &mut Vec<String>, rels: &[&String]| {
        for p in props {
            if let Some(c) = column_comment(p) {
                for rel in rels {
                    out.push(format!("COMMENT ON COLUMN {rel}.{} IS {}", ident(&p.name), literal(&c)));
                }
            }
        }
    };
    comment_columns(&mut out, &[&o.view, &o.table, &o.draft]);
    for (col, c) in SYSTEM_COMMENTS {
        out.push(format!("COMMENT ON COLUMN {}.{} IS {}", o.view, ident(col), literal(c)));
    }
    // A tombstone stays the current revision until the resource comes back; its valid_to is
    // then the next revision's valid_from (history rows are never updated).
    out.push(format!(
        "CREATE VIEW {rv} WITH (security_invoker = true) AS\n  \
         SELECT h.id, h.revision, h.parent_revision, h.op, h.data, h.schema_version, h.valid_from,\n         \
         CASE WHEN h.op = 'delete' THEN (\n           \
           SELECT n.valid_from FROM {hist} n WHERE n.id = h.id AND n.revision = h.revision + 1\n           \
           UNION ALL SELECT l.updated_at FROM {table} l WHERE l.id = h.id AND l.revision = h.revision + 1)\n         \
         ELSE h.valid_to END,\n         \
         h.changed_by, h.message FROM {hist} h\n  \
         UNION ALL\n  \
         SELECT t.id, t.revision, t._parent, t._op, {doc_t}, t._version, t.updated_at, NULL::timestamptz, t.updated_by, t._message FROM {table} t",
        rv = o.revision_view,
        hist = o.history,
        table = o.table,
    ));
    out.push(format!(
        "COMMENT ON VIEW {} IS {}",
        o.revision_view,
        literal(&format!("{} revisions\nEvery revision of every {} resource, deleted ones included (read-only).", m.name, m.name))
    ));
    out.push(format!(
        "CREATE VIEW {} WITH (security_invoker = true) AS SELECT d.id, {}d.base_revision, d.updated_at, d.updated_by FROM {} d",
        o.draft_view,
        with_cols("d."),
        o.draft
    ));
    out.push(format!(
        "COMMENT ON VIEW {} IS {}",
        o.draft_view,
        literal(&format!(
            "{} drafts\nWorking copies, at most one per id, published with {}_publish; saving one writes no revision.",
            m.name, m.name
        ))
    ));
    comment_columns(&mut out, &[&o.draft_view]);
    out.push(format!(
        "COMMENT ON COLUMN {}.base_revision IS {}",
        o.draft_view,
        literal("The live revision this draft started from (none for a new resource).")
    ));

    // PostgREST computed relationship: GET /article?select=*,revisions(*) embeds the history.
    // (One function name for every spec, told apart by its argument type, as PostgREST expects.)
    out.push(format!(
        "CREATE FUNCTION {} RETURNS SETOF {} LANGUAGE sql STABLE AS $specstar$\n  \
         SELECT * FROM {} r WHERE r.id = $1.id ORDER BY r.revision\n$specstar$",
        o.fn_revisions, o.revision_view, o.revision_view
    ));
    out.push(format!(
        "COMMENT ON FUNCTION {} IS {}",
        o.fn_revisions,
        literal(&format!("The revisions of a {} resource: embed them with select=*,revisions(*).", m.name))
    ));

    // RPC functions
    let fns: [(&str, &str, &str); 8] = [
        (include_str!("templates/at.sql"), &o.fn_at, "One resource: current, at a revision, or as it was at a time (at => timestamptz)."),
        (include_str!("templates/as_of.sql"), &o.fn_as_of, "The whole collection as it was at a time; filters apply."),
        (include_str!("templates/diff.sql"), &o.fn_diff, "RFC 6902 JSON Patch from one revision to another (default: the current one)."),
        (include_str!("templates/rollback.sql"), &o.fn_rollback, "Writes a new revision whose data equals to_revision."),
        (include_str!("templates/restore.sql"), &o.fn_restore, "Brings a deleted resource back from its tombstone."),
        (include_str!("templates/patch.sql"), &o.fn_patch, "Applies an RFC 6902 JSON Patch as one new revision; a failed test op changes nothing."),
        (include_str!("templates/publish.sql"), &o.fn_publish, "Publishes the draft of a resource as one revision and removes the draft."),
        (include_str!("templates/discard.sql"), &o.fn_discard, "Drops the draft of a resource."),
    ];
    for (tpl, name, comment) in fns {
        out.push(t(tpl));
        out.push(format!("COMMENT ON FUNCTION {name} IS {}", literal(comment)));
    }

    // privileges
    let read_fns = [&o.fn_at, &o.fn_as_of, &o.fn_diff, &o.fn_revisions];
    let write_fns = [&o.fn_rollback, &o.fn_restore, &o.fn_patch, &o.fn_publish, &o.fn_discard];
    for f in read_fns.iter().chain(write_fns.iter()) {
        out.push(format!("REVOKE ALL ON FUNCTION {f} FROM PUBLIC"));
    }
    out.push(format!("REVOKE ALL ON FUNCTION {}() FROM PUBLIC", o.fn_draft_trigger));
    for role in dedup(m.read_roles.iter().chain(m.write_roles.iter())) {
        let r = ident(role);
        out.push(format!("GRANT USAGE ON SCHEMA {}, {}, specstar TO {r}", ident(&m.api_schema), ident(DATA_SCHEMA)));
        out.push(format!("GRANT SELECT ON {}, {}, {}, {} TO {r}", o.view, o.revision_view, o.table, o.history));
        for f in read_fns {
            out.push(format!("GRANT EXECUTE ON FUNCTION {f} TO {r}"));
        }
    }
    // drafts are unpublished work: writers only
    for role in dedup(m.write_roles.iter()) {
        let r = ident(role);
        out.push(format!("GRANT INSERT, UPDATE, DELETE ON {}, {} TO {r}", o.view, o.table));
        out.push(format!("GRANT SELECT, INSERT, UPDATE, DELETE ON {}, {} TO {r}", o.draft_view, o.draft));
        for f in write_fns {
            out.push(format!("GRANT EXECUTE ON FUNCTION {f} TO {r}"));
        }
    }
    out
}

/// Dropping the behaviour (reverse dependency order); the tables stay.
pub fn drop(o: &Objects) -> Vec<String> {
    vec![
        format!("DROP FUNCTION {}(uuid)", o.fn_discard),
        format!("DROP FUNCTION {}(uuid, boolean)", o.fn_publish),
        format!("DROP FUNCTION {}(uuid, jsonb, integer)", o.fn_patch),
        format!("DROP FUNCTION {}(uuid)", o.fn_restore),
        format!("DROP FUNCTION {}(uuid, integer, integer)", o.fn_rollback),
        format!("DROP FUNCTION {}(uuid, integer, integer)", o.fn_diff),
        format!("DROP FUNCTION {}(timestamptz)", o.fn_as_of),
        format!("DROP FUNCTION {}(uuid, integer, timestamptz)", o.fn_at),
        format!("DROP FUNCTION {}", o.fn_revisions),
        format!("DROP VIEW {}", o.draft_view),
        format!("DROP VIEW {}", o.revision_view),
        format!("DROP VIEW {}", o.view),
        format!("DROP TRIGGER specstar_draft ON {}", o.draft),
        format!("DROP FUNCTION {}()", o.fn_draft_trigger),
        format!("DROP TRIGGER specstar_before_delete ON {}", o.table),
        format!("DROP TRIGGER specstar_before_update ON {}", o.table),
        format!("DROP TRIGGER specstar_before_insert ON {}", o.table),
    ]
}
