-- The admin page (docs/admin.md): <api>.admin() serves the page PostgREST answers at
-- GET /rpc/admin (text/html, with its Content-Security-Policy and framing rules in
-- response.headers), and <api>.admin_specs() tells it which specs the caller may read and
-- what the caller may do with each. The page is a front-end module (admin/) that make
-- installs beside the extension; src/admin.rs reads it.

-- The page and its headers. Anyone may load the page: it holds no data, and every request it
-- makes afterwards runs with the rights of the token the user signs in with.
CREATE FUNCTION specstar._admin() RETURNS text
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM set_config('response.headers', specstar._admin_headers()::text, true);
  RETURN specstar._admin_page();
END
$$;
-- (sql/grants.sql grants these three to PUBLIC)

-- <api>.admin() and <api>.admin_specs(), once per API schema (removed with its last spec).
-- PostgREST serves a function's result as text/html when it returns a domain of that name.
CREATE FUNCTION specstar._ensure_admin(api_schema text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF to_regtype(format('%I.%I', api_schema, 'text/html')) IS NULL THEN
    -- (a plain user object: a domain cannot depend on an extension, and pg_dump must carry it
    -- for the function that returns it; drop_spec drops it with the schema's last spec)
    EXECUTE format('CREATE DOMAIN %I.%I AS pg_catalog.text', api_schema, 'text/html');
  END IF;
  PERFORM specstar._ensure_api_function(api_schema, 'admin', '', '', format('%I.%I', api_schema, 'text/html'), 'VOLATILE',
    format('SELECT specstar._admin()::%I.%I', api_schema, 'text/html'), true,
    E'Admin page\nBrowse, edit, history, diff, rollback, drafts and trash for every spec of this API, in the browser (docs/admin.md).');
  PERFORM specstar._ensure_api_function(api_schema, 'admin_specs', '', '', 'jsonb', 'STABLE',
    format('SELECT specstar._admin_specs(%L::pg_catalog.text)', api_schema), false,
    E'Specs for the admin page\nThe specs the caller may read: JSON Schema, title, and what the caller may do with each.');
END
$$;
