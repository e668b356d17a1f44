-- Input limits (docs/security.md, docs/errors.md): no query, document, patch or schema can
-- crash a backend or make it allocate without bound; each limit is a documented SQLSTATE
-- with a message that names it, and leaves the data as it was.
\set SHOW_CONTEXT never

SELECT specstar.register_spec('lim', '{"type": "object", "properties": {
  "title": {"type": "string", "maxLength": 10, "x-search": true},
  "body": {"type": "string", "x-search": true}, "meta": {"type": "object"}, "list": {"type": "array"}}}') IS NOT NULL AS registered;
INSERT INTO api.lim (id, title, body) VALUES ('00000000-0000-0000-0000-000000000001', 'fox', 'the quick brown fox'),
  ('00000000-0000-0000-0000-000000000002', 'dog', 'the lazy dog');
SELECT pg_postmaster_start_time() AS started \gset

-- search queries: nesting is counted before anything recursive parses the query
SELECT count(*) FROM specstar.search('lim', repeat('(', 3000) || 'fox' || repeat(')', 3000));
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM specstar.search('lim', repeat('NOT ', 20000) || 'fox');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM api.lim_search(repeat('title:(', 3000) || 'fox' || repeat(')', 3000));
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM specstar.search('lim', repeat('(', 32) || 'fox' || repeat(')', 32)) AS at_the_limit;
SELECT count(*) FROM specstar.search('lim', repeat('fox ', 251));
\echo :LAST_ERROR_SQLSTATE
-- sloppy phrases: the slop and the phrase length are capped
SELECT count(*) FROM specstar.search('lim', '"quick fox"~100000');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM specstar.search('lim', '"quick fox"~10') AS slop_10;
SELECT count(*) FROM specstar.search('lim', '"the quick fox"~1');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM specstar.search('lim', '"' || repeat('fox ', 33) || '"');
\echo :LAST_ERROR_SQLSTATE
-- results: top at most specstar.search_max_top (1000), skip + top at most ten times that
SELECT count(*) FROM specstar.search('lim', 'fox OR dog', 1001);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM specstar.search('lim', 'fox OR dog', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM api.lim_search('fox OR dog', top => 10, skip => 9991);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM api.lim_search('fox OR dog', top => NULL) AS top_null_is_bounded;
-- only a superuser may raise the limit
SET specstar.search_max_top = 5000;
SELECT count(*) FROM specstar.search('lim', 'fox OR dog', 1001) AS raised;
RESET specstar.search_max_top;
CREATE ROLE regress_lim_user NOLOGIN;
SET ROLE regress_lim_user;
SET specstar.search_max_top = 5000;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE regress_lim_user;

-- documents nested deeper than 100 levels: PT422 naming where, before any recursive code
SELECT repeat('{"a": ', 100) || '1' || repeat('}', 100) AS deep100,
       repeat('{"a": ', 101) || '1' || repeat('}', 101) AS deep101,
       repeat('[', 5000) || repeat(']', 5000) AS deep5000 \gset
-- the document's root is one level, so meta may nest 99 more
INSERT INTO api.lim (title, meta) VALUES ('ok', (repeat('{"a": ', 99) || '1' || repeat('}', 99))::jsonb) RETURNING revision;
INSERT INTO api.lim (title, meta) VALUES ('deep', :'deep100');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.lim (title, list) VALUES ('deeper', :'deep5000');
\echo :LAST_ERROR_SQLSTATE
UPDATE api.lim SET meta = :'deep101' WHERE id = '00000000-0000-0000-0000-000000000001';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.lim_draft (id, title, meta) VALUES ('00000000-0000-0000-0000-000000000003', 'draft', :'deep101');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar._validate((SELECT current_vid FROM specstar.spec WHERE name = 'lim'), :'deep5000') -> 0 ->> 'keyword' AS keyword;
-- patches: nesting, operation count, growth
SELECT * FROM api.lim_patch('00000000-0000-0000-0000-000000000001', ('[{"op": "add", "path": "/meta", "value": ' || :'deep5000' || '}]')::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM api.lim_patch('00000000-0000-0000-0000-000000000001',
  (SELECT jsonb_agg('{"op": "test", "path": "/title", "value": "fox"}'::jsonb) FROM generate_series(1, 1001)));
\echo :LAST_ERROR_SQLSTATE
UPDATE api.lim SET meta = jsonb_build_object('s', repeat('x', 1000000)) WHERE id = '00000000-0000-0000-0000-000000000002';
SELECT * FROM api.lim_patch('00000000-0000-0000-0000-000000000002',
  (SELECT jsonb_agg(jsonb_build_object('op', 'copy', 'from', '/meta', 'path', '/meta/c' || i)) FROM generate_series(1, 70) i));
\echo :LAST_ERROR_SQLSTATE
-- a copy into its own subtree doubles the nesting: refused where it would go too deep
SELECT * FROM api.lim_patch('00000000-0000-0000-0000-000000000001', (
  SELECT jsonb_build_array(jsonb_build_object('op', 'add', 'path', '/meta', 'value', (repeat('[', 60) || repeat(']', 60))::jsonb))
      || jsonb_agg(jsonb_build_object('op', 'copy', 'from', '/meta', 'path', '/meta' || repeat('/0', 60 * i))) FROM generate_series(1, 12) i));
\echo :LAST_ERROR_SQLSTATE
-- a stored document too deep to compare (none can be stored any more; the function itself)
SELECT specstar._json_diff(:'deep5000', '{}') -> 'error' ->> 'message' AS diff_error;
-- schemas and options
SELECT specstar.register_spec('limdeep', ('{"type": "object", "properties": {"a": ' || repeat('{"items": ', 120) || '{}' || repeat('}', 120) || '}}')::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('limdeep', '{"type": "object", "properties": {"a": {}}}', ('{"roles": ' || repeat('[', 300) || repeat(']', 300) || '}')::jsonb);
\echo :LAST_ERROR_SQLSTATE
-- specs whose validator cannot compile are refused at registration, not at the first write
SELECT specstar.register_spec('limbad', '{"type": "object", "properties": {"a": {"type": "string", "pattern": "(unclosed"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('limbad', '{"type": "object", "properties": {"a": {"$ref": "http://example.com/s.json"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('limbad', '{"type": "object", "properties": {"a": {"$ref": "file:///etc/passwd"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.register_spec('limbad', '{"type": "object", "properties": {"a": {"type": "string", "maxLength": 1e400}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS refused_specs_left FROM specstar.specs WHERE name LIKE 'limbad%' OR name = 'limdeep';

-- messages quote long values short, once
UPDATE api.lim SET title = repeat('y', 50000) WHERE id = '00000000-0000-0000-0000-000000000001';
\echo :LAST_ERROR_SQLSTATE

-- nothing was written by any refused statement, and no backend crashed
SELECT title, revision FROM api.lim ORDER BY title;
SELECT pg_postmaster_start_time() = :'started' AS same_postmaster;
SELECT specstar.drop_spec('lim', drop_data => true);
