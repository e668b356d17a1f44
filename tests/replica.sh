#!/usr/bin/env bash
# A streaming replica serves reads (docs/scaling.md). On a primary cluster of its own
# (127.0.0.1, a free port, wal_level=replica) with the example specs of make up (article:
# searchable body, an x-ref to author, the change feed; notification: a job queue) and a
# spec with access rules (memo: each user reads their own):
#   - writes documents, makes a hot standby with pg_basebackup -R (a replication slot,
#     another free port), starts it, and a PostgREST on each server;
#   - searches over HTTP on both, so PostgREST's backends load the index's segments, then
#     writes more on the primary (single-row and multi-row inserts, a POST through the
#     primary's PostgREST, updates that change searchable text, deletes, a rolled-back
#     transaction, a restore, a rollback, search_merge with writes after it) and waits until
#     the standby has replayed the primary's current WAL position;
#   - compares the standby's answers with the primary's, exactly (sorted psql -At output,
#     HTTP bodies byte for byte): search ids and scores for a word, a phrase, a prefix, OR,
#     NOT, a field and a fuzzy query, <spec>_search rows with highlights, search_stats and
#     search_verify (ok on the standby), live rows, history, at, as_of, diff, the change feed;
#     over HTTP a collection, one id, history, at, as_of, diff, changes, search (GET and
#     POST) and GraphQL queries. Every compared answer must be non-empty, and what was
#     written after the standby started must be found there, what was rolled back not;
#   - follows the feed on the standby with examples/feed_consumer.sh: its events must equal
#     the primary's;
#   - writes on the standby fail with a clear error and no Rust backtrace: over HTTP (POST,
#     PATCH, DELETE, a writing RPC, a job claim, a GraphQL mutation) 400 with code 0A000,
#     as PostgREST opens a read-write transaction for them; over SQL 25006;
#   - a spec registered on the primary: its RPCs are served by the standby's PostgREST after
#     a schema cache reload (SIGUSR1; a NOTIFY on the primary never reaches a standby).
# Every read path must work on a standby: none may assign a transaction id ("cannot assign
# TransactionIds during recovery"), which is what this suite found in the extension's catalog
# reads (src/spi_read.rs reads without one now).
# Always stops both clusters and both PostgRESTs and removes them at exit.
#
#   tests/replica.sh [OUTDIR]     (default .run/test-output/replica)
#
# Run as root (the clusters run as postgres) or as the user that owns the PostgreSQL
# installation; needs the extension installed and PostgREST in .tools/bin (make test has both).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
source "$ROOT/scripts/lib.sh"
OUT=${1:-$ROOT/.run/test-output/replica}
DB=specstar_replica
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) && rm -rf "${OUT:?}"/*
fail() { printf 'replica: FAILED: %s\n' "$*" >&2; exit 1; }
say() { printf 'replica: %s\n' "$*"; }
t_start=$(date +%s%N)

# ---------------------------------------------------------------------------------------
# Two clusters and two PostgRESTs, and everything that makes sure they go away.
WORK=$(mktemp -d /tmp/specstar-replica.XXXXXX) && chmod 755 "$WORK" && WORK=$(server_dir "$WORK")
WORK=$(realpath "$WORK")
PRIMARY=$WORK/primary STANDBY=$WORK/standby
PPORT=$(free_port) SPORT=$(free_port)
while [ "$SPORT" = "$PPORT" ]; do SPORT=$(free_port); done
export PGDATABASE=$DB
rest_pids=() consumer=
cleanup() {
  [ -n "$consumer" ] && kill -- "-$consumer" 2>/dev/null || true
  local pid
  for pid in "${rest_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  stop_cluster_hard "$STANDBY"
  stop_cluster_hard "$PRIMARY"
  rm -rf "$WORK"
}
trap cleanup EXIT

psql_at() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -p "$1" "${@:2}"; }
p() { psql_at "$PPORT" "$@"; }  # SQL on the primary
s() { psql_at "$SPORT" "$@"; }  # SQL on the standby

as_pg mkdir -p "$PRIMARY" && as_pg chmod 700 "$PRIMARY"
init_cluster "$PRIMARY"
start_cluster "$PRIMARY" "$PPORT" -c wal_level=replica -c max_wal_senders=4 -c max_replication_slots=4
say "primary on 127.0.0.1:$PPORT"

# the database of make up: roles, grants to web_anon/web_writer, the example specs
PGPORT=$PPORT "$ROOT/scripts/api-db.sh" "$DB"
A1=00000000-0000-4000-8000-0000000000a1 A2=00000000-0000-4000-8000-0000000000a2
R=00000000-0000-4000-8000-000000000001   # the resource whose history is compared
D=00000000-0000-4000-8000-000000000002   # deleted and restored after the standby started
p > /dev/null <<SQL
INSERT INTO api.author (id, name, email) VALUES ('$A1', 'Ada', 'ada@example.org'), ('$A2', 'Grace', 'grace@example.org');
-- 300 articles: '"quiet harbour"' matches every 35th, 'lantern' every 3rd
INSERT INTO api.article (title, body, author, tags)
SELECT 'Article ' || g,
       'the ' || (ARRAY['quiet','busy','old','cold','bright','dark','small'])[g % 7 + 1] || ' '
         || (ARRAY['harbour','meadow','river','forest','bridge'])[g % 5 + 1] || ' near the '
         || (ARRAY['lantern','mill','tower'])[g % 3 + 1],
       (ARRAY['$A1','$A2'])[g % 2 + 1]::uuid, ARRAY['t' || g % 4]
  FROM generate_series(1, 300) g;
INSERT INTO api.article (id, title, body, author) VALUES
  ('$R', 'Tracked', 'the quiet harbour lantern', '$A1'),
  ('$D', 'Doomed', 'a cormorant on the old bridge', '$A2');
INSERT INTO api.notification ("to", subject) VALUES ('ann@example.org', 'Welcome');
-- access rules: alice and bob each read their own memos (docs/permissions.md)
SELECT specstar.register_spec('memo', '{"type": "object", "properties": {"text": {"type": "string", "x-search": true}}}',
  '{"roles": {"read": ["web_writer"], "write": ["web_writer"]}, "access": {"read": ["owner"], "write": ["owner"]}}') IS NOT NULL;
SET ROLE web_writer;
SELECT set_config('request.jwt.claims', '{"sub": "alice"}', false) IS NOT NULL;
INSERT INTO api.memo (text) VALUES ('buy milk and eggs'), ('call the plumber about the milk pipe');
SELECT set_config('request.jwt.claims', '{"sub": "bob"}', false) IS NOT NULL;
INSERT INTO api.memo (text) VALUES ('milk for the cat');
RESET ROLE;
SQL

# a segment large enough (512 documents or more) for the shared segment files, which the
# primary writes when it first searches it
p > /dev/null <<'SQL'
SELECT specstar.register_spec('bulk', '{"type": "object", "properties": {"text": {"type": "string", "x-search": true}}}') IS NOT NULL;
INSERT INTO api.bulk (text) SELECT 'bulk word ' || g FROM generate_series(1, 600) g;
SELECT count(*) FROM specstar.search('bulk', 'bulk', 1000);
SQL
shared_files() { as_pg find "$1/base" -path '*pgsql_tmp_specstar*' -type f 2>/dev/null | wc -l; }
[ "$(shared_files "$PRIMARY")" -gt 0 ] || fail "the primary wrote no shared segment files"

# ---------------------------------------------------------------------------------------
# The hot standby: pg_basebackup -R (standby.signal and primary_conninfo), with a slot so the
# primary keeps the WAL the standby has not received yet.
as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PPORT" -U postgres -D "$STANDBY" -R -X stream \
  -C -S specstar_replica -c fast > "$OUT/basebackup.log" 2>&1 \
  || { cat "$OUT/basebackup.log" >&2; fail "pg_basebackup"; }
# the shared segment files are a cache of the primary's (in its temporary-file directory):
# the base backup leaves them out, and the standby writes its own from the rows
[ "$(shared_files "$STANDBY")" = 0 ] || fail "pg_basebackup copied the primary's shared segment files"
start_cluster "$STANDBY" "$SPORT" -c hot_standby=on
[ "$(s -c 'SELECT pg_is_in_recovery()')" = t ] || fail "the standby is not in recovery"
say "hot standby on 127.0.0.1:$SPORT (pg_basebackup -R, slot specstar_replica)"

# ---------------------------------------------------------------------------------------
# PostgREST on each. The standby's cannot LISTEN (no LISTEN during recovery, and a NOTIFY on
# the primary never reaches a standby): its schema cache is reloaded with SIGUSR1.
SECRET=replica-suite-secret-of-at-least-32-characters
mint() { python3 -c "import sys; sys.path.insert(0, '$ROOT/scripts'); import jwt; print(jwt.mint('web_writer', '$1', '$SECRET'))"; }
TOKEN=$(mint alice) BOB=$(mint bob)
PHTTP=$(free_port) SHTTP=$(free_port)
python3 "$ROOT/scripts/postgrest.py" conf "$DB" "$PPORT" "$PHTTP" "$SECRET" > "$OUT/postgrest-primary.conf"
python3 "$ROOT/scripts/postgrest.py" conf "$DB" "$SPORT" "$SHTTP" "$SECRET" \
  | sed 's/^db-channel-enabled = true/db-channel-enabled = false/' > "$OUT/postgrest-standby.conf"
grep -q '^db-channel-enabled = false' "$OUT/postgrest-standby.conf" || fail "could not turn off db-channel-enabled"
for side in primary standby; do
  port=$PHTTP; [ $side = standby ] && port=$SHTTP
  pid=$(POSTGREST=$POSTGREST python3 "$ROOT/scripts/postgrest.py" start "$OUT/postgrest-$side.conf" "$OUT/postgrest-$side.log" "$port") \
    || fail "PostgREST on the $side did not start"
  rest_pids+=("$pid")
  [ $side = standby ] && SREST=$pid
done
PAPI=http://127.0.0.1:$PHTTP SAPI=http://127.0.0.1:$SHTTP
say "PostgREST on the primary at $PAPI, on the standby at $SAPI"

# ---------------------------------------------------------------------------------------
# Helpers that compare. Every comparison needs a non-empty answer, so empty == empty fails.
checks=0
same_sql() {  # same_sql NAME SQL [MIN_LINES]: sorted -At output equal on both, at least MIN_LINES lines
  local name=$1 sql=$2 min=${3:-1} a b
  a=$(p -c "$sql" | LC_ALL=C sort) || fail "$name: on the primary: $sql"
  b=$(s -c "$sql" 2>&1 | LC_ALL=C sort) || fail "$name: on the standby: $b"
  printf '%s\n' "$a" > "$OUT/$name.primary" && printf '%s\n' "$b" > "$OUT/$name.standby"
  [ -n "$a" ] && [ "$(printf '%s\n' "$a" | wc -l)" -ge "$min" ] \
    || fail "$name: the primary answers $(printf '%s' "$a" | grep -c '') lines, at least $min expected"
  [ "$a" = "$b" ] || { diff "$OUT/$name.primary" "$OUT/$name.standby" | head -n 20 >&2 || true; fail "$name: the standby answers differently"; }
  checks=$((checks + 1))
}
req() {  # req BASE METHOD PATH [curl args]: sets STATUS and BODY
  local base=$1 method=$2 path=$3 r; shift 3
  r=$(curl -sS -g --max-time 20 -X "$method" -w '\n%{http_code}' "$base$path" "$@") || fail "curl $method $path"
  STATUS=${r##*$'\n'} BODY=${r%$'\n'*}
}
no_backtrace() {  # no_backtrace WHAT BODY
  local marker
  for marker in backtrace panicked pgrx rust_begin_unwind .rs:; do
    [[ "$2" != *"$marker"* ]] || fail "$1: the body carries '$marker': ${2:0:300}"
  done
}
jcount() {  # jcount PYTHON_EXPR: evaluates it with d = the JSON on stdin
  python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"
}
# same_http NAME COUNT_EXPR MIN METHOD PATH [curl args]: 200 with equal bodies from both
# PostgRESTs, and COUNT_EXPR (over the JSON body d) at least MIN
same_http() {
  local name=$1 expr=$2 min=$3 method=$4 path=$5 a n; shift 5
  req "$PAPI" "$method" "$path" "$@"
  [ "$STATUS" = 200 ] || fail "$name: the primary answers $STATUS: $BODY"
  a=$BODY
  n=$(printf '%s' "$a" | jcount "$expr") || fail "$name: unexpected JSON from the primary: $a"
  [ "$n" -ge "$min" ] || fail "$name: $n from the primary ($expr), at least $min expected: $a"
  req "$SAPI" "$method" "$path" "$@"
  printf '%s\n' "$a" > "$OUT/$name.primary.json" && printf '%s\n' "$BODY" > "$OUT/$name.standby.json"
  [ "$STATUS" = 200 ] || fail "$name: the standby answers $STATUS: ${BODY:0:300}"
  no_backtrace "$name" "$BODY"
  [ "$a" = "$BODY" ] || { diff "$OUT/$name.primary.json" "$OUT/$name.standby.json" | head -n 20 >&2 || true; fail "$name: the standby answers differently"; }
  checks=$((checks + 1))
}
wait_replayed() {  # until the standby has replayed the primary's current WAL position (REPLAY_MS: how long that took)
  local lsn i t0
  lsn=$(p -c 'SELECT pg_current_wal_lsn()') t0=$(date +%s%N)
  for ((i = 0; i < 300; i++)); do
    [ "$(s -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ] && { REPLAY_MS=$((($(date +%s%N) - t0) / 1000000)); return 0; }
    sleep 0.1
  done
  fail "the standby did not replay up to $lsn within 30 s (it is at $(s -c 'SELECT pg_last_wal_replay_lsn()'))"
}
gql() {  # gql QUERY: a GraphQL request body
  python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1]}))' "$1"
}
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
JSON=(-H 'Content-Type: application/json')

# ---------------------------------------------------------------------------------------
# Before the second round of writes: searches over HTTP, so both PostgRESTs' backends load
# the segments (later searches there must see the new and the merged segments).
wait_replayed
for ((i = 0; i < 4; i++)); do
  same_http warm-search "len(d)" 5 GET '/rpc/article_search?q=harbour&top=50&select=id,title,score'
done

# ---------------------------------------------------------------------------------------
# More writes on the primary, each its own transaction, while the standby streams.
T0=$(p -c 'SELECT clock_timestamp()')
p > /dev/null <<SQL
UPDATE api.article SET body = 'a heron over the quiet harbour' WHERE id = '$R';
INSERT INTO api.article (title, body) VALUES ('Heron 1', 'a grey heron by the river');
INSERT INTO api.article (title, body, author) VALUES ('Heron 2', 'the heron and the lantern', '$A2');
INSERT INTO api.article (title, body) VALUES ('Heron 3', 'herons nesting near the mill');
-- multi-row: 60 in one statement
INSERT INTO api.article (title, body, author)
SELECT 'King ' || g, 'a kingfisher dives near the ' || (ARRAY['old mill','quiet harbour','tower'])[g % 3 + 1],
       (ARRAY['$A1','$A2'])[g % 2 + 1]::uuid
  FROM generate_series(1, 60) g;
-- searchable text changes: lantern becomes beacon in every other article that has one
UPDATE api.article SET body = replace(body, 'lantern', 'beacon')
 WHERE body LIKE '%lantern%' AND title LIKE 'Article %' AND substr(title, 9)::int % 2 = 0;
DELETE FROM api.article WHERE title LIKE 'King %' AND substr(title, 6)::int % 4 = 0;
DELETE FROM api.article WHERE id = '$D';
BEGIN;
INSERT INTO api.article (title, body) VALUES ('Phantom', 'a phantom albatross that never was');
UPDATE api.article SET body = 'phantom' WHERE id = '$R';
ROLLBACK;
SQL
T1=$(p -c 'SELECT clock_timestamp()')
p > /dev/null <<SQL
SET specstar.message = 'replica suite';
UPDATE api.article SET body = 'a kingfisher and a beacon' WHERE id = '$R';
RESET specstar.message;
SELECT specstar.search_merge('article');
SELECT title FROM api.article_restore('$D');
INSERT INTO api.article (title, body) VALUES ('Osprey 1', 'an osprey over the quiet harbour');
UPDATE api.article SET body = 'an osprey and a kingfisher' WHERE title = 'King 1';
SQL
T2=$(p -c 'SELECT clock_timestamp()')
p > /dev/null -c "SELECT title FROM api.article_rollback('$R', to_revision => 2)"
# and one through the primary's PostgREST, as a client would
req "$PAPI" POST /article -H "Authorization: Bearer $TOKEN" "${JSON[@]}" \
  -d '{"title": "Osprey 2", "body": "two ospreys fishing", "author": "'"$A1"'"}'
[ "$STATUS" = 201 ] || fail "POST /article on the primary: $STATUS $BODY"
wait_replayed
say "writes on the primary replayed by the standby (caught up ${REPLAY_MS} ms after the last commit): $(p -c 'SELECT count(*) FROM api.article') articles, $(p -c 'SELECT count(*) FROM api.article_revision') revisions"

# ---------------------------------------------------------------------------------------
# SQL: the standby answers as the primary does.
[ "$(s -c "SELECT count(*) FROM api.article WHERE title = 'Osprey 2'")" = 1 ] || fail "the standby lacks the POST's article"
n=0
for q in 'heron' '"quiet harbour"' 'king*' 'heron OR osprey' 'harbour -lantern' 'harbour NOT beacon' 'body:beacon' 'osprey' 'herron~1' 'lantern'; do
  n=$((n + 1))
  same_sql "search-$n" "SELECT id, score FROM specstar.search('article', \$q\$$q\$q\$, 100)"
  same_sql "api-search-$n" "SELECT id, title, score, highlights FROM api.article_search(\$q\$$q\$q\$, top => 100)"
done
# what was written after the standby started is found there, what was rolled back or
# replaced is not
hits() { s -c "SELECT count(*) FROM specstar.search('article', \$q\$$1\$q\$, 1000) ${2:-}"; }
[ "$(hits heron)" = 4 ] || fail "the standby finds $(hits heron) heron articles, 4 expected"
[ "$(hits osprey)" = 3 ] || fail "the standby finds $(hits osprey) osprey articles, 3 expected"
[ "$(hits kingfisher)" = 45 ] || fail "the standby finds $(hits kingfisher) kingfisher articles, 45 expected"
[ "$(hits 'phantom OR albatross')" = 0 ] || fail "the standby finds the rolled-back write"
[ "$(hits cormorant "WHERE id = '$D'")" = 1 ] || fail "the standby does not find the restored article"
[ "$(hits kingfisher "WHERE id = '$R'")" = 0 ] || fail "the standby finds the text the rollback replaced"
same_sql search-stats "SELECT segments, documents, tombstones, bytes FROM specstar.search_stats('article')"
verify=$(s -c "SELECT specstar.search_verify('article')") || fail "search_verify on the standby: $verify"
[ "$(printf '%s' "$verify" | jcount "d['ok']")" = True ] || fail "search_verify on the standby: $verify"
same_sql search-verify "SELECT specstar.search_verify('article')"
same_sql live "SELECT id, title, body, author, tags, revision, updated_at, updated_by FROM api.article" 350
same_sql authors "SELECT a.name, count(*) FROM api.article r JOIN api.author a ON a.id = r.author GROUP BY a.name" 2
same_sql history "SELECT revision, parent_revision, op, valid_from, valid_to, changed_by, message FROM api.article_revision WHERE id = '$R'" 4
same_sql history-old-data "SELECT revision, data FROM api.article_revision WHERE id = '$R' AND valid_to IS NOT NULL" 3
same_sql history-restored "SELECT revision, op FROM api.article_revision WHERE id = '$D'" 3
same_sql history-all "SELECT id, revision, op, valid_from, valid_to, changed_by FROM api.article_revision" 400
same_sql at-t0 "SELECT body, revision FROM api.article_at('$R', at => '$T0')"
same_sql at-t1 "SELECT body, revision FROM api.article_at('$R', at => '$T1')"
same_sql at-rev "SELECT body, revision FROM api.article_at('$R', revision => 3)"
[ "$(s -c "SELECT body FROM api.article_at('$R', at => '$T1')")" = 'a heron over the quiet harbour' ] || fail "article_at on the standby"
same_sql as-of-t1 "SELECT id, title, body, revision FROM api.article_as_of('$T1')" 340
same_sql as-of-t2 "SELECT id, body, revision FROM api.article_as_of('$T2') WHERE body LIKE '%osprey%'" 2
same_sql changes-head "SELECT specstar.changes_head()"
same_sql job-stats "SELECT specstar.job_stats('notification')"
same_sql memo-rls "SET ROLE web_writer; SELECT set_config('request.jwt.claims', '{\"sub\": \"alice\"}', false) IS NOT NULL; SELECT text FROM api.memo" 3
# reads that build a document or read a descriptor in Rust
same_sql history-live-data "SELECT revision, data FROM api.article_revision WHERE id = '$R'" 4
same_sql diff "SELECT api.article_diff('$R', from_revision => 1)"
same_sql changes "SELECT cursor, id, revision, op, changed_by, data FROM api.article_changes(0, 10000)" 400
same_sql graphql-sql "SELECT api.graphql('{ articleCollection(first: 3, orderBy: [{title: AscNullsLast}]) { totalCount edges { node { title } } } }')"
same_sql memo-search "SET ROLE web_writer; SELECT set_config('request.jwt.claims', '{\"sub\": \"alice\"}', false) IS NOT NULL; SELECT text, score FROM api.memo_search('milk')" 3
say "SQL: $checks comparisons equal (search, <spec>_search, stats, verify, live rows, an x-ref join, history, at, as_of, job stats, access rules)"

# ---------------------------------------------------------------------------------------
# HTTP: the standby's PostgREST answers as the primary's (select=… and order=… make the
# bodies comparable; the warmed backends now search the merged index).
c0=$checks
same_http rest-collection "len(d)" 350 GET '/article?select=id,title,body,author,revision,updated_by&order=id'
same_http rest-filter "len(d)" 40 GET '/article?select=id&body=like.*kingfisher*&order=id' -H 'Prefer: count=exact'
same_http rest-one "len(d)" 1 GET "/article?id=eq.$R&select=id,title,body,revision,revisions(revision,op,changed_by)"
same_http rest-one-object "len(d['body'])" 1 GET "/article?id=eq.$R&select=title,body,revision" -H 'Accept: application/vnd.pgrst.object+json'
same_http rest-history "len(d)" 4 GET "/article_revision?id=eq.$R&select=revision,op,valid_from,changed_by,message&order=revision.desc"
same_http rest-at "len(d)" 1 GET "/rpc/article_at?id=$R&at=$(enc "$T1")&select=body,revision"
same_http rest-as-of "len(d)" 340 GET "/rpc/article_as_of?at=$(enc "$T1")&select=id,body,revision&order=id"
same_http rest-memo "len(d)" 2 GET '/memo?select=text&order=text' -H "Authorization: Bearer $TOKEN"
same_http rest-memo-bob "len(d)" 1 GET '/memo?select=text&order=text' -H "Authorization: Bearer $BOB"
[ "$BODY" = '[{"text":"milk for the cat"}]' ] || fail "bob reads other memos than his own on the standby: $BODY"
n=0
for q in 'heron' '"quiet harbour"' 'king*' 'heron OR osprey' 'harbour -lantern' 'osprey'; do
  n=$((n + 1))
  same_http "rest-search-$n" "len(d)" 1 GET "/rpc/article_search?q=$(enc "$q")&top=100&select=id,title,score,highlights"
done
same_http rest-search-post "len(d)" 3 POST '/rpc/article_search?select=id,title,score' "${JSON[@]}" -d '{"q": "osprey", "top": 10}'
[ "$(printf '%s' "$BODY" | jcount "sorted(r['title'] for r in d)")" = "['King 1', 'Osprey 1', 'Osprey 2']" ] \
  || fail "the standby's search over HTTP lacks the new osprey articles: $BODY"
same_http rest-history-data "len(d)" 4 GET "/article_revision?id=eq.$R&select=revision,data&order=revision"
same_http rest-diff "len(d)" 1 GET "/rpc/article_diff?id=$R&from_revision=1"
same_http rest-changes "len(d)" 100 GET '/rpc/article_changes?after=0&top=1000&select=cursor,id,revision,op,data'
same_http rest-memo-search "len(d)" 2 GET '/rpc/memo_search?q=milk&select=text,score' -H "Authorization: Bearer $TOKEN"
same_http rest-admin-specs "len(d)" 3 GET '/rpc/admin_specs'
# GraphQL: queries over GET (PostgREST runs them read-only), as on the primary
Q1='{ articleCollection(first: 5, orderBy: [{title: AscNullsLast}], filter: {title: {like: "Heron%"}}) { totalCount edges { node { id title body revision authorRecord { name } revisions { totalCount } } } } }'
Q2="{ articleByPk(id: \"$R\") { title body revision revisions { edges { node { revision op changedBy message } } } } authorByPk(id: \"$A1\") { name articleCollectionByAuthor(first: 3, orderBy: [{title: AscNullsLast}]) { totalCount edges { node { title } } } } }"
Q3='{ articleSearch(q: "heron OR osprey", top: 20) { score highlights node { title authorRecord { name } } } }'
GQL="0 if 'errors' in d else len(json.dumps(d['data']))"
same_http graphql-get-1 "$GQL" 100 GET /rpc/graphql -G --data-urlencode "query=$Q1"
same_http graphql-get-2 "$GQL" 100 GET /rpc/graphql -G --data-urlencode "query=$Q2"
same_http graphql-get-3 "$GQL" 100 GET /rpc/graphql -G --data-urlencode "query=$Q3"
same_http graphql-sdl "len(d)" 100 GET /rpc/graphql_sdl
# over POST, api.graphql (VOLATILE: it also runs mutations) gets a read-write transaction,
# which a standby refuses: 400, code 0A000
req "$PAPI" POST /rpc/graphql "${JSON[@]}" -d "$(gql "$Q1")"
[ "$STATUS" = 200 ] && [ "$(printf '%s' "$BODY" | jcount "$GQL")" -gt 100 ] || fail "POST /rpc/graphql on the primary: $STATUS $BODY"
req "$SAPI" POST /rpc/graphql "${JSON[@]}" -d "$(gql "$Q1")"
[ "$STATUS" = 400 ] && [ "$(printf '%s' "$BODY" | jcount "d['code']")" = 0A000 ] \
  || fail "POST /rpc/graphql with a query on the standby: $STATUS $BODY (400, 0A000 expected)"
say "HTTP: $((checks - c0)) requests answered alike by both PostgRESTs (collection, filter, one id with its history embedded, history, at, as_of, access rules, search GET and POST); a GraphQL query over POST is refused by the standby (400 0A000: use GET)"

# ---------------------------------------------------------------------------------------
# The change feed on the standby: the reference consumer (it writes nothing to the
# database) follows it from cursor 0; its events must equal the primary's feed.
if feed=$(s -c "SELECT count(*) FROM specstar.changes(0, 1)" 2>&1); then
  head=$(p -c 'SELECT specstar.changes_head()')
  PGPORT=$SPORT PATH=$PGBIN:$PATH setsid "$ROOT/examples/feed_consumer.sh" article "$OUT/feed.events" "$OUT/feed.cursor" 1 \
    > "$OUT/feed.log" 2>&1 &
  consumer=$!
  for ((i = 0; i < 200; i++)); do
    [ "$(cat "$OUT/feed.cursor" 2>/dev/null || echo 0)" -ge "$head" ] && break
    sleep 0.1
  done
  kill -- "-$consumer" 2>/dev/null || true; wait "$consumer" 2>/dev/null || true; consumer=
  p -F ' ' -c "SELECT cursor, id, revision, op FROM specstar.changes(0, 10000, ARRAY['article']) ORDER BY cursor" > "$OUT/feed.expected"
  [ "$(wc -l < "$OUT/feed.expected")" -ge 400 ] || fail "the primary's feed has only $(wc -l < "$OUT/feed.expected") events"
  cmp -s "$OUT/feed.expected" "$OUT/feed.events" || { diff "$OUT/feed.expected" "$OUT/feed.events" | head -n 20 >&2 || true; fail "the consumer on the standby saw other events than the primary's feed"; }
  say "feed: examples/feed_consumer.sh on the standby saw the primary's $(wc -l < "$OUT/feed.expected") events exactly"
else
  fail "specstar.changes on the standby: $feed"
fi

# ---------------------------------------------------------------------------------------
# Writes on the standby fail, with a clear error and no Rust backtrace.
refused_http() {  # refused_http WHAT METHOD PATH [curl args]: 400 with code 0A000
  local what=$1; shift
  req "$SAPI" "$@"
  no_backtrace "$what" "$BODY"
  [ "$STATUS" = 400 ] && [ "$(printf '%s' "$BODY" | jcount "d['code'] + ' ' + d['message']")" = "0A000 cannot set transaction read-write mode during recovery" ] \
    || fail "$what on the standby: $STATUS $BODY (400, 0A000 expected)"
}
AUTH=(-H "Authorization: Bearer $TOKEN")
refused_http "POST /article" POST /article "${AUTH[@]}" "${JSON[@]}" -d '{"title": "on the standby"}'
refused_http "anonymous POST /article" POST /article "${JSON[@]}" -d '{"title": "on the standby"}'
refused_http "PATCH /article" PATCH "/article?id=eq.$R" "${AUTH[@]}" "${JSON[@]}" -d '{"title": "on the standby"}'
refused_http "DELETE /article" DELETE "/article?id=eq.$R" "${AUTH[@]}"
refused_http "POST /rpc/article_rollback" POST /rpc/article_rollback "${AUTH[@]}" "${JSON[@]}" -d "{\"id\": \"$R\", \"to_revision\": 1}"
refused_http "POST /rpc/notification_claim" POST /rpc/notification_claim "${AUTH[@]}" "${JSON[@]}" -d '{"worker": "w1", "n": 1}'
refused_http "a GraphQL mutation" POST /rpc/graphql "${AUTH[@]}" "${JSON[@]}" \
  -d "$(gql 'mutation { insertIntoArticleCollection(objects: [{title: "on the standby"}]) { affectedCount } }')"
refused_sql() {  # refused_sql WHAT SQL EXPECTED_MESSAGE
  local out
  if out=$(s -c "$2" 2>&1); then fail "$1 on the standby succeeded: $out"; fi
  [[ "$out" == *"$3"* ]] || fail "$1 on the standby: $out ($3 expected)"
  no_backtrace "$1" "$out"
}
refused_sql "INSERT" "INSERT INTO api.article (title) VALUES ('on the standby')" "cannot execute INSERT in a read-only transaction"
refused_sql "article_rollback" "SELECT api.article_rollback('$R', to_revision => 1)" "in a read-only transaction"
refused_sql "notification_claim" "SELECT api.notification_claim('w1', 1)" "in a read-only transaction"
refused_sql "search_merge" "SELECT specstar.search_merge('article')" "in a read-only transaction"
[ "$(p -c "SELECT count(*) FROM api.article_revision WHERE id = '$R'")" = 4 ] || fail "a write on the standby reached the primary"
say "writes on the standby: refused over HTTP with 400 (code 0A000, no backtrace) and over SQL"

# ---------------------------------------------------------------------------------------
# A spec registered on the primary: the standby's PostgREST serves its RPCs after SIGUSR1.
p > /dev/null <<'SQL'
SELECT specstar.register_spec('note', '{"type": "object", "properties": {"text": {"type": "string", "x-search": true}}}') IS NOT NULL;
INSERT INTO api.note (text) VALUES ('a late note about herons'), ('another late note');
SQL
wait_replayed
req "$SAPI" GET '/rpc/note_search?q=note&select=text'
[ "$STATUS" = 404 ] || fail "the standby's PostgREST knew note_search before a reload: $STATUS $BODY"
kill -USR1 "$SREST"
for ((i = 0; i < 100; i++)); do
  req "$SAPI" GET '/rpc/note_search?q=note&select=text'
  [ "$STATUS" = 200 ] && break
  sleep 0.1
done
same_http note-search "len(d)" 2 GET '/rpc/note_search?q=note&select=text,score'
say "a spec registered on the primary is served by the standby's PostgREST after SIGUSR1"

elapsed=$((($(date +%s%N) - t_start) / 1000000))
same_sql bulk-search "SELECT id, score FROM specstar.search('bulk', 'bulk', 1000)" 600
[ "$(shared_files "$STANDBY")" -gt 0 ] || fail "the standby wrote no shared segment files of its own"
# no background merger runs on a standby; a superuser can sweep there (it only reads)
swept=$(s -c "SELECT specstar._search_sweep(0)") || fail "specstar._search_sweep on the standby: $swept"
same_sql bulk-search-after-sweep "SELECT id, score FROM specstar.search('bulk', 'bulk', 1000)" 600
say "ok: $checks answers of the standby equal the primary's, writes refused ($((elapsed / 1000)).$(printf '%03d' $((elapsed % 1000))) s)"
