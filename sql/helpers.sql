-- Helpers shared by every spec's generated triggers and functions. The _raise_* functions
-- are PL/pgSQL on purpose: SQLSTATEs raised here reach the client unchanged. Every function
-- pins search_path = pg_catalog, pg_temp (docs/security.md): built-in names resolve to
-- pg_catalog whatever the caller's search_path holds, and specstar's own are qualified.

-- Who is writing: the JWT sub PostgREST set, else the current role (the revision trigger
-- computes the same in Rust).
CREATE FUNCTION specstar.current_actor() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', current_user::text)
$$;
COMMENT ON FUNCTION specstar.current_actor() IS 'The actor recorded in created_by/updated_by/changed_by.';

-- The claims of the request's JWT (PostgREST's request.jwt.claims), {} outside PostgREST.
CREATE FUNCTION specstar.current_claims() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb)
$$;
COMMENT ON FUNCTION specstar.current_claims() IS 'The JWT claims of the request (PostgREST), {} outside PostgREST; for sql: access rules.';

-- The actor access rules may treat as an owner: the JWT sub when PostgREST set claims, the
-- database role in a direct session (no claims), and NULL for an anonymous request (claims
-- without a sub): every anonymous request acts as one role, so none of them owns anything.
-- Plain SQL without SET, so that policies inline it into the InitPlan that evaluates it once
-- per statement; every name in it is schema-qualified, as an inlined body is parsed under
-- the caller's search_path.
CREATE FUNCTION specstar._owner_actor() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN NULLIF(pg_catalog.current_setting('request.jwt.claims', true), '') IS NULL THEN CAST(CURRENT_USER AS pg_catalog.text)
              ELSE NULLIF(CAST(pg_catalog.current_setting('request.jwt.claims', true) AS pg_catalog.jsonb) OPERATOR(pg_catalog.->>) 'sub', '') END
$$;

-- The revision message: GUC specstar.message, else PostgREST's X-Specstar-Message header.
CREATE FUNCTION specstar.current_message() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(
    nullif(current_setting('specstar.message', true), ''),
    nullif(current_setting('request.headers', true), '')::jsonb ->> 'x-specstar-message')
$$;
COMMENT ON FUNCTION specstar.current_message() IS 'The message recorded with the next revision (SET specstar.message, or the X-Specstar-Message header).';

CREATE FUNCTION specstar._notify_pgrst() RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
  SELECT pg_notify(coalesce(nullif(current_setting('specstar.pgrst_channel', true), ''), 'pgrst'), 'reload schema')
$$;

