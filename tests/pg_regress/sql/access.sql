-- Access rules (options.access, docs/permissions.md): row-level security on the storage
-- tables, seen by each kind of caller over SQL the way PostgREST calls (SET ROLE and
-- request.jwt.claims): the owner (alice), another user (bob), an editor (ed, a member of
-- the editor role) and an anonymous visitor.
\set VERBOSITY terse
SET client_min_messages = warning;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_acc_user') THEN CREATE ROLE regress_acc_user NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_acc_editor') THEN CREATE ROLE regress_acc_editor NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_acc_anon') THEN CREATE ROLE regress_acc_anon NOLOGIN; END IF;
END $$;
GRANT regress_acc_user TO regress_acc_editor;
RESET client_min_messages;

-- who is calling (as PostgREST sets it): a JWT sub, or anonymous (claims without sub)
CREATE FUNCTION as_user(who text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('role', CASE who WHEN 'anon' THEN 'regress_acc_anon' WHEN 'ed' THEN 'regress_acc_editor' ELSE 'regress_acc_user' END, false);
  PERFORM set_config('request.jwt.claims', CASE who WHEN 'anon' THEN '{"role": "regress_acc_anon"}'
    ELSE json_build_object('sub', who, 'role', 'x')::text END, false);
END $$;
GRANT EXECUTE ON FUNCTION as_user(text) TO PUBLIC;
-- everything stored, as one fingerprint: a refused write must leave it as it was
SET check_function_bodies = off;
CREATE FUNCTION fingerprint() RETURNS text LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT md5(coalesce((SELECT string_agg(t::text, ',' ORDER BY t.id) FROM specstar_data.acc_note t), '')
          || coalesce((SELECT string_agg(h::text, ',' ORDER BY h.id, h.revision) FROM specstar_data.acc_note_revision h), '')
          || coalesce((SELECT string_agg(d::text, ',' ORDER BY d.id) FROM specstar_data.acc_note_draft d), ''))
$$;
GRANT EXECUTE ON FUNCTION fingerprint() TO PUBLIC;
-- what a caller sees: the live rows, their count, and how many revisions
CREATE FUNCTION seen() RETURNS TABLE (visible text[], n bigint, revisions bigint) LANGUAGE sql AS $$
  SELECT (SELECT array_agg(title ORDER BY title) FROM api.acc_note), (SELECT count(*) FROM api.acc_note),
         (SELECT count(*) FROM api.acc_note_revision)
$$;
-- what a caller finds: a page of two (sorted by title: equal scores may come in either
-- order), whether the page after skipping one starts with the first page's second hit, and
-- the ids specstar.search names
CREATE FUNCTION found() RETURNS TABLE (top2 text[], skip1_follows boolean, ids bigint, hidden_ids bigint) LANGUAGE sql AS $$
  SELECT (SELECT array_agg(title ORDER BY title) FROM api.acc_note_search('heron', 2)),
         (SELECT (array_agg(title))[1] FROM api.acc_note_search('heron', 2, 1))
           IS NOT DISTINCT FROM (SELECT (array_agg(title))[2] FROM api.acc_note_search('heron', 2)),
         (SELECT count(*) FROM specstar.search('acc_note', 'heron', 10)),
         (SELECT count(*) FROM specstar.search('acc_note', 'heron', 10) s WHERE s.id NOT IN (SELECT id FROM api.acc_note))
$$;
RESET check_function_bodies;

-- registration checks every rule: 22023 naming /options/access/...
\set schema '{"type": "object", "properties": {"title": {"type": "string", "x-search": true}, "body": {"type": "string", "x-search": true}, "shared": {"type": "boolean"}, "n": {"type": "integer"}}, "required": ["title"]}'
SELECT specstar.register_spec('acc_bad', :'schema', '{"access": {"read": ["owner", "everyone"]}}');
SELECT specstar.register_spec('acc_bad', :'schema', '{"access": {"write": ["role:regress_acc_nobody"]}}');
SELECT specstar.register_spec('acc_bad', :'schema', '{"access": {"read": ["sql:colour = 1"]}}');
SELECT specstar.register_spec('acc_bad', :'schema', '{"access": {"read": ["sql:n"]}}');
SELECT specstar.register_spec('acc_bad', :'schema', '{"access": {"read": ["sql:true); DROP TABLE specstar.spec; SELECT (true"]}}');
SELECT specstar.register_spec('acc_bad', :'schema', '{"access": {"read": ["sql:true) OR (true"]}}') ->> 'name' AS one_expression_is_fine;
SELECT specstar.drop_spec('acc_bad');
SELECT specstar.register_spec('acc_bad', :'schema', '{"access": {"read": ["sql:true) AS x, (false"]}}');
SELECT specstar.register_spec('acc_bad', :'schema', '{"access": {"owner": "n"}}');
SELECT specstar.register_spec('acc_bad', :'schema', '{"access": {"write": []}}');
SELECT count(*) AS nothing_left FROM specstar.spec WHERE name = 'acc_bad';

SELECT specstar.register_spec('acc_note', :'schema', '{
  "roles": {"read": ["regress_acc_anon", "regress_acc_user"], "write": ["regress_acc_user", "regress_acc_anon"]},
  "access": {"read": ["owner", "role:regress_acc_editor", "sql:shared"],
             "write": ["owner", "role:regress_acc_editor"],
             "create": ["authenticated"],
             "delete": ["owner"]}}') ->> 'version' AS version;

-- alice writes three notes (a client-sent created_by is ignored)
SELECT as_user('alice');
INSERT INTO api.acc_note (id, title, body, created_by) VALUES
  ('00000000-0000-4000-8000-00000000000a', 'private heron', 'a grey heron by the river', 'mallory'),
  ('00000000-0000-4000-8000-00000000000b', 'shared heron', 'a heron and a second heron', NULL),
  ('00000000-0000-4000-8000-00000000000c', 'gone heron', 'heron heron heron', NULL);
UPDATE api.acc_note SET shared = true WHERE id = '00000000-0000-4000-8000-00000000000b';
SELECT title, created_by, revision FROM api.acc_note ORDER BY title;
-- ed (an editor) writes one; anonymous may not create (create: authenticated)
SELECT as_user('ed');
INSERT INTO api.acc_note (id, title) VALUES ('00000000-0000-4000-8000-0000000000ed', 'editor heron');
SELECT as_user('anon');
INSERT INTO api.acc_note (title) VALUES ('anonymous heron');
\echo :LAST_ERROR_SQLSTATE

-- what each caller reads: rows, count, history
SELECT as_user('alice');
SELECT * FROM seen();
SELECT as_user('bob');
SELECT * FROM seen();
SELECT as_user('ed');
SELECT * FROM seen();
SELECT as_user('anon');
SELECT * FROM seen();
RESET ROLE;

-- the history rule: readable then (by today's rules) and readable now
SELECT as_user('alice');
UPDATE api.acc_note SET shared = false, body = 'a secret draft of the text' WHERE id = '00000000-0000-4000-8000-00000000000b';
UPDATE api.acc_note SET shared = true, body = 'redacted' WHERE id = '00000000-0000-4000-8000-00000000000b';
SELECT revision, op, data ->> 'body' AS body, data ->> 'shared' AS shared FROM api.acc_note_revision
 WHERE id = '00000000-0000-4000-8000-00000000000b' ORDER BY revision;
-- bob sees the revisions that were shared then (not the private one), now that it is shared again
SELECT as_user('bob');
SELECT revision, data ->> 'body' AS body FROM api.acc_note_revision WHERE id = '00000000-0000-4000-8000-00000000000b' ORDER BY revision;
-- made private: its whole past is hidden from bob
SELECT as_user('alice');
UPDATE api.acc_note SET shared = false WHERE id = '00000000-0000-4000-8000-00000000000b';
SELECT as_user('bob');
SELECT count(*) AS bob_sees FROM api.acc_note_revision WHERE id = '00000000-0000-4000-8000-00000000000b';
SELECT count(*) AS bob_sees FROM specstar_data.acc_note_revision WHERE id = '00000000-0000-4000-8000-00000000000b';
SELECT count(*) AS embedded FROM api.acc_note note, api.revisions(note) r WHERE note.id = '00000000-0000-4000-8000-00000000000b';
SELECT as_user('alice');
UPDATE api.acc_note SET shared = true WHERE id = '00000000-0000-4000-8000-00000000000b';

-- a hidden resource answers exactly like an unknown one: PT404, same message shape and hint
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT as_user('bob');
SELECT * FROM api.acc_note_at('00000000-0000-4000-8000-00000000000a');
SELECT * FROM api.acc_note_at('00000000-0000-4000-8000-0000000000ff');
SELECT * FROM api.acc_note_at('00000000-0000-4000-8000-00000000000a', revision => 1);
SELECT * FROM api.acc_note_at('00000000-0000-4000-8000-0000000000ff', revision => 1);
SELECT api.acc_note_diff('00000000-0000-4000-8000-00000000000a', 1);
SELECT api.acc_note_diff('00000000-0000-4000-8000-0000000000ff', 1);
\set VERBOSITY terse
SELECT count(*) AS as_of FROM api.acc_note_as_of(now());
SELECT fingerprint() AS before \gset
SELECT api.acc_note_rollback('00000000-0000-4000-8000-00000000000a', 1, expected_revision => 99);
\echo :LAST_ERROR_SQLSTATE
SELECT api.acc_note_rollback('00000000-0000-4000-8000-0000000000ff', 1, expected_revision => 99);
\echo :LAST_ERROR_SQLSTATE
SELECT api.acc_note_patch('00000000-0000-4000-8000-00000000000a', '[{"op": "replace", "path": "/title", "value": "x"}]', 99);
\echo :LAST_ERROR_SQLSTATE
SELECT api.acc_note_restore('00000000-0000-4000-8000-00000000000a');
\echo :LAST_ERROR_SQLSTATE
SELECT api.acc_note_publish('00000000-0000-4000-8000-00000000000a');
\echo :LAST_ERROR_SQLSTATE
-- readable but not writable: 42501; UPDATE and DELETE through the view change 0 rows
SELECT api.acc_note_rollback('00000000-0000-4000-8000-00000000000b', 2);
\echo :LAST_ERROR_SQLSTATE
SELECT api.acc_note_patch('00000000-0000-4000-8000-00000000000b', '[{"op": "replace", "path": "/title", "value": "x"}]');
\echo :LAST_ERROR_SQLSTATE
UPDATE api.acc_note SET title = 'taken over';
DELETE FROM api.acc_note;
-- starting a draft of a resource you may not write: 42501
INSERT INTO api.acc_note_draft (id, title) VALUES ('00000000-0000-4000-8000-00000000000b', 'my version');
\echo :LAST_ERROR_SQLSTATE
SELECT fingerprint() = :'before' AS unchanged;

-- the editor may write alice's note (role rule), but only the owner may delete it
SELECT as_user('ed');
UPDATE api.acc_note SET n = 1 WHERE id = '00000000-0000-4000-8000-00000000000a' RETURNING title, n, updated_by;
DELETE FROM api.acc_note WHERE id = '00000000-0000-4000-8000-00000000000a';
-- a new row the write rules refuse (handing alice's note to bob needs a rule that admits it)
SELECT as_user('alice');
INSERT INTO api.acc_note (title, created_by) VALUES ('still mine', 'bob') RETURNING created_by;

-- drafts follow the write rules, as if the draft were the resource
SELECT as_user('alice');
INSERT INTO api.acc_note_draft (id, title) VALUES ('00000000-0000-4000-8000-00000000000a', 'private heron, edited');
INSERT INTO api.acc_note_draft (id, title) VALUES ('00000000-0000-4000-8000-0000000000d1', 'new and unpublished');
SELECT array_agg(title ORDER BY title) AS alice_drafts FROM api.acc_note_draft;
SELECT as_user('ed');
SELECT array_agg(title ORDER BY title) AS ed_drafts FROM api.acc_note_draft;
SELECT as_user('bob');
SELECT array_agg(title ORDER BY title) AS bob_drafts FROM api.acc_note_draft;
SELECT api.acc_note_discard('00000000-0000-4000-8000-0000000000d1');
\echo :LAST_ERROR_SQLSTATE
SELECT as_user('alice');
SELECT title, revision FROM api.acc_note_publish('00000000-0000-4000-8000-00000000000a');

-- a deleted resource: its tombstone follows the same rule; re-inserting its id is refused
-- to whoever may not write it
SELECT as_user('alice');
DELETE FROM api.acc_note WHERE id = '00000000-0000-4000-8000-00000000000c';
SELECT as_user('bob');
SELECT fingerprint() AS before \gset
INSERT INTO api.acc_note (id, title) VALUES ('00000000-0000-4000-8000-00000000000c', 'hijacked');
\echo :LAST_ERROR_SQLSTATE
SELECT api.acc_note_restore('00000000-0000-4000-8000-00000000000c');
SELECT fingerprint() = :'before' AS unchanged;
SELECT count(*) AS bob_sees_its_history FROM api.acc_note_revision WHERE id = '00000000-0000-4000-8000-00000000000c';
SELECT as_user('alice');
SELECT count(*) AS alice_sees_its_history FROM api.acc_note_revision WHERE id = '00000000-0000-4000-8000-00000000000c';
SELECT title, revision FROM api.acc_note_restore('00000000-0000-4000-8000-00000000000c');

-- search: only visible hits; top and skip count them (a better hidden hit never shortens
-- a page); highlights come from visible rows only; specstar.search names no hidden id
SELECT as_user('ed');
UPDATE api.acc_note SET shared = true WHERE id = '00000000-0000-4000-8000-0000000000ed';
SELECT as_user('alice');
SELECT * FROM found();
SELECT as_user('bob');
SELECT * FROM found();
SELECT title, highlights FROM api.acc_note_search('heron') ORDER BY title;
SELECT as_user('anon');
SELECT * FROM found();
RESET ROLE;

-- rules change by re-registering with the same schema and version, in place: no new
-- version, no revision
SELECT count(*) AS revisions_before FROM specstar_data.acc_note_revision \gset
SELECT specstar.register_spec('acc_note', :'schema', '{
  "roles": {"read": ["regress_acc_anon", "regress_acc_user"], "write": ["regress_acc_user"]},
  "access": {"read": ["all"], "write": ["owner"]}}') ->> 'version' AS version;
SELECT count(*) AS versions FROM specstar.spec_versions WHERE spec = 'acc_note';
SELECT count(*) = :revisions_before AS no_new_revision FROM specstar_data.acc_note_revision;
SELECT as_user('anon');
SELECT count(*) AS anon_reads_all FROM api.acc_note;
SELECT as_user('ed');
UPDATE api.acc_note SET n = 2 WHERE id = '00000000-0000-4000-8000-00000000000a';
RESET ROLE;
-- and go again without access rules: every granted role sees every row
SELECT specstar.register_spec('acc_note', :'schema', '{
  "roles": {"read": ["regress_acc_anon", "regress_acc_user"], "write": ["regress_acc_user"]}}') ->> 'version' AS version;
SELECT relname, relrowsecurity FROM pg_class WHERE relname LIKE 'acc_note%' AND relkind = 'r' ORDER BY relname;

-- an owner property: left out, it is the actor; anonymous never owns anything
SELECT specstar.register_spec('acc_post', '{"type": "object", "properties": {"title": {"type": "string"}, "author": {"type": "string"}}}', '{
  "roles": {"read": ["regress_acc_anon", "regress_acc_user"], "write": ["regress_acc_user", "regress_acc_anon"]},
  "access": {"owner": "author", "read": ["owner", "role:regress_acc_editor"], "write": ["owner", "role:regress_acc_editor"]}}') ->> 'version' AS version;
SELECT as_user('alice');
INSERT INTO api.acc_post (title) VALUES ('by alice') RETURNING title, author;
INSERT INTO api.acc_post (title, author) VALUES ('by alice, signed bob', 'bob');
\echo :LAST_ERROR_SQLSTATE
SELECT as_user('ed');
INSERT INTO api.acc_post (title, author) VALUES ('for bob, by the editor', 'bob') RETURNING title, author;
SELECT as_user('anon');
INSERT INTO api.acc_post (title) VALUES ('anonymous');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS anon_owns_nothing FROM api.acc_post;
SELECT as_user('bob');
SELECT title FROM api.acc_post ORDER BY title;
RESET ROLE;

-- publishing a new resource also needs the create rules: bob may write drafts (write: all)
-- but only editors create
SELECT specstar.register_spec('acc_page', '{"type": "object", "properties": {"title": {"type": "string"}}}', '{
  "roles": {"read": ["regress_acc_user"], "write": ["regress_acc_user"]},
  "access": {"write": ["all"], "create": ["role:regress_acc_editor"]}}') ->> 'version' AS version;
SELECT as_user('bob');
INSERT INTO api.acc_page_draft (id, title) VALUES ('00000000-0000-4000-8000-0000000000f1', 'bob''s page');
SELECT api.acc_page_publish('00000000-0000-4000-8000-0000000000f1');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS pages, (SELECT count(*) FROM api.acc_page_draft) AS drafts FROM api.acc_page;
SELECT as_user('ed');
SELECT title, created_by FROM api.acc_page_publish('00000000-0000-4000-8000-0000000000f1');
RESET ROLE;
SELECT specstar.drop_spec('acc_page', drop_data => true);

-- search where the caller may read only their own resources (or everything, as an editor):
-- the search runs within the caller's own ids, so better hits of others never shorten a page
SELECT specstar.register_spec('acc_log', '{"type": "object", "properties": {"text": {"type": "string", "x-search": true}}}', '{
  "roles": {"read": ["regress_acc_anon", "regress_acc_user"], "write": ["regress_acc_user"]},
  "access": {"read": ["owner", "role:regress_acc_editor"]}}') ->> 'version' AS version;
SELECT as_user('alice');
INSERT INTO api.acc_log (text) VALUES ('a heron'), ('a heron by the water'), ('no bird');
SELECT as_user('bob');
INSERT INTO api.acc_log (text) VALUES ('heron heron heron'), ('heron heron');
SELECT as_user('alice');
SELECT text FROM api.acc_log_search('heron', 1);
SELECT text FROM api.acc_log_search('heron', 1, 1);
SELECT count(*) AS alice_hits, count(*) FILTER (WHERE highlights::text LIKE '%heron heron%') AS others_highlights FROM api.acc_log_search('heron');
SELECT count(*) AS ids FROM specstar.search('acc_log', 'heron');
SELECT as_user('ed');
SELECT text FROM api.acc_log_search('heron', 2);
SELECT as_user('anon');
SELECT count(*) AS anon_hits FROM api.acc_log_search('heron');
RESET ROLE;
-- search caches the rules per backend: a change of rules in place reaches it at once
SELECT specstar.register_spec('acc_log', '{"type": "object", "properties": {"text": {"type": "string", "x-search": true}}}', '{
  "roles": {"read": ["regress_acc_anon", "regress_acc_user"], "write": ["regress_acc_user"]},
  "access": {"read": ["all"]}}') ->> 'version' AS version;
SELECT as_user('alice');
SELECT count(*) AS alice_finds_all FROM api.acc_log_search('heron');
RESET ROLE;
SELECT specstar.drop_spec('acc_log', drop_data => true);

SELECT specstar.drop_spec('acc_post', drop_data => true);
SELECT specstar.drop_spec('acc_note', drop_data => true);
DROP FUNCTION as_user(text), seen(), found();
DROP FUNCTION fingerprint();
