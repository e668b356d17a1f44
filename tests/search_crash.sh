#!/usr/bin/env bash
# Crash recovery of the search index: the index is rows written in the writers' transactions,
# so after a crash and WAL replay it must still agree with the table. Starts its own
# throw-away cluster (127.0.0.1, a free port), preloads a spec, then ITERATIONS times:
#   - pgbench clients insert, update and delete resources (small writes are pending rows,
#     folded into segments every 512 documents, automatic merges along the way, now and then
#     a full search_merge), so the crash finds pending rows, and often a fold or merge
#     under way;
#   - after a random 1-4 s, kill -9: on odd iterations the postmaster only (its backends
#     notice and exit, some finishing their statement), on even ones the postmaster and every
#     backend at once; waits until every process of the cluster is gone;
#   - starts the cluster again (crash recovery) and checks search_verify, the oracle of
#     tests/search_oracle.sql and that the index has as many documents as the table has
#     resources; stops at the first failure.
# Always stops the cluster and removes it at exit.
#
#   tests/search_crash.sh ITERATIONS OUTDIR
#
# Writes its logs and outputs only under OUTDIR. Run as root (the cluster runs as postgres)
# or as the user that owns the PostgreSQL installation.
#   SEARCH_CRASH_CLIENTS  pgbench clients (default 4, with 2 threads)
#   SEARCH_CRASH_PRELOAD  resources before the first iteration (default 500)
#   SEARCH_CRASH_MAX_SEGMENTS  most segments (pending writes included) the index may have after
#                         a recovery (default 500: while a search_merge runs, writes cannot fold,
#                         so a crash then leaves many pending writes; this only catches a runaway)
set -euo pipefail

