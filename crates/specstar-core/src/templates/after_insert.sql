CREATE FUNCTION {{fn_after_insert}}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $specstar$
-- Runs only for inserts that gave a revision or brought back a deleted id (see the
-- trigger's WHEN clause). An upsert that hits an existing row never gets here, so a
-- revision given for the conflict path keeps meaning "the revision I expect".
BEGIN
  IF NEW.revision IS DISTINCT FROM coalesce(NEW._parent, 0) + 1 THEN
    IF NEW._parent IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'PT409',
        MESSAGE = format('%s %s does not exist: a new resource starts at revision 1, not %s', {{spec}}, NEW.id, NEW.revision),
        HINT = 'Omit revision when creating a resource.';
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'PT409',
      MESSAGE = format('%s %s was deleted at revision %s: writing revision %s is stale', {{spec}}, NEW.id, NEW._parent, NEW.revision),
      HINT = 'Omit revision to bring the resource back with the next revision number.';
  END IF;
  IF NEW._parent IS NOT NULL THEN
    PERFORM set_config('specstar.internal_history_write', 'on', true);
    UPDATE {{history}} h SET valid_to = NEW.updated_at
     WHERE h.id = NEW.id AND h.revision = NEW._parent;
    PERFORM set_config('specstar.internal_history_write', '', true);
  END IF;
  RETURN NULL;
END
$specstar$
