#!/usr/bin/env bash
# Search under a multi-client load: pgbench clients insert, update and (now and then) delete
# resources of a spec with a search index while others search it, and some update and then
# search in one transaction; no client may get an error. Afterwards the index must agree
# with the table: search_verify ok, and every query of the oracle (tests/search_oracle.sql)
# finds exactly the resources a plain SQL scan finds; the automatic merges must have kept the
# number of segments bounded; and a full merge and a rebuild must keep it all true.
#
#   tests/search_load.sh OUTDIR
#
# Needs a running cluster reachable through PGHOST/PGPORT/PGUSER (scripts/test.sh exports
# them) with the extension installed. Creates and drops the database specstar_search_load;
# writes its files (pgbench scripts and log, outputs) only under OUTDIR.
#   SEARCH_LOAD_SECONDS  duration of the pgbench run (default 15)
#   SEARCH_LOAD_CLIENTS  pgbench clients (default 4, with 2 threads)
#   SEARCH_LOAD_PRELOAD  resources before the run (default 2000)
#   SEARCH_MAX_SEGMENTS  most segments (pending rows aside) the index may have after the run (default 60)
#   KEEP_DBS=1           keeps the database for a look after a failure
set -euo pipefail

OUT=${1:?usage: tests/search_load.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
: "${PGPORT:?PGPORT must name the port of a running cluster}"
DB=specstar_search_load
SPEC=doc
SECONDS_=${SEARCH_LOAD_SECONDS:-15}
CLIENTS=${SEARCH_LOAD_CLIENTS:-4}
PRELOAD=${SEARCH_LOAD_PRELOAD:-2000}
MAX_SEGMENTS=${SEARCH_MAX_SEGMENTS:-60}

mkdir -p "$OUT"
rm -f "$OUT"/*.sql "$OUT"/*.out "$OUT"/*.log

fail() { printf 'search_load: FAILED: %s\n' "$*" >&2; exit 1; }
psql_db() {  # psql_db [psql args...]: quiet, stops at the first error
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -P pager=off -d "$DB" "$@"
}
run_sql() {  # run_sql NAME FILE [psql args...]: output in $OUT/NAME.out, fails with its tail
  local name=$1 file=$2; shift 2
  psql_db -f "$file" "$@" > "$OUT/$name.out" 2>&1 \
    || { tail -n 40 "$OUT/$name.out" >&2; fail "$name (output: $OUT/$name.out)"; }
}
value() { psql_db -At -c "$1"; }
drop_db() { "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1 || true; }
drop_db
[ "${KEEP_DBS:-}" = 1 ] || trap drop_db EXIT
started=$(date +%s)

# ---------------------------------------------------------------------------------------
# 1. The spec, its corpus and the preload; a function that makes a query of each kind.
"$PGBIN/createdb" -T template0 "$DB"
run_sql corpus "$HERE/search_corpus.sql" -v spec="$SPEC" -v preload="$PRELOAD"
cat > "$OUT/setup.sql" <<'SQL'
-- query kind k (1..6) from words a and b of the vocabulary
CREATE FUNCTION public.load_query(k integer, a integer, b integer) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE k
    WHEN 1 THEN x
    WHEN 2 THEN x || ' AND ' || y
    WHEN 3 THEN x || ' OR ' || y
    WHEN 4 THEN '"' || x || ' ' || y || '"'
    WHEN 5 THEN left(x, 3) || '*'
    ELSE x || ' -' || y
  END
  FROM (SELECT public.load_word(a) AS x, public.load_word(b) AS y) w
$$;
SQL
run_sql setup "$OUT/setup.sql"

# ---------------------------------------------------------------------------------------
# 2. The load.
source "$HERE/search_writes.sh"
write_scripts "$OUT" "$SPEC"
cat > "$OUT/search.sql" <<SQL
\set k random(1, 6)
\set a random(1, 1100)
\set b random_exponential(1, 1100, 8)
SELECT count(*) FROM specstar.search('$SPEC', public.load_query(:k, :a, :b), NULL);
SQL
# a writer that searches in the same transaction (it has a transaction id: its statements
# must still search one snapshot each)
cat > "$OUT/write_search.sql" <<SQL
\set k random(1, 6)
\set a random_exponential(1, 1100, 8)
\set b random(1, 1100)
BEGIN;
UPDATE api.$SPEC SET body = public.load_text(8 + (random() * 12)::integer)
 WHERE n = (SELECT 1 + floor(random() * last_value)::integer FROM public.load_n);
SELECT count(*) FROM specstar.search('$SPEC', public.load_query(:k, :a, :b), NULL);
COMMIT;
SQL
cat > "$OUT/search_api.sql" <<SQL
\set k random(1, 6)
\set a random_exponential(1, 1100, 8)
\set b random(1, 1100)
SELECT count(*), sum(score), count(highlights) FROM api.${SPEC}_search(public.load_query(:k, :a, :b), 20, 0);
SQL

rows_before=$(value "SELECT count(*) FROM api.$SPEC")
log_line() { printf 'search_load: %s\n' "$*"; }
log_line "$PGBIN/pgbench -n -c $CLIENTS -j 2 -T $SECONDS_ (insert 25, update 30, delete 3, search 30, ${SPEC}_search 7, update + search 5) on $rows_before resources"
set +e
"$PGBIN/pgbench" -n -c "$CLIENTS" -j 2 -T "$SECONDS_" \
  -f "$OUT/insert.sql@25" -f "$OUT/update.sql@30" -f "$OUT/delete.sql@3" \
  -f "$OUT/search.sql@30" -f "$OUT/search_api.sql@7" -f "$OUT/write_search.sql@5" "$DB" > "$OUT/pgbench.log" 2>&1
status=$?
set -e
awk '/^number of (transactions actually processed|failed transactions)|^tps|^latency average/ { print "  " $0 }
     /^SQL script/ { name = $NF; sub(/.*\//, "", name); sub(/\.sql$/, "", name) }
     /^ - [0-9]+ transactions/ { tx = $2; tps = $NF; sub(/\)$/, "", tps) }
     /^ - latency average/ { printf "  %-12s %6d transactions, %7.1f tps, %6.1f ms on average\n", name, tx, tps, $(NF-1) }' \
  "$OUT/pgbench.log" || true
# A client that gets an error stops (the run goes on with the others): the checks below run
# all the same, and the test fails at the end.
load_problem=
failed_tx=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$OUT/pgbench.log")
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$OUT/pgbench.log")
if [ $status -ne 0 ] || grep -qE 'ERROR|FATAL|aborted|PANIC' "$OUT/pgbench.log"; then
  grep -E 'ERROR|FATAL|aborted|PANIC|DETAIL|CONTEXT' "$OUT/pgbench.log" | head -n 20 >&2
  load_problem="pgbench exited with $status, its clients got errors (log: $OUT/pgbench.log)"
elif [ "${failed_tx:-missing}" != 0 ]; then
  load_problem="pgbench: failed transactions: ${failed_tx:-not reported} (log: $OUT/pgbench.log)"
elif [ "${processed:-0}" -eq 0 ]; then
  load_problem="pgbench processed no transaction (log: $OUT/pgbench.log)"
fi
[ -z "$load_problem" ] || log_line "FAILED: $load_problem; checking the index all the same"

# ---------------------------------------------------------------------------------------
# 3. After the load: bounded segments, verify, the oracle; then a full merge (one segment,
#    no tombstone left), the oracle again; a rebuild and verify; one thread per backend.
stats=$(value "SELECT format('%s segments, %s documents, %s tombstones, %s bytes', segments, documents, tombstones, bytes) FROM specstar.search_stats('$SPEC')")
rows=$(value "SELECT count(*) FROM api.$SPEC")
log_line "after the load: $rows resources; index: $stats"
segments=$(value "SELECT count(*) FROM specstar.search_segment WHERE spec = '$SPEC' AND pending IS NULL")
[ "$segments" -le "$MAX_SEGMENTS" ] || fail "the index has $segments segments after the load (at most $MAX_SEGMENTS expected: the automatic merges do not keep up)"
# pending rows (small writes not indexed yet) are folded into a segment every 512 documents by
# the write that notices (one in 16 looks); concurrent writers add more before it commits
pending=$(value "SELECT count(*) FROM specstar.search_segment WHERE spec = '$SPEC' AND pending IS NOT NULL")
[ "$pending" -le $((512 + 32 * CLIENTS)) ] || fail "the index has $pending pending rows after the load (the folds do not keep up)"

run_sql oracle "$HERE/search_oracle.sql" -v spec="$SPEC" -v seed=load -v words=50 -v pairs=10
sed -n '1,/^$/p' "$OUT/oracle.out" | sed 's/^/  /'
log_line "$(grep '^search oracle:' "$OUT/oracle.out")"

log_line "search_merge: $(value "SELECT specstar.search_merge('$SPEC')")"
after=$(value "SELECT format('%s segments, %s documents, %s tombstones', segments, documents, tombstones) FROM specstar.search_stats('$SPEC')")
log_line "after search_merge: $after"
[ "$(value "SELECT segments <= 1 AND tombstones = 0 AND documents = $rows FROM specstar.search_stats('$SPEC')")" = t ] \
  || fail "after a full merge of a quiet index: $after (expected 1 segment, no tombstone, $rows documents)"
run_sql oracle_merged "$HERE/search_oracle.sql" -v spec="$SPEC" -v seed=merged -v words=20 -v pairs=5
log_line "after search_merge, $(grep '^search oracle:' "$OUT/oracle_merged.out")"

log_line "search_rebuild: $(value "SELECT specstar.search_rebuild('$SPEC')")"
run_sql oracle_rebuilt "$HERE/search_oracle.sql" -v spec="$SPEC" -v seed=rebuilt -v words=20 -v pairs=5
log_line "after search_rebuild, $(grep '^search oracle:' "$OUT/oracle_rebuilt.out")"

threads=$(value "SELECT count(*) FROM specstar.search('$SPEC', 'ka*', NULL); SELECT specstar._backend_threads()" | tail -n 1)
[ "$threads" = 1 ] || fail "a backend that searched has $threads threads (expected 1)"

[ -z "$load_problem" ] || fail "$load_problem"
[ "${KEEP_DBS:-}" = 1 ] || drop_db
log_line "ok: $processed transactions by $CLIENTS clients without an error; $segments segments and $pending pending rows after the load;" \
  "search_verify and the oracle agree after the load, a merge and a rebuild ($(( $(date +%s) - started )) s)"
