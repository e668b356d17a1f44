-- DROP EXTENSION specstar CASCADE removes everything specstar made (generated functions
-- go with the extension: ALTER FUNCTION ... DEPENDS ON EXTENSION), registering again works,
-- and a session that outlives the re-creation never validates with the old catalog's
-- compiled schemas (version ids start at 1 again; caches are keyed by the catalog's
-- generation). Runs last: it re-creates the extension the other files share.
\set SHOW_CONTEXT never
SELECT specstar.register_spec('recreated', '{"type": "object", "properties": {"n": {"type": "integer", "maximum": 5}}}')
  -> 'search' AS search;
SELECT specstar.register_spec('other', '{"type": "object", "properties": {"s": {"type": "string", "x-search": true}}}')
  -> 'search' ->> 'language' AS language;
INSERT INTO api.recreated (n) VALUES (5);
INSERT INTO api.other (s) VALUES ('fox');
SELECT count(*) FROM specstar.search('other', 'fox');
SELECT v.vid AS recreated_vid FROM specstar.spec s JOIN specstar.spec_versions v ON v.vid = s.current_vid WHERE s.name = 'recreated' \gset
SELECT v.vid = :recreated_vid + 1 AS other_is_next FROM specstar.spec_versions v WHERE v.spec = 'other';

SET client_min_messages = warning;
DROP EXTENSION specstar CASCADE;
RESET client_min_messages;
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('api', 'specstar', 'specstar_data') ORDER BY 1, 2;
SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('api', 'specstar', 'specstar_data') ORDER BY 1;

CREATE EXTENSION specstar;
-- the same version ids again (a new catalog starts at 1; here they are made to meet)
SELECT setval('specstar.spec_versions_vid_seq', :recreated_vid - 1) IS NOT NULL AS rewound;
-- the same version id, another schema: n must now be a string
SELECT specstar.register_spec('recreated', '{"type": "object", "properties": {"n": {"type": "string", "maxLength": 2}}}')
  -> 'properties' -> 0 ->> 'type' AS type;
SELECT v.vid = :recreated_vid AS same_vid FROM specstar.spec s JOIN specstar.spec_versions v ON v.vid = s.current_vid WHERE s.name = 'recreated';
INSERT INTO api.recreated (n) VALUES ('ab') RETURNING n, revision;
INSERT INTO api.recreated (n) VALUES ('abc');
\echo :LAST_ERROR_SQLSTATE
-- a spec with the other one's name and another search config searches its own index
SELECT specstar.register_spec('other', '{"type": "object", "properties": {"s": {"type": "string", "x-search": true}, "t": {"type": "string", "x-search": true}}}',
  '{"search": {"language": "simple"}}') -> 'search' AS search;
SELECT v.vid = :recreated_vid + 1 AS same_vid_as_before FROM specstar.spec_versions v WHERE v.spec = 'other';
INSERT INTO api.other (s, t) VALUES ('dog', 'running');
SELECT count(*) AS fox FROM specstar.search('other', 'fox');
SELECT count(*) AS run_unstemmed FROM specstar.search('other', 'run');
SELECT count(*) AS running FROM specstar.search('other', 't:running');
SELECT specstar.drop_spec('recreated', drop_data => true);
SELECT specstar.drop_spec('other', drop_data => true);
