CREATE FUNCTION {{fn_revisions}} RETURNS SETOF {{revision_view}} LANGUAGE sql STABLE AS $specstar$
  -- Plain SQL without SET, so that PostgREST's embedding inlines it; its names are
  -- schema-qualified because an inlined body is parsed under the caller's search_path.
  SELECT * FROM {{revision_view}} r WHERE r.id OPERATOR(pg_catalog.=) $1.id ORDER BY r.revision
$specstar$
