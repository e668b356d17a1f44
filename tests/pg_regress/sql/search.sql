-- Full-text search: properties marked x-search are indexed (BM25, tantivy) by statement
-- triggers in the writer's transaction; api.<spec>_search returns rows with score and
-- highlights; specstar.search returns (id, score).
\set SHOW_CONTEXT never

CREATE ROLE regress_note_reader NOLOGIN;
CREATE ROLE regress_stranger NOLOGIN;
SELECT specstar.register_spec('note', '{"type": "object",
  "properties": {"title": {"type": "string", "x-search": true}, "body": {"type": "string", "x-search": true},
                 "tags": {"type": "array", "items": {"type": "string"}, "x-search": true},
                 "published": {"type": "boolean"}, "views": {"type": "integer"}},
  "required": ["title"]}', '{"roles": {"read": ["regress_note_reader"]}}') -> 'search' AS search;
\df api.note_search
INSERT INTO api.note (id, title, body, tags, published) VALUES
  ('00000000-0000-0000-0000-000000000001', 'Quick brown fox', 'jumps over the lazy dog', '{animals,fox}', true),
  ('00000000-0000-0000-0000-000000000002', 'Lazy afternoon', 'the fox sleeps in the sun', NULL, false),
  ('00000000-0000-0000-0000-000000000003', 'Running shoes', 'for runners who run every day', '{sport}', true),
  ('00000000-0000-0000-0000-000000000004', 'Cooking', 'a quick recipe & a slow one <b>', NULL, true);

-- ranked hits with highlights (HTML-escaped, terms in <b>)
SELECT title, round(score::numeric, 3) AS score, highlights FROM api.note_search('fox');
SELECT title, highlights FROM api.note_search('recipe');
-- the query language: words are all required; AND, OR, -, phrases, fields, prefix, fuzzy
SELECT title FROM api.note_search('fox lazy') ORDER BY title;
SELECT title FROM api.note_search('fox AND sun');
SELECT title FROM api.note_search('dog OR shoes') ORDER BY title;
SELECT title FROM api.note_search('fox -dog');
SELECT title FROM api.note_search('"lazy dog"');
SELECT title FROM api.note_search('"dog lazy"');
SELECT title FROM api.note_search('title:lazy');
SELECT title FROM api.note_search('tags:sport');
SELECT title FROM api.note_search('cook*');
SELECT title FROM api.note_search('slepes~1');
-- english stemming (the default language): run finds running, runners
SELECT title FROM api.note_search('run');
-- top and skip page through the ranking; SQL filters apply to the hits
SELECT title FROM api.note_search('fox OR quick', top => 2) ;
SELECT title FROM api.note_search('fox OR quick', top => 2, skip => 2);
SELECT title FROM api.note_search('fox OR quick') WHERE published;
-- specstar.search: (id, score) for SQL; top NULL returns every hit
SELECT id FROM specstar.search('note', 'quick', NULL) ORDER BY id;

-- writes are searchable by the writer's next statement
UPDATE api.note SET body = 'the cat sleeps' WHERE id = '00000000-0000-0000-0000-000000000002';
SELECT title FROM api.note_search('fox');
SELECT title FROM api.note_search('cat');
-- an update that leaves every searchable property alone writes no tombstone or segment
SELECT segments, documents, tombstones FROM specstar.search_stats('note');
UPDATE api.note SET views = 3 WHERE id = '00000000-0000-0000-0000-000000000002';
SELECT segments, documents, tombstones FROM specstar.search_stats('note');
DELETE FROM api.note WHERE id = '00000000-0000-0000-0000-000000000003';
SELECT count(*) FROM api.note_search('run');
-- restore and rollback index the document they bring back
SELECT revision FROM api.note_restore('00000000-0000-0000-0000-000000000003');
SELECT title FROM api.note_search('run');
SELECT revision FROM api.note_rollback('00000000-0000-0000-0000-000000000002', to_revision => 1);
SELECT title FROM api.note_search('fox AND sun');

-- a rolled-back write leaves the index as it was, savepoints included
BEGIN;
INSERT INTO api.note (title) VALUES ('Zebra crossing');
SELECT title FROM api.note_search('zebra');
SAVEPOINT s;
UPDATE api.note SET title = 'Yak crossing' WHERE title = 'Zebra crossing';
SELECT title FROM api.note_search('yak');
ROLLBACK TO SAVEPOINT s;
SELECT title FROM api.note_search('yak');
SELECT title FROM api.note_search('zebra');
ROLLBACK;
SELECT count(*) FROM api.note_search('zebra');
SELECT (specstar.search_verify('note')) ->> 'ok' AS verified;

