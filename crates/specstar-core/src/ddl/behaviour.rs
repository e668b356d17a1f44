//! Behaviour of a spec: the revision and draft triggers, the API views, the RPC functions and
//! comments (its grants: `grants.rs`). All of it names the spec version (`vid`) or its columns, so an
//! evolving spec drops it ([`drop`]) and creates it again ([`create`]) around altering its
//! storage.

use super::sql::{ident, literal, render};
use super::{assignments, cols, coldefs, doc_expr, Function, Objects};
use crate::model::{ColumnType, Property, SpecModel};

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

/// The document of a history row (`alias`) under this version: as stored when its version
/// reads unchanged (`as_is`, see [`create`]), else through `specstar._upgrade`. (Qualified:
/// `as_of` is an inlined SQL function, parsed under the caller's search_path.)
pub fn hist_data(m: &SpecModel, as_is: &[String], alias: &str) -> String {
    let as_is_list = std::iter::once(&m.version).chain(as_is.iter().filter(|v| **v != m.version)).map(|v| literal(v)).collect::<Vec<_>>().join(", ");
    format!(
        "CASE WHEN {alias}.schema_version OPERATOR(pg_catalog.=) ANY (ARRAY[{as_is_list}]::pg_catalog.text[]) THEN {alias}.data \
         ELSE specstar._upgrade({}, {alias}.schema_version, {alias}.data) END",
        literal(&m.name)
    )
}

/// The columns of the API view, from the live table `t`: id, the properties, a job spec's
/// job columns, then the revision and who wrote it when.
pub fn live_row(m: &SpecModel) -> String {
    let mut parts = vec!["t.id".to_string()];
    if !m.properties.is_empty() {
        parts.push(cols(&m.properties, "t."));
    }
    if m.job.is_some() {
        parts.push(super::jobs::cols("t."));
    }
    parts.push("t.revision, t.created_at, t.created_by, t.updated_at, t.updated_by".to_string());
    parts.join(", ")
}

