-- register_spec: success, the catalog, idempotent re-registration, and every way a spec
-- or its options can be refused (22023 naming the keyword path; PT409 for a changed spec).
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT specstar.register_spec('note', '{
  "title": "Note",
  "description": "A short note.",
  "type": "object",
  "properties": {
    "text": {"type": "string", "description": "What the note says"},
    "pinned": {"type": "boolean", "default": false}
  },
  "required": ["text"]
}') -> 'api' AS api;

SELECT name, version, options, api_schema FROM specstar.specs ORDER BY name;
SELECT relname FROM pg_class WHERE relnamespace = 'specstar_data'::regnamespace AND relname LIKE 'note%' ORDER BY relname;
SELECT relname, relkind FROM pg_class WHERE relnamespace = 'api'::regnamespace AND relname LIKE 'note%' ORDER BY relname;
SELECT p.proname, p.provolatile, p.prosecdef FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace AND p.proname LIKE 'note%' ORDER BY 1;
-- views run with the caller's rights and stay auto-updatable
SELECT c.relname, c.reloptions FROM pg_class c WHERE c.oid IN ('api.note'::regclass, 'api.note_revision'::regclass) ORDER BY 1;
SELECT table_name, is_insertable_into, is_updatable FROM information_schema.views WHERE table_schema = 'api' AND table_name LIKE 'note%' ORDER BY 1;

-- identical again: a no-op returning the same descriptor
SELECT specstar.register_spec('note', '{"title": "Note", "description": "A short note.", "type": "object",
  "properties": {"pinned": {"type": "boolean", "default": false}, "text": {"type": "string", "description": "What the note says"}},
  "required": ["text"]}', '{"version": "1"}') = descriptor AS same_descriptor
  FROM specstar.specs WHERE name = 'note';
SELECT count(*) AS versions FROM specstar.spec_versions WHERE spec = 'note';

-- a different schema for a registered spec
SELECT specstar.register_spec('note', '{"type": "object", "properties": {"text": {"type": "string"}}}');
\echo :LAST_ERROR_SQLSTATE
-- the same schema with different options
SELECT specstar.register_spec('note', '{"title": "Note", "description": "A short note.", "type": "object",
  "properties": {"pinned": {"type": "boolean", "default": false}, "text": {"type": "string", "description": "What the note says"}},
  "required": ["text"]}', '{"version": "1", "search": {"language": "simple"}}');
\echo :LAST_ERROR_SQLSTATE

-- the options are a documented struct
SELECT jsonb_pretty(specstar.options_schema() -> 'properties' -> 'version');
SELECT specstar.options_schema() -> 'additionalProperties' AS additional;
SELECT array(SELECT jsonb_object_keys(specstar.options_schema() -> 'properties') ORDER BY 1) AS options;

