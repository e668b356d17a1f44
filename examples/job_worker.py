#!/usr/bin/env python3
"""The reference job worker (docs/jobs.md): runs the jobs of job specs, a shell command per
spec, over plain SQL with psycopg 3 (scripts/deps.sh installs it into .tools/python).

  PYTHONPATH=.tools/python python3 examples/job_worker.py --dsn DSN --worker NAME [--batch N]
      [--lease INTERVAL] [--idle-max S] [--maintain-every S] [--grace S] [--until-idle] --job SPEC=COMMAND [--job ...]

A job runs as `sh -c COMMAND`, its payload (JSON) on stdin, SPECSTAR_JOB_ID, SPECSTAR_JOB_SPEC,
SPECSTAR_JOB_ATTEMPT (1 on the first run), SPECSTAR_JOB_MAX_ATTEMPTS and SPECSTAR_WORKER in its
environment. Exit status 0 completes the job, with stdout as its result (JSON if it parses,
else {"stdout": ...}; no output: null); another status fails it with the tail of stderr as
last_error (specstar retries it after the backoff while attempts remain).

Every call is one statement in autocommit: a short READ COMMITTED transaction, as SKIP LOCKED
claims want.
- claim: `specstar.job_claim(spec, worker, free slots)`; up to --batch commands run at once,
  each from a thread, in a process group of its own;
- heartbeat: a thread with a connection of its own extends each lease every lease/3
  (`job_heartbeat`). PT409: the job is not ours any more (its lease ran out and was taken over,
  or it was cancelled): the command is killed, the job dropped;
- report: jobs that ended together are completed by one `job_complete_batch` (a single one by
  `job_complete`); failures go to `job_fail`;
- idle: with nothing to claim it waits for `NOTIFY specstar_jobs` (payload: a spec), at most
  until `job_stats`'s next_run_at and at most --idle-max s; `job_maintain` every --maintain-every s;
- when the server goes away (restart, crash) each call is retried on a new connection, with
  backoff from 0.1 s to 2 s. A report whose commit the lost connection hid answers PT409 when
  retried: the job is no longer held, and is left alone;
- SIGTERM or SIGINT: nothing more is claimed; what runs gets --grace s to end and is reported;
  what still runs then is killed and given back (`job_snooze` to now: the attempt does not
  count). Exit status 0.
Each job transition is a line on stdout. A worker killed with kill -9 leaves its commands
running: kill its session (commands stay in it), or let a supervisor kill its cgroup.
"""
import argparse
import contextlib
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import psycopg
from psycopg.types.json import Jsonb

CONNECTION_LOST = (psycopg.OperationalError, psycopg.InterfaceError)
NOT_HELD = ("PT409", "PT404")  # the job is not ours (any more), or gone
_out = threading.Lock()


def say(*words, file=sys.stdout):
    line = " ".join([datetime.now(timezone.utc).isoformat(timespec="milliseconds"), *map(str, words)])
    with _out:
        print(line, file=file, flush=True)


def sqlstate(e):
    return getattr(e, "sqlstate", None)


def first_line(e):
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


class Db:
    """One autocommit connection, opened again with backoff when the server went away."""

    def __init__(self, dsn, name, listen=False, give_up=lambda: False):
        self.dsn, self.name, self.listen, self.give_up = dsn, name, listen, give_up
        self.conn, self.down = None, False

    def connection(self):
        if self.conn is None or self.conn.closed or self.conn.broken:
            self.close()
            self.conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5,
                                        application_name=f"job_worker {self.name}")
            if self.listen:  # before the first claim: a job enqueued after it wakes us up
                self.conn.execute("LISTEN specstar_jobs")
            if self.down:
                say(f"worker={self.name} connected again", file=sys.stderr)
            self.down = False
        return self.conn

    def close(self):
        if self.conn is not None:
            with contextlib.suppress(psycopg.Error):
                self.conn.close()
        self.conn = None

    def lost(self, e):
        self.close()
        if not self.down:
            say(f"worker={self.name} database unreachable, retrying: {first_line(e)}", file=sys.stderr)
        self.down = True

    def query(self, sql, params=(), retry=True):
        delay = 0.1
        while True:
            try:
                return self.connection().execute(sql, params).fetchall()
            except CONNECTION_LOST as e:
                if self.conn is not None and not (self.conn.closed or self.conn.broken):
                    raise  # an error of the statement, the connection is fine
                self.lost(e)
                if not retry or self.give_up():
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)


