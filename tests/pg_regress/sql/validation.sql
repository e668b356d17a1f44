-- Every INSERT and UPDATE is validated against the full JSON Schema (formats included):
-- PT422, message = first error with its JSON pointer, DETAIL = all errors as JSON, and
-- nothing is written.
\set SHOW_CONTEXT never

SELECT specstar.register_spec('person', '{
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 20},
    "email": {"type": "string", "format": "email"},
    "age": {"type": "integer", "minimum": 0, "maximum": 150},
    "born": {"type": "string", "format": "date"},
    "website": {"type": "string", "format": "uri"},
    "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
    "role": {"enum": ["admin", "user"]},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 3, "uniqueItems": true},
    "address": {"type": "object", "properties": {"zip": {"type": "string", "pattern": "^[0-9]{5}$"}}, "required": ["zip"], "additionalProperties": false},
    "nickname": {"type": "string"}
  },
  "required": ["name"],
  "dependentRequired": {"nickname": ["email"]}
}') IS NOT NULL AS ok;

-- valid
INSERT INTO api.person (id, name, email, age, born, website, code, role, tags, address)
VALUES ('00000000-0000-0000-0000-000000000001', 'Ada', 'ada@example.com', 36, '1815-12-10', 'https://example.com/ada', 'ADA', 'admin', '{x,y}', '{"zip": "12345"}')
RETURNING name, revision;

-- each keyword, on insert
INSERT INTO api.person (name) VALUES ('');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.person (name, age) VALUES ('Bob', -1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.person (name, email) VALUES ('Bob', 'not an email');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.person (name, website) VALUES ('Bob', 'no scheme');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.person (name, code) VALUES ('Bob', 'abc');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.person (name, role) VALUES ('Bob', 'root');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.person (name, tags) VALUES ('Bob', '{a,a}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.person (name, tags) VALUES ('Bob', '{a,b,c,d}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.person (name, tags) VALUES ('Bob', '{toolongtag}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.person (name, address) VALUES ('Bob', '{"zip": "ABCDE", "street": "Main"}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO api.person (name, address) VALUES ('Bob', '{}');
\echo :LAST_ERROR_SQLSTATE
-- cross-property keywords see the whole document
INSERT INTO api.person (name, nickname) VALUES ('Bob', 'bobby');
\echo :LAST_ERROR_SQLSTATE
-- a missing required property is reported before the NOT NULL constraint
INSERT INTO api.person (age) VALUES (3);
\echo :LAST_ERROR_SQLSTATE
-- several errors at once: the first in the message, all in DETAIL
INSERT INTO api.person (name, age, email, code) VALUES ('', 200, 'x', 'zz');
\echo :LAST_ERROR_SQLSTATE
-- a bulk insert is all or nothing
INSERT INTO api.person (name, age) VALUES ('Carol', 30), ('Dan', -5);
\echo :LAST_ERROR_SQLSTATE

-- on update: the failed update writes nothing
UPDATE api.person SET age = 151 WHERE id = '00000000-0000-0000-0000-000000000001';
\echo :LAST_ERROR_SQLSTATE
UPDATE api.person SET email = NULL, nickname = 'ad' WHERE id = '00000000-0000-0000-0000-000000000001';
\echo :LAST_ERROR_SQLSTATE
SELECT name, age, email, revision FROM api.person ORDER BY name;
SELECT count(*) AS revisions FROM api.person_revision;

-- validation also applies to writes that bypass the view
INSERT INTO specstar_data.person (name, age) VALUES ('Eve', -2);
\echo :LAST_ERROR_SQLSTATE

SELECT specstar.drop_spec('person', drop_data => true);
