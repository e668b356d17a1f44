//! Jobs as resources (docs/jobs.md): the `job` option of `register_spec`, checked and
//! normalised here (intervals in seconds, backoff, limits), the columns a job spec adds, and
//! the cron schedules of periodic jobs. Pure logic; the SQL that uses it is
//! `ddl::jobs`, the trigger's part is `src/trigger.rs`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::SpecError;

/// The `job` option as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobOptions {
    /// Attempts before a job is `failed` (default 4); a job may set its own at insert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<i64>,
    /// Delay after a failed attempt: "exponential" (default), "linear", "constant", or
    /// {"strategy", "base" (default "10s"), "max" (default "1h"), "jitter" (default 0.1)}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Value>,
    /// How long a claim holds a job without a heartbeat (default "30s").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<String>,
    /// Running jobs allowed per `partition_key` (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_concurrency: Option<i64>,
    /// Running jobs allowed for the whole spec (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<i64>,
    /// JSON Schema a job's `result` must satisfy (PT422).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_schema: Option<Value>,
    /// How long finished jobs are kept: {"done": "7 days", "failed": "30 days", "cancelled": "7 days"};
    /// `job_maintain` purges older ones with their history (default: keep forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Value>,
}

/// How the delay after a failed attempt grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    Exponential,
    Linear,
    Constant,
}

/// The backoff, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backoff {
    pub strategy: Strategy,
    pub base_seconds: f64,
    pub max_seconds: f64,
    pub jitter: f64,
}

impl Backoff {
    /// The delay in seconds after attempt `n` (1-based) failed, before jitter (`rand` in
    /// 0..1 lengthens it by up to `jitter` of itself, never shortens it).
    pub fn delay(&self, n: i64, rand: f64) -> f64 {
        let n = n.max(1);
        let raw = match self.strategy {
            Strategy::Exponential => self.base_seconds * 2f64.powi((n - 1).min(62) as i32),
            Strategy::Linear => self.base_seconds * n as f64,
            Strategy::Constant => self.base_seconds,
        };
        raw.min(self.max_seconds) * (1.0 + rand.clamp(0.0, 1.0) * self.jitter)
    }
}

/// The job option, checked and normalised: what the generated SQL and the trigger use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobConfig {
    pub max_attempts: i32,
    pub backoff: Backoff,
    pub lease_seconds: f64,
    pub partition_concurrency: i32,
    pub concurrency: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_schema: Option<Value>,
    /// seconds to keep finished jobs, per final status
    #[serde(default)]
    pub retention: Vec<(String, f64)>,
}

/// The statuses a job goes through.
pub const STATUSES: [&str; 5] = ["pending", "running", "done", "failed", "cancelled"];
/// The statuses of finished jobs (retention applies to them).
pub const FINISHED: [&str; 3] = ["done", "failed", "cancelled"];

/// Who may write a job column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writable {
    /// INSERT and UPDATE (UPDATE only while the job is pending)
    WhilePending,
    /// INSERT only
    InsertOnly,
    /// specstar only (an INSERT may give the column's initial value)
    Never,
}

/// A column a job spec adds: name, SQL type, who may write it, and its comment.
pub struct JobColumn {
    pub name: &'static str,
    pub sql: &'static str,
    pub writable: Writable,
    pub comment: &'static str,
}

