-- Jobs as resources (options.job, docs/jobs.md): enqueue is an INSERT (validated,
-- idempotent by key), each worker function is one transition and one revision with its own
-- op, and every refusal has its SQLSTATE: PT409 for a worker without the lease, finished
-- jobs and running deletes; 22023 for bad options, bad arguments and columns specstar
-- writes; PT404 for unknown jobs and specs.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_job_worker') THEN CREATE ROLE regress_job_worker NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_job_writer') THEN CREATE ROLE regress_job_writer NOLOGIN; END IF;
END $$;
RESET client_min_messages;

-- a job spec; its properties are the payload
SELECT specstar.register_spec('mail', '{"type": "object", "properties": {"to": {"type": "string", "minLength": 3}, "n": {"type": "integer", "default": 1}}, "required": ["to"]}',
  '{"job": {"max_attempts": 2, "lease": "1s", "backoff": {"strategy": "constant", "base": "1h", "jitter": 0}, "result_schema": {"type": "object", "required": ["sent"]}},
    "roles": {"write": ["regress_job_writer"], "work": ["regress_job_worker"]}}') ->> 'name' AS registered;
SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'api' AND table_name = 'mail' ORDER BY ordinal_position;

-- bad options and reserved names (22023, each naming its path)
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"status": {"type": "string"}}}', '{"job": {}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"x": {"type": "string"}}}', '{"job": {"lease": "soon"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"x": {"type": "string"}}}', '{"job": {"max_attempts": 0}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"x": {"type": "string"}}}', '{"job": {"backoff": "random"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"x": {"type": "string"}}}', '{"job": {"retention": {"running": "1 day"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"x": {"type": "string"}}}', '{"job": {"speed": 1}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('mail', '{"type": "object", "properties": {"to": {"type": "string", "minLength": 3}, "n": {"type": "integer", "default": 1}}, "required": ["to"]}', '{"version": "2"}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"x": {"type": "string"}}}', '{"job": {}, "access": {"read": ["owner"]}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"x": {"type": "string"}}}', '{"job": {}, "hooks": {"after_write": ["public.nothing"]}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"x": {"type": "string"}}}', '{"job": {}, "events": {"feed": true}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"x": {"type": "string"}}}', '{"job": {"lease": "8 days"}}');
\echo :LAST_ERROR_SQLSTATE

-- enqueue: an INSERT, validated; the job starts pending, revision 1, op create
INSERT INTO api.mail (id, "to") VALUES ('00000000-0000-0000-0000-000000000001', 'ann@example.org')
RETURNING "to", n, status, attempts, max_attempts, priority, runs, run_at = now() AS run_now, revision;
INSERT INTO api.mail ("to") VALUES ('x');
\echo :LAST_ERROR_SQLSTATE
-- specstar's columns are not the caller's to set
INSERT INTO api.mail ("to", status) VALUES ('bob@example.org', 'done');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.mail ("to", attempts) VALUES ('bob@example.org', 3);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.mail ("to", result) VALUES ('bob@example.org', '{}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.mail ("to", every, cron) VALUES ('bob@example.org', '1 hour', '0 * * * *');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.mail ("to", cron) VALUES ('bob@example.org', '99 * * * *');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.mail ("to", every) VALUES ('bob@example.org', '-1 hour');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.mail ("to", cron, run_at) VALUES ('bob@example.org', '0 0 30 2 *', now());
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.mail ("to", every) VALUES ('bob@example.org', '11 years');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.mail ("to", max_attempts) VALUES ('bob@example.org', 0);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.mail ("to", idempotency_key) VALUES ('bob@example.org', repeat('k', 1001));
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS jobs_after_refusals FROM api.mail;

-- idempotency keys: the same key and payload returns the job, another payload is PT409
INSERT INTO api.mail (id, "to", idempotency_key) VALUES ('00000000-0000-0000-0000-000000000002', 'cy@example.org', 'welcome-cy') RETURNING id, revision;
INSERT INTO api.mail ("to", idempotency_key) VALUES ('cy@example.org', 'welcome-cy') RETURNING id, revision;
INSERT INTO api.mail ("to", idempotency_key) VALUES ('dan@example.org', 'welcome-cy');
\echo :LAST_ERROR_SQLSTATE
-- one statement may not name a key twice (21000): nothing is enqueued
INSERT INTO api.mail ("to", idempotency_key) VALUES ('ed@example.org', 'twice'), ('ed@example.org', 'twice');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS jobs FROM api.mail;

-- the payload of a pending job may change; specstar's columns never by UPDATE
UPDATE api.mail SET "to" = 'ann@example.com' WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING revision, status;
UPDATE api.mail SET attempts = 5 WHERE id = '00000000-0000-0000-0000-000000000001';
\echo :LAST_ERROR_SQLSTATE
UPDATE api.mail SET idempotency_key = 'k' WHERE id = '00000000-0000-0000-0000-000000000001';
\echo :LAST_ERROR_SQLSTATE
UPDATE api.mail SET priority = -1 WHERE id = '00000000-0000-0000-0000-000000000002' RETURNING priority, revision;

-- claim: priority first, then run_at and enqueue order; op claim; the worker is recorded
SET ROLE regress_job_worker;
SELECT id, attempts, max_attempts, partition_key, payload, lease_until > now() AS leased FROM specstar.job_claim('mail', 'w1', 1);
SELECT id, attempts, payload ->> 'to' AS "to" FROM specstar.job_claim('mail', 'w2', 5);
SELECT count(*) AS nothing_left FROM specstar.job_claim('mail', 'w2', 5);
-- argument errors
SELECT * FROM specstar.job_claim('mail', '', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM specstar.job_claim('mail', 'w1', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM specstar.job_claim('mail', 'w1', 1, '0 seconds');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM specstar.job_claim('no_such_spec', 'w1', 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM specstar.job_claim('mail_revision', 'w1', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('plain', '{"type": "object", "properties": {"status": {"type": "string"}}}') ->> 'name' AS not_a_queue;
SELECT specstar.job_stats('plain');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.drop_spec('plain');
SET ROLE regress_job_worker;

-- a worker function needs the worker's name
SELECT specstar.job_complete('mail', '00000000-0000-0000-0000-000000000002', NULL);
\echo :LAST_ERROR_SQLSTATE
-- heartbeat: in place, no revision; only the holder may
SELECT specstar.job_heartbeat('mail', '00000000-0000-0000-0000-000000000002', 'w1', '1 minute') > now() AS extended;
SELECT revision, status, leased_by FROM api.mail WHERE id = '00000000-0000-0000-0000-000000000002';
SELECT specstar.job_heartbeat('mail', '00000000-0000-0000-0000-000000000002', 'w2');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.job_heartbeat('mail', '00000000-0000-0000-0000-0000000000ff', 'w2');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.job_heartbeat('mail', '00000000-0000-0000-0000-000000000002', 'w1', '8 days');
\echo :LAST_ERROR_SQLSTATE

-- complete: the result must satisfy result_schema (PT422); the holder only (PT409)
SELECT specstar.job_complete('mail', '00000000-0000-0000-0000-000000000002', 'w1', '{"oops": true}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.job_complete('mail', '00000000-0000-0000-0000-000000000002', 'w2', '{"sent": true}');
\echo :LAST_ERROR_SQLSTATE
SELECT j ->> 'status' AS status, j -> 'result' AS result, j ->> 'runs' AS runs, j ->> 'revision' AS revision
  FROM specstar.job_complete('mail', '00000000-0000-0000-0000-000000000002', 'w1', '{"sent": true}') j;
-- finished: no second completion, no heartbeat
SELECT specstar.job_complete('mail', '00000000-0000-0000-0000-000000000002', 'w1', '{"sent": true}');
\echo :LAST_ERROR_SQLSTATE

-- fail: pending again after the backoff (1h), then failed for good after max_attempts
SELECT j ->> 'status' AS status, j ->> 'attempts' AS attempts, j ->> 'last_error' AS last_error,
       ((j ->> 'run_at')::timestamptz - now()) = interval '1 hour' AS backed_off
  FROM specstar.job_fail('mail', '00000000-0000-0000-0000-000000000001', 'w2', 'smtp 451') j;
RESET ROLE;
-- (an UPDATE by anyone may move a pending job's run_at)
UPDATE api.mail SET run_at = now() WHERE id = '00000000-0000-0000-0000-000000000001';
SET ROLE regress_job_worker;
SELECT attempts FROM specstar.job_claim('mail', 'w3', 1);
SELECT j ->> 'status' AS status, j ->> 'attempts' AS attempts, j ->> 'finished_at' IS NOT NULL AS finished
  FROM specstar.job_fail('mail', '00000000-0000-0000-0000-000000000001', 'w3', 'smtp 550') j;
-- retry => false fails at once; retry_at overrides the backoff
RESET ROLE;
INSERT INTO api.mail (id, "to") VALUES ('00000000-0000-0000-0000-000000000003', 'eve@example.org'), ('00000000-0000-0000-0000-000000000004', 'fay@example.org');
SET ROLE regress_job_worker;
SELECT count(*) FROM specstar.job_claim('mail', 'w4', 2);
SELECT j ->> 'status' AS status FROM specstar.job_fail('mail', '00000000-0000-0000-0000-000000000003', 'w4', 'bad address', retry => false) j;
SELECT j ->> 'status' AS status, (j ->> 'run_at')::timestamptz = '2030-01-01 00:00:00+00' AS at_retry_at
  FROM specstar.job_fail('mail', '00000000-0000-0000-0000-000000000004', 'w4', 'rate limited', retry_at => '2030-01-01 00:00:00+00') j;

-- snooze: back to pending at run_at, the attempt given back
RESET ROLE;
INSERT INTO api.mail (id, "to") VALUES ('00000000-0000-0000-0000-000000000005', 'gus@example.org');
SET ROLE regress_job_worker;
SELECT id, attempts FROM specstar.job_claim('mail', 'w5', 1);
SELECT j ->> 'status' AS status, j ->> 'attempts' AS attempts
  FROM specstar.job_snooze('mail', '00000000-0000-0000-0000-000000000005', 'w5', now() + interval '1 day') j;
SELECT specstar.job_snooze('mail', '00000000-0000-0000-0000-000000000005', 'w5', now());
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.job_snooze('mail', '00000000-0000-0000-0000-000000000005', 'w5', NULL);
\echo :LAST_ERROR_SQLSTATE

-- a running job's payload cannot change and it cannot be deleted (PT409)
RESET ROLE;
INSERT INTO api.mail (id, "to") VALUES ('00000000-0000-0000-0000-000000000006', 'hal@example.org');
SET ROLE regress_job_worker;
SELECT id FROM specstar.job_claim('mail', 'w6', 1);
RESET ROLE;
UPDATE api.mail SET "to" = 'hal@example.com' WHERE id = '00000000-0000-0000-0000-000000000006';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM api.mail WHERE id = '00000000-0000-0000-0000-000000000006';
\echo :LAST_ERROR_SQLSTATE

-- cancel: a running job's worker loses it; finished jobs cannot be cancelled
SET ROLE regress_job_writer;
SELECT j ->> 'status' AS status FROM specstar.job_cancel('mail', '00000000-0000-0000-0000-000000000006') j;
SELECT specstar.job_cancel('mail', '00000000-0000-0000-0000-000000000006');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_job_worker;
SELECT specstar.job_heartbeat('mail', '00000000-0000-0000-0000-000000000006', 'w6');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.job_complete('mail', '00000000-0000-0000-0000-000000000006', 'w6', '{"sent": true}');
\echo :LAST_ERROR_SQLSTATE
-- a writer may not claim (the work role may)
SET ROLE regress_job_writer;
SELECT * FROM specstar.job_claim('mail', 'w7', 1);
\echo :LAST_ERROR_SQLSTATE

-- rerun: finished -> pending, attempts 0, result and error cleared, runs kept
SELECT j ->> 'status' AS status, j ->> 'attempts' AS attempts, j -> 'result' AS result, j ->> 'runs' AS runs
  FROM specstar.job_rerun('mail', '00000000-0000-0000-0000-000000000002') j;
SELECT specstar.job_rerun('mail', '00000000-0000-0000-0000-000000000002');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.job_rerun('mail', '00000000-0000-0000-0000-0000000000ff');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- lease expiry: the next claim takes the job over (op expire, counted as an attempt); after
-- the last attempt the expiry fails the job for good
UPDATE api.mail SET run_at = '2031-01-01' WHERE status = 'pending';
INSERT INTO api.mail (id, "to", max_attempts) VALUES ('00000000-0000-0000-0000-000000000007', 'ida@example.org', 2);
SET ROLE regress_job_worker;
SELECT id, attempts FROM specstar.job_claim('mail', 'w8', 1);
SELECT pg_sleep(1.2);
SET ROLE regress_job_worker;
SELECT id, attempts FROM specstar.job_claim('mail', 'w9', 1);
SELECT specstar.job_complete('mail', '00000000-0000-0000-0000-000000000007', 'w8', '{"sent": true}');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_sleep(1.2);
SELECT specstar.job_maintain('mail');
SELECT status, attempts, last_error LIKE 'lease of worker w9 expired at %' AS why FROM api.mail WHERE id = '00000000-0000-0000-0000-000000000007';
SELECT specstar.job_stats('mail');
RESET ROLE;

-- the history answers "why did this run twice": every transition with who, op and state
SELECT revision, op, changed_by, data ->> 'status' AS status, data ->> 'attempts' AS attempts, data ->> 'leased_by' AS worker
  FROM api.mail_revision WHERE id = '00000000-0000-0000-0000-000000000007' ORDER BY revision;
SELECT revision, op, data ->> 'status' AS status, data -> 'result' AS result
  FROM api.mail_revision WHERE id = '00000000-0000-0000-0000-000000000002' ORDER BY revision;
-- as-of and diff work on jobs
SELECT status, attempts FROM api.mail_at('00000000-0000-0000-0000-000000000007', revision => 2);
SELECT d ->> 'op' AS op, d ->> 'path' AS path FROM jsonb_array_elements(api.mail_diff('00000000-0000-0000-0000-000000000007', 1, 2)) d;

-- the RPCs: the same functions without the spec argument, typed rows
INSERT INTO api.mail (id, "to", priority) VALUES ('00000000-0000-0000-0000-000000000008', 'jo@example.org', -5);
SET ROLE regress_job_worker;
SELECT id, status, attempts, leased_by FROM api.mail_claim('rpc-worker');
SELECT status, result FROM api.mail_complete('00000000-0000-0000-0000-000000000008', 'rpc-worker', '{"sent": "yes"}');
SELECT api.mail_stats() ->> 'done' AS done;
RESET ROLE;

-- complete_batch completes the ids the worker holds and leaves the others alone
INSERT INTO api.mail (id, "to", priority) VALUES ('00000000-0000-0000-0000-000000000009', 'kim@example.org', -9), ('00000000-0000-0000-0000-00000000000a', 'lee@example.org', -9);
SET ROLE regress_job_worker;
SELECT count(*) FROM specstar.job_claim('mail', 'wb', 2);
SELECT * FROM specstar.job_complete_batch('mail', ARRAY['00000000-0000-0000-0000-000000000009', '00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-000000000001']::uuid[], 'wb',
  ARRAY['{"sent": 1}', '{"sent": 2}', '{"sent": 3}']::jsonb[]) ORDER BY 1;
SELECT * FROM specstar.job_complete_batch('mail', ARRAY['00000000-0000-0000-0000-000000000009']::uuid[], 'wb', ARRAY['{}', '{}']::jsonb[]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM specstar.job_complete_batch('mail', array_fill('00000000-0000-0000-0000-000000000009'::uuid, ARRAY[10001]), 'wb');
\echo :LAST_ERROR_SQLSTATE
-- one result the result_schema refuses undoes the whole batch (PT422)
RESET ROLE;
INSERT INTO api.mail (id, "to", priority) VALUES ('00000000-0000-0000-0000-00000000000b', 'max@example.org', -9), ('00000000-0000-0000-0000-00000000000c', 'mia@example.org', -9);
SET ROLE regress_job_worker;
SELECT count(*) FROM specstar.job_claim('mail', 'wc', 2);
SELECT * FROM specstar.job_complete_batch('mail', ARRAY['00000000-0000-0000-0000-00000000000b', '00000000-0000-0000-0000-00000000000c']::uuid[], 'wc',
  ARRAY['{"sent": 1}', '{"oops": 2}']::jsonb[]);
\echo :LAST_ERROR_SQLSTATE
SELECT id, status FROM api.mail WHERE id IN ('00000000-0000-0000-0000-00000000000b', '00000000-0000-0000-0000-00000000000c') ORDER BY id;
RESET ROLE;

-- periodic jobs: after a successful run, pending again at the next slot (op schedule),
-- until max_runs; every and cron
SELECT specstar.register_spec('tick', '{"type": "object", "properties": {"what": {"type": "string"}}}', '{"job": {}, "roles": {"write": ["regress_job_worker"]}}') ->> 'name';
INSERT INTO api.tick (id, what, every, max_runs, run_at) VALUES ('00000000-0000-0000-0000-0000000000b1', 'hourly', '1 hour', 2, now() - interval '150 minutes');
INSERT INTO api.tick (id, what, cron) VALUES ('00000000-0000-0000-0000-0000000000b2', 'quarterly', '*/15 * * * *') RETURNING run_at > now() AND run_at <= now() + interval '15 minutes' AS next_quarter;
SET ROLE regress_job_worker;
SELECT id FROM specstar.job_claim('tick', 'tw', 5);
SELECT j ->> 'status' AS status, j ->> 'runs' AS runs, (j ->> 'run_at')::timestamptz - now() > interval '0' AS later,
       (j ->> 'run_at')::timestamptz - now() <= interval '1 hour' AS within_the_hour
  FROM specstar.job_complete('tick', '00000000-0000-0000-0000-0000000000b1', 'tw') j;
RESET ROLE;
UPDATE api.tick SET run_at = now() WHERE id = '00000000-0000-0000-0000-0000000000b1';
SET ROLE regress_job_worker;
SELECT id FROM specstar.job_claim('tick', 'tw', 5);
SELECT j ->> 'status' AS status, j ->> 'runs' AS runs FROM specstar.job_complete('tick', '00000000-0000-0000-0000-0000000000b1', 'tw') j;
SELECT revision, op, data ->> 'status' AS status, data ->> 'runs' AS runs FROM api.tick_revision WHERE id = '00000000-0000-0000-0000-0000000000b1' ORDER BY revision;
RESET ROLE;

-- partition_key: at most partition_concurrency (1) running per key
INSERT INTO api.tick (what, partition_key) SELECT 'p' || g, 'acct-1' FROM generate_series(1, 3) g;
INSERT INTO api.tick (what, partition_key) VALUES ('q1', 'acct-2');
SET ROLE regress_job_worker;
SELECT payload ->> 'what' AS what, partition_key FROM specstar.job_claim('tick', 'tp', 10) ORDER BY 1;
SELECT count(*) AS while_busy FROM specstar.job_claim('tick', 'tp', 10);
RESET ROLE;
-- partition limits are counted in READ COMMITTED only (25001 in another isolation level)
INSERT INTO api.tick (what, partition_key) VALUES ('q2', 'acct-3');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM specstar.job_claim('tick', 'tp', 10);
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE

-- the job options change in place (same version): new defaults for the next enqueue
SELECT specstar.register_spec('tick', '{"type": "object", "properties": {"what": {"type": "string"}}}', '{"job": {"max_attempts": 9}, "roles": {"write": ["regress_job_worker"]}}') ->> 'version' AS version;
INSERT INTO api.tick (what) VALUES ('after the change') RETURNING max_attempts, revision;
-- a job spec evolves like any spec: a compatible change, then a migrate function that sees the
-- payload (not the job columns, which stay as they are), on pending, running and done jobs
SELECT specstar.register_spec('ev', '{"type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": false}', '{"job": {}}') ->> 'version' AS version;
INSERT INTO api.ev (id, n) VALUES ('00000000-0000-0000-0000-0000000000e1', 1), ('00000000-0000-0000-0000-0000000000e2', 2), ('00000000-0000-0000-0000-0000000000e3', 3);
SELECT count(*) AS claimed FROM specstar.job_claim('ev', 'we', 2);
SELECT specstar.job_complete('ev', '00000000-0000-0000-0000-0000000000e1', 'we') ->> 'status' AS status;
SELECT specstar.register_spec('ev', '{"type": "object", "properties": {"n": {"type": "integer"}, "m": {"type": "string"}}, "additionalProperties": false}', '{"job": {}, "version": "2"}') ->> 'version' AS version;
CREATE FUNCTION app_ev3(doc jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT doc || jsonb_build_object('m', 'm' || (doc ->> 'n')) $$;
SELECT specstar.register_spec('ev', '{"type": "object", "properties": {"n": {"type": "integer"}, "m": {"type": "string"}}, "required": ["m"], "additionalProperties": false}',
  '{"job": {}, "version": "3", "migrate": "public.app_ev3"}') ->> 'version' AS version;
SELECT n, m, status, attempts, revision FROM api.ev ORDER BY n;
SELECT revision, op, data ->> 'status' AS status, data ->> 'm' AS m FROM api.ev_revision WHERE id = '00000000-0000-0000-0000-0000000000e2' ORDER BY revision;
SELECT specstar.job_complete('ev', '00000000-0000-0000-0000-0000000000e2', 'we') ->> 'status' AS status;
SELECT specstar.drop_spec('ev', drop_data => true);
DROP FUNCTION app_ev3(jsonb);

-- a registered spec cannot become or stop being a job queue
SELECT specstar.register_spec('tick', '{"type": "object", "properties": {"what": {"type": "string"}}}', '{"version": "2"}');
\echo :LAST_ERROR_SQLSTATE

-- retention: job_maintain purges finished jobs past it, with their history
SELECT specstar.register_spec('old', '{"type": "object", "properties": {"what": {"type": "string"}}}', '{"job": {"retention": {"done": "1s"}}}') ->> 'name';
INSERT INTO api.old (id, what) VALUES ('00000000-0000-0000-0000-0000000000c1', 'keep'), ('00000000-0000-0000-0000-0000000000c2', 'purge');
SELECT count(*) FROM specstar.job_claim('old', 'wo', 1) c WHERE c.id = '00000000-0000-0000-0000-0000000000c1';
SELECT specstar.job_complete('old', '00000000-0000-0000-0000-0000000000c1', 'wo') ->> 'status';
SELECT pg_sleep(1.2);
SELECT specstar.job_maintain('old');
SELECT id, status FROM api.old ORDER BY id;
SELECT count(*) AS history_left FROM api.old_revision WHERE id = '00000000-0000-0000-0000-0000000000c1';

-- documents read in a parallel query: the functions that may load a spec's definition on
-- their first call in a backend are PARALLEL RESTRICTED (a parallel worker could not, and
-- failed with a Rust backtrace)
SET force_parallel_mode = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;
SELECT count(*) AS done_revisions FROM api.mail_revision WHERE data ->> 'status' = 'done';
SELECT count(*) AS documents FROM specstar_data.mail t, specstar.spec s
 WHERE s.name = 'mail' AND specstar._doc(t.*, s.current_vid) ? 'status' AND specstar._validate(s.current_vid, specstar._payload(t.*, s.current_vid)) IS NULL;
RESET force_parallel_mode;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET parallel_leader_participation;

SELECT specstar.drop_spec('mail', drop_data => true);
SELECT specstar.drop_spec('tick', drop_data => true);
SELECT specstar.drop_spec('old', drop_data => true);
