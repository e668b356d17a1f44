#!/usr/bin/env bash
# Jobs end to end (docs/jobs.md) with the reference worker, examples/job_worker.py, on a
# throw-away cluster of its own (127.0.0.1, a free port). Two workers, w1 and w2, run four
# job specs; each command first appends "spec id attempt worker" to a marks file.
#   a. 300 jobs enqueued in one INSERT: all done, each completed exactly once, by both
#      workers, with the command's output as result;
#   b. a job whose command outlives its 2 s lease (heartbeats keep it): the worker running it
#      is killed with kill -9 (with its command): the other one takes the job over once the
#      lease expired — history create, claim, expire, claim, complete; attempts 2;
#   c. 300 more jobs, and the server is killed with kill -9 (the postmaster and every backend)
#      while the workers run them, then started again (crash recovery): the workers
#      reconnect and every job ends done;
#   d. a periodic job (every 1 second, max_runs 3) goes on across a restart of the server
#      and ends done with runs 3: complete, schedule, complete, schedule, complete;
#   e. SIGTERM stops both workers cleanly (status 0); a worker idling with --idle-max 20
#      claims a new job within 2 s (the NOTIFY wakes it up);
#   f. with that worker: a command that fails is retried 1 s later (its backoff: the worker
#      waits until job_stats' next_run_at, not 20 s), then fails for good, its stderr the
#      last_error; a job cancelled while it runs: the heartbeat gets PT409, the command is
#      killed.
# For every job of a. and c.: no run after the run whose completion committed (no mark of a
# later attempt, no claim after the complete revision) and no attempt run twice; a job may
# legitimately run more than once only when its completion did not commit (a killed worker
# or server).
# Always stops the workers and the cluster, and removes the cluster at exit.
#
#   tests/jobs_e2e.sh OUTDIR
set -euo pipefail
OUT=${1:?usage: tests/jobs_e2e.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
source "$ROOT/scripts/lib.sh"
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) && rm -f "$OUT"/jobs.*
PYTHONPATH=$ROOT/.tools/python python3 -c 'import psycopg' \
  || { echo "jobs_e2e: psycopg is missing from .tools/python: run scripts/deps.sh" >&2; exit 1; }
fail() {
  printf 'jobs_e2e: FAILED: %s\n' "$*" >&2
  for f in "$OUT"/jobs.worker-*.log; do [ -f "$f" ] && { printf -- '--- tail of %s\n' "$f" >&2; tail -n 15 "$f" >&2; }; done
  exit 1
}
say() { printf 'jobs_e2e: %s\n' "$*"; }