-- Raises an error composed by Rust ({sqlstate, message, detail?, hint?}), so that every
-- path words the same condition the same way.
CREATE FUNCTION specstar._raise(error jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF error ? 'detail' AND error ? 'hint' THEN
    RAISE EXCEPTION USING ERRCODE = error ->> 'sqlstate', MESSAGE = error ->> 'message',
      DETAIL = error ->> 'detail', HINT = error ->> 'hint';
  ELSIF error ? 'hint' THEN
    RAISE EXCEPTION USING ERRCODE = error ->> 'sqlstate', MESSAGE = error ->> 'message', HINT = error ->> 'hint';
  ELSIF error ? 'detail' THEN
    RAISE EXCEPTION USING ERRCODE = error ->> 'sqlstate', MESSAGE = error ->> 'message', DETAIL = error ->> 'detail';
  ELSE
    RAISE EXCEPTION USING ERRCODE = error ->> 'sqlstate', MESSAGE = error ->> 'message';
  END IF;
END
$$;

-- PT422: a document fails its spec. errors = [{path, keyword, message}, ...]; subject
-- names the document when it is not a plain one ('article draft <id>').
CREATE FUNCTION specstar._raise_invalid(spec text, errors jsonb, subject text DEFAULT NULL) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
  SELECT specstar._raise(specstar._error_invalid(spec, errors, subject))
$$;

-- PT409: a write expected another revision than the current one.
CREATE FUNCTION specstar._raise_stale(spec text, id uuid, expected integer, current integer) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
  SELECT specstar._raise(specstar._error_stale(spec, id, expected, current))
$$;

-- PT404 with a precise reason: never existed, no such revision, not there at that time, deleted.
CREATE FUNCTION specstar._raise_missing(spec text, id uuid, revision integer, at timestamptz) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_live integer;
  v_min integer;
  v_max integer;
BEGIN
  EXECUTE format('SELECT t.revision FROM specstar_data.%I t WHERE t.id = $1', spec) INTO v_live USING id;
  EXECUTE format('SELECT min(h.revision), max(h.revision) FROM specstar_data.%I h WHERE h.id = $1', spec || '_revision')
    INTO v_min, v_max USING id;
  IF v_live IS NULL AND v_max IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'PT404',
      MESSAGE = format('%s %s not found', spec, id),
      HINT = format('No %s resource ever had this id.', spec);
  ELSIF revision IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'PT404',
      MESSAGE = format('%s %s has no revision %s', spec, id, revision),
      HINT = format('Its revisions run from %s to %s (see %s_revision).', coalesce(v_min, v_live), greatest(v_max, v_live), spec);
  ELSIF at IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'PT404',
      MESSAGE = format('%s %s did not exist at %s', spec, id, at),
      HINT = format('It was created later or was deleted at that time; its revisions are in %s_revision.', spec);
  ELSE
    RAISE EXCEPTION USING ERRCODE = 'PT404',
      MESSAGE = format('%s %s is deleted', spec, id),
      HINT = format('%s_restore(id) brings it back; its history stays in %s_revision.', spec, spec);
  END IF;
END
$$;

-- Called when a writing RPC could not lock the live row of `id`: if the caller can still
-- read it, the access rules refuse the write (42501); otherwise nothing happens (the
-- resource is deleted, hidden or unknown, and the caller goes on to say so).
CREATE FUNCTION specstar._raise_if_readable(spec text, id uuid, action text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_found boolean;
BEGIN
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM specstar_data.%I t WHERE t.id = $1)', spec) INTO v_found USING id;
  IF v_found THEN
    RAISE EXCEPTION USING ERRCODE = '42501',
      MESSAGE = format('%s %s: you may read this resource but not %s it', spec, id, action),
      HINT = 'The spec''s access rules (options.access) decide who may write which resources; see docs/permissions.md.';
  END IF;
END
$$;

-- A JSON Patch that could not be applied: malformed (22023) or not fitting the document (PT409).
CREATE FUNCTION specstar._raise_patch_failure(spec text, id uuid, failure jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF failure ->> 'kind' = 'invalid' THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('%s_patch: %s', spec, failure ->> 'message'),
      HINT = 'A JSON Patch (RFC 6902) is an array of operations such as {"op": "replace", "path": "/title", "value": "New"}.';
  ELSIF failure ->> 'kind' = 'test_failed' THEN
    RAISE EXCEPTION USING ERRCODE = 'PT409',
      MESSAGE = format('%s %s: patch test failed at operation %s (%s); nothing was changed', spec, id, failure ->> 'operation', failure ->> 'path'),
      DETAIL = failure::text,
      HINT = 'The document no longer holds the tested value: read it again and rebuild the patch.';
  ELSE
    RAISE EXCEPTION USING ERRCODE = 'PT409',
      MESSAGE = format('%s %s: patch cannot be applied: %s', spec, id, failure ->> 'message'),
      DETAIL = failure::text,
      HINT = 'An operation names a path the current document does not have: read it again and rebuild the patch.';
  END IF;
END
$$;

-- Properties a document has but the spec does not declare (they have no column to live in).
CREATE FUNCTION specstar._undeclared(spec text, doc jsonb, declared text[]) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT jsonb_agg(jsonb_build_object(
           'path', '/' || replace(replace(k, '~', '~0'), '/', '~1'),
           'keyword', 'additionalProperties',
           'message', format('%s is not a property of spec %s', k, spec)) ORDER BY k)
    FROM jsonb_object_keys(CASE WHEN jsonb_typeof(doc) = 'object' THEN doc ELSE '{}'::jsonb END) k
   WHERE NOT k = ANY (declared)
$$;

-- 22023 for an invalid spec or options. errors = [{path, message, hint}, ...].
CREATE FUNCTION specstar._raise_spec_errors(name text, errors jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = '22023',
    MESSAGE = format('invalid spec %s: %s', name, errors -> 0 ->> 'message'),
    DETAIL = errors::text,
    HINT = errors -> 0 ->> 'hint';
END
$$;

-- Guards revision histories (INSERT/UPDATE/DELETE/TRUNCATE) and live tables (TRUNCATE).
-- The revision trigger writes history below SQL (no triggers fire); specstar's own SQL
-- (purge, prune) passes by a transaction-local flag.
CREATE FUNCTION specstar._append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP <> 'TRUNCATE' AND current_setting('specstar.internal_history_write', true) = 'on' THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  IF TG_OP = 'TRUNCATE' AND TG_TABLE_NAME = TG_ARGV[0] THEN
    RAISE EXCEPTION USING ERRCODE = '42501',
      MESSAGE = format('TRUNCATE of spec %s would bypass its revision history', TG_ARGV[0]),
      HINT = format('DELETE the resources (they become tombstones), or SELECT specstar.drop_spec(%L, drop_data => true).', TG_ARGV[0]);
  END IF;
  IF TG_OP = 'INSERT' THEN
    RAISE EXCEPTION USING ERRCODE = '42501',
      MESSAGE = format('the revision history of spec %s is written by specstar only', TG_ARGV[0]),
      HINT = format('Write %s resources instead: every write appends its own revision.', TG_ARGV[0]);
  END IF;
  RAISE EXCEPTION USING ERRCODE = '42501',
    MESSAGE = format('the revision history of spec %s is append-only: %s is not allowed', TG_ARGV[0], TG_OP),
    HINT = 'History changes only through specstar.purge(spec, id) (erase a resource) or specstar.prune(spec, id, keep_last).';
END
$$;

-- The spec's catalog row, or PT404.
CREATE FUNCTION specstar._spec(name text) RETURNS specstar.spec
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v specstar.spec;
BEGIN
  SELECT * INTO v FROM specstar.spec s WHERE s.name = _spec.name;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'PT404',
      MESSAGE = format('spec %s is not registered', name),
      HINT = 'SELECT name FROM specstar.specs lists the registered specs.';
  END IF;
  RETURN v;
END
$$;

-- Roles listed in a comma-separated GUC, as a JSON array.
CREATE FUNCTION specstar._role_list(guc text) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(jsonb_agg(btrim(r)) FILTER (WHERE btrim(r) <> ''), '[]'::jsonb)
    FROM unnest(string_to_array(coalesce(current_setting(guc, true), ''), ',')) r
$$;

-- PostgREST pre-request hook (db-pre-request = "specstar.pre_request"): revision views are
-- read-only, so a write to one is answered 405 (Allow: GET, HEAD) before PostgreSQL would
-- reject it as a non-updatable view — however the path is encoded (/article%5Frevision
-- names the same view). Call it from your own pre-request function if you have one.
CREATE FUNCTION specstar.pre_request() RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_path text := current_setting('request.path', true);
BEGIN
  IF strpos(v_path, '%') > 0 THEN
    -- percent-decoded, as PostgREST decodes it before it picks the relation
    BEGIN
      v_path := (SELECT convert_from(string_agg(CASE WHEN r.m[1] IS NULL THEN convert_to(r.m[2], 'UTF8')
                                                     ELSE decode(substr(r.m[1], 2), 'hex') END, ''::bytea ORDER BY r.n), 'UTF8')
                   FROM regexp_matches(v_path, '(%[0-9A-Fa-f]{2})|([^%]+|%)', 'g') WITH ORDINALITY AS r(m, n));
    EXCEPTION WHEN character_not_in_repertoire OR untranslatable_character THEN
      RETURN;  -- names no relation PostgREST could serve
    END;
  END IF;
  IF current_setting('request.method', true) IN ('POST', 'PUT', 'PATCH', 'DELETE')
     AND v_path LIKE '/%\_revision'
     AND EXISTS (SELECT 1 FROM specstar.spec s WHERE '/' || s.name || '_revision' = v_path) THEN
    RAISE SQLSTATE 'PGRST' USING
      MESSAGE = json_build_object(
        'code', '42501',
        'message', format('%s is read-only: every write to the resource appends its revision', substr(v_path, 2)),
        'hint', format('Write %s instead; history changes only through specstar.purge and specstar.prune.',
                       substr(v_path, 2, length(v_path) - 10)))::text,
      DETAIL = json_build_object('status', 405, 'headers', json_build_object('Allow', 'GET, HEAD'))::text;
  END IF;
END
$$;
COMMENT ON FUNCTION specstar.pre_request() IS 'PostgREST db-pre-request hook: writes to revision views get 405.';

-- The document of a draft row (to_jsonb of it): spec properties only, NULL meaning absent.
CREATE FUNCTION specstar._draft_doc(draft jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb)
    FROM jsonb_each(draft - ARRAY['id', 'base_revision', 'created_by', 'updated_at', 'updated_by']) e
   WHERE jsonb_typeof(e.value) <> 'null'
$$;

-- A document stored under an earlier version of a spec, passed through the migrate
-- functions of every later version, oldest first (DESIGN §6: old revisions are upgraded
-- lazily, when read). Versions without a migrate function leave documents as they are.
-- Migrate functions run with the reader's rights, so each must still belong to the spec's
-- owner or a superuser (as registration required): a function handed to another role since
-- is refused (42501) rather than run for every reader.
CREATE FUNCTION specstar._upgrade(spec text, from_version text, data jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_fn text;
  v_version text;
  v_oid regprocedure;
  v_data jsonb := data;
BEGIN
  FOR v_fn, v_version IN
    SELECT v.migrate, v.version FROM specstar.spec_versions v
     WHERE v.spec = _upgrade.spec AND v.migrate IS NOT NULL
       AND v.vid > (SELECT f.vid FROM specstar.spec_versions f WHERE f.spec = _upgrade.spec AND f.version = from_version)
     ORDER BY v.vid
  LOOP
    -- the exact (jsonb) function, checked: an exact match is what the call below resolves to
    v_oid := to_regprocedure(v_fn || '(jsonb)');
    IF v_oid IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = '22000',
        MESSAGE = format('spec %s: migrate function %s(jsonb) of version %s is gone', spec, v_fn, v_version),
        HINT = 'Create it again (as the spec''s owner): revisions stored under earlier versions are read through it.';
    END IF;
    PERFORM specstar._check_migrate_owner(spec, v_oid, (
      SELECT c.relowner FROM pg_class c WHERE c.relnamespace = 'specstar_data'::regnamespace AND c.relname = spec));
    EXECUTE format('SELECT %s($1)', v_fn) INTO v_data USING v_data;
    IF jsonb_typeof(v_data) IS DISTINCT FROM 'object' THEN
      RAISE EXCEPTION USING ERRCODE = '22000',
        MESSAGE = format('spec %s: migrate function %s of version %s returned %s for a stored document of version %s',
                         spec, v_fn, v_version, coalesce(jsonb_typeof(v_data), 'NULL'), from_version),
        HINT = 'Migrate functions must turn every document of the previous version into a JSON object.';
    END IF;
  END LOOP;
  RETURN v_data;
END
$$;
COMMENT ON FUNCTION specstar._upgrade(text, text, jsonb) IS 'A stored document of an earlier spec version as the current version reads it (the chain of migrate functions).';

-- A migrate function runs with the rights of whoever reads an old revision, and of the
-- role that registers a new version: it must belong to the spec's owner (the owner of its
-- tables, or the registering role for a new spec) or to a superuser, so that no other role
-- can run code as them. 42501 otherwise.
CREATE FUNCTION specstar._check_migrate_owner(spec text, fn regprocedure, spec_owner oid) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_owner oid;
BEGIN
  SELECT p.proowner INTO v_owner FROM pg_proc p WHERE p.oid = fn;
  IF v_owner = spec_owner OR (SELECT r.rolsuper FROM pg_roles r WHERE r.oid = v_owner) THEN
    RETURN;
  END IF;
  RAISE EXCEPTION USING ERRCODE = '42501',
    MESSAGE = format('spec %s: migrate function %s belongs to role %s, which is neither the spec''s owner (%s) nor a superuser',
                     spec, fn, pg_get_userbyid(v_owner), pg_get_userbyid(spec_owner)),
    HINT = format('Migrate functions run with their callers'' rights: ALTER FUNCTION %s OWNER TO %I.', fn, pg_get_userbyid(spec_owner));
END
$$;

-- options.migrate, resolved (by register_spec, under the caller's search_path) to `fn`:
-- a function (jsonb) RETURNS jsonb of a trusted owner. Returns its schema-qualified name,
-- or raises 22023 naming /options/migrate (42501 for an untrusted owner).
CREATE FUNCTION specstar._resolve_migrate(spec text, name text, fn regprocedure, spec_owner oid) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_proc record;
BEGIN
  IF fn IS NULL THEN
    PERFORM specstar._raise_spec_errors(spec, jsonb_build_array(jsonb_build_object(
      'path', '/options/migrate',
      'message', format('/options/migrate: function %s(jsonb) does not exist', name),
      'hint', 'Create it first (CREATE FUNCTION my_fn(doc jsonb) RETURNS jsonb ...) and name it schema-qualified or on the search_path.')));
  END IF;
  SELECT p.proname, n.nspname, p.prorettype, p.proretset, p.prokind INTO v_proc
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = fn;
  IF v_proc.prorettype <> 'jsonb'::regtype OR v_proc.proretset OR v_proc.prokind <> 'f' THEN
    PERFORM specstar._raise_spec_errors(spec, jsonb_build_array(jsonb_build_object(
      'path', '/options/migrate',
      'message', format('/options/migrate: %s must be a function returning one jsonb, not %s%s',
                        fn, CASE WHEN v_proc.proretset THEN 'SETOF ' ELSE '' END, v_proc.prorettype::regtype),
      'hint', 'A migrate function takes a document of the previous version and returns it as the new version: (jsonb) RETURNS jsonb.')));
  END IF;
  PERFORM specstar._check_migrate_owner(spec, fn, spec_owner);
  RETURN format('%I.%I', v_proc.nspname, v_proc.proname);
END
$$;

-- Called by the PL/pgSQL probe below: records which error-context callback is PL/pgSQL's
-- (src/caller.rs), so that the revision trigger can tell which function is writing.
CREATE FUNCTION specstar._plpgsql_frame_probe() RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN specstar._note_plpgsql_frame('specstar._plpgsql_frame_probe()'::regprocedure);
END
$$;

-- One of an API schema's endpoints (<api>.graphql, <api>.admin, ...), created once: a SQL
-- function named `name` whose body calls into specstar, dropped with the extension, and
-- executable by PUBLIC or only by the roles a spec grants it to (ddl/grants.rs). arg_types is
-- its signature as to_regprocedure reads it, params its parameter list as CREATE writes it.
CREATE FUNCTION specstar._ensure_api_function(api_schema text, name text, arg_types text, params text,
    returns text, volatility text, body text, public boolean, comment text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  fn text := format('%I.%I(%s)', api_schema, name, arg_types);
BEGIN
  IF to_regprocedure(fn) IS NOT NULL THEN
    RETURN;
  END IF;
  EXECUTE format('CREATE FUNCTION %I.%I(%s) RETURNS %s LANGUAGE sql %s AS %L',
    api_schema, name, params, returns, volatility, body);
  EXECUTE format('ALTER FUNCTION %s DEPENDS ON EXTENSION specstar', fn);
  EXECUTE format(CASE WHEN public THEN 'GRANT EXECUTE ON FUNCTION %s TO PUBLIC'
                      ELSE 'REVOKE ALL ON FUNCTION %s FROM PUBLIC' END, fn);
  EXECUTE format('COMMENT ON FUNCTION %s IS %L', fn, comment);
END
$$;
