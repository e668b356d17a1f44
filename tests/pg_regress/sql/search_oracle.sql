-- The search index against an oracle: for random single-term, AND, OR and phrase queries
-- the ids specstar.search finds equal those a plain SQL scan finds with an equivalent
-- tokenizer (language simple: lower case, split on anything but letters and digits), after
-- bulk and single-row writes, deletes, a rolled-back transaction, and a merge.
\set SHOW_CONTEXT never
-- every hit, not the first specstar.search_max_top (1000 by default): superusers may raise it
SET specstar.search_max_top = 100000;
SELECT setseed(0.42);
SELECT specstar.register_spec('corpus', '{"type": "object",
  "properties": {"n": {"type": "integer"}, "body": {"type": "string", "x-search": true}}}',
  '{"search": {"language": "simple"}}') -> 'search' AS search;

-- 300 words w1..w300, drawn with a skew (w1 is common, w300 rare)
CREATE FUNCTION oracle_word() RETURNS text LANGUAGE sql AS $$
  SELECT 'w' || (floor(power(300, random())))::int
$$;
CREATE FUNCTION oracle_text(words int) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(CASE WHEN random() < 0.1 THEN upper(oracle_word()) ELSE oracle_word() END,
                    CASE WHEN random() < 0.15 THEN ', ' ELSE ' ' END)
    FROM generate_series(1, words)
$$;
CREATE FUNCTION oracle_check(queries int) RETURNS TABLE (checked int, with_hits int, mismatches int)
LANGUAGE plpgsql AS $$
DECLARE
  v_kind int;
  v_a text;
  v_b text;
  v_q text;
  v_expected uuid[];
  v_got uuid[];
BEGIN
  checked := 0; with_hits := 0; mismatches := 0;
  CREATE TEMP TABLE oracle_tokens ON COMMIT DROP AS
    SELECT id, array_remove(regexp_split_to_array(lower(body), '[^a-z0-9]+'), '') AS tokens FROM api.corpus;
  FOR i IN 1..queries LOOP
    v_kind := i % 4;
    v_a := oracle_word();
    v_b := oracle_word();
    IF v_kind = 0 THEN
      v_q := v_a;
      v_expected := ARRAY(SELECT id FROM oracle_tokens WHERE tokens @> ARRAY[v_a] ORDER BY id);
    ELSIF v_kind = 1 THEN
      v_q := v_a || ' AND ' || v_b;
      v_expected := ARRAY(SELECT id FROM oracle_tokens WHERE tokens @> ARRAY[v_a, v_b] ORDER BY id);
    ELSIF v_kind = 2 THEN
      v_q := v_a || ' OR ' || v_b;
      v_expected := ARRAY(SELECT id FROM oracle_tokens WHERE tokens && ARRAY[v_a, v_b] ORDER BY id);
    ELSE
      -- a phrase: two adjacent words of some document
      SELECT t.tokens[1], t.tokens[2] INTO v_a, v_b FROM oracle_tokens t
       WHERE cardinality(t.tokens) >= 2 ORDER BY t.id OFFSET floor(random() * 100) LIMIT 1;
      v_q := '"' || v_a || ' ' || v_b || '"';
      v_expected := ARRAY(SELECT id FROM oracle_tokens
                           WHERE ' ' || array_to_string(tokens, ' ') || ' ' LIKE '% ' || v_a || ' ' || v_b || ' %' ORDER BY id);
    END IF;
    v_got := ARRAY(SELECT s.id FROM specstar.search('corpus', v_q, NULL) s ORDER BY s.id);
    checked := checked + 1;
    IF cardinality(v_expected) > 0 THEN with_hits := with_hits + 1; END IF;
    IF v_got IS DISTINCT FROM v_expected THEN
      mismatches := mismatches + 1;
      RAISE NOTICE 'query % found % ids, the scan % (% missing, % extra)', v_q, cardinality(v_got), cardinality(v_expected),
        (SELECT count(*) FROM unnest(v_expected) e WHERE e <> ALL (v_got)), (SELECT count(*) FROM unnest(v_got) g WHERE g <> ALL (v_expected));
    END IF;
  END LOOP;
  DROP TABLE oracle_tokens;
  RETURN NEXT;
END
$$;

-- 3000 documents in one statement (one segment), then 60 single-row inserts
INSERT INTO api.corpus (n, body) SELECT g, oracle_text(5 + (random() * 35)::int) FROM generate_series(1, 3000) g;
DO $$ BEGIN FOR i IN 3001..3060 LOOP INSERT INTO api.corpus (n, body) VALUES (i, oracle_text(10)); END LOOP; END $$;
SELECT * FROM oracle_check(200);

-- updates: a bulk one, single rows, one that changes only n (no re-index), and deletes
UPDATE api.corpus SET body = oracle_text(12) WHERE n % 15 = 0;
DO $$ BEGIN FOR i IN 1..50 LOOP UPDATE api.corpus SET body = body || ' ' || oracle_word() WHERE n = i * 7; END LOOP; END $$;
UPDATE api.corpus SET n = n + 10000 WHERE n % 13 = 0;
DELETE FROM api.corpus WHERE n % 11 = 0;
DO $$ BEGIN FOR i IN 1..20 LOOP DELETE FROM api.corpus WHERE n = i * 17 + 1; END LOOP; END $$;
-- a rolled-back transaction changes nothing
BEGIN;
UPDATE api.corpus SET body = 'w1' WHERE n < 500;
DELETE FROM api.corpus WHERE n > 2000;
ROLLBACK;
SELECT * FROM oracle_check(200);
SELECT (specstar.search_verify('corpus')) ->> 'ok' AS verified;
SELECT segments < 150 AS few_segments, tombstones > 0 AS has_tombstones FROM specstar.search_stats('corpus');

-- a merge changes what is stored, not what is found
SELECT specstar.search_merge('corpus') ->> 'merged' IS NOT NULL AS merged;
SELECT segments, tombstones, documents = (SELECT count(*) FROM api.corpus) AS all_documents FROM specstar.search_stats('corpus');
SELECT * FROM oracle_check(200);
-- rebuilding from the table gives the same answers
SELECT specstar.search_rebuild('corpus') ->> 'documents' AS documents;
SELECT * FROM oracle_check(100);
SELECT specstar._backend_threads() AS threads;
