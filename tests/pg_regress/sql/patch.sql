-- <spec>_patch(id, patch, expected_revision): an RFC 6902 JSON Patch applied as one new
-- revision; a failed test op (or any failed op) changes nothing.
\set SHOW_CONTEXT never

SELECT specstar.register_spec('task', '{"type": "object", "properties": {"title": {"type": "string"}, "done": {"type": "boolean"}, "labels": {"type": "array", "items": {"type": "string"}}, "est": {"type": "integer", "minimum": 1}}, "required": ["title"]}') IS NOT NULL AS ok;
INSERT INTO api.task (id, title, done, labels) VALUES ('00000000-0000-0000-0000-000000000001', 'write tests', false, '{dev}');

SELECT title, done, labels, est, revision FROM api.task_patch('00000000-0000-0000-0000-000000000001', '[
  {"op": "test", "path": "/done", "value": false},
  {"op": "replace", "path": "/done", "value": true},
  {"op": "add", "path": "/labels/-", "value": "qa"},
  {"op": "add", "path": "/est", "value": 3}
]');
SELECT title, labels, revision FROM api.task_patch('00000000-0000-0000-0000-000000000001', '[{"op": "remove", "path": "/est"}, {"op": "move", "from": "/labels/0", "path": "/labels/1"}]');
-- an empty patch writes no revision
SELECT revision FROM api.task_patch('00000000-0000-0000-0000-000000000001', '[]');

-- failures leave everything as it was
SELECT api.task_patch('00000000-0000-0000-0000-000000000001', '[{"op": "replace", "path": "/title", "value": "x"}, {"op": "test", "path": "/done", "value": false}]');
\echo :LAST_ERROR_SQLSTATE
SELECT api.task_patch('00000000-0000-0000-0000-000000000001', '[{"op": "remove", "path": "/nope"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT api.task_patch('00000000-0000-0000-0000-000000000001', '{"op": "remove", "path": "/title"}');
\echo :LAST_ERROR_SQLSTATE
SELECT api.task_patch('00000000-0000-0000-0000-000000000001', '[{"op": "jump", "path": "/title"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT api.task_patch('00000000-0000-0000-0000-000000000001', NULL);
\echo :LAST_ERROR_SQLSTATE
-- the result must satisfy the spec and fit its properties
SELECT api.task_patch('00000000-0000-0000-0000-000000000001', '[{"op": "remove", "path": "/title"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT api.task_patch('00000000-0000-0000-0000-000000000001', '[{"op": "add", "path": "/est", "value": 0}]');
\echo :LAST_ERROR_SQLSTATE
SELECT api.task_patch('00000000-0000-0000-0000-000000000001', '[{"op": "add", "path": "/owner", "value": "me"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT api.task_patch('00000000-0000-0000-0000-000000000001', '[{"op": "replace", "path": "", "value": "not an object"}]');
\echo :LAST_ERROR_SQLSTATE
-- unknown or deleted resources
SELECT api.task_patch('00000000-0000-0000-0000-0000000000ff', '[]');
\echo :LAST_ERROR_SQLSTATE
SELECT title, done, labels, revision FROM api.task;
SELECT revision, op, data FROM api.task_revision ORDER BY revision;

SELECT specstar.drop_spec('task', drop_data => true);
