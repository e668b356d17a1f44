//! Reading the change feed (sql/events.sql, docs/events.md): the events of some specs after
//! a cursor, only those whose revision the caller may read.
//!
//! The feed table is granted to nobody: its rows are read here with the extension owner's
//! rights, and each candidate's revision is then looked up with the caller's, so that the
//! specs' access rules (row-level security on the live table and the history) decide what
//! the caller gets — one rule for history, search and the feed. `top` counts returned rows;
//! after more than 10,000 hidden events in a row, one row with only a cursor (op `skip`)
//! lets the reader move on without scanning on; and a call never reads more than `top` +
//! 10,000 events (then it ends with a skip row too).

use std::collections::HashSet;

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::Uuid;
use specstar_core::ddl::sql::ident;

/// The most events one call returns.
const MAX_TOP: i32 = 10_000;
/// Hidden events in a row after which a call answers with a skip row.
const MAX_HIDDEN_RUN: usize = 10_000;
/// Candidates read per round.
const BATCH: i64 = 1_000;

fn raise(code: PgSqlErrorCode, message: String, hint: &str) -> ! {
    ErrorReport::new(code, message, "specstar changes").set_hint(hint).report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    error!("specstar changes: {what}: {e}")
}

type Event = (String, i64, Option<Uuid>, Option<i32>);

/// `(spec, cursor, id, revision)` of the events of `specs` after cursor `after` that the
/// caller may read, at most `top`, in cursor order; a skip row has no id and no revision.
#[pg_extern(name = "_changes", stable, parallel_restricted)]
fn changes(
    specs: Option<Vec<String>>,
    after: Option<i64>,
    top: Option<i32>,
) -> TableIterator<'static, (name!(spec, String), name!(cursor, i64), name!(id, Option<Uuid>), name!(revision, Option<i32>))> {
    let specs = specs.unwrap_or_default();
    let after = after.unwrap_or(0);
    let top = top.unwrap_or(100);
    if !(1..=MAX_TOP).contains(&top) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("changes: top must be between 1 and {MAX_TOP}, not {top}"),
            "Read the feed in pages: pass the last cursor you processed as after.",
        );
    }
    if after < 0 {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("changes: after must be 0 or a cursor, not {after}"), "Start at 0.");
    }
    // which specs the caller may read, and which of them have access rules
    let mut guarded = HashSet::new();
    for spec in &specs {
        match readable(spec) {
            None => raise(
                PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                format!("permission denied to read the changes of spec {spec}"),
                "Reading the feed needs the right to read the spec (options.roles.read).",
            ),
            Some(true) => {
                guarded.insert(spec.clone());
            }
            Some(false) => {}
        }
    }
    let mut out: Vec<Event> = Vec::new();
    let mut from = after;
    let mut hidden_run = 0usize;
    // a call reads at most this many events: a reader who sees few of many gets what it
    // found and a skip row to go on from, never an unbounded scan
    let budget = top as usize + MAX_HIDDEN_RUN;
    let mut scanned = 0usize;
    'rounds: loop {
        let batch = candidates(&specs, from);
        let exhausted = (batch.len() as i64) < BATCH;
        let visible = visible(&batch, &guarded);
        for (i, (spec, cursor, id, revision)) in batch.iter().enumerate() {
            from = *cursor;
            scanned += 1;
            if scanned > budget {
                // (go on from just before this event; the last row returned may say as much)
                if out.last().is_none_or(|e| e.1 < *cursor - 1) && *cursor - 1 > after {
                    out.push((spec.clone(), *cursor - 1, None, None));
                }
                break 'rounds;
            }
            if !guarded.contains(spec) || visible.contains(&i) {
                hidden_run = 0;
                out.push((spec.clone(), *cursor, Some(*id), Some(*revision)));
                if out.len() == top as usize {
                    break 'rounds;
                }
            } else {
                hidden_run += 1;
                if hidden_run > MAX_HIDDEN_RUN {
                    out.push((spec.clone(), *cursor, None, None));
                    break 'rounds;
                }
            }
        }
        if exhausted {
            break;
        }
    }
    TableIterator::new(out)
}

