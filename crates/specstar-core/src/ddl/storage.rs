//! Storage of a spec: the live table (the current revision of each resource), the history
//! (superseded revisions and tombstones, append-only) and the drafts (one working copy per
//! id). Constraints and indexes on spec columns are separate statements with deterministic
//! names, so that an evolving spec can drop and add them around rewriting its data.

use super::sql::{ident, literal, QualifiedName};
use super::{default_sql, history, object_name, Objects, DATA_SCHEMA};
use crate::model::{Property, SpecModel};

/// `name type [NOT NULL] [DEFAULT ...]` of a property's column. Draft columns are never
/// NOT NULL and have no DEFAULT: NULL there means "left out", which the draft trigger fills
/// from the live revision (or, for a new resource, with the spec's default).
pub fn column(p: &Property, draft: bool) -> String {
    let mut line = format!("{} {}", ident(&p.name), p.column_type.sql());
    if draft {
        return line;
    }
    if p.required {
        line.push_str(" NOT NULL");
    }
    if let Some(d) = p.default.as_ref().and_then(|d| default_sql(d, p.column_type)) {
        line.push_str(&format!(" DEFAULT {d}"));
    }
    line
}

/// The three tables, their guards and comments.
pub fn tables(m: &SpecModel, o: &Objects) -> Vec<String> {
    let spec_lit = literal(&m.name);
    // specstar.new_id() lets the trigger know an id is fresh (no tombstone to look for)
    // (job specs: time-ordered ids, so that enqueues append to the primary key's index and the
    // history of jobs claimed in enqueue order stays together)
    let new_id = if m.job.is_some() { "specstar.new_job_id()" } else { "specstar.new_id()" };
    let mut live = vec![format!("id uuid NOT NULL DEFAULT {new_id} PRIMARY KEY")];
    live.extend(m.properties.iter().map(|p| column(p, false)));
    if let Some(c) = &m.job {
        live.extend(super::jobs::table_columns(c));
    }
    live.extend(
        [
            "revision integer NOT NULL",
            "created_at timestamptz NOT NULL",
            "created_by text NOT NULL",
            "updated_at timestamptz NOT NULL",
            "updated_by text NOT NULL",
            "_parent integer",
            "_op text NOT NULL",
            "_message text",
            "_version text NOT NULL",
        ]
        .map(String::from),
    );
    let mut draft = vec!["id uuid NOT NULL DEFAULT specstar.new_id() PRIMARY KEY".to_string()];
    draft.extend(m.properties.iter().map(|p| column(p, true)));
    // created_by: the resource's creator, or whoever started the draft of a new resource (the
    // owner that access rules judge a draft by)
    draft.extend(["base_revision integer", "created_by text", "updated_at timestamptz NOT NULL", "updated_by text NOT NULL"].map(String::from));
    vec![
        format!("CREATE TABLE {} (\n  {}\n)", o.table, live.join(",\n  ")),
        format!("CREATE TABLE {} (\n  {}\n)", o.history, history::table_body()),
        format!("CREATE TABLE {} (\n  {}\n)", o.draft, draft.join(",\n  ")),
        format!(
            "CREATE TRIGGER specstar_no_truncate BEFORE TRUNCATE ON {} FOR EACH STATEMENT EXECUTE FUNCTION specstar._append_only({spec_lit})",
            o.table
        ),
        format!(
            "CREATE TRIGGER specstar_append_only BEFORE INSERT OR UPDATE OR DELETE ON {} FOR EACH ROW EXECUTE FUNCTION specstar._append_only({spec_lit})",
            o.history
        ),
        format!(
            "CREATE TRIGGER specstar_no_truncate BEFORE TRUNCATE ON {} FOR EACH STATEMENT EXECUTE FUNCTION specstar._append_only({spec_lit})",
            o.history
        ),
        format!(
            "COMMENT ON TABLE {} IS {}",
            o.table,
            literal(&format!("Live resources of spec {} (managed by specstar; write through {}).", m.name, o.view))
        ),
        format!("COMMENT ON TABLE {} IS {}", o.history, literal(&format!("Append-only revision history of spec {} (managed by specstar).", m.name))),
        format!("COMMENT ON TABLE {} IS {}", o.draft, literal(&format!("Drafts of spec {} (managed by specstar; write through {}).", m.name, o.draft_view))),
    ]
}

/// UNIQUE, enum CHECK and foreign-key constraints and x-index indexes on the live table.
pub fn constraints(m: &SpecModel, o: &Objects) -> Vec<String> {
    let mut out = Vec::new();
    for p in &m.properties {
        let col = ident(&p.name);
        if p.unique {
            out.push(format!("ALTER TABLE {} ADD CONSTRAINT {} UNIQUE ({col})", o.table, ident(&object_name(&m.name, &p.name, "key"))));
        }
        if let Some(values) = &p.enum_values {
            let list = values.iter().map(|v| literal(v)).collect::<Vec<_>>().join(", ");
            out.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} CHECK ({col} IN ({list}))",
                o.table,
                ident(&object_name(&m.name, &p.name, "check"))
            ));
        }
        if let Some(r) = &p.reference {
            out.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({col}) REFERENCES {} (id) ON DELETE {}",
                o.table,
                ident(&object_name(&m.name, &p.name, "fkey")),
                QualifiedName::new(DATA_SCHEMA, &r.spec),
                r.on_delete.sql()
            ));
        }
        if p.index && !p.unique {
            out.push(format!("CREATE INDEX {} ON {} ({col})", ident(&object_name(&m.name, &p.name, "idx")), o.table));
        }
    }
    out
}

/// The statements that remove what [`constraints`] made.
pub fn drop_constraints(m: &SpecModel, o: &Objects) -> Vec<String> {
    let mut out = Vec::new();
    for p in &m.properties {
        if p.unique {
            out.push(format!("ALTER TABLE {} DROP CONSTRAINT {}", o.table, ident(&object_name(&m.name, &p.name, "key"))));
        }
        if p.enum_values.is_some() {
            out.push(format!("ALTER TABLE {} DROP CONSTRAINT {}", o.table, ident(&object_name(&m.name, &p.name, "check"))));
        }
        if p.reference.is_some() {
            out.push(format!("ALTER TABLE {} DROP CONSTRAINT {}", o.table, ident(&object_name(&m.name, &p.name, "fkey"))));
        }
        if p.index && !p.unique {
            out.push(format!("DROP INDEX {}", QualifiedName::new(DATA_SCHEMA, &object_name(&m.name, &p.name, "idx"))));
        }
    }
    out
}

/// Dropping the tables (their triggers, constraints and indexes go with them).
pub fn drop(o: &Objects) -> Vec<String> {
    vec![format!("DROP TABLE {}", o.draft), format!("DROP TABLE {}", o.history), format!("DROP TABLE {}", o.table)]
}
