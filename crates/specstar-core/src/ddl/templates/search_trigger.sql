CREATE FUNCTION {{fn_search_trigger}}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $specstar$
-- Feeds the search index of spec {{name}} (specstar._search_feed): new documents from
-- new_rows, tombstones for the old versions in old_rows; updates that leave every
-- searchable property as it was change nothing. Rows go to the index in chunks (a pending
-- row or a segment each): a bulk statement never builds one huge JSON value, and a chunk
-- holds an updated resource's new version with its tombstone.
DECLARE
  _ids uuid[];
  _docs jsonb;
  _n bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    FOR _docs, _n IN SELECT jsonb_agg({{doc_n}}), count(*) FROM (SELECT *, (row_number() OVER ()) / {{chunk}} AS _chunk FROM new_rows) n GROUP BY n._chunk LOOP
      PERFORM specstar._search_feed({{spec}}, {{vid}}, NULL, _docs, _n);
    END LOOP;
  ELSIF TG_OP = 'UPDATE' THEN
    FOR _ids, _docs, _n IN
      SELECT array_agg(n.id), jsonb_agg({{doc_n}}), count(*)
        FROM (SELECT n.*, (row_number() OVER ()) / {{chunk}} AS _chunk
                FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {{tuple_n}} IS DISTINCT FROM {{tuple_o}}) n
       GROUP BY n._chunk
    LOOP
      PERFORM specstar._search_feed({{spec}}, {{vid}}, _ids, _docs, _n);
    END LOOP;
  ELSE
    FOR _ids, _n IN SELECT array_agg(o.id), count(*) FROM (SELECT id, (row_number() OVER ()) / {{chunk}} AS _chunk FROM old_rows) o GROUP BY o._chunk LOOP
      PERFORM specstar._search_feed({{spec}}, {{vid}}, _ids, NULL, _n);
    END LOOP;
  END IF;
  RETURN NULL;
END
$specstar$
