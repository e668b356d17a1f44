-- The search oracle of tests/search_load.sh and tests/search_crash.sh: the ids that
-- specstar.search(spec, q, NULL) returns must be exactly the ids a plain SQL scan of the
-- spec's table finds, for many queries; and search_verify must be ok.
--
--   psql -v ON_ERROR_STOP=1 -v spec=NAME -v seed=TEXT -v words=N -v pairs=M -f tests/search_oracle.sql
--
-- The spec's only searchable property is `body`, language simple, ASCII text: the scan's
-- analyzer is lower(body) split on anything that is not a letter or digit. Queries, drawn
-- from the words in the table (seed picks which):
--   word      N words, 3 of them in capitals, and 2 words no text has
--   and, all  M pairs of frequent words, "a AND b" and "a b" (all words must match)
--   or        M pairs "a OR b" (a frequent word, a random one)
--   not       M pairs "a -b" (frequent words)
--   phrase    M two-word phrases "a b" that occur in the table, and M reversed ones
--   prefix    M prefixes "abc*"
-- Besides the id sets: no id twice, scores best first, and top 10 returns min(10, hits).
-- Prints a line per kind of query and each query that differs; fails (an exception) if any.
-- every hit, not the first specstar.search_max_top (1000 by default): superusers may raise it
SET specstar.search_max_top = 10000000;
\set QUIET on
SET client_min_messages = warning;

CREATE TEMP TABLE oracle_docs AS
  SELECT id, array_remove(regexp_split_to_array(lower(coalesce(body, '')), '[^a-z0-9]+'), '') AS toks
    FROM specstar_data.:"spec";
CREATE TEMP TABLE oracle_tokens AS
  SELECT d.id, u.t, u.ord FROM oracle_docs d, unnest(d.toks) WITH ORDINALITY u(t, ord);
CREATE TEMP TABLE oracle_df AS
  SELECT t, count(DISTINCT id) AS df FROM oracle_tokens GROUP BY t;
CREATE TEMP TABLE oracle_frequent AS
  SELECT t FROM oracle_df ORDER BY df DESC, t LIMIT 40;

CREATE TEMP TABLE oracle_q (kind text, q text, a text, b text);
INSERT INTO oracle_q
SELECT 'word', t, t, NULL FROM (SELECT t FROM oracle_df ORDER BY md5(t || :'seed') LIMIT :words - 5) w;
INSERT INTO oracle_q
SELECT 'word', upper(t), t, NULL FROM (SELECT t FROM oracle_df ORDER BY md5(t || :'seed' || 'upper') LIMIT 3) w;
INSERT INTO oracle_q VALUES ('word', 'nosuchword', 'nosuchword', NULL), ('word', 'zz9', 'zz9', NULL);
INSERT INTO oracle_q
SELECT k, CASE k WHEN 'and' THEN a || ' AND ' || b ELSE a || ' ' || b END, a, b
  FROM (SELECT x.t AS a, y.t AS b FROM oracle_frequent x, oracle_frequent y WHERE x.t < y.t
         ORDER BY md5(x.t || y.t || :'seed') LIMIT :pairs) p,
       unnest(ARRAY['and', 'all']) k;
INSERT INTO oracle_q
SELECT 'or', x.t || ' OR ' || y.t, x.t, y.t
  FROM (SELECT t, row_number() OVER (ORDER BY md5(t || :'seed' || 'or')) AS r FROM oracle_frequent) x
  JOIN (SELECT t, row_number() OVER (ORDER BY md5(t || :'seed' || 'or')) AS r FROM oracle_df) y ON y.r = x.r
 WHERE x.r <= :pairs AND x.t <> y.t;
INSERT INTO oracle_q
SELECT 'not', x.t || ' -' || y.t, x.t, y.t FROM oracle_frequent x, oracle_frequent y WHERE x.t <> y.t
 ORDER BY md5(x.t || y.t || :'seed' || 'not') LIMIT :pairs;
INSERT INTO oracle_q
SELECT 'phrase', '"' || a || ' ' || b || '"', a, b
  FROM (SELECT DISTINCT x.t AS a, y.t AS b FROM oracle_tokens x JOIN oracle_tokens y ON y.id = x.id AND y.ord = x.ord + 1) p
 ORDER BY md5(a || b || :'seed') LIMIT :pairs;
INSERT INTO oracle_q
SELECT 'phrase', '"' || b || ' ' || a || '"', b, a FROM oracle_q WHERE kind = 'phrase';
INSERT INTO oracle_q
SELECT DISTINCT 'prefix', left(t, 3) || '*', left(t, 3), NULL
  FROM (SELECT t FROM oracle_df WHERE length(t) > 3 ORDER BY md5(t || :'seed' || 'prefix') LIMIT :pairs) w;

