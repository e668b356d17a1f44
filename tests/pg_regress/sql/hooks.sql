-- Hooks (options.hooks, docs/events.md): user functions in the writing transaction, in
-- order; a before hook may change the document (validation runs after it) or refuse the
-- write with its own SQLSTATE, message, detail and hint; an after hook's error undoes the
-- write; RPC writes and publish run hooks with their op; draft saves do not.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_hook_writer') THEN CREATE ROLE regress_hook_writer NOLOGIN; END IF;
END $$;
RESET client_min_messages;
CREATE SCHEMA app;
GRANT USAGE ON SCHEMA app TO regress_hook_writer;
CREATE TABLE app.calls (n serial, hook text, event jsonb);
GRANT INSERT, SELECT ON app.calls TO regress_hook_writer;
GRANT USAGE ON SEQUENCE app.calls_n_seq TO regress_hook_writer;
-- fills the slug from the title
CREATE FUNCTION app.fill_slug(event jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO app.calls (hook, event) VALUES ('fill_slug', event);
  IF event ->> 'op' = 'delete' THEN RETURN NULL; END IF;
  RETURN event -> 'new' || jsonb_build_object('slug', lower(replace(event -> 'new' ->> 'title', ' ', '-')));
END $$;
-- refuses titles with "spam", with its own code, detail and hint; sees what fill_slug wrote
CREATE FUNCTION app.check_title(event jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO app.calls (hook, event) VALUES ('check_title', event);
  IF event -> 'new' ->> 'title' LIKE '%spam%' THEN
    RAISE EXCEPTION USING ERRCODE = 'PT403', MESSAGE = 'no spam in titles',
      DETAIL = format('slug would have been %s', event -> 'new' ->> 'slug'), HINT = 'Write about something else.';
  END IF;
  RETURN NULL;
END $$;
-- after a write: the revision is visible; "undo" in the title makes it fail
CREATE FUNCTION app.audit(event jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO app.calls (hook, event) VALUES ('audit', event || jsonb_build_object('visible_revision',
    (SELECT max(r.revision) FROM api.hk_post_revision r WHERE r.id = (event ->> 'id')::uuid)));
  IF event -> 'new' ->> 'title' LIKE '%undo%' THEN
    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'audit refused the write';
  END IF;
END $$;
CREATE FUNCTION app.bad_signature(event jsonb) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;
GRANT EXECUTE ON FUNCTION app.fill_slug(jsonb), app.check_title(jsonb), app.audit(jsonb) TO regress_hook_writer;

-- registration checks every hook: 22023 naming /options/hooks/<point>/<n>
\set schema '{"type": "object", "properties": {"title": {"type": "string", "minLength": 1}, "slug": {"type": "string", "pattern": "^[a-z0-9-]+$"}}, "required": ["title"]}'
SELECT specstar.register_spec('hk_bad', :'schema', '{"hooks": {"before": ["app.fill_slug"]}}');
SELECT specstar.register_spec('hk_bad', :'schema', '{"hooks": {"before_write": ["fill_slug"]}}');
SELECT specstar.register_spec('hk_bad', :'schema', '{"hooks": {"before_write": ["app.no_such_hook"]}}');
SELECT specstar.register_spec('hk_bad', :'schema', '{"hooks": {"before_write": ["app.bad_signature"]}}');
SELECT specstar.register_spec('hk_bad', :'schema', '{"hooks": {"after_write": ["app.fill_slug"]}}');
SELECT specstar.register_spec('hk_bad', :'schema', '{"roles": {"write": ["regress_hook_writer"]}, "hooks": {"before_write": ["app.fill_slug", "app.bad_signature"]}}');
CREATE FUNCTION app.not_granted(event jsonb) RETURNS void LANGUAGE sql AS $$ SELECT $$;
REVOKE ALL ON FUNCTION app.not_granted(jsonb) FROM PUBLIC;
SELECT specstar.register_spec('hk_bad', :'schema', '{"roles": {"write": ["regress_hook_writer"]}, "hooks": {"after_write": ["app.not_granted"]}}');
CREATE SCHEMA hk_api;
CREATE FUNCTION hk_api.exposed(event jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT NULL::jsonb $$;
SELECT specstar.register_spec('hk_bad', :'schema', '{"api_schema": "hk_api", "hooks": {"before_write": ["hk_api.exposed"]}}');
SELECT count(*) AS nothing_registered FROM specstar.spec WHERE name = 'hk_bad';

SELECT specstar.register_spec('hk_post', :'schema', '{"roles": {"read": ["regress_hook_writer"], "write": ["regress_hook_writer"]},
  "hooks": {"before_write": ["app.fill_slug", "app.check_title"], "after_write": ["app.audit"]}}') ->> 'version' AS version;
SET ROLE regress_hook_writer;
-- the hooks run in order, and the document they return is what is written
INSERT INTO api.hk_post (id, title) VALUES ('00000000-0000-4000-8000-0000000000b1', 'Hello Hooks') RETURNING title, slug, revision;
SELECT hook, event ->> 'op' AS op, event ->> 'revision' AS revision, event -> 'new' ->> 'slug' AS slug_seen, event ->> 'visible_revision' AS visible
  FROM app.calls ORDER BY n;
-- a refusal reaches the client unchanged, and nothing is written
SELECT count(*) AS revisions_before FROM api.hk_post_revision \gset
UPDATE api.hk_post SET title = 'Buy spam now' WHERE id = '00000000-0000-4000-8000-0000000000b1';
\echo :LAST_ERROR_SQLSTATE
-- validation runs after the hooks: a slug a hook makes invalid is refused (PT422)
UPDATE api.hk_post SET title = 'Hello, world!' WHERE id = '00000000-0000-4000-8000-0000000000b1';
\echo :LAST_ERROR_SQLSTATE
-- an after hook's error undoes the write
UPDATE api.hk_post SET title = 'Please undo' WHERE id = '00000000-0000-4000-8000-0000000000b1';
\echo :LAST_ERROR_SQLSTATE
SELECT title, slug, revision FROM api.hk_post;
SELECT count(*) = :revisions_before AS nothing_written FROM api.hk_post_revision;
-- an update that changes nothing writes no revision and runs no hook
RESET ROLE;
TRUNCATE app.calls;
SET ROLE regress_hook_writer;
UPDATE api.hk_post SET title = 'Hello Hooks' WHERE id = '00000000-0000-4000-8000-0000000000b1';
SELECT count(*) AS calls FROM app.calls;
-- RPC writes run the hooks with their op (recognised on the call stack, as for revisions); a delete's document is the old one
UPDATE api.hk_post SET title = 'Hello again' WHERE id = '00000000-0000-4000-8000-0000000000b1';
SELECT title, slug, revision FROM api.hk_post_rollback('00000000-0000-4000-8000-0000000000b1', 1);
DELETE FROM api.hk_post WHERE id = '00000000-0000-4000-8000-0000000000b1';
SELECT title, slug, revision FROM api.hk_post_restore('00000000-0000-4000-8000-0000000000b1');
-- drafts: saving runs no hook; publishing does
INSERT INTO api.hk_post_draft (id, title) VALUES ('00000000-0000-4000-8000-0000000000b1', 'Drafted Title');
SELECT title, slug, revision FROM api.hk_post_publish('00000000-0000-4000-8000-0000000000b1');
SELECT hook, event ->> 'op' AS op, event ->> 'revision' AS revision, event -> 'old' ->> 'title' AS old_title, event -> 'new' ->> 'title' AS new_title,
       event ->> 'actor' AS actor
  FROM app.calls ORDER BY n;
RESET ROLE;

-- hooks change in place (a behaviour option): without them, nothing is called
SELECT specstar.register_spec('hk_post', :'schema', '{"roles": {"read": ["regress_hook_writer"], "write": ["regress_hook_writer"]}}') ->> 'version' AS version;
TRUNCATE app.calls;
UPDATE api.hk_post SET title = 'Quiet now' WHERE id = '00000000-0000-4000-8000-0000000000b1' RETURNING slug;
SELECT count(*) AS calls FROM app.calls;

SELECT specstar.drop_spec('hk_post', drop_data => true);
DROP SCHEMA app CASCADE;
DROP SCHEMA hk_api CASCADE;
