// What the admin page derives from a spec's JSON Schema, as plain functions (unit-tested by
// admin/tests/schema.test.mjs): the fields of a form, the columns of a table, the values a
// form sends, and the local date-time <-> RFC 3339 conversions.

/** The type of a property schema, without "null". */
export function typeOf(prop) {
  if (!prop || typeof prop !== "object") return "any";
  if (Array.isArray(prop.enum)) return "enum";
  const t = Array.isArray(prop.type) ? prop.type.find((x) => x !== "null") : prop.type;
  if (t === "string" && prop.format === "date-time") return "datetime";
  if (t === "string" && prop.format === "date") return "date";
  if (t === "object") return prop.properties ? "object" : "json";
  if (t === "array") return scalarType(prop.items) ? "list" : "json";
  return t || "json";
}

function scalarType(items) {
  if (!items || typeof items !== "object") return null;
  const t = typeOf(items);
  return ["string", "integer", "number", "boolean", "enum", "datetime", "date"].includes(t) ? t : null;
}

/** A property's label: its title, else its name. */
export function labelOf(name, prop) {
  return (prop && prop.title) || name;
}

/** The spec's title, else its name. */
export function specTitle(spec) {
  return (spec.schema && spec.schema.title) || spec.title || spec.name;
}

/** The properties of an object schema, in the order given (`order`, else the schema's). */
export function properties(schema, order) {
  const props = (schema && schema.properties) || {};
  const names = (order && order.length ? order.filter((n) => n in props) : []).concat(
    Object.keys(props).filter((n) => !(order || []).includes(n)),
  );
  const required = new Set((schema && schema.required) || []);
  return names.map((name) => ({ name, prop: props[name], type: typeOf(props[name]), required: required.has(name) }));
}

const SCALARS = ["string", "integer", "number", "boolean", "enum", "datetime", "date"];

/** The columns of a spec's table: up to six top-level scalar properties. */
export function columns(spec) {
  return properties(spec.schema, spec.properties).filter((p) => SCALARS.includes(p.type)).slice(0, 6);
}

/** The name a resource's link shows: its title or name value, else its id. */
export function resourceName(row) {
  for (const key of ["title", "name"]) {
    if (typeof row[key] === "string" && row[key] !== "") return row[key];
  }
  return row.id;
}

const pad = (n) => String(n).padStart(2, "0");

/** An RFC 3339 timestamp as the browser-local `YYYY-MM-DDTHH:MM:SS` a datetime-local input holds. */
export function toLocalInput(value) {
  if (!value) return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A browser-local `YYYY-MM-DDTHH:MM[:SS]` as RFC 3339 with the browser's offset. */
export function fromLocalInput(text) {
  if (!text) return null;
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) return null;
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const abs = Math.abs(off);
  return `${toLocalInput(d.toISOString())}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * The value of one form field as the API takes it. `raw` is what the input holds (strings
 * for text and numbers, booleans for checkboxes, arrays for lists, objects for groups).
 * An emptied optional field is null; an emptied required string stays "" so that the server
 * names the field (minLength) instead of the parent (required).
 */
export function toValue(field, raw) {
  const { type, prop, required } = field;
  if (type === "object") {
    const out = {};
    for (const f of properties(prop)) {
      const v = toValue(f, raw ? raw[f.name] : undefined);
      if (v !== null && v !== undefined) out[f.name] = v;
    }
    return Object.keys(out).length || required ? out : null;
  }
  if (type === "list") {
    const item = { type: typeOf(prop.items), prop: prop.items, required: true };
    return (raw || []).map((r) => toValue(item, r));
  }
  if (type === "boolean") return raw === undefined ? null : Boolean(raw);
  if (raw === undefined || raw === null || raw === "") return type === "string" && required ? "" : null;
  if (type === "integer") return /^-?\d+$/.test(String(raw).trim()) ? Number(raw) : String(raw);
  if (type === "number") return Number.isFinite(Number(raw)) ? Number(raw) : String(raw);
  if (type === "datetime") return fromLocalInput(raw);
  if (type === "json") {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return raw;
}

/** What a form field holds for a stored value (the inverse of toValue). */
export function toRaw(field, value) {
  const { type, prop } = field;
  if (type === "object") {
    const out = {};
    for (const f of properties(prop)) out[f.name] = toRaw(f, value ? value[f.name] : undefined);
    return out;
  }
  if (type === "list") return Array.isArray(value) ? value.map((v) => toRaw({ type: typeOf(prop.items), prop: prop.items }, v)) : [];
  if (type === "boolean") return Boolean(value);
  if (value === undefined || value === null) return "";
  if (type === "datetime") return toLocalInput(value);
  if (type === "json") return JSON.stringify(value);
  return String(value);
}

/**
 * The field-level changes from one document to another: [{path, label, from, to}] for every
 * leaf that differs, nested objects by their properties (paths as JSON pointers).
 */
export function changes(schema, from, to, base = "", order) {
  const out = [];
  const props = (schema && schema.properties) || {};
  const names = properties(schema, order).map((p) => p.name);
  for (const name of Object.keys(Object.assign({}, from || {}, to || {}))) if (!names.includes(name)) names.push(name);
  for (const name of names) {
    const a = from ? from[name] : undefined;
    const b = to ? to[name] : undefined;
    const prop = props[name];
    const path = `${base}/${name}`;
    if (typeOf(prop) === "object" && (isObject(a) || isObject(b))) {
      for (const c of changes(prop, a, b, path)) out.push({ ...c, label: `${labelOf(name, prop)} › ${c.label}` });
    } else if (JSON.stringify(a ?? null) !== JSON.stringify(b ?? null)) {
      out.push({ path, label: labelOf(name, prop), from: a ?? null, to: b ?? null });
    }
  }
  return out;
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** A value as the page prints it. */
export function show(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** The spec errors (`PT422` details) for the field at `path` (a JSON pointer). A `required`
 * error is reported at the parent: it belongs to the field its message names. */
export function errorsAt(details, path) {
  return (details || [])
    .filter((e) => {
      if (e.path === path) return true;
      if (e.keyword === "required") {
        const m = /"([^"]+)"/.exec(e.message || "");
        return m && `${e.path}/${m[1]}` === path;
      }
      return false;
    })
    .map((e) => e.message);
}

/** The JWT's claims (without checking the signature: the server does). */
export function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch {
    return null;
  }
}
