-- An UPDATE that changes no spec column writes no revision and does not touch
-- updated_at/updated_by; values are compared exactly (a jsonb with the same content is
-- unchanged, NULL stays NULL).
\set SHOW_CONTEXT never

SELECT specstar.register_spec('cfg', '{"type": "object", "properties": {"key": {"type": "string"}, "value": {"type": "object"}, "tags": {"type": "array", "items": {"type": "string"}}, "note": {"type": "string"}}}') IS NOT NULL AS ok;
INSERT INTO api.cfg (id, key, value, tags) VALUES ('00000000-0000-0000-0000-000000000001', 'k', '{"a": 1, "b": [1, 2]}', '{x,y}');
SELECT updated_at AS t1 FROM api.cfg \gset

UPDATE api.cfg SET key = 'k' WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING revision;
UPDATE api.cfg SET value = '{"b": [1, 2], "a": 1}' WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING revision;
UPDATE api.cfg SET tags = ARRAY['x', 'y'], note = NULL WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING revision;
-- setting the current revision is not a change either
UPDATE api.cfg SET revision = 1, key = 'k' WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING revision;
SELECT updated_at = :'t1' AS untouched, revision FROM api.cfg WHERE id = '00000000-0000-0000-0000-000000000001';
-- a statement touching several rows revises only those that change
INSERT INTO api.cfg (id, key) VALUES ('00000000-0000-0000-0000-000000000002', 'k2');
UPDATE api.cfg SET key = 'k2' RETURNING id, revision;
SELECT id, count(*) AS revisions FROM api.cfg_revision GROUP BY id ORDER BY id;

-- a real change does write one
UPDATE api.cfg SET value = '{"a": 2}' WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING revision;
UPDATE api.cfg SET note = 'n' WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING revision;
UPDATE api.cfg SET note = NULL WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING revision;
SELECT revision, op, data FROM api.cfg_revision WHERE id = '00000000-0000-0000-0000-000000000001' ORDER BY revision;

SELECT specstar.drop_spec('cfg', drop_data => true);