class Job:
    def __init__(self, spec, id, attempt, max_attempts, lease_s, payload):
        self.spec, self.id, self.attempt, self.max_attempts = spec, id, attempt, max_attempts
        self.lease_s, self.payload = max(lease_s, 0.3), payload
        self.next_beat = time.monotonic() + self.lease_s / 3
        self.proc, self.lost, self.given_back = None, False, False

    def kill(self):
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)


class Worker:
    def __init__(self, args):
        self.args, self.name = args, args.worker
        self.commands = dict(args.job)
        self.specs = list(self.commands)
        self.db = Db(args.dsn, self.name, listen=True, give_up=self.past_grace)
        self.beat_db = Db(args.dsn, self.name)
        self.lock = threading.Lock()
        self.running = {}  # job id -> Job, from the claim until it is reported or dropped
        self.finished = queue.Queue()  # (job, exit status, stdout, stderr)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.stopping = self.deadline = None

    def log(self, job, *words):
        say(f"worker={self.name} spec={job.spec} job={job.id} attempt={job.attempt}", *words)

    def wake(self):
        with contextlib.suppress(BlockingIOError):
            os.write(self.wake_w, b".")

    def stop(self, signum, _frame):
        if not self.stopping:
            self.stopping, self.deadline = signal.Signals(signum).name, time.monotonic() + self.args.grace
            say(f"worker={self.name} {self.stopping}: claiming nothing more, {len(self.running)} running")
        self.wake()

    def past_grace(self):
        return self.stopping is not None and time.monotonic() > self.deadline

    # --- the main loop: claim, report, wait -------------------------------------------------
    def run(self):
        threading.Thread(target=self.heartbeats, daemon=True).start()
        turn, next_maintenance = 0, 0.0
        try:
            while True:
                self.report()
                if self.stopping:
                    if not self.running:
                        break
                    if self.past_grace():  # kill what still runs, give it back
                        for job in list(self.running.values()):
                            if job.proc is not None and job.proc.returncode is None:
                                job.given_back = True
                                job.kill()
                    self.wait(0.5)
                    continue
                if time.monotonic() >= next_maintenance:
                    self.maintain()
                    next_maintenance = time.monotonic() + self.args.maintain_every
                free = self.args.batch - len(self.running)
                claimed = 0
                try:
                    for spec in self.specs[turn:] + self.specs[:turn]:  # the first spec in turn
                        if free - claimed > 0:
                            claimed += self.claim(spec, free - claimed)
                    turn = (turn + 1) % len(self.specs)
                    if claimed and claimed == free:
                        self.wait(self.args.idle_max)  # full: until a job ends
                    elif not claimed:
                        if self.args.until_idle and not self.running:
                            break  # nothing ready, nothing running: done
                        self.wait(self.idle_timeout() if free else self.args.idle_max)
                except CONNECTION_LOST:
                    raise
                except psycopg.DatabaseError as e:  # (e.g. not a job spec, no right to work it)
                    say(f"worker={self.name} {first_line(e)}; again in 2 s", file=sys.stderr)
                    self.wait(2)
        except CONNECTION_LOST as e:  # only when stopping, past the grace period
            for job in list(self.running.values()):
                job.kill()
            say(f"worker={self.name} exiting with {len(self.running)} jobs unreported: {first_line(e)}", file=sys.stderr)
            return 1
        say(f"worker={self.name} stopped")
        return 0

    def claim(self, spec, n):
        rows = self.db.query(
            "SELECT id::text, attempts, max_attempts, extract(epoch FROM lease_until - now())::float8, payload"
            " FROM specstar.job_claim(%s, %s, %s, %s::interval)", (spec, self.name, n, self.args.lease))
        for row in rows:
            job = Job(spec, *row)
            with self.lock:
                self.running[job.id] = job
            self.log(job, "claimed")
            threading.Thread(target=self.execute, args=(job,), daemon=True).start()
        return len(rows)

    def idle_timeout(self):
        """Until the next job of ours is due (job_stats' next_run_at), at most --idle-max."""
        (due_in,), = self.db.query(
            "SELECT min(extract(epoch FROM (specstar.job_stats(s) ->> 'next_run_at')::timestamptz - clock_timestamp()))::float8"
            " FROM unnest(%s::text[]) s", (self.specs,))
        if due_in is None:
            return self.args.idle_max
        # (due already yet not claimable, e.g. held back by a concurrency limit: look again soon)
        return min(self.args.idle_max, due_in + 0.01 if due_in > 0 else 0.5)

    def wait(self, timeout):
        """Until a NOTIFY for one of our specs, a job's end or a signal; at most timeout s."""
        deadline = time.monotonic() + timeout
        while True:
            conn = self.db.conn
            try:
                if conn is not None and any(n.payload in self.commands for n in list(conn.notifies(timeout=0))):
                    return
            except CONNECTION_LOST as e:
                self.db.lost(e)
                conn = None
            left = deadline - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([self.wake_r] + ([conn.fileno()] if conn is not None else []), [], [], left)
            if self.wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(self.wake_r, 4096)
                return
            if not ready:
                return

    def maintain(self):
        for spec in self.specs:
            try:
                (counts,), = self.db.query("SELECT specstar.job_maintain(%s)", (spec,))
                if any(counts.values()):
                    say(f"worker={self.name} spec={spec} job_maintain: {json.dumps(counts)}")
            except CONNECTION_LOST:
                raise
            except psycopg.DatabaseError as e:
                say(f"worker={self.name} spec={spec} job_maintain: {first_line(e)}", file=sys.stderr)

    # --- one job: its command ----------------------------------------------------------------
    def execute(self, job):
        env = dict(os.environ, SPECSTAR_JOB_ID=job.id, SPECSTAR_JOB_SPEC=job.spec, SPECSTAR_JOB_ATTEMPT=str(job.attempt),
                   SPECSTAR_JOB_MAX_ATTEMPTS=str(job.max_attempts), SPECSTAR_WORKER=self.name)
        try:
            proc = subprocess.Popen(["sh", "-c", self.commands[job.spec]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=env, process_group=0)
            job.proc = proc
            if job.lost or job.given_back:  # (told to stop before it started)
                job.kill()
            out, err = proc.communicate(json.dumps(job.payload).encode())
            self.finished.put((job, proc.returncode, out, err))
        except OSError as e:
            self.finished.put((job, 127, b"", str(e).encode()))
        self.wake()

    # --- heartbeats, from a thread of their own ----------------------------------------------
    def heartbeats(self):
        while True:
            time.sleep(0.1)
            now = time.monotonic()
            with self.lock:
                due = [job for job in self.running.values() if not job.lost and job.next_beat <= now]
            for job in due:
                try:
                    self.beat_db.query("SELECT specstar.job_heartbeat(%s, %s, %s, %s::interval)",
                                       (job.spec, job.id, self.name, self.args.lease), retry=False)
                    job.next_beat = time.monotonic() + job.lease_s / 3
                except CONNECTION_LOST:
                    time.sleep(0.4)  # the server is away: try again soon
                    break
                except psycopg.DatabaseError as e:
                    with self.lock:
                        reported = job.id not in self.running
                    if reported:
                        continue
                    if sqlstate(e) in NOT_HELD:
                        job.lost = True
                        job.kill()
                        self.log(job, f"lost: {first_line(e)}; command killed, job dropped")
                    else:
                        say(f"worker={self.name} job={job.id} heartbeat: {first_line(e)}", file=sys.stderr)
                        job.next_beat = time.monotonic() + 1

    # --- reports: complete, fail, give back ---------------------------------------------------
    def report(self):
        ended = []
        with contextlib.suppress(queue.Empty):
            while True:
                ended.append(self.finished.get_nowait())
        with self.lock:  # (no more heartbeats: a PT409 after the report would be no news)
            for job, *_ in ended:
                self.running.pop(job.id, None)
        succeeded = {}  # spec -> [(job, result)]
        for job, status, out, err in ended:
            if job.lost:
                continue  # (logged by the heartbeat that found out)
            if job.given_back:
                self.call(job, "job_snooze(%s, %s, %s, now())", done="given back (pending again)")
            elif status == 0:
                succeeded.setdefault(job.spec, []).append((job, result_of(out)))
            else:
                error = f"exit status {status}" if status > 0 else f"killed by signal {-status}"
                tail = err.decode(errors="replace").strip()[-2000:]
                self.fail(job, f"{error}: {tail}" if tail else error)
        for spec, done in succeeded.items():
            if len(done) > 1:
                try:
                    rows = self.db.query("SELECT specstar.job_complete_batch(%s, %s::uuid[], %s, %s::jsonb[])",
                                         (spec, [job.id for job, _ in done], self.name, [jsonb(r) for _, r in done]))
                    completed = {str(id) for id, in rows}
                    for job, _ in done:
                        self.log(job, "done" if job.id in completed else "not held any more: not completed")
                    done = []
                except CONNECTION_LOST:
                    raise
                except psycopg.DatabaseError as e:  # e.g. a result refused by result_schema: one by one
                    say(f"worker={self.name} spec={spec} job_complete_batch: {first_line(e)}", file=sys.stderr)
            for job, result in done:
                self.complete(job, result)

    def complete(self, job, result):
        row, error = self.call(job, "job_complete(%s, %s, %s, %s)", jsonb(result))
        if row is not None:
            self.log(job, f"done, next run at {row['run_at']}" if row.get("status") == "pending" else "done")
        elif sqlstate(error) not in NOT_HELD:  # e.g. PT422: the result breaks the spec's result_schema
            self.fail(job, f"job_complete refused the result: {first_line(error)}", retry=False)

    def fail(self, job, error, retry=True):
        row, _ = self.call(job, "job_fail(%s, %s, %s, %s, %s)", error, retry)
        if row is not None:
            then = f"retry at {row['run_at']}" if row.get("status") == "pending" else row.get("status")
            self.log(job, f"failed ({then}): {error.splitlines()[0] if error else ''}")

    def call(self, job, function, *extra, done=None):
        """specstar.<function>(spec, id, worker, *extra) → (the job as a dict, None), or (None,
        the error); logs `done` on success, the error itself."""
        try:
            (row,), = self.db.query(f"SELECT to_jsonb(specstar.{function})", (job.spec, job.id, self.name, *extra))
            if done:
                self.log(job, done)
            return row, None
        except CONNECTION_LOST:
            raise  # (only when stopping, past the grace period)
        except psycopg.DatabaseError as e:
            held = sqlstate(e) not in NOT_HELD
            self.log(job, f"{function.split('(')[0]}: {first_line(e)}" if held else f"not held any more: {first_line(e)}")
            return None, e


def result_of(out):
    text = out.decode(errors="replace")
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {"stdout": text[-10000:]}


def jsonb(value):
    return None if value is None else Jsonb(value)


def spec_command(text):
    spec, _, command = text.partition("=")
    if not spec or not command:
        raise argparse.ArgumentTypeError(f"{text!r}: want SPEC=COMMAND")
    return spec, command


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", required=True, help="libpq connection string or URI")
    parser.add_argument("--worker", default=f"{os.uname().nodename}-{os.getpid()}", help="this worker's name (leased_by)")
    parser.add_argument("--batch", type=int, default=10, help="jobs claimed at once and run concurrently (default 10)")
    parser.add_argument("--lease", default=None, help="lease per claim and heartbeat, an interval (default: the spec's)")
    parser.add_argument("--idle-max", type=float, default=5.0, help="longest wait for a NOTIFY, in seconds (default 5)")
    parser.add_argument("--maintain-every", type=float, default=10.0, help="seconds between job_maintain calls (default 10)")
    parser.add_argument("--grace", type=float, default=30.0, help="seconds running commands get after SIGTERM (default 30)")
    parser.add_argument("--until-idle", action="store_true", help="exit (status 0) once nothing is ready and nothing runs")
    parser.add_argument("--job", action="append", required=True, metavar="SPEC=COMMAND", type=spec_command,
                        help="run the jobs of SPEC with `sh -c COMMAND` (repeatable)")
    args = parser.parse_args()
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    worker = Worker(args)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    say(f"worker={args.worker} started: specs {', '.join(worker.specs)}, batch {args.batch}")
    return worker.run()


if __name__ == "__main__":
    sys.exit(main())
