-- User text in generated SQL (titles, descriptions, enum values, defaults) is quoted so
-- that it reads the same in every session setting: with standard_conforming_strings off a
-- backslash would otherwise end the literal, and "$specstar$" in a default would end the
-- draft trigger's dollar-quoted body. Whatever the text, it arrives intact.
\set SHOW_CONTEXT never
SET standard_conforming_strings = off;
SET escape_string_warning = off;

SELECT specstar.register_spec('quoted', '{
  "title": "It''s a \\"title\\" with \\\\ backslash \\\\'' and $specstar$ $$ $1",
  "description": "\\\\''; DROP TABLE specstar.spec; --",
  "type": "object",
  "properties": {
    "label": {"type": "string", "default": "$specstar$ {{spec}} \\\\ '' end", "description": "a \\\\ b '' c $$"},
    "mode": {"enum": ["a''b", "c\\\\d", "$e$"], "default": "c\\\\d"},
    "data": {"type": "object", "default": {"k": "v\\\\w ''x'' $y$"}},
    "tags": {"type": "array", "items": {"type": "string"}, "default": ["$specstar$", "\\\\"]}
  }
}') IS NOT NULL AS registered;
SELECT count(*) AS specs FROM specstar.specs WHERE name IN ('quoted', 'spec');

-- comments (the OpenAPI descriptions) hold the text as written
SELECT obj_description('api.quoted'::regclass) AS view_comment;
SELECT col_description('api.quoted'::regclass, a.attnum) AS label_comment
  FROM pg_attribute a WHERE a.attrelid = 'api.quoted'::regclass AND a.attname = 'label';
-- defaults, on the live table and in the draft trigger
INSERT INTO api.quoted (id) VALUES ('00000000-0000-0000-0000-000000000001');
SELECT label, mode, data, tags FROM api.quoted;
INSERT INTO api.quoted_draft (id) VALUES ('00000000-0000-0000-0000-000000000002');
SELECT label, mode, data, tags FROM api.quoted_draft;
SELECT label, mode, revision FROM api.quoted_publish('00000000-0000-0000-0000-000000000002');
-- enum values, in the CHECK constraint and in validation
UPDATE api.quoted SET mode = 'a''b' WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING mode;
UPDATE api.quoted SET mode = '$e$' WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING mode;
UPDATE api.quoted SET mode = 'x' WHERE id = '00000000-0000-0000-0000-000000000001';
\echo :LAST_ERROR_SQLSTATE
SELECT revision, op, data ->> 'mode' AS mode FROM api.quoted_revision WHERE id = '00000000-0000-0000-0000-000000000001' ORDER BY revision;
RESET standard_conforming_strings;
SELECT specstar.drop_spec('quoted', drop_data => true);
