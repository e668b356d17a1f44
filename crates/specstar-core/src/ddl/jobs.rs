//! A job spec's SQL (docs/jobs.md, `options.job`): the job columns and their indexes on
//! the live table, the enqueue rule of the view (idempotency keys), the worker functions —
//! one PL/pgSQL function per revision op, so that the revision trigger knows the op from the
//! function writing (caller.rs), as it knows rollback and publish — and their per-spec RPCs.
//!
//! The internal functions (`specstar_data.<spec>__<verb>`) are SECURITY DEFINER, owned by the
//! spec's owner, with a pinned search_path; the work roles may execute them. They are what
//! `specstar.job_<verb>(spec, ...)` (sql/jobs.sql) and the RPCs `<api>.<spec>_<verb>` call.

use super::sql::{ident, literal, render, QualifiedName};
use super::{Function, Objects, DATA_SCHEMA};
use crate::jobs::{JobConfig, Strategy, COLUMNS};
use crate::model::SpecModel;

/// The functions of a job spec.
#[derive(Debug, Clone)]
pub struct JobObjects {
    pub claim: Function,
    pub expire: Function,
    pub heartbeat: Function,
    pub complete: Function,
    pub complete_batch: Function,
    pub schedule: Function,
    pub fail: Function,
    pub snooze: Function,
    pub cancel: Function,
    pub rerun: Function,
    pub maintain: Function,
    pub stats: Function,
    pub not_held: Function,
    pub rpcs: Vec<(Function, &'static str)>,
}

impl JobObjects {
    pub fn new(spec: &str, api: &str) -> JobObjects {
        let data = |verb: &str, args: &str| Function::new(QualifiedName::new(DATA_SCHEMA, &format!("{spec}__{verb}")), args);
        let rpc = |verb: &str, args: &str| Function::new(QualifiedName::new(api, &format!("{spec}_{verb}")), args);
        JobObjects {
            claim: data("claim", "text, integer, interval"),
            expire: data("expire", "uuid"),
            heartbeat: data("heartbeat", "uuid, text, interval"),
            complete: data("complete", "uuid, text, jsonb"),
            complete_batch: data("complete_batch", "uuid[], text, jsonb[]"),
            schedule: data("schedule", "uuid"),
            fail: data("fail", "uuid, text, text, boolean, timestamptz"),
            snooze: data("snooze", "uuid, text, timestamptz"),
            cancel: data("cancel", "uuid"),
            rerun: data("rerun", "uuid, timestamptz"),
            maintain: data("maintain", ""),
            stats: data("stats", ""),
            not_held: data("not_held", "uuid, text, text"),
            rpcs: vec![
                (rpc("claim", "text, integer, interval"), "claim"),
                (rpc("heartbeat", "uuid, text, interval"), "heartbeat"),
                (rpc("complete", "uuid, text, jsonb"), "complete"),
                (rpc("complete_batch", "uuid[], text, jsonb[]"), "complete_batch"),
                (rpc("fail", "uuid, text, text, boolean, timestamptz"), "fail"),
                (rpc("snooze", "uuid, text, timestamptz"), "snooze"),
                (rpc("cancel", "uuid"), "cancel"),
                (rpc("rerun", "uuid, timestamptz"), "rerun"),
                (rpc("maintain", ""), "maintain"),
                (rpc("stats", ""), "stats"),
            ],
        }
    }

    /// The functions whose writes carry a job op, with the op (the revision trigger's labels).
    pub fn labelled(&self) -> Vec<(&Function, &'static str)> {
        vec![
            (&self.claim, "claim"),
            (&self.expire, "expire"),
            (&self.heartbeat, "heartbeat"),
            (&self.complete, "complete"),
            (&self.complete_batch, "complete"),
            (&self.schedule, "schedule"),
            (&self.fail, "fail"),
            (&self.snooze, "snooze"),
            (&self.cancel, "cancel"),
            (&self.rerun, "rerun"),
        ]
    }

