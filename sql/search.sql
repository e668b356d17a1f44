-- The full-text search index (docs/search.md). Each spec with "x-search" properties has an
-- index made of immutable tantivy segments stored as rows here, written in the writer's own
-- transaction by the spec's statement triggers. Each segment carries the tombstones of its
-- write: (key, seq) hides every document of resource `key` written before write number
-- `seq`. Being rows, segments share the transaction, the snapshot, WAL, crash recovery,
-- replication and pg_dump of the data. Nobody is granted the table: segments hold every
-- indexed word. specstar's functions check the caller's right to read the spec and then
-- read it as its owner.

CREATE TABLE specstar.search_segment (
  spec text NOT NULL,
  segment uuid NOT NULL,
  docs integer NOT NULL,
  files jsonb NOT NULL,
  data bytea NOT NULL,
  -- (resource id, write number) pairs, 24 bytes each: what this segment's write deleted
  tombstones bytea NOT NULL,
  -- a pending write: its documents ([[id, field values...], ...] in the order of the spec's
  -- searchable fields), not indexed yet: readers index them in memory, and a later write folds
  -- them into a segment; NULL for a segment
  pending jsonb,
  -- a pending write's number (search_seq), the seq of its documents; NULL for a segment
  seq bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (spec, segment)
);
-- tantivy's files are compressed already
ALTER TABLE specstar.search_segment ALTER COLUMN data SET STORAGE EXTERNAL;
-- a pending write's few documents stay in its row (compressed when large)
ALTER TABLE specstar.search_segment ALTER COLUMN pending SET STORAGE MAIN;
-- what a fold reads and deletes, without walking the segments (or their dead rows)
CREATE INDEX search_segment_pending ON specstar.search_segment (spec) WHERE pending IS NOT NULL;
-- Every search lists the spec's rows: keep that list a page or two. Small writes insert a
-- pending row each, folds and merges delete rows, so vacuum early; and segment bytes go out
-- of line even for small segments, so that the rows stay small.
ALTER TABLE specstar.search_segment SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 200,
  toast.autovacuum_vacuum_scale_factor = 0, toast.autovacuum_vacuum_threshold = 200, toast_tuple_target = 128);
COMMENT ON TABLE specstar.search_segment IS
  'Search index: segments (immutable, files concatenated in data) and pending writes (documents not indexed yet, in pending), each with the tombstones of its write.';

-- Numbers every write to an index: a tombstone hides the versions written before it.
CREATE SEQUENCE specstar.search_seq;

-- pg_dump keeps the index with the data it indexes, in the same snapshot.
SELECT pg_catalog.pg_extension_config_dump('specstar.search_segment', '');
SELECT pg_catalog.pg_extension_config_dump('specstar.search_seq', '');

