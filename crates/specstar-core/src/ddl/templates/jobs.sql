CREATE FUNCTION {{fn_expire}}(id uuid) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp {{settings}} AS $specstar$
-- Ends an attempt whose lease ran out (op expire): the attempt counts, the job is ready
-- again at once, or failed for good after its last attempt. Returns the new status (NULL:
-- the lease had not expired, or the job is not running).
DECLARE
  _status text;
BEGIN
  UPDATE {{table}} t SET
      status = CASE WHEN t.attempts >= t.max_attempts THEN 'failed' ELSE 'pending' END,
      finished_at = CASE WHEN t.attempts >= t.max_attempts THEN now() END,
      last_error = format('lease of worker %s expired at %s (attempt %s of %s)', t.leased_by, t.lease_until, t.attempts, t.max_attempts),
      lease_until = NULL
   WHERE t.id = $1 AND t.status = 'running' AND t.lease_until < now()
   RETURNING t.status INTO _status;
  RETURN _status;
END
$specstar$
;;
CREATE FUNCTION {{fn_claim}}(worker text, n integer, lease interval)
RETURNS SETOF specstar.claimed_job LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp {{settings}} AS $specstar$
-- Claims up to n ready jobs (docs/jobs.md): first takes over leases that ran out (op
-- expire), then claims pending jobs whose run_at has come, in priority, run_at and enqueue
-- order, skipping rows other transactions hold (SKIP LOCKED), within the partition and
-- spec-wide limits, which are counted under a lock after it is taken (a fresh snapshot per
-- statement: workers run in READ COMMITTED). Jobs without a partition are claimed by the
-- statement that finds them; those of partitions are counted first.
DECLARE
  _lease interval := coalesce($3, {{lease}});
  _n integer := $2;
  _jobs specstar.claimed_job[];
  _job specstar.claimed_job;
  _ids uuid[];
  _keys text[];
  _keep uuid[] := '{}';
  _key text;
  _running bigint;
BEGIN
  IF $1 IS NULL OR $1 = '' OR length($1) > 200 OR $2 IS NULL OR $2 < 1 OR $2 > 10000
     OR _lease IS NULL OR _lease < interval '1 second' OR _lease > interval '7 days' THEN
    PERFORM specstar._job_check_claim({{spec}}, $1, $2, _lease);
  END IF;
  PERFORM {{fn_expire}}(x.id)
     FROM (SELECT t.id FROM {{table}} t WHERE t.status = 'running' AND t.lease_until < now()
            ORDER BY t.lease_until LIMIT _n FOR UPDATE SKIP LOCKED) x;
{{concurrency_block}}
  WITH c AS MATERIALIZED (
    SELECT t.id, t.partition_key, t.priority, t.run_at, t._seq FROM {{table}} t
     WHERE t.status = 'pending' AND t.run_at <= now()
       AND (t.partition_key IS NULL OR {{partition_free}})
     ORDER BY t.priority, t.run_at, t._seq LIMIT _n FOR UPDATE SKIP LOCKED),
  u AS (
    UPDATE {{table}} t SET status = 'running', attempts = t.attempts + 1, leased_by = $1,
           lease_until = now() + _lease, started_at = now()
      FROM c WHERE t.id = c.id AND c.partition_key IS NULL
     RETURNING ROW(t.id, t.attempts, t.max_attempts, t.lease_until, t.partition_key, {{payload_t}})::specstar.claimed_job AS job,
               c.priority, c.run_at, c._seq)
  SELECT (SELECT array_agg(u.job ORDER BY u.priority, u.run_at, u._seq) FROM u),
         (SELECT array_agg(c.id ORDER BY c.priority, c.run_at, c._seq) FROM c WHERE c.partition_key IS NOT NULL),
         (SELECT array_agg(c.partition_key ORDER BY c.priority, c.run_at, c._seq) FROM c WHERE c.partition_key IS NOT NULL)
    INTO _jobs, _ids, _keys;
  IF _jobs IS NOT NULL THEN
    FOREACH _job IN ARRAY _jobs LOOP
      RETURN NEXT _job;
    END LOOP;
  END IF;
  IF _ids IS NULL THEN
    RETURN;
  END IF;
  -- jobs of a partition: at most {{partition_concurrency}} running, counted under the partition's lock
  PERFORM specstar._job_require_read_committed({{spec}});
  FOR _key IN SELECT DISTINCT u.k FROM unnest(_keys) AS u(k) LOOP
    IF pg_try_advisory_xact_lock({{partition_lock}}, hashtext(_key)) THEN
      SELECT count(*) INTO _running FROM {{table}} r WHERE r.partition_key = _key AND r.status = 'running';
      _keep := _keep || ARRAY(SELECT u.i FROM unnest(_ids, _keys) WITH ORDINALITY AS u(i, k, o)
                               WHERE u.k = _key ORDER BY u.o LIMIT greatest({{partition_concurrency}} - _running, 0));
    END IF;
  END LOOP;
  RETURN QUERY
    WITH c AS (
      UPDATE {{table}} t SET status = 'running', attempts = t.attempts + 1, leased_by = $1,
             lease_until = now() + _lease, started_at = now()
       WHERE t.id = ANY (_keep)
       RETURNING t.id, t.attempts, t.max_attempts, t.lease_until, t.partition_key, {{payload_t}} AS payload, t.priority, t.run_at, t._seq)
    SELECT c.id, c.attempts, c.max_attempts, c.lease_until, c.partition_key, c.payload FROM c ORDER BY c.priority, c.run_at, c._seq;