/// The columns of a job spec, in table and view order (reserved as property names).
pub const COLUMNS: [JobColumn; 17] = [
    JobColumn { name: "status", sql: "text", writable: Writable::Never, comment: "pending | running | done | failed | cancelled." },
    JobColumn { name: "run_at", sql: "timestamptz", writable: Writable::WhilePending, comment: "Not claimed before this time (default now(); cron jobs: the next cron time)." },
    JobColumn { name: "priority", sql: "smallint", writable: Writable::WhilePending, comment: "Lower runs first (default 0)." },
    JobColumn { name: "attempts", sql: "integer", writable: Writable::Never, comment: "Claims of this run so far." },
    JobColumn { name: "max_attempts", sql: "integer", writable: Writable::InsertOnly, comment: "Attempts before the job fails for good." },
    JobColumn { name: "leased_by", sql: "text", writable: Writable::Never, comment: "Worker of the current or last attempt." },
    JobColumn { name: "lease_until", sql: "timestamptz", writable: Writable::Never, comment: "End of the current lease (NULL unless running)." },
    JobColumn { name: "started_at", sql: "timestamptz", writable: Writable::Never, comment: "When the last attempt was claimed." },
    JobColumn { name: "finished_at", sql: "timestamptz", writable: Writable::Never, comment: "When the job reached done, failed or cancelled." },
    JobColumn { name: "last_error", sql: "text", writable: Writable::Never, comment: "The last failure (kept until a rerun)." },
    JobColumn { name: "result", sql: "jsonb", writable: Writable::Never, comment: "What job_complete recorded." },
    JobColumn { name: "idempotency_key", sql: "text", writable: Writable::InsertOnly, comment: "Unique among the spec's jobs: enqueueing the same key again returns the job." },
    JobColumn { name: "partition_key", sql: "text", writable: Writable::InsertOnly, comment: "Jobs with the same key run at most partition_concurrency at a time." },
    JobColumn { name: "every", sql: "interval", writable: Writable::WhilePending, comment: "Periodic: run again this long after the previous run_at." },
    JobColumn { name: "cron", sql: "text", writable: Writable::WhilePending, comment: "Periodic: a 5-field cron expression (UTC)." },
    JobColumn { name: "max_runs", sql: "integer", writable: Writable::WhilePending, comment: "Periodic: stop after this many successful runs." },
    JobColumn { name: "runs", sql: "integer", writable: Writable::Never, comment: "Successful runs so far." },
];

/// Positions in [`COLUMNS`].
pub mod col {
    pub const STATUS: usize = 0;
    pub const RUN_AT: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const ATTEMPTS: usize = 3;
    pub const MAX_ATTEMPTS: usize = 4;
    pub const LEASED_BY: usize = 5;
    pub const LEASE_UNTIL: usize = 6;
    pub const STARTED_AT: usize = 7;
    pub const FINISHED_AT: usize = 8;
    pub const LAST_ERROR: usize = 9;
    pub const RESULT: usize = 10;
    pub const IDEMPOTENCY_KEY: usize = 11;
    pub const PARTITION_KEY: usize = 12;
    pub const EVERY: usize = 13;
    pub const CRON: usize = 14;
    pub const MAX_RUNS: usize = 15;
    pub const RUNS: usize = 16;
}

/// The names of the job columns.
pub fn column_names() -> impl Iterator<Item = &'static str> {
    COLUMNS.iter().map(|c| c.name)
}

/// The operations a job's revisions carry besides DESIGN's: each is written by one generated
/// function (`<spec>__<op>`), which is how the revision trigger knows it.
pub const OPS: [&str; 9] = ["claim", "expire", "heartbeat", "complete", "schedule", "fail", "snooze", "cancel", "rerun"];

fn err(path: &str, message: String, hint: &str) -> SpecError {
    SpecError::new(path, format!("{path}: {message}"), hint)
}

const INTERVAL_HINT: &str = "Write a duration such as \"30s\", \"5m\", \"1h\" or \"7days\".";

/// Seconds of a duration written like "30s", "1h 30m" or "7 days".
pub fn seconds(text: &str) -> Result<f64, String> {
    let compact: String = text.split_whitespace().collect::<Vec<_>>().join("");
    let d = humantime::parse_duration(&compact).map_err(|e| format!("\"{text}\" is not a duration ({e})"))?;
    let s = d.as_secs_f64();
    if s <= 0.0 {
        return Err(format!("\"{text}\" must be longer than zero"));
    }
    if s > 100.0 * 365.0 * 86400.0 {
        return Err(format!("\"{text}\" is longer than 100 years"));
    }
    Ok(s)
}

fn duration_at(v: &Value, path: &str, errors: &mut Vec<SpecError>) -> Option<f64> {
    match v.as_str().map(seconds) {
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => {
            errors.push(err(path, e, INTERVAL_HINT));
            None
        }
        None => {
            errors.push(err(path, format!("must be a duration string, not {}", crate::json::quote(v)), INTERVAL_HINT));
            None
        }
    }
}