WORK=$(mktemp -d /tmp/specstar-jobs.XXXXXX) && chmod 755 "$WORK" && WORK=$(server_dir "$WORK")
DATA=$(realpath "$WORK")/data
export PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=specstar_jobs PGPORT=$(free_port)
psql=("$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1)
sql() { "${psql[@]}" -c "$1"; }
DSN="host=127.0.0.1 port=$PGPORT user=postgres dbname=specstar_jobs"

declare -A worker=()  # name -> pid of the worker, which leads a session of its own
kill_worker() {  # kill -9 the worker and its commands (each in a process group of its own in its session)
  local pid=${worker[$1]:-} pids
  [ -n "$pid" ] || return 0
  pids=$(ps -o pid= -s "$pid" 2>/dev/null | tr '\n' ' ') || true
  # shellcheck disable=SC2086  # one word per pid
  [ -n "${pids// /}" ] && kill -9 $pids 2>/dev/null  # (the worker, its commands)
  wait "$pid" 2>/dev/null || true
  unset "worker[$1]"
}
cleanup() {
  local name
  for name in "${!worker[@]}"; do kill_worker "$name" || true; done
  stop_cluster_hard "$DATA"
  rm -rf "$WORK"
}
trap cleanup EXIT
new_cluster "$DATA" "$PGPORT"
"$PGBIN/createdb" specstar_jobs

"${psql[@]}" > /dev/null <<'SQL'
CREATE EXTENSION specstar;
SELECT specstar.register_spec('task', '{"type": "object", "properties": {"n": {"type": "integer"}, "slow": {"type": "boolean"}}, "required": ["n"]}',
  '{"job": {"lease": "4s", "max_attempts": 10, "backoff": "constant"}}') IS NOT NULL;
SELECT specstar.register_spec('slow', '{"type": "object", "properties": {"note": {"type": "string"}}}',
  '{"job": {"lease": "2s", "max_attempts": 3}}') IS NOT NULL;
SELECT specstar.register_spec('tick', '{"type": "object", "properties": {"note": {"type": "string"}}}',
  '{"job": {"lease": "5s", "max_attempts": 5}}') IS NOT NULL;
SELECT specstar.register_spec('flaky', '{"type": "object", "properties": {"note": {"type": "string"}}}',
  '{"job": {"max_attempts": 2, "backoff": {"strategy": "constant", "base": "1s", "max": "1h", "jitter": 0}}}') IS NOT NULL;
CREATE TABLE marks (spec text, id uuid, attempt int, worker text);
SQL

# The commands: a mark first, then the work. task echoes its payload (the job's result),
# sleeping 0.3 s first in phase c.; slow sleeps 3 s, beyond its lease, then notes that it
# ended; flaky fails.
export JOBS_MARKS=$OUT/jobs.marks
: > "$JOBS_MARKS" && : > "$JOBS_MARKS.ended"
MARK='echo "$SPECSTAR_JOB_SPEC $SPECSTAR_JOB_ID $SPECSTAR_JOB_ATTEMPT $SPECSTAR_WORKER" >> "$JOBS_MARKS"'
TASK="p=\$(cat); $MARK; case \$p in *'\"slow\": true'*) sleep 0.3;; esac; printf '%s\\n' \"\$p\""
SLOW="$MARK; sleep 3; echo \"\$SPECSTAR_JOB_ID\" >> \"\$JOBS_MARKS.ended\"; echo '{\"slept\": 3}'"
TICK="$MARK; echo '{\"tick\": true}'"
FLAKY="$MARK; echo \"boom on attempt \$SPECSTAR_JOB_ATTEMPT\" >&2; exit 3"
start_worker() {  # start_worker NAME [options]: in a session of its own, its log in OUT
  local name=$1; shift
  PYTHONPATH=$ROOT/.tools/python setsid python3 "$ROOT/examples/job_worker.py" --dsn "$DSN" --worker "$name" "$@" \
    >> "$OUT/jobs.worker-$name.log" 2>&1 &
  worker[$name]=$!
}
start_both() {
  local name
  for name in "$@"; do
    start_worker "$name" --batch 8 --idle-max 1 --job "task=$TASK" --job "slow=$SLOW" --job "tick=$TICK" --job "flaky=$FLAKY"
  done
}
until_true() {  # until_true SECONDS WHAT SQL: until the query says t, or fail
  local end=$((SECONDS + $1))
  while [ "$(sql "$3" 2>/dev/null || true)" != t ]; do
    [ $SECONDS -lt $end ] || fail "$2 (not within $1 s; $(sql "SELECT specstar.job_stats('task')" 2>&1 || true))"
    sleep 0.1
  done
}
kill_server() {  # the postmaster and every backend at once
  crash_cluster "$DATA" || fail "the cluster did not go away after kill -9"
}

# For every task job: completed exactly once, done, its result its payload, run at least once,
# no run after the completing one, no attempt run twice.
check_tasks() {  # check_tasks JOBS
  sql "TRUNCATE marks"
  sql "\\copy marks FROM '$JOBS_MARKS' WITH (DELIMITER ' ')"
  local check
  check=$("${psql[@]}" <<'SQL'
WITH completes AS (SELECT id, count(*) AS n, max(revision) AS revision, max((data ->> 'attempts')::int) AS attempts
                     FROM api.task_revision WHERE op = 'complete' GROUP BY id),
     runs AS (SELECT id, attempt, count(*) AS n FROM marks WHERE spec = 'task' GROUP BY id, attempt)
SELECT format('jobs=%s done=%s completed_not_once=%s wrong_result=%s never_ran=%s claims_after_complete=%s runs_after_complete=%s attempts_run_twice=%s (ran_more_than_once=%s, by_workers=%s)',
  (SELECT count(*) FROM api.task),
  (SELECT count(*) FROM api.task WHERE status = 'done'),
  (SELECT count(*) FROM api.task t LEFT JOIN completes c USING (id) WHERE c.n IS DISTINCT FROM 1),
  (SELECT count(*) FROM api.task WHERE (result ->> 'n')::int IS DISTINCT FROM n),
  (SELECT count(*) FROM api.task t WHERE NOT EXISTS (SELECT FROM runs r WHERE r.id = t.id)),
  (SELECT count(*) FROM api.task_revision r JOIN completes c USING (id) WHERE r.op = 'claim' AND r.revision > c.revision),
  (SELECT count(*) FROM runs r JOIN completes c USING (id) WHERE r.attempt > c.attempts),
  (SELECT count(*) FROM runs WHERE n > 1),
  (SELECT count(*) FROM (SELECT id FROM runs GROUP BY id HAVING count(*) > 1) x),
  (SELECT string_agg(w || ':' || n, ',' ORDER BY w) FROM (SELECT leased_by AS w, count(*) AS n FROM api.task GROUP BY 1) x))
SQL
)
  say "tasks: $check"
  case "$check" in
    "jobs=$1 done=$1 completed_not_once=0 wrong_result=0 never_ran=0 claims_after_complete=0 runs_after_complete=0 attempts_run_twice=0 "*) ;;
    *) fail "the task jobs: $check" ;;
  esac
}

