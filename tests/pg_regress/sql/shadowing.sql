-- The caller's search_path cannot reach into specstar (docs/security.md). A role puts
-- shadows everywhere a name could be looked up: domains over the built-in types in pg_temp
-- (searched first for types), and functions and operators with pg_catalog's own
-- signatures in a schema it puts ahead of pg_catalog. Every shadow raises, naming the role
-- it runs as. Then every read, write, draft, RPC and search path runs as that role (through
-- the spec's access rules, so their policies and helpers run too), and the
-- administration functions as a superuser with the same search_path: the results are the
-- ordinary ones and no shadow ever runs. (This file's own statements qualify what they
-- call, so that only specstar's code could meet a shadow.)
\set SHOW_CONTEXT never

CREATE ROLE regress_shadow NOLOGIN;
CREATE SCHEMA shadow AUTHORIZATION regress_shadow;
SELECT specstar.register_spec('shadowed', '{"type": "object", "properties": {
  "title": {"type": "string", "x-search": true}, "n": {"type": "integer", "default": 1},
  "tags": {"type": "array", "items": {"type": "string"}}, "meta": {"type": "object"},
  "at": {"type": "string", "format": "date-time"}, "kind": {"enum": ["a", "b"]}},
  "required": ["title"]}', '{"roles": {"write": ["regress_shadow"]},
    "access": {"read": ["owner", "role:regress_shadow", "sql:n >= 0"], "write": ["owner", "role:regress_shadow"]}}') IS NOT NULL AS registered;

SET ROLE regress_shadow;
CREATE FUNCTION shadow.boom() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a shadow ran as %', current_user;
END
$$;
-- functions: every overload of these names whose signature a PL/pgSQL function can have
DO $$
DECLARE
  p record;
  made int := 0;
BEGIN
  FOR p IN
    SELECT f.proname, pg_catalog.pg_get_function_identity_arguments(f.oid) AS args,
           pg_catalog.format_type(f.prorettype, NULL) AS ret, f.proretset
      FROM pg_catalog.pg_proc f
     WHERE f.pronamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace AND f.prokind OPERATOR(pg_catalog.=) 'f'
       AND f.proname OPERATOR(pg_catalog.=) ANY (ARRAY['format', 'jsonb_build_object', 'jsonb_build_array', 'jsonb_agg', 'jsonb_object_agg',
             'jsonb_to_record', 'to_jsonb', 'jsonb_typeof', 'jsonb_each', 'jsonb_object_keys', 'jsonb_array_elements',
             'jsonb_array_elements_text', 'jsonb_extract_path', 'jsonb_extract_path_text', 'set_config', 'current_setting',
             'now', 'string_agg', 'array_agg', 'array_ndims', 'array_lower', 'hashtext', 'pg_advisory_xact_lock',
             'pg_try_advisory_xact_lock', 'nextval', 'pg_has_role', 'replace', 'pg_notify', 'convert_from', 'convert_to', 'decode', 'substr',
             'strpos', 'length', 'regexp_matches', 'to_regprocedure', 'to_regnamespace', 'textcat', 'has_table_privilege',
             'count', 'max', 'min', 'lower', 'left', 'string_to_array', 'unnest', 'btrim', 'concat', 'pg_get_userbyid',
             'quote_ident', 'gen_random_uuid', 'octet_length', 'sum', 'bool_and', 'jsonb_set', 'row_number', 'array_length',
             'jsonb_strip_nulls', 'uuid_in', 'text', 'int4', 'int8', 'jsonb_in', 'timestamptz', 'array_to_string'])
  LOOP
    BEGIN
      EXECUTE pg_catalog.format('CREATE FUNCTION shadow.%I(%s) RETURNS %s%s LANGUAGE plpgsql AS $b$BEGIN PERFORM shadow.boom(); END$b$',
                                p.proname, p.args, CASE WHEN p.proretset THEN 'SETOF ' ELSE '' END, p.ret);
      made := made OPERATOR(pg_catalog.+) 1;
    EXCEPTION WHEN OTHERS THEN
      NULL;  -- pseudo-types ("any", internal) cannot be shadowed from PL/pgSQL
    END;
  END LOOP;
  RAISE NOTICE 'function shadows: % or more', (made OPERATOR(pg_catalog./) 50) OPERATOR(pg_catalog.*) 50;
END
$$;
-- operators: every comparison, JSON and concatenation operator on the types specstar uses
DO $$
DECLARE
  o record;
  i int := 0;
BEGIN
  FOR o IN
    SELECT op.oprname, pg_catalog.format_type(op.oprleft, NULL) AS l, pg_catalog.format_type(op.oprright, NULL) AS r,
           pg_catalog.format_type(op.oprresult, NULL) AS res
      FROM pg_catalog.pg_operator op
     WHERE op.oprnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace AND op.oprleft OPERATOR(pg_catalog.<>) 0
       AND op.oprname OPERATOR(pg_catalog.=) ANY (ARRAY['=', '<>', '<', '<=', '>', '>=', '->', '->>', '?', '||', '@>', '#>', '-', '+', '*', '/', '~~'])
       AND op.oprleft OPERATOR(pg_catalog.=) ANY (ARRAY['text', 'jsonb', 'uuid', 'int4', 'int8', 'timestamptz', 'bool', 'name', 'oid', 'bytea', 'numeric', 'text[]', 'regnamespace']::pg_catalog.regtype[]::pg_catalog.oid[])
  LOOP
    i := i OPERATOR(pg_catalog.+) 1;
    BEGIN
      EXECUTE pg_catalog.format('CREATE FUNCTION shadow.op_%s(%s, %s) RETURNS %s LANGUAGE plpgsql AS $b$BEGIN PERFORM shadow.boom(); END$b$',
                                i, o.l, o.r, o.res);
      EXECUTE pg_catalog.format('CREATE OPERATOR shadow.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = shadow.op_%s)', o.oprname, o.l, o.r, i);
    EXCEPTION WHEN OTHERS THEN
      NULL;
    END;
  END LOOP;
END
$$;
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 60 AS operator_shadows FROM pg_catalog.pg_operator WHERE oprnamespace OPERATOR(pg_catalog.=) 'shadow'::pg_catalog.regnamespace;
-- types (last: the shadows above name the real ones)
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['text', 'jsonb', 'uuid', 'int4', 'int8', 'bool', 'timestamptz', 'numeric', 'date',
                           'regclass', 'regprocedure', 'regnamespace', 'regrole', 'oid', 'name', 'bytea', 'varchar'] LOOP
    EXECUTE format('CREATE DOMAIN pg_temp.%I AS pg_catalog.%I CHECK (shadow.boom())', t, t);
  END LOOP;
END
$$;
-- the shadows work: an unqualified call meets one
SET search_path = shadow, pg_catalog, public;
SELECT now();
SELECT 'x'::text;

-- every path, as the role that planted them
INSERT INTO api.shadowed (id, title, tags, meta, at, kind)
  VALUES ('00000000-0000-0000-0000-00000000000a', 'quick fox', '{a,b}', '{"k": [1, 2]}', '2024-01-02T03:04:05Z', 'a');
INSERT INTO api.shadowed (id, title) VALUES ('00000000-0000-0000-0000-00000000000b', 'lazy dog');
UPDATE api.shadowed SET title = 'quick brown fox', n = 2 WHERE id OPERATOR(pg_catalog.=) '00000000-0000-0000-0000-00000000000a';
-- the shadows cannot forge a document either: validation still refuses
UPDATE api.shadowed SET kind = 'zzz' WHERE id OPERATOR(pg_catalog.=) '00000000-0000-0000-0000-00000000000a';
\echo :LAST_ERROR_SQLSTATE
UPDATE api.shadowed SET title = NULL WHERE id OPERATOR(pg_catalog.=) '00000000-0000-0000-0000-00000000000a';
\echo :LAST_ERROR_SQLSTATE
SELECT id, title, n, tags, meta, kind, revision FROM api.shadowed ORDER BY id;
SELECT id, revision, op, data FROM api.shadowed_revision ORDER BY id, revision;
SELECT title, revision FROM api.shadowed_at('00000000-0000-0000-0000-00000000000a', revision => 1);
SELECT title, revision FROM api.shadowed_at('00000000-0000-0000-0000-00000000000a', at => '2000-01-01') ;
\echo :LAST_ERROR_SQLSTATE
SELECT id, title FROM api.shadowed_as_of('3000-01-01') ORDER BY id;
SELECT api.shadowed_diff('00000000-0000-0000-0000-00000000000a', 1);
SELECT title, n, revision FROM api.shadowed_patch('00000000-0000-0000-0000-00000000000a', '[{"op": "replace", "path": "/n", "value": 5}]');
SELECT title, revision FROM api.shadowed_rollback('00000000-0000-0000-0000-00000000000a', 1);
DELETE FROM api.shadowed WHERE id OPERATOR(pg_catalog.=) '00000000-0000-0000-0000-00000000000b';
SELECT title, revision FROM api.shadowed_restore('00000000-0000-0000-0000-00000000000b');
INSERT INTO api.shadowed_draft (id, title) VALUES ('00000000-0000-0000-0000-00000000000c', 'draft only');
INSERT INTO api.shadowed_draft (id, title) VALUES ('00000000-0000-0000-0000-00000000000b', 'lazy cat');
SELECT id, title, n, base_revision FROM api.shadowed_draft ORDER BY id;
SELECT title, revision FROM api.shadowed_publish('00000000-0000-0000-0000-00000000000b');
SELECT title, revision FROM api.shadowed_publish('00000000-0000-0000-0000-00000000000c');
INSERT INTO api.shadowed_draft (id, title) VALUES ('00000000-0000-0000-0000-00000000000a', 'discarded');
SELECT api.shadowed_discard('00000000-0000-0000-0000-00000000000a');
SELECT title, highlights FROM api.shadowed_search('fox OR cat') ORDER BY title;
SELECT s.id FROM specstar.search('shadowed', 'lazy') s;
SELECT r.revision, r.op FROM api.shadowed s, api.revisions(s) r WHERE s.id OPERATOR(pg_catalog.=) '00000000-0000-0000-0000-00000000000b' ORDER BY r.revision;
SELECT id, revision, op FROM api.shadowed_revision ORDER BY id, revision;

-- administration, as a superuser who has the same search_path (CVE-2018-1058)
RESET ROLE;
SET search_path = shadow, pg_catalog, public;
SELECT specstar.register_spec('shadowed', '{"type": "object", "properties": {
  "title": {"type": "string", "x-search": true}, "n": {"type": "integer", "default": 1},
  "tags": {"type": "array", "items": {"type": "string"}}, "meta": {"type": "object"},
  "at": {"type": "string", "format": "date-time"}, "kind": {"enum": ["a", "b", "c"]},
  "body": {"type": "string", "x-search": true}},
  "required": ["title"]}', '{"version": "2", "roles": {"write": ["regress_shadow"]},
    "access": {"read": ["owner", "role:regress_shadow", "sql:n >= 0"], "write": ["owner", "role:regress_shadow"]}}') IS NOT NULL AS evolved;
SELECT specstar.search_merge('shadowed') IS NOT NULL AS merged;
SELECT specstar.search_verify('shadowed') OPERATOR(pg_catalog.->) 'ok' AS verified;
SELECT specstar.search_rebuild('shadowed') IS NOT NULL AS rebuilt;
SELECT specstar.prune('shadowed', '00000000-0000-0000-0000-00000000000a', keep_last => 2) AS pruned;
SELECT specstar.purge('shadowed', '00000000-0000-0000-0000-00000000000c') AS purged;
SELECT specstar.drop_spec('shadowed', drop_data => true);

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA shadow CASCADE;
DROP OWNED BY regress_shadow;
DROP ROLE regress_shadow;
