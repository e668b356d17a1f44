-- Property names meet every name the generated SQL uses: table aliases, variables,
-- parameters, the history's and the search results' columns. They work everywhere, or
-- registration refuses them (22023 naming the reserved word).
\set SHOW_CONTEXT never
SELECT specstar.register_spec('named', '{"type": "object", "properties": {
  "t": {"type": "string", "x-search": true}, "h": {"type": "string"}, "d": {"type": "string"}, "x": {"type": "string"},
  "n": {"type": "string"}, "o": {"type": "string"}, "m": {"type": "string"}, "r": {"type": "string"},
  "q": {"type": "string"}, "top": {"type": "integer"}, "skip": {"type": "integer"}, "at": {"type": "string"},
  "patch": {"type": "object"}, "force": {"type": "boolean"}, "from_revision": {"type": "integer"},
  "to_revision": {"type": "integer"}, "expected_revision": {"type": "integer"}, "parent_revision": {"type": "integer"},
  "op": {"type": "string"}, "data": {"type": "object"}, "schema_version": {"type": "string"}, "valid_from": {"type": "string"},
  "valid_to": {"type": "string"}, "changed_by": {"type": "string"}, "message": {"type": "string"},
  "v_doc": {"type": "object"}, "v_data": {"type": "object"}, "v_row": {"type": "string"}, "v_draft": {"type": "string"},
  "v_revision": {"type": "integer"}, "v_errors": {"type": "string"}, "v_result": {"type": "string"}, "v_current": {"type": "integer"},
  "v_live": {"type": "string"}, "new_rows": {"type": "string"}, "old_rows": {"type": "string"}, "found": {"type": "boolean"},
  "tg_op": {"type": "string"}, "new": {"type": "string"}, "old": {"type": "string"}, "doc": {"type": "string"}, "spec": {"type": "string"},
  "vid": {"type": "integer"}, "base": {"type": "string"}, "chunk": {"type": "integer"}, "ids": {"type": "string"}, "docs": {"type": "string"}}}') IS NOT NULL AS registered;
INSERT INTO api.named (id, t, h, patch, data, v_doc, top, op, message, "new", found)
  VALUES ('00000000-0000-0000-0000-000000000001', 'fox', 'h1', '{"p": 1}', '{"d": 1}', '{"v": 1}', 3, 'op1', 'm1', 'new1', true);
UPDATE api.named SET t = 'quick fox', h = 'h2', v_data = '{"x": 2}' RETURNING t, h, revision;
SELECT t, h, top, revision FROM api.named_at('00000000-0000-0000-0000-000000000001', revision => 1);
SELECT t, revision FROM api.named_as_of('3000-01-01');
SELECT api.named_diff('00000000-0000-0000-0000-000000000001', 1);
SELECT t, patch, revision FROM api.named_patch('00000000-0000-0000-0000-000000000001', '[{"op": "replace", "path": "/patch", "value": {"p": 2}}]');
SELECT t, h, revision FROM api.named_rollback('00000000-0000-0000-0000-000000000001', 1);
DELETE FROM api.named;
SELECT t, revision FROM api.named_restore('00000000-0000-0000-0000-000000000001');
INSERT INTO api.named_draft (id, t, force) VALUES ('00000000-0000-0000-0000-000000000001', 'lazy fox', true);
SELECT t, h, force, base_revision FROM api.named_draft;
SELECT t, force, revision FROM api.named_publish('00000000-0000-0000-0000-000000000001');
SELECT t, top, score > 0 AS scored, highlights FROM api.named_search('fox');
SELECT revision, op FROM api.named_revision ORDER BY revision;
SELECT specstar.drop_spec('named', drop_data => true);

-- the names the API gives its own columns
SELECT specstar.register_spec('clash', '{"type": "object", "properties": {"base_revision": {"type": "integer"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('clash', '{"type": "object", "properties": {"score": {"type": "number"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('clash', '{"type": "object", "properties": {"highlights": {"type": "string"}}}');
\echo :LAST_ERROR_SQLSTATE
