#!/usr/bin/env bash
# A change feed consumer (docs/events.md): follows one spec's feed from a stored cursor and
# appends every event to a file, exactly once, in commit order — also across restarts and
# crashes of the consumer: the cursor is stored only after the events it covers, and on
# start what was processed after it is undone before the page is read again.
# When there is nothing new it waits for a NOTIFY on the spec's channel (events.notify), at
# most WAIT seconds: the feed is the record, a notification only wakes it up, so a missed
# one costs at most WAIT seconds.
#
#   examples/feed_consumer.sh SPEC OUT_FILE CURSOR_FILE [WAIT]
#
# Connects with psql through the usual PG* environment variables (PGHOST, PGPORT, PGUSER,
# PGDATABASE). Each event becomes one line of OUT_FILE: cursor, id, revision, op.
set -euo pipefail
SPEC=${1:?usage: feed_consumer.sh SPEC OUT_FILE CURSOR_FILE [WAIT]}
OUT=${2:?}
CURSOR_FILE=${3:?}
WAIT=${4:-2}
case "$SPEC" in *[!a-z0-9_]*|"") echo "feed_consumer: bad spec name $SPEC" >&2; exit 2 ;; esac
psql=(psql -X -q -At -v ON_ERROR_STOP=1)

# A listening session beside the reads. psql reports the notifications it has received after
# each command it runs, so a command that prints nothing runs every 0.1 s; its output is
# then only notifications. (Started again when it ends: the server may restart.)
start_listener() {
  coproc LISTENER {
    { echo "LISTEN specstar_$SPEC;"; while sleep 0.1; do echo "SELECT 1 WHERE false;"; done; } | psql -X -q -At 2>/dev/null
  }
}
start_listener
# (on the way out, the listener goes too: the whole process group when this script leads
# one, as it does when started from a shell or with setsid)
trap 'trap - EXIT INT TERM; kill -- -$$ 2>/dev/null || kill "$LISTENER_PID" 2>/dev/null' EXIT INT TERM

cursor=$(cat "$CURSOR_FILE" 2>/dev/null || echo 0)
# What was processed after the stored cursor was never acknowledged: undo it (here, drop
# those lines), so that replaying the page processes every event exactly once.
if [ -f "$OUT" ]; then
  awk -v c="$cursor" '$1 <= c' "$OUT" > "$OUT.tmp" && mv "$OUT.tmp" "$OUT"
fi
while true; do
  # a page of events after the stored cursor
  if ! page=$("${psql[@]}" -F ' ' -c "SELECT cursor, id, revision, op FROM specstar.changes($cursor, 500, ARRAY['$SPEC']) ORDER BY cursor" 2>/dev/null); then
    sleep 0.5  # the server is away (a restart, a crash): try again
    continue
  fi
  if [ -n "$page" ]; then
    # process (here: append), then store the cursor: a crash in between replays the page
    printf '%s\n' "$page" >> "$OUT"
    cursor=$(printf '%s\n' "$page" | tail -n 1 | cut -d ' ' -f 1)
    printf '%s\n' "$cursor" > "$CURSOR_FILE.tmp" && mv "$CURSOR_FILE.tmp" "$CURSOR_FILE"
    continue
  fi
  # nothing new: wait for a notification (any line of the listener's), at most WAIT seconds,
  # then drop the ones that piled up while busy (in bulk: one read of the feed covers them all)
  if [ -z "${LISTENER_PID:-}" ] || ! kill -0 "$LISTENER_PID" 2>/dev/null; then
    start_listener  # it ended (the server went away)
  fi
  status=0
  read -r -t "$WAIT" _ <&"${LISTENER[0]}" || status=$?
  if [ "$status" = 0 ]; then
    timeout 0.05 cat <&"${LISTENER[0]}" > /dev/null || true
  elif [ "$status" -le 128 ]; then
    sleep 0.5  # end of the listener's output: it is ending, and starts again above
  fi
done
