CREATE FUNCTION {{fn_patch}}(id uuid, patch jsonb, expected_revision integer DEFAULT NULL)
RETURNS {{view}} LANGUAGE plpgsql VOLATILE AS $specstar$
-- Applies an RFC 6902 JSON Patch to the current document as one new revision. The row
-- is locked while it is read, so no concurrent write slips between read and write.
DECLARE
  v_doc jsonb;
  v_revision integer;
  v_result jsonb;
  v_errors jsonb;
  v_row {{view}};
BEGIN
  IF $2 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('%s_patch: patch is required', {{spec}}),
      HINT = 'Pass an RFC 6902 array such as [{"op": "replace", "path": "/title", "value": "New"}].';
  END IF;
  SELECT {{doc_t}}, t.revision INTO v_doc, v_revision FROM {{table}} t WHERE t.id = $1 FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM specstar._raise_missing({{spec}}, $1, NULL, NULL);
  END IF;
  IF $3 IS NOT NULL AND $3 IS DISTINCT FROM v_revision THEN
    PERFORM specstar._raise_stale({{spec}}, $1, $3, v_revision);
  END IF;
  v_result := specstar._json_patch(v_doc, $2);
  IF v_result ? 'error' THEN
    PERFORM specstar._raise_patch_failure({{spec}}, $1, v_result -> 'error');
  END IF;
  v_doc := v_result -> 'doc';
  v_errors := specstar._undeclared({{spec}}, v_doc, {{prop_names}});
  IF v_errors IS NULL THEN
    v_errors := specstar._validate({{vid}}, v_doc);
  END IF;
  IF v_errors IS NOT NULL THEN
    PERFORM specstar._raise_invalid({{spec}}, v_errors);
  END IF;
  UPDATE {{table}} AS t SET {{set_from_d}}
    FROM jsonb_to_record(v_doc) AS d({{coldefs}})
   WHERE t.id = $1
    RETURNING {{live_row}} INTO v_row;
  RETURN v_row;
END
$specstar$