-- a handful of hits, not the default guess of 1000 rows: joins with the spec's rows use its key
ALTER FUNCTION specstar._search_hits(text, text, integer, integer, boolean) ROWS 20;
REVOKE ALL ON FUNCTION specstar._search_write(text, bigint, uuid[], jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar._search_maintain(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar._search_sweep(integer) FROM PUBLIC;

-- Called by a spec's search triggers with one chunk of a statement: `n` resources, their new
-- documents ([[id, field values...], ...]) and the ids whose older versions they replace or
-- delete. A small chunk (at most 32 resources, 256 kB) is stored as it is, a pending row, in
-- plain SQL: no tantivy work on the write path. Every 16th pending write of a session to a
-- spec (a counter per session and spec, so that no pattern of writes to several specs skips
-- one) asks specstar._search_maintain whether the pending rows are enough to fold into a
-- segment. A larger chunk is indexed into a segment at once (specstar._search_write).
CREATE FUNCTION specstar._search_feed(spec text, vid bigint, ids uuid[], docs jsonb, n bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  _seq bigint;
  _tick text := 'specstar.pending_' || spec;
  _n integer;
BEGIN
  IF n > 32 OR pg_catalog.pg_column_size(docs) > 262144 THEN
    PERFORM specstar._search_write(spec, vid, ids, docs);
    RETURN;
  END IF;
  _seq := pg_catalog.nextval('specstar.search_seq');
  INSERT INTO specstar.search_segment (spec, segment, docs, files, data, tombstones, pending, seq)
  VALUES (spec, pg_catalog.gen_random_uuid(), coalesce(pg_catalog.jsonb_array_length(docs), 0), '[]', '',
          coalesce((SELECT pg_catalog.string_agg(pg_catalog.uuid_send(i) OPERATOR(pg_catalog.||) pg_catalog.int8send(_seq), ''::bytea)
                      FROM pg_catalog.unnest(ids) i), ''::bytea),
          coalesce(docs, '[]'::jsonb), _seq);
  _n := coalesce(NULLIF(pg_catalog.current_setting(_tick, true), ''), '0')::integer OPERATOR(pg_catalog.+) 1;
  PERFORM pg_catalog.set_config(_tick, (_n OPERATOR(pg_catalog.%) 16)::text, false);
  IF _n OPERATOR(pg_catalog.=) 16 THEN
    PERFORM specstar._search_maintain(spec, vid);
  END IF;
END
$$;
REVOKE ALL ON FUNCTION specstar._search_feed(text, bigint, uuid[], jsonb, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar._search_merge(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar._search_rebuild(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar._search_counts(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar._search_verify(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION specstar._backend_threads() FROM PUBLIC;

-- (id, score) of the best `top` hits of q, best first (NULL: as many as specstar.search_max_top allows).
CREATE FUNCTION specstar.search(spec text, q text, top integer DEFAULT 10)
RETURNS TABLE (id uuid, score real)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT h.id, h.score
    FROM specstar._spec(search.spec) s,
         specstar._search_hits(s.name, search.q, search.top, 0, false) WITH ORDINALITY AS h(id, score, highlights, n)
   ORDER BY h.n
$$;
COMMENT ON FUNCTION specstar.search(text, text, integer) IS
  'Full-text search (BM25) of a spec: (id, score) of the best top hits (NULL: up to specstar.search_max_top, default 1000). Join them with api.<spec> for the rows, or call api.<spec>_search.';

-- Removes a dropped spec's index.
CREATE FUNCTION specstar._search_forget(spec text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  DELETE FROM specstar.search_segment s WHERE s.spec = _search_forget.spec;
$$;
REVOKE ALL ON FUNCTION specstar._search_forget(text) FROM PUBLIC;

CREATE FUNCTION specstar.search_merge(spec text) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT specstar._search_merge((specstar._spec(search_merge.spec)).name)
$$;
COMMENT ON FUNCTION specstar.search_merge(text) IS
  'Merges every segment of a spec''s search index into one, dropping deleted documents and spent tombstones.';

CREATE FUNCTION specstar.search_rebuild(spec text) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT specstar._search_rebuild((specstar._spec(search_rebuild.spec)).name)
$$;
COMMENT ON FUNCTION specstar.search_rebuild(text) IS
  'Re-indexes a spec from its table (writers wait meanwhile); for after a restore without the index, or a failed search_verify.';

CREATE FUNCTION specstar.search_stats(spec text, OUT segments integer, OUT documents bigint, OUT tombstones bigint, OUT bytes bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT (SELECT count(*)::integer FROM specstar.search_segment s WHERE s.spec = x.name),
         (c ->> 'documents')::bigint,
         (c ->> 'tombstones')::bigint,
         (SELECT coalesce(sum(pg_catalog.octet_length(s.data) + pg_catalog.octet_length(s.tombstones)
                             + coalesce(pg_catalog.pg_column_size(s.pending), 0)), 0)::bigint
            FROM specstar.search_segment s WHERE s.spec = x.name)
    FROM specstar._spec(search_stats.spec) x, specstar._search_counts(x.name) c
$$;
COMMENT ON FUNCTION specstar.search_stats(text) IS
  'Segments, live documents, tombstones and bytes of a spec''s search index.';

CREATE FUNCTION specstar.search_verify(spec text) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT specstar._search_verify((specstar._spec(search_verify.spec)).name)
$$;
COMMENT ON FUNCTION specstar.search_verify(text) IS
  'Checks a spec''s search index against its table: {ok, indexed, rows, missing, unexpected, duplicated, damaged_files}.';

REVOKE ALL ON FUNCTION specstar.search_merge(text), specstar.search_rebuild(text), specstar.search_stats(text),
                       specstar.search_verify(text) FROM PUBLIC;
