CREATE FUNCTION {{fn_rollback}}(id uuid, to_revision integer, expected_revision integer DEFAULT NULL)
RETURNS {{view}} LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $specstar$
-- Writes a new `rollback` revision whose data equals to_revision; history is never
-- rewritten. A deleted resource comes back with that data.
DECLARE
  _data jsonb;
  _current integer;
  _tomb integer;
  _row {{view}};
BEGIN
  IF $2 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('%s_rollback: to_revision is required', {{spec}}),
      HINT = 'Pass to_revision => n, a revision listed in the revision history.';
  END IF;
  _data := {{data_target}};
  IF _data IS NULL THEN
    PERFORM specstar._raise_missing({{spec}}, $1, $2, NULL);
  END IF;
  SELECT t.revision INTO _current FROM {{table}} t WHERE t.id = $1 FOR UPDATE;
  IF NOT FOUND THEN
    -- readable but not writable (access rules): 42501
    PERFORM specstar._raise_if_readable({{spec}}, $1, 'roll back');
  END IF;
  IF _current IS NULL THEN
    SELECT max(h.revision) INTO _tomb FROM {{history}} h WHERE h.id = $1;
    IF $3 IS NOT NULL AND $3 IS DISTINCT FROM _tomb THEN
      PERFORM specstar._raise_stale({{spec}}, $1, $3, _tomb);
    END IF;
    INSERT INTO {{table}} AS t (id, {{cols}})
      SELECT $1, {{d_cols}} FROM jsonb_to_record(_data) AS d({{coldefs}})
      RETURNING {{live_row}} INTO _row;
  ELSE
    UPDATE {{table}} AS t SET {{set_from_d}}, revision = coalesce($3, t.revision)
      FROM jsonb_to_record(_data) AS d({{coldefs}})
     WHERE t.id = $1
      RETURNING {{live_row}} INTO _row;
  END IF;
  RETURN _row;
END
$specstar$
