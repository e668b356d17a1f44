-- The GraphQL endpoint (docs/graphql.md). specstar._graphql_plan (Rust, src/graphql/)
-- parses and validates a request against the caller's schema and compiles it into one SQL
-- statement per root field; specstar._graphql runs them here, in PL/pgSQL, with the
-- caller's rights, so that every SQLSTATE a statement raises reaches the client unchanged
-- (pgrx would turn PT422/PT409/PT404 into XX000). Each API schema gets <api>.graphql and
-- <api>.graphql_sdl (specstar._ensure_graphql), which PostgREST serves at /rpc/graphql.

-- A GraphQL error object for a failure of the root field `key` (NULL: of the request).
-- details is the error's DETAIL parsed as JSON when it is JSON (PT422: the spec's
-- [{path, keyword, message}]); an internal error (XX000) keeps only its first line.
CREATE FUNCTION specstar._graphql_error(code text, message text, detail text, hint text, key text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  _extensions jsonb := jsonb_build_object('code', code);
  _details jsonb;
  _error jsonb;
BEGIN
  IF code = 'XX000' THEN
    message := 'internal error: ' || left(split_part(message, E'\n', 1), 200);
    detail := NULL;
    hint := NULL;
  END IF;
  IF nullif(detail, '') IS NOT NULL THEN
    IF left(ltrim(detail), 1) IN ('{', '[') THEN
      BEGIN
        _details := detail::jsonb;
      EXCEPTION WHEN OTHERS THEN
        _details := to_jsonb(detail);
      END;
    ELSE
      _details := to_jsonb(detail);
    END IF;
    _extensions := _extensions || jsonb_build_object('details', _details);
  END IF;
  IF nullif(hint, '') IS NOT NULL THEN
    _extensions := _extensions || jsonb_build_object('hint', hint);
  END IF;
  _error := jsonb_build_object('message', message);
  IF key IS NOT NULL THEN
    _error := _error || jsonb_build_object('path', jsonb_build_array(key));
  END IF;
  RETURN _error || jsonb_build_object('extensions', _extensions);
END
$$;

-- Runs a GraphQL request against API schema api_schema. Never raises: every outcome is a
-- GraphQL response. Query fields run one by one, each in its own subtransaction (a failing
-- field answers null with an error; a non-null one nulls data). Mutation fields run in
-- document order in one subtransaction: any error rolls all of them back, data is null.
CREATE FUNCTION specstar._graphql(api_schema text, query text, variables jsonb, operation_name text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  _plan jsonb;
  _step jsonb;
  _key text;
  _written jsonb;
  _answer jsonb;
  _data jsonb;
  _errors jsonb;
  _null_data boolean := false;
  _response jsonb;
  _code text;
  _message text;
  _detail text;
  _hint text;
BEGIN
  BEGIN
    _plan := specstar._graphql_plan(api_schema, query, variables, operation_name, current_setting('request.method', true));
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS _code = RETURNED_SQLSTATE, _message = MESSAGE_TEXT, _detail = PG_EXCEPTION_DETAIL, _hint = PG_EXCEPTION_HINT;
    RETURN jsonb_build_object('errors', jsonb_build_array(specstar._graphql_error(_code, _message, _detail, _hint, NULL)));
  END;
  IF _plan ? 'response' THEN
    RETURN _plan -> 'response';
  END IF;
  _data := coalesce(_plan -> 'data', '{}');
  _errors := coalesce(_plan -> 'errors', '[]');
  IF (_plan ->> 'mutation')::boolean THEN
    BEGIN
      FOR _step IN SELECT s.value FROM jsonb_array_elements(_plan -> 'fields') AS s LOOP
        _key := _step ->> 'key';
        EXECUTE _step ->> 'write' INTO _written USING _step -> 'params';
        IF _step ? 'at_most' AND jsonb_array_length(_written) > (_step #>> '{at_most,count}')::bigint THEN
          RAISE EXCEPTION USING ERRCODE = '22000', MESSAGE = _step #>> '{at_most,message}',
            DETAIL = jsonb_build_object('matched', jsonb_array_length(_written), 'atMost', (_step #> '{at_most,count}'))::text,
            HINT = 'Narrow the filter, or raise atMost to the number of records you mean to change.';
        END IF;
        IF _step ? 'read' THEN
          EXECUTE _step ->> 'read' INTO _answer USING _step -> 'params', _written;
        ELSE
          _answer := _written;
        END IF;
        _data := _data || jsonb_build_object(_key, coalesce(_answer, 'null'::jsonb));
      END LOOP;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS _code = RETURNED_SQLSTATE, _message = MESSAGE_TEXT, _detail = PG_EXCEPTION_DETAIL, _hint = PG_EXCEPTION_HINT;
      RETURN jsonb_build_object('data', NULL, 'errors', _errors || specstar._graphql_error(_code, _message, _detail, _hint, _key));
    END;
  ELSE
    FOR _step IN SELECT s.value FROM jsonb_array_elements(_plan -> 'fields') AS s LOOP
      _key := _step ->> 'key';
      BEGIN
        EXECUTE _step ->> 'read' INTO _answer USING _step -> 'params';
      EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS _code = RETURNED_SQLSTATE, _message = MESSAGE_TEXT, _detail = PG_EXCEPTION_DETAIL, _hint = PG_EXCEPTION_HINT;
        _answer := NULL;
        IF NOT coalesce(_step -> 'null_on' ? _code, false) THEN
          _errors := _errors || specstar._graphql_error(_code, _message, _detail, _hint, _key);
          IF NOT (_step ->> 'nullable')::boolean THEN
            _null_data := true;
          END IF;
        END IF;
      END;
      _data := _data || jsonb_build_object(_key, coalesce(_answer, 'null'::jsonb));
    END LOOP;
  END IF;
  _response := jsonb_build_object('data', CASE WHEN _null_data THEN NULL ELSE _data END);
  IF jsonb_array_length(_errors) > 0 THEN
    _response := _response || jsonb_build_object('errors', _errors);
  END IF;
  RETURN _response;
END
$$;

-- delete…(expectedRevision): true when a matched record is at the expected revision, else
-- PT409 (as a write that sets revision gets from the revision trigger).
CREATE FUNCTION specstar._expect_revision(spec text, id uuid, expected integer, current integer) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF expected IS DISTINCT FROM current THEN
    PERFORM specstar._raise_stale(spec, id, expected, current);
  END IF;
  RETURN true;
END
$$;

-- <api>.graphql and <api>.graphql_sdl, created once per API schema (they depend on the
-- extension: DROP EXTENSION takes them along). Spec roles get EXECUTE with their grants.
-- Plain SQL without SET, so that the call is inlined (a SET clause costs every request a GUC
-- nest level): their one call is schema-qualified, and specstar._graphql pins its own path.
CREATE FUNCTION specstar._ensure_graphql(api_schema text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM specstar._ensure_api_function(api_schema, 'graphql', 'text, jsonb, text, jsonb',
    'query text DEFAULT NULL, variables jsonb DEFAULT NULL, "operationName" text DEFAULT NULL, extensions jsonb DEFAULT NULL',
    'jsonb', 'VOLATILE', format('SELECT specstar._graphql(%L::pg_catalog.text, $1, $2, $3)', api_schema), false,
    E'GraphQL\nThe specs of this API as GraphQL (pg_graphql conventions plus history, drafts and search): POST {"query": ..., "variables": {...}}. See docs/graphql.md.');
  PERFORM specstar._ensure_api_function(api_schema, 'graphql_sdl', '', '', 'text', 'STABLE',
    format('SELECT specstar._graphql_sdl(%L::pg_catalog.text)', api_schema), false,
    E'GraphQL schema\nThe GraphQL schema (SDL) as the calling role sees it.');
END
$$;
