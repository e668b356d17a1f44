CREATE FUNCTION {{fn_rollback}}(id uuid, to_revision integer, expected_revision integer DEFAULT NULL)
RETURNS {{view}} LANGUAGE plpgsql VOLATILE AS $specstar$
-- Writes a new revision whose data equals to_revision; history is never rewritten.
-- A deleted resource comes back with that data.
DECLARE
  v_data jsonb;
  v_current integer;
  v_tomb integer;
  v_row {{view}};
BEGIN
  IF $2 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('%s_rollback: to_revision is required', {{spec}}),
      HINT = 'Pass to_revision => n, a revision listed in the revision history.';
  END IF;
  v_data := {{data_target}};
  IF v_data IS NULL THEN
    PERFORM specstar._raise_missing({{spec}}, $1, $2, NULL);
  END IF;
  SELECT t.revision INTO v_current FROM {{table}} t WHERE t.id = $1 FOR UPDATE;
  IF v_current IS NULL THEN
    SELECT max(h.revision) INTO v_tomb FROM {{history}} h WHERE h.id = $1;
    IF $3 IS NOT NULL AND $3 IS DISTINCT FROM v_tomb THEN
      PERFORM specstar._raise_stale({{spec}}, $1, $3, v_tomb);
    END IF;
    PERFORM set_config('specstar.internal_op', 'rollback', true);
    INSERT INTO {{table}} AS t (id, {{cols}})
      SELECT $1, {{d_cols}} FROM jsonb_to_record(v_data) AS d({{coldefs}})
      RETURNING {{live_row}} INTO v_row;
  ELSE
    PERFORM set_config('specstar.internal_op', 'rollback', true);
    UPDATE {{table}} AS t SET {{set_from_d}}, revision = coalesce($3, t.revision)
      FROM jsonb_to_record(v_data) AS d({{coldefs}})
     WHERE t.id = $1
      RETURNING {{live_row}} INTO v_row;
  END IF;
  PERFORM set_config('specstar.internal_op', '', true);
  RETURN v_row;
END
$specstar$
