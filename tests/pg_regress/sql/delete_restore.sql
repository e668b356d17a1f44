-- DELETE removes the live row and appends a tombstone holding the last data; restore
-- appends a `restore` revision with that data. Re-inserting a deleted id continues its
-- numbering.
\set SHOW_CONTEXT never

SELECT specstar.register_spec('tag', '{"type": "object", "properties": {"label": {"type": "string", "x-unique": true}}, "required": ["label"]}') IS NOT NULL AS ok;
INSERT INTO api.tag (id, label) VALUES ('00000000-0000-0000-0000-000000000001', 'red'), ('00000000-0000-0000-0000-000000000002', 'blue');
UPDATE api.tag SET label = 'crimson' WHERE id = '00000000-0000-0000-0000-000000000001';

SET specstar.message = 'cleanup';
DELETE FROM api.tag WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING label, revision;
RESET specstar.message;
SELECT count(*) AS live FROM api.tag WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT revision, parent_revision, op, data, message, valid_to IS NULL AS open
  FROM api.tag_revision WHERE id = '00000000-0000-0000-0000-000000000001' ORDER BY revision;

-- reading a deleted resource, and restoring one that is not deleted
SELECT * FROM api.tag_at('00000000-0000-0000-0000-000000000001');
\echo :LAST_ERROR_SQLSTATE
SELECT api.tag_restore('00000000-0000-0000-0000-000000000002');
\echo :LAST_ERROR_SQLSTATE
SELECT api.tag_restore('00000000-0000-0000-0000-0000000000ff');
\echo :LAST_ERROR_SQLSTATE

-- restore brings back the last data, as a new revision; created_* are the original ones
SELECT label, revision, created_at < updated_at AS kept_created_at FROM api.tag_restore('00000000-0000-0000-0000-000000000001');
SELECT revision, parent_revision, op, data ->> 'label' AS label, valid_to IS NULL AS open
  FROM api.tag_revision WHERE id = '00000000-0000-0000-0000-000000000001' ORDER BY revision;

-- a unique clash: the restore fails with 23505 and the resource stays deleted
DELETE FROM api.tag WHERE id = '00000000-0000-0000-0000-000000000002';
INSERT INTO api.tag (id, label) VALUES ('00000000-0000-0000-0000-000000000003', 'blue');
SELECT api.tag_restore('00000000-0000-0000-0000-000000000002');
\echo :LAST_ERROR_SQLSTATE
SELECT op, valid_to IS NULL AS open FROM api.tag_revision WHERE id = '00000000-0000-0000-0000-000000000002' ORDER BY revision DESC LIMIT 1;

-- inserting the id of a deleted resource continues its history
INSERT INTO api.tag (id, label) VALUES ('00000000-0000-0000-0000-000000000002', 'navy') RETURNING revision;
SELECT revision, parent_revision, op, data ->> 'label' AS label, valid_to IS NULL AS open
  FROM api.tag_revision WHERE id = '00000000-0000-0000-0000-000000000002' ORDER BY revision;
-- ... and giving it a revision that is not the next one is a conflict
DELETE FROM api.tag WHERE id = '00000000-0000-0000-0000-000000000002';
INSERT INTO api.tag (id, label, revision) VALUES ('00000000-0000-0000-0000-000000000002', 'teal', 1);
\echo :LAST_ERROR_SQLSTATE

SELECT specstar.drop_spec('tag', drop_data => true);