ITERATIONS=${1:?usage: tests/search_crash.sh ITERATIONS OUTDIR}
OUT=${2:?usage: tests/search_crash.sh ITERATIONS OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../scripts/lib.sh"
DB=specstar_crash
SPEC=doc
CLIENTS=${SEARCH_CRASH_CLIENTS:-4}
PRELOAD=${SEARCH_CRASH_PRELOAD:-500}
MAX_SEGMENTS=${SEARCH_CRASH_MAX_SEGMENTS:-500}

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/*.sql "$OUT"/*.out "$OUT"/*.log

fail() { printf 'search_crash: FAILED: %s\n' "$*" >&2; exit 1; }
say() { printf 'search_crash: %s\n' "$*"; }
ms_s() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }  # milliseconds as seconds

# ---------------------------------------------------------------------------------------
# The cluster, and everything that makes sure it goes away.
WORK=$(mktemp -d /tmp/specstar-crash.XXXXXX) && chmod 755 "$WORK" && WORK=$(server_dir "$WORK")
DATA=$(realpath "$WORK")/data
PORT=$(free_port)
export PGPORT=$PORT

wait_gone() {  # wait_gone SECONDS [PID]: until no process of the cluster (nor PID, even a zombie) is left
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    [ -z "$(cluster_pids "$DATA")" ] && { [ -z "${2:-}" ] || [ ! -e "/proc/$2" ]; } && return 0
    sleep 0.1
  done
  return 1
}
pgbench_pid=
cleanup() {
  [ -n "$pgbench_pid" ] && kill "$pgbench_pid" 2>/dev/null || true
  stop_cluster_hard "$DATA"
  wait_gone 10 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

new_cluster "$DATA" "$PORT"
say "cluster on 127.0.0.1:$PORT in $DATA"

psql_db() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -P pager=off -d "$DB" "$@"; }
value() { psql_db -At -c "$1"; }
started=$(date +%s)
pending_seen=0

"$PGBIN/createdb" -T template0 "$DB"
psql_db -f "$HERE/search_corpus.sql" -v spec="$SPEC" -v preload="$PRELOAD" > "$OUT/corpus.out" 2>&1 \
  || { tail -n 20 "$OUT/corpus.out" >&2; fail "search_corpus.sql (output: $OUT/corpus.out)"; }

source "$HERE/search_writes.sh"
write_scripts "$OUT" "$SPEC"
cat > "$OUT/merge.sql" <<SQL
SELECT specstar.search_merge('$SPEC');
SQL

for ((i = 1; i <= ITERATIONS; i++)); do
  # -----------------------------------------------------------------------------------
  # load, then kill -9 after 1-4 s
  log=$OUT/pgbench-$i.log
  "$PGBIN/pgbench" -n -c "$CLIENTS" -j 2 -T 60 \
    -f "$OUT/insert.sql@35" -f "$OUT/update.sql@40" -f "$OUT/delete.sql@24" -f "$OUT/merge.sql@1" "$DB" > "$log" 2>&1 &
  pgbench_pid=$!
  ms=$((1000 + RANDOM % 3001))
  sleep "$(ms_s $ms)"
  postmaster=$(as_pg head -n 1 "$DATA/postmaster.pid")
  if ((i % 2)); then
    mode="the postmaster"
    as_pg kill -9 "$postmaster"
  else
    mode="the postmaster and its $(($(cluster_pids "$DATA" | wc -l) - 1)) children"
    # shellcheck disable=SC2046  # one word per pid
    as_pg kill -9 "$postmaster" $(cluster_pids "$DATA" | grep -vx "$postmaster")
  fi
  wait "$pgbench_pid" || true
  pgbench_pid=
  # (the postmaster's pid too: until it is reaped, the new postmaster takes it for a running one)
  wait_gone 60 "$postmaster" || fail "iteration $i: processes of the killed cluster are still there: $(cluster_pids "$DATA" | tr '\n' ' ') $postmaster"
  # SQL errors (not the lost connections) mean a write failed before the crash
  if grep -q 'ERROR:' "$log"; then
    grep 'ERROR:' "$log" | head -n 5 >&2
    fail "iteration $i: pgbench logged SQL errors before the crash (log: $log)"
  fi
  processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log")
  state=$(as_pg "$PGBIN/pg_controldata" "$DATA" | sed -n 's/^Database cluster state: *//p')
  [ "$state" != "shut down" ] || fail "iteration $i: the cluster was shut down cleanly, not crashed"

  # -----------------------------------------------------------------------------------
  # crash recovery, then the checks
  t0=$(date +%s%N)
  as_pg rm -f "$DATA/postmaster.pid"  # stale: every process of the cluster is gone
  start_cluster "$DATA" "$PORT"
  recovered=$((($(date +%s%N) - t0) / 1000000))
  if ! psql_db -f "$HERE/search_oracle.sql" -v spec="$SPEC" -v seed="crash$i" -v words=15 -v pairs=4 \
      > "$OUT/oracle-$i.out" 2>&1; then
    cat "$OUT/oracle-$i.out" >&2
    fail "iteration $i: after crash recovery, search_verify or the oracle failed (output: $OUT/oracle-$i.out)"
  fi
  read -r rows segments documents tombstones pending < <(value "SELECT (SELECT count(*) FROM api.$SPEC), segments, documents, tombstones,
                                                          (SELECT count(*) FROM specstar.search_segment WHERE spec = '$SPEC' AND pending IS NOT NULL)
                                                          FROM specstar.search_stats('$SPEC')" | tr '|' ' ')
  pending_seen=$((pending_seen + pending))
  [ "$segments" -le "$MAX_SEGMENTS" ] || fail "iteration $i: the index has $segments segments (at most $MAX_SEGMENTS expected)"
  [ "$documents" = "$rows" ] || fail "iteration $i: the index has $documents documents, the table $rows resources"
  say "$i/$ITERATIONS: killed $mode after $(ms_s $ms) s of load (${processed:-?} transactions); recovered in $(ms_s $recovered) s;" \
    "$rows resources, $segments segments ($pending pending writes), $tombstones tombstones: verify and $(grep '^search oracle:' "$OUT/oracle-$i.out" | grep -o '[0-9]* queries') ok"
done

# the crashes must have found pending writes, or the pending path went untested
[ "$pending_seen" -gt 0 ] || fail "no crash found a pending write: the load no longer writes small statements"
say "ok: $ITERATIONS crashes under a write load, after each the index agreed with the table ($(( $(date +%s) - started )) s)"
