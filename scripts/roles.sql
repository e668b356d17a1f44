-- The roles of the development cluster and of the HTTP tests (specstar itself never creates
-- roles). PostgREST connects as `authenticator` and switches to the role a JWT names, or to
-- `web_anon` without one. Run as a superuser; running it again is harmless.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') THEN
    CREATE ROLE authenticator LOGIN NOINHERIT PASSWORD 'authenticator';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'web_anon') THEN
    CREATE ROLE web_anon NOLOGIN;      -- anonymous: reads
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'web_writer') THEN
    CREATE ROLE web_writer NOLOGIN;    -- JWT role: reads and writes
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'web_guest') THEN
    CREATE ROLE web_guest NOLOGIN;     -- JWT role with no grant on any spec
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'web_editor') THEN
    CREATE ROLE web_editor NOLOGIN;    -- JWT role: a writer that access rules may name (role:web_editor)
  END IF;
END $$;
GRANT web_writer TO web_editor;
GRANT web_anon, web_writer, web_guest, web_editor TO authenticator;
