-- Rights, checked for the whole class (docs/security.md): every SQL or PL/pgSQL function
-- specstar owns or generates pins search_path = pg_catalog, pg_temp, except the plain SQL
-- functions that must stay inlinable (they qualify every name: shadowing.sql); every
-- security-definer function pins search_path; nothing but the documented API is executable
-- by PUBLIC; a migrate function must belong to the spec's owner or a superuser.
\set SHOW_CONTEXT never

CREATE ROLE regress_sec_reader NOLOGIN;
CREATE ROLE regress_sec_writer NOLOGIN;
CREATE ROLE regress_sec_mallory NOLOGIN;
SELECT specstar.register_spec('secnote', '{"type": "object", "properties": {
  "title": {"type": "string", "x-search": true}}}',
  '{"roles": {"read": ["regress_sec_reader"], "write": ["regress_sec_writer"]}}') IS NOT NULL AS registered;
-- a job spec with every option that generates code (docs/jobs.md)
SELECT specstar.register_spec('secjob', '{"type": "object", "properties": {"n": {"type": "integer"}}}',
  '{"job": {"concurrency": 2, "partition_concurrency": 3, "result_schema": {"type": "object"}, "retention": {"done": "1 day"}},
    "roles": {"read": ["regress_sec_reader"], "write": ["regress_sec_writer"]}}') IS NOT NULL AS registered;

-- every function of the extension, and every function generated for a spec (those go
-- with the extension: ALTER FUNCTION ... DEPENDS ON EXTENSION)
CREATE TEMP VIEW specstar_functions AS
  SELECT p.oid, p.oid::regprocedure::text AS fn, l.lanname, p.prosecdef, p.proconfig, p.proacl, p.proowner
    FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
   WHERE EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_extension'::regclass
                    AND d.refobjid = (SELECT e.oid FROM pg_extension e WHERE e.extname = 'specstar'))
      OR p.pronamespace = 'specstar_data'::regnamespace;
SELECT count(*) > 60 AS many_functions, count(*) FILTER (WHERE fn LIKE 'api.secnote%') AS generated_for_secnote
  FROM specstar_functions;

-- SQL and PL/pgSQL functions that do not pin search_path: only the inlinable ones (plain
-- SQL, qualified names) and register_spec, which resolves options.migrate as its caller
-- sees it (qualified names too)
-- (other files' specs left aside)
CREATE TEMP VIEW own_functions AS
  SELECT * FROM specstar_functions WHERE fn LIKE 'specstar.%' OR fn LIKE '%secnote%' OR fn LIKE '%secjob%';
SELECT fn, lanname FROM own_functions
 WHERE lanname IN ('sql', 'plpgsql') AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (proconfig), false)
 ORDER BY fn;
-- SECURITY DEFINER functions, every one with its search_path pinned
SELECT fn, 'search_path=pg_catalog, pg_temp' = ANY (proconfig) AS pinned FROM own_functions WHERE prosecdef ORDER BY fn;
SELECT count(*) AS unpinned_security_definer_anywhere FROM specstar_functions
 WHERE prosecdef AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (proconfig), false);
