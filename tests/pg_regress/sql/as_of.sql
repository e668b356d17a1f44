-- Time travel: <spec>_at(id, revision => n | at => t) and <spec>_as_of(t). As-of reads see,
-- for each id, the newest revision with valid_from <= t, unless it is a tombstone.
\set SHOW_CONTEXT never

SELECT specstar.register_spec('city', '{"type": "object", "properties": {"name": {"type": "string"}, "population": {"type": "integer"}}, "required": ["name"]}') IS NOT NULL AS ok;
SELECT clock_timestamp() AS t0 \gset
INSERT INTO api.city (id, name, population) VALUES ('00000000-0000-0000-0000-000000000001', 'Avalon', 100);
SELECT clock_timestamp() AS t1 \gset
INSERT INTO api.city (id, name, population) VALUES ('00000000-0000-0000-0000-000000000002', 'Brigadoon', 50);
UPDATE api.city SET population = 150 WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT clock_timestamp() AS t2 \gset
DELETE FROM api.city WHERE id = '00000000-0000-0000-0000-000000000002';
UPDATE api.city SET population = 200 WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT clock_timestamp() AS t3 \gset
SELECT name FROM api.city_restore('00000000-0000-0000-0000-000000000002');
SELECT clock_timestamp() AS t4 \gset

-- the collection at each time
SELECT name, population, revision FROM api.city_as_of(:'t0') ORDER BY name;
SELECT name, population, revision FROM api.city_as_of(:'t1') ORDER BY name;
SELECT name, population, revision FROM api.city_as_of(:'t2') ORDER BY name;
SELECT name, population, revision FROM api.city_as_of(:'t3') ORDER BY name;
SELECT name, population, revision FROM api.city_as_of(:'t4') ORDER BY name;
-- filters compose with it (PostgREST adds them the same way)
SELECT name FROM api.city_as_of(:'t2') WHERE population > 100;
-- it is plain SQL, inlined by the planner: filters reach the indexes
CREATE FUNCTION pg_temp.plan_mentions(query text, needle text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    IF line LIKE '%' || needle || '%' THEN RETURN true; END IF;
  END LOOP;
  RETURN false;
END $$;
SELECT pg_temp.plan_mentions($q$SELECT name FROM api.city_as_of(now()) WHERE id = '00000000-0000-0000-0000-000000000001'$q$, 'Function Scan on city_as_of') AS called_as_a_function,
       pg_temp.plan_mentions($q$SELECT name FROM api.city_as_of(now()) WHERE id = '00000000-0000-0000-0000-000000000001'$q$, 'city_pkey') AS live_by_primary_key,
       pg_temp.plan_mentions($q$SELECT name FROM api.city_as_of(now()) WHERE id = '00000000-0000-0000-0000-000000000001'$q$, 'city_revision_pkey') AS history_by_primary_key;

-- one resource at a time, or at a revision
SELECT name, population, revision FROM api.city_at('00000000-0000-0000-0000-000000000001', at => :'t1');
SELECT name, population, revision FROM api.city_at('00000000-0000-0000-0000-000000000001', at => :'t2');
SELECT name, population, revision FROM api.city_at('00000000-0000-0000-0000-000000000001', at => :'t4');
SELECT name, population, revision FROM api.city_at('00000000-0000-0000-0000-000000000001', revision => 2);
SELECT name, population, revision FROM api.city_at('00000000-0000-0000-0000-000000000001');
-- a historical row carries the resource's creation and the revision's author and time
SELECT a.created_at = c.created_at AS same_created, a.updated_at = r.valid_from AS updated_is_valid_from
  FROM api.city_at('00000000-0000-0000-0000-000000000001', revision => 1) a, api.city c, api.city_revision r
 WHERE c.id = a.id AND r.id = a.id AND r.revision = 1;
-- the tombstone revision holds the last data
SELECT name, revision FROM api.city_at('00000000-0000-0000-0000-000000000002', revision => 2);

-- not there at that time (deleted then, or not yet created), unknown revision, unknown id,
-- both arguments
CREATE FUNCTION pg_temp.sqlstate_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE query;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ' ' || regexp_replace(SQLERRM, ' at .*$', ' at <time>');
END $$;
SELECT pg_temp.sqlstate_of(format('SELECT * FROM api.city_at(%L, at => %L)', '00000000-0000-0000-0000-000000000002', :'t3'));
SELECT pg_temp.sqlstate_of(format('SELECT * FROM api.city_at(%L, at => %L)', '00000000-0000-0000-0000-000000000001', :'t0'));
SELECT * FROM api.city_at('00000000-0000-0000-0000-000000000001', at => '2000-01-01 00:00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM api.city_at('00000000-0000-0000-0000-000000000001', revision => 9);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM api.city_at('00000000-0000-0000-0000-0000000000ff');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM api.city_at('00000000-0000-0000-0000-000000000001', revision => 1, at => now());
\echo :LAST_ERROR_SQLSTATE

SELECT specstar.drop_spec('city', drop_data => true);
