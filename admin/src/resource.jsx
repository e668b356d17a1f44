// One resource: its form (new, live, draft, or read-only when deleted, "as of" or not
// writable), its History, a Diff of any two revisions, and the confirmed actions — roll
// back, delete, restore, publish, discard — each through the same REST calls a client makes.
import { useEffect, useRef, useState } from "preact/hooks";
import { request, q, ApiError } from "./api.js";
import { Fields } from "./fields.jsx";
import { Changes } from "./diffview.jsx";
import { fromLocalInput, properties, specTitle, toRaw, toValue, show } from "./schema.js";

const OBJECT = { Accept: "application/vnd.pgrst.object+json" };

function documentOf(spec, row) {
  const doc = {};
  if (!row) return doc;
  for (const { name } of properties(spec.schema, spec.properties)) if (row[name] !== undefined && row[name] !== null) doc[name] = row[name];
  return doc;
}

function rawOf(spec, doc) {
  const raw = {};
  for (const f of properties(spec.schema, spec.properties)) raw[f.name] = toRaw(f, doc ? doc[f.name] : undefined);
  return raw;
}

function valuesOf(spec, raw) {
  const out = {};
  for (const f of properties(spec.schema, spec.properties)) out[f.name] = toValue(f, raw[f.name]);
  return out;
}