-- merging folds every segment into one and drops the tombstones it applied
SELECT specstar.search_merge('note');
SELECT segments, documents, tombstones FROM specstar.search_stats('note');
SELECT title FROM api.note_search('fox') ;
SELECT specstar.search_verify('note') - 'rows' - 'indexed' AS verify;

-- many single-row writes: each is stored pending, and every 512 documents a write folds them
-- into a segment; segments are merged as they come, so both counts stay small
INSERT INTO api.note (title) SELECT 'Bulk ' || g FROM generate_series(1, 5) g;
DO $$ BEGIN FOR i IN 1..700 LOOP INSERT INTO api.note (title, body) VALUES ('Single ' || i, 'one at a time'); END LOOP; END $$;
SELECT count(*) FILTER (WHERE pending IS NOT NULL) BETWEEN 1 AND 527 AS few_pending,
       count(*) FILTER (WHERE pending IS NULL) <= 10 AS few_segments
  FROM specstar.search_segment WHERE spec = 'note';
SELECT documents FROM specstar.search_stats('note');
SELECT count(*) FROM api.note_search('single', top => 1000);
SELECT (specstar.search_verify('note')) ->> 'ok' AS verified;
-- tantivy never started a thread in this backend
SELECT specstar._backend_threads() AS threads;

-- errors: a malformed query names the position (22023), nothing is changed
SELECT * FROM api.note_search('fox AND (');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM api.note_search('"unclosed');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM api.note_search('author:bob');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM api.note_search('fox~5');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM api.note_search('views:[1 TO 5]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM specstar.search('note', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM specstar.search('nope', 'fox');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.search_stats('nope');
\echo :LAST_ERROR_SQLSTATE
-- (the internal function behind specstar.search names an unknown spec with 42704, and no spec with 22023)
SELECT * FROM specstar._search_hits('nope', 'fox', 10, 0, false);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM specstar._search_hits(NULL, 'fox', 10, 0, false);
\echo :LAST_ERROR_SQLSTATE
-- merging and rebuilding need READ COMMITTED (25001)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT specstar.search_merge('note');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT specstar.search_rebuild('note');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- a spec without searchable properties
-- (its property is named like the alias of generated SQL: the row, not the column, is meant there)
SELECT specstar.register_spec('plain', '{"type": "object", "properties": {"t": {"type": "string"}, "d": {"type": "string"}}}') ->> 'search' AS search;
INSERT INTO api.plain (t, d) VALUES ('x', 'y');
UPDATE api.plain SET t = 'z';
SELECT data FROM api.plain_revision ORDER BY revision;
SELECT * FROM specstar.search('plain', 'fox');
\echo :LAST_ERROR_SQLSTATE
-- readers of the spec may search; others may not, and cannot read the index tables
SET ROLE regress_note_reader;
SELECT title FROM api.note_search('dog');
-- a reader of one spec may call the search functions, but not search another spec
RESET ROLE;
SELECT specstar.register_spec('hidden', '{"type": "object", "properties": {"t": {"type": "string", "x-search": true}}}') ->> 'search' IS NOT NULL AS searchable;
SET ROLE regress_note_reader;
SELECT * FROM specstar.search('hidden', 'dog');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM specstar._search_hits('hidden', 'dog', 10, 0, false);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT specstar.drop_spec('hidden');
-- a role no spec grants anything may not even call them
SET ROLE regress_stranger;
SELECT * FROM specstar.search('note', 'dog');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM specstar._search_hits('note', 'dog', 10, 0, false);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM specstar.search_segment;
\echo :LAST_ERROR_SQLSTATE
SELECT specstar._search_write('note', 1, NULL, '[["00000000-0000-0000-0000-000000000009", "spam"]]');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- a spec that gains searchable properties is indexed from its existing rows
SELECT specstar.register_spec('memo', '{"type": "object", "properties": {"text": {"type": "string"}}}') IS NOT NULL AS ok;
INSERT INTO api.memo (text) VALUES ('remember the milk'), ('call the plumber');
SELECT specstar.register_spec('memo', '{"type": "object", "properties": {"text": {"type": "string", "x-search": true}}}',
                              '{"version": "2", "search": {"language": "simple"}}') -> 'search' AS search;
SELECT text FROM api.memo_search('milk');
-- simple does not stem
SELECT count(*) FROM api.memo_search('remembering');
SELECT (specstar.search_verify('memo')) ->> 'ok' AS verified;
-- dropping the spec drops its index
SELECT specstar.drop_spec('memo', drop_data => true);
SELECT count(*) FROM specstar.search_segment WHERE spec = 'memo';
SELECT specstar.drop_spec('plain', drop_data => true);
