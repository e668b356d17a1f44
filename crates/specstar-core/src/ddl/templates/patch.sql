CREATE FUNCTION {{fn_patch}}(id uuid, patch jsonb, expected_revision integer DEFAULT NULL)
RETURNS {{view}} LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $specstar$
-- Applies an RFC 6902 JSON Patch to the current document as one new revision. The row
-- is locked while it is read, so no concurrent write slips between read and write.
DECLARE
  _doc jsonb;
  _revision integer;
  _result jsonb;
  _errors jsonb;
  _row {{view}};
BEGIN
  IF $2 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('%s_patch: patch is required', {{spec}}),
      HINT = 'Pass an RFC 6902 array such as [{"op": "replace", "path": "/title", "value": "New"}].';
  END IF;
  SELECT {{payload_t}}, t.revision INTO _doc, _revision FROM {{table}} t WHERE t.id = $1 FOR UPDATE;
  IF NOT FOUND THEN
    -- readable but not writable (access rules): 42501; hidden or unknown: PT404
    PERFORM specstar._raise_if_readable({{spec}}, $1, 'patch');
    PERFORM specstar._raise_missing({{spec}}, $1, NULL, NULL);
  END IF;
  IF $3 IS NOT NULL AND $3 IS DISTINCT FROM _revision THEN
    PERFORM specstar._raise_stale({{spec}}, $1, $3, _revision);
  END IF;
  _result := specstar._json_patch(_doc, $2);
  IF _result ? 'error' THEN
    PERFORM specstar._raise_patch_failure({{spec}}, $1, _result -> 'error');
  END IF;
  _doc := _result -> 'doc';
  _errors := specstar._undeclared({{spec}}, _doc, {{prop_names}});
  IF _errors IS NULL THEN
    _errors := specstar._validate({{vid}}, _doc);
  END IF;
  IF _errors IS NOT NULL THEN
    PERFORM specstar._raise_invalid({{spec}}, _errors);
  END IF;
  UPDATE {{table}} AS t SET {{set_from_d}}
    FROM jsonb_to_record(_doc) AS d({{coldefs}})
   WHERE t.id = $1
    RETURNING {{live_row}} INTO _row;
  RETURN _row;
END
$specstar$
