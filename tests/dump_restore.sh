#!/usr/bin/env bash
# pg_dump / pg_restore round trip: specs, resources and their whole history survive a
# dump of one database restored into a fresh one, and the restored database keeps working.
#
#   tests/dump_restore.sh OUTDIR
#
# Needs a running cluster reachable through PGHOST/PGPORT/PGUSER (scripts/test.sh exports
# them) with the extension installed. Creates and drops the databases specstar_dump_a and
# specstar_dump_b; writes its files (SQL, outputs, the dump) only under OUTDIR.
# KEEP_DBS=1 keeps both databases for a look after a failure.
set -euo pipefail

OUT=${1:?usage: tests/dump_restore.sh OUTDIR}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
: "${PGPORT:?PGPORT must name the port of a running cluster}"
DB_A=specstar_dump_a
DB_B=specstar_dump_b

mkdir -p "$OUT"
rm -f "$OUT"/*.sql "$OUT"/*.out "$OUT"/*.log "$OUT"/*.diff "$OUT"/a.dump

fail() { printf 'dump_restore: FAILED: %s\n' "$*" >&2; exit 1; }
psql_db() {  # psql_db DB [psql args...]: quiet, stops at the first error
  local db=$1; shift
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -P pager=off -d "$db" "$@"
}
run_sql() {  # run_sql DB NAME: runs $OUT/NAME.sql, output in $OUT/NAME.out, fails with its tail
  local db=$1 name=$2; shift 2
  psql_db "$db" -f "$OUT/$name.sql" "$@" > "$OUT/$name.out" 2>&1 \
    || { tail -n 25 "$OUT/$name.out" >&2; fail "$name.sql in $db (output: $OUT/$name.out)"; }
}
drop_dbs() {
  "$PGBIN/dropdb" --if-exists "$DB_A" >/dev/null 2>&1 || true
  "$PGBIN/dropdb" --if-exists "$DB_B" >/dev/null 2>&1 || true
}
drop_dbs
[ "${KEEP_DBS:-}" = 1 ] || trap drop_dbs EXIT

# The specs: an x-ref with ON DELETE CASCADE, an enum with a default, an array, a jsonb
# object, an integer with a default and a minimum, a unique string; and full-text search
# (x-search on a string, a text and an array of strings).
AUTHOR='{
  "title": "Author",
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 1},
    "email": {"type": "string", "format": "email", "x-unique": true}
  },
  "required": ["name"]
}'
ARTICLE='{
  "title": "Article",
  "description": "A piece of writing.",
  "type": "object",
  "properties": {
    "title": {"type": "string", "minLength": 1, "description": "Headline"},
    "status": {"enum": ["draft", "review", "published"], "default": "draft", "x-index": true},
    "tags": {"type": "array", "items": {"type": "string"}},
    "meta": {"type": "object"},
    "views": {"type": "integer", "minimum": 0, "default": 0},
    "author": {"type": "string", "format": "uuid", "x-ref": "author", "x-on-delete": "cascade"}
  },
  "required": ["title"]
}'
MEMO='{
  "title": "Memo",
  "type": "object",
  "properties": {
    "title": {"type": "string", "minLength": 1, "x-search": true},
    "body": {"type": "string", "x-search": true},
    "tags": {"type": "array", "items": {"type": "string"}, "x-search": true},
    "pinned": {"type": "boolean", "default": false}
  },
  "required": ["title"]
}'
SPEC_VARS=(-v "author_schema=$AUTHOR" -v "article_schema=$ARTICLE" -v "memo_schema=$MEMO")

# ---------------------------------------------------------------------------------------
# 1. Database A: specs, resources and a history with every kind of revision. Each write is
#    its own transaction; dump_marks records times between them (a plain table, so the
#    dump carries it to B and both sides ask for the same instants).
cat > "$OUT/populate.sql" <<'SQL'
CREATE EXTENSION specstar;
CREATE TABLE public.dump_marks (name text PRIMARY KEY, at timestamptz NOT NULL);
SELECT specstar.register_spec('author', :'author_schema') ->> 'name' AS registered;
SELECT specstar.register_spec('article', :'article_schema') ->> 'name' AS registered;
INSERT INTO dump_marks VALUES ('t0 registered', clock_timestamp());

INSERT INTO api.author (id, name) VALUES
  ('a0000000-0000-0000-0000-000000000001', 'Ann'),
  ('a0000000-0000-0000-0000-000000000002', 'Bob'),
  ('a0000000-0000-0000-0000-000000000003', 'Cy');
INSERT INTO api.article (id, title, tags, meta, author) VALUES
  ('c0000000-0000-0000-0000-000000000001', 'Live', '{x,y}', '{"a": null, "b": [1, {"c": null}], "d": "é"}', 'a0000000-0000-0000-0000-000000000001');
INSERT INTO api.article (id, title, status, author) VALUES
  ('c0000000-0000-0000-0000-000000000002', 'Edited', 'review', 'a0000000-0000-0000-0000-000000000002');
INSERT INTO api.article (id, title) VALUES ('c0000000-0000-0000-0000-000000000003', 'Deleted');
INSERT INTO api.article (id, title, tags) VALUES ('c0000000-0000-0000-0000-000000000004', 'Restored', '{}');
INSERT INTO api.article (id, title, views) VALUES ('c0000000-0000-0000-0000-000000000005', 'Rolled back', 5);
INSERT INTO api.article (id, title, author) VALUES ('c0000000-0000-0000-0000-000000000006', 'Cascaded', 'a0000000-0000-0000-0000-000000000003');
INSERT INTO api.article (id, title, meta) VALUES ('c0000000-0000-0000-0000-000000000007', 'Patched', '{"n": 1}');
INSERT INTO dump_marks VALUES ('t1 created', clock_timestamp());

SET specstar.message = 'fix typo';
UPDATE api.article SET title = 'Edited, typo fixed' WHERE id = 'c0000000-0000-0000-0000-000000000002';
SET specstar.message = 'publish';
UPDATE api.article SET status = 'published' WHERE id = 'c0000000-0000-0000-0000-000000000002';
RESET specstar.message;
UPDATE api.article SET title = 'Restored (edited)' WHERE id = 'c0000000-0000-0000-0000-000000000004';
UPDATE api.article SET title = 'Rolled back (b)', views = 6 WHERE id = 'c0000000-0000-0000-0000-000000000005';
UPDATE api.author SET email = 'ann@example.org' WHERE id = 'a0000000-0000-0000-0000-000000000001';
INSERT INTO dump_marks VALUES ('t2 updated', clock_timestamp());

SET specstar.message = 'more views';
UPDATE api.article SET views = 42 WHERE id = 'c0000000-0000-0000-0000-000000000002';
UPDATE api.article SET title = 'Rolled back (c)', tags = '{late}' WHERE id = 'c0000000-0000-0000-0000-000000000005';
UPDATE api.author SET name = 'Ann B.' WHERE id = 'a0000000-0000-0000-0000-000000000001';
SET specstar.message = 'retire';
DELETE FROM api.article WHERE id IN ('c0000000-0000-0000-0000-000000000003', 'c0000000-0000-0000-0000-000000000004');
-- cascades to article 6 (its tombstone comes from the cascade)
DELETE FROM api.author WHERE id = 'a0000000-0000-0000-0000-000000000003';
RESET specstar.message;
INSERT INTO dump_marks VALUES ('t3 deleted', clock_timestamp());

SET specstar.message = 'bring it back';
SELECT revision, title FROM api.article_restore('c0000000-0000-0000-0000-000000000004');
SET specstar.message = 'undo';
SELECT revision, title FROM api.article_rollback('c0000000-0000-0000-0000-000000000005', to_revision => 1);
RESET specstar.message;
SELECT revision, meta FROM api.article_patch('c0000000-0000-0000-0000-000000000007',
  '[{"op": "add", "path": "/tags", "value": ["p"]}, {"op": "replace", "path": "/meta/n", "value": 2},
    {"op": "add", "path": "/meta/z", "value": null}]');
INSERT INTO dump_marks VALUES ('t4 final', clock_timestamp());

-- a spec evolved through a migrate function, with drafts (one of a new resource)
SELECT specstar.register_spec('note', '{"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}') ->> 'name' AS registered;
INSERT INTO api.note (id, text) VALUES ('d0000000-0000-0000-0000-000000000001', 'first');
UPDATE api.note SET text = 'second' WHERE id = 'd0000000-0000-0000-0000-000000000001';
CREATE FUNCTION public.note_v2(doc jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS
  $$ SELECT jsonb_build_object('body', doc -> 'text', 'words', 1) $$;
SELECT specstar.register_spec('note', '{"type": "object", "properties": {"body": {"type": "string"}, "words": {"type": "integer"}}, "required": ["body"]}',
                              '{"version": "2", "migrate": "note_v2"}') ->> 'version' AS evolved;
INSERT INTO api.note_draft (id, body) VALUES ('d0000000-0000-0000-0000-000000000001', 'third');
INSERT INTO api.note_draft (id, words) VALUES ('d0000000-0000-0000-0000-000000000002', 7);

-- a spec with full-text search: its index (segments and tombstones, rows of specstar's
-- tables) travels with the dump. Each writing statement adds a segment; the update and the
-- delete leave tombstones.
SELECT specstar.register_spec('memo', :'memo_schema') ->> 'name' AS registered;
INSERT INTO api.memo (id, title, body, tags, pinned) VALUES
  ('e0000000-0000-0000-0000-000000000001', 'Quick brown fox', 'The fox jumps over the lazy dog', '{animals,fox}', true),
  ('e0000000-0000-0000-0000-000000000002', 'Bread recipes', 'Running out of flour again', '{kitchen}', false),
  ('e0000000-0000-0000-0000-000000000003', 'Brown bread', 'A fox stole the loaf', NULL, true),
  ('e0000000-0000-0000-0000-000000000004', 'Doomed memo', 'apple orchard', NULL, false),
  ('e0000000-0000-0000-0000-000000000005', 'Old text', 'walnut cake', '{kitchen}', false);
UPDATE api.memo SET body = 'cherry cake' WHERE id = 'e0000000-0000-0000-0000-000000000005';
DELETE FROM api.memo WHERE id = 'e0000000-0000-0000-0000-000000000004';
INSERT INTO api.memo (id, title, body) VALUES ('e0000000-0000-0000-0000-000000000006', 'Late fox', 'written by a later statement');
-- access rules (row-level security) travel with the dump: a diary only its author reads
DO $$ BEGIN CREATE ROLE dump_diarist NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
SELECT specstar.register_spec('diary', '{"type": "object", "properties": {"entry": {"type": "string", "x-search": true}}}',
  '{"roles": {"read": ["dump_diarist"], "write": ["dump_diarist"]}, "access": {"read": ["owner"], "write": ["owner"]}}') ->> 'name' AS registered;
SELECT set_config('request.jwt.claims', '{"sub": "alice"}', false) IS NOT NULL AS alice;
INSERT INTO api.diary (id, entry) VALUES ('d0000000-0000-0000-0000-000000000001', 'a heron, alone');
SELECT set_config('request.jwt.claims', '{"sub": "bob"}', false) IS NOT NULL AS bob;
INSERT INTO api.diary (id, entry) VALUES ('d0000000-0000-0000-0000-000000000002', 'a heron and bob');
UPDATE api.diary SET entry = 'two herons and bob' WHERE id = 'd0000000-0000-0000-0000-000000000002';
RESET request.jwt.claims;
-- a job queue travels with the dump: its jobs, their history and its enqueue rule
SELECT specstar.register_spec('djob', '{"type": "object", "properties": {"n": {"type": "integer"}}}', '{"job": {}}') ->> 'name' AS registered;
INSERT INTO api.djob (id, n, idempotency_key) VALUES ('a1000000-0000-0000-0000-000000000001', 1, 'first'), ('a1000000-0000-0000-0000-000000000002', 2, NULL);
SELECT count(*) AS claimed FROM specstar.job_claim('djob', 'dump-worker', 1);
SELECT specstar.job_complete('djob', 'a1000000-0000-0000-0000-000000000001', 'dump-worker', '{"ok": true}') ->> 'status' AS status;
-- what the queries find before the dump (the last digit of each id, best first), kept in a
-- plain table so that B is checked against it
CREATE TABLE public.dump_search (q text PRIMARY KEY, ids text NOT NULL);
INSERT INTO public.dump_search
SELECT q, coalesce((SELECT string_agg(right(h.id::text, 1), ',' ORDER BY h.score DESC, h.id) FROM specstar.search('memo', q, NULL) h), '')
  FROM unnest(ARRAY['fox', 'brown', 'run', '"brown bread"', 'fox -bread', '(cake OR flour)', 'walnut', 'cherry', 'apple',
                    'bre*', 'flor~1', 'title:fox', 'tags:kitchen']) q;
DO $$
DECLARE
  v_found text;
  v_stats record;
BEGIN
  SELECT string_agg(q || '=' || ids, ' ' ORDER BY q) INTO v_found FROM public.dump_search;
  IF v_found IS DISTINCT FROM '"brown bread"=3 (cake OR flour)=2,5 apple= bre*=2,3 brown=3,1 cherry=5 flor~1=2 '
       'fox=1,6,3 fox -bread=1,6 run=2 tags:kitchen=2,5 title:fox=6,1 walnut=' THEN
    RAISE EXCEPTION 'unexpected search results before the dump: %', v_found;
  END IF;
  SELECT * INTO v_stats FROM specstar.search_stats('memo');
  IF v_stats.documents <> 5 OR v_stats.segments < 2 OR v_stats.tombstones < 1 THEN
    RAISE EXCEPTION 'the dump should hold 5 indexed memos in several segments, and tombstones: %', v_stats;
  END IF;
END $$;

-- the history is what the writes above make it
DO $$
DECLARE
  v_ops text;
BEGIN
  SELECT string_agg(right(id::text, 1) || ':' || revision || ':' || op, ' ' ORDER BY id, revision) INTO v_ops
    FROM api.article_revision;
  IF v_ops IS DISTINCT FROM '1:1:create 2:1:create 2:2:update 2:3:update 2:4:update 3:1:create 3:2:delete '
       '4:1:create 4:2:update 4:3:delete 4:4:restore 5:1:create 5:2:update 5:3:update 5:4:rollback '
       '6:1:create 6:2:delete 7:1:create 7:2:update' THEN
    RAISE EXCEPTION 'unexpected article history: %', v_ops;
  END IF;
  SELECT string_agg(right(id::text, 1) || ':' || revision || ':' || op, ' ' ORDER BY id, revision) INTO v_ops
    FROM api.author_revision;
  IF v_ops IS DISTINCT FROM '1:1:create 1:2:update 1:3:update 2:1:create 3:1:create 3:2:delete' THEN
    RAISE EXCEPTION 'unexpected author history: %', v_ops;
  END IF;
END $$;
SQL
"$PGBIN/createdb" -T template0 "$DB_A"
run_sql "$DB_A" populate "${SPEC_VARS[@]}"

# ---------------------------------------------------------------------------------------
# 2. The queries compared between A and B.
cat > "$OUT/queries.sql" <<'SQL'
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
\pset null '(null)'
-- *_at at a time raises PT404 where the resource did not exist: report that as a value
CREATE FUNCTION pg_temp.at_or_error(spec text, id uuid, at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v text;
BEGIN
  EXECUTE format('SELECT to_jsonb(r)::text FROM api.%I(%L, at => %L) r', spec || '_at', id, at) INTO v;
  RETURN v;
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ' ' || SQLERRM;
END $$;

\echo == catalog
SELECT name, version, api_schema, options, schema, descriptor, registered_at FROM specstar.specs ORDER BY name;
SELECT name, current_vid, api_schema, created_at FROM specstar.spec ORDER BY name;
SELECT vid, spec, version, migrate, drop_statements, registered_at FROM specstar.spec_versions ORDER BY vid;
SELECT last_value, is_called FROM specstar.spec_versions_vid_seq;
SELECT * FROM public.dump_marks ORDER BY name;

\echo == generated objects
SELECT n.nspname, c.relname, c.relkind, c.reloptions, obj_description(c.oid, 'pg_class') AS comment
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('api', 'specstar_data') ORDER BY 1, 2;
SELECT c.relnamespace::regnamespace::text AS schema, c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid) AS default, col_description(c.oid, a.attnum) AS comment
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace IN ('api'::regnamespace, 'specstar_data'::regnamespace) AND c.relkind IN ('r', 'v')
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY 1, 2, a.attnum;
SELECT conrelid::regclass::text AS rel, conname, pg_get_constraintdef(oid) AS def
  FROM pg_constraint WHERE connamespace = 'specstar_data'::regnamespace ORDER BY 1, 2;
SELECT tgrelid::regclass::text AS rel, tgname, pg_get_triggerdef(oid) AS def
  FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'specstar_data'::regnamespace)
 ORDER BY 1, 2;
SELECT indexrelid::regclass::text AS index, pg_get_indexdef(indexrelid) AS def
  FROM pg_index WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'specstar_data'::regnamespace)
 ORDER BY 1;
SELECT c.oid::regclass::text AS view, pg_get_viewdef(c.oid) AS def
  FROM pg_class c WHERE c.relnamespace = 'api'::regnamespace AND c.relkind = 'v' ORDER BY 1;
SELECT p.oid::regprocedure::text AS function, p.prosecdef, p.provolatile, obj_description(p.oid, 'pg_proc') AS comment,
       md5(pg_get_functiondef(p.oid)) AS definition
  FROM pg_proc p WHERE p.pronamespace IN ('api'::regnamespace, 'specstar_data'::regnamespace) ORDER BY 1;
SELECT e.extname, e.extversion, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'specstar';

\echo == resources
SELECT * FROM api.author ORDER BY id;
SELECT * FROM api.article ORDER BY id;
SELECT * FROM specstar_data.author ORDER BY id;
SELECT * FROM specstar_data.article ORDER BY id;

\echo == revisions
SELECT * FROM api.author_revision ORDER BY id, revision;
SELECT * FROM api.article_revision ORDER BY id, revision;
SELECT * FROM specstar_data.author_revision ORDER BY id, revision;
SELECT * FROM specstar_data.article_revision ORDER BY id, revision;

\echo == an evolved spec and its drafts
SELECT * FROM api.note ORDER BY id;
SELECT * FROM api.note_revision ORDER BY id, revision;
SELECT * FROM api.note_draft ORDER BY id;
SELECT r.id AS asked_id, r.revision AS asked, a.*
  FROM api.note_revision r CROSS JOIN LATERAL api.note_at(r.id, revision => r.revision) a ORDER BY r.id, r.revision;

\echo == as_of at the recorded times
SELECT m.name AS mark, a.* FROM public.dump_marks m CROSS JOIN LATERAL api.author_as_of(m.at) a ORDER BY m.name, a.id;
SELECT m.name AS mark, a.* FROM public.dump_marks m CROSS JOIN LATERAL api.article_as_of(m.at) a ORDER BY m.name, a.id;

\echo == at every revision
SELECT r.id AS asked_id, r.revision AS asked, a.*
  FROM api.author_revision r CROSS JOIN LATERAL api.author_at(r.id, revision => r.revision) a ORDER BY r.id, r.revision;
SELECT r.id AS asked_id, r.revision AS asked, a.*
  FROM api.article_revision r CROSS JOIN LATERAL api.article_at(r.id, revision => r.revision) a ORDER BY r.id, r.revision;

\echo == at the recorded times
SELECT i.id, m.name AS mark, pg_temp.at_or_error('author', i.id, m.at) AS resource
  FROM (SELECT DISTINCT id FROM api.author_revision) i CROSS JOIN public.dump_marks m ORDER BY 1, 2;
SELECT i.id, m.name AS mark, pg_temp.at_or_error('article', i.id, m.at) AS resource
  FROM (SELECT DISTINCT id FROM api.article_revision) i CROSS JOIN public.dump_marks m ORDER BY 1, 2;

\echo == the search index, and what it finds
SELECT * FROM specstar.search_stats('memo');
SELECT specstar.search_verify('memo');
SELECT spec, segment, docs, files, md5(data) AS data, encode(tombstones, 'hex') AS tombstones
  FROM specstar.search_segment ORDER BY spec, segment;
SELECT last_value, is_called FROM specstar.search_seq;
SELECT d.q, h.id, h.score FROM public.dump_search d CROSS JOIN LATERAL specstar.search('memo', d.q, NULL) h
 ORDER BY d.q, h.score DESC, h.id;
SELECT * FROM api.memo_search('fox');
SELECT * FROM api.memo_search('brown OR cake', top => 2, skip => 1);

\echo == access rules: the policies, and what each owner reads, finds and may change
SELECT c.relname, c.relrowsecurity FROM pg_class c WHERE c.relnamespace = 'specstar_data'::regnamespace AND c.relname LIKE 'diary%' ORDER BY 1;
SELECT polrelid::regclass::text AS rel, polname, polcmd, pg_get_expr(polqual, polrelid) AS using, pg_get_expr(polwithcheck, polrelid) AS check
  FROM pg_policy ORDER BY 1, 2;
CREATE FUNCTION pg_temp.diary_as(who text) RETURNS TABLE (entries text, revisions bigint, hits text, may_change bigint) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('request.jwt.claims', json_build_object('sub', who)::text, true);
  SET LOCAL ROLE dump_diarist;
  RETURN QUERY SELECT (SELECT string_agg(entry, ', ' ORDER BY entry) FROM api.diary),
                      (SELECT count(*) FROM api.diary_revision),
                      (SELECT string_agg(entry, ', ') FROM api.diary_search('heron')),
                      (SELECT count(*) FROM api.diary WHERE id = 'd0000000-0000-0000-0000-000000000001');
  RESET ROLE;
END $$;
BEGIN;
SELECT * FROM pg_temp.diary_as('alice');
SELECT * FROM pg_temp.diary_as('bob');
SELECT * FROM pg_temp.diary_as('carol');
ROLLBACK;

\echo == diffs between consecutive revisions
SELECT r.id, r.parent_revision, r.revision, api.author_diff(r.id, r.parent_revision, r.revision) AS patch
  FROM api.author_revision r WHERE r.parent_revision IS NOT NULL ORDER BY 1, 3;
SELECT r.id, r.parent_revision, r.revision, api.article_diff(r.id, r.parent_revision, r.revision) AS patch
  FROM api.article_revision r WHERE r.parent_revision IS NOT NULL ORDER BY 1, 3;
SQL
run_sql "$DB_A" queries
mv "$OUT/queries.out" "$OUT/a.out"

# ---------------------------------------------------------------------------------------
# 3. Dump A, restore into a fresh B (nothing else: pg_restore creates the extension too).
"$PGBIN/pg_dump" -Fc -f "$OUT/a.dump" "$DB_A" 2> "$OUT/pg_dump.log" \
  || { cat "$OUT/pg_dump.log" >&2; fail "pg_dump of $DB_A"; }
"$PGBIN/createdb" -T template0 "$DB_B"
"$PGBIN/pg_restore" --exit-on-error -d "$DB_B" "$OUT/a.dump" > "$OUT/pg_restore.log" 2>&1 \
  || { cat "$OUT/pg_restore.log" >&2; fail "pg_restore into $DB_B"; }

# pg_dump prints objects in a stable order: the schema of B must dump exactly like A's
# (\restrict lines carry a random key and are left out)
for db in "$DB_A" "$DB_B"; do
  "$PGBIN/pg_dump" -s "$db" 2>> "$OUT/pg_dump.log" | grep -vE '^\\(un)?restrict ' > "$OUT/schema-${db: -1}.sql" \
    || fail "pg_dump -s of $db (see $OUT/pg_dump.log)"
done
if ! diff -u "$OUT/schema-a.sql" "$OUT/schema-b.sql" > "$OUT/schema-a-b.diff"; then
  head -n 100 "$OUT/schema-a-b.diff" >&2
  fail "the schema of $DB_B differs from $DB_A after pg_restore (full diff: $OUT/schema-a-b.diff)"
fi

run_sql "$DB_B" queries
mv "$OUT/queries.out" "$OUT/b.out"
if ! diff -u "$OUT/a.out" "$OUT/b.out" > "$OUT/a-b.diff"; then
  head -n 200 "$OUT/a-b.diff" >&2
  fail "$DB_B differs from $DB_A after pg_restore (full diff: $OUT/a-b.diff)"
fi
compared=$(grep -cE '^\([0-9]+ rows?\)$' "$OUT/a.out")
rows=$(awk '/^\([0-9]+ rows?\)$/ { n += substr($1, 2) } END { print n + 0 }' "$OUT/a.out")
[ "$rows" -gt 200 ] || fail "the compared output is suspiciously small ($rows rows): see $OUT/a.out"

# ---------------------------------------------------------------------------------------
# 4. B keeps working. pg_temp.expect fails unless the statement fails with that SQLSTATE;
#    pg_temp.ok fails unless the condition holds.
cat > "$OUT/checks.sql" <<'SQL'
\set c2 '''c0000000-0000-0000-0000-000000000002'''
\set c3 '''c0000000-0000-0000-0000-000000000003'''
CREATE FUNCTION pg_temp.expect(sql text, sqlstate text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_state text;
  v_message text;
BEGIN
  BEGIN
    EXECUTE sql;
  EXCEPTION WHEN OTHERS THEN
    v_state := SQLSTATE;
    v_message := SQLERRM;
  END;
  IF v_state IS DISTINCT FROM expect.sqlstate THEN
    RAISE EXCEPTION 'expected SQLSTATE % from: %, got %', expect.sqlstate, sql,
      coalesce(v_state || ': ' || v_message, 'success');
  END IF;
  RETURN format('ok: %s (%s)', v_state, v_message);
END $$;
CREATE FUNCTION pg_temp.ok(cond boolean, what text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  IF cond IS NOT TRUE THEN
    RAISE EXCEPTION 'check failed: %', what;
  END IF;
  RETURN 'ok: ' || what;
END $$;

-- drafts publish (one as revision 1 of a new resource once complete), and old revisions of
-- the evolved spec still read through its migrate function
SELECT pg_temp.ok(body = 'third' AND words = 1 AND revision = 4, 'a draft publishes on top of the migrate revision')
  FROM api.note_publish('d0000000-0000-0000-0000-000000000001');
SELECT pg_temp.expect($$SELECT api.note_publish('d0000000-0000-0000-0000-000000000002')$$, 'PT422');
UPDATE api.note_draft SET body = 'complete' WHERE id = 'd0000000-0000-0000-0000-000000000002';
SELECT pg_temp.ok(revision = 1, 'a draft of a new resource publishes as revision 1')
  FROM api.note_publish('d0000000-0000-0000-0000-000000000002');
SELECT pg_temp.ok(body = 'first' AND words = 1, 'revision 1 (version 1) reads through note_v2')
  FROM api.note_at('d0000000-0000-0000-0000-000000000001', revision => 1);
SELECT pg_temp.expect($$SELECT specstar.register_spec('note', '{"type": "object", "properties": {"text": {"type": "string"}}}')$$, 'PT409');

-- an UPDATE continues the numbering and closes the revision it supersedes
SELECT max(revision) AS before FROM api.article_revision WHERE id = :c2 \gset
UPDATE api.article SET title = 'Edited after restore' WHERE id = :c2 RETURNING revision AS after \gset
SELECT pg_temp.ok(:after = :before + 1, format('UPDATE after restore writes revision %s after %s', :after, :before));
SELECT pg_temp.ok(valid_to IS NOT NULL, 'the superseded revision is closed')
  FROM api.article_revision WHERE id = :c2 AND revision = :before;
-- the validator works: an invalid document is refused
SELECT pg_temp.expect($$UPDATE api.article SET title = '' WHERE id = 'c0000000-0000-0000-0000-000000000001'$$, 'PT422');
SELECT pg_temp.expect($$INSERT INTO api.article (title, status) VALUES ('x', 'bogus')$$, 'PT422');
SELECT pg_temp.expect($$UPDATE api.article SET views = -1 WHERE id = 'c0000000-0000-0000-0000-000000000001'$$, 'PT422');
-- a stale revision is refused
SELECT pg_temp.expect($$UPDATE api.article SET title = 'stale', revision = 1 WHERE id = 'c0000000-0000-0000-0000-000000000002'$$, 'PT409');
SELECT pg_temp.expect($$SELECT api.article_patch('c0000000-0000-0000-0000-000000000002', '[]', expected_revision => 2)$$, 'PT409');
-- the deleted article comes back with the next revision
SELECT revision AS tomb FROM api.article_revision WHERE id = :c3 AND op = 'delete' \gset
SELECT revision AS restored FROM api.article_restore(:c3) \gset
SELECT pg_temp.ok(:restored = :tomb + 1, format('article_restore writes revision %s after tombstone %s', :restored, :tomb));
SELECT pg_temp.ok(op = 'restore' AND parent_revision = :tomb, 'the restored revision follows the tombstone')
  FROM api.article_revision WHERE id = :c3 AND revision = :restored;
-- a new resource gets a fresh id and revision 1; the cascade still works
INSERT INTO api.article (title) VALUES ('New in B') RETURNING id AS new_id, revision AS new_revision \gset
SELECT pg_temp.ok(:new_revision = 1 AND :'new_id' <> '', 'INSERT without id creates revision 1');
DELETE FROM api.author WHERE id = 'a0000000-0000-0000-0000-000000000002';
SELECT pg_temp.ok(op = 'delete', 'deleting an author cascades to its article (tombstone)')
  FROM api.article_revision WHERE id = :c2 ORDER BY revision DESC LIMIT 1;
-- the history is still gapless, chained and contiguous for every resource
SELECT pg_temp.ok(bool_and(ok), 'every history is gapless, chained and contiguous')
  FROM (SELECT min(revision) = 1 AND max(revision) = count(*)
               AND bool_and(parent_revision IS NOT DISTINCT FROM nullif(revision - 1, 0))
               AND bool_and(valid_to IS NOT DISTINCT FROM next_from) AS ok
          FROM (SELECT r.*, lead(r.valid_from) OVER (PARTITION BY r.id ORDER BY r.revision) AS next_from
                  FROM api.article_revision r
                UNION ALL
                SELECT r.*, lead(r.valid_from) OVER (PARTITION BY r.id ORDER BY r.revision)
                  FROM api.author_revision r) h
         GROUP BY id) g;

-- search works in B without any manual step: the same hits as before the dump, an index
-- that matches the table, and it follows new writes (the write numbers that tombstones
-- compare with continue after the restored ones: an update or a delete in B hides the
-- documents written in A)
SELECT pg_temp.ok(specstar.search_verify('memo') ->> 'ok' = 'true', 'search_verify(memo) is ok after the restore: ' || specstar.search_verify('memo')::text);
SELECT pg_temp.ok(count(*) = 13 AND count(*) FILTER (WHERE d.ids IS DISTINCT FROM f.ids) = 0,
                  format('the %s recorded queries find what they found before the dump%s', count(*),
                         coalesce('; differs: ' || string_agg(format('%s -> [%s], was [%s]', d.q, f.ids, d.ids), ', ')
                                                     FILTER (WHERE d.ids IS DISTINCT FROM f.ids), '')))
  FROM public.dump_search d
  CROSS JOIN LATERAL (SELECT coalesce(string_agg(right(h.id::text, 1), ',' ORDER BY h.score DESC, h.id), '') AS ids
                        FROM specstar.search('memo', d.q, NULL) h) f;
SELECT pg_temp.ok(string_agg(right(id::text, 1), ',' ORDER BY ordinality) = '1,6,3' AND bool_and(highlights ? 'title' OR highlights ? 'body'),
                  'api.memo_search ranks and highlights as before the dump')
  FROM api.memo_search('fox') WITH ORDINALITY AS s;
INSERT INTO api.memo (id, title, body) VALUES ('e0000000-0000-0000-0000-000000000007', 'Fresh fox', 'hazelnut tart');
SELECT pg_temp.ok(string_agg(id::text, ',') = 'e0000000-0000-0000-0000-000000000007', 'a memo inserted after the restore is found')
  FROM specstar.search('memo', 'hazelnut', NULL);
SELECT pg_temp.ok(string_agg(right(id::text, 1), ',' ORDER BY id) = '1,3,6,7', 'it joins the restored hits')
  FROM specstar.search('memo', 'fox', NULL);
UPDATE api.memo SET body = 'pecan pie' WHERE id = 'e0000000-0000-0000-0000-000000000005';
SELECT pg_temp.ok(NOT EXISTS (SELECT FROM specstar.search('memo', 'cherry', NULL)), 'an update after the restore hides the text indexed before the dump');
SELECT pg_temp.ok(string_agg(right(id::text, 1), ',') = '5', 'and indexes the new text')
  FROM specstar.search('memo', 'pecan', NULL);
DELETE FROM api.memo WHERE id = 'e0000000-0000-0000-0000-000000000001';
SELECT pg_temp.ok(string_agg(right(id::text, 1), ',' ORDER BY id) = '3,6,7', 'a delete after the restore removes a memo indexed before the dump')
  FROM specstar.search('memo', 'fox', NULL);
SELECT pg_temp.ok(revision = 3, 'the memo deleted before the dump is restored') FROM api.memo_restore('e0000000-0000-0000-0000-000000000004');
SELECT pg_temp.ok(string_agg(right(id::text, 1), ',') = '4', 'and found again')
  FROM specstar.search('memo', 'apple', NULL);
SELECT pg_temp.ok(specstar.search_verify('memo') ->> 'ok' = 'true', 'search_verify(memo) is ok after the writes in B: ' || specstar.search_verify('memo')::text);
SELECT pg_temp.ok(specstar.search_merge('memo') ? 'merged', 'search_merge runs on the restored index (writes in B may have merged it already)');
SELECT pg_temp.ok(segments = 1 AND documents = 6 AND tombstones = 0, format('one segment of 6 memos after the merge: %s', s))
  FROM specstar.search_stats('memo') s;
SELECT pg_temp.ok(string_agg(right(id::text, 1), ',' ORDER BY id) = '3,6,7', 'the merged index finds the same')
  FROM specstar.search('memo', 'fox', NULL);

-- registering the identical spec again is a no-op
SELECT count(*) AS versions_before, max(vid) AS max_vid FROM specstar.spec_versions \gset
SELECT pg_temp.ok(specstar.register_spec('author', :'author_schema') = descriptor, 'identical register_spec(author) returns its descriptor')
  FROM specstar.specs WHERE name = 'author';
SELECT pg_temp.ok(specstar.register_spec('article', :'article_schema') = descriptor, 'identical register_spec(article) returns its descriptor')
  FROM specstar.specs WHERE name = 'article';
SELECT pg_temp.ok(count(*) = :versions_before, 'identical register_spec adds no version') FROM specstar.spec_versions;
-- a changed spec is still refused, a new spec gets a fresh version id (the sequence came along)
SELECT pg_temp.expect($$SELECT specstar.register_spec('author', '{"type": "object", "properties": {"name": {"type": "string"}}}')$$, 'PT409');
SELECT pg_temp.ok((specstar.register_spec('tag', '{"type": "object", "properties": {"label": {"type": "string"}}}') ->> 'name') = 'tag',
                  'a new spec registers');
SELECT pg_temp.ok(vid > :max_vid, format('the new spec gets version id %s > %s', vid, :max_vid))
  FROM specstar.spec_versions WHERE spec = 'tag';
INSERT INTO api.tag (label) VALUES ('t');

-- the job queue works after the restore: its history, the enqueue rule (idempotency keys
-- included) and the job functions, which call it through the call built at run time until
-- the next registration of a job spec
SELECT pg_temp.ok(string_agg(op, ',' ORDER BY revision) = 'create,claim,complete', 'a job keeps its history')
  FROM api.djob_revision WHERE id = 'a1000000-0000-0000-0000-000000000001';
WITH x AS (INSERT INTO api.djob (n, idempotency_key) VALUES (1, 'first') RETURNING id, status)
SELECT pg_temp.ok(id = 'a1000000-0000-0000-0000-000000000001' AND status = 'done', 'the same idempotency key returns the job') FROM x;
SELECT pg_temp.expect($$INSERT INTO api.djob (n, idempotency_key) VALUES (9, 'first')$$, 'PT409');
INSERT INTO api.djob (id, n) VALUES ('a1000000-0000-0000-0000-000000000003', 3);
SELECT pg_temp.ok(count(*) = 2, 'the restored queue is claimed') FROM specstar.job_claim('djob', 'restored-worker', 5);
SELECT pg_temp.ok(count(*) = 2, 'and completed')
  FROM specstar.job_complete_batch('djob', ARRAY['a1000000-0000-0000-0000-000000000002', 'a1000000-0000-0000-0000-000000000003']::uuid[], 'restored-worker');
SELECT specstar.drop_spec('djob', drop_data => true);

-- drop_spec removes everything (author only after article: article references it)
SELECT pg_temp.expect($$SELECT specstar.drop_spec('article')$$, 'PT409');
SELECT pg_temp.expect($$SELECT specstar.drop_spec('author', drop_data => true)$$, 'PT409');
SELECT specstar.drop_spec('tag', drop_data => true);
SELECT specstar.drop_spec('article', drop_data => true);
SELECT specstar.drop_spec('author', drop_data => true);
SELECT specstar.drop_spec('note', drop_data => true);
SELECT specstar.drop_spec('memo', drop_data => true);
SELECT specstar.drop_spec('diary', drop_data => true);
SELECT pg_temp.ok(NOT EXISTS (SELECT FROM specstar.search_segment),
                  'drop_spec(memo) and drop_spec(diary) remove their search indexes');
SELECT pg_temp.ok(NOT EXISTS (SELECT FROM pg_policy), 'drop_spec(diary) removes its policies');
SELECT pg_temp.ok(NOT EXISTS (SELECT FROM specstar.spec) AND NOT EXISTS (SELECT FROM specstar.spec_versions), 'the catalog is empty');
SELECT pg_temp.ok(NOT EXISTS (SELECT FROM pg_class WHERE relnamespace IN ('api'::regnamespace, 'specstar_data'::regnamespace)),
                  'no table, view, index or sequence is left in api or specstar_data');
SELECT pg_temp.ok(NOT EXISTS (SELECT FROM pg_proc WHERE pronamespace IN ('api'::regnamespace, 'specstar_data'::regnamespace)),
                  'no function is left in api or specstar_data');
SELECT pg_temp.ok(NOT EXISTS (SELECT FROM pg_type WHERE typnamespace IN ('api'::regnamespace, 'specstar_data'::regnamespace)),
                  'no type is left in api or specstar_data');
SQL
run_sql "$DB_B" checks "${SPEC_VARS[@]}"
checks=$(grep -c '^ ok: ' "$OUT/checks.out")
want=$(grep -cE '^SELECT pg_temp\.(ok|expect)\(' "$OUT/checks.sql")
[ "$checks" -eq "$want" ] || { cat "$OUT/checks.out" >&2; fail "$checks of $want checks passed (see $OUT/checks.out)"; }

[ "${KEEP_DBS:-}" = 1 ] || drop_dbs
printf 'dump_restore: ok: schema dump and %s query results (%s rows) identical after pg_dump/pg_restore; %s checks passed in the restored database\n' \
  "$compared" "$rows" "$checks"