-- the ids whose text matches a query, from its tokens
CREATE INDEX ON oracle_tokens (t);
ANALYZE oracle_tokens;
CREATE FUNCTION pg_temp.oracle_expected(kind text, a text, b text) RETURNS uuid[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_ids uuid[];
BEGIN
  CASE kind
    WHEN 'word' THEN
      v_ids := ARRAY(SELECT id FROM oracle_tokens WHERE t = a);
    WHEN 'and', 'all' THEN
      v_ids := ARRAY(SELECT id FROM oracle_tokens WHERE t = a INTERSECT SELECT id FROM oracle_tokens WHERE t = b);
    WHEN 'or' THEN
      v_ids := ARRAY(SELECT id FROM oracle_tokens WHERE t = a UNION SELECT id FROM oracle_tokens WHERE t = b);
    WHEN 'not' THEN
      v_ids := ARRAY(SELECT id FROM oracle_tokens WHERE t = a EXCEPT SELECT id FROM oracle_tokens WHERE t = b);
    WHEN 'phrase' THEN
      v_ids := ARRAY(SELECT x.id FROM oracle_tokens x JOIN oracle_tokens y ON y.id = x.id AND y.ord = x.ord + 1
                      WHERE x.t = a AND y.t = b);
    WHEN 'prefix' THEN
      v_ids := ARRAY(SELECT id FROM oracle_tokens WHERE left(t, length(a)) = a);
  END CASE;
  RETURN ARRAY(SELECT DISTINCT i FROM unnest(v_ids) i ORDER BY i);
END
$$;

CREATE TEMP TABLE oracle_result AS
SELECT q.kind, q.q, pg_temp.oracle_expected(q.kind, q.a, q.b) AS expected, coalesce(g.ids, '{}') AS got, g.ordered,
       (SELECT count(*) FROM specstar.search(:'spec', q.q, 10)) AS top10
  FROM oracle_q q
  CROSS JOIN LATERAL (SELECT array_agg(s.id ORDER BY s.id) AS ids, coalesce(bool_and(s.ordered), true) AS ordered
                        FROM (SELECT h.id, h.score <= coalesce(lag(h.score) OVER (ORDER BY h.n), h.score) AS ordered
                                FROM specstar.search(:'spec', q.q, NULL) WITH ORDINALITY h(id, score, n)) s) g;
ALTER TABLE oracle_result ADD COLUMN ok boolean;
UPDATE oracle_result SET ok = expected = got AND ordered AND top10 = least(10, cardinality(expected));

\set QUIET off
\pset footer off
SELECT kind, count(*) AS queries, sum(cardinality(expected)) AS expected_hits, sum(cardinality(got)) AS hits,
       count(*) FILTER (WHERE NOT ok) AS wrong
  FROM oracle_result GROUP BY kind ORDER BY kind;
-- the queries that differ: how many hits, how many ids are missing, unexpected or twice, and two of them
SELECT kind, q, cardinality(expected) AS expected, cardinality(got) AS got, ordered, top10,
       (SELECT count(*) FROM (SELECT unnest(expected) EXCEPT SELECT unnest(got)) x) AS missing,
       (SELECT count(*) FROM (SELECT unnest(got) EXCEPT SELECT unnest(expected)) x) AS unexpected,
       (SELECT count(*) FROM (SELECT x FROM unnest(got) x GROUP BY x HAVING count(*) > 1) x) AS twice,
       (ARRAY((SELECT unnest(expected) EXCEPT SELECT unnest(got)) UNION ALL
              (SELECT unnest(got) EXCEPT SELECT unnest(expected))))[1:2] AS some_ids
  FROM oracle_result WHERE NOT ok ORDER BY kind, q LIMIT 20;
SELECT specstar.search_verify(:'spec') AS verify \gset
SELECT (:'verify'::jsonb - 'missing' - 'unexpected' - 'duplicated')::text AS verify,
       :'verify'::jsonb -> 'missing' AS missing, :'verify'::jsonb -> 'unexpected' AS unexpected,
       :'verify'::jsonb -> 'duplicated' AS duplicated;
SELECT (SELECT count(*) FROM oracle_result) AS queries, (SELECT count(*) FROM oracle_result WHERE NOT ok) AS wrong,
       (:'verify'::jsonb ->> 'ok')::boolean AS verify_ok \gset oracle_
\pset footer on
\if :oracle_verify_ok
\else
  DO $$ BEGIN RAISE EXCEPTION 'search oracle: search_verify is not ok'; END $$;
\endif
SELECT :oracle_wrong = 0 AS oracle_all_ok \gset
\if :oracle_all_ok
  \echo search oracle: :oracle_queries queries, every one finds exactly what the SQL scan finds
\else
  DO $$ BEGIN RAISE EXCEPTION 'search oracle: queries whose hits differ from the SQL scan (listed above)'; END $$;
\endif
\set QUIET on
DROP TABLE oracle_docs, oracle_tokens, oracle_df, oracle_frequent, oracle_q, oracle_result;
DROP FUNCTION pg_temp.oracle_expected(text, text, text);
