-- specstar.purge(spec, id) erases a resource and its whole history; specstar.prune(spec,
-- id, keep_last) keeps the newest revisions. Numbering continues after a prune.
\set SHOW_CONTEXT never

SELECT specstar.register_spec('log', '{"type": "object", "properties": {"line": {"type": "string"}}}') IS NOT NULL AS ok;
INSERT INTO api.log (id, line) VALUES ('00000000-0000-0000-0000-000000000001', 'a'), ('00000000-0000-0000-0000-000000000002', 'x');
UPDATE api.log SET line = 'b' WHERE id = '00000000-0000-0000-0000-000000000001';
UPDATE api.log SET line = 'c' WHERE id = '00000000-0000-0000-0000-000000000001';
UPDATE api.log SET line = 'd' WHERE id = '00000000-0000-0000-0000-000000000001';
UPDATE api.log SET line = 'y' WHERE id = '00000000-0000-0000-0000-000000000002';

SELECT specstar.prune('log', '00000000-0000-0000-0000-000000000001', keep_last => 2) AS pruned;
SELECT revision, data ->> 'line' AS line FROM api.log_revision WHERE id = '00000000-0000-0000-0000-000000000001' ORDER BY revision;
SELECT specstar.prune('log', '00000000-0000-0000-0000-000000000001', keep_last => 2) AS pruned_again;
UPDATE api.log SET line = 'e' WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING revision;
SELECT * FROM api.log_at('00000000-0000-0000-0000-000000000001', revision => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.prune('log', '00000000-0000-0000-0000-000000000001', keep_last => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.prune('log', '00000000-0000-0000-0000-0000000000ff', keep_last => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.prune('nolog', '00000000-0000-0000-0000-000000000001', keep_last => 1);
\echo :LAST_ERROR_SQLSTATE

-- purge: the live row and every revision are gone; the other resource is untouched
SELECT specstar.purge('log', '00000000-0000-0000-0000-000000000001') AS purged;
SELECT id, count(*) AS revisions FROM api.log_revision GROUP BY id ORDER BY id;
SELECT count(*) AS live FROM api.log;
-- history stays append-only after a purge (the flag does not outlive it)
DELETE FROM specstar_data.log_revision;
\echo :LAST_ERROR_SQLSTATE
-- a deleted resource can be purged too
DELETE FROM api.log WHERE id = '00000000-0000-0000-0000-000000000002';
SELECT specstar.purge('log', '00000000-0000-0000-0000-000000000002') AS purged;
SELECT count(*) AS revisions FROM api.log_revision;
SELECT specstar.purge('log', '00000000-0000-0000-0000-000000000002');
\echo :LAST_ERROR_SQLSTATE

SELECT specstar.drop_spec('log', drop_data => true);
