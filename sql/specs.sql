-- The public SQL surface: registering and dropping specs, and erasing history.
-- Planning (checks + generated SQL) happens in Rust (specstar._plan), which returns data;
-- this layer raises and executes, so every error keeps its SQLSTATE.

-- Runs generated statements (a JSON array of SQL texts from specstar._plan), in order.
CREATE FUNCTION specstar._execute(statements jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_stmt text;
BEGIN
  FOR v_stmt IN SELECT jsonb_array_elements_text(statements) LOOP
    EXECUTE v_stmt;
  END LOOP;
END
$$;
REVOKE ALL ON FUNCTION specstar._execute(jsonb) FROM PUBLIC;

-- Every role a spec grants access to must exist (22023 naming /options/roles/...). roles is
-- the plan's [{path, role}] (specstar_core::plan).
CREATE FUNCTION specstar._check_roles(name text, roles jsonb) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_path text;
  v_rolname text;
BEGIN
  FOR v_path, v_rolname IN SELECT r ->> 'path', r ->> 'role' FROM jsonb_array_elements(roles) r LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE pg_roles.rolname = v_rolname) THEN
      PERFORM specstar._raise_spec_errors(name, jsonb_build_array(jsonb_build_object(
        'path', v_path,
        'message', format('%s: role %s does not exist', v_path, v_rolname),
        'hint', 'Create the role first (CREATE ROLE ... NOLOGIN), or name an existing one.')));
    END IF;
  END LOOP;
END
$$;

-- Checks a spec's hooks (plan -> 'hooks'), 22023 naming /options/hooks/<point>/<n>: each must
-- exist with its signature ((jsonb) RETURNS jsonb before a write, RETURNS void after), not
-- live in the API schema (PostgREST would serve it), and be executable by the spec's writers.
CREATE FUNCTION specstar._check_hooks(name text, plan jsonb) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_hook jsonb;
  v_fn regprocedure;
  v_ret regtype;
  v_nsp name;
  v_role text;
  v_problem text;
BEGIN
  FOR v_hook IN SELECT h FROM jsonb_array_elements(plan -> 'hooks') h LOOP
    v_problem := NULL;
    v_fn := to_regprocedure((v_hook ->> 'function') || '(jsonb)');
    IF v_fn IS NULL THEN
      v_problem := format('function %s(jsonb) does not exist', v_hook ->> 'function');
    ELSE
      SELECT p.prorettype::regtype, n.nspname INTO v_ret, v_nsp
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = v_fn;
      IF v_ret::text <> v_hook ->> 'returns' OR (SELECT p.proretset FROM pg_proc p WHERE p.oid = v_fn) THEN
        v_problem := format('%s must return %s, not %s', v_fn, v_hook ->> 'returns', v_ret);
      ELSIF v_nsp = plan ->> 'api_schema' THEN
        v_problem := format('%s is in the API schema %s, where PostgREST would serve it', v_fn, v_nsp);
      ELSE
        SELECT r ->> 'role' INTO v_role FROM jsonb_array_elements(plan -> 'roles') r
         WHERE (r ->> 'path') LIKE '/options/roles/write/%' AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r ->> 'role')
           AND NOT has_function_privilege((r ->> 'role')::regrole, v_fn, 'EXECUTE') LIMIT 1;
        IF v_role IS NOT NULL THEN
          v_problem := format('the write role %s may not execute %s', v_role, v_fn);
        END IF;
      END IF;
    END IF;
    IF v_problem IS NOT NULL THEN
      PERFORM specstar._raise_spec_errors(name, jsonb_build_array(jsonb_build_object(
        'path', v_hook ->> 'path',
        'message', format('%s: %s', v_hook ->> 'path', v_problem),
        'hint', 'A before_write hook is (event jsonb) RETURNS jsonb, an after_write hook (event jsonb) RETURNS void, outside the API schema, executable by the spec''s write roles.')));
    END IF;
  END LOOP;
END
$$;