start_both w1 w2
sleep 0.5

# ---- a. 300 jobs, two workers ----------------------------------------------------------
sql "INSERT INTO api.task (n) SELECT g FROM generate_series(1, 300) g"
until_true 60 "a. 300 jobs done" "SELECT count(*) = 300 FROM api.task WHERE status = 'done'"
check_tasks 300
[ "$(sql "SELECT count(DISTINCT leased_by) FROM api.task")" = 2 ] || fail "a. the jobs were not shared by both workers"
say "a. ok: 300 jobs done by two workers, each completed once"

# ---- b. kill -9 of the worker running a job ----------------------------------------------
id=$(sql "INSERT INTO api.slow (note) VALUES ('outlives its lease') RETURNING id")
until_true 10 "b. the slow job claimed" "SELECT status = 'running' FROM api.slow WHERE id = '$id'"
sleep 1.5  # past the first heartbeats
victim=$(sql "SELECT leased_by FROM api.slow WHERE id = '$id'")
case $victim in w1) survivor=w2 ;; w2) survivor=w1 ;; *) fail "b. leased by $victim" ;; esac
[ "$(sql "SELECT status FROM api.slow WHERE id = '$id'")" = running ] || fail "b. the slow job lost its lease while its worker ran it (heartbeats?)"
kill_worker "$victim"
until_true 20 "b. the slow job taken over and done" "SELECT status = 'done' FROM api.slow WHERE id = '$id'"
history=$(sql "SELECT string_agg(op || ':' || coalesce(data ->> 'leased_by', '-'), ' ' ORDER BY revision) FROM api.slow_revision WHERE id = '$id'")
attempts=$(sql "SELECT attempts FROM api.slow WHERE id = '$id'")
say "b. history: $history; attempts $attempts"
case $history in  # (the expire revision is written by the survivor's claim, or by a job_maintain)
  "create:- claim:$victim expire:"*" claim:$survivor complete:$survivor") ;;
  *) fail "b. the history of the job taken over: $history" ;;
esac
[ "$attempts" = 2 ] || fail "b. attempts $attempts, not 2 (the expired attempt counts)"
[ "$(grep -c "^slow $id " "$JOBS_MARKS")" = 2 ] || fail "b. the slow job ran $(grep -c "^slow $id " "$JOBS_MARKS") times, not twice"
grep -q "^slow $id 2 $survivor\$" "$JOBS_MARKS" || fail "b. the survivor's run is not attempt 2"
[ "$(grep -c "$id" "$JOBS_MARKS.ended")" = 1 ] || fail "b. the killed worker's command was not killed with it"
start_both "$victim"
say "b. ok: the job of the killed worker ($victim) was taken over by $survivor after its lease"

# ---- c. kill -9 of the server while the workers run jobs ---------------------------------
sql "INSERT INTO api.task (n, slow) SELECT g, true FROM generate_series(301, 600) g"
until_true 30 "c. the first jobs done" "SELECT count(*) >= 330 FROM api.task WHERE status = 'done'"
before=$(sql "SELECT count(*) FROM api.task WHERE status = 'done'")
[ "$before" -lt 580 ] || fail "c. the jobs ran too fast to kill the server among them ($before done)"
kill_server
sleep 1
start_cluster "$DATA" "$PGPORT"
say "c. server killed with $((before - 300)) of 300 jobs done, started again"
until_true 60 "c. all 600 jobs done after the crash" "SELECT count(*) = 600 FROM api.task WHERE status = 'done'"
for name in w1 w2; do
  grep -q "connected again" "$OUT/jobs.worker-$name.log" || fail "c. $name did not report a reconnection"
done
check_tasks 600
say "c. ok: the workers rode out the crash, nothing lost, nothing run after its completion"

# ---- d. a periodic job across a restart ----------------------------------------------------
id=$(sql "INSERT INTO api.tick (note, every, max_runs) VALUES ('thrice', '1 second', 3) RETURNING id")
until_true 10 "d. the first run of the periodic job" "SELECT runs >= 1 FROM api.tick WHERE id = '$id'"
stop_cluster "$DATA"
sleep 0.5
start_cluster "$DATA" "$PGPORT"
until_true 30 "d. the periodic job's 3 runs" "SELECT status = 'done' AND runs = 3 FROM api.tick WHERE id = '$id'"
ops=$(sql "SELECT string_agg(op, ' ' ORDER BY revision) FROM api.tick_revision WHERE id = '$id' AND op IN ('complete', 'schedule')")
say "d. history: $(sql "SELECT string_agg(op, ' ' ORDER BY revision) FROM api.tick_revision WHERE id = '$id'")"
[ "$ops" = "complete schedule complete schedule complete" ] || fail "d. complete/schedule revisions: $ops"
[ "$(grep -c "^tick $id " "$JOBS_MARKS")" -ge 3 ] || fail "d. the periodic job ran $(grep -c "^tick $id " "$JOBS_MARKS") times"
say "d. ok: the periodic job ran 3 times across a restart"