fn count_at(v: Option<i64>, path: &str, default: i64, max: i64, errors: &mut Vec<SpecError>) -> i32 {
    match v {
        None => default as i32,
        Some(n) if (1..=max).contains(&n) => n as i32,
        Some(n) => {
            errors.push(err(path, format!("{n} is not between 1 and {max}"), "Give a positive whole number."));
            default as i32
        }
    }
}

impl JobOptions {
    /// Checks the option; errors name `/options/job/...`.
    pub fn config(&self) -> Result<JobConfig, Vec<SpecError>> {
        let mut errors = Vec::new();
        let max_attempts = count_at(self.max_attempts, "/options/job/max_attempts", 4, 1000, &mut errors);
        let partition_concurrency = count_at(self.partition_concurrency, "/options/job/partition_concurrency", 1, 100_000, &mut errors);
        let concurrency = self.concurrency.map(|_| count_at(self.concurrency, "/options/job/concurrency", 1, 100_000, &mut errors));
        let lease_seconds = match &self.lease {
            None => 30.0,
            Some(l) => match duration_at(&Value::String(l.clone()), "/options/job/lease", &mut errors) {
                // (what job_claim and job_heartbeat accept)
                Some(s) if !(1.0..=7.0 * 86400.0).contains(&s) => {
                    errors.push(err("/options/job/lease", format!("\"{l}\" is not from 1 second to 7 days"), INTERVAL_HINT));
                    30.0
                }
                Some(s) => s,
                None => 30.0,
            },
        };
        let backoff = self.backoff_config(&mut errors);
        if let Some(schema) = &self.result_schema {
            if let Err(e) = crate::json::check_depth(schema, crate::json::MAX_DEPTH) {
                errors.push(err("/options/job/result_schema", format!("is {e}"), "Flatten the schema."));
            } else if let Err(e) = crate::document::DocValidator::compile(schema) {
                errors.push(err("/options/job/result_schema", format!("is not a usable JSON Schema: {e}"), "Give a JSON Schema (2020-12) for job results."));
            }
        }
        let mut retention = Vec::new();
        match &self.retention {
            None => {}
            Some(Value::Object(map)) => {
                for (status, v) in map {
                    let path = format!("/options/job/retention/{}", crate::error::pointer_segment(status));
                    if !FINISHED.contains(&status.as_str()) {
                        errors.push(err(&path, format!("\"{status}\" is not a finished status"), "Retention applies to done, failed and cancelled jobs."));
                    } else if let Some(s) = duration_at(v, &path, &mut errors) {
                        retention.push((status.clone(), s));
                    }
                }
            }
            Some(other) => errors.push(err(
                "/options/job/retention",
                format!("must be an object, not {}", crate::json::quote(other)),
                "Write {\"done\": \"7 days\", \"failed\": \"30 days\", \"cancelled\": \"7 days\"} (any of them).",
            )),
        }
        retention.sort_by(|a, b| a.0.cmp(&b.0));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(JobConfig {
            max_attempts,
            backoff,
            lease_seconds,
            partition_concurrency,
            concurrency,
            result_schema: self.result_schema.clone(),
            retention,
        })
    }

