CREATE FUNCTION {{fn_draft_trigger}}() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $specstar$
-- Saving a draft writes no revision. A new draft of an existing resource starts from its
-- current revision: properties left out (NULL) are copied from it, and base_revision
-- records which revision that was (only specstar sets it); a draft of a new resource gets
-- the spec's defaults. A draft is checked for types and formats, not for required
-- properties: publishing checks the whole spec. created_by is the resource's creator, or
-- whoever started the draft of a new resource (only specstar sets it).
DECLARE
  _live {{table}};
  _errors jsonb;
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.id IS NULL THEN
      NEW.id := specstar.new_id();
    END IF;
    NEW.base_revision := NULL;
    SELECT * INTO _live FROM {{table}} t WHERE t.id = NEW.id;
    IF FOUND THEN
      NEW.base_revision := _live.revision;
      NEW.created_by := _live.created_by;
{{fill_from_live}}
    ELSE
      NEW.created_by := specstar.current_actor();
{{fill_defaults}}
    END IF;
  ELSE
    IF NEW.id IS DISTINCT FROM OLD.id THEN
      RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = format('%s draft %s: id cannot change', {{spec}}, OLD.id),
        HINT = 'Discard the draft and start another one for the other id.';
    END IF;
    NEW.base_revision := OLD.base_revision;
    NEW.created_by := OLD.created_by;
  END IF;
{{check_arrays}}
  _errors := specstar._validate_draft({{vid}}, specstar._draft_doc(to_jsonb(NEW)));
  IF _errors IS NOT NULL THEN
    PERFORM specstar._raise_invalid({{spec}}, _errors, format('%s draft %s', {{spec}}, NEW.id));
  END IF;
  NEW.updated_at := now();
  NEW.updated_by := specstar.current_actor();
  RETURN NEW;
END
$specstar$