# ---- e. SIGTERM, then a NOTIFY wakes an idle worker ------------------------------------------
for name in w1 w2; do kill -TERM "${worker[$name]}"; done
for name in w1 w2; do
  for _ in $(seq 1 100); do kill -0 "${worker[$name]}" 2>/dev/null || break; sleep 0.1; done
  kill -0 "${worker[$name]}" 2>/dev/null && fail "e. $name still runs 10 s after SIGTERM"
  status=0; wait "${worker[$name]}" || status=$?
  unset "worker[$name]"
  [ "$status" = 0 ] || fail "e. $name exited with status $status after SIGTERM"
  tail -n 1 "$OUT/jobs.worker-$name.log" | grep -q "stopped" || fail "e. $name did not stop cleanly"
done
start_worker w3 --batch 4 --idle-max 20 --job "task=$TASK" --job "slow=$SLOW" --job "flaky=$FLAKY"
sleep 2  # it looked, found nothing and waits: at most 20 s unless woken up
start_ns=$(date +%s%N)
id=$(sql "INSERT INTO api.task (n) VALUES (601) RETURNING id")
until_true 5 "e. the idle worker claims the new job" "SELECT status <> 'pending' FROM api.task WHERE id = '$id'"
ms=$((($(date +%s%N) - start_ns) / 1000000))
[ "$ms" -le 2000 ] || fail "e. the idle worker claimed the new job after $ms ms, not within 2 s (NOTIFY?)"
until_true 10 "e. the new job done" "SELECT status = 'done' FROM api.task WHERE id = '$id'"
say "e. ok: SIGTERM stopped w1 and w2 cleanly; the idle w3 claimed a new job $ms ms after its INSERT"

# ---- f. a failing command, a cancelled job (w3, idling up to 20 s) ----------------------------
cancelled=$(sql "INSERT INTO api.slow (note) VALUES ('cancelled while it runs') RETURNING id")
flaky=$(sql "INSERT INTO api.flaky (note) VALUES ('fails twice') RETURNING id")
until_true 10 "f. the job to cancel claimed" "SELECT status = 'running' FROM api.slow WHERE id = '$cancelled'"
sql "SELECT specstar.job_cancel('slow', '$cancelled') IS NOT NULL" > /dev/null
cancel_ns=$(date +%s%N)
until_true 10 "f. the failing job failed for good" "SELECT status = 'failed' FROM api.flaky WHERE id = '$flaky'"
history=$(sql "SELECT string_agg(op, ' ' ORDER BY revision) FROM api.flaky_revision WHERE id = '$flaky'")
error=$(sql "SELECT attempts || ' ' || last_error FROM api.flaky WHERE id = '$flaky'")
say "f. the failing job: $history; attempts, last_error: $error"
[ "$history" = "create claim fail claim fail" ] || fail "f. the failing job's history: $history"
[ "$error" = "2 exit status 3: boom on attempt 2" ] || fail "f. the failing job's attempts and last_error: $error"
for _ in $(seq 1 50); do grep -q "job=$cancelled attempt=1 lost" "$OUT/jobs.worker-w3.log" && break; sleep 0.1; done
grep -q "job=$cancelled attempt=1 lost" "$OUT/jobs.worker-w3.log" || fail "f. no worker dropped the cancelled job"
left_ms=$((3500 - ($(date +%s%N) - cancel_ns) / 1000000))  # past the 3 s its command would have run
[ "$left_ms" -le 0 ] || sleep "$((left_ms / 1000)).$(printf '%03d' $((left_ms % 1000)))"
[ "$(sql "SELECT status FROM api.slow WHERE id = '$cancelled'")" = cancelled ] || fail "f. the cancelled job is not cancelled"
! grep -q "$cancelled" "$JOBS_MARKS.ended" || fail "f. the command of the cancelled job was not killed"
say "f. ok: a failing command retried then failed with its stderr; a cancelled job's command killed"

kill -TERM "${worker[w3]}"
status=0; wait "${worker[w3]}" || status=$?
unset "worker[w3]"
[ "$status" = 0 ] || fail "f. w3 exited with status $status after SIGTERM"
say "ok"