    fn internal(&self) -> Vec<&Function> {
        vec![
            &self.expire,
            &self.claim,
            &self.not_held,
            &self.heartbeat,
            &self.schedule,
            &self.complete,
            &self.complete_batch,
            &self.fail,
            &self.snooze,
            &self.cancel,
            &self.rerun,
            &self.maintain,
            &self.stats,
        ]
    }
}

/// The settings of every job function besides the pinned search_path: generic plans without JIT.
/// (Custom plans would be planned again on every call — the planner prefers them because a
/// generic plan costs a `LIMIT $n` as a tenth of the table — and a generic plan that looks
/// that expensive would be JIT-compiled on every call.)
const SETTINGS: &str = "SET plan_cache_mode = force_generic_plan SET jit = off";

/// A stable 32-bit key for advisory locks of a spec's `what` (FNV-1a: the same in every build).
fn lock_key(spec: &str, what: &str) -> i32 {
    format!("specstar.jobs:{spec}:{what}").bytes().fold(0x811c9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x01000193)) as i32
}

/// `pg_catalog.make_interval(secs => n)`.
fn interval(seconds: f64) -> String {
    format!("make_interval(secs => {seconds})")
}

/// The delay after the attempt `t.attempts` failed, as an interval expression.
fn backoff_sql(c: &JobConfig) -> String {
    let b = &c.backoff;
    let raw = match b.strategy {
        Strategy::Exponential => format!("{} * power(2::float8, least(t.attempts - 1, 62))", b.base_seconds),
        Strategy::Linear => format!("{} * t.attempts", b.base_seconds),
        Strategy::Constant => format!("{}", b.base_seconds),
    };
    format!("make_interval(secs => least({raw}, {}) * (1 + random() * {}))", b.max_seconds, b.jitter)
}

/// The columns a job spec's live table has besides the properties and specstar's own.
pub fn table_columns(c: &JobConfig) -> Vec<String> {
    let _ = c;
    let mut out: Vec<String> = COLUMNS
        .iter()
        .map(|col| {
            let default = match col.name {
                "status" => " NOT NULL DEFAULT 'pending'",
                "priority" | "attempts" | "runs" => " NOT NULL DEFAULT 0",
                "run_at" | "max_attempts" => " NOT NULL",
                _ => "",
            };
            format!("{} {}{default}", ident(col.name), col.sql)
        })
        .collect();
    // enqueue order (claims take jobs of equal priority and run_at in this order)
    out.push("_seq bigint GENERATED BY DEFAULT AS IDENTITY".to_string());
    out
}

/// Table settings, constraints and indexes of a job spec's live table (created with it).
pub fn storage(m: &SpecModel, o: &Objects) -> Vec<String> {
    if m.job.is_none() {
        return vec![];
    }
    let t = &o.table;
    let name = |suffix: &str| ident(&super::object_name(&m.name, "job", suffix));
    // (no CHECK on status: the revision trigger lets only the job functions change it, and a
    // CHECK costs every statement a parse of its expression)
    vec![
        // the floor's settings (docs/jobs.md): claimed jobs leave dead index entries at the
        // head of the pending index until vacuum removes them
        // (and statistics less often: a queue's rows change all the time, its claims use
        // generic plans, and analyzing a job table's many columns is not free)
        format!(
            "ALTER TABLE {t} SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 20000, \
             autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_scale_factor = 0.5)"
        ),
        // (partial: jobs without a key, most of them, cost no index entry on every transition)
        format!("CREATE UNIQUE INDEX {} ON {t} (idempotency_key) WHERE idempotency_key IS NOT NULL", name("idempotency_key")),
        format!("CREATE INDEX {} ON {t} (priority, run_at, _seq) WHERE status = 'pending'", name("pending_idx")),
        format!("CREATE INDEX {} ON {t} (lease_until) WHERE status = 'running'", name("running_idx")),
        format!("CREATE INDEX {} ON {t} (partition_key) WHERE status = 'running' AND partition_key IS NOT NULL", name("partition_idx")),
    ]
}

/// `"status", "run_at", ...` with a prefix.
pub fn cols(prefix: &str) -> String {
    COLUMNS.iter().map(|c| format!("{prefix}{}", ident(c.name))).collect::<Vec<_>>().join(", ")
}

