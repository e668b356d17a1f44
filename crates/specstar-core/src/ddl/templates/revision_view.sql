CREATE VIEW {{revision_view}} WITH (security_invoker = true) AS
  -- A tombstone stays the current revision until the resource comes back; its valid_to is
  -- then the next revision's valid_from (history rows are never updated).
  SELECT h.id, h.revision, h.parent_revision, h.op, h.data, h.schema_version, h.valid_from,
         CASE WHEN h.op = 'delete' THEN (
           SELECT n.valid_from FROM {{history}} n WHERE n.id = h.id AND n.revision = h.revision + 1
           UNION ALL SELECT l.updated_at FROM {{table}} l WHERE l.id = h.id AND l.revision = h.revision + 1)
         ELSE h.valid_to END,
         h.changed_by, h.message FROM {{history}} h
  UNION ALL
  SELECT t.id, t.revision, t._parent, t._op, {{doc_t}}, t._version, t.updated_at, NULL::timestamptz, t.updated_by, t._message FROM {{table}} t
