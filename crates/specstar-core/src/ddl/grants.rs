//! Who may use a spec: every generated function is revoked from PUBLIC, and the spec's read
//! and write roles get exactly what their paths need — the API objects, the storage the
//! `security_invoker` views read through, and specstar's internal helpers that the generated
//! functions and triggers call with the caller's rights. (The internal helpers are not
//! executable by PUBLIC: see `sql/grants.sql`.)

use super::sql::ident;
use super::{dedup, search, Objects, DATA_SCHEMA};
use crate::model::SpecModel;

/// Internal functions that reading a spec calls (revision view, `_at`, `_as_of`, `_diff`,
/// search), with the reader's rights.
pub const READ_HELPERS: &[&str] = &[
    "specstar._doc(record, bigint)",
    "specstar._upgrade(text, text, jsonb)",
    "specstar._check_migrate_owner(text, regprocedure, oid)",
    "specstar._raise(jsonb)",
    "specstar._raise_missing(text, uuid, integer, timestamptz)",
    "specstar._json_diff(jsonb, jsonb)",
    "specstar._spec(text)",
    "specstar._search_hits(text, text, integer, integer, boolean)",
    "specstar.search(text, text, integer)",
    "specstar._graphql(text, text, jsonb, text)",
    "specstar._graphql_plan(text, text, jsonb, text, text)",
    "specstar._graphql_sdl(text)",
    "specstar._graphql_error(text, text, text, text, text)",
    "specstar._admin_specs(text)",
    "specstar._changes(text[], bigint, integer)",
];

/// Internal functions that writing a spec calls (the id default, the draft trigger,
/// `_patch`, `_rollback`, `_restore`), with the writer's rights.
pub const WRITE_HELPERS: &[&str] = &[
    "specstar.new_id()",
    "specstar._validate(bigint, jsonb)",
    "specstar._validate_draft(bigint, jsonb)",
    "specstar._draft_doc(jsonb)",
    "specstar._undeclared(text, jsonb, text[])",
    "specstar._error_invalid(text, jsonb, text)",
    "specstar._raise_invalid(text, jsonb, text)",
    "specstar._error_stale(text, uuid, integer, integer)",
    "specstar._raise_stale(text, uuid, integer, integer)",
    "specstar._json_patch(jsonb, jsonb)",
    "specstar._raise_patch_failure(text, uuid, jsonb)",
    "specstar._expect_revision(text, uuid, integer, integer)",
    "specstar._raise_if_readable(text, uuid, text)",
    "specstar._hook_op(oid, text)",
];

pub fn create(m: &SpecModel, o: &Objects) -> Vec<String> {
    let searchable = search::fields(m).next().is_some();
    let mut read_fns = vec![&o.fn_at, &o.fn_as_of, &o.fn_diff, &o.fn_revisions];
    if searchable {
        read_fns.push(&o.fn_search);
    }
    let write_fns = [&o.fn_rollback, &o.fn_restore, &o.fn_patch, &o.fn_publish, &o.fn_discard];
    let mut out: Vec<String> = read_fns.iter().chain(write_fns.iter()).map(|f| f.revoke_public()).collect();
    out.push(o.fn_draft_trigger.revoke_public());
    let helpers = |list: &[&str], role: &str| format!("GRANT EXECUTE ON FUNCTION {} TO {}", list.join(", "), ident(role));
    for role in dedup(m.read_roles.iter().chain(m.write_roles.iter())) {
        let r = ident(role);
        out.push(format!("GRANT USAGE ON SCHEMA {}, {}, specstar TO {r}", ident(&m.api_schema), ident(DATA_SCHEMA)));
        out.push(format!("GRANT SELECT ON {}, {}, {}, {} TO {r}", o.view, o.revision_view, o.table, o.history));
        out.extend(read_fns.iter().map(|f| f.grant_execute(role)));
        out.push(helpers(READ_HELPERS, role));
        out.extend(super::events::grant(m, o, role));
        // the API schema's GraphQL endpoint and the admin page's spec list, shared by its specs
        out.push(format!(
            "GRANT EXECUTE ON FUNCTION {api}.graphql(text, jsonb, text, jsonb), {api}.graphql_sdl(), {api}.admin_specs() TO {r}",
            api = ident(&m.api_schema)
        ));
    }
    // drafts are unpublished work: writers only
    for role in dedup(m.write_roles.iter()) {
        let r = ident(role);
        out.push(format!("GRANT INSERT, UPDATE, DELETE ON {}, {} TO {r}", o.view, o.table));
        out.push(format!("GRANT SELECT, INSERT, UPDATE, DELETE ON {}, {} TO {r}", o.draft_view, o.draft));
        out.extend(write_fns.iter().map(|f| f.grant_execute(role)));
        out.push(helpers(WRITE_HELPERS, role));
    }
    out
}
