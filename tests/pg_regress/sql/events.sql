-- The change feed (docs/events.md): every revision is one event, numbered at commit;
-- draft saves, no-op updates, failed and rolled-back writes make none; the feed follows
-- the access rules; purge and prune take events with their revisions.
\set VERBOSITY terse
SET client_min_messages = warning;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_ev_user') THEN CREATE ROLE regress_ev_user NOLOGIN; END IF;
END $$;
RESET client_min_messages;
-- positions from the first event of this file: other files' specs take cursors too
SELECT specstar.changes_head() AS start \gset
CREATE FUNCTION feed(spec text) RETURNS TABLE (pos bigint, id text, revision integer, op text, title text) LANGUAGE sql AS $$
  SELECT c.cursor - (SELECT min(x.cursor) FROM specstar.changes(0, 10000, ARRAY[spec]) x) + 1, right(c.id::text, 2), c.revision, c.op, c.data ->> 'title'
    FROM specstar.changes(0, 10000, ARRAY[spec]) c ORDER BY c.cursor
$$;
GRANT EXECUTE ON FUNCTION feed(text) TO PUBLIC;

-- the feed is off by default (docs/events.md says why)
SELECT specstar.register_spec('ev_note', '{"type": "object", "properties": {"title": {"type": "string", "minLength": 1}}, "required": ["title"]}',
  '{"roles": {"read": ["regress_ev_user"], "write": ["regress_ev_user"]}}') -> 'api' -> 'functions' AS functions;
INSERT INTO api.ev_note (id, title) VALUES ('00000000-0000-4000-8000-0000000000a0', 'before the feed');
SELECT count(*) AS events FROM specstar.change WHERE spec = 'ev_note';
DELETE FROM api.ev_note;
SELECT specstar.purge('ev_note', '00000000-0000-4000-8000-0000000000a0') AS purged;
-- switched on in place (a behaviour option)
SELECT specstar.register_spec('ev_note', '{"type": "object", "properties": {"title": {"type": "string", "minLength": 1}}, "required": ["title"]}',
  '{"roles": {"read": ["regress_ev_user"], "write": ["regress_ev_user"]}, "events": {"feed": true}}') -> 'api' -> 'functions' AS functions;
INSERT INTO api.ev_note (id, title) VALUES ('00000000-0000-4000-8000-0000000000a1', 'one'), ('00000000-0000-4000-8000-0000000000a2', 'two');
UPDATE api.ev_note SET title = 'one, again' WHERE id = '00000000-0000-4000-8000-0000000000a1';
UPDATE api.ev_note SET title = 'one, again' WHERE id = '00000000-0000-4000-8000-0000000000a1';  -- no revision, no event
UPDATE api.ev_note SET title = '' WHERE id = '00000000-0000-4000-8000-0000000000a1';            -- refused, no event
SELECT api.ev_note_rollback('00000000-0000-4000-8000-0000000000a1', 1) IS NOT NULL AS rolled_back;
DELETE FROM api.ev_note WHERE id = '00000000-0000-4000-8000-0000000000a2';
SELECT api.ev_note_restore('00000000-0000-4000-8000-0000000000a2') IS NOT NULL AS restored;
INSERT INTO api.ev_note_draft (id, title) VALUES ('00000000-0000-4000-8000-0000000000a2', 'two, drafted');  -- no event
SELECT api.ev_note_publish('00000000-0000-4000-8000-0000000000a2') IS NOT NULL AS published;
BEGIN;
INSERT INTO api.ev_note (title) VALUES ('rolled back');
ROLLBACK;
BEGIN;
INSERT INTO api.ev_note (id, title) VALUES ('00000000-0000-4000-8000-0000000000a3', 'three');
SAVEPOINT s;
UPDATE api.ev_note SET title = 'undone';
ROLLBACK TO s;
UPDATE api.ev_note SET title = 'three, kept' WHERE id = '00000000-0000-4000-8000-0000000000a3';
COMMIT;
SELECT * FROM feed('ev_note');
-- the events are the history, one to one
SELECT (SELECT count(*) FROM api.ev_note_revision) = (SELECT count(*) FROM api.ev_note_changes(0, 1000)) AS one_event_per_revision;
-- a page, and the next one from its last cursor; the head is the newest cursor
SELECT count(*) AS page FROM api.ev_note_changes(:start, 3);
SELECT (SELECT max(cursor) FROM api.ev_note_changes(:start, 3)) AS last \gset
SELECT c.revision, c.op FROM api.ev_note_changes(:last, 3) c ORDER BY c.cursor;
SELECT specstar.changes_head() = (SELECT max(cursor) FROM specstar.change) AS head_is_newest;

