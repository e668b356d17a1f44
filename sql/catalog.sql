-- specstar catalog: the registered specs and every version of their schemas.
-- Both tables are extension configuration tables, so pg_dump carries their rows; the
-- objects a spec generates are ordinary user objects, dumped with their data.

CREATE SCHEMA specstar_data;
COMMENT ON SCHEMA specstar_data IS 'specstar storage: live tables and revision histories (not exposed to PostgREST)';
COMMENT ON SCHEMA specstar IS 'specstar: a JSON Schema becomes a versioned-resource backend';

CREATE TABLE specstar.spec (
  name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$'),
  current_vid bigint NOT NULL,
  api_schema text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE specstar.spec IS 'One row per registered spec; current_vid points at its current version.';

CREATE TABLE specstar.spec_versions (
  vid bigserial PRIMARY KEY,
  spec text NOT NULL,
  version text NOT NULL,
  schema jsonb NOT NULL,
  options jsonb NOT NULL,
  descriptor jsonb NOT NULL,
  drop_statements text[] NOT NULL,
  migrate text,
  -- the schema's text as the author wrote it, when it was registered as text: jsonb sorts
  -- object keys, and the admin page lays forms and columns out in the author's order
  source text,
  registered_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (spec, version)
);
COMMENT ON TABLE specstar.spec_versions IS 'Every version of every spec: its JSON Schema, normalized options, generated objects and the migrate function (schema-qualified) that turns documents of the previous version into this one. vid is never reused; compiled validators are cached by it.';

SELECT pg_catalog.pg_extension_config_dump('specstar.spec', '');
SELECT pg_catalog.pg_extension_config_dump('specstar.spec_versions', '');
SELECT pg_catalog.pg_extension_config_dump('specstar.spec_versions_vid_seq', '');

CREATE VIEW specstar.specs AS
  SELECT s.name, v.version, v.schema, v.options, v.registered_at, s.api_schema, v.descriptor
    FROM specstar.spec s JOIN specstar.spec_versions v ON v.vid = s.current_vid;
COMMENT ON VIEW specstar.specs IS 'The registered specs in their current version.';

-- Spec schemas are not secret (PostgREST publishes them as OpenAPI) and invoker-rights
-- functions need to read them.
GRANT USAGE ON SCHEMA specstar TO PUBLIC;
GRANT SELECT ON specstar.spec, specstar.spec_versions, specstar.specs TO PUBLIC;
