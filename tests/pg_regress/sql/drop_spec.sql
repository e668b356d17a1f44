-- drop_spec refuses while the spec holds resources, history or drafts (unless drop_data => true),
-- and removes every object it created.
\set SHOW_CONTEXT never

SELECT specstar.register_spec('temp', '{"type": "object", "properties": {"v": {"type": "integer"}}}') IS NOT NULL AS ok;
SELECT specstar.drop_spec('temp');
SELECT count(*) AS objects FROM pg_class WHERE relname LIKE 'temp%';
SELECT count(*) AS functions FROM pg_proc WHERE proname LIKE 'temp\_%';

SELECT specstar.register_spec('temp', '{"type": "object", "properties": {"v": {"type": "integer"}}}') IS NOT NULL AS ok;
INSERT INTO api.temp (v) VALUES (1);
SELECT specstar.drop_spec('temp');
\echo :LAST_ERROR_SQLSTATE
-- history alone also holds it back
DELETE FROM api.temp;
SELECT specstar.drop_spec('temp');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.drop_spec('temp', drop_data => true);
SELECT count(*) AS objects FROM pg_class WHERE relname LIKE 'temp%';
SELECT count(*) AS functions FROM pg_proc WHERE proname LIKE 'temp\_%';
SELECT count(*) AS catalog_rows FROM specstar.spec_versions WHERE spec = 'temp';
SELECT specstar.drop_spec('temp');
\echo :LAST_ERROR_SQLSTATE
-- so does a draft, and every version of an evolved spec goes
SELECT specstar.register_spec('temp', '{"type": "object", "properties": {"v": {"type": "integer"}}}') IS NOT NULL AS ok;
SELECT specstar.register_spec('temp', '{"type": "object", "properties": {"v": {"type": "integer"}, "w": {"type": "string"}}}', '{"version": "2"}') IS NOT NULL AS ok;
INSERT INTO api.temp_draft (v) VALUES (1);
SELECT specstar.drop_spec('temp');
\echo :LAST_ERROR_SQLSTATE
SELECT specstar.drop_spec('temp', drop_data => true);
SELECT count(*) AS objects FROM pg_class WHERE relname LIKE 'temp%';
SELECT count(*) AS catalog_rows FROM specstar.spec_versions WHERE spec = 'temp';
SELECT specstar.drop_spec('temp');
\echo :LAST_ERROR_SQLSTATE
-- a user object that depends on the spec's view is not silently dropped
SELECT specstar.register_spec('temp', '{"type": "object", "properties": {"v": {"type": "integer"}}}') IS NOT NULL AS ok;
CREATE VIEW public.temp_report AS SELECT count(*) FROM api.temp;
SELECT specstar.drop_spec('temp', drop_data => true);
\echo :LAST_ERROR_SQLSTATE
DROP VIEW public.temp_report;
SELECT specstar.drop_spec('temp', drop_data => true);
