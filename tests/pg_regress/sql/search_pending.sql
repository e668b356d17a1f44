-- Small writes are stored pending (their texts, not indexed) and indexed by whoever searches;
-- a write folds them into a segment once they hold 512 documents; large segments are merged by
-- a background worker; stored segments are shared between backends as files.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE regress_pend_user NOLOGIN;
SELECT specstar.register_spec('pend', '{
  "type": "object",
  "properties": {
    "title": {"type": "string", "x-search": true},
    "body": {"type": "string", "x-search": true},
    "n": {"type": "integer"}
  },
  "required": ["title"]
}', '{"search": {"language": "english"}}') IS NOT NULL AS registered;
CREATE VIEW pend_rows AS
  SELECT count(*) FILTER (WHERE pending IS NOT NULL) AS pending,
         count(*) FILTER (WHERE pending IS NULL) AS segments,
         coalesce(sum(docs) FILTER (WHERE pending IS NOT NULL), 0) AS pending_docs
    FROM specstar.search_segment WHERE spec = 'pend';

-- single-row writes are pending rows, searchable at once
INSERT INTO api.pend (id, title, body) VALUES ('00000000-0000-0000-0000-000000000001', 'Quick fox', 'jumps');
INSERT INTO api.pend (id, title, body) VALUES ('00000000-0000-0000-0000-000000000002', 'Lazy dog', 'sleeps');
SELECT * FROM pend_rows;
SELECT title FROM api.pend_search('fox OR dog') ORDER BY title;
-- an update hides the old version in the pending rows too; a delete is a pending tombstone
UPDATE api.pend SET body = 'runs away' WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT title FROM api.pend_search('jumps');
SELECT title FROM api.pend_search('run');
DELETE FROM api.pend WHERE id = '00000000-0000-0000-0000-000000000002';
SELECT count(*) FROM api.pend_search('dog');
SELECT * FROM pend_rows;
-- a statement of 32 documents is one pending row; one of more than 32 is indexed into a
-- segment right away
INSERT INTO api.pend (title, body) SELECT 'Batch ' || g, 'many at once' FROM generate_series(1, 32) g;
SELECT * FROM pend_rows;
INSERT INTO api.pend (title, body) SELECT 'Batch ' || g, 'many at once' FROM generate_series(33, 72) g;
SELECT * FROM pend_rows;

-- rollback: a pending write and a fold inside a transaction are undone with it
BEGIN;
INSERT INTO api.pend (title) VALUES ('Zebra');
SELECT title FROM api.pend_search('zebra');
DO $$ BEGIN FOR i IN 1..530 LOOP INSERT INTO api.pend (title, n) VALUES ('Folded ' || i, i); END LOOP; END $$;
SELECT pending < 60 AS folded FROM pend_rows;
SELECT count(*) FROM api.pend_search('folded', top => 1000);
ROLLBACK;
SELECT * FROM pend_rows;
SELECT count(*) FROM api.pend_search('zebra OR folded');
SELECT title FROM api.pend_search('run');

-- 530 single-row writes: a fold every 512 documents keeps the pending rows few
DO $$ BEGIN FOR i IN 1..530 LOOP INSERT INTO api.pend (title, n) VALUES ('Single ' || i, i); END LOOP; END $$;
SELECT pending < 512 AS few_pending, pending_docs < 512 AS few_pending_docs, segments <= 4 AS few_segments FROM pend_rows;
SELECT count(*) FROM api.pend_search('single', top => 1000);
-- single-row updates of folded documents: the tombstones hide the folded versions
DO $$ BEGIN FOR i IN 1..20 LOOP UPDATE api.pend SET title = 'Changed ' || i WHERE n = i AND title LIKE 'Single%'; END LOOP; END $$;
SELECT count(*) FROM api.pend_search('single', top => 1000);
SELECT count(*) FROM api.pend_search('changed', top => 1000);
SELECT (specstar.search_verify('pend')) - 'rows' - 'indexed' AS verify;

-- search_merge takes the pending rows too
SELECT specstar.search_merge('pend') ->> 'merged' IS NOT NULL AS merged;
SELECT * FROM pend_rows;
SELECT count(*) FROM api.pend_search('single OR changed OR batch OR quick', top => 1000);