END
$specstar$
;;
CREATE FUNCTION {{fn_not_held}}(id uuid, worker text, action text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp {{settings}} AS $specstar$
-- Why a job function found no job to change: PT404 (unknown or deleted), or PT409 naming
-- the job's status (and, for a worker's call, who holds it).
DECLARE
  _status text;
  _by text;
BEGIN
  SELECT t.status, t.leased_by INTO _status, _by FROM {{table}} t WHERE t.id = $1;
  IF NOT FOUND THEN
    PERFORM specstar._raise_missing({{spec}}, $1, NULL, NULL);
  END IF;
  IF $3 NOT IN ('cancel', 'rerun') AND ($2 IS NULL OR $2 = '') THEN
    PERFORM specstar._job_check_claim({{spec}}, $2, 1, interval '1 minute');
  END IF;
  IF $3 IN ('cancel', 'rerun') THEN
    RAISE EXCEPTION USING ERRCODE = 'PT409',
      MESSAGE = format('%s job %s is %s: only %s', {{spec}}, $1, _status,
                       CASE $3 WHEN 'cancel' THEN 'pending and running jobs can be cancelled' ELSE 'finished jobs can be rerun' END),
      DETAIL = jsonb_build_object('id', $1, 'status', _status)::text,
      HINT = CASE $3 WHEN 'cancel' THEN format('job_rerun(%L, id) runs a finished job again.', {{spec}})
                     ELSE format('Cancel it first (job_cancel(%L, id)), or let it finish.', {{spec}}) END;
  END IF;
  RAISE EXCEPTION USING ERRCODE = 'PT409',
    MESSAGE = format('%s job %s: worker %s cannot %s it: the job is %s', {{spec}}, $1, $2, $3,
                     CASE WHEN _status = 'running' THEN format('running for worker %s', _by) ELSE _status END),
    DETAIL = jsonb_build_object('id', $1, 'status', _status, 'leased_by', _by, 'worker', $2)::text,
    HINT = 'A worker holds a job from its claim until it completes, fails or snoozes it, unless it was cancelled or its lease ran out and a claim or job_maintain took it over: drop the job.';
END
$specstar$
;;
CREATE FUNCTION {{fn_heartbeat}}(id uuid, worker text, lease interval) RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp {{settings}} AS $specstar$
-- Extends the lease of a job the worker holds, in place: no revision.
DECLARE
  _until timestamptz;
BEGIN
  IF $2 IS NULL OR $2 = '' OR length($2) > 200 OR $3 < interval '1 second' OR $3 > interval '7 days' THEN
    PERFORM specstar._job_check_claim({{spec}}, $2, 1, coalesce($3, {{lease}}));
  END IF;
  UPDATE {{table}} t SET lease_until = now() + coalesce($3, {{lease}})
   WHERE t.id = $1 AND t.status = 'running' AND t.leased_by = $2
   RETURNING t.lease_until INTO _until;
  IF NOT FOUND THEN
    PERFORM {{fn_not_held}}($1, $2, 'heartbeat');
  END IF;
  RETURN _until;
END
$specstar$
;;
CREATE FUNCTION {{fn_schedule}}(id uuid) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp {{settings}} AS $specstar$
-- A periodic job after a successful run: pending again at its next slot (op schedule).
BEGIN
  UPDATE {{table}} t SET status = 'pending', attempts = 0, started_at = NULL, finished_at = NULL, lease_until = NULL,
         run_at = CASE WHEN t.cron IS NOT NULL THEN specstar._cron_next(t.cron, now())
                       ELSE specstar._job_next_slot(t.run_at, t.every, now()) END
   WHERE t.id = $1 AND t.status = 'done';