/// The `jsonb_to_record` column definitions of the job columns (qualified types).
pub fn coldefs() -> String {
    let qualified = |sql: &str| match sql {
        "smallint" => "int2",
        "integer" => "int4",
        other => other,
    }
    .to_string();
    COLUMNS.iter().map(|c| format!("{} pg_catalog.{}", ident(c.name), qualified(c.sql))).collect::<Vec<_>>().join(", ")
}

/// Everything a job spec adds to the behaviour: view defaults, the enqueue rule, the
/// worker functions and RPCs, and their grants.
pub fn create(m: &SpecModel, o: &Objects, vid: i64, live_row: &str) -> Vec<String> {
    let Some(c) = &m.job else { return vec![] };
    let j = JobObjects::new(&m.name, &m.api_schema);
    let spec = literal(&m.name);
    let vid_s = vid.to_string();
    let lease = interval(c.lease_seconds);
    let pc = c.partition_concurrency.to_string();
    let partition_free = if c.partition_concurrency == 1 {
        format!("NOT EXISTS (SELECT 1 FROM {} r WHERE r.partition_key = t.partition_key AND r.status = 'running')", o.table)
    } else {
        format!(
            "(SELECT count(*) FROM (SELECT 1 FROM {} r WHERE r.partition_key = t.partition_key AND r.status = 'running' LIMIT {pc}) x) < {pc}",
            o.table
        )
    };
    let concurrency_block = match c.concurrency {
        None => "  -- (no spec-wide concurrency limit)".to_string(),
        Some(limit) => format!(
            "  -- at most {limit} running jobs of the spec: claims take turns, counting after the lock\n  \
             PERFORM specstar._job_require_read_committed({spec});\n  \
             PERFORM pg_advisory_xact_lock({}, 0);\n  \
             SELECT count(*) INTO _running FROM {} r WHERE r.status = 'running';\n  \
             _n := least(_n, {limit} - _running);\n  \
             IF _n <= 0 THEN\n    RETURN;\n  END IF;",
            lock_key(&m.name, "spec"),
            o.table
        ),
    };
    let (check_result, check_results) = if let Some(schema) = &c.result_schema {
        // (the schema's hash keys the compiled validator: the job options may change in place)
        let key = crate::jobs::schema_key(schema);
        (
            format!("  PERFORM specstar._job_check_result({spec}, {vid_s}, {key}, $1, $3);"),
            format!("    PERFORM specstar._job_check_result({spec}, {vid_s}, {key}, _id, _result);"),
        )
    } else {
        ("  -- (no result_schema)".to_string(), "    -- (no result_schema)".to_string())
    };
    let retention_block = if c.retention.is_empty() {
        "  -- (no retention: finished jobs are kept)".to_string()
    } else {
        c.retention
            .iter()
            .map(|(status, secs)| {
                format!(
                    "  FOR _id IN SELECT t.id FROM {} t WHERE t.status = {} AND t.finished_at < now() - {} LIMIT 1000 FOR UPDATE SKIP LOCKED LOOP\n    \
                     PERFORM specstar.purge({spec}, _id);\n    _purged := _purged + 1;\n  END LOOP;",
                    o.table,
                    literal(status),
                    interval(*secs)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let payload_names: Vec<String> = m.properties.iter().map(|p| ident(&p.name)).collect();
    let new_payload = payload_names.iter().map(|n| format!("NEW.{n}")).collect::<Vec<_>>().join(", ");
    let old_payload = payload_names.iter().map(|n| format!("_old.{n}")).collect::<Vec<_>>().join(", ");
    let insert_cols = format!("{}, {}", payload_names.join(", "), cols(""));
    let insert_values = format!("{new_payload}, {}", cols("NEW."));
    let payload_t = format!("specstar._payload(t.*, {vid})");
    let backoff = backoff_sql(c);
    let names: Vec<(&str, String)> = vec![
        ("fn_claim", j.claim.name.to_string()),
        ("fn_expire", j.expire.name.to_string()),
        ("fn_heartbeat", j.heartbeat.name.to_string()),
        ("fn_complete", j.complete.name.to_string()),
        ("fn_complete_batch", j.complete_batch.name.to_string()),
        ("fn_schedule", j.schedule.name.to_string()),
        ("fn_fail", j.fail.name.to_string()),
        ("fn_snooze", j.snooze.name.to_string()),
        ("fn_cancel", j.cancel.name.to_string()),
        ("fn_rerun", j.rerun.name.to_string()),
        ("fn_maintain", j.maintain.name.to_string()),
        ("fn_stats", j.stats.name.to_string()),
        ("fn_not_held", j.not_held.name.to_string()),
        ("table", o.table.to_string()),
        ("view", o.view.to_string()),
        ("partition_lock", lock_key(&m.name, "partition").to_string()),
    ];
    let mut vars: Vec<(&str, &str)> = names.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.extend([
        ("spec", spec.as_str()),
        ("lease", lease.as_str()),
        ("partition_concurrency", pc.as_str()),
        ("partition_free", partition_free.as_str()),
        ("concurrency_block", concurrency_block.as_str()),
        ("check_result", check_result.as_str()),
        ("check_results", check_results.as_str()),
        ("retention_block", retention_block.as_str()),
        ("new_payload", new_payload.as_str()),
        ("old_payload", old_payload.as_str()),
        ("insert_cols", insert_cols.as_str()),
        ("insert_values", insert_values.as_str()),
        ("payload_t", payload_t.as_str()),
        ("backoff", backoff.as_str()),
        ("live_row", live_row),
        ("settings", SETTINGS),
    ]);
    let mut out = Vec::new();
    // defaults on the view: an INSTEAD OF trigger sees the view's defaults, not the table's
    out.push(format!("ALTER VIEW {} ALTER COLUMN id SET DEFAULT specstar.new_job_id()", o.view));
    for (col, d) in [("status", "'pending'"), ("priority", "0"), ("attempts", "0"), ("runs", "0")] {
        out.push(format!("ALTER VIEW {} ALTER COLUMN {} SET DEFAULT {d}", o.view, ident(col)));
    }
    for p in &m.properties {
        if let Some(d) = p.default.as_ref().and_then(|d| super::default_sql(d, p.column_type)) {
            out.push(format!("ALTER VIEW {} ALTER COLUMN {} SET DEFAULT {d}", o.view, ident(&p.name)));
        }
    }
    for col in COLUMNS.iter() {
        out.push(format!("COMMENT ON COLUMN {}.{} IS {}", o.view, ident(col.name), literal(col.comment)));
    }
    for statement in include_str!("templates/jobs.sql").split("\n;;\n") {
        out.push(render(statement.trim_end(), &vars));
    }
    // Enqueue: a rule makes an INSERT on the view one INSERT into the table (set-based: a
    // multi-row INSERT is one statement). A job whose idempotency_key names an existing job
    // meets it through ON CONFLICT: the same payload updates nothing (no revision) and
    // RETURNING gives the existing job; another payload is PT409. (Rules keep RETURNING and
    // work inside WITH, as PostgREST writes; ON CONFLICT on the view itself is refused.)
    let payload_cols = m.properties.iter().map(|p| ident(&p.name)).collect::<Vec<_>>();
    let row = |alias: &str| format!("ROW({})", payload_cols.iter().map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", "));
    out.push(format!(
        "CREATE RULE specstar_enqueue AS ON INSERT TO {view} DO INSTEAD
           INSERT INTO {table} AS t (id, revision, {insert_cols})
           VALUES (NEW.id, NEW.revision, {insert_values})
           ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO UPDATE SET idempotency_key = excluded.idempotency_key
             WHERE CASE WHEN {old} IS NOT DISTINCT FROM {new} THEN true
                        ELSE specstar._job_key_conflict({spec}, t.idempotency_key, t.id) END
           RETURNING {live_row}",
        view = o.view,
        table = o.table,
        old = row("t"),
        new = row("excluded"),
    ));
    for f in j.internal() {
        out.push(f.depends_on_extension());
        out.push(f.revoke_public());
    }
    // the RPCs: the same, without the spec argument, typed rows of the view
    let view = o.view.to_string();
    let rpc_defs: Vec<(String, String, String)> = vec![
        ("worker text, n integer DEFAULT 1, lease interval DEFAULT NULL".into(), format!("SETOF {view}"),
         // (two statements: the second one's snapshot sees what the claim wrote)
         format!("_ids := ARRAY(SELECT c.id FROM {} c);\n  RETURN QUERY SELECT v.* FROM {view} v WHERE v.id = ANY (_ids) ORDER BY v.priority, v.run_at;", call(&j.claim, 3))),
        ("id uuid, worker text, lease interval DEFAULT NULL".into(), "timestamptz".into(), format!("RETURN {};", call(&j.heartbeat, 3))),
        ("id uuid, worker text, result jsonb DEFAULT NULL".into(), view.clone(), format!("RETURN {};", call(&j.complete, 3))),
        ("ids uuid[], worker text, results jsonb[] DEFAULT NULL".into(), "SETOF uuid".into(), format!("RETURN QUERY SELECT {};", call(&j.complete_batch, 3))),
        ("id uuid, worker text, error text, retry boolean DEFAULT true, retry_at timestamptz DEFAULT NULL".into(), view.clone(), format!("RETURN {};", call(&j.fail, 5))),
        ("id uuid, worker text, run_at timestamptz".into(), view.clone(), format!("RETURN {};", call(&j.snooze, 3))),
        ("id uuid".into(), view.clone(), format!("RETURN {};", call(&j.cancel, 1))),
        ("id uuid, run_at timestamptz DEFAULT now()".into(), view.clone(), format!("RETURN {};", call(&j.rerun, 2))),
        ("".into(), "jsonb".into(), format!("RETURN {};", call(&j.maintain, 0))),
        ("".into(), "jsonb".into(), format!("RETURN {};", call(&j.stats, 0))),
    ];
    for ((f, verb), (params, returns, body)) in j.rpcs.iter().zip(rpc_defs) {
        out.push(format!(
            "CREATE FUNCTION {}({params}) RETURNS {returns} LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp {SETTINGS} AS $specstar$\nDECLARE\n  _ids uuid[];\nBEGIN\n  {body}\nEND\n$specstar$",
            f.name
        ));
        out.push(f.depends_on_extension());
        out.push(f.revoke_public());
        out.push(format!("COMMENT ON FUNCTION {} IS {}", f.signature(), literal(&format!("specstar.job_{verb} for spec {} (docs/jobs.md).", m.name))));
    }
    out.extend(grants(m, o, &j));
    out
}

/// `fn($1, .., $n)`.
fn call(f: &Function, n: usize) -> String {
    format!("{}({})", f.name, (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", "))
}

/// What the work roles (default: the write roles) may call, and what writers and readers
/// may call besides (cancel and rerun are writers' work; stats are for everyone who reads).
fn grants(m: &SpecModel, o: &Objects, j: &JobObjects) -> Vec<String> {
    let mut out = Vec::new();
    let rpc = |verb: &str| j.rpcs.iter().find(|(_, v)| *v == verb).map(|(f, _)| f).expect("rpc exists");
    let generic = |verbs: &[&str]| -> String {
        verbs.iter().map(|v| format!("specstar.job_{v}({})", generic_args(v))).collect::<Vec<_>>().join(", ")
    };
    let worker_verbs = ["claim", "heartbeat", "complete", "complete_batch", "fail", "snooze", "maintain", "stats", "cancel", "rerun"];
    for role in super::dedup(m.work_roles.iter()) {
        let r = ident(role);
        out.push(format!("GRANT USAGE ON SCHEMA {}, {}, specstar TO {r}", ident(&m.api_schema), ident(DATA_SCHEMA)));
        out.push(format!("GRANT SELECT ON {}, {} TO {r}", o.view, o.table));
        for f in [&j.claim, &j.heartbeat, &j.complete, &j.complete_batch, &j.fail, &j.snooze, &j.maintain, &j.stats, &j.cancel, &j.rerun] {
            out.push(f.grant_execute(role));
        }
        for v in worker_verbs {
            out.push(rpc(v).grant_execute(role));
        }
        out.push(format!("GRANT EXECUTE ON FUNCTION {}, specstar._job_fn(text, text) TO {r}", generic(&worker_verbs)));
        out.push(format!("GRANT EXECUTE ON FUNCTION {} TO {r}", super::grants::READ_HELPERS.join(", ")));
    }
    for role in super::dedup(m.write_roles.iter()) {
        let r = ident(role);
        // (what an enqueue calls with the writer's rights)
        out.push(format!("GRANT EXECUTE ON FUNCTION specstar.new_job_id(), specstar._job_key_conflict(text, text, uuid) TO {r}"));
        for f in [&j.cancel, &j.rerun, &j.stats] {
            out.push(f.grant_execute(role));
        }
        for v in ["cancel", "rerun", "stats"] {
            out.push(rpc(v).grant_execute(role));
        }
        out.push(format!("GRANT EXECUTE ON FUNCTION {}, specstar._job_fn(text, text) TO {r}", generic(&["cancel", "rerun", "stats"])));
    }
    for role in super::dedup(m.read_roles.iter()) {
        out.push(j.stats.grant_execute(role));
        out.push(rpc("stats").grant_execute(role));
        out.push(format!("GRANT EXECUTE ON FUNCTION {}, specstar._job_fn(text, text) TO {}", generic(&["stats"]), ident(role)));
    }
    out
}

/// The argument types of `specstar.job_<verb>`.
pub fn generic_args(verb: &str) -> &'static str {
    match verb {
        "claim" => "text, text, integer, interval",
        "heartbeat" => "text, uuid, text, interval",
        "complete" => "text, uuid, text, jsonb",
        "complete_batch" => "text, uuid[], text, jsonb[]",
        "fail" => "text, uuid, text, text, boolean, timestamptz",
        "snooze" => "text, uuid, text, timestamptz",
        "cancel" => "text, uuid",
        "rerun" => "text, uuid, timestamptz",
        _ => "text",
    }
}

/// Dropping what [`create`] made (the columns and indexes go with the table).
pub fn drop(m: &SpecModel, o: &Objects) -> Vec<String> {
    if m.job.is_none() {
        return vec![];
    }
    let j = JobObjects::new(&m.name, &m.api_schema);
    let mut out: Vec<String> = j.rpcs.iter().map(|(f, _)| f.drop()).collect();
    out.push(format!("DROP RULE specstar_enqueue ON {}", o.view));
    out.extend(j.internal().into_iter().rev().map(|f| f.drop()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Context, SpecModel};
    use serde_json::json;

    fn model(job: serde_json::Value) -> SpecModel {
        let schema = json!({"type": "object", "properties": {"to": {"type": "string"}, "n": {"type": "integer", "default": 1}}, "required": ["to"]});
        let ctx = Context { write_roles: vec!["editor".into()], read_roles: vec!["viewer".into()], ..Default::default() };
        SpecModel::build("email", &schema, &json!({"job": job}), &ctx).unwrap()
    }

    #[test]
    fn job_specs_reserve_the_job_columns() {
        let schema = json!({"type": "object", "properties": {"status": {"type": "string"}}});
        let e = SpecModel::build("email", &schema, &json!({"job": {}}), &Context::default()).unwrap_err();
        assert_eq!(e[0].path, "/properties/status");
        assert!(e[0].message.contains("reserved in job specs"), "{}", e[0].message);
        // (a plain spec may have a property named status)
        assert!(SpecModel::build("email", &schema, &json!({}), &Context::default()).is_ok());
    }

    #[test]
    fn every_function_is_pinned_tied_and_revoked() {
        let m = model(json!({"concurrency": 3, "partition_concurrency": 2, "result_schema": {"type": "object"}, "retention": {"done": "1 day"}}));
        let ddl = super::super::generate(&m, 9, &[]);
        let created: Vec<&String> = ddl.behaviour.iter().filter(|s| s.starts_with("CREATE FUNCTION") && s.contains("__") || s.contains("\"email_claim\"(")).collect();
        assert!(created.len() > 10);
        for f in ddl.behaviour.iter().filter(|s| s.starts_with("CREATE FUNCTION")) {
            let header = &f[..f.find("$specstar$").unwrap()];
            assert!(header.contains("SET search_path = pg_catalog, pg_temp") || !header.contains("SECURITY DEFINER"), "{f}");
            assert!(!f.contains("{{"), "{f}");
        }
        let j = JobObjects::new("email", "api");
        for f in j.internal() {
            assert!(ddl.behaviour.contains(&f.revoke_public()), "{}", f.signature());
            assert!(ddl.behaviour.contains(&f.depends_on_extension()), "{}", f.signature());
            assert!(ddl.drop_behaviour.contains(&f.drop()), "{}", f.signature());
        }
        let all = ddl.behaviour.join("\n");
        assert!(all.contains("pg_advisory_xact_lock("), "the concurrency limit locks");
        assert!(all.contains("LIMIT 2) x) < 2"), "partition_concurrency 2");
        assert!(all.contains("specstar._job_check_result('email', 9, "), "result_schema");
        assert!(all.contains("PERFORM specstar.purge('email', _id)"), "retention");
        assert!(ddl.behaviour.iter().any(|s| s == "GRANT EXECUTE ON FUNCTION \"specstar_data\".\"email__claim\"(text, integer, interval) TO \"editor\""));
        assert!(!ddl.behaviour.iter().any(|s| s.contains("email__claim") && s.contains("TO \"viewer\"")));
        let table = ddl.storage.iter().find(|s| s.starts_with("CREATE TABLE \"specstar_data\".\"email\" ")).unwrap();
        assert!(table.contains("\"status\" text NOT NULL DEFAULT 'pending'"), "{table}");
        assert!(table.contains("_seq bigint GENERATED BY DEFAULT AS IDENTITY"), "{table}");
    }

    #[test]
    fn dispatch_calls_each_job_spec_statically() {
        let none = dispatch(&[]);
        assert_eq!(none.len(), 10);
        assert!(none[0].contains("BEGIN\n  RETURN QUERY EXECUTE format('SELECT * FROM %s($1, $2, $3)', specstar._job_fn(spec, 'claim')) USING worker, n, lease;\nEND"), "{}", none[0]);
        assert!(!none.iter().any(|f| f.contains("CASE")));
        let two = dispatch(&["a".to_string(), "it's".to_string()]);
        assert!(two[0].contains("WHEN 'a' THEN\n      RETURN QUERY SELECT * FROM \"specstar_data\".\"a__claim\"(worker, n, lease);"), "{}", two[0]);
        assert!(two[0].contains("WHEN 'it''s' THEN\n      RETURN QUERY SELECT * FROM \"specstar_data\".\"it's__claim\"(worker, n, lease);"), "{}", two[0]);
        assert!(two[2].contains("RETURN (SELECT to_jsonb(r) FROM \"specstar_data\".\"a__complete\"(id, worker, result) r);"), "{}", two[2]);
        assert!(two[9].contains("RETURN \"specstar_data\".\"a__stats\"();"), "{}", two[9]);
        for f in &two {
            assert!(f.contains("SET search_path = pg_catalog, pg_temp"), "{f}");
        }
    }

    #[test]
    fn defaults_make_no_limits() {
        let m = model(json!({}));
        let ddl = super::super::generate(&m, 9, &[]);
        let all = ddl.behaviour.join("\n");
        assert!(all.contains("(no spec-wide concurrency limit)"));
        assert!(all.contains("(no result_schema)"));
        assert!(all.contains("make_interval(secs => least(10 * power(2::float8, least(t.attempts - 1, 62)), 3600) * (1 + random() * 0.1))"));
        assert_ne!(lock_key("email", "spec"), lock_key("email", "partition"));
    }
}

/// The generic job functions `specstar.job_<verb>(spec, ...)`, with a static call of each
/// job spec's own function (a cached plan; `specstar._job_dispatch()` writes them again
/// whenever the job specs change) and, for any other spec name, the same call built at run
/// time (`specstar._job_fn` raises PT404 or 22023 for what is no job spec). One definition for
/// CREATE EXTENSION and every registration.
pub fn dispatch(specs: &[String]) -> Vec<String> {
    // verb, parameters (with defaults), return type, call arguments, how a row comes back
    let verbs: [(&str, &str, &str, &str, &str); 10] = [
        ("claim", "spec text, worker text, n integer DEFAULT 1, lease interval DEFAULT NULL", "SETOF specstar.claimed_job", "worker, n, lease", "set"),
        ("heartbeat", "spec text, id uuid, worker text, lease interval DEFAULT NULL", "timestamptz", "id, worker, lease", "scalar"),
        ("complete", "spec text, id uuid, worker text, result jsonb DEFAULT NULL", "jsonb", "id, worker, result", "row"),
        ("complete_batch", "spec text, ids uuid[], worker text, results jsonb[] DEFAULT NULL", "SETOF uuid", "ids, worker, results", "set"),
        ("fail", "spec text, id uuid, worker text, error text, retry boolean DEFAULT true, retry_at timestamptz DEFAULT NULL", "jsonb", "id, worker, error, retry, retry_at", "row"),
        ("snooze", "spec text, id uuid, worker text, run_at timestamptz", "jsonb", "id, worker, run_at", "row"),
        ("cancel", "spec text, id uuid", "jsonb", "id", "row"),
        ("rerun", "spec text, id uuid, run_at timestamptz DEFAULT now()", "jsonb", "id, run_at", "row"),
        ("maintain", "spec text", "jsonb", "", "scalar"),
        ("stats", "spec text", "jsonb", "", "scalar"),
    ];
    verbs
        .iter()
        .map(|(verb, params, returns, args, kind)| {
            let n = if args.is_empty() { 0 } else { args.split(", ").count() };
            let placeholders = (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
            let using = if args.is_empty() { String::new() } else { format!(" USING {args}") };
            let (static_call, dynamic_call) = match *kind {
                "set" => (
                    (|f: &str, args: &str| format!("RETURN QUERY SELECT * FROM {f}({args});")) as fn(&str, &str) -> String,
                    format!("RETURN QUERY EXECUTE format('SELECT * FROM %s({placeholders})', specstar._job_fn(spec, '{verb}')){using};"),
                ),
                "row" => (
                    (|f: &str, args: &str| format!("RETURN (SELECT to_jsonb(r) FROM {f}({args}) r);")) as fn(&str, &str) -> String,
                    format!("EXECUTE format('SELECT to_jsonb(r) FROM %s({placeholders}) r', specstar._job_fn(spec, '{verb}')) INTO v{using};\n    RETURN v;"),
                ),
                _ => (
                    (|f: &str, args: &str| format!("RETURN {f}({args});")) as fn(&str, &str) -> String,
                    format!("EXECUTE format('SELECT %s({placeholders})', specstar._job_fn(spec, '{verb}')) INTO v{using};\n    RETURN v;"),
                ),
            };
            let branches: String = specs
                .iter()
                .map(|s| {
                    let f = QualifiedName::new(DATA_SCHEMA, &format!("{s}__{verb}"));
                    format!("    WHEN {} THEN\n      {}\n", literal(s), static_call(&f.to_string(), args))
                })
                .collect();
            let v_type = if *returns == "timestamptz" { "timestamptz" } else { "jsonb" };
            // (PL/pgSQL's CASE needs a WHEN: without job specs, only the call built at run time)
            let body = if specs.is_empty() {
                format!("  {}", dynamic_call.replace("\n    ", "\n  "))
            } else {
                format!("  CASE spec\n{branches}    ELSE\n      {dynamic_call}\n  END CASE;")
            };
            format!(
                "CREATE OR REPLACE FUNCTION specstar.job_{verb}({params}) RETURNS {returns}\n\
                 LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $specstar$\n\
                 -- (generated by specstar._job_dispatch(): a static call per job spec, rebuilt whenever they change)\n\
                 DECLARE\n  v {v_type};\nBEGIN\n{body}\nEND\n$specstar$"
            )
        })
        .collect()
}
