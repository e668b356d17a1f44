CREATE FUNCTION {{fn_as_of}}(at timestamptz)
RETURNS SETOF {{view}} LANGUAGE sql STABLE AS $specstar$
  -- The collection as it was at a time: for each id the newest revision with
  -- valid_from <= at, unless that revision is a tombstone. Plain SQL without SET, so that
  -- the planner inlines it and pushes PostgREST filters into both branches; its names are
  -- schema-qualified because an inlined body is parsed under the caller's search_path.
  SELECT {{live_row}} FROM {{table}} t WHERE t.updated_at OPERATOR(pg_catalog.<=) $1
  UNION ALL
  SELECT {{hist_row}} FROM {{history}} h CROSS JOIN LATERAL pg_catalog.jsonb_to_record({{hist_data}}) AS d({{coldefs}})
   WHERE h.valid_from OPERATOR(pg_catalog.<=) $1 AND h.valid_to OPERATOR(pg_catalog.>) $1
     AND h.op OPERATOR(pg_catalog.<>) 'delete'::pg_catalog.text
$specstar$
