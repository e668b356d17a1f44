-- Drafts: one working copy per id beside the published resource. Saving a draft writes no
-- revision; publish validates it fully and writes it as one `publish` revision.
\set SHOW_CONTEXT never

CREATE ROLE regress_post_reader NOLOGIN;
CREATE ROLE regress_post_writer NOLOGIN;
SELECT specstar.register_spec('post', '{"type": "object",
  "properties": {"title": {"type": "string", "maxLength": 20}, "body": {"type": "string"},
                 "views": {"type": "integer", "minimum": 0}, "host": {"type": "string", "format": "ipv4"}},
  "required": ["title", "body"]}',
  '{"roles": {"read": ["regress_post_reader"], "write": ["regress_post_writer"]}}') IS NOT NULL AS ok;
\d api.post_draft
INSERT INTO api.post (id, title, body, views) VALUES ('00000000-0000-0000-0000-000000000001', 'First', 'Hello', 1);

-- a draft of an existing resource starts from its current revision: what is left out is copied
INSERT INTO api.post_draft (id, title) VALUES ('00000000-0000-0000-0000-000000000001', 'First, edited')
RETURNING id, title, body, views, base_revision, updated_by;
-- saving it again writes no revision either
UPDATE api.post_draft SET views = 2 WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING title, views, base_revision;
SELECT count(*) AS revisions FROM api.post_revision;
SELECT title, revision FROM api.post;
-- base_revision is specstar's: whatever a client sends is replaced
UPDATE api.post_draft SET base_revision = 99 WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING base_revision;
-- at most one draft per id
INSERT INTO api.post_draft (id, title) VALUES ('00000000-0000-0000-0000-000000000001', 'again');
\echo :LAST_ERROR_SQLSTATE
-- the id of a draft is fixed
UPDATE api.post_draft SET id = '00000000-0000-0000-0000-000000000002' WHERE id = '00000000-0000-0000-0000-000000000001';
\echo :LAST_ERROR_SQLSTATE

