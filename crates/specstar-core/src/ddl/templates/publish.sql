CREATE FUNCTION {{fn_publish}}(id uuid, force boolean DEFAULT false)
RETURNS {{view}} LANGUAGE plpgsql VOLATILE AS $specstar$
-- Publishes a resource's draft as one `publish` revision (revision 1 for a new resource)
-- and removes the draft, in one transaction. When the live resource moved on since the
-- draft started, PT409 unless force => true.
DECLARE
  v_draft {{draft}};
  v_current integer;
  v_row {{view}};
BEGIN
  SELECT * INTO v_draft FROM {{draft}} d WHERE d.id = $1 FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'PT404',
      MESSAGE = format('%s %s has no draft', {{spec}}, $1),
      HINT = format('Save one first (INSERT INTO %s_draft, or POST /%s_draft).', {{spec}}, {{spec}});
  END IF;
  SELECT t.revision INTO v_current FROM {{table}} t WHERE t.id = $1 FOR UPDATE;
  IF v_current IS DISTINCT FROM v_draft.base_revision AND NOT coalesce($2, false) THEN
    RAISE EXCEPTION USING ERRCODE = 'PT409',
      MESSAGE = format('%s %s: the draft started from %s, but the resource is now %s', {{spec}}, $1,
                       coalesce('revision ' || v_draft.base_revision, 'no resource'),
                       coalesce('at revision ' || v_current, 'deleted')),
      DETAIL = json_build_object('id', $1, 'base_revision', v_draft.base_revision, 'current_revision', v_current)::text,
      HINT = 'Bring the draft up to date and publish again, or publish with force => true (over HTTP: {"force": true}) to overwrite the newer revisions.';
  END IF;
  PERFORM set_config('specstar.internal_op', 'publish', true);
  IF v_current IS NULL THEN
    INSERT INTO {{table}} AS t (id, {{cols}}) VALUES ($1, {{draft_values}})
      RETURNING {{live_row}} INTO v_row;
  ELSE
    UPDATE {{table}} AS t SET {{set_from_draft}} WHERE t.id = $1
      RETURNING {{live_row}} INTO v_row;
  END IF;
  PERFORM set_config('specstar.internal_op', '', true);
  DELETE FROM {{draft}} d WHERE d.id = $1;
  RETURN v_row;
END
$specstar$
