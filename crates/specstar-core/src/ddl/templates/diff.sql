CREATE FUNCTION {{fn_diff}}(id uuid, from_revision integer, to_revision integer DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $specstar$
-- RFC 6902 patch from one revision's data to another's (default: the current one).
DECLARE
  v_from jsonb;
  v_to jsonb;
BEGIN
  IF $2 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('%s_diff: from_revision is required', {{spec}}),
      HINT = 'Pass from_revision => n (and optionally to_revision => m).';
  END IF;
  v_from := {{data_from}};
  IF v_from IS NULL THEN
    PERFORM specstar._raise_missing({{spec}}, $1, $2, NULL);
  END IF;
  v_to := {{data_to}};
  IF v_to IS NULL THEN
    PERFORM specstar._raise_missing({{spec}}, $1, $3, NULL);
  END IF;
  RETURN specstar._json_diff(v_from, v_to);
END
$specstar$
