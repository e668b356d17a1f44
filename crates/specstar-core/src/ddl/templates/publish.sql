CREATE FUNCTION {{fn_publish}}(id uuid, force boolean DEFAULT false)
RETURNS {{view}} LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $specstar$
-- Publishes a resource's draft as one `publish` revision (revision 1 for a new resource)
-- and removes the draft, in one transaction. When the live resource moved on since the
-- draft started, PT409 unless force => true. (The revision trigger labels the write
-- `publish` because this function, and no other, is writing: see src/caller.rs.)
DECLARE
  _draft {{draft}};
  _current integer;
  _row {{view}};
BEGIN
  SELECT * INTO _draft FROM {{draft}} d WHERE d.id = $1 FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'PT404',
      MESSAGE = format('%s %s has no draft', {{spec}}, $1),
      HINT = format('Save one first (INSERT INTO %s_draft, or POST /%s_draft).', {{spec}}, {{spec}});
  END IF;
  SELECT t.revision INTO _current FROM {{table}} t WHERE t.id = $1 FOR UPDATE;
  IF NOT FOUND THEN
    -- readable but not writable (access rules): 42501
    PERFORM specstar._raise_if_readable({{spec}}, $1, 'publish over');
  END IF;
  IF _current IS DISTINCT FROM _draft.base_revision AND NOT coalesce($2, false) THEN
    RAISE EXCEPTION USING ERRCODE = 'PT409',
      MESSAGE = format('%s %s: the draft started from %s, but the resource is now %s', {{spec}}, $1,
                       coalesce('revision ' || _draft.base_revision, 'no resource'),
                       coalesce('at revision ' || _current, 'deleted')),
      DETAIL = json_build_object('id', $1, 'base_revision', _draft.base_revision, 'current_revision', _current)::text,
      HINT = 'Bring the draft up to date and publish again, or publish with force => true (over HTTP: {"force": true}) to overwrite the newer revisions.';
  END IF;
  IF _current IS NULL THEN
    INSERT INTO {{table}} AS t (id, {{cols}}) VALUES ($1, {{draft_values}})
      RETURNING {{live_row}} INTO _row;
  ELSE
    UPDATE {{table}} AS t SET {{set_from_draft}} WHERE t.id = $1
      RETURNING {{live_row}} INTO _row;
  END IF;
  DELETE FROM {{draft}} d WHERE d.id = $1;
  RETURN _row;
END
$specstar$
