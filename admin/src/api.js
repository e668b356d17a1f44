// The page's only way to the server: same-origin requests to PostgREST (the page is served
// at <root>/rpc/admin, so the API root is two levels up). The token lives in memory, and in
// sessionStorage (this tab only) so that a reload keeps you signed in; localStorage only when
// the user asks to be remembered. It is sent in the Authorization header, never in a URL.

const ROOT = new URL("..", new URL(".", window.location.href)).pathname.replace(/\/$/, "");
const KEY = "specstar-admin-token";
let token = sessionStorage.getItem(KEY) || localStorage.getItem(KEY) || "";

export function currentToken() {
  return token;
}

export function signIn(value, remember) {
  token = value.trim();
  sessionStorage.setItem(KEY, token);
  if (remember) localStorage.setItem(KEY, token);
}

export function signOut() {
  token = "";
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
}

/** An error answer: HTTP status, PostgREST's code/message/details/hint. */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.hint = body && body.hint;
    let details = body && body.details;
    if (typeof details === "string") {
      try {
        details = JSON.parse(details);
      } catch {
        /* a plain-text detail */
      }
    }
    this.details = details;
  }
}

/** The curl equivalent of a request (the page shows it, so that it teaches the API). */
export function curl(method, path, { body, headers } = {}) {
  const parts = [`curl -s '${window.location.origin}${ROOT}${path}'`];
  if (method !== "GET") parts.push(`-X ${method}`);
  if (token) parts.push(`-H "Authorization: Bearer $TOKEN"`);
  for (const [k, v] of Object.entries(headers || {})) parts.push(`-H '${k}: ${v}'`);
  if (body !== undefined) parts.push(`-H 'Content-Type: application/json' -d '${JSON.stringify(body).replace(/'/g, "'\\''")}'`);
  return parts.join(" ");
}

// The last change (any method but GET) and the last read, as curl, for the "Show request"
// panel: after a save the page reloads, and the save is the request worth showing.
const last = { change: null, read: null };
const listeners = new Set();
export function lastRequests() {
  return { ...last };
}
/** Calls `fn` after each request; returns the function that stops it. */
export function onRequest(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** One request; resolves to { data, total } or throws ApiError. */
export async function request(method, path, { body, headers = {}, count = false } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined) h["Content-Type"] = "application/json";
  if (count) h.Prefer = [h.Prefer, "count=exact"].filter(Boolean).join(", ");
  last[method === "GET" ? "read" : "change"] = curl(method, path, { body, headers });
  listeners.forEach((fn) => fn());
  const r = await fetch(ROOT + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!r.ok) throw new ApiError(r.status, data);
  let total = null;
  const range = r.headers.get("Content-Range");
  if (range && range.includes("/")) {
    const n = Number(range.split("/")[1]);
    if (Number.isFinite(n)) total = n;
  }
  return { data, total };
}

export const q = encodeURIComponent;
