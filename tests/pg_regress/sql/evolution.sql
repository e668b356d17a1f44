-- Evolving a spec: register_spec with a new version. Compatible changes need only the new
-- version; anything else needs a migrate function, which rewrites every live resource (as a
-- `migrate` revision) and every draft in the same transaction. Old revisions keep their
-- data and schema_version and are read through the chain of migrate functions.
\set SHOW_CONTEXT never

-- version 1, with history, a deleted resource and a draft
SELECT specstar.register_spec('task', '{"type": "object",
  "properties": {"title": {"type": "string"}, "state": {"enum": ["open", "done"]},
                 "hours": {"type": "integer"}, "note": {"type": "string"}},
  "required": ["title", "state"]}') ->> 'version' AS version;
INSERT INTO api.task (id, title, state, hours) VALUES
  ('00000000-0000-0000-0000-000000000001', 'Write', 'open', 3),
  ('00000000-0000-0000-0000-000000000002', 'Test', 'open', NULL),
  ('00000000-0000-0000-0000-000000000003', 'Ship', 'open', 1);
UPDATE api.task SET state = 'done' WHERE id = '00000000-0000-0000-0000-000000000001';
DELETE FROM api.task WHERE id = '00000000-0000-0000-0000-000000000003';
INSERT INTO api.task_draft (id, title) VALUES ('00000000-0000-0000-0000-000000000002', 'Test more');
SELECT clock_timestamp() AS under_v1 \gset

-- version 2: compatible changes only (an optional property, one with a default, `required`
-- dropped, an enum widened, an index, a description): no migrate function, no revision
SELECT specstar.register_spec('task', '{"type": "object",
  "properties": {"title": {"type": "string", "description": "What to do"},
                 "state": {"enum": ["open", "done", "blocked"]},
                 "hours": {"type": "integer", "x-index": true}, "note": {"type": "string"},
                 "owner": {"type": "string"}, "priority": {"type": "integer", "default": 2}},
  "required": ["title"]}', '{"version": "2"}') ->> 'version' AS version;
SELECT id, title, state, hours, owner, priority, revision FROM api.task ORDER BY id;
SELECT count(*) AS revisions FROM api.task_revision;
-- the new version's rules apply to new writes
UPDATE api.task SET state = 'blocked', owner = 'ann' WHERE id = '00000000-0000-0000-0000-000000000002' RETURNING state, owner, revision;
INSERT INTO api.task (id, title, state) VALUES ('00000000-0000-0000-0000-000000000004', 'No state needed now', NULL) RETURNING title, state, priority;
DELETE FROM api.task WHERE title = 'No state needed now';
UPDATE api.task SET state = 'lost' WHERE id = '00000000-0000-0000-0000-000000000002';
\echo :LAST_ERROR_SQLSTATE
SELECT indexdef FROM pg_indexes WHERE schemaname = 'specstar_data' AND tablename = 'task' AND indexname LIKE '%hours%';
-- the draft gained the new columns and kept its data
SELECT id, title, state, owner, priority, base_revision FROM api.task_draft;

