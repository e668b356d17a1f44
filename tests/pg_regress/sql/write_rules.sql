-- What a write may change (docs/specs.md, "What a write may change"): the spec's
-- properties are the resource; the columns specstar maintains are set by specstar (values a
-- client sends are ignored); arrays must be one-dimensional from index 1, as the JSON
-- array in the history is; a column added to the table by hand is outside the resource.
\set SHOW_CONTEXT never
SELECT specstar.register_spec('wr', '{"type": "object", "properties": {"t": {"type": "string"},
  "tags": {"type": "array", "items": {"type": "string"}}, "ns": {"type": "array", "items": {"type": "integer"}}}}') IS NOT NULL AS registered;
INSERT INTO api.wr (id, t, created_by, updated_by) VALUES ('00000000-0000-0000-0000-000000000001', 'a', 'mallory', 'mallory');
SELECT t, created_by = current_user AS created_by_me, updated_by = current_user AS updated_by_me, revision FROM api.wr;
-- maintained columns alone: ignored, no revision
UPDATE api.wr SET created_by = 'mallory', updated_at = '2000-01-01' RETURNING created_by = current_user AS kept, revision;
-- with a property: the property is a revision, the maintained columns are still specstar's
UPDATE api.wr SET t = 'b', created_by = 'mallory', created_at = '2000-01-01' RETURNING t, created_by = current_user AS kept, created_at > '2000-01-01' AS kept_time, revision;
UPDATE specstar_data.wr SET _op = 'rollback', _version = '9', _message = 'forged', t = 'c' RETURNING _op, _version, _message, revision;

-- arrays the document cannot hold are refused (PT422), live and in drafts
UPDATE api.wr SET tags = '{{a,b},{c,d}}';
\echo :LAST_ERROR_SQLSTATE
UPDATE api.wr SET tags = '[0:1]={a,b}';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.wr (ns) VALUES ('[2:3]={1,2}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.wr_draft (id, tags) VALUES ('00000000-0000-0000-0000-000000000002', '{{a},{b}}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.wr_draft (id, ns) VALUES ('00000000-0000-0000-0000-000000000002', '[0:0]={1}');
\echo :LAST_ERROR_SQLSTATE
UPDATE api.wr SET tags = '{a,b}', ns = '{}' RETURNING tags, ns, revision;
SELECT revision, data FROM api.wr_revision ORDER BY revision;

-- a column added by hand: outside the resource, an UPDATE may not change it
ALTER TABLE specstar_data.wr ADD COLUMN extra text DEFAULT 'x';
UPDATE specstar_data.wr SET extra = 'y';
\echo :LAST_ERROR_SQLSTATE
UPDATE specstar_data.wr SET extra = 'x', t = 'd' RETURNING extra, revision;
ALTER TABLE specstar_data.wr DROP COLUMN extra;
UPDATE api.wr SET t = 'e' RETURNING revision;
SELECT specstar.drop_spec('wr', drop_data => true);
