CREATE FUNCTION {{fn_restore}}(id uuid)
RETURNS {{view}} LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $specstar$
-- Brings a deleted resource back with the data of its tombstone (read through the migrate
-- functions of later spec versions), as a new `restore` revision.
DECLARE
  _data jsonb;
  _row {{view}};
BEGIN
  PERFORM 1 FROM {{table}} t WHERE t.id = $1;
  IF FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'PT409',
      MESSAGE = format('%s %s is not deleted', {{spec}}, $1),
      HINT = format('Only deleted resources can be restored; %s_rollback returns to an earlier revision.', {{spec}});
  END IF;
  -- without a live row, the newest revision is the tombstone
  SELECT {{hist_data}} INTO _data FROM {{history}} h
   WHERE h.id = $1 AND h.op = 'delete' ORDER BY h.revision DESC LIMIT 1;
  IF NOT FOUND THEN
    PERFORM specstar._raise_missing({{spec}}, $1, NULL, NULL);
  END IF;
  INSERT INTO {{table}} AS t (id, {{cols}})
    SELECT $1, {{d_cols}} FROM jsonb_to_record(_data) AS d({{coldefs}})
    RETURNING {{live_row}} INTO _row;
  RETURN _row;
END
$specstar$