export function Resource({ spec, id, mode, asOf, navigate }) {
  const title = specTitle(spec);
  const isNew = id === "new";
  const [live, setLive] = useState(null); // the live row (or the tombstone's data when deleted)
  const [draft, setDraft] = useState(null);
  const [raw, setRaw] = useState(rawOf(spec, {}));
  const [history, setHistory] = useState([]);
  const [message, setMessage] = useState("");
  const [errors, setErrors] = useState([]);
  const [notice, setNotice] = useState(null); // {kind: 'alert'|'status', text, reload?, force?}
  const [missing, setMissing] = useState(false);
  const [loaded, setLoaded] = useState(false); // the form shows once the record is in (no edit is lost to a late load)
  const [reloadKey, setReloadKey] = useState(0);
  const [confirm, setConfirm] = useState(null); // {title, body, action, label}
  const deleted = mode === "deleted";
  const past = Boolean(asOf);

  async function load() {
    setErrors([]);
    if (isNew) {
      setLive(null);
      setDraft(null);
      setRaw(rawOf(spec, {}));
      setHistory([]);
      return;
    }
    try {
      let row = null;
      if (deleted) {
        const { data } = await request("GET", `/${spec.name}_revision?id=eq.${q(id)}&op=eq.delete&valid_to=is.null`);
        row = data[0] ? { ...data[0].data, id, revision: data[0].revision, __deleted: true } : null;
      } else if (past) {
        const { data } = await request("GET", `/rpc/${spec.name}_at?id=${q(id)}&at=${q(fromLocalInput(asOf))}`);
        row = data[0] || null;
      } else {
        const { data } = await request("GET", `/${spec.name}?id=eq.${q(id)}`);
        row = data[0] || null;
      }
      let d = null;
      if (!deleted && !past && spec.may.drafts) {
        const { data } = await request("GET", `/${spec.name}_draft?id=eq.${q(id)}`);
        d = data[0] || null;
      }
      setMissing(!row && !d);
      setLive(row);
      setDraft(d);
      setRaw(rawOf(spec, documentOf(spec, d || row)));
      if (spec.may.revisions) {
        const { data } = await request("GET", `/${spec.name}_revision?id=eq.${q(id)}&order=revision.desc`);
        setHistory(data);
      }
    } catch (e) {
      setNotice({ kind: "alert", text: e.message });
    }
    setLoaded(true);
  }

  useEffect(() => {
    setNotice(null);
    setMessage("");
    load();
  }, [spec.name, id, mode, asOf, reloadKey]);

  const writable = !deleted && !past && (isNew ? spec.may.insert : spec.may.update);
  const headers = () => (message.trim() ? { "X-Specstar-Message": message.trim() } : {});

  async function run(action, success) {
    setErrors([]);
    setNotice(null);
    try {
      await action();
      if (success) setNotice({ kind: "status", text: success });
    } catch (e) {
      fail(e);
    }
  }

  function fail(e) {
    if (!(e instanceof ApiError)) return setNotice({ kind: "alert", text: String(e) });
    if (e.code === "PT422" && Array.isArray(e.details)) {
      setErrors(e.details);
      setNotice({ kind: "alert", text: `Not saved: ${e.message}` });
    } else if (e.status === 409 && e.details && "expected_revision" in e.details) {
      const mine = valuesOf(spec, raw);
      setNotice({ kind: "alert", text: `This ${title} has changed since it was loaded. Nothing was saved.`, reload: true });
      // who changed it, when, and how their version differs from yours
      request("GET", `/${spec.name}_revision?id=eq.${q(id)}&order=revision.desc&limit=1`)
        .then(({ data }) => {
          const r = data && data[0];
          if (!r) return;
          setNotice({
            kind: "alert",
            text: `This ${title} has changed since it was loaded: revision ${r.revision} by ${r.changed_by}, ${new Date(r.valid_from).toLocaleString()}. Nothing was saved.`,
            reload: true,
            theirs: r.data,
            mine,
          });
        })
        .catch(() => {});
    } else if (e.status === 409 && e.details && "base_revision" in e.details) {
      setNotice({ kind: "alert", text: `${e.message}. Publishing anyway overwrites the newer revision.`, force: true });
    } else {
      setNotice({ kind: "alert", text: e.hint ? `${e.message} (${e.hint})` : e.message });
    }
  }

  const save = () =>
    run(async () => {
      const doc = valuesOf(spec, raw);
      if (isNew) {
        const { data } = await request("POST", `/${spec.name}`, { body: doc, headers: { ...OBJECT, Prefer: "return=representation", ...headers() } });
        navigate(`#/spec/${spec.name}/${data.id}`);
      } else {
        await request("PATCH", `/${spec.name}?id=eq.${q(id)}`, {
          body: doc,
          headers: { ...OBJECT, Prefer: "return=representation", "If-Match": `"${live.revision}"`, ...headers() },
        });
        setReloadKey((k) => k + 1);
      }
    }, isNew ? null : "Saved.");

  const saveDraft = () =>
    run(async () => {
      const doc = valuesOf(spec, raw);
      const body = isNew ? doc : { ...doc, id };
      const { data } = await request("POST", `/${spec.name}_draft`, {
        body,
        headers: { ...OBJECT, Prefer: "return=representation,resolution=merge-duplicates" },
      });
      if (isNew) navigate(`#/spec/${spec.name}/${data.id}`);
      else setReloadKey((k) => k + 1);
    }, "Draft saved.");

  const publish = (force) =>
    run(async () => {
      await request("POST", `/rpc/${spec.name}_publish`, { body: { id, force: Boolean(force) }, headers: headers() });
      setReloadKey((k) => k + 1);
    }, "Published.");

  const discard = () =>
    run(async () => {
      await request("POST", `/rpc/${spec.name}_discard`, { body: { id } });
      setReloadKey((k) => k + 1);
    }, "Draft discarded.");

  const askDelete = () =>
    setConfirm({
      title: `Delete this ${title}?`,
      body: <p>It goes to the trash ("Show deleted") with its history, and can be restored.</p>,
      label: "Delete",
      action: () =>
        run(async () => {
          await request("DELETE", `/${spec.name}?id=eq.${q(id)}`, { headers: { "If-Match": `"${live.revision}"`, ...headers() } });
          navigate(`#/spec/${spec.name}`);
        }),
    });

  const restore = () =>
    setConfirm({
      title: `Restore this ${title}?`,
      body: <p>It comes back as a new "restore" revision with the data it had when it was deleted.</p>,
      label: "Restore",
      action: () =>
        run(async () => {
          await request("POST", `/rpc/${spec.name}_restore`, { body: { id }, headers: headers() });
          navigate(`#/spec/${spec.name}/${id}`);
        }),
    });

  const askRollback = (rev) =>
    setConfirm({
      title: `Roll back to revision ${rev.revision}?`,
      body: (
        <>
          <p>{`A new revision gets the data of revision ${rev.revision}. These fields change:`}</p>
          <Changes schema={spec.schema} order={spec.properties} from={history[0] && history[0].data} to={rev.data} />
        </>
      ),
      label: "Roll back",
      action: () =>
        run(async () => {
          await request("POST", `/rpc/${spec.name}_rollback`, {
            body: { id, to_revision: rev.revision, expected_revision: live.revision },
            headers: headers(),
          });
          setReloadKey((k) => k + 1);
        }, `Rolled back to revision ${rev.revision}.`),
    });

  const formName = isNew ? `New ${title}` : deleted ? `Deleted ${title}` : past ? `${title} as of ${asOf.replace("T", " ")}` : `Edit ${title}`;

  return (
    <section aria-label={formName}>
      <p>
        <a href={`#/spec/${spec.name}`}>{`All ${title} records`}</a>
      </p>
      {missing ? <p role="alert">{`No ${title} with id ${id}${past ? " at that time" : ""}.`}</p> : null}
      {notice ? (
        <div role={notice.kind === "alert" ? "alert" : "status"} class={notice.kind}>
          <p>{notice.text}</p>
          {notice.theirs ? (
            <>
              <p>Their version compared with yours:</p>
              <Changes schema={spec.schema} order={spec.properties} from={notice.theirs} to={notice.mine} />
            </>
          ) : null}
          {notice.reload ? (
            <button type="button" onClick={() => setReloadKey((k) => k + 1)}>
              Reload
            </button>
          ) : null}
          {notice.force ? (
            <button type="button" onClick={() => publish(true)}>
              Publish anyway
            </button>
          ) : null}
        </div>
      ) : (
        <div role="status" class="status" />
      )}
      {draft && !isNew ? <p class="draft">{`Showing the draft${draft.base_revision ? ` (started from revision ${draft.base_revision})` : " of a new record, not published yet"}.`}</p> : null}
      {!isNew && !loaded ? <p>Loading…</p> : null}
      {isNew || loaded ? (
      <form aria-label={formName} noValidate onSubmit={(e) => (e.preventDefault(), writable && save())}>
        <h2>{formName}</h2>
        {!isNew && live ? <p class="meta">{`Revision ${live.revision}${live.updated_by ? `, by ${live.updated_by}` : ""}${live.updated_at ? `, ${new Date(live.updated_at).toLocaleString()}` : ""}`}</p> : null}
        <Fields schema={spec.schema} order={spec.properties} value={raw} onChange={setRaw} errors={errors} readOnly={!writable && !(draft && spec.may.drafts)} />
        {!deleted && !past ? (
          <div class="field">
            <label for="change-message">Change message</label>
            <input id="change-message" type="text" value={message} onInput={(e) => setMessage(e.currentTarget.value)} />
          </div>
        ) : null}
        <div class="actions">
          {!deleted && !past ? (
            <>
              <button type="submit" disabled={!writable || (draft && !isNew && !live)}>
                Save
              </button>
              <button type="button" disabled={!spec.may.drafts || (!isNew && !live && !draft)} onClick={saveDraft}>
                Save draft
              </button>
              {!isNew && live ? (
                <button type="button" disabled={!spec.may.delete} onClick={askDelete}>
                  Delete
                </button>
              ) : null}
              {draft ? (
                <>
                  <button type="button" disabled={!spec.may.publish} onClick={() => publish(false)}>
                    Publish
                  </button>
                  <button type="button" disabled={!spec.may.discard} onClick={discard}>
                    Discard draft
                  </button>
                </>
              ) : null}
            </>
          ) : null}
          {deleted ? (
            <button type="button" disabled={!spec.may.restore} onClick={restore}>
              Restore
            </button>
          ) : null}
        </div>
      </form>
      ) : null}
      {draft && live ? (
        <section aria-label="Draft changes">
          <h3>Draft compared with the published record</h3>
          <Changes schema={spec.schema} order={spec.properties} from={documentOf(spec, live)} to={documentOf(spec, draft)} />
        </section>
      ) : null}
      {!isNew && history.length ? (
        <>
          <History spec={spec} history={history} current={live && !deleted ? live.revision : null} onRollback={askRollback} canRollback={spec.may.rollback && !deleted && !past && Boolean(live)} />
          <Diff spec={spec} history={history} />
        </>
      ) : null}
      {confirm ? <Confirm {...confirm} onClose={() => setConfirm(null)} /> : null}
    </section>
  );
}

