-- <spec>_diff(id, from_revision, to_revision): the RFC 6902 patch between two revisions'
-- data (default: to the current one).
\set SHOW_CONTEXT never

SELECT specstar.register_spec('profile', '{"type": "object", "properties": {"name": {"type": "string"}, "bio": {"type": "string"}, "links": {"type": "array", "items": {"type": "string"}}, "meta": {"type": "object"}}}') IS NOT NULL AS ok;
INSERT INTO api.profile (id, name, bio, links, meta) VALUES ('00000000-0000-0000-0000-000000000001', 'Ada', 'math', '{a}', '{"x": 1, "y": {"z": 2}}');
UPDATE api.profile SET name = 'Ada L.', bio = NULL, links = '{a,b}', meta = '{"x": 1, "y": {"z": 3}, "w": null}' WHERE id = '00000000-0000-0000-0000-000000000001';
UPDATE api.profile SET bio = 'poetry' WHERE id = '00000000-0000-0000-0000-000000000001';

SELECT jsonb_pretty(api.profile_diff('00000000-0000-0000-0000-000000000001', 1, 2));
SELECT api.profile_diff('00000000-0000-0000-0000-000000000001', from_revision => 2);
SELECT api.profile_diff('00000000-0000-0000-0000-000000000001', 3, 1);
SELECT api.profile_diff('00000000-0000-0000-0000-000000000001', 3, 3);
-- applying the diff to the old revision gives the new one
SELECT api.profile_patch('00000000-0000-0000-0000-000000000001',
         (SELECT jsonb_agg(op) FROM jsonb_array_elements(api.profile_diff('00000000-0000-0000-0000-000000000001', 3, 1)) op)) IS NOT NULL AS patched;
SELECT data = (SELECT data FROM api.profile_revision WHERE revision = 1) AS equals_revision_1
  FROM api.profile_revision WHERE valid_to IS NULL;
-- a deleted resource: diff between stored revisions still works, "current" does not exist
DELETE FROM api.profile;
SELECT api.profile_diff('00000000-0000-0000-0000-000000000001', 1, 5);
SELECT api.profile_diff('00000000-0000-0000-0000-000000000001', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT api.profile_diff('00000000-0000-0000-0000-000000000001', 1, 77);
\echo :LAST_ERROR_SQLSTATE
SELECT api.profile_diff('00000000-0000-0000-0000-0000000000ff', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT api.profile_diff('00000000-0000-0000-0000-000000000001', NULL);
\echo :LAST_ERROR_SQLSTATE

SELECT specstar.drop_spec('profile', drop_data => true);
