CREATE FUNCTION {{fn_as_of}}(at timestamptz)
RETURNS SETOF {{view}} LANGUAGE sql STABLE AS $specstar$
  -- The collection as it was at a time: for each id the newest revision with
  -- valid_from <= at, unless that revision is a tombstone. Plain SQL so that the planner
  -- inlines it and pushes PostgREST filters into both branches.
  SELECT {{live_row}} FROM {{table}} t WHERE t.updated_at <= $1
  UNION ALL
  SELECT {{hist_row}} FROM {{history}} h CROSS JOIN LATERAL jsonb_to_record({{hist_data}}) AS d({{coldefs}})
   WHERE h.valid_from <= $1 AND h.valid_to > $1 AND h.op <> 'delete'
$specstar$
