// Unit tests of the page's pure logic (admin/src/schema.js): `node --test admin/tests/`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { changes, columns, errorsAt, fromLocalInput, properties, resourceName, toLocalInput, toRaw, toValue, typeOf } from "../src/schema.js";

const schema = JSON.parse(`{"type": "object", "required": ["title"], "properties": {
  "title": {"type": "string", "title": "Title"}, "count": {"type": ["integer", "null"]},
  "kind": {"enum": ["a", "b"]}, "at": {"type": "string", "format": "date-time"}, "on": {"type": "string", "format": "date"},
  "ok": {"type": "boolean"}, "where": {"type": "object", "title": "Where", "required": ["lat"], "properties": {"lat": {"type": "number"}}},
  "tags": {"type": "array", "items": {"type": "string"}}, "blob": {"type": "object"}, "rows": {"type": "array", "items": {"type": "object"}}}}`);

test("types, in the author's order", () => {
  const ps = properties(schema);
  assert.deepEqual(ps.map((p) => p.name), ["title", "count", "kind", "at", "on", "ok", "where", "tags", "blob", "rows"]);
  assert.deepEqual(ps.map((p) => p.type), ["string", "integer", "enum", "datetime", "date", "boolean", "object", "list", "json", "json"]);
  assert.deepEqual(properties(schema, ["tags", "title"]).map((p) => p.name).slice(0, 3), ["tags", "title", "count"]);
  assert.equal(typeOf(undefined), "any");
});

test("columns: top-level scalars, at most six", () => {
  assert.deepEqual(columns({ schema, properties: [] }).map((c) => c.name), ["title", "count", "kind", "at", "on", "ok"]);
});

test("form values: emptied fields, numbers, nested objects, lists", () => {
  const ps = Object.fromEntries(properties(schema).map((p) => [p.name, p]));
  assert.equal(toValue(ps.title, ""), "", "an emptied required string stays a string, so the server names the field");
  assert.equal(toValue(ps.count, ""), null);
  assert.equal(toValue(ps.count, "42"), 42);
  assert.equal(toValue(ps.count, "4.5"), "4.5", "not an integer: sent as typed, for the server to refuse at /count");
  assert.equal(toValue(ps.ok, false), false);
  assert.equal(toValue(ps.where, { lat: "" }), null, "an optional object left empty is cleared");
  assert.deepEqual(toValue(ps.where, { lat: "1.5" }), { lat: 1.5 });
  assert.deepEqual(toValue(ps.tags, ["a", ""]), ["a", ""]);
  assert.deepEqual(toValue(ps.blob, '{"a": 1}'), { a: 1 });
  assert.deepEqual(toRaw(ps.where, { lat: 2 }), { lat: "2" });
  assert.deepEqual(toRaw(ps.tags, null), []);
});

test("local date-times carry the browser's offset", () => {
  const sent = fromLocalInput("2026-06-01T06:30:15");
  assert.match(sent, /^2026-06-01T06:30:15[+-]\d\d:\d\d$/);
  assert.equal(toLocalInput(sent), "2026-06-01T06:30:15");
  assert.equal(fromLocalInput(""), null);
});

test("changes: only what differs, nested fields by their path", () => {
  const c = changes(schema, { title: "a", where: { lat: 1 }, tags: ["x"] }, { title: "b", where: { lat: 2 }, tags: ["x"], extra: 1 });
  assert.deepEqual(c.map((x) => [x.path, x.label]), [["/title", "Title"], ["/where/lat", "Where › lat"], ["/extra", "extra"]]);
  assert.deepEqual([c[0].from, c[0].to], ["a", "b"]);
});

test("server errors find their field, a required one included", () => {
  const details = [
    { path: "/where/lat", keyword: "maximum", message: "123 is greater than the maximum of 90" },
    { path: "", keyword: "required", message: '"title" is a required property' },
  ];
  assert.deepEqual(errorsAt(details, "/where/lat"), ["123 is greater than the maximum of 90"]);
  assert.deepEqual(errorsAt(details, "/title"), ['"title" is a required property']);
  assert.deepEqual(errorsAt(details, "/count"), []);
});

test("a resource is named by its title or name, else its id", () => {
  assert.equal(resourceName({ id: "x", title: "T" }), "T");
  assert.equal(resourceName({ id: "x", name: "N" }), "N");
  assert.equal(resourceName({ id: "x", title: "" }), "x");
});
