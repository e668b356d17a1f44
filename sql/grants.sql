-- Who may call specstar's functions. Nothing internal is executable by PUBLIC: the roles a
-- spec names (options.roles, or the GUCs specstar.read_roles / write_roles) are granted
-- the internal functions their reads and writes call (specstar_core::ddl::grants), and
-- administration (register_spec, drop_spec, purge, prune, search maintenance) belongs to
-- the extension's owner, who may grant it. docs/security.md lists who may call what.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA specstar FROM PUBLIC;

-- The functions anyone may call: they read only what the caller may read.
GRANT EXECUTE ON FUNCTION
  specstar.options_schema(),      -- the JSON Schema of register_spec's options
  specstar.current_actor(),       -- who the revisions of this session are attributed to
  specstar.current_claims(),      -- the request's JWT claims, for sql: access rules
  specstar._owner_actor(),        -- the actor access rules treat as an owner (NULL: anonymous)
  specstar.current_message(),     -- the message of the next revision
  specstar.changes_head(),        -- the newest change feed cursor in the caller's snapshot (a count, no data)
  specstar.changes(bigint, integer, text[]), -- the change feed: only what the caller may read (it calls _changes)
  specstar._feed_arm(),           -- the WHEN of a spec's feed trigger, run as the writer (src/feed.rs: harmless by hand)
  specstar.pre_request(),         -- PostgREST's db-pre-request hook, run as the request's role
  specstar._admin(),              -- the admin page (sql/admin.sql): static HTML, no data
  specstar._admin_page(),
  specstar._admin_headers()
TO PUBLIC;