-- stored segments of 512 documents or more are files in the server's shared directory, one
-- copy for every backend; the files of merged-away segments stay for the backends that still
-- see them, until a sweep (the background merger's, a minute after they were written)
SELECT count(*) > 0 AS shared
  FROM pg_ls_dir('base/pgsql_tmp/pgsql_tmp_specstar/' || (SELECT oid FROM pg_database WHERE datname = current_database())) f;
CREATE VIEW pend_stale AS
  SELECT count(*) AS stale
    FROM pg_ls_dir('base/pgsql_tmp/pgsql_tmp_specstar/' || (SELECT oid FROM pg_database WHERE datname = current_database())) f
   WHERE NOT EXISTS (SELECT 1 FROM specstar.search_segment s WHERE replace(s.segment::text, '-', '') = split_part(f, '.', 1));
SELECT stale > 0 AS stale FROM pend_stale;
SELECT specstar._search_sweep(3600) AS swept_young;
SELECT specstar._search_sweep(0) > 0 AS swept;
SELECT stale FROM pend_stale;
SELECT count(*) FROM api.pend_search('single OR changed OR batch OR quick', top => 1000);

-- large segments (512 documents or more) are left to the background merger: 8 of them
-- make a full level, and the write that completes it starts the worker, which merges them
-- once that write committed; it sets its own transactions read-write and READ COMMITTED,
-- whatever the database's defaults (here read-only, for new sessions) say
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_read_only = on', current_database()); END $$;
DO $$ BEGIN FOR i IN 1..8 LOOP
  INSERT INTO api.pend (title, body) SELECT 'Large ' || g, 'bulk ' || i FROM generate_series(1, 2100) g;
END LOOP; END $$;
SELECT count(*) AS large FROM specstar.search_segment WHERE spec = 'pend' AND docs >= 512;
DO $$ BEGIN
  FOR i IN 1..600 LOOP
    EXIT WHEN (SELECT count(*) FROM specstar.search_segment WHERE spec = 'pend' AND docs >= 512) = 1;
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SELECT count(*) AS large, max(docs) AS docs FROM specstar.search_segment WHERE spec = 'pend' AND docs >= 512;
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET default_transaction_read_only', current_database()); END $$;
SELECT count(*) FROM api.pend_search('large', top => 1000);
SELECT (specstar.search_verify('pend')) ->> 'ok' AS verified;
-- with the setting off (superusers only), writes start no worker
SET specstar.search_background_merge = off;
DO $$ BEGIN FOR i IN 1..8 LOOP
  INSERT INTO api.pend (title, body) SELECT 'Huge ' || g, 'bulk ' || i FROM generate_series(1, 2100) g;
END LOOP; END $$;
SELECT pg_sleep(1);
SELECT count(*) AS large FROM specstar.search_segment WHERE spec = 'pend' AND docs >= 512;
RESET specstar.search_background_merge;
SET ROLE regress_pend_user;
SET specstar.search_background_merge = off;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- a session writing to two specs in turn folds both (a counter per session and spec)
SELECT specstar.register_spec('pend2', '{"type": "object", "properties": {"title": {"type": "string", "x-search": true}}}') IS NOT NULL AS registered;
DO $$ BEGIN FOR i IN 1..600 LOOP
  INSERT INTO api.pend (title) VALUES ('Turn ' || i);
  INSERT INTO api.pend2 (title) VALUES ('Turn ' || i);
END LOOP; END $$;
SELECT spec, count(*) FILTER (WHERE pending IS NOT NULL) < 512 AS folded, count(*) FILTER (WHERE pending IS NULL) > 0 AS segments
  FROM specstar.search_segment WHERE spec IN ('pend', 'pend2') GROUP BY spec ORDER BY spec;
SELECT (SELECT count(*) FROM api.pend_search('turn', top => 1000)) AS pend, (SELECT count(*) FROM api.pend2_search('turn', top => 1000)) AS pend2;
SELECT specstar.drop_spec('pend2', drop_data => true) IS NOT NULL AS dropped;

-- search maintenance writes: refused in a read-only transaction (25006), as on a standby
BEGIN READ ONLY;
SELECT specstar.search_merge('pend');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN READ ONLY;
SELECT specstar.search_rebuild('pend');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- tantivy never started a thread in this backend
SELECT specstar._backend_threads() AS threads;
DROP VIEW pend_stale;
DROP VIEW pend_rows;
SELECT specstar.drop_spec('pend', drop_data => true) IS NOT NULL AS dropped;
DROP ROLE regress_pend_user;