-- the same version label with another schema, or an earlier label: PT409, nothing changes
SELECT specstar.register_spec('task', '{"type": "object", "properties": {"title": {"type": "string"}}}', '{"version": "2"}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('task', '{"type": "object", "properties": {"title": {"type": "string"}}}', '{"version": "1"}');
\echo :LAST_ERROR_SQLSTATE

-- incompatible changes without a migrate function: PT409 naming each one
SELECT specstar.register_spec('task', '{"type": "object",
  "properties": {"title": {"type": "string", "maxLength": 40}, "state": {"enum": ["open", "done"]},
                 "hours": {"type": "number"}, "note": {"type": "string"}, "owner": {"type": "string"},
                 "priority": {"type": "integer", "default": 2}, "project": {"type": "string"}},
  "required": ["title", "owner", "project"]}', '{"version": "3"}');
\echo :LAST_ERROR_SQLSTATE
-- a property removed while it holds data: PT409
UPDATE api.task SET note = 'remember' WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT specstar.register_spec('task', '{"type": "object",
  "properties": {"title": {"type": "string"}, "state": {"enum": ["open", "done", "blocked"]},
                 "hours": {"type": "integer"}, "owner": {"type": "string"}, "priority": {"type": "integer", "default": 2}},
  "required": ["title"]}', '{"version": "3"}');
\echo :LAST_ERROR_SQLSTATE
-- a migrate function that does not exist, or is not (jsonb) RETURNS jsonb
SELECT specstar.register_spec('task', '{"type": "object", "properties": {"title": {"type": "string"}}}',
  '{"version": "3", "migrate": "no_such_function"}');
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION task_wrong(doc jsonb) RETURNS text LANGUAGE sql AS 'SELECT doc::text';
SELECT specstar.register_spec('task', '{"type": "object", "properties": {"title": {"type": "string"}}}',
  '{"version": "3", "migrate": "task_wrong"}');
\echo :LAST_ERROR_SQLSTATE
-- nothing of that changed anything
SELECT version FROM specstar.specs WHERE name = 'task';
SELECT version FROM specstar.spec_versions WHERE spec = 'task' ORDER BY vid;
SELECT id, title, state, hours, note, revision FROM api.task ORDER BY id;

-- version 3 with a migrate function: hours become a number of days, note goes into the
-- title, owner becomes required. (The draft of task 2 starts again from its current revision.)
SELECT api.task_discard('00000000-0000-0000-0000-000000000002');
INSERT INTO api.task_draft (id, title) VALUES ('00000000-0000-0000-0000-000000000002', 'Test more') RETURNING base_revision;
CREATE SCHEMA regress_migrations;
CREATE FUNCTION regress_migrations.task_v3(doc jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT (doc - 'hours' - 'note')
         || jsonb_build_object('days', coalesce(round((doc ->> 'hours')::numeric / 8, 3), 0),
                               'owner', coalesce(doc ->> 'owner', 'nobody'))
         || CASE WHEN doc ? 'note' THEN jsonb_build_object('title', (doc ->> 'title') || ' (' || (doc ->> 'note') || ')')
                 ELSE '{}'::jsonb END
$$;
-- (a first try returns a document version 3 refuses: PT422 naming the resource, nothing changes)
CREATE FUNCTION regress_migrations.task_v3_broken(doc jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT regress_migrations.task_v3(doc) - CASE WHEN doc ->> 'title' = 'Test' THEN 'owner' ELSE '' END
$$;
SET search_path = regress_migrations, public;
-- version 3, tried with several migrate functions below
SELECT '{"type": "object",
  "properties": {"title": {"type": "string"}, "state": {"enum": ["open", "done", "blocked"]},
                 "days": {"type": "number", "minimum": 0}, "owner": {"type": "string"},
                 "priority": {"type": "integer", "default": 2}},
  "required": ["title", "owner"]}' AS task_v3 \gset
SELECT specstar.register_spec('task', :'task_v3', '{"version": "3", "migrate": "task_v3_broken"}');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM specstar.specs WHERE name = 'task';
SELECT id, title, hours, note, revision FROM api.task ORDER BY id;
-- a draft the migrate function breaks is named as a draft
CREATE FUNCTION regress_migrations.task_v3_drafts(doc jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT regress_migrations.task_v3(doc) || CASE WHEN doc ->> 'title' = 'Test more' THEN '{"days": -1}'::jsonb ELSE '{}'::jsonb END
$$;
SELECT specstar.register_spec('task', :'task_v3', '{"version": "3", "migrate": "task_v3_drafts"}');
\echo :LAST_ERROR_SQLSTATE
-- a function that returns no object, or a property version 3 does not declare: PT422 too
CREATE FUNCTION regress_migrations.task_v3_null(doc jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$ SELECT NULL::jsonb $$;
SELECT specstar.register_spec('task', :'task_v3', '{"version": "3", "migrate": "task_v3_null"}');
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION regress_migrations.task_v3_extra(doc jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT regress_migrations.task_v3(doc) || '{"colour": "red"}'
$$;
SELECT specstar.register_spec('task', :'task_v3', '{"version": "3", "migrate": "task_v3_extra"}');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM specstar.specs WHERE name = 'task';
-- the real one (found through the search_path, stored schema-qualified)
SET specstar.message = 'hours become days';
SELECT specstar.register_spec('task', :'task_v3', '{"version": "3", "migrate": "task_v3"}') ->> 'version' AS version;
RESET specstar.message;
RESET search_path;
SELECT version, migrate FROM specstar.spec_versions WHERE spec = 'task' ORDER BY vid;
SELECT id, title, state, days, owner, priority, revision FROM api.task ORDER BY id;
-- one `migrate` revision per live resource; the superseded revisions keep their version and data
SELECT id, revision, parent_revision, op, schema_version, data, message
  FROM api.task_revision ORDER BY id, revision;
SELECT count(*) = count(DISTINCT (id, revision)) AS unique_revisions,
       bool_and(valid_to IS NOT DISTINCT FROM next_from) AS contiguous
  FROM (SELECT r.*, lead(r.valid_from) OVER (PARTITION BY r.id ORDER BY r.revision) AS next_from FROM api.task_revision r) h;
-- drafts are rewritten too (no revision); one that started from the superseded revision
-- now starts from the migrate revision
SELECT id, title, days, owner, base_revision FROM api.task_draft;
-- the storage as version 3 has it: days added, hours and note gone, owner NOT NULL
SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
 WHERE table_schema = 'specstar_data' AND table_name = 'task' AND column_name NOT LIKE '\_%' ORDER BY ordinal_position;
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'specstar_data.task'::regclass ORDER BY 1;

-- old revisions read through the chain of migrate functions
SELECT title, state, days, owner, revision FROM api.task_at('00000000-0000-0000-0000-000000000001', revision => 1);
SELECT api.task_diff('00000000-0000-0000-0000-000000000001', 1);
SELECT id, title, days, owner FROM api.task_as_of(:'under_v1') ORDER BY id;
-- rolling back to a version 1 revision under version 3
SELECT title, state, days, owner, revision FROM api.task_rollback('00000000-0000-0000-0000-000000000001', to_revision => 1);
SELECT revision, op, schema_version, data FROM api.task_revision
 WHERE id = '00000000-0000-0000-0000-000000000001' AND revision >= 4 ORDER BY revision;
-- restoring a resource deleted under version 1
SELECT title, days, owner, revision FROM api.task_restore('00000000-0000-0000-0000-000000000003');
-- publishing a draft rewritten by the migration
SELECT id, title, days, owner, base_revision FROM api.task_draft;
SELECT title, days, owner, revision FROM api.task_publish('00000000-0000-0000-0000-000000000002');

-- version 4 without a migrate function: documents of versions 3 and 4 read as they are,
-- older ones still pass through task_v3
SELECT specstar.register_spec('task', '{"type": "object",
  "properties": {"title": {"type": "string"}, "state": {"enum": ["open", "done", "blocked"]},
                 "days": {"type": "number", "minimum": 0}, "owner": {"type": "string"},
                 "priority": {"type": "integer", "default": 2}, "tags": {"type": "array", "items": {"type": "string"}}},
  "required": ["title", "owner"]}', '{"version": "4"}') ->> 'version' AS version;
SELECT title, days, owner, tags, revision FROM api.task_at('00000000-0000-0000-0000-000000000002', revision => 1);
SELECT title, days, owner, revision FROM api.task_at('00000000-0000-0000-0000-000000000002', revision => 3);

-- a new version with other roles: the old ones lose their grants on the tables too
CREATE ROLE regress_task_old NOLOGIN;
CREATE ROLE regress_task_new NOLOGIN;
SELECT specstar.register_spec('gate', '{"type": "object", "properties": {"v": {"type": "integer"}}}',
  '{"roles": {"read": ["regress_task_old"], "write": ["regress_task_old"]}}') IS NOT NULL AS ok;
SELECT specstar.register_spec('gate', '{"type": "object", "properties": {"v": {"type": "integer"}}}',
  '{"version": "2", "roles": {"read": ["regress_task_new"]}}') IS NOT NULL AS ok;
SELECT r.rolname, t.rel, has_table_privilege(r.rolname, t.rel, 'SELECT') AS can_select,
       has_table_privilege(r.rolname, t.rel, 'INSERT') AS can_insert
  FROM (VALUES ('regress_task_old'), ('regress_task_new')) r(rolname),
       (VALUES ('api.gate'), ('specstar_data.gate'), ('specstar_data.gate_revision'), ('specstar_data.gate_draft')) t(rel)
 ORDER BY 1 DESC, 2;
SELECT specstar.drop_spec('gate');
DROP OWNED BY regress_task_old, regress_task_new;
-- a first registration may name a migrate function: checked and recorded, it never runs
SELECT specstar.register_spec('gate', '{"type": "object", "properties": {"v": {"type": "integer"}}}', '{"migrate": "nowhere.fn"}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('gate', '{"type": "object", "properties": {"v": {"type": "integer"}}}', '{"migrate": "regress_migrations.task_v3"}') IS NOT NULL AS ok;
SELECT version, migrate FROM specstar.spec_versions WHERE spec = 'gate';
SELECT specstar.drop_spec('gate');
-- an old revision the migrate chain cannot turn into an object fails to read (22000): the
-- function was checked only against the live documents when the spec evolved
SELECT specstar.register_spec('gate', '{"type": "object", "properties": {"v": {"type": "integer"}}}') IS NOT NULL AS ok;
INSERT INTO api.gate (id, v) VALUES ('00000000-0000-0000-0000-000000000009', 1);
UPDATE api.gate SET v = 2 WHERE id = '00000000-0000-0000-0000-000000000009';
CREATE FUNCTION regress_migrations.gate_v2(doc jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN (doc ->> 'v')::int = 1 THEN '[]'::jsonb ELSE doc || '{"w": "two"}' END
$$;
SELECT specstar.register_spec('gate', '{"type": "object", "properties": {"v": {"type": "integer"}, "w": {"type": "string"}}}',
  '{"version": "2", "migrate": "regress_migrations.gate_v2"}') IS NOT NULL AS ok;
SELECT v, w, revision FROM api.gate;
SELECT * FROM api.gate_at('00000000-0000-0000-0000-000000000009', revision => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.drop_spec('gate', drop_data => true);
DROP ROLE regress_task_old;
DROP ROLE regress_task_new;

SELECT specstar.drop_spec('task', drop_data => true);
SELECT count(*) AS versions_left FROM specstar.spec_versions WHERE spec = 'task';
DROP SCHEMA regress_migrations CASCADE;
DROP FUNCTION task_wrong(jsonb);
