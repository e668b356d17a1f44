-- Reads never assign a transaction id: a hot standby cannot (tests/replica.sh serves every
-- read from one), and on a primary an id per read would be spent for nothing. Each read runs
-- first thing in a new session, so that the backend loads its caches (spec descriptors,
-- validators, GraphQL schema, access rules, the search index) inside the transaction checked.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
DO $$ BEGIN CREATE ROLE regress_nox_user NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
SELECT specstar.register_spec('nox', '{"type": "object",
  "properties": {"title": {"type": "string", "x-search": true}, "n": {"type": "integer"}}, "required": ["title"]}',
  '{"events": {"feed": true}}') IS NOT NULL AS registered;
SELECT specstar.register_spec('noxmemo', '{"type": "object", "properties": {"text": {"type": "string", "x-search": true}}}',
  '{"roles": {"read": ["regress_nox_user"], "write": ["regress_nox_user"]}, "access": {"read": ["owner"], "write": ["owner"]}}') IS NOT NULL AS registered;
INSERT INTO api.nox (id, title, n) VALUES ('00000000-0000-0000-0000-0000000000a1', 'a grey heron', 1);
UPDATE api.nox SET n = 2 WHERE id = '00000000-0000-0000-0000-0000000000a1';
INSERT INTO api.nox (title) SELECT 'bulk heron ' || g FROM generate_series(1, 50) g;
SET ROLE regress_nox_user;
SELECT set_config('request.jwt.claims', '{"sub": "alice"}', false) IS NOT NULL AS alice;
INSERT INTO api.noxmemo (text) VALUES ('buy milk');
RESET ROLE;
RESET request.jwt.claims;

\c
BEGIN;
SELECT title, n FROM api.nox WHERE id = '00000000-0000-0000-0000-0000000000a1';
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_xid_rows;
COMMIT;
\c
BEGIN;
SELECT revision, data ->> 'n' AS n FROM api.nox_revision WHERE id = '00000000-0000-0000-0000-0000000000a1' ORDER BY revision;
SELECT api.nox_diff('00000000-0000-0000-0000-0000000000a1', from_revision => 1) IS NOT NULL AS diff;
SELECT (api.nox_at('00000000-0000-0000-0000-0000000000a1', revision => 1)).n AS n_at_1;
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_xid_history;
COMMIT;
\c
BEGIN;
SELECT count(*) FROM api.nox_search('heron', top => 100);
SELECT count(*) FROM specstar.search('nox', 'heron', 100);
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_xid_search;
COMMIT;
\c
BEGIN;
SELECT api.graphql('{ noxCollection(first: 1, filter: {n: {eq: 2}}) { edges { node { title } } } }') AS graphql;
SELECT length(api.graphql_sdl()) > 0 AS sdl;
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_xid_graphql;
COMMIT;
\c
BEGIN;
SELECT count(*) > 0 AS events FROM api.nox_changes(0, 1000);
SELECT count(*) > 0 AS events FROM specstar.changes(0, 1000, ARRAY['nox']);
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_xid_changes;
COMMIT;
\c
BEGIN;
SELECT jsonb_array_length(api.admin_specs()) >= 2 AS admin_specs;
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_xid_admin;
COMMIT;
\c
BEGIN;
SET LOCAL ROLE regress_nox_user;
SELECT set_config('request.jwt.claims', '{"sub": "alice"}', true) IS NOT NULL AS alice;
SELECT text FROM api.noxmemo_search('milk');
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_xid_access_rules;
COMMIT;

SELECT specstar.drop_spec('noxmemo', drop_data => true) IS NOT NULL AS dropped;
SELECT specstar.drop_spec('nox', drop_data => true) IS NOT NULL AS dropped;
DROP OWNED BY regress_nox_user;
DROP ROLE regress_nox_user;
