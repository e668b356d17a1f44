-- A revision's operation label says what wrote it, and only specstar's own functions can
-- claim rollback, restore or publish: the label comes from which function is writing,
-- not from anything a session can set.
\set SHOW_CONTEXT never
SELECT specstar.register_spec('lab', '{"type": "object", "properties": {"t": {"type": "string"}}}') IS NOT NULL AS registered;
INSERT INTO api.lab (id, t) VALUES ('00000000-0000-0000-0000-000000000001', 'one');
UPDATE api.lab SET t = 'two';

-- the GUCs that once labelled writes are ignored
SET specstar.internal_op = 'rollback';
UPDATE api.lab SET t = 'three';
RESET specstar.internal_op;
-- a function of one's own, even one named like specstar's, writes plain updates
CREATE FUNCTION public.lab_rollback(id uuid, to_revision int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE api.lab SET t = 'four' WHERE lab.id = $1;
END
$$;
SELECT public.lab_rollback('00000000-0000-0000-0000-000000000001', 1);
DO $$ BEGIN UPDATE api.lab SET t = 'five'; END $$;
-- specstar's own functions label their writes, also when called from a user's function
SELECT t, revision FROM api.lab_rollback('00000000-0000-0000-0000-000000000001', 1);
CREATE FUNCTION public.lab_wrapped() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM api.lab_rollback('00000000-0000-0000-0000-000000000001', 2);
  UPDATE api.lab SET t = 'after';
END
$$;
SELECT public.lab_wrapped();
DELETE FROM api.lab;
SELECT t, revision FROM api.lab_restore('00000000-0000-0000-0000-000000000001');
INSERT INTO api.lab_draft (id, t) VALUES ('00000000-0000-0000-0000-000000000001', 'drafted');
SELECT t, revision FROM api.lab_publish('00000000-0000-0000-0000-000000000001');
-- a deleted id written again by hand is a create, whatever was set
DELETE FROM api.lab;
SET specstar.internal_op = 'restore';
INSERT INTO api.lab (id, t) VALUES ('00000000-0000-0000-0000-000000000001', 'again');
RESET specstar.internal_op;
SELECT revision, op, data ->> 't' AS t FROM api.lab_revision ORDER BY revision;
DROP FUNCTION public.lab_rollback(uuid, int), public.lab_wrapped();
SELECT specstar.drop_spec('lab', drop_data => true);
