-- The change feed (docs/events.md): every revision of every spec with options.events.feed
-- (the default) is one row of specstar.change, numbered at commit, in commit order, without
-- gaps.
--
-- How (contracts/permissions-events.md §8; src/feed.rs): the revision trigger notes each
-- revision it writes in the backend's memory; the spec's deferred constraint trigger
-- specstar_feed, queued once per transaction, inserts them at commit under the feed lock,
-- numbered in write order from specstar.change_cursor, and commit releases the lock only
-- once they are visible. So a cursor becomes visible only after every smaller one, and a
-- transaction that wrote first and committed last lands after the cursors handed out before
-- it, never behind them. Rolled-back writes leave nothing. Being rows, events share WAL,
-- replicas and pg_dump with the data.

CREATE SEQUENCE specstar.change_cursor;

CREATE TABLE specstar.change (
  cursor bigint PRIMARY KEY,
  spec text NOT NULL,
  id uuid NOT NULL,
  revision integer NOT NULL,
  op text NOT NULL,
  UNIQUE (spec, id, revision)
);
CREATE INDEX change_spec ON specstar.change (spec, cursor);
COMMENT ON TABLE specstar.change IS
  'The change feed: one row per revision, numbered at commit (cursor) in commit order without gaps. Read it with specstar.changes() or api.<spec>_changes().';
SELECT pg_catalog.pg_extension_config_dump('specstar.change', '');
SELECT pg_catalog.pg_extension_config_dump('specstar.change_cursor', '');

-- A spec's deferred constraint trigger (src/feed.rs): at commit, the transaction's events.
CREATE FUNCTION specstar._feed_flush() RETURNS trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'specstar_feed_flush';

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
-- (purge and drop_spec also forget the events their own deletes noted in this transaction)
CREATE FUNCTION specstar._feed_forget(spec text, id uuid, below integer) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  DELETE FROM specstar.change c
   WHERE c.spec = _feed_forget.spec AND (_feed_forget.id IS NULL OR c.id = _feed_forget.id)
     AND (_feed_forget.below IS NULL OR c.revision < _feed_forget.below);
  SELECT specstar._feed_unnote(_feed_forget.spec, _feed_forget.id) WHERE _feed_forget.below IS NULL;
$$;

REVOKE ALL ON FUNCTION specstar._feed_forget(text, uuid, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar._feed_unnote(text, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar._feed_flush() FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar._feed_now(text, uuid[], integer[], text, boolean) FROM PUBLIC;

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
