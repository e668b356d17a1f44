// specstar admin: the page PostgREST serves at /rpc/admin (docs/admin.md). Routes live in
// the URL's fragment: #/spec/<name>[?asof=…], #/spec/<name>/<id|new>[?deleted|?asof=…].
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { currentToken, lastRequests, onRequest, request, signIn, signOut } from "./api.js";
import { List } from "./list.jsx";
import { Resource } from "./resource.jsx";
import { claims, specTitle } from "./schema.js";

function parseRoute() {
  const hash = window.location.hash.replace(/^#/, "");
  const [path, query = ""] = hash.split("?");
  const params = new URLSearchParams(query);
  const parts = path.split("/").filter(Boolean);
  return {
    spec: parts[0] === "spec" ? decodeURIComponent(parts[1] || "") : null,
    id: parts[0] === "spec" && parts[2] ? decodeURIComponent(parts[2]) : null,
    deleted: params.has("deleted"),
    asOf: params.get("asof") || "",
  };
}

function navigate(hash) {
  if (window.location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else window.location.hash = hash;
}

function SignIn({ onChange }) {
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState("");
  const [remember, setRemember] = useState(false);
  const token = currentToken();
  if (token) {
    const c = claims(token) || {};
    return (
      <div class="who">
        <span>{`Signed in as ${c.sub || c.role || "(unknown)"}`}</span>{" "}
        <button
          type="button"
          onClick={() => {
            signOut();
            onChange();
          }}
        >
          Sign out
        </button>
      </div>
    );
  }
  if (!open) {
    return (
      <div class="who">
        <span>Reading anonymously.</span>{" "}
        <button type="button" onClick={() => setOpen(true)}>
          Sign in
        </button>
      </div>
    );
  }
  return (
    <form
      aria-label="Sign in"
      class="who"
      onSubmit={(e) => {
        e.preventDefault();
        if (!value.trim()) return;
        signIn(value, remember);
        setValue("");
        setOpen(false);
        onChange();
      }}
    >
      <label for="token">Token</label> <input id="token" type="password" autocomplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} />{" "}
      <label>
        <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.currentTarget.checked)} /> Remember me on this browser
      </label>{" "}
      <button type="submit">Sign in</button>
    </form>
  );
}

function App() {
  const [route, setRoute] = useState(parseRoute());
  const [specs, setSpecs] = useState(null);
  const [error, setError] = useState(null);
  const [session, setSession] = useState(0);

  useEffect(() => {
    const onHash = () => setRoute(parseRoute());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  useEffect(() => {
    setError(null);
    request("GET", "/rpc/admin_specs")
      // the schema as the author wrote it, when registered as text: its key order is theirs
      .then(({ data }) =>
        setSpecs(
          (data || []).map((s) => {
            const schema = s.source ? JSON.parse(s.source) : s.schema;
            return { ...s, schema, properties: Object.keys((schema && schema.properties) || {}) };
          }),
        ),
      )
      .catch((e) => {
        setSpecs([]);
        setError(e.status === 401 || e.status === 403 ? "This role may not read any spec: sign in with a token that may." : e.message);
      });
  }, [session]);

  const spec = specs && route.spec ? specs.find((s) => s.name === route.spec) : null;
  useEffect(() => {
    if (specs && specs.length && !route.spec) navigate(`#/spec/${specs[0].name}`);
  }, [specs, route.spec]);
  useEffect(() => {
    document.title = spec ? `${specTitle(spec)} — specstar admin` : "specstar admin";
  }, [spec]);

  return (
    <>
      <header>
        <p class="brand">specstar admin</p>
        <SignIn onChange={() => setSession((n) => n + 1)} />
      </header>
      <div class="layout">
        <nav aria-label="Specs">
          <ul>
            {(specs || []).map((s) => (
              <li key={s.name}>
                <a href={`#/spec/${s.name}`} aria-current={route.spec === s.name ? "page" : undefined}>
                  {specTitle(s)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main>
          <h1 class="visually-hidden">specstar admin</h1>
          {error ? <p role="alert">{error}</p> : null}
          {specs === null ? <p>Loading…</p> : null}
          {spec && route.id ? (
            <Resource key={`${session}-${spec.name}-${route.id}`} spec={spec} id={route.id} mode={route.deleted ? "deleted" : "live"} asOf={route.asOf} navigate={navigate} />
          ) : spec ? (
            <List key={`${session}-${spec.name}-${route.asOf}`} spec={spec} initialAsOf={route.asOf} navigate={navigate} />
          ) : specs && route.spec ? (
            <p role="alert">{`No spec ${route.spec} here (or this role may not read it).`}</p>
          ) : null}
          <details class="request">
            <summary>Show request</summary>
            <RequestView />
          </details>
        </main>
      </div>
    </>
  );
}

/** The last change and the last read, as curl (with $TOKEN for the token): the page teaches the API. */
function RequestView() {
  const [requests, setRequests] = useState(lastRequests());
  useEffect(() => onRequest(() => setRequests(lastRequests())), []);
  return (
    <>
      <figure>
        <figcaption>Last change</figcaption>
        <pre>{requests.change || "(none yet)"}</pre>
      </figure>
      <figure>
        <figcaption>Last read</figcaption>
        <pre>{requests.read || "(none yet)"}</pre>
      </figure>
    </>
  );
}

render(<App />, document.getElementById("app"));
