-- The property -> column mapping of DESIGN §2: types, NOT NULL, defaults, comments,
-- x-unique, x-index, x-ref with each x-on-delete, and the document every write builds.
\set SHOW_CONTEXT never

SELECT specstar.register_spec('tm_owner', '{"type": "object", "properties": {"name": {"type": "string"}}}') IS NOT NULL AS ok;
SELECT specstar.register_spec('tm', '{
  "title": "Type map",
  "description": "Every mapping in one spec.",
  "type": "object",
  "properties": {
    "s": {"type": "string", "title": "A string", "description": "Plain text"},
    "ts": {"type": "string", "format": "date-time"},
    "d": {"type": "string", "format": "date"},
    "u": {"type": "string", "format": "uuid"},
    "email": {"type": "string", "format": "email", "x-unique": true},
    "i": {"type": "integer", "default": 7, "x-index": true},
    "n": {"type": "number"},
    "b": {"type": "boolean", "default": true},
    "status": {"enum": ["new", "done"], "default": "new"},
    "maybe": {"type": ["string", "null"]},
    "tags": {"type": "array", "items": {"type": "string"}, "default": ["a", "b"]},
    "counts": {"type": "array", "items": {"type": "integer"}},
    "days": {"type": "array", "items": {"type": "string", "format": "date"}},
    "obj": {"type": "object", "default": {"k": null}},
    "mixed": {"type": "array", "items": {"type": "object"}},
    "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    "owner_restrict": {"type": "string", "format": "uuid", "x-ref": "tm_owner"},
    "owner_cascade": {"type": "string", "x-ref": "tm_owner", "x-on-delete": "cascade"},
    "owner_null": {"type": "string", "format": "uuid", "x-ref": "tm_owner", "x-on-delete": "set_null"},
    "parent": {"type": "string", "format": "uuid", "x-ref": "tm"}
  },
  "required": ["s", "i"]
}') IS NOT NULL AS ok;

SELECT column_name, data_type, udt_name, is_nullable, column_default
  FROM information_schema.columns
 WHERE table_schema = 'specstar_data' AND table_name = 'tm'
 ORDER BY ordinal_position;

-- the API view shows the same columns (and none of the internal ones)
SELECT array_agg(column_name::text ORDER BY ordinal_position) AS api_columns
  FROM information_schema.columns WHERE table_schema = 'api' AND table_name = 'tm';

-- comments become OpenAPI descriptions
SELECT obj_description('api.tm'::regclass, 'pg_class') AS view_comment;
SELECT a.attname, col_description('api.tm'::regclass, a.attnum) AS comment
  FROM pg_attribute a WHERE a.attrelid = 'api.tm'::regclass AND a.attnum > 0 AND col_description('api.tm'::regclass, a.attnum) IS NOT NULL
 ORDER BY a.attnum;

-- constraints and indexes
SELECT conname, contype, pg_get_constraintdef(oid) AS definition
  FROM pg_constraint WHERE conrelid = 'specstar_data.tm'::regclass ORDER BY conname;
SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'specstar_data' AND tablename IN ('tm', 'tm_revision') ORDER BY indexname;

-- defaults apply, the document is built from the columns (NULL = absent)
INSERT INTO api.tm (id, s, ts, d, u, email, n, counts, days, mixed, either, maybe)
VALUES ('00000000-0000-0000-0000-000000000001', 'hello', '2024-03-04 05:06:07.5+01', '2024-02-29',
        'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'ada@example.com', 12345678901234567890.50, '{1,2}',
        '{2024-01-01}', '[{"x": 1}]', '"str"', NULL);
SELECT s, i, b, status, tags, obj FROM api.tm;
SELECT jsonb_pretty(data) FROM api.tm_revision;

-- an update stores the old document in the history, built by the revision trigger: it
-- must equal what the views build in SQL
UPDATE api.tm SET i = 8 WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT (SELECT data FROM api.tm_revision WHERE revision = 1) - 'i'
     = (SELECT data FROM api.tm_revision WHERE revision = 2) - 'i' AS same_document;

-- x-unique: unique among live resources
INSERT INTO api.tm (s, i, email) VALUES ('other', 1, 'ada@example.com');
\echo :LAST_ERROR_SQLSTATE
-- a value the column type cannot hold never reaches validation
INSERT INTO api.tm (s, i) VALUES ('x', 'not a number');
\echo :LAST_ERROR_SQLSTATE
-- enum: validation refuses it before the CHECK constraint on the table would
INSERT INTO specstar_data.tm (s, i, status) VALUES ('x', 1, 'other');
\echo :LAST_ERROR_SQLSTATE

-- x-ref: real foreign keys with the declared ON DELETE
INSERT INTO api.tm_owner (id, name) VALUES
  ('00000000-0000-0000-0000-00000000000a', 'restrict me'),
  ('00000000-0000-0000-0000-00000000000b', 'cascade me'),
  ('00000000-0000-0000-0000-00000000000c', 'null me');
INSERT INTO api.tm (id, s, i, owner_restrict) VALUES ('00000000-0000-0000-0000-000000000002', 'r', 1, '00000000-0000-0000-0000-00000000000a');
INSERT INTO api.tm (id, s, i, owner_cascade) VALUES ('00000000-0000-0000-0000-000000000003', 'c', 1, '00000000-0000-0000-0000-00000000000b');
INSERT INTO api.tm (id, s, i, owner_null) VALUES ('00000000-0000-0000-0000-000000000004', 'n', 1, '00000000-0000-0000-0000-00000000000c');
INSERT INTO api.tm (s, i, owner_restrict) VALUES ('dangling', 1, '00000000-0000-0000-0000-0000000000ff');
\echo :LAST_ERROR_SQLSTATE
DELETE FROM api.tm_owner WHERE id = '00000000-0000-0000-0000-00000000000a';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM api.tm_owner WHERE id IN ('00000000-0000-0000-0000-00000000000b', '00000000-0000-0000-0000-00000000000c');
-- the cascaded delete left a tombstone, set_null wrote a new revision
SELECT id, revision, op, data ->> 'owner_null' AS owner_null
  FROM api.tm_revision WHERE id IN ('00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-000000000004')
 ORDER BY id, revision;
SELECT id, owner_null FROM api.tm WHERE id = '00000000-0000-0000-0000-000000000004';
-- a spec may reference itself
UPDATE api.tm SET parent = '00000000-0000-0000-0000-000000000002' WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT parent FROM api.tm WHERE id = '00000000-0000-0000-0000-000000000001';

-- a spec that others reference cannot be dropped
SELECT specstar.drop_spec('tm_owner', drop_data => true);
\echo :LAST_ERROR_SQLSTATE

SELECT specstar.drop_spec('tm', drop_data => true);
SELECT specstar.drop_spec('tm_owner', drop_data => true);
