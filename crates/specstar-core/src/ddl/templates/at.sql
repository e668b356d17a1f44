CREATE FUNCTION {{fn_at}}(id uuid, revision integer DEFAULT NULL, at timestamptz DEFAULT NULL)
RETURNS SETOF {{view}} LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $specstar$
-- One resource: current, at a revision, or as it was at a time.
BEGIN
  IF $2 IS NOT NULL AND $3 IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('%s_at: give either revision or at, not both', {{spec}}),
      HINT = 'Pass revision => n for a revision, or at => timestamp for a point in time.';
  END IF;
  IF $2 IS NULL AND $3 IS NULL THEN
    RETURN QUERY SELECT {{live_row}} FROM {{table}} t WHERE t.id = $1;
  ELSIF $2 IS NOT NULL THEN
    RETURN QUERY
      SELECT {{live_row}} FROM {{table}} t WHERE t.id = $1 AND t.revision = $2
      UNION ALL
      SELECT {{hist_row}} FROM {{history}} h CROSS JOIN LATERAL jsonb_to_record({{hist_data}}) AS d({{coldefs}})
       WHERE h.id = $1 AND h.revision = $2;
  ELSE
    RETURN QUERY
      SELECT {{live_row}} FROM {{table}} t WHERE t.id = $1 AND t.updated_at <= $3
      UNION ALL
      -- the newest stored revision that had begun by then, unless a later one (or the
      -- live row) had already replaced it, or it is a tombstone
      SELECT {{hist_row}}
        FROM (SELECT * FROM {{history}} h0 WHERE h0.id = $1 AND h0.valid_from <= $3
               ORDER BY h0.revision DESC LIMIT 1) h
        CROSS JOIN LATERAL jsonb_to_record({{hist_data}}) AS d({{coldefs}})
       WHERE h.valid_to > $3 AND h.op <> 'delete';
  END IF;
  IF NOT FOUND THEN
    PERFORM specstar._raise_missing({{spec}}, $1, $2, $3);
  END IF;
END
$specstar$