function History({ spec, history, current, canRollback, onRollback }) {
  return (
    <section aria-labelledby="history-heading">
      <h3 id="history-heading">History</h3>
      <ol aria-label="History" class="history">
        {history.map((r) => (
          <li key={r.revision}>
            <strong>{`Revision ${r.revision}`}</strong> {r.op}, by {r.changed_by}, {new Date(r.valid_from).toLocaleString()}
            {r.message ? <>{", "}<q>{r.message}</q></> : null}{" "}
            <a href={`#/spec/${spec.name}?asof=${encodeURIComponent(toSecond(r.valid_from))}`}>{`The collection at revision ${r.revision}`}</a>{" "}
            {canRollback && r.revision !== current && r.op !== "delete" ? (
              <button type="button" onClick={() => onRollback(r)}>
                {`Roll back to revision ${r.revision}`}
              </button>
            ) : null}
          </li>
        ))}
      </ol>
    </section>
  );
}

/** The local second at which a revision was current (for the "as of" link). */
function toSecond(ts) {
  const d = new Date(new Date(ts).getTime() + 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function Diff({ spec, history }) {
  const revisions = history.map((r) => r.revision);
  const [from, setFrom] = useState(revisions[1] ?? revisions[0]);
  const [to, setTo] = useState(revisions[0]);
  useEffect(() => {
    setFrom(revisions[1] ?? revisions[0]);
    setTo(revisions[0]);
  }, [history]);
  const a = history.find((r) => r.revision === Number(from));
  const b = history.find((r) => r.revision === Number(to));
  return (
    <section aria-label="Diff" class="diff">
      <h3>Diff</h3>
      <label>
        From revision{" "}
        <select value={from} onChange={(e) => setFrom(Number(e.currentTarget.value))}>
          {revisions.map((n) => (
            <option value={n}>{n}</option>
          ))}
        </select>
      </label>{" "}
      <label>
        To revision{" "}
        <select value={to} onChange={(e) => setTo(Number(e.currentTarget.value))}>
          {revisions.map((n) => (
            <option value={n}>{n}</option>
          ))}
        </select>
      </label>
      {a && b ? <Changes schema={spec.schema} order={spec.properties} from={a.data} to={b.data} /> : null}
    </section>
  );
}

/** An in-page modal dialog (never confirm()): a title, what will happen, and the verb. */
function Confirm({ title, body, label, action, onClose }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onClose={onClose}>
      <h2 id="confirm-title">{title}</h2>
      {body}
      <div class="actions">
        <button
          type="button"
          onClick={async () => {
            ref.current.close();
            await action();
          }}
        >
          {label}
        </button>
        <button type="button" onClick={() => ref.current.close()}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}

export { show };