    fn backoff_config(&self, errors: &mut Vec<SpecError>) -> Backoff {
        let mut b = Backoff { strategy: Strategy::Exponential, base_seconds: 10.0, max_seconds: 3600.0, jitter: 0.1 };
        let hint = "Write \"exponential\", \"linear\", \"constant\" or {\"strategy\": \"exponential\", \"base\": \"10s\", \"max\": \"1h\", \"jitter\": 0.1}.";
        let strategy = |s: &str, path: &str, errors: &mut Vec<SpecError>| match s {
            "exponential" => Some(Strategy::Exponential),
            "linear" => Some(Strategy::Linear),
            "constant" => Some(Strategy::Constant),
            _ => {
                errors.push(err(path, format!("\"{s}\" is not a backoff strategy"), hint));
                None
            }
        };
        match &self.backoff {
            None => {}
            Some(Value::String(s)) => b.strategy = strategy(s, "/options/job/backoff", errors).unwrap_or(b.strategy),
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    let path = format!("/options/job/backoff/{}", crate::error::pointer_segment(k));
                    match k.as_str() {
                        "strategy" => match v.as_str() {
                            Some(s) => b.strategy = strategy(s, &path, errors).unwrap_or(b.strategy),
                            None => errors.push(err(&path, format!("must be a string, not {}", crate::json::quote(v)), hint)),
                        },
                        "base" => b.base_seconds = duration_at(v, &path, errors).unwrap_or(b.base_seconds),
                        "max" => b.max_seconds = duration_at(v, &path, errors).unwrap_or(b.max_seconds),
                        "jitter" => match v.as_f64() {
                            Some(j) if (0.0..=1.0).contains(&j) => b.jitter = j,
                            _ => errors.push(err(&path, format!("{} is not a number from 0 to 1", crate::json::quote(v)), hint)),
                        },
                        _ => errors.push(err(&path, format!("unknown key \"{k}\""), hint)),
                    }
                }
                if b.max_seconds < b.base_seconds {
                    errors.push(err("/options/job/backoff/max", "is shorter than base".into(), "Give a max at least as long as base."));
                }
            }
            Some(other) => errors.push(err("/options/job/backoff", format!("must be a string or an object, not {}", crate::json::quote(other)), hint)),
        }
        b
    }
}

/// The key of a result_schema: which compiled schema a generated job function was made for
/// (FNV-1a of its JSON text; serde_json writes object keys in order).
pub fn schema_key(schema: &Value) -> i64 {
    schema.to_string().bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3)) as i64
}

/// A checked cron schedule (5 fields, UTC).
pub struct Cron(croner::Cron);

impl Cron {
    /// Parses a 5-field cron expression; the error says why not.
    pub fn parse(text: &str) -> Result<Cron, String> {
        if text.len() > 200 {
            return Err("a cron expression has at most 200 characters".into());
        }
        if text.split_whitespace().count() != 5 {
            return Err(format!("\"{text}\" is not a 5-field cron expression (minute hour day-of-month month day-of-week)"));
        }
        croner::Cron::new(text).parse().map(Cron).map_err(|e| format!("\"{text}\" is not a cron expression: {e}"))
    }