-- Puts a spec's access rules in force (plan -> 'access', after its tables and behaviour
-- exist): every sql: rule must be one expression (specstar._sql_expression_error) and
-- compile against the spec's table; any statement that fails is 22023 naming the option.
CREATE FUNCTION specstar._apply_access(name text, plan jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_step jsonb;
  v_error text;
BEGIN
  FOR v_step IN SELECT s FROM jsonb_array_elements(plan -> 'sql_rules') s LOOP
    v_error := specstar._sql_expression_error(v_step ->> 'sql');
    IF v_error IS NOT NULL THEN
      PERFORM specstar._raise_spec_errors(name, jsonb_build_array(jsonb_build_object(
        'path', v_step ->> 'path',
        'message', format('%s: %s', v_step ->> 'path', v_error),
        'hint', 'Write one boolean expression over the row''s columns, e.g. "sql:status = ''published''"; qualify your own functions and tables (the rules are compiled with search_path = pg_catalog).')));
    END IF;
  END LOOP;
  FOR v_step IN SELECT s FROM jsonb_array_elements(plan -> 'access') s LOOP
    BEGIN
      EXECUTE v_step ->> 'sql';
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS v_error = MESSAGE_TEXT;
      PERFORM specstar._raise_spec_errors(name, jsonb_build_array(jsonb_build_object(
        'path', v_step ->> 'path',
        'message', format('%s: %s', v_step ->> 'path', v_error),
        'hint', 'An sql: rule is a boolean expression over the spec''s columns (id, revision, created_at, created_by, updated_at, updated_by and its properties); qualify your own functions and tables.')));
    END;
  END LOOP;
END
$$;

-- The API schema of a spec, created (with the comment PostgREST shows as the OpenAPI
-- title and description) when it does not exist yet.
CREATE FUNCTION specstar._ensure_api_schema(api_schema text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF to_regnamespace(quote_ident(api_schema)) IS NULL THEN
    EXECUTE format('CREATE SCHEMA %I', api_schema);
    EXECUTE format('COMMENT ON SCHEMA %I IS %L', api_schema,
      E'specstar API\nResources defined by JSON Schemas (specstar.register_spec). Every change is a revision: '
      || E'see <resource>_revision, and the RPCs <resource>_at, _as_of, _diff, _rollback, _restore and _patch; '
      || E'drafts live in <resource>_draft and are published with <resource>_publish.');
  END IF;
  PERFORM specstar._ensure_graphql(api_schema);
  PERFORM specstar._ensure_admin(api_schema);
END
$$;

-- Registers a spec: its JSON Schema becomes a typed storage table, an append-only
-- history, drafts, the API view api.<name>, the history view api.<name>_revision and the
-- RPC functions. Re-registering an identical spec is a no-op that returns the descriptor;
-- a new version evolves the spec (specstar._evolve_spec).
-- This wrapper only resolves options.migrate as the caller sees it (under the caller's
-- search_path, hence its qualified names); everything else runs in _register_spec with
-- search_path pinned.
CREATE FUNCTION specstar.register_spec(name text, schema jsonb, options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_migrate pg_catalog.regprocedure;
  v_descriptor pg_catalog.jsonb;
BEGIN
  IF pg_catalog.jsonb_typeof(register_spec.options) OPERATOR(pg_catalog.=) 'object'
     AND pg_catalog.jsonb_typeof(pg_catalog.jsonb_extract_path(register_spec.options, 'migrate')) OPERATOR(pg_catalog.=) 'string' THEN
    BEGIN
      v_migrate := pg_catalog.to_regprocedure(pg_catalog.textcat(pg_catalog.jsonb_extract_path_text(register_spec.options, 'migrate'), '(jsonb)'));
    EXCEPTION WHEN OTHERS THEN
      v_migrate := NULL;
    END;
  END IF;
  v_descriptor := specstar._register_spec(register_spec.name, register_spec.schema, register_spec.options, v_migrate);
  IF v_descriptor OPERATOR(pg_catalog.?) 'job' THEN
    PERFORM specstar._job_dispatch();  -- specstar.job_<verb> call the job spec's functions statically
  END IF;
  RETURN v_descriptor;
END
$$;
-- The same, for a schema given as text (a literal, a psql variable, a file's contents): jsonb
-- sorts object keys, so the text is kept beside the version it registered, and the admin page
-- shows properties in the order the author wrote them. (An untyped literal resolves to this
-- overload: PostgreSQL prefers the string category.)
CREATE FUNCTION specstar.register_spec(name text, schema text, options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_descriptor pg_catalog.jsonb;
BEGIN
  v_descriptor := specstar.register_spec(register_spec.name, register_spec.schema::pg_catalog.jsonb, register_spec.options);
  UPDATE specstar.spec_versions v SET source = register_spec.schema
   WHERE v.spec OPERATOR(pg_catalog.=) register_spec.name
     AND v.version OPERATOR(pg_catalog.=) pg_catalog.jsonb_extract_path_text(v_descriptor, 'version')
     AND v.schema OPERATOR(pg_catalog.=) register_spec.schema::pg_catalog.jsonb;
  RETURN v_descriptor;
END
$$;
COMMENT ON FUNCTION specstar.register_spec(text, text, jsonb) IS 'Register a JSON Schema (as text, whose property order is kept for the admin page) as a versioned resource; returns the descriptor.';

COMMENT ON FUNCTION specstar.register_spec(text, jsonb, jsonb) IS 'Register a JSON Schema as a versioned resource; returns the descriptor of what was created.';

CREATE FUNCTION specstar._register_spec(name text, schema jsonb, options jsonb, migrate regprocedure) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_options jsonb := coalesce(_register_spec.options, '{}'::jsonb);
  v_context jsonb;
  v_check jsonb;
  v_plan jsonb;
  v_current record;
  v_migrate text;
  v_vid bigint;
BEGIN
  IF _register_spec.name IS NULL OR _register_spec.schema IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'register_spec: name and schema are required',
      HINT = 'SELECT specstar.register_spec(''article'', ''{"type": "object", "properties": {"title": {"type": "string"}}}'')';
  END IF;
  -- One registration at a time: specs reference each other and share API schemas.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('specstar.register_spec'));
  v_context := pg_catalog.jsonb_build_object(
    'default_api_schema', coalesce(nullif(pg_catalog.current_setting('specstar.api_schema', true), ''), 'api'),
    'specs', coalesce((SELECT pg_catalog.jsonb_agg(s.name ORDER BY s.name) FROM specstar.spec s WHERE s.name <> _register_spec.name), '[]'::jsonb),
    'read_roles', specstar._role_list('specstar.read_roles'),
    'write_roles', specstar._role_list('specstar.write_roles'));
  v_check := specstar._plan(_register_spec.name, _register_spec.schema, v_options, v_context);
  IF NOT (v_check ->> 'ok')::boolean THEN
    PERFORM specstar._raise_spec_errors(_register_spec.name, v_check -> 'errors');
  END IF;

  SELECT s.current_vid AS vid, v.schema, v.options, v.descriptor, v.version INTO v_current
    FROM specstar.spec s JOIN specstar.spec_versions v ON v.vid = s.current_vid
   WHERE s.name = _register_spec.name;
  IF FOUND THEN
    IF v_current.schema = _register_spec.schema AND v_current.options = v_check -> 'options' THEN
      RETURN v_current.descriptor;
    END IF;
    IF (v_current.options ? 'job') <> ((v_check -> 'options') ? 'job') THEN
      RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = pg_catalog.format('/options/job: spec %s %s a job queue; a registered spec cannot %s one', _register_spec.name,
                                    CASE WHEN v_current.options ? 'job' THEN 'is' ELSE 'is not' END,
                                    CASE WHEN v_current.options ? 'job' THEN 'stop being' ELSE 'become' END),
        HINT = 'The job columns are part of the spec''s table: register a job queue as a spec of its own (docs/jobs.md).';
    END IF;
    IF v_check ->> 'version' = v_current.version AND v_current.schema = _register_spec.schema
       AND (v_current.options - ARRAY['roles', 'access', 'events', 'hooks', 'job']) = ((v_check -> 'options') - ARRAY['roles', 'access', 'events', 'hooks', 'job']) THEN
      -- behaviour options alone changed: rebuilt in place, same version, no migrate revisions
      RETURN specstar._rebuild_behaviour(_register_spec.name, _register_spec.schema, v_current.options, v_options, v_context, v_current.vid);
    END IF;
    IF v_check ->> 'version' = v_current.version THEN
      RAISE EXCEPTION USING ERRCODE = 'PT409',
        MESSAGE = pg_catalog.format('spec %s version %s is registered with a different schema or options', _register_spec.name, v_current.version),
        DETAIL = pg_catalog.jsonb_build_object('registered', pg_catalog.jsonb_build_object('schema', v_current.schema, 'options', v_current.options))::text,
        HINT = pg_catalog.format('A changed spec needs a new version: options {"version": "%s"} (with "migrate" when stored documents must change). See docs/drafts-and-migrations.md.',
                                 CASE WHEN v_current.version ~ '^[0-9]+$' THEN (v_current.version::numeric + 1)::text ELSE v_current.version || '.1' END);
    END IF;
    IF EXISTS (SELECT 1 FROM specstar.spec_versions v WHERE v.spec = _register_spec.name AND v.version = v_check ->> 'version') THEN
      RAISE EXCEPTION USING ERRCODE = 'PT409',
        MESSAGE = pg_catalog.format('spec %s: version %s was registered before; the current version is %s', _register_spec.name, v_check ->> 'version', v_current.version),
        HINT = 'Versions only move forward: register the schema under a version label not used before (SELECT version FROM specstar.spec_versions WHERE spec = ... lists them).';
    END IF;
    RETURN specstar._evolve_spec(_register_spec.name, _register_spec.schema, v_options, v_check, v_context, v_current.vid, v_current.version,
                                 _register_spec.migrate);
  END IF;

  IF v_check -> 'options' ? 'migrate' THEN
    v_migrate := specstar._resolve_migrate(_register_spec.name, v_check -> 'options' ->> 'migrate', _register_spec.migrate, current_user::regrole::oid);
  END IF;
  v_vid := pg_catalog.nextval('specstar.spec_versions_vid_seq');
  v_plan := specstar._plan(_register_spec.name, _register_spec.schema, v_options, v_context || pg_catalog.jsonb_build_object('vid', v_vid));
  PERFORM specstar._check_roles(_register_spec.name, v_plan -> 'roles');
  PERFORM specstar._check_hooks(_register_spec.name, v_plan);
  PERFORM specstar._ensure_api_schema(v_plan ->> 'api_schema');
  INSERT INTO specstar.spec_versions (vid, spec, version, schema, options, descriptor, drop_statements, migrate)
  VALUES (v_vid, _register_spec.name, v_plan ->> 'version', _register_spec.schema, v_plan -> 'options', v_plan -> 'descriptor',
          ARRAY(SELECT pg_catalog.jsonb_array_elements_text(v_plan -> 'drop')), v_migrate);
  INSERT INTO specstar.spec (name, current_vid, api_schema)
  VALUES (_register_spec.name, v_vid, v_plan ->> 'api_schema');
  PERFORM specstar._execute(v_plan -> 'create');
  PERFORM specstar._apply_access(_register_spec.name, v_plan);
  PERFORM specstar._notify_pgrst();
  RETURN v_plan -> 'descriptor';
END
$$;

-- Re-registration with the same schema and version where only behaviour options (roles,
-- access) changed: the spec's behaviour (views, functions, triggers, grants, policies) is
-- dropped and created again in one transaction, with the tables locked so that no write
-- runs under half of the rules. No new version, no migrate revisions.
CREATE FUNCTION specstar._rebuild_behaviour(name text, schema jsonb, old_options jsonb, options jsonb, context jsonb, vid bigint)
RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_spec text := _rebuild_behaviour.name;
  v_migrates boolean;
  v_as_is jsonb;
  v_old jsonb;
  v_plan jsonb;
  v_role text;
BEGIN
  -- the versions whose documents this one reads unchanged, as when it was registered
  SELECT v.migrate IS NOT NULL INTO v_migrates FROM specstar.spec_versions v WHERE v.vid = _rebuild_behaviour.vid;
  v_as_is := CASE WHEN v_migrates THEN '[]'::jsonb ELSE (
    SELECT coalesce(jsonb_agg(v.version ORDER BY v.vid), '[]'::jsonb) FROM specstar.spec_versions v
     WHERE v.spec = v_spec AND v.vid < _rebuild_behaviour.vid
       AND v.vid >= coalesce((SELECT max(m.vid) FROM specstar.spec_versions m
                               WHERE m.spec = v_spec AND m.migrate IS NOT NULL AND m.vid < _rebuild_behaviour.vid), 0))
  END;
  v_old := specstar._plan(v_spec, schema, old_options, context || jsonb_build_object('vid', _rebuild_behaviour.vid, 'as_is_versions', v_as_is));
  v_plan := specstar._plan(v_spec, schema, options, context || jsonb_build_object('vid', _rebuild_behaviour.vid, 'as_is_versions', v_as_is));
  IF NOT (v_plan ->> 'ok')::boolean THEN
    PERFORM specstar._raise_spec_errors(v_spec, v_plan -> 'errors');
  END IF;
  IF NOT (v_old ->> 'ok')::boolean THEN
    RAISE EXCEPTION 'specstar: the registered options of spec % no longer plan: %', v_spec, v_old -> 'errors';
  END IF;
  PERFORM specstar._check_roles(v_spec, v_plan -> 'roles');
  PERFORM specstar._check_hooks(v_spec, v_plan);
  PERFORM specstar._ensure_api_schema(v_plan ->> 'api_schema');
  EXECUTE format('LOCK TABLE specstar_data.%I, specstar_data.%I, specstar_data.%I IN ACCESS EXCLUSIVE MODE',
                 v_spec, v_spec || '_revision', v_spec || '_draft');
  PERFORM specstar._execute(v_old -> 'drop_behaviour');
  -- the tables stay: the old roles lose their grants on them (the new behaviour grants again)
  FOR v_role IN
    SELECT DISTINCT r ->> 'role' FROM jsonb_array_elements(v_old -> 'roles') r
     WHERE (r ->> 'path') LIKE '/options/roles/%'
       AND EXISTS (SELECT 1 FROM pg_roles WHERE pg_roles.rolname = r ->> 'role')
  LOOP
    EXECUTE format('REVOKE ALL ON specstar_data.%I, specstar_data.%I, specstar_data.%I FROM %I',
                   v_spec, v_spec || '_revision', v_spec || '_draft', v_role);
  END LOOP;
  PERFORM specstar._execute(v_plan -> 'behaviour');
  PERFORM specstar._apply_access(v_spec, v_plan);
  UPDATE specstar.spec_versions v SET options = v_plan -> 'options', descriptor = v_plan -> 'descriptor',
         drop_statements = ARRAY(SELECT jsonb_array_elements_text(v_plan -> 'drop'))
   WHERE v.vid = _rebuild_behaviour.vid;
  UPDATE specstar.spec s SET api_schema = v_plan ->> 'api_schema' WHERE s.name = v_spec;
  PERFORM specstar._notify_pgrst();
  RETURN v_plan -> 'descriptor';
END
$$;

-- Evolves a registered spec to a new version in one transaction (DESIGN §6), called by
-- register_spec. Without options.migrate only compatible changes pass (PT409 lists the
-- others). With it, every live resource gets a `migrate` revision holding its document as
-- the function returns it, and every draft is rewritten in place; a returned document that
-- fails the new version aborts everything (PT422 naming the resource). Old revisions keep
-- their stored data and schema_version: readers pass them through specstar._upgrade.
CREATE FUNCTION specstar._evolve_spec(name text, schema jsonb, options jsonb, checked jsonb, context jsonb,
                                      current_vid bigint, current_version text, migrate regprocedure) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_spec text := _evolve_spec.name;
  v_version text := checked ->> 'version';
  v_migrate text;
  v_as_is jsonb;
  v_vid bigint;
  v_plan jsonb;
  v_evolve jsonb;
  v_list text;
  v_detail jsonb;
  v_col text;
  v_live bigint;
  v_drafts bigint;
  v_declared text[];
  v_bad record;
  v_role text;
BEGIN
  IF checked -> 'options' ? 'migrate' THEN
    v_migrate := specstar._resolve_migrate(v_spec, checked -> 'options' ->> 'migrate', _evolve_spec.migrate,
      (SELECT c.relowner FROM pg_class c WHERE c.relnamespace = 'specstar_data'::regnamespace AND c.relname = v_spec));
  END IF;
  -- versions whose documents read unchanged under the new one: none when it migrates,
  -- else every version since the last one that did
  v_as_is := CASE WHEN v_migrate IS NOT NULL THEN '[]'::jsonb ELSE (
    SELECT coalesce(jsonb_agg(v.version ORDER BY v.vid), '[]'::jsonb) FROM specstar.spec_versions v
     WHERE v.spec = v_spec
       AND v.vid >= coalesce((SELECT max(m.vid) FROM specstar.spec_versions m WHERE m.spec = v_spec AND m.migrate IS NOT NULL), 0))
  END;
  v_vid := nextval('specstar.spec_versions_vid_seq');
  v_plan := specstar._plan(v_spec, _evolve_spec.schema, _evolve_spec.options, context || jsonb_build_object(
    'vid', v_vid,
    'as_is_versions', v_as_is,
    'current', (SELECT jsonb_build_object('schema', v.schema, 'options', v.options, 'descriptor', v.descriptor)
                  FROM specstar.spec_versions v WHERE v.vid = current_vid)));
  IF NOT (v_plan ->> 'ok')::boolean THEN
    PERFORM specstar._raise_spec_errors(v_spec, v_plan -> 'errors');
  END IF;
  v_evolve := v_plan -> 'evolve';

  IF v_migrate IS NULL THEN
    SELECT string_agg(format('%s (%s)', c ->> 'path', c ->> 'what'), ', ' ORDER BY c ->> 'path'), jsonb_agg(c ORDER BY c ->> 'path')
      INTO v_list, v_detail
      FROM jsonb_array_elements(v_evolve -> 'changes') c WHERE (c ->> 'needs_migrate')::boolean;
    IF v_list IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'PT409',
        MESSAGE = format('spec %s cannot change from version %s to %s without a migrate function: %s', v_spec, current_version, v_version, v_list),
        DETAIL = v_detail::text,
        HINT = format('Write a function (doc jsonb) RETURNS jsonb that turns a version %s document into a version %s one, and name it in the options: {"version": "%s", "migrate": "my_fn"}.',
                      current_version, v_version, v_version);
    END IF;
    -- a removed property may go without a migrate function only while it holds no data
    FOR v_col IN SELECT jsonb_array_elements_text(v_evolve -> 'removed') LOOP
      EXECUTE format('SELECT count(*) FROM specstar_data.%I t WHERE t.%I IS NOT NULL', v_spec, v_col) INTO v_live;
      EXECUTE format('SELECT count(*) FROM specstar_data.%I t WHERE t.%I IS NOT NULL', v_spec || '_draft', v_col) INTO v_drafts;
      IF v_live + v_drafts > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'PT409',
          MESSAGE = format('spec %s cannot drop property %s in version %s: %s resource(s) and %s draft(s) hold a value',
                           v_spec, v_col, v_version, v_live, v_drafts),
          DETAIL = jsonb_build_object('path', '/properties/' || replace(replace(v_col, '~', '~0'), '/', '~1'),
                                      'resources', v_live, 'drafts', v_drafts)::text,
          HINT = format('Name a migrate function that moves or drops the value ({"version": "%s", "migrate": "my_fn"}), or clear it first.', v_version);
      END IF;
    END LOOP;
  END IF;

  PERFORM specstar._check_roles(v_spec, v_plan -> 'roles');
  PERFORM specstar._check_hooks(v_spec, v_plan);
  PERFORM specstar._ensure_api_schema(v_plan ->> 'api_schema');
  INSERT INTO specstar.spec_versions (vid, spec, version, schema, options, descriptor, drop_statements, migrate)
  VALUES (v_vid, v_spec, v_version, _evolve_spec.schema, v_plan -> 'options', v_plan -> 'descriptor',
          ARRAY(SELECT jsonb_array_elements_text(v_plan -> 'drop')), v_migrate);
  -- nobody writes while the data moves
  EXECUTE format('LOCK TABLE specstar_data.%I, specstar_data.%I, specstar_data.%I IN ACCESS EXCLUSIVE MODE',
                 v_spec, v_spec || '_revision', v_spec || '_draft');

  IF v_migrate IS NOT NULL THEN
    -- every document through the migrate function, checked against the new version,
    -- before anything changes (a job's payload: its job columns stay as they are, and its
    -- history keeps them)
    EXECUTE format(
      'CREATE TEMP TABLE specstar_migrated ON COMMIT DROP AS
         SELECT t.id, t.revision, t._parent, t._op, t._message, t._version, t.created_at, t.created_by,
                t.updated_at, t.updated_by, x.old_data, %s(specstar._payload(t.*, %s)) AS data
           FROM specstar_data.%I t CROSS JOIN LATERAL (SELECT specstar._doc(t.*, %s) AS old_data) x',
      v_migrate, current_vid, v_spec, current_vid);
    EXECUTE format(
      'CREATE TEMP TABLE specstar_migrated_drafts ON COMMIT DROP AS
         SELECT d.id, %s(specstar._draft_doc(to_jsonb(d.*))) AS data FROM specstar_data.%I d',
      v_migrate, v_spec || '_draft');
    v_declared := ARRAY(SELECT jsonb_array_elements_text(v_evolve -> 'declared'));
    FOR v_bad IN
      SELECT x.kind, x.id, x.errors FROM (
        SELECT 1 AS n, 'resource' AS kind, m.id, specstar._migrated_errors(v_spec, v_vid, m.data, v_declared, false) AS errors
          FROM pg_temp.specstar_migrated m
        UNION ALL
        SELECT 2, 'draft', d.id, specstar._migrated_errors(v_spec, v_vid, d.data, v_declared, true)
          FROM pg_temp.specstar_migrated_drafts d) x
       WHERE x.errors IS NOT NULL ORDER BY x.n, x.id LIMIT 1
    LOOP
      PERFORM specstar._raise_invalid(v_spec, v_bad.errors,
        format('%s %s%s as %s returns it for version %s', v_spec, CASE WHEN v_bad.kind = 'draft' THEN 'draft ' ELSE '' END,
               v_bad.id, v_migrate, v_version));
    END LOOP;
    -- the revisions being superseded go to the history as they are (old version, old data)
    PERFORM set_config('specstar.internal_history_write', 'on', true);
    EXECUTE v_evolve ->> 'copy_history';
    PERFORM set_config('specstar.internal_history_write', '', true);
  END IF;

  PERFORM specstar._execute(v_evolve -> 'drop_behaviour');
  -- the tables stay: the roles of the old version lose their grants on them (the new
  -- behaviour grants the new version's roles again)
  FOR v_role IN
    SELECT r.rolname FROM jsonb_array_elements_text(v_evolve -> 'revoke_roles') AS r(rolname)
     WHERE EXISTS (SELECT 1 FROM pg_roles WHERE pg_roles.rolname = r.rolname)
  LOOP
    EXECUTE format('REVOKE ALL ON specstar_data.%I, specstar_data.%I, specstar_data.%I FROM %I',
                   v_spec, v_spec || '_revision', v_spec || '_draft', v_role);
  END LOOP;
  PERFORM specstar._execute(v_evolve -> 'before');
  IF v_migrate IS NOT NULL THEN
    EXECUTE v_evolve ->> 'rewrite_live'
      USING coalesce(specstar.current_message(), format('migrated from version %s to %s by %s', current_version, v_version, v_migrate));
    -- the migrate revisions are events too (the feed's triggers are rebuilt meanwhile)
    IF coalesce(v_plan -> 'options' -> 'events' ->> 'feed', 'false') = 'true' THEN
      PERFORM specstar._feed_now(v_spec, ARRAY(SELECT m.id FROM pg_temp.specstar_migrated m ORDER BY m.id),
                                 ARRAY(SELECT m.revision + 1 FROM pg_temp.specstar_migrated m ORDER BY m.id), 'migrate',
                                 coalesce((v_plan -> 'options' -> 'events' ->> 'notify')::boolean, false));
    END IF;
    EXECUTE v_evolve ->> 'rewrite_drafts';
    DROP TABLE pg_temp.specstar_migrated, pg_temp.specstar_migrated_drafts;
  END IF;
  PERFORM specstar._execute(v_evolve -> 'after');
  PERFORM specstar._execute(v_evolve -> 'create_behaviour');
  PERFORM specstar._apply_access(v_spec, v_plan);
  UPDATE specstar.spec s SET current_vid = v_vid, api_schema = v_plan ->> 'api_schema' WHERE s.name = v_spec;
  -- The search index follows: rebuilt when its fields or language changed, or when migrate
  -- rewrote the documents (the triggers that feed it were dropped meanwhile).
  IF (v_evolve ->> 'rebuild_search')::boolean THEN
    PERFORM specstar._search_rebuild(v_spec);
  END IF;
  PERFORM specstar._notify_pgrst();
  RETURN v_plan -> 'descriptor';
END
$$;

-- Why a migrated document cannot be stored under spec version vid (NULL: it can).
CREATE FUNCTION specstar._migrated_errors(spec text, vid bigint, doc jsonb, declared text[], draft boolean) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE
    WHEN jsonb_typeof(doc) IS DISTINCT FROM 'object' THEN jsonb_build_array(jsonb_build_object(
      'path', '', 'keyword', 'type',
      'message', format('the migrate function returned %s, not a JSON object', coalesce(jsonb_typeof(doc), 'NULL'))))
    ELSE coalesce(specstar._undeclared(spec, doc, declared),
                  CASE WHEN draft THEN specstar._validate_draft(vid, doc) ELSE specstar._validate(vid, doc) END)
  END
$$;

-- Drops every object a spec created. Refuses while the spec holds resources, history or drafts,
-- unless drop_data => true, and while another spec references it.
CREATE FUNCTION specstar.drop_spec(name text, drop_data boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_spec specstar.spec;
  v_job boolean;
  v_refs text;
  v_live bigint;
  v_history bigint;
  v_drafts bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('specstar.register_spec'));
  v_spec := specstar._spec(drop_spec.name);
  SELECT string_agg(DISTINCT c.conrelid::regclass::text, ', ') INTO v_refs
    FROM pg_constraint c
   WHERE c.contype = 'f' AND c.confrelid = format('specstar_data.%I', v_spec.name)::regclass AND c.conrelid <> c.confrelid;
  IF v_refs IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'PT409',
      MESSAGE = format('spec %s is referenced by %s', v_spec.name, v_refs),
      HINT = 'Drop the referencing specs first.';
  END IF;
  IF NOT coalesce(drop_spec.drop_data, false) THEN
    EXECUTE format('SELECT count(*) FROM specstar_data.%I', v_spec.name) INTO v_live;
    EXECUTE format('SELECT count(*) FROM specstar_data.%I', v_spec.name || '_revision') INTO v_history;
    EXECUTE format('SELECT count(*) FROM specstar_data.%I', v_spec.name || '_draft') INTO v_drafts;
    IF v_live > 0 OR v_history > 0 OR v_drafts > 0 THEN
      RAISE EXCEPTION USING ERRCODE = 'PT409',
        MESSAGE = format('spec %s still holds %s resource(s), %s past revision(s) and %s draft(s)', v_spec.name, v_live, v_history, v_drafts),
        HINT = format('SELECT specstar.drop_spec(%L, drop_data => true) deletes them with the spec.', v_spec.name);
    END IF;
  END IF;
  SELECT v.descriptor ? 'job' INTO v_job FROM specstar.spec_versions v WHERE v.vid = v_spec.current_vid;
  PERFORM specstar._execute(to_jsonb(v.drop_statements)) FROM specstar.spec_versions v WHERE v.vid = v_spec.current_vid;
  PERFORM specstar._search_forget(v_spec.name);
  PERFORM specstar._feed_forget(v_spec.name, NULL, NULL);
  DELETE FROM specstar.spec_versions v WHERE v.spec = v_spec.name;
  DELETE FROM specstar.spec s WHERE s.name = v_spec.name;
  -- the API schema's GraphQL endpoint and admin page go with its last spec (so that the schema can be dropped)
  IF NOT EXISTS (SELECT 1 FROM specstar.spec s WHERE s.api_schema = v_spec.api_schema) THEN
    EXECUTE format('DROP FUNCTION IF EXISTS %I.graphql(text, jsonb, text, jsonb), %I.graphql_sdl(), %I.admin(), %I.admin_specs()',
      v_spec.api_schema, v_spec.api_schema, v_spec.api_schema, v_spec.api_schema);
    EXECUTE format('DROP DOMAIN IF EXISTS %I.%I', v_spec.api_schema, 'text/html');
  END IF;
  IF v_job THEN
    PERFORM specstar._job_dispatch();
  END IF;
  PERFORM specstar._notify_pgrst();
END
$$;
COMMENT ON FUNCTION specstar.drop_spec(text, boolean) IS 'Drop a spec and every object it created (drop_data => true to delete its resources and history too).';

-- Erases a resource and its whole history (retention, erasure requests). Returns the
-- number of revisions erased.
CREATE FUNCTION specstar.purge(spec text, id uuid) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_live integer;
  v_erased integer;
BEGIN
  PERFORM specstar._spec(purge.spec);
  -- Deleting the live row appends its revision and a tombstone; both go with the rest.
  EXECUTE format('DELETE FROM specstar_data.%I t WHERE t.id = $1', purge.spec) USING purge.id;
  GET DIAGNOSTICS v_live = ROW_COUNT;
  PERFORM set_config('specstar.internal_history_write', 'on', true);
  EXECUTE format('DELETE FROM specstar_data.%I h WHERE h.id = $1', purge.spec || '_revision') USING purge.id;
  GET DIAGNOSTICS v_erased = ROW_COUNT;
  PERFORM set_config('specstar.internal_history_write', '', true);
  -- an erased resource leaves no working copy behind either, and no event
  EXECUTE format('DELETE FROM specstar_data.%I d WHERE d.id = $1', purge.spec || '_draft') USING purge.id;
  PERFORM specstar._feed_forget(purge.spec, purge.id, NULL);
  IF v_erased = 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'PT404',
      MESSAGE = format('%s %s not found', purge.spec, purge.id),
      HINT = 'Nothing to purge: no resource of this spec has this id.';
  END IF;
  RETURN v_erased - v_live;
END
$$;
COMMENT ON FUNCTION specstar.purge(text, uuid) IS 'Erase a resource and all of its revisions; returns how many revisions were erased.';

-- Keeps the newest keep_last revisions of a resource and erases the older ones.
-- Returns the number of revisions erased.
CREATE FUNCTION specstar.prune(spec text, id uuid, keep_last integer) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_live integer;
  v_max integer;
  v_erased integer;
BEGIN
  PERFORM specstar._spec(prune.spec);
  IF prune.keep_last IS NULL OR prune.keep_last < 1 THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('prune: keep_last must be at least 1, not %s', coalesce(prune.keep_last::text, 'NULL')),
      HINT = 'The current revision is always kept; use specstar.purge to erase a resource entirely.';
  END IF;
  EXECUTE format('SELECT t.revision FROM specstar_data.%I t WHERE t.id = $1', prune.spec) INTO v_live USING prune.id;
  EXECUTE format('SELECT max(h.revision) FROM specstar_data.%I h WHERE h.id = $1', prune.spec || '_revision') INTO v_max USING prune.id;
  IF v_live IS NULL AND v_max IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'PT404',
      MESSAGE = format('%s %s not found', prune.spec, prune.id),
      HINT = 'Nothing to prune: no resource of this spec has this id.';
  END IF;
  PERFORM set_config('specstar.internal_history_write', 'on', true);
  EXECUTE format('DELETE FROM specstar_data.%I h WHERE h.id = $1 AND h.revision <= $2', prune.spec || '_revision')
    USING prune.id, greatest(v_live, v_max) - prune.keep_last;
  GET DIAGNOSTICS v_erased = ROW_COUNT;
  PERFORM set_config('specstar.internal_history_write', '', true);
  PERFORM specstar._feed_forget(prune.spec, prune.id, greatest(v_live, v_max) - prune.keep_last + 1);
  RETURN v_erased;
END
$$;
COMMENT ON FUNCTION specstar.prune(text, uuid, integer) IS 'Keep the newest keep_last revisions of a resource; returns how many older ones were erased.';

-- Administration is for the owner and superusers; users reach specs through the API schema.
REVOKE ALL ON FUNCTION specstar.register_spec(text, jsonb, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar._register_spec(text, jsonb, jsonb, regprocedure) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar._evolve_spec(text, jsonb, jsonb, jsonb, jsonb, bigint, text, regprocedure) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar.drop_spec(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar.purge(text, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar.prune(text, uuid, integer) FROM PUBLIC;
