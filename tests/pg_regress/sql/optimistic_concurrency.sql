-- Optimistic concurrency: a write that sets revision (or passes expected_revision) to
-- anything but the current revision fails with PT409 and changes nothing. Upserts carry
-- the expected revision through ON CONFLICT.
\set SHOW_CONTEXT never

SELECT specstar.register_spec('item', '{"type": "object", "properties": {"name": {"type": "string", "x-unique": true}, "qty": {"type": "integer"}}, "required": ["name"]}') IS NOT NULL AS ok;
INSERT INTO api.item (id, name, qty) VALUES ('00000000-0000-0000-0000-000000000001', 'apple', 1);
UPDATE api.item SET qty = 2 WHERE id = '00000000-0000-0000-0000-000000000001';

-- the current revision: accepted
UPDATE api.item SET qty = 3, revision = 2 WHERE id = '00000000-0000-0000-0000-000000000001' RETURNING revision;
-- a stale one: refused
UPDATE api.item SET qty = 99, revision = 2 WHERE id = '00000000-0000-0000-0000-000000000001';
\echo :LAST_ERROR_SQLSTATE
-- a future one, or NULL: refused
UPDATE api.item SET qty = 99, revision = 7 WHERE id = '00000000-0000-0000-0000-000000000001';
\echo :LAST_ERROR_SQLSTATE
UPDATE api.item SET qty = 99, revision = NULL WHERE id = '00000000-0000-0000-0000-000000000001';
\echo :LAST_ERROR_SQLSTATE
SELECT qty, revision FROM api.item;

-- upsert (PostgREST POST with on_conflict, and PUT)
INSERT INTO api.item (id, name, qty) VALUES ('00000000-0000-0000-0000-000000000001', 'apple', 10)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, qty = EXCLUDED.qty RETURNING qty, revision;
INSERT INTO api.item (id, name, qty, revision) VALUES ('00000000-0000-0000-0000-000000000001', 'apple', 11, 4)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, qty = EXCLUDED.qty, revision = EXCLUDED.revision RETURNING qty, revision;
INSERT INTO api.item (id, name, qty, revision) VALUES ('00000000-0000-0000-0000-000000000001', 'apple', 12, 4)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, qty = EXCLUDED.qty, revision = EXCLUDED.revision RETURNING qty, revision;
\echo :LAST_ERROR_SQLSTATE
-- upsert on another unique column
INSERT INTO api.item (name, qty) VALUES ('apple', 13) ON CONFLICT (name) DO UPDATE SET qty = EXCLUDED.qty RETURNING qty, revision;
-- an upsert that inserts: a new resource starts at revision 1
INSERT INTO api.item (id, name, qty, revision) VALUES ('00000000-0000-0000-0000-000000000002', 'pear', 1, 1)
ON CONFLICT (id) DO UPDATE SET qty = EXCLUDED.qty, revision = EXCLUDED.revision RETURNING name, revision;
INSERT INTO api.item (id, name, qty, revision) VALUES ('00000000-0000-0000-0000-000000000003', 'plum', 1, 5);
\echo :LAST_ERROR_SQLSTATE

-- expected_revision of the RPCs
SELECT qty, revision FROM api.item_patch('00000000-0000-0000-0000-000000000001', '[{"op": "replace", "path": "/qty", "value": 20}]', expected_revision => 6);
SELECT api.item_patch('00000000-0000-0000-0000-000000000001', '[{"op": "replace", "path": "/qty", "value": 21}]', expected_revision => 6);
\echo :LAST_ERROR_SQLSTATE
SELECT api.item_rollback('00000000-0000-0000-0000-000000000001', to_revision => 1, expected_revision => 3);
\echo :LAST_ERROR_SQLSTATE
SELECT qty, revision FROM api.item_rollback('00000000-0000-0000-0000-000000000001', to_revision => 1, expected_revision => 7);

SELECT revision, op, data ->> 'qty' AS qty FROM api.item_revision WHERE id = '00000000-0000-0000-0000-000000000001' ORDER BY revision;
SELECT specstar.drop_spec('item', drop_data => true);
