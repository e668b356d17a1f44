#!/usr/bin/env bash
# The change feed under load (docs/events.md): 4 pgbench writers create and update
# resources of a spec for FEED_SECONDS (default 30) while examples/feed_consumer.sh follows
# the feed; the consumer is killed with kill -9 mid-run and started again from its stored
# cursor. Afterwards an event written while it idles must reach it within 2 s (a NOTIFY
# wakes it; it would look again only after 5 s), and its events must equal the history rows
# exactly: no gap, no duplicate, each resource's revisions in order.
#
#   tests/feed_load.sh OUTDIR
#
# Needs a running cluster reachable through PGHOST/PGPORT/PGUSER (scripts/test.sh exports
# them) with the extension installed. Creates and drops the database specstar_feed.
set -euo pipefail
OUT=${1:?usage: tests/feed_load.sh OUTDIR}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
SECONDS_LOAD=${FEED_SECONDS:-30}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres} PGDATABASE=specstar_feed
: "${PGPORT:?PGPORT must name the port of a running cluster}"
mkdir -p "$OUT" && rm -f "$OUT"/feed.*
fail() { printf 'feed_load: FAILED: %s\n' "$*" >&2; exit 1; }
psql=("$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1)

"$PGBIN/dropdb" --if-exists specstar_feed >/dev/null 2>&1 || true
"$PGBIN/createdb" specstar_feed
consumer=
# (the consumer runs in a process group of its own, with its listening psql: kill -9 takes
# them all, as a crash would)
kill_consumer() { [ -n "$consumer" ] && kill -9 -- "-$consumer" 2>/dev/null; wait "$consumer" 2>/dev/null; consumer=; }
cleanup() {
  kill_consumer || true
  "$PGBIN/dropdb" --if-exists specstar_feed >/dev/null 2>&1 || true
}
trap cleanup EXIT
"${psql[@]}" > /dev/null <<'SQL'
CREATE EXTENSION specstar;
SELECT specstar.register_spec('ticket', '{"type": "object", "properties": {"title": {"type": "string"}, "n": {"type": "integer"}}}',
  '{"events": {"feed": true, "notify": true}}') IS NOT NULL;
INSERT INTO api.ticket (title, n) SELECT 'seed ' || g, 0 FROM generate_series(1, 50) g;
SQL

start_consumer() {
  PATH=$PGBIN:$PATH setsid examples/feed_consumer.sh ticket "$OUT/feed.events" "$OUT/feed.cursor" 5 &
  consumer=$!
}
start_consumer

# writers: half the transactions create a resource, half update a random one (two
# statements, so transactions interleave their writes and commit in another order)
cat > "$OUT/feed.pgbench" <<'SQL'
\set r random(1, 2)
BEGIN;
INSERT INTO api.ticket (title, n) SELECT 'new', 0 WHERE :r = 1;
UPDATE api.ticket SET n = n + 1 WHERE id = (SELECT id FROM specstar_data.ticket ORDER BY random() LIMIT 1);
END;
SQL
"$PGBIN/pgbench" -n -c 4 -j 2 -T "$SECONDS_LOAD" -f "$OUT/feed.pgbench" > "$OUT/feed.pgbench.log" 2>&1 &
writers=$!
sleep $((SECONDS_LOAD / 2))
kill_consumer || true
start_consumer
wait "$writers" || { cat "$OUT/feed.pgbench.log" >&2; fail "the writers"; }

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
printf 'feed_load: ok: %s writer transactions, the consumer killed once, every revision seen exactly once in order\n' \
  "$(grep -o 'number of transactions actually processed: [0-9]*' "$OUT/feed.pgbench.log" | grep -o '[0-9]*$')"
