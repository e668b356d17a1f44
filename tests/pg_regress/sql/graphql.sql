-- GraphQL in SQL (docs/graphql.md): the schema follows the caller's privileges and the
-- per-backend cache notices every grant, revoke, registration and drop in the same session;
-- every outcome is a response, never an error; values never become SQL text.
\set SHOW_CONTEXT never
CREATE ROLE regress_gql_reader NOLOGIN;
CREATE ROLE regress_gql_writer NOLOGIN;
SELECT specstar.register_spec('gql_note', '{"type": "object", "properties": {"text": {"type": "string", "minLength": 1}, "draft": {"type": "boolean"}, "meta": {"type": "object"}}, "required": ["text"]}',
  '{"api_schema": "gql_api", "roles": {"read": ["regress_gql_reader"], "write": ["regress_gql_writer"]}}') IS NOT NULL AS registered;
-- the endpoint exists once per API schema, is not PUBLIC's, and is one schema-qualified call
-- (inlined into the caller's query; specstar._graphql pins its own search_path)
SELECT p.oid::regprocedure AS function, p.prosrc, p.proconfig, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_run,
       has_function_privilege('regress_gql_reader', p.oid, 'EXECUTE') AS reader_may_run
  FROM pg_proc p WHERE p.pronamespace = 'gql_api'::regnamespace AND p.proname LIKE 'graphql%' ORDER BY 1;

SET ROLE regress_gql_writer;
SELECT gql_api.graphql($$mutation { insertIntoGqlNoteCollection(objects: [{id: "00000000-0000-0000-0000-0000000000c1", text: "one", draft: true}]) { affectedCount records { text draft } } }$$);
-- a property named draft keeps its name; the working copy is _draft
SELECT gql_api.graphql($$mutation { gqlNoteSaveDraft(id: "00000000-0000-0000-0000-0000000000c1", set: {text: "two"}) { text draft } }$$);
SELECT gql_api.graphql($${ gqlNoteByPk(id: "00000000-0000-0000-0000-0000000000c1") { text draft _draft { text } } }$$);
RESET ROLE;

-- the reader sees no mutations, and a mutation is refused with 42501
SET ROLE regress_gql_reader;
SELECT position('type Mutation' IN gql_api.graphql_sdl()) > 0 AS reader_has_mutations;
SELECT gql_api.graphql($$mutation { gqlNoteDiscard(id: "00000000-0000-0000-0000-0000000000c1") }$$);
RESET ROLE;
-- a grant shows in the same session at once (the cache listens to invalidations)
GRANT DELETE ON gql_api.gql_note TO regress_gql_reader;
SET ROLE regress_gql_reader;
SELECT position('deleteFromGqlNoteCollection' IN gql_api.graphql_sdl()) > 0 AS reader_may_delete;
RESET ROLE;
REVOKE DELETE ON gql_api.gql_note FROM regress_gql_reader;
SET ROLE regress_gql_reader;
SELECT position('deleteFromGqlNoteCollection' IN gql_api.graphql_sdl()) > 0 AS reader_may_delete;
RESET ROLE;
-- so does a new spec, and a dropped one
SELECT specstar.register_spec('gql_tag', '{"type": "object", "properties": {"label": {"type": "string"}}}',
  '{"api_schema": "gql_api", "roles": {"read": ["regress_gql_reader"], "write": ["regress_gql_writer"]}}') IS NOT NULL AS registered;
SET ROLE regress_gql_reader;
SELECT gql_api.graphql('{ gqlTagCollection { totalCount } }');
RESET ROLE;
SELECT specstar.drop_spec('gql_tag');
SET ROLE regress_gql_reader;
SELECT gql_api.graphql('{ gqlTagCollection { totalCount } }') -> 'errors' -> 0 -> 'extensions' AS after_drop;
RESET ROLE;

-- values are parameters: quotes, dollar quotes and comments are data
SET ROLE regress_gql_writer;
SELECT gql_api.graphql($$mutation($t: String!) { insertIntoGqlNoteCollection(objects: [{text: $t}]) { records { text } } }$$,
  jsonb_build_object('t', E'x''); DROP TABLE specstar_data.gql_note; --$q$ \\'));
SELECT gql_api.graphql($$query($t: String!) { gqlNoteCollection(filter: {text: {eq: $t}}) { totalCount } }$$,
  jsonb_build_object('t', E'x''); DROP TABLE specstar_data.gql_note; --$q$ \\'));
-- JSON is JSON both ways; an explicit null clears it (SQL NULL, not the JSON value null)
SELECT gql_api.graphql($$mutation { updateGqlNoteCollection(set: {meta: {a: [1, "two"]}}, filter: {text: {eq: "one"}}) { records { meta } } }$$);
SELECT gql_api.graphql($$mutation { updateGqlNoteCollection(set: {meta: null}, filter: {text: {eq: "one"}}) { records { meta } } }$$);
SELECT meta IS NULL AS cleared FROM gql_api.gql_note WHERE text = 'one';
-- errors keep their SQLSTATE, and leave the data as it was
SELECT gql_api.graphql($$mutation { insertIntoGqlNoteCollection(objects: [{text: ""}]) { affectedCount } }$$) -> 'errors' -> 0 -> 'extensions' ->> 'code' AS code;
SELECT gql_api.graphql($$mutation { updateGqlNoteCollection(set: {text: "x"}, atMost: 0) { affectedCount } }$$) -> 'errors' -> 0 ->> 'message' AS message;
SELECT count(*) AS notes, count(*) FILTER (WHERE text = 'x') AS changed FROM gql_api.gql_note;
RESET ROLE;
-- what a client sends never raises: NULLs, garbage variables, a too-deep JSON value
SELECT gql_api.graphql(NULL) -> 'errors' -> 0 -> 'extensions' ->> 'code' AS code;
SELECT gql_api.graphql('{ __typename }', '"not an object"') -> 'errors' -> 0 -> 'extensions' ->> 'code' AS code;
SELECT gql_api.graphql('{ __typename }', ('{"v": ' || repeat('[', 150) || repeat(']', 150) || '}')::jsonb) -> 'errors' -> 0 ->> 'message' AS message;
-- settings are superuser-only
SET ROLE regress_gql_writer;
SET specstar.graphql_max_rows = 100000;
SET specstar.graphql_introspection = off;
RESET ROLE;
SET specstar.graphql_introspection = off;
SELECT gql_api.graphql('{ __schema { queryType { name } } }') -> 'errors' -> 0 ->> 'message' AS message;
RESET specstar.graphql_introspection;

SELECT specstar.drop_spec('gql_note', drop_data => true);
DROP SCHEMA gql_api;
DROP OWNED BY regress_gql_reader, regress_gql_writer;
DROP ROLE regress_gql_reader;
DROP ROLE regress_gql_writer;
