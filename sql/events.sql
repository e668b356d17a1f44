-- The change feed (docs/events.md): every revision of every spec with options.events.feed
-- (the default) is one row of specstar.change, numbered at commit, in commit order, without
-- gaps.
--
-- How (contracts/permissions-events.md §8): a spec's statement triggers add the revisions a
-- statement wrote (specstar._feed_write), cursor NULL. The first of them in a transaction
-- arms a deferred constraint trigger; at commit it takes the feed lock, numbers the
-- transaction's rows in write order from specstar.change_cursor, and commit releases the
-- lock only once the rows are visible. So a cursor becomes visible only after every smaller
-- one, and a transaction that wrote first and committed last lands after the cursors handed
-- out before it, never behind them. Rolled-back writes leave nothing. Being rows, events
-- share WAL, replicas and pg_dump with the data.

CREATE SEQUENCE specstar.change_cursor;
CREATE SEQUENCE specstar.change_seq;

CREATE TABLE specstar.change (
  seq bigint PRIMARY KEY,            -- write order
  cursor bigint UNIQUE,              -- NULL until its transaction commits
  xact xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
  spec text NOT NULL,
  id uuid NOT NULL,
  revision integer NOT NULL,
  arms boolean NOT NULL DEFAULT false -- the row that armed the commit trigger
);
CREATE INDEX change_pending ON specstar.change (xact) WHERE cursor IS NULL;
CREATE INDEX change_spec ON specstar.change (spec, cursor);
CREATE INDEX change_resource ON specstar.change (spec, id);
COMMENT ON TABLE specstar.change IS
  'The change feed: one row per revision, numbered at commit (cursor) in commit order without gaps. Read it with specstar.changes() or api.<spec>_changes().';
SELECT pg_catalog.pg_extension_config_dump('specstar.change', '');
SELECT pg_catalog.pg_extension_config_dump('specstar.change_cursor', '');
SELECT pg_catalog.pg_extension_config_dump('specstar.change_seq', '');

-- Called by a spec's feed triggers (SECURITY DEFINER, owned by the spec's owner): the
-- revisions one statement wrote, in write order.
CREATE FUNCTION specstar._feed_write(spec text, ids uuid[], revisions integer[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_arm boolean;
BEGIN
  IF coalesce(array_length(ids, 1), 0) = 0 THEN
    RETURN;
  END IF;
  -- the transaction's first unnumbered row arms the commit trigger (asked of the table, not
  -- of a setting a writer could forge to keep their writes out of the feed)
  v_arm := NOT EXISTS (SELECT 1 FROM specstar.change c WHERE c.xact = pg_current_xact_id() AND c.cursor IS NULL);
  INSERT INTO specstar.change (seq, spec, id, revision, arms)
    SELECT nextval('specstar.change_seq'), _feed_write.spec, u.id, u.revision, v_arm AND u.n = 1
      FROM (SELECT * FROM unnest(ids, revisions) WITH ORDINALITY AS x(id, revision, n) ORDER BY x.n) u;
END
$$;

-- At commit (deferred), once per transaction that wrote events: cursors in write order,
-- under the feed lock, which commit releases once the rows are visible.
CREATE FUNCTION specstar._feed_commit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_n bigint;
  v_first bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('specstar.change_cursor'));
  SELECT count(*) INTO v_n FROM specstar.change c WHERE c.xact = pg_current_xact_id() AND c.cursor IS NULL;
  IF v_n > 0 THEN
    v_first := nextval('specstar.change_cursor');
    IF v_n > 1 THEN
      PERFORM setval('specstar.change_cursor', v_first + v_n - 1);
    END IF;
    UPDATE specstar.change c SET cursor = v_first + s.rn - 1
      FROM (SELECT p.seq, row_number() OVER (ORDER BY p.seq) AS rn
              FROM specstar.change p WHERE p.xact = pg_current_xact_id() AND p.cursor IS NULL) s
     WHERE c.seq = s.seq;
  END IF;
  -- (SET CONSTRAINTS ALL IMMEDIATE fires this early: later writes find nothing unnumbered
  -- and arm it again)
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER change_commit AFTER INSERT ON specstar.change
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.arms) EXECUTE FUNCTION specstar._feed_commit();

-- The cursor of the newest event visible in the caller's snapshot: read the data and this
-- in one transaction, then follow the feed from it, and nothing is missed or seen twice.
-- (It tells how many changes the database saw, never which.)
CREATE FUNCTION specstar.changes_head() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(max(c.cursor), 0) FROM specstar.change c
$$;
COMMENT ON FUNCTION specstar.changes_head() IS 'The cursor of the newest change visible in this snapshot (docs/events.md).';

-- Events live as long as their revisions: purge (every revision of a resource), prune (the
-- revisions below `below`) and drop_spec with drop_data (id NULL: the whole spec) remove them.
CREATE FUNCTION specstar._feed_forget(spec text, id uuid, below integer) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  DELETE FROM specstar.change c
   WHERE c.spec = _feed_forget.spec AND (_feed_forget.id IS NULL OR c.id = _feed_forget.id)
     AND (_feed_forget.below IS NULL OR c.revision < _feed_forget.below)
$$;

REVOKE ALL ON FUNCTION specstar._feed_forget(text, uuid, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar._feed_write(text, uuid[], integer[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar._feed_commit() FROM PUBLIC;

-- Every spec's events after a cursor, for SQL consumers (PostgREST serves api.<spec>_changes):
-- the specs named (NULL: every spec whose feed the caller may read), only events whose
-- revision the caller may read, at most top of them, in cursor order.
CREATE FUNCTION specstar.changes(after bigint DEFAULT 0, top integer DEFAULT 100, specs text[] DEFAULT NULL)
RETURNS TABLE (cursor bigint, spec text, id uuid, revision integer, op text, changed_at timestamptz, changed_by text, data jsonb)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_specs text[] := changes.specs;
  k record;
BEGIN
  IF v_specs IS NULL THEN
    v_specs := ARRAY(SELECT s.name FROM specstar.spec s
                      WHERE has_table_privilege(format('specstar_data.%I', s.name || '_revision'), 'SELECT')
                        AND has_table_privilege(format('specstar_data.%I', s.name), 'SELECT')
                      ORDER BY s.name);
  END IF;
  FOR k IN SELECT c.spec, c.cursor, c.id, c.revision, s.api_schema
             FROM specstar._changes(v_specs, changes.after, changes.top) c JOIN specstar.spec s ON s.name = c.spec LOOP
    IF k.id IS NULL THEN
      RETURN QUERY SELECT k.cursor, k.spec, NULL::uuid, NULL::integer, 'skip'::text, NULL::timestamptz, NULL::text, NULL::jsonb;
    ELSE
      RETURN QUERY EXECUTE format('SELECT $1, $2, r.id, r.revision, r.op, r.valid_from, r.changed_by, r.data FROM %I.%I r
                                    WHERE r.id = $3 AND r.revision = $4', k.api_schema, k.spec || '_revision')
        USING k.cursor, k.spec, k.id, k.revision;
    END IF;
  END LOOP;
END
$$;
COMMENT ON FUNCTION specstar.changes(bigint, integer, text[]) IS
  'The change feed of several specs (NULL: all the caller may read) after a cursor, in commit order (docs/events.md).';
