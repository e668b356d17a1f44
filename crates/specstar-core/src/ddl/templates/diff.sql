CREATE FUNCTION {{fn_diff}}(id uuid, from_revision integer, to_revision integer DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $specstar$
-- RFC 6902 patch from one revision's data to another's (default: the current one).
DECLARE
  _from jsonb;
  _to jsonb;
  _patch jsonb;
BEGIN
  IF $2 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('%s_diff: from_revision is required', {{spec}}),
      HINT = 'Pass from_revision => n (and optionally to_revision => m).';
  END IF;
  _from := {{data_from}};
  IF _from IS NULL THEN
    PERFORM specstar._raise_missing({{spec}}, $1, $2, NULL);
  END IF;
  _to := {{data_to}};
  IF _to IS NULL THEN
    PERFORM specstar._raise_missing({{spec}}, $1, $3, NULL);
  END IF;
  _patch := specstar._json_diff(_from, _to);
  IF jsonb_typeof(_patch) = 'object' THEN
    PERFORM specstar._raise(_patch -> 'error');
  END IF;
  RETURN _patch;
END
$specstar$