    /// The first time strictly after `after` (microseconds since the Unix epoch, UTC).
    pub fn next_after(&self, after_unix_micros: i64) -> Option<i64> {
        use chrono::{DateTime, Utc};
        let t: DateTime<Utc> = DateTime::from_timestamp_micros(after_unix_micros)?;
        let next = self.0.find_next_occurrence(&t, false).ok()?;
        Some(next.timestamp_micros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<JobConfig, Vec<SpecError>> {
        serde_json::from_value::<JobOptions>(v).unwrap().config()
    }

    #[test]
    fn positions_match_the_columns() {
        let at = |i: usize| COLUMNS[i].name;
        assert_eq!(at(col::STATUS), "status");
        assert_eq!(at(col::RUN_AT), "run_at");
        assert_eq!(at(col::PRIORITY), "priority");
        assert_eq!(at(col::ATTEMPTS), "attempts");
        assert_eq!(at(col::MAX_ATTEMPTS), "max_attempts");
        assert_eq!(at(col::LEASED_BY), "leased_by");
        assert_eq!(at(col::LEASE_UNTIL), "lease_until");
        assert_eq!(at(col::STARTED_AT), "started_at");
        assert_eq!(at(col::FINISHED_AT), "finished_at");
        assert_eq!(at(col::LAST_ERROR), "last_error");
        assert_eq!(at(col::RESULT), "result");
        assert_eq!(at(col::IDEMPOTENCY_KEY), "idempotency_key");
        assert_eq!(at(col::PARTITION_KEY), "partition_key");
        assert_eq!(at(col::EVERY), "every");
        assert_eq!(at(col::CRON), "cron");
        assert_eq!(at(col::MAX_RUNS), "max_runs");
        assert_eq!(at(col::RUNS), "runs");
    }

    #[test]
    fn defaults() {
        let c = parse(json!({})).unwrap();
        assert_eq!(c.max_attempts, 4);
        assert_eq!(c.lease_seconds, 30.0);
        assert_eq!(c.partition_concurrency, 1);
        assert_eq!(c.concurrency, None);
        assert_eq!(c.backoff, Backoff { strategy: Strategy::Exponential, base_seconds: 10.0, max_seconds: 3600.0, jitter: 0.1 });
    }

    #[test]
    fn durations() {
        assert_eq!(seconds("30s").unwrap(), 30.0);
        assert_eq!(seconds("1h").unwrap(), 3600.0);
        assert_eq!(seconds("7 days").unwrap(), 7.0 * 86400.0);
        assert_eq!(seconds("1h 30m").unwrap(), 5400.0);
        assert!(seconds("soon").is_err());
        assert!(seconds("0s").is_err());
        assert!(seconds("").is_err());
    }

    #[test]
    fn backoff_grows_caps_and_only_lengthens() {
        let b = parse(json!({"backoff": {"strategy": "exponential", "base": "10s", "max": "1m", "jitter": 0.5}})).unwrap().backoff;
        assert_eq!(b.delay(1, 0.0), 10.0);
        assert_eq!(b.delay(2, 0.0), 20.0);
        assert_eq!(b.delay(3, 0.0), 40.0);
        assert_eq!(b.delay(4, 0.0), 60.0);
        assert_eq!(b.delay(1000, 0.0), 60.0);
        assert_eq!(b.delay(1, 1.0), 15.0);
        let lin = parse(json!({"backoff": "linear"})).unwrap().backoff;
        assert_eq!(lin.delay(3, 0.0), 30.0);
        let con = parse(json!({"backoff": {"strategy": "constant", "base": "5s"}})).unwrap().backoff;
        assert_eq!(con.delay(7, 0.0), 5.0);
    }

    #[test]
    fn bad_options_name_their_path() {
        let cases = [
            (json!({"max_attempts": 0}), "/options/job/max_attempts"),
            (json!({"lease": "soon"}), "/options/job/lease"),
            (json!({"lease": "8 days"}), "/options/job/lease"),
            (json!({"lease": "500ms"}), "/options/job/lease"),
            (json!({"backoff": "random"}), "/options/job/backoff"),
            (json!({"backoff": {"jitter": 2}}), "/options/job/backoff/jitter"),
            (json!({"backoff": {"speed": 2}}), "/options/job/backoff/speed"),
            (json!({"backoff": {"base": "1h", "max": "1m"}}), "/options/job/backoff/max"),
            (json!({"concurrency": -1}), "/options/job/concurrency"),
            (json!({"partition_concurrency": 0}), "/options/job/partition_concurrency"),
            (json!({"retention": {"running": "1d"}}), "/options/job/retention/running"),
            (json!({"retention": {"done": "later"}}), "/options/job/retention/done"),
            (json!({"retention": "7d"}), "/options/job/retention"),
            (json!({"result_schema": {"type": 5}}), "/options/job/result_schema"),
        ];
        for (v, path) in cases {
            let e = parse(v.clone()).unwrap_err();
            assert_eq!(e[0].path, path, "{v}: {:?}", e[0].message);
            assert!(e[0].message.starts_with(path), "{}", e[0].message);
        }
        assert!(serde_json::from_value::<JobOptions>(json!({"leese": "1s"})).is_err());
    }

    #[test]
    fn cron_next() {
        let c = Cron::parse("*/15 * * * *").unwrap();
        // 2026-01-01T00:07:00Z -> 00:15
        let t = 1_767_225_600_000_000i64 + 7 * 60 * 1_000_000;
        assert_eq!(c.next_after(t).unwrap(), 1_767_225_600_000_000 + 15 * 60 * 1_000_000);
        // strictly after
        let at = 1_767_225_600_000_000i64 + 15 * 60 * 1_000_000;
        assert_eq!(c.next_after(at).unwrap(), at + 15 * 60 * 1_000_000);
        assert!(Cron::parse("* * *").is_err());
        assert!(Cron::parse("61 * * * *").is_err());
        assert!(Cron::parse("0 0 * * * *").is_err());
        assert!(Cron::parse("0 9 * * MON-FRI").is_ok());
    }
}
