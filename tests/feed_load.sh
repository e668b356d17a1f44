#!/usr/bin/env bash
# The change feed under load (docs/events.md), on a throw-away cluster of its own
# (127.0.0.1, a free port): 4 pgbench writers create and update resources of a spec for
# FEED_SECONDS (default 30) while examples/feed_consumer.sh follows the feed.
#   - a quarter in, the consumer is killed with kill -9 and started again from its cursor;
#   - halfway, the server is killed with kill -9 (the postmaster and every backend), started
#     again (crash recovery) and the writers go on; the consumer rides it out;
#   - afterwards an event written while the consumer idles must reach it within 2 s (a
#     NOTIFY wakes it; it would look again only after 5 s), and its events must equal the
#     history rows exactly: no gap, no duplicate, each resource's revisions in order.
# Always stops the cluster and removes it at exit.
#
#   tests/feed_load.sh OUTDIR
set -euo pipefail
OUT=${1:?usage: tests/feed_load.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../scripts/lib.sh"
SECONDS_LOAD=${FEED_SECONDS:-30}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) && rm -f "$OUT"/feed.*
fail() { printf 'feed_load: FAILED: %s\n' "$*" >&2; exit 1; }

WORK=$(mktemp -d /tmp/specstar-feed.XXXXXX) && chmod 755 "$WORK" && WORK=$(server_dir "$WORK")
DATA=$(realpath "$WORK")/data
export PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=specstar_feed PGPORT=$(free_port)
psql=("$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1)

consumer= writers=
# (the consumer runs in a process group of its own, with its listening psql: kill -9 takes
# them all, as a crash would)
kill_consumer() { [ -n "$consumer" ] && kill -9 -- "-$consumer" 2>/dev/null; wait "$consumer" 2>/dev/null; consumer=; }
cleanup() {
  kill_consumer || true
  [ -n "$writers" ] && kill "$writers" 2>/dev/null || true
  stop_cluster_hard "$DATA"
  rm -rf "$WORK"
}
trap cleanup EXIT
new_cluster "$DATA" "$PGPORT"

"$PGBIN/createdb" specstar_feed
"${psql[@]}" > /dev/null <<'SQL'
CREATE EXTENSION specstar;
SELECT specstar.register_spec('ticket', '{"type": "object", "properties": {"title": {"type": "string"}, "n": {"type": "integer"}}}',
  '{"events": {"feed": true, "notify": true}}') IS NOT NULL;
INSERT INTO api.ticket (title, n) SELECT 'seed ' || g, 0 FROM generate_series(1, 50) g;
SQL

start_consumer() {
  PATH=$PGBIN:$PATH setsid "$HERE/../examples/feed_consumer.sh" ticket "$OUT/feed.events" "$OUT/feed.cursor" 5 &
  consumer=$!
}
# writers: half the transactions create a resource, all update a random one (two statements,
# so transactions interleave their writes and commit in another order)
cat > "$OUT/feed.pgbench" <<'SQL'
\set r random(1, 2)
BEGIN;
INSERT INTO api.ticket (title, n) SELECT 'new', 0 WHERE :r = 1;
UPDATE api.ticket SET n = n + 1 WHERE id = (SELECT id FROM specstar_data.ticket ORDER BY random() LIMIT 1);
END;
SQL
write() {  # write SECONDS LOG: the writers, in the background
  "$PGBIN/pgbench" -n -c 4 -j 2 -T "$1" -f "$OUT/feed.pgbench" > "$2" 2>&1 &
  writers=$!
}
half=$((SECONDS_LOAD / 2))

start_consumer
write "$half" "$OUT/feed.pgbench-1.log"
sleep $((half / 2))
kill_consumer || true
start_consumer
sleep $((half - half / 2))
# the server dies mid-load: the postmaster and every backend at once
crash_cluster "$DATA" || fail "the cluster did not go away after kill -9"
wait "$writers" || true   # (they fail with the server)
start_cluster "$DATA" "$PGPORT"
write "$half" "$OUT/feed.pgbench-2.log"
wait "$writers" || { cat "$OUT/feed.pgbench-2.log" >&2; fail "the writers after the crash"; }
writers=

# the consumer catches up with the head
head=$("${psql[@]}" -c "SELECT specstar.changes_head()")
for _ in $(seq 1 600); do
  [ "$(cat "$OUT/feed.cursor" 2>/dev/null || echo 0)" -ge "$head" ] && break
  sleep 0.2
done
[ "$(cat "$OUT/feed.cursor" 2>/dev/null || echo 0)" -ge "$head" ] || fail "the consumer did not reach cursor $head"
# a NOTIFY wakes the idle consumer up: an event written now reaches it well before its
# 5 s wait is over
lines=$(wc -l < "$OUT/feed.events")
"${psql[@]}" -c "INSERT INTO api.ticket (title, n) VALUES ('wake up', 0)"
woke=
for _ in $(seq 1 20); do
  sleep 0.1
  if [ "$(wc -l < "$OUT/feed.events")" -gt "$lines" ]; then woke=yes; break; fi
done
[ -n "$woke" ] || fail "the consumer did not wake up on the NOTIFY within 2 s"
kill_consumer || true

# what it saw, against the history
"${psql[@]}" -c "CREATE TABLE seen (pos serial, cursor bigint, id uuid, revision integer, op text)"
"${psql[@]}" -c "\\copy seen (cursor, id, revision, op) FROM '$OUT/feed.events' WITH (DELIMITER ' ')"
check=$("${psql[@]}" <<'SQL'
WITH history AS (SELECT id, revision FROM api.ticket_revision),
     missing AS (SELECT * FROM history EXCEPT SELECT id, revision FROM seen),
     extra AS (SELECT id, revision FROM seen EXCEPT SELECT * FROM history)
SELECT format('history=%s seen=%s missing=%s extra=%s duplicated=%s out_of_order=%s cursors_not_increasing=%s',
  (SELECT count(*) FROM history), (SELECT count(*) FROM seen), (SELECT count(*) FROM missing), (SELECT count(*) FROM extra),
  (SELECT count(*) - count(DISTINCT (id, revision)) FROM seen),
  (SELECT count(*) FROM (SELECT revision < lag(revision) OVER (PARTITION BY id ORDER BY pos) AS back FROM seen) x WHERE back),
  (SELECT count(*) FROM (SELECT cursor <= lag(cursor) OVER (ORDER BY pos) AS back FROM seen) x WHERE back))
SQL
)
printf 'feed_load: %s\n' "$check"
case "$check" in
  *" missing=0 extra=0 duplicated=0 out_of_order=0 cursors_not_increasing=0") ;;
  *) fail "the consumer's events differ from the history: $check" ;;
esac
[ "$(printf '%s' "$check" | sed 's/.*history=\([0-9]*\).*/\1/')" -gt 100 ] || fail "too little load to tell: $check"
tx() { grep -o 'number of transactions actually processed: [0-9]*' "$1" 2>/dev/null | grep -o '[0-9]*$' || echo "?"; }
printf 'feed_load: ok: %s + %s writer transactions around a kill -9 of the server, the consumer killed once, every revision seen exactly once in order\n' \
  "$(tx "$OUT/feed.pgbench-1.log")" "$(tx "$OUT/feed.pgbench-2.log")"
