-- The public SQL surface: registering and dropping specs, and erasing history.
-- Planning (checks + generated SQL) happens in Rust (specstar._plan), which returns data;
-- this layer raises and executes, so every error keeps its SQLSTATE.

-- Registers a spec: its JSON Schema becomes a typed storage table, an append-only
-- history, the API view api.<name>, the history view api.<name>_revision and the RPC
-- functions. Re-registering an identical spec is a no-op that returns the descriptor.
CREATE FUNCTION specstar.register_spec(name text, schema jsonb, options jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_context jsonb;
  v_check jsonb;
  v_plan jsonb;
  v_current record;
  v_vid bigint;
  v_stmt text;
  v_kind text;
  v_rolname text;
  v_n bigint;
BEGIN
  IF register_spec.name IS NULL OR register_spec.schema IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'register_spec: name and schema are required',
      HINT = 'SELECT specstar.register_spec(''article'', ''{"type": "object", "properties": {"title": {"type": "string"}}}'')';
  END IF;
  -- One registration at a time: specs reference each other and share API schemas.
  PERFORM pg_advisory_xact_lock(hashtext('specstar.register_spec'));
  v_context := jsonb_build_object(
    'default_api_schema', coalesce(nullif(current_setting('specstar.api_schema', true), ''), 'api'),
    'specs', coalesce((SELECT jsonb_agg(s.name ORDER BY s.name) FROM specstar.spec s WHERE s.name <> register_spec.name), '[]'::jsonb),
    'read_roles', specstar._role_list('specstar.read_roles'),
    'write_roles', specstar._role_list('specstar.write_roles'));
  v_check := specstar._plan(register_spec.name, register_spec.schema, coalesce(register_spec.options, '{}'::jsonb), v_context);
  IF NOT (v_check ->> 'ok')::boolean THEN
    PERFORM specstar._raise_spec_errors(register_spec.name, v_check -> 'errors');
  END IF;

  SELECT v.schema, v.options, v.descriptor, v.version INTO v_current
    FROM specstar.spec s JOIN specstar.spec_versions v ON v.vid = s.current_vid
   WHERE s.name = register_spec.name;
  IF FOUND THEN
    IF v_current.schema = register_spec.schema AND v_current.options = v_check -> 'options' THEN
      RETURN v_current.descriptor;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'PT409',
      MESSAGE = format('spec %s is already registered (version %s) with a different schema or options', register_spec.name, v_current.version),
      DETAIL = jsonb_build_object('registered', jsonb_build_object('schema', v_current.schema, 'options', v_current.options))::text,
      HINT = format('Changing a registered spec is not supported yet. Register it under another name, or SELECT specstar.drop_spec(%L, drop_data => true) and register it again.', register_spec.name);
  END IF;

  v_vid := nextval('specstar.spec_versions_vid_seq');
  v_plan := specstar._plan(register_spec.name, register_spec.schema, coalesce(register_spec.options, '{}'::jsonb),
                           v_context || jsonb_build_object('vid', v_vid));
  FOR v_kind, v_rolname, v_n IN
    SELECT e.k, r.rolname, r.n
      FROM jsonb_each(v_plan -> 'descriptor' -> 'roles') AS e(k, list),
           jsonb_array_elements_text(e.list) WITH ORDINALITY AS r(rolname, n)
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE pg_roles.rolname = v_rolname) THEN
      PERFORM specstar._raise_spec_errors(register_spec.name, jsonb_build_array(jsonb_build_object(
        'path', format('/options/roles/%s/%s', v_kind, v_n - 1),
        'message', format('/options/roles/%s/%s: role %s does not exist', v_kind, v_n - 1, v_rolname),
        'hint', 'Create the role first (CREATE ROLE ... NOLOGIN), or name an existing one.')));
    END IF;
  END LOOP;

  IF to_regnamespace(quote_ident(v_plan ->> 'api_schema')) IS NULL THEN
    EXECUTE format('CREATE SCHEMA %I', v_plan ->> 'api_schema');
    -- the first line is PostgREST's OpenAPI title, the rest its description
    EXECUTE format('COMMENT ON SCHEMA %I IS %L', v_plan ->> 'api_schema',
      E'specstar API\nResources defined by JSON Schemas (specstar.register_spec). Every change is a revision: '
      || E'see <resource>_revision, and the RPCs <resource>_at, _as_of, _diff, _rollback, _restore and _patch.');
  END IF;
  INSERT INTO specstar.spec_versions (vid, spec, version, schema, options, descriptor, drop_statements)
  VALUES (v_vid, register_spec.name, v_plan ->> 'version', register_spec.schema, v_plan -> 'options', v_plan -> 'descriptor',
          ARRAY(SELECT jsonb_array_elements_text(v_plan -> 'drop')));
  INSERT INTO specstar.spec (name, current_vid, api_schema)
  VALUES (register_spec.name, v_vid, v_plan ->> 'api_schema');
  FOR v_stmt IN SELECT jsonb_array_elements_text(v_plan -> 'create') LOOP
    EXECUTE v_stmt;
  END LOOP;
  PERFORM specstar._notify_pgrst();
  RETURN v_plan -> 'descriptor';
END
$$;
COMMENT ON FUNCTION specstar.register_spec(text, jsonb, jsonb) IS 'Register a JSON Schema as a versioned resource; returns the descriptor of what was created.';

-- Drops every object a spec created. Refuses while the spec holds resources or history,
-- unless drop_data => true, and while another spec references it.
CREATE FUNCTION specstar.drop_spec(name text, drop_data boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_spec specstar.spec;
  v_refs text;
  v_live bigint;
  v_history bigint;
  v_stmt text;
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
    IF v_live > 0 OR v_history > 0 THEN
      RAISE EXCEPTION USING ERRCODE = 'PT409',
        MESSAGE = format('spec %s still holds %s resource(s) and %s past revision(s)', v_spec.name, v_live, v_history),
        HINT = format('SELECT specstar.drop_spec(%L, drop_data => true) deletes them with the spec.', v_spec.name);
    END IF;
  END IF;
  FOR v_stmt IN SELECT unnest(v.drop_statements) FROM specstar.spec_versions v WHERE v.vid = v_spec.current_vid LOOP
    EXECUTE v_stmt;
  END LOOP;
  DELETE FROM specstar.spec_versions v WHERE v.spec = v_spec.name;
  DELETE FROM specstar.spec s WHERE s.name = v_spec.name;
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
  RETURN v_erased;
END
$$;
COMMENT ON FUNCTION specstar.prune(text, uuid, integer) IS 'Keep the newest keep_last revisions of a resource; returns how many older ones were erased.';

-- Administration is for the owner and superusers; users reach specs through the API schema.
REVOKE ALL ON FUNCTION specstar.register_spec(text, jsonb, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar.drop_spec(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar.purge(text, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar.prune(text, uuid, integer) FROM PUBLIC;
