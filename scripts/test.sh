#!/usr/bin/env bash
# make test: every suite, against a throw-away PostgreSQL cluster on a free loopback port
# that this script starts and always stops. Assumes the extension is installed (make install).
#   unit       plain cargo test of the pure logic (crates/specstar-core, crates/specstar-search)
#   regress    golden pg_regress files, one per feature (tests/pg_regress)
#   readme     the SQL of README.md and docs/drafts-and-migrations.md, as golden files (tests/readme)
#   isolation  concurrency specs (tests/isolation)
#   feed       4 writers and the example feed consumer on a cluster of its own, the consumer
#              and then the server killed with kill -9 mid-run: the consumer's events equal
#              the history exactly (tests/feed_load.sh)
#   jobs       the reference job worker (examples/job_worker.py) on a cluster of its own: 300
#              jobs by two workers, a worker and then the server killed with kill -9 mid-run,
#              a periodic job across a restart, SIGTERM, a NOTIFY waking an idle worker; no job
#              runs again once its completion committed (tests/jobs_e2e.sh)
#   dump       pg_dump / pg_restore round trip (tests/dump_restore.sh)
#   search     pgbench clients write and search a spec's index, then search_verify and an SQL
#              oracle check it (tests/search_load.sh)
#   crash      kill -9 under a write load, crash recovery, then search_verify and the oracle,
#              CRASH_ITERATIONS times (default 3; make crashtest: 100) on a cluster of its own
#              (tests/search_crash.sh)
#   replica    a hot standby made with pg_basebackup -R, on clusters of its own, with a PostgREST
#              on each server: after writes on the primary (search_merge among them) and their
#              replay, the standby's answers over SQL and HTTP (REST, history, as-of, search,
#              GraphQL) equal the primary's, and writes on it are refused (tests/replica.sh)
#   http       black-box HTTP tests through the real PostgREST (tests/http), the admin page in
#              headless chromium among them (tests/http/test_admin.py → admin/tests/e2e.mjs)
# SUITES="regress isolation" limits the run; HTTP_MODULES="tests/http/test_jobs.py" the http suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

SUITES=${SUITES:-unit regress readme isolation feed jobs dump search crash replica http}
failed=()
want() { [[ " $SUITES " == *" $1 "* ]]; }

if want unit; then
  log "unit: cargo test -p specstar-core -p specstar-search -p specstar-graphql"
  cargo test -q -p specstar-core -p specstar-search -p specstar-graphql || failed+=(unit)
  log "unit: the admin page's pure logic (node --test admin/tests/schema.test.mjs)"
  (cd admin && node --test tests/schema.test.mjs) || failed+=(unit:admin)
fi

WORK=$(mktemp -d /tmp/specstar-test.XXXXXX) && chmod 755 "$WORK" && WORK=$(server_dir "$WORK")
OUT=${TEST_OUTPUT:-$PWD/.run/test-output}
rm -rf "$OUT" && mkdir -p "$OUT"
PORT=$(free_port)
export PGPORT=$PORT
as_pg mkdir -p "$WORK/data" && as_pg chmod 700 "$WORK/data"
init_cluster "$WORK/data"
trap 'stop_cluster "$WORK/data"; rm -rf "$WORK"' EXIT
# pg_stat_statements counts nested statements too: the GraphQL suite counts them per request
start_cluster "$WORK/data" "$PORT" -c pg_stat_statements.track=all
log "test cluster on 127.0.0.1:$PORT"

# Crash guard: no suite may crash a backend. A crash makes the postmaster restart every
# backend (a new pg_postmaster_start_time) and logs "terminated by signal".
started() { "$PGBIN/psql" -X -At -d postgres -c "SELECT pg_postmaster_start_time()"; }
STARTED=$(started)
guard() {  # guard SUITE
  local now
  now=$(started)
  if [ "$now" != "$STARTED" ] || as_pg grep -q "terminated by signal" "$WORK/data/server.log"; then
    printf 'crash guard: a backend crashed or the server restarted during %s\n' "$1" >&2
    as_pg grep -n -B2 -A2 "terminated by signal" "$WORK/data/server.log" >&2 || true
    failed+=("crash-guard:$1")
    STARTED=$now
    as_pg truncate -s 0 "$WORK/data/server.log"
  fi
}

