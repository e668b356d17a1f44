CREATE FUNCTION {{fn_discard}}(id uuid)
RETURNS void LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $specstar$
-- Drops a resource's draft; the published resource is untouched.
BEGIN
  DELETE FROM {{draft}} d WHERE d.id = $1;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'PT404',
      MESSAGE = format('%s %s has no draft', {{spec}}, $1),
      HINT = 'Nothing to discard.';
  END IF;
END
$specstar$
