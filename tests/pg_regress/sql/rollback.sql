-- Rollback writes a new `rollback` revision whose data equals an earlier revision; history
-- is never rewritten. A deleted resource comes back with that data.
\set SHOW_CONTEXT never

SELECT specstar.register_spec('page', '{"type": "object", "properties": {"title": {"type": "string"}, "body": {"type": "string"}, "draft": {"type": "boolean"}}, "required": ["title"]}') IS NOT NULL AS ok;
INSERT INTO api.page (id, title, body, draft) VALUES ('00000000-0000-0000-0000-000000000001', 'v1', 'first body', true);
UPDATE api.page SET title = 'v2', body = NULL WHERE id = '00000000-0000-0000-0000-000000000001';
UPDATE api.page SET title = 'v3', draft = false WHERE id = '00000000-0000-0000-0000-000000000001';

SET specstar.message = 'back to the first version';
SELECT title, body, draft, revision FROM api.page_rollback('00000000-0000-0000-0000-000000000001', to_revision => 1);
RESET specstar.message;
SELECT revision, parent_revision, op, data, message FROM api.page_revision WHERE id = '00000000-0000-0000-0000-000000000001' ORDER BY revision;
-- rolling back to what is already current changes nothing
SELECT revision FROM api.page_rollback('00000000-0000-0000-0000-000000000001', to_revision => 1);
SELECT revision FROM api.page_rollback('00000000-0000-0000-0000-000000000001', to_revision => 4);
-- to a rollback revision and back again
SELECT title, revision FROM api.page_rollback('00000000-0000-0000-0000-000000000001', to_revision => 3);
SELECT title, revision FROM api.page_rollback('00000000-0000-0000-0000-000000000001', to_revision => 4);

-- a deleted resource: rollback restores it with the chosen data
DELETE FROM api.page WHERE id = '00000000-0000-0000-0000-000000000001';
-- (the tombstone is its current revision)
SELECT title, revision FROM api.page_rollback('00000000-0000-0000-0000-000000000001', to_revision => 2, expected_revision => 6);
\echo :LAST_ERROR_SQLSTATE
SELECT title, revision FROM api.page_rollback('00000000-0000-0000-0000-000000000001', to_revision => 2, expected_revision => 7);
SELECT revision, parent_revision, op, data ->> 'title' AS title, valid_to IS NULL AS open FROM api.page_revision WHERE id = '00000000-0000-0000-0000-000000000001' ORDER BY revision;

-- unknown ids and revisions, missing arguments
SELECT api.page_rollback('00000000-0000-0000-0000-000000000001', to_revision => 42);
\echo :LAST_ERROR_SQLSTATE
SELECT api.page_rollback('00000000-0000-0000-0000-0000000000ff', to_revision => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT api.page_rollback('00000000-0000-0000-0000-000000000001', to_revision => NULL);
\echo :LAST_ERROR_SQLSTATE

SELECT specstar.drop_spec('page', drop_data => true);