-- what PUBLIC may execute: the documented API, nothing internal, no generated function
SELECT fn FROM specstar_functions f
 WHERE EXISTS (SELECT 1 FROM aclexplode(coalesce(f.proacl, acldefault('f', f.proowner))) a
                WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
 ORDER BY fn;

-- a reader and a writer get what their paths need, and no more
SET ROLE regress_sec_writer;
INSERT INTO api.secnote (id, title) VALUES ('00000000-0000-0000-0000-0000000000a1', 'fox');
UPDATE api.secnote SET title = 'quick fox' WHERE id = '00000000-0000-0000-0000-0000000000a1';
SELECT title FROM api.secnote_rollback('00000000-0000-0000-0000-0000000000a1', 1);
SET ROLE regress_sec_reader;
SELECT title FROM api.secnote_search('fox');
SELECT api.secnote_diff('00000000-0000-0000-0000-0000000000a1', 1, 2);
SELECT revision, op FROM api.secnote_revision ORDER BY revision;
UPDATE api.secnote SET title = 'no';
\echo :LAST_ERROR_SQLSTATE
SELECT specstar._validate(1, '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar._search_merge('secnote');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_sec_mallory;
SELECT * FROM specstar.search('secnote', 'fox');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM specstar._search_hits('secnote', 'fox', 10, 0, false);
\echo :LAST_ERROR_SQLSTATE
SELECT specstar._doc(t.*, 1) FROM specstar_data.secnote t;
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.options_schema() ->> 'title' AS anyone_may;
RESET ROLE;

-- A migrate function runs with the rights of whoever registers a version and of every
-- reader of an old revision: it must belong to the spec's owner or a superuser.
CREATE FUNCTION public.sec_up(doc jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS 'SELECT doc || ''{"rank": 1}''';
ALTER FUNCTION public.sec_up(jsonb) OWNER TO regress_sec_mallory;
SELECT specstar.register_spec('secnote', '{"type": "object", "properties": {
  "title": {"type": "string", "x-search": true}, "rank": {"type": "integer"}}}',
  '{"version": "2", "migrate": "public.sec_up", "roles": {"read": ["regress_sec_reader"], "write": ["regress_sec_writer"]}}');
\echo :LAST_ERROR_SQLSTATE
SELECT version FROM specstar.specs WHERE name = 'secnote';
ALTER FUNCTION public.sec_up(jsonb) OWNER TO CURRENT_USER;
SELECT specstar.register_spec('secnote', '{"type": "object", "properties": {
  "title": {"type": "string", "x-search": true}, "rank": {"type": "integer"}}}',
  '{"version": "2", "migrate": "public.sec_up", "roles": {"read": ["regress_sec_reader"], "write": ["regress_sec_writer"]}}') ->> 'version' AS version;
SELECT title, rank, revision FROM api.secnote_at('00000000-0000-0000-0000-0000000000a1', revision => 1);
-- handed to another role later, it is refused rather than run for every reader
ALTER FUNCTION public.sec_up(jsonb) OWNER TO regress_sec_mallory;
SET ROLE regress_sec_reader;
SELECT title, rank, revision FROM api.secnote_at('00000000-0000-0000-0000-0000000000a1', revision => 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
ALTER FUNCTION public.sec_up(jsonb) OWNER TO CURRENT_USER;

-- gone, with a look-alike of another role's in its place: refused (22000), never called
DROP FUNCTION public.sec_up(jsonb);
CREATE FUNCTION public.sec_up(VARIADIC docs jsonb[]) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the look-alike ran as %', current_user;
END
$$;
ALTER FUNCTION public.sec_up(jsonb[]) OWNER TO regress_sec_mallory;
SET ROLE regress_sec_reader;
SELECT title, rank, revision FROM api.secnote_at('00000000-0000-0000-0000-0000000000a1', revision => 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP FUNCTION public.sec_up(jsonb[]);

-- jobs: the work roles (here the writers) claim; readers may read the stats; anyone else
-- nothing, neither through specstar.job_<verb> nor the spec's own functions
SET ROLE regress_sec_writer;
INSERT INTO api.secjob (n) VALUES (1);
SELECT count(*) AS claimed FROM specstar.job_claim('secjob', 'w', 1);
SET ROLE regress_sec_reader;
SELECT * FROM specstar.job_claim('secjob', 'r', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.job_stats('secjob') ->> 'running' AS running;
SET ROLE regress_sec_mallory;
SELECT specstar.job_stats('secjob');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM specstar_data.secjob__claim('m', 1, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM specstar_data.secjob__expire('00000000-0000-0000-0000-000000000000');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

SELECT specstar.drop_spec('secnote', drop_data => true);
SELECT specstar.drop_spec('secjob', drop_data => true);
DROP OWNED BY regress_sec_reader, regress_sec_writer, regress_sec_mallory;
DROP ROLE regress_sec_reader, regress_sec_writer, regress_sec_mallory;
