CREATE FUNCTION {{fn_search}}(q text, top integer DEFAULT 20, skip integer DEFAULT 0)
RETURNS TABLE (id uuid, {{props}}revision integer, created_at timestamptz, created_by text, updated_at timestamptz, updated_by text, score real, highlights jsonb)
LANGUAGE sql STABLE AS $specstar$
  -- Plain SQL without SET, inlined into the caller's query so that filters reach the join;
  -- its names are schema-qualified because an inlined body is parsed under the caller's
  -- search_path. The checks and errors live in specstar._search_hits.
  SELECT t.id, {{t_cols}}t.revision, t.created_at, t.created_by, t.updated_at, t.updated_by, h.score, h.highlights
    FROM specstar._search_hits({{spec}}, $1, $2, $3, true) WITH ORDINALITY AS h(id, score, highlights, n)
    JOIN {{view}} t ON t.id OPERATOR(pg_catalog.=) h.id
   ORDER BY h.n
$specstar$