-- invalid specs: 22023, the message names the keyword path
SELECT specstar.register_spec('Bad Name', '{"type": "object", "properties": {"a": {}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('a_name_that_is_far_too_long_for_specstar_x', '{"type": "object", "properties": {"a": {}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '[1, 2]');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "array", "properties": {"a": {}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object"}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"a": {"type": "strin"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"a": {"type": "integer", "minimum": "zero"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"$schema": "https://example.com/my-schema", "type": "object", "properties": {"a": {}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"a": {}}, "required": ["b"]}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"a": {}}, "x-table": "t"}');
\echo :LAST_ERROR_SQLSTATE
-- reserved and impossible property names
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"revision": {"type": "integer"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"updated_by": {"type": "string"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"_hidden": {"type": "string"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"xmin": {"type": "string"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"my-field": {"type": "string"}}}');
\echo :LAST_ERROR_SQLSTATE
-- specstar keywords
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"a": {"type": "string", "x-colour": "red"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"a": {"type": "string", "x-unique": "yes"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"a": {"type": "string", "x-ref": "nobody"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"a": {"type": "integer", "x-ref": "note"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"a": {"type": "string", "x-on-delete": "cascade"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"a": {"type": "string", "x-ref": "note", "x-on-delete": "explode"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "required": ["a"], "properties": {"a": {"type": "string", "x-ref": "note", "x-on-delete": "set_null"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"n": {"type": "integer", "x-search": true}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"n": {"type": "integer", "minimum": 0, "default": -1}}}');
\echo :LAST_ERROR_SQLSTATE
-- several problems are all listed in DETAIL
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"id": {}, "_x": {}, "a": {"x-nope": 1}}}');
\echo :LAST_ERROR_SQLSTATE
-- options
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"a": {}}}', '{"colour": "red"}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"a": {}}}', '{"version": 2}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"a": {}}}', '{"version": "two words"}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"a": {}}}', '{"api_schema": "specstar_data"}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"a": {}}}', '{"roles": {"read": ["no_such_role_here"]}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', '{"type": "object", "properties": {"a": {}}}', '{"search": {"language": "klingon"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('bad', NULL);
\echo :LAST_ERROR_SQLSTATE
-- names that would collide with another spec's objects
SELECT specstar.register_spec('note_revision', '{"type": "object", "properties": {"a": {}}}');
\echo :LAST_ERROR_SQLSTATE
-- nothing of the refused specs exists
SELECT count(*) AS leftovers FROM pg_class WHERE relname IN ('bad', 'bad_revision', 'note_revision_revision');
SELECT name FROM specstar.specs ORDER BY name;

-- a spec in another API schema, and roles from options
CREATE ROLE regress_reader NOLOGIN;
CREATE ROLE regress_writer NOLOGIN;
SELECT specstar.register_spec('memo', '{"type": "object", "properties": {"text": {"type": "string"}}}',
  '{"api_schema": "regress_api", "roles": {"read": ["regress_reader"], "write": ["regress_writer"]}}') -> 'api' ->> 'resource' AS resource;
SELECT has_table_privilege('regress_reader', 'regress_api.memo', 'SELECT') AS reader_select,
       has_table_privilege('regress_reader', 'regress_api.memo', 'INSERT') AS reader_insert,
       has_table_privilege('regress_writer', 'regress_api.memo', 'INSERT') AS writer_insert,
       has_function_privilege('regress_reader', 'regress_api.memo_at(uuid, integer, timestamptz)', 'EXECUTE') AS reader_at,
       has_function_privilege('regress_reader', 'regress_api.memo_rollback(uuid, integer, integer)', 'EXECUTE') AS reader_rollback,
       has_function_privilege('regress_writer', 'regress_api.memo_rollback(uuid, integer, integer)', 'EXECUTE') AS writer_rollback,
       has_function_privilege('public', 'regress_api.memo_at(uuid, integer, timestamptz)', 'EXECUTE') AS public_at,
       has_function_privilege('public', 'specstar.register_spec(text, jsonb, jsonb)', 'EXECUTE') AS public_register;
-- the GUC api_schema applies when the options name none
SET specstar.api_schema = 'regress_api';
SELECT specstar.register_spec('memo2', '{"type": "object", "properties": {"text": {"type": "string"}}}') -> 'api' ->> 'resource' AS resource;
RESET specstar.api_schema;

-- a rolled-back registration leaves nothing behind
BEGIN;
SELECT specstar.register_spec('ghost', '{"type": "object", "properties": {"a": {"type": "string"}}}') ->> 'name' AS name;
ROLLBACK;
SELECT count(*) AS ghost_objects FROM pg_class WHERE relname LIKE 'ghost%';
SELECT count(*) AS ghost_specs FROM specstar.specs WHERE name = 'ghost';

SELECT specstar.drop_spec('memo2');
SELECT specstar.drop_spec('memo');
SELECT specstar.drop_spec('note');
DROP SCHEMA regress_api;
DROP OWNED BY regress_reader, regress_writer;
DROP ROLE regress_reader;
DROP ROLE regress_writer;
SELECT count(*) AS specs_left FROM specstar.specs;
