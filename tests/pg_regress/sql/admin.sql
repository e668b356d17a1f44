-- The admin page's database side (docs/admin.md): the page with its headers, the specs it may
-- show each role, and the property order of a schema registered as text.
\set SHOW_CONTEXT never
CREATE ROLE regress_adm_reader NOLOGIN;
-- a schema given as text keeps its text (jsonb would sort the keys); one given as jsonb has none
SELECT specstar.register_spec('adm_note', '{"type": "object", "properties": {"zeta": {"type": "string"}, "alpha": {"type": "integer"}, "mid": {"type": "boolean"}}}',
  '{"api_schema": "adm_api", "roles": {"read": ["regress_adm_reader"], "write": []}}') ->> 'version' AS version;
SELECT specstar.register_spec('adm_tag', '{"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "string"}}}'::jsonb,
  '{"api_schema": "adm_api", "roles": {"read": [], "write": []}}') ->> 'version' AS version;
SELECT spec, source IS NOT NULL AS has_source, position('"zeta"' IN coalesce(source, '')) < position('"alpha"' IN coalesce(source, '')) AS author_order
  FROM specstar.spec_versions WHERE spec LIKE 'adm_%' ORDER BY spec;
-- re-registering the same schema as text records its text too
SELECT specstar.register_spec('adm_tag', '{"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "string"}}}',
  '{"api_schema": "adm_api", "roles": {"read": [], "write": []}}') ->> 'version' AS version;
SELECT spec, source IS NOT NULL AS has_source FROM specstar.spec_versions WHERE spec = 'adm_tag';

-- the page: HTML for anyone, with its CSP and framing rules in PostgREST's response.headers
SET ROLE regress_adm_reader;
BEGIN;
SELECT left(adm_api.admin(), 15) AS page;
SELECT count(*) FILTER (WHERE h ->> 'Content-Security-Policy' LIKE 'default-src ''none''; script-src ''sha256-%') AS csp,
       max(h ->> 'X-Frame-Options') AS frames, max(h ->> 'Referrer-Policy') AS referrer,
       bool_or(h::text LIKE '%unsafe-%') AS unsafe
  FROM jsonb_array_elements(current_setting('response.headers')::jsonb) AS h;
COMMIT;
-- the specs a role may read, with the author's text and what the role may do
SELECT s ->> 'name' AS name, s ->> 'source' IS NOT NULL AS has_source, s -> 'may' ->> 'insert' AS may_insert, s -> 'may' ->> 'rollback' AS may_rollback
  FROM jsonb_array_elements(adm_api.admin_specs()) s;
RESET ROLE;
SELECT jsonb_array_length(adm_api.admin_specs()) AS superuser_sees;
-- the page is PUBLIC's, the spec list is not
SELECT has_function_privilege('public', 'adm_api.admin()', 'EXECUTE') AS public_page,
       has_function_privilege('public', 'adm_api.admin_specs()', 'EXECUTE') AS public_specs;

-- the page and its domain go with the schema's last spec
SELECT specstar.drop_spec('adm_note');
SELECT to_regprocedure('adm_api.admin()') IS NOT NULL AS page_stays_with_a_spec_left;
SELECT specstar.drop_spec('adm_tag');
SELECT to_regprocedure('adm_api.admin()') IS NULL AS page_gone, to_regtype('adm_api."text/html"') IS NULL AS domain_gone;
DROP SCHEMA adm_api;
DROP OWNED BY regress_adm_reader;
DROP ROLE regress_adm_reader;