/// Every behaviour statement, in creation order.
///
/// `as_is` lists earlier version labels whose stored documents read unchanged under this
/// version; documents of any other version pass through `specstar._upgrade` (the chain of
/// migrate functions), lazily, when they are read.
pub fn create(m: &SpecModel, o: &Objects, vid: i64, as_is: &[String]) -> Vec<String> {
    let props = &m.properties;
    let spec_lit = literal(&m.name);
    let vid_s = vid.to_string();
    let with_cols = |prefix: &str| if props.is_empty() { String::new() } else { format!("{}, ", cols(props, prefix)) };
    let live_row = live_row(m);
    let job_cols = |prefix: &str| if m.job.is_some() { format!("{}, ", super::jobs::cols(prefix)) } else { String::new() };
    let hist_row = format!("h.id, {}{}h.revision, h.created_at, h.created_by, h.valid_from, h.changed_by", with_cols("d."), job_cols("d."));
    let hist_data = |alias: &str| hist_data(m, as_is, alias);
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
    let prop_names = format!("ARRAY[{}]::pg_catalog.text[]", props.iter().map(|p| literal(&p.name)).collect::<Vec<_>>().join(", "));
    let coldefs = if m.job.is_some() { format!("{}, {}", coldefs(props), super::jobs::coldefs()) } else { coldefs(props) };
    let doc_t = doc_expr("t", vid);
    // the document a patch applies to: a job's payload (its job columns are not the caller's to patch)
    let payload_t = if m.job.is_some() { format!("specstar._payload(t.*, {vid})") } else { doc_t.clone() };
    let (data_from, data_to, data_target) = (data_at("$1", "$2"), data_at("$1", "$3"), data_at("$1", "$2"));
    let (plain_cols, d_cols, draft_values) = (cols(props, ""), cols(props, "d."), cols(props, "_draft."));
    let (set_from_d, set_from_draft, hist_data_h) = (set_from("d"), set_from("_draft"), hist_data("h"));
    let fill_from_live = if props.is_empty() {
        "      NULL;".to_string()
    } else {
        props.iter().map(|p| format!("      NEW.{c} := coalesce(NEW.{c}, _live.{c});", c = ident(&p.name))).collect::<Vec<_>>().join("\n")
    };
    let check_arrays = array_checks(m, "NEW");
    let fill_defaults = props
        .iter()
        .filter_map(|p| {
            let d = p.default.as_ref().and_then(|d| super::default_sql(d, p.column_type))?;
            Some(format!("      NEW.{c} := coalesce(NEW.{c}, {d});", c = ident(&p.name)))
        })
        .collect::<Vec<_>>();
    // an owner property left out of a new resource's draft is the actor's
    let mut fill_defaults = fill_defaults;
    if let Some(a) = m.access.as_ref().filter(|a| a.owner != "created_by") {
        fill_defaults.push(format!("      NEW.{c} := coalesce(NEW.{c}, specstar._owner_actor());", c = ident(&a.owner)));
    }
    let fill_defaults = if fill_defaults.is_empty() { "      NULL;".to_string() } else { fill_defaults.join("\n") };
    let names: Vec<(&str, String)> = vec![
        ("table", o.table.to_string()),
        ("history", o.history.to_string()),
        ("draft", o.draft.to_string()),
        ("view", o.view.to_string()),
        ("revision_view", o.revision_view.to_string()),
        ("fn_revisions", o.fn_revisions.signature()),
        ("fn_draft_trigger", o.fn_draft_trigger.name.to_string()),
        ("fn_at", o.fn_at.name.to_string()),
        ("fn_as_of", o.fn_as_of.name.to_string()),
        ("fn_diff", o.fn_diff.name.to_string()),
        ("fn_rollback", o.fn_rollback.name.to_string()),
        ("fn_restore", o.fn_restore.name.to_string()),
        ("fn_patch", o.fn_patch.name.to_string()),
        ("fn_publish", o.fn_publish.name.to_string()),
        ("fn_discard", o.fn_discard.name.to_string()),
    ];
    let mut vars: Vec<(&str, &str)> = names.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.extend([
        ("spec", spec_lit.as_str()),
        ("vid", vid_s.as_str()),
        ("doc_t", &doc_t),
        ("payload_t", &payload_t),
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
        ("check_arrays", &check_arrays),
    ]);
    let t = |tpl: &str| render(tpl, &vars);
    let mut out = Vec::new();

    // triggers: the revision trigger (C, src/trigger.rs) and the drafts' (PL/pgSQL)
    let revision_trigger = format!("specstar._revision_trigger({spec_lit}, {})", literal(&vid_s));
    for (name, event) in [("specstar_before_insert", "INSERT"), ("specstar_before_update", "UPDATE"), ("specstar_before_delete", "DELETE")] {
        out.push(format!("CREATE TRIGGER {name} BEFORE {event} ON {} FOR EACH ROW EXECUTE FUNCTION {revision_trigger}", o.table));
    }
    out.push(t(include_str!("templates/draft_trigger.sql")));
    out.push(o.fn_draft_trigger.depends_on_extension());
    out.push(format!(
        "CREATE TRIGGER specstar_draft BEFORE INSERT OR UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION {}",
        o.draft,
        o.fn_draft_trigger.signature()
    ));

    // views
    out.push(format!("CREATE VIEW {} WITH (security_invoker = true) AS SELECT {} FROM {} t", o.view, live_row, o.table));
    if let Some(a) = m.access.as_ref().filter(|a| a.owner != "created_by") {
        // an owner property left out of an INSERT is the actor's (access rules judge the rest)
        out.push(format!("ALTER VIEW {} ALTER COLUMN {} SET DEFAULT specstar._owner_actor()", o.view, ident(&a.owner)));
    }
    let view_comment = match (&m.title, &m.description) {
        (Some(t), Some(d)) => format!("{t}\n{d}"),
        (Some(t), None) => t.clone(),
        (None, Some(d)) => format!("{}\n{d}", m.name),
        (None, None) => format!("{}\nResources of spec {}; every change is a revision.", m.name, m.name),
    };
    out.push(format!("COMMENT ON VIEW {} IS {}", o.view, literal(&view_comment)));
    let comment_columns = |out: &mut Vec<String>, rels: &[&dyn std::fmt::Display]| {
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
    out.push(t(include_str!("templates/revision_view.sql")));
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
    let fns: [(&str, &Function, String); 9] = [
        (include_str!("templates/revisions.sql"), &o.fn_revisions,
         format!("The revisions of a {} resource: embed them with select=*,revisions(*).", m.name)),
        (include_str!("templates/at.sql"), &o.fn_at, "One resource: current, at a revision, or as it was at a time (at => timestamptz).".into()),
        (include_str!("templates/as_of.sql"), &o.fn_as_of, "The whole collection as it was at a time; filters apply.".into()),
        (include_str!("templates/diff.sql"), &o.fn_diff, "RFC 6902 JSON Patch from one revision to another (default: the current one).".into()),
        (include_str!("templates/rollback.sql"), &o.fn_rollback, "Writes a new revision whose data equals to_revision.".into()),
        (include_str!("templates/restore.sql"), &o.fn_restore, "Brings a deleted resource back from its tombstone.".into()),
        (include_str!("templates/patch.sql"), &o.fn_patch, "Applies an RFC 6902 JSON Patch as one new revision; a failed test op changes nothing.".into()),
        (include_str!("templates/publish.sql"), &o.fn_publish, "Publishes the draft of a resource as one revision and removes the draft.".into()),
        (include_str!("templates/discard.sql"), &o.fn_discard, "Drops the draft of a resource.".into()),
    ];
    for (tpl, f, comment) in fns {
        out.push(t(tpl));
        out.push(f.depends_on_extension());
        out.push(format!("COMMENT ON FUNCTION {} IS {}", f.signature(), literal(&comment)));
    }
    out
}

/// PL/pgSQL checks that a row's array columns hold one-dimensional arrays starting at index
/// 1: anything else cannot be the JSON array the document holds (PT422, as the revision
/// trigger refuses it for live rows).
fn array_checks(m: &SpecModel, row: &str) -> String {
    let checks: Vec<String> = m
        .properties
        .iter()
        .filter(|p| matches!(p.column_type, ColumnType::Array(_)))
        .map(|p| {
            format!(
                "  IF pg_catalog.array_ndims({row}.{c}) > 1 OR pg_catalog.array_lower({row}.{c}, 1) <> 1 THEN\n    \
                 PERFORM specstar._raise_invalid({spec}, pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(\n      \
                 'path', {path}, 'keyword', 'type', 'message', 'a one-dimensional array starting at index 1 is expected')),\n      \
                 pg_catalog.format('%s draft %s', {spec}, {row}.id));\n  END IF;",
                c = ident(&p.name),
                spec = literal(&m.name),
                path = literal(&format!("/{}", crate::error::pointer_segment(&p.name))),
            )
        })
        .collect();
    if checks.is_empty() {
        "  NULL;".to_string()
    } else {
        checks.join("\n")
    }
}

/// Dropping the behaviour (reverse dependency order); the tables stay.
pub fn drop(o: &Objects) -> Vec<String> {
    vec![
        o.fn_discard.drop(),
        o.fn_publish.drop(),
        o.fn_patch.drop(),
        o.fn_restore.drop(),
        o.fn_rollback.drop(),
        o.fn_diff.drop(),
        o.fn_as_of.drop(),
        o.fn_at.drop(),
        o.fn_revisions.drop(),
        format!("DROP VIEW {}", o.draft_view),
        format!("DROP VIEW {}", o.revision_view),
        format!("DROP VIEW {}", o.view),
        format!("DROP TRIGGER specstar_draft ON {}", o.draft),
        o.fn_draft_trigger.drop(),
        format!("DROP TRIGGER specstar_before_delete ON {}", o.table),
        format!("DROP TRIGGER specstar_before_update ON {}", o.table),
        format!("DROP TRIGGER specstar_before_insert ON {}", o.table),
    ]
}
