-- Revisions (DESIGN §4): numbering from 1 without gaps, op, parent_revision,
-- valid_from/valid_to, changed_by (JWT sub or current_user), message, and an append-only
-- history.
\set SHOW_CONTEXT never

SELECT specstar.register_spec('doc', '{"type": "object", "properties": {"title": {"type": "string"}, "n": {"type": "integer"}}, "required": ["title"]}') IS NOT NULL AS ok;

INSERT INTO api.doc (id, title) VALUES ('00000000-0000-0000-0000-000000000001', 'one') RETURNING revision, created_by, updated_by, created_at = updated_at AS fresh;
-- the resource is stamped by specstar, whatever the client sends
INSERT INTO api.doc (id, title, created_at, created_by, updated_at, updated_by)
VALUES ('00000000-0000-0000-0000-000000000002', 'two', '2000-01-01', 'mallory', '2000-01-01', 'mallory')
RETURNING revision, created_by, updated_by, created_at > '2001-01-01' AS real_time;

SET specstar.message = 'first edit';
UPDATE api.doc SET title = 'one, edited' WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING revision;
RESET specstar.message;
-- the actor is the JWT sub when PostgREST set one
SET request.jwt.claims = '{"sub": "user-42", "role": "web"}';
UPDATE api.doc SET n = 1 WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING revision, updated_by, created_by;
RESET request.jwt.claims;
-- and the X-Specstar-Message header when PostgREST passed one
SET request.headers = '{"x-specstar-message": "from a header"}';
UPDATE api.doc SET n = 2 WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING revision;
RESET request.headers;
-- several revisions in one transaction are all kept
BEGIN;
UPDATE api.doc SET n = 3 WHERE id = '00000000-0000-0000-0000-000000000001';
UPDATE api.doc SET n = 4 WHERE id = '00000000-0000-0000-0000-000000000001';
COMMIT;
-- updates that change created_* or updated_* are overruled
UPDATE api.doc SET n = 5, created_by = 'mallory', updated_at = '2000-01-01' WHERE id = '00000000-0000-0000-0000-000000000001'
RETURNING revision, created_by, updated_at > '2001-01-01' AS real_time;

SELECT revision, parent_revision, op, data, schema_version, changed_by, message
  FROM api.doc_revision WHERE id = '00000000-0000-0000-0000-000000000001' ORDER BY revision;
-- valid_to of each revision is the valid_from of the next; only the current one is open
SELECT revision,
       valid_to = lead(valid_from) OVER (ORDER BY revision) AS closed_by_next,
       valid_to IS NULL AS open,
       valid_from <= coalesce(valid_to, 'infinity') AS ordered
  FROM api.doc_revision WHERE id = '00000000-0000-0000-0000-000000000001' ORDER BY revision;
-- the live row and its newest revision agree
SELECT d.revision = r.revision AND d.updated_at = r.valid_from AND d.updated_by = r.changed_by AS consistent
  FROM api.doc d JOIN api.doc_revision r ON r.id = d.id AND r.valid_to IS NULL
 WHERE d.id = '00000000-0000-0000-0000-000000000001';

-- the id of a resource never changes
UPDATE api.doc SET id = '00000000-0000-0000-0000-000000000009' WHERE id = '00000000-0000-0000-0000-000000000001';
\echo :LAST_ERROR_SQLSTATE

-- history is append-only, even for the owner
UPDATE specstar_data.doc_revision SET message = 'rewritten';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM specstar_data.doc_revision;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE specstar_data.doc_revision;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE specstar_data.doc;
\echo :LAST_ERROR_SQLSTATE
-- and the history view is read-only
UPDATE api.doc_revision SET message = 'x';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO specstar_data.doc_revision (id, revision, op, data, schema_version, valid_from, changed_by, created_at, created_by)
VALUES ('00000000-0000-0000-0000-000000000001', 100, 'update', '{}', '1', now(), 'forger', now(), 'forger');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS revisions FROM api.doc_revision WHERE id = '00000000-0000-0000-0000-000000000001';

-- roles without privileges cannot write history
CREATE ROLE regress_doc_writer NOLOGIN;
GRANT USAGE ON SCHEMA api, specstar_data TO regress_doc_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON api.doc, specstar_data.doc TO regress_doc_writer;
SET ROLE regress_doc_writer;
UPDATE api.doc SET n = 6 WHERE id = '00000000-0000-0000-0000-000000000002' RETURNING revision, updated_by;
INSERT INTO specstar_data.doc_revision (id, revision, op, data, schema_version, valid_from, changed_by, created_at, created_by)
VALUES ('00000000-0000-0000-0000-000000000002', 100, 'update', '{}', '1', now(), 'forger', now(), 'forger');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT revision, op, changed_by FROM api.doc_revision WHERE id = '00000000-0000-0000-0000-000000000002' ORDER BY revision;
REVOKE ALL ON api.doc, specstar_data.doc FROM regress_doc_writer;
REVOKE ALL ON SCHEMA api, specstar_data FROM regress_doc_writer;
DROP ROLE regress_doc_writer;

-- the operation label is specstar's: a session cannot invent one (migrate revisions are written by register_spec only)
SET specstar.internal_op = 'migrate';
UPDATE api.doc SET n = 7 WHERE id = '00000000-0000-0000-0000-000000000002';
RESET specstar.internal_op;
SELECT revision, op FROM api.doc_revision WHERE id = '00000000-0000-0000-0000-000000000002' ORDER BY revision;

SELECT specstar.drop_spec('doc', drop_data => true);