-- a migration's revisions are events too
CREATE FUNCTION ev_up(doc jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT doc || '{"n": 1}' $$;
SELECT specstar.register_spec('ev_note', '{"type": "object", "properties": {"title": {"type": "string", "minLength": 1}, "n": {"type": "integer"}}, "required": ["title", "n"]}',
  '{"version": "2", "migrate": "ev_up", "roles": {"read": ["regress_ev_user"], "write": ["regress_ev_user"]}, "events": {"feed": true}}') ->> 'version' AS version;
SELECT id, revision, op FROM feed('ev_note') WHERE op = 'migrate';

-- prune and purge take the events of the revisions they erase
SELECT specstar.prune('ev_note', '00000000-0000-4000-8000-0000000000a1', keep_last => 1) AS pruned;
SELECT revision, op FROM feed('ev_note') WHERE id = 'a1';
SELECT specstar.purge('ev_note', '00000000-0000-4000-8000-0000000000a3') AS purged;
SELECT count(*) AS events_of_a3 FROM feed('ev_note') WHERE id = 'a3';

-- a big write (events written 10,000 at a time) and a savepoint rolled back: the events of
-- what the rollback did not undo stay, the others go
BEGIN;
INSERT INTO api.ev_note (title, n) SELECT 'bulk ' || g, g FROM generate_series(1, 9999) g;
SAVEPOINT s;
INSERT INTO api.ev_note (title, n) VALUES ('the 10,000th', 0);
ROLLBACK TO s;
INSERT INTO api.ev_note (title, n) SELECT 'bulk, again ' || g, g FROM generate_series(1, 10001) g;
COMMIT;
SELECT (SELECT count(*) FROM specstar.change c WHERE c.spec = 'ev_note')
     = (SELECT count(*) FROM api.ev_note_revision) AS every_revision_has_its_event,
       (SELECT count(*) FROM specstar.change c WHERE c.spec = 'ev_note') AS events,
       (SELECT count(*) FROM api.ev_note WHERE title = 'the 10,000th') AS undone;

-- wrong arguments; a spec the caller may not read
SELECT * FROM api.ev_note_changes(0, 0);
SELECT * FROM api.ev_note_changes(-1);
SELECT * FROM specstar.changes(0, 10, ARRAY['no_such_spec']);
\echo :LAST_ERROR_SQLSTATE

-- events follow the access rules: a revision's event is readable when the revision is
SELECT specstar.register_spec('ev_diary', '{"type": "object", "properties": {"title": {"type": "string"}, "shared": {"type": "boolean"}}}',
  '{"roles": {"read": ["regress_ev_user"], "write": ["regress_ev_user"]}, "access": {"read": ["owner", "sql:shared"], "write": ["owner"]}, "events": {"feed": true}}') ->> 'version' AS version;
SET ROLE regress_ev_user;
SELECT set_config('request.jwt.claims', '{"sub": "alice"}', false) IS NOT NULL AS alice;
INSERT INTO api.ev_diary (id, title) VALUES ('00000000-0000-4000-8000-0000000000d1', 'private');
INSERT INTO api.ev_diary (id, title, shared) VALUES ('00000000-0000-4000-8000-0000000000d2', 'shared', true);
UPDATE api.ev_diary SET title = 'private, edited' WHERE id = '00000000-0000-4000-8000-0000000000d1';
SELECT id, revision, op, title FROM feed('ev_diary');
SELECT set_config('request.jwt.claims', '{"sub": "bob"}', false) IS NOT NULL AS bob;
SELECT id, revision, op, title FROM feed('ev_diary');
-- top counts returned events: hidden ones never shorten a page
SELECT count(*) AS bob_page FROM api.ev_diary_changes(0, 1);
-- past 10,000 hidden events in a row, one row with only a cursor lets bob move on
SELECT set_config('request.jwt.claims', '{"sub": "alice"}', false) IS NOT NULL AS alice;
INSERT INTO api.ev_diary (title) SELECT 'private ' || g FROM generate_series(1, 10001) g;
SELECT set_config('request.jwt.claims', '{"sub": "bob"}', false) IS NOT NULL AS bob;
SELECT (SELECT max(cursor) FROM api.ev_diary_changes(0, 100) WHERE id IS NOT NULL) AS seen \gset
SELECT id IS NULL AS no_id, revision IS NULL AS no_revision, op, cursor > :seen AS moved_on FROM api.ev_diary_changes(:seen, 100);
-- and from the skip row's cursor on, the rest
SELECT count(*) AS after_skip FROM api.ev_diary_changes((SELECT cursor FROM api.ev_diary_changes(:seen, 100)), 100);
RESET ROLE;
RESET request.jwt.claims;

-- events.feed false: no event, no <spec>_changes; switched in place
SELECT specstar.register_spec('ev_diary', '{"type": "object", "properties": {"title": {"type": "string"}, "shared": {"type": "boolean"}}}',
  '{"roles": {"read": ["regress_ev_user"], "write": ["regress_ev_user"]}, "access": {"read": ["owner", "sql:shared"], "write": ["owner"]}, "events": {"feed": false}}') -> 'api' -> 'functions' AS functions;
SELECT count(*) AS events_before FROM specstar.change WHERE spec = 'ev_diary' \gset
INSERT INTO api.ev_diary (title) VALUES ('unfed');
SELECT count(*) = :events_before AS no_new_event FROM specstar.change WHERE spec = 'ev_diary';
SELECT to_regprocedure('api.ev_diary_changes(bigint, integer)') IS NULL AS no_changes_function;

SELECT specstar.drop_spec('ev_diary', drop_data => true);
SELECT specstar.drop_spec('ev_note', drop_data => true);
SELECT count(*) AS events_left FROM specstar.change WHERE spec IN ('ev_note', 'ev_diary');
DROP FUNCTION feed(text);
DROP FUNCTION ev_up(jsonb);