END
$specstar$
;;
CREATE FUNCTION {{fn_complete}}(id uuid, worker text, result jsonb) RETURNS {{view}}
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp {{settings}} AS $specstar$
-- done, with its result (op complete); a periodic job below max_runs is then scheduled again.
DECLARE
  _row {{view}};
BEGIN
  UPDATE {{table}} t SET status = 'done', result = $3, finished_at = now(), lease_until = NULL, runs = t.runs + 1
   WHERE t.id = $1 AND t.status = 'running' AND t.leased_by = $2
   RETURNING {{live_row}} INTO _row;
  IF NOT FOUND THEN
    PERFORM {{fn_not_held}}($1, $2, 'complete');
  END IF;
  -- (a result the result_schema refuses undoes the completion with the statement)
{{check_result}}
  IF (_row.every IS NOT NULL OR _row.cron IS NOT NULL) AND (_row.max_runs IS NULL OR _row.runs < _row.max_runs) THEN
    PERFORM {{fn_schedule}}($1);
    SELECT {{live_row}} INTO _row FROM {{table}} t WHERE t.id = $1;
  END IF;
  RETURN _row;
END
$specstar$
;;
CREATE FUNCTION {{fn_complete_batch}}(ids uuid[], worker text, results jsonb[]) RETURNS SETOF uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp {{settings}} AS $specstar$
-- job_complete for each id the worker holds (op complete each, then schedule for periodic
-- jobs below max_runs); the other ids are left alone. Returns the ids completed.
DECLARE
  _id uuid;
  _again boolean;
  _result jsonb;
BEGIN
  IF $1 IS NULL OR cardinality($1) > 10000 THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('%s_complete_batch: ids must be an array of at most 10000 job ids', {{spec}}),
      HINT = 'Complete what one claim returned: ids => ARRAY[...].';
  END IF;
  IF $3 IS NOT NULL AND cardinality($3) <> cardinality($1) THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('%s_complete_batch: %s results for %s ids', {{spec}}, cardinality($3), cardinality($1)),
      HINT = 'Give one result per id, in the same order, or no results at all.';
  END IF;
  FOR _id, _again, _result IN
    UPDATE {{table}} t SET status = 'done', result = r.result, finished_at = now(), lease_until = NULL, runs = t.runs + 1
      FROM unnest($1, coalesce($3, array_fill(NULL::jsonb, ARRAY[cardinality($1)]))) AS r(id, result)
     WHERE t.id = r.id AND t.status = 'running' AND t.leased_by = $2
     RETURNING t.id, (t.every IS NOT NULL OR t.cron IS NOT NULL) AND (t.max_runs IS NULL OR t.runs < t.max_runs), t.result
  LOOP
{{check_results}}
    IF _again THEN
      PERFORM {{fn_schedule}}(_id);
    END IF;
    RETURN NEXT _id;
  END LOOP;
END
$specstar$
;;
CREATE FUNCTION {{fn_fail}}(id uuid, worker text, error text, retry boolean, retry_at timestamptz) RETURNS {{view}}
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp {{settings}} AS $specstar$
-- A failed attempt (op fail): pending again after the backoff (or at retry_at) while
-- attempts remain and retry is true, else failed for good.
DECLARE
  _row {{view}};
BEGIN
  UPDATE {{table}} t SET
      status = CASE WHEN coalesce($4, true) AND t.attempts < t.max_attempts THEN 'pending' ELSE 'failed' END,
      run_at = CASE WHEN coalesce($4, true) AND t.attempts < t.max_attempts THEN coalesce($5, now() + {{backoff}}) ELSE t.run_at END,
      finished_at = CASE WHEN coalesce($4, true) AND t.attempts < t.max_attempts THEN NULL ELSE now() END,
      last_error = left(coalesce($3, 'failed'), 10000), lease_until = NULL
   WHERE t.id = $1 AND t.status = 'running' AND t.leased_by = $2
   RETURNING {{live_row}} INTO _row;
  IF NOT FOUND THEN
    PERFORM {{fn_not_held}}($1, $2, 'fail');
  END IF;
  RETURN _row;
END
$specstar$
;;
CREATE FUNCTION {{fn_snooze}}(id uuid, worker text, run_at timestamptz) RETURNS {{view}}
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp {{settings}} AS $specstar$
-- Back to pending at run_at, the attempt given back (op snooze).
DECLARE
  _row {{view}};