-- saving checks types and formats, not required properties
INSERT INTO api.post_draft (id, title) VALUES ('00000000-0000-0000-0000-000000000002', repeat('x', 21));
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.post_draft (id, views) VALUES ('00000000-0000-0000-0000-000000000002', -1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.post_draft (id, host) VALUES ('00000000-0000-0000-0000-000000000002', '300.1.1.1');
\echo :LAST_ERROR_SQLSTATE
-- a draft for a new resource: no body yet, which is fine for a draft
INSERT INTO api.post_draft (id, title) VALUES ('00000000-0000-0000-0000-000000000002', 'Second')
RETURNING id, title, body, base_revision;
-- ... and invisible to readers of the resource and its history until published
SELECT count(*) AS live FROM api.post WHERE id = '00000000-0000-0000-0000-000000000002';
SELECT count(*) AS revisions FROM api.post_revision WHERE id = '00000000-0000-0000-0000-000000000002';
SELECT api.post_at('00000000-0000-0000-0000-000000000002');
\echo :LAST_ERROR_SQLSTATE

-- publish checks the whole spec: body is required; the draft stays as it was
SELECT * FROM api.post_publish('00000000-0000-0000-0000-000000000002');
\echo :LAST_ERROR_SQLSTATE
SELECT title, body FROM api.post_draft WHERE id = '00000000-0000-0000-0000-000000000002';
UPDATE api.post_draft SET body = 'Text' WHERE id = '00000000-0000-0000-0000-000000000002';
SET specstar.message = 'first publication';
SELECT title, body, revision FROM api.post_publish('00000000-0000-0000-0000-000000000002');
RESET specstar.message;
-- revision 1 of a new resource, written by publish; the draft is gone
SELECT revision, parent_revision, op, data, message FROM api.post_revision WHERE id = '00000000-0000-0000-0000-000000000002';
SELECT count(*) AS drafts FROM api.post_draft WHERE id = '00000000-0000-0000-0000-000000000002';

-- publishing a draft of an existing resource: a `publish` revision
SELECT title, body, views, revision FROM api.post_publish('00000000-0000-0000-0000-000000000001');
SELECT revision, op, data FROM api.post_revision WHERE id = '00000000-0000-0000-0000-000000000001' ORDER BY revision;

-- the live resource moved on since the draft started: PT409, unless force
INSERT INTO api.post_draft (id, title) VALUES ('00000000-0000-0000-0000-000000000001', 'Stale draft');
UPDATE api.post SET views = 10 WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT * FROM api.post_publish('00000000-0000-0000-0000-000000000001');
\echo :LAST_ERROR_SQLSTATE
SELECT title, views, revision FROM api.post WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT title, views, revision FROM api.post_publish('00000000-0000-0000-0000-000000000001', force => true);

-- discard drops a draft and nothing else
INSERT INTO api.post_draft (id, title) VALUES ('00000000-0000-0000-0000-000000000001', 'Never mind');
SELECT api.post_discard('00000000-0000-0000-0000-000000000001');
SELECT count(*) AS drafts FROM api.post_draft;
SELECT title, revision FROM api.post WHERE id = '00000000-0000-0000-0000-000000000001';

-- no draft: PT404 for publish and discard
SELECT * FROM api.post_publish('00000000-0000-0000-0000-000000000001');
\echo :LAST_ERROR_SQLSTATE
SELECT api.post_discard('00000000-0000-0000-0000-000000000001');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM api.post_publish('00000000-0000-0000-0000-0000000000ff');
\echo :LAST_ERROR_SQLSTATE

-- deleting a resource keeps its draft (unpublished work is not history, and a delete can
-- be undone); publishing it then needs force, which brings the resource back
INSERT INTO api.post_draft (id, title) VALUES ('00000000-0000-0000-0000-000000000002', 'Second, reworked');
DELETE FROM api.post WHERE id = '00000000-0000-0000-0000-000000000002';
SELECT title, body, base_revision FROM api.post_draft WHERE id = '00000000-0000-0000-0000-000000000002';
SELECT * FROM api.post_publish('00000000-0000-0000-0000-000000000002');
\echo :LAST_ERROR_SQLSTATE
SELECT title, revision FROM api.post_publish('00000000-0000-0000-0000-000000000002', force => true);
SELECT revision, op, data ->> 'title' AS title FROM api.post_revision WHERE id = '00000000-0000-0000-0000-000000000002' ORDER BY revision;
-- a draft started after the delete has no base and publishes without force
DELETE FROM api.post WHERE id = '00000000-0000-0000-0000-000000000002';
INSERT INTO api.post_draft (id, title, body) VALUES ('00000000-0000-0000-0000-000000000002', 'Third life', 'Back');
SELECT title, revision FROM api.post_publish('00000000-0000-0000-0000-000000000002');
SELECT revision, op FROM api.post_revision WHERE id = '00000000-0000-0000-0000-000000000002' ORDER BY revision;

-- purge erases a resource's draft with its history
INSERT INTO api.post_draft (id, title) VALUES ('00000000-0000-0000-0000-000000000002', 'Doomed');
SELECT specstar.purge('post', '00000000-0000-0000-0000-000000000002');
SELECT count(*) AS drafts FROM api.post_draft;

-- properties with a default: a draft of an existing resource copies them like the others,
-- a draft of a new resource gets the default
SELECT specstar.register_spec('memo', '{"type": "object", "properties": {"text": {"type": "string"}, "level": {"type": "integer", "default": 1}}}') IS NOT NULL AS ok;
INSERT INTO api.memo (id, text, level) VALUES ('00000000-0000-0000-0000-000000000001', 'live', 5);
INSERT INTO api.memo_draft (id, text) VALUES ('00000000-0000-0000-0000-000000000001', 'edited') RETURNING text, level, base_revision;
INSERT INTO api.memo_draft (id, text) VALUES ('00000000-0000-0000-0000-000000000002', 'new') RETURNING text, level, base_revision;
SELECT text, level, revision FROM api.memo_publish('00000000-0000-0000-0000-000000000001');
SELECT text, level, revision FROM api.memo_publish('00000000-0000-0000-0000-000000000002');
SELECT specstar.drop_spec('memo', drop_data => true);

-- drafts are unpublished work: writers see and publish them, readers do neither
INSERT INTO api.post_draft (id, title) VALUES ('00000000-0000-0000-0000-000000000001', 'Work in progress');
SET ROLE regress_post_writer;
SELECT title FROM api.post_draft;
SELECT title, revision FROM api.post_publish('00000000-0000-0000-0000-000000000001');
RESET ROLE;
SET ROLE regress_post_reader;
SELECT title, revision FROM api.post;
SELECT count(*) FROM api.post_draft;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.post_draft (id, title) VALUES ('00000000-0000-0000-0000-000000000001', 'Sneaky');
\echo :LAST_ERROR_SQLSTATE
SELECT api.post_publish('00000000-0000-0000-0000-000000000001');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

SELECT specstar.drop_spec('post', drop_data => true);
DROP OWNED BY regress_post_reader, regress_post_writer;
DROP ROLE regress_post_reader;
DROP ROLE regress_post_writer;