/// None: the caller may not read the spec (or it does not exist); else whether its table
/// has row-level security (access rules).
fn readable(spec: &str) -> Option<bool> {
    let sql = "SELECT pg_catalog.has_table_privilege(h.oid, 'SELECT') AND pg_catalog.has_table_privilege(t.oid, 'SELECT'), t.relrowsecurity \
                 FROM pg_catalog.pg_class t, pg_catalog.pg_class h \
                WHERE t.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1) AND h.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($2)";
    let (may, rls) = crate::owner::pinned(|| {
        crate::spi_read::two::<bool, bool>(
            sql,
            &[format!("specstar_data.{}", ident(spec)).into(), format!("specstar_data.{}", ident(&format!("{spec}_revision"))).into()],
        )
    })
    .unwrap_or((None, None));
    match (may, rls) {
        (Some(true), rls) => Some(rls.unwrap_or(false)),
        _ => None,
    }
}

/// The next events after `from` (every one, with the extension owner's rights).
fn candidates(specs: &[String], from: i64) -> Vec<(String, i64, Uuid, i32)> {
    let sql = "SELECT c.spec, c.cursor, c.id, c.revision FROM specstar.change c \
                WHERE c.spec OPERATOR(pg_catalog.=) ANY ($1) AND c.cursor OPERATOR(pg_catalog.>) $2 \
                ORDER BY c.cursor LIMIT $3";
    crate::owner::as_owner(crate::owner::extension_owner(), || {
        Spi::connect(|client| {
            let mut out = Vec::new();
            for row in client.select(sql, None, &[specs.to_vec().into(), from.into(), BATCH.into()])? {
                let (Some(spec), Some(cursor), Some(id), Some(revision)) =
                    (row.get::<String>(1)?, row.get::<i64>(2)?, row.get::<Uuid>(3)?, row.get::<i32>(4)?)
                else {
                    continue;
                };
                out.push((spec, cursor, id, revision));
            }
            Ok::<_, pgrx::spi::SpiError>(out)
        })
    })
    .unwrap_or_else(|e| fail("reading the feed", e))
}

/// The positions in `batch` whose revision the caller may read, for the specs with access
/// rules: asked of the spec's tables with the caller's rights (their row-level security).
fn visible(batch: &[(String, i64, Uuid, i32)], guarded: &HashSet<String>) -> HashSet<usize> {
    let mut out = HashSet::new();
    for spec in guarded {
        let picks: Vec<usize> = (0..batch.len()).filter(|i| &batch[*i].0 == spec).collect();
        if picks.is_empty() {
            continue;
        }
        let ids: Vec<Uuid> = picks.iter().map(|i| batch[*i].2).collect();
        let revisions: Vec<i32> = picks.iter().map(|i| batch[*i].3).collect();
        let sql = format!(
            "SELECT x.n FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.uuid[]), pg_catalog.unnest($2::pg_catalog.int4[])) WITH ORDINALITY AS x(id, revision, n) \
              WHERE EXISTS (SELECT 1 FROM specstar_data.{t} t WHERE t.id OPERATOR(pg_catalog.=) x.id AND t.revision OPERATOR(pg_catalog.=) x.revision) \
                 OR EXISTS (SELECT 1 FROM specstar_data.{h} h WHERE h.id OPERATOR(pg_catalog.=) x.id AND h.revision OPERATOR(pg_catalog.=) x.revision)",
            t = ident(spec),
            h = ident(&format!("{spec}_revision"))
        );
        let seen: Vec<i64> = crate::owner::pinned(|| {
            Spi::connect(|client| {
                let mut seen = Vec::new();
                for row in client.select(&sql, None, &[ids.into(), revisions.into()])? {
                    if let Some(n) = row.get::<i64>(1)? {
                        seen.push(n);
                    }
                }
                Ok::<_, pgrx::spi::SpiError>(seen)
            })
        })
        .unwrap_or_else(|e| fail("checking what the caller may read", e));
        out.extend(seen.into_iter().map(|n| picks[(n - 1) as usize]));
    }
    out
}