BEGIN
  IF $3 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('%s_snooze: run_at is required', {{spec}}),
      HINT = 'Pass run_at => now() + interval ''5 minutes''.';
  END IF;
  UPDATE {{table}} t SET status = 'pending', run_at = $3, attempts = greatest(t.attempts - 1, 0), lease_until = NULL
   WHERE t.id = $1 AND t.status = 'running' AND t.leased_by = $2
   RETURNING {{live_row}} INTO _row;
  IF NOT FOUND THEN
    PERFORM {{fn_not_held}}($1, $2, 'snooze');
  END IF;
  RETURN _row;
END
$specstar$
;;
CREATE FUNCTION {{fn_cancel}}(id uuid) RETURNS {{view}}
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp {{settings}} AS $specstar$
-- pending or running -> cancelled (op cancel); a running job's worker loses its lease.
DECLARE
  _row {{view}};
BEGIN
  UPDATE {{table}} t SET status = 'cancelled', finished_at = now(), lease_until = NULL
   WHERE t.id = $1 AND t.status IN ('pending', 'running')
   RETURNING {{live_row}} INTO _row;
  IF NOT FOUND THEN
    PERFORM {{fn_not_held}}($1, NULL, 'cancel');
  END IF;
  RETURN _row;
END
$specstar$
;;
CREATE FUNCTION {{fn_rerun}}(id uuid, run_at timestamptz) RETURNS {{view}}
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp {{settings}} AS $specstar$
-- done, failed or cancelled -> pending (op rerun): a new run with attempts 0; runs kept.
DECLARE
  _row {{view}};
BEGIN
  UPDATE {{table}} t SET status = 'pending', attempts = 0, last_error = NULL, result = NULL, started_at = NULL,
         finished_at = NULL, leased_by = NULL, lease_until = NULL, run_at = coalesce($2, now())
   WHERE t.id = $1 AND t.status IN ('done', 'failed', 'cancelled')
   RETURNING {{live_row}} INTO _row;
  IF NOT FOUND THEN
    PERFORM {{fn_not_held}}($1, NULL, 'rerun');
  END IF;
  RETURN _row;
END
$specstar$
;;
CREATE FUNCTION {{fn_maintain}}() RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp {{settings}} AS $specstar$
-- Expires the leases nobody took over (as a claim would) and purges finished jobs past the
-- retention, with their history, in batches; for pg_cron or the reference worker.
DECLARE
  _expired integer := 0;
  _failed integer := 0;
  _purged integer := 0;
  _id uuid;
  _status text;
BEGIN
  FOR _id IN SELECT t.id FROM {{table}} t WHERE t.status = 'running' AND t.lease_until < now()
              ORDER BY t.lease_until LIMIT 10000 FOR UPDATE SKIP LOCKED LOOP
    _status := {{fn_expire}}(_id);
    IF _status IS NOT NULL THEN
      _expired := _expired + 1;
      IF _status = 'failed' THEN
        _failed := _failed + 1;
      END IF;
    END IF;
  END LOOP;
{{retention_block}}
  RETURN jsonb_build_object('expired', _expired, 'failed', _failed, 'purged', _purged);
END
$specstar$
;;
CREATE FUNCTION {{fn_stats}}() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp {{settings}} AS $specstar$
  -- counts for dashboards and the LISTEN loop's timeout
  SELECT jsonb_build_object(
    'pending', (SELECT count(*) FROM {{table}} t WHERE t.status = 'pending'),
    'running', (SELECT count(*) FROM {{table}} t WHERE t.status = 'running'),
    'done', (SELECT count(*) FROM {{table}} t WHERE t.status = 'done'),
    'failed', (SELECT count(*) FROM {{table}} t WHERE t.status = 'failed'),
    'cancelled', (SELECT count(*) FROM {{table}} t WHERE t.status = 'cancelled'),
    -- (a running job whose lease ran out is ready too: the next claim takes it over)
    'ready', (SELECT count(*) FROM {{table}} t WHERE t.status = 'pending' AND t.run_at <= now())
           + (SELECT count(*) FROM {{table}} t WHERE t.status = 'running' AND t.lease_until < now()),
    'oldest_ready_at', (SELECT min(t.run_at) FROM {{table}} t WHERE t.status = 'pending' AND t.run_at <= now()),
    'next_run_at', (SELECT least(min(t.run_at) FILTER (WHERE t.status = 'pending'), min(t.lease_until) FILTER (WHERE t.status = 'running'))
                      FROM {{table}} t WHERE t.status IN ('pending', 'running')))
$specstar$