regress() {  # regress NAME INPUTDIR TESTS...
  local name=$1 dir=$2; shift 2
  "$PGXS_DIR/test/regress/pg_regress" --bindir="$PGBIN" --host=127.0.0.1 --port="$PORT" --user=postgres \
    --inputdir="$dir" --outputdir="$OUT/$name" --dbname="specstar_$name" --load-extension=specstar "$@" \
    || { [ -f "$OUT/$name/regression.diffs" ] && cat "$OUT/$name/regression.diffs"; return 1; }
}

if want regress; then
  log "regress: tests/pg_regress"
  mapfile -t tests < <(cd tests/pg_regress/sql && ls ./*.sql | sed 's|^\./||; s|\.sql$||' | sort)
  regress regress tests/pg_regress "${tests[@]}" || failed+=(regress)
  guard regress
fi

if want readme; then
  log "readme: the SQL of README.md and of the worked examples in docs/"
  mkdir -p "$OUT/readme-input/sql" "$OUT/readme-input/expected"
  examples=(readme:README.md drafts-and-migrations:docs/drafts-and-migrations.md graphql:docs/graphql.md permissions:docs/permissions.md events:docs/events.md)
  for example in "${examples[@]}"; do
    name=${example%%:*}
    python3 tests/readme/extract.py "${example#*:}" > "$OUT/readme-input/sql/$name.sql"
    cp "tests/readme/expected/$name.out" "$OUT/readme-input/expected/$name.out" 2>/dev/null \
      || : > "$OUT/readme-input/expected/$name.out"
  done
  regress readme "$OUT/readme-input" "${examples[@]%%:*}" || failed+=(readme)
  guard readme
fi

if want isolation; then
  log "isolation: tests/isolation"
  mapfile -t specs < <(cd tests/isolation/specs && ls ./*.spec | sed 's|^\./||; s|\.spec$||' | sort)
  "$PGXS_DIR/test/isolation/pg_isolation_regress" --bindir="$PGBIN" --host=127.0.0.1 --port="$PORT" --user=postgres \
    --inputdir=tests/isolation --outputdir="$OUT/isolation" --dbname=specstar_isolation --load-extension=specstar "${specs[@]}" \
    || { cat "$OUT/isolation/regression.diffs" 2>/dev/null; failed+=(isolation); }
  guard isolation
fi

if want feed; then
  log "feed: 4 writers and examples/feed_consumer.sh for ${FEED_SECONDS:-30} s, the consumer and the server killed (tests/feed_load.sh)"
  tests/feed_load.sh "$OUT/feed" || failed+=(feed)
  guard feed
fi

if want jobs; then
  log "jobs: examples/job_worker.py, a worker and the server killed with kill -9, a periodic job across a restart (tests/jobs_e2e.sh)"
  tests/jobs_e2e.sh "$OUT/jobs" || failed+=(jobs)
  guard jobs
fi

if want dump; then
  log "dump: pg_dump / pg_restore round trip"
  tests/dump_restore.sh "$OUT/dump" || failed+=(dump)
  guard dump
fi

if want search; then
  log "search: pgbench load on a search index (tests/search_load.sh)"
  tests/search_load.sh "$OUT/search" || failed+=(search)
  guard search
fi

if want crash; then
  log "crash: kill -9 under a write load, crash recovery of the search index (tests/search_crash.sh)"
  tests/search_crash.sh "${CRASH_ITERATIONS:-3}" "$OUT/crash" || failed+=(crash)
fi

if want replica; then
  log "replica: a hot standby (pg_basebackup -R) and PostgREST on it answer reads as the primary does (tests/replica.sh)"
  tests/replica.sh "$OUT/replica" || failed+=(replica)
fi

if want http; then
  log "http: tests/http through PostgREST $("$POSTGREST" --version | cut -d' ' -f2)"
  for module in ${HTTP_MODULES:-tests/http/test_*.py}; do  # one process (one PostgREST) per module (HTTP_MODULES: some of them)
    name=$(basename "$module" .py)
    TEST_OUTPUT=$OUT PGBIN=$PGBIN POSTGREST=$POSTGREST PYTHONPATH=$PWD/.tools/python python3 "$module" 2>&1 | tee "$OUT/$name.log" | grep -Ev '^test_.* ok$' || true
    grep -q '^OK' "$OUT/$name.log" || failed+=("http:$name")
  done
  guard http
fi

if [ ${#failed[@]} -gt 0 ]; then
  printf '\nFAILED: %s (outputs in %s)\n' "${failed[*]}" "$OUT" >&2
  exit 1
fi
printf '\nall suites passed: %s\n' "$SUITES"
