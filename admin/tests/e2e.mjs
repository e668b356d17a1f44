// The admin page end to end, in Debian's chromium (headless, driven by playwright-core),
// against the PostgREST that tests/http/test_admin.py started (BASE), through the roles and
// accessible names of ../shared/contracts/admin.md. Environment: BASE, WRITER and OTHER (JWTs
// of web_writer), SCREENSHOTS (a directory for the README's screenshots, optional).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const BASE = process.env.BASE.replace(/\/$/, "");
const PAGE = `${BASE}/rpc/admin`;
const WRITER = process.env.WRITER;
const OTHER = process.env.OTHER;
const SHOTS = process.env.SCREENSHOTS;
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

let browser;
const problems = []; // script errors, CSP violations, requests to other origins

before(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
});

after(async () => {
  await browser.close();
});

async function open(hash = "") {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => problems.push(`script error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && !/Failed to load resource/.test(m.text()) && problems.push(`console: ${m.text()}`));
  page.on("request", (r) => {
    const url = r.url();
    if (!url.startsWith(BASE) && !url.startsWith("data:")) problems.push(`request to another origin: ${url}`);
    if (WRITER && url.includes(WRITER.slice(-20))) problems.push(`token in a URL: ${url}`);
  });
  await page.goto(PAGE + hash);
  return page;
}

async function signIn(page, token = WRITER) {
  await page.getByRole("button", { name: "Sign in" }).click();
  const form = page.getByRole("form", { name: "Sign in" });
  await form.getByLabel("Token").fill(token);
  await form.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

async function api(method, path, body, token = WRITER) {
  const r = await fetch(BASE + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Prefer: "return=representation" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Waits until a control holds `value`. */
async function waitValue(locator, value, timeout = 10000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await locator.inputValue().catch(() => null);
    if (v === value) return;
    if (Date.now() > end) assert.equal(v, value);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function axe(page, what) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const critical = result.violations.filter((v) => v.impact === "critical");
  assert.deepEqual(critical.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(", ")}`), [], `critical axe violations on ${what}`);
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: false });
}

const history = (page) => page.getByRole("list", { name: "History" }).getByRole("listitem");
const field = (page, label) => page.getByRole("form", { name: /Field Report/ }).getByLabel(label, { exact: true });

test("anonymous visitors read, and no write button is enabled", async () => {
  const page = await open();
  const nav = page.getByRole("navigation", { name: "Specs" });
  for (const title of ["Article", "Author", "Field Report"]) await nav.getByRole("link", { name: new RegExp(`^${title}`) }).waitFor();
  await nav.getByRole("link", { name: /^Field Report/ }).click();
  await page.getByRole("heading", { name: /^Field Report/ }).waitFor();
  const table = page.getByRole("table", { name: /^Field Report/ });
  await table.waitFor();
  const headers = await table.getByRole("columnheader").allInnerTexts();
  // the top-level scalar properties in the order the author wrote them (up to six), then two
  assert.deepEqual(headers, ["Title", "Severity", "Count", "Observed at", "Verified", "Notes", "Revision", "Updated"]);
  assert.equal(await page.getByRole("button", { name: "New" }).isDisabled(), true);
  await axe(page, "the list");
  // a resource with history: readable, and every write button disabled or absent
  const [made] = await api("POST", "/field_report", { title: "Read only", location: { lat: 0, lon: 0 } });
  await api("PATCH", `/field_report?id=eq.${made.id}`, { title: "Read only, twice" });
  await page.goto(`${PAGE}#/spec/field_report/${made.id}`);
  await history(page).nth(1).waitFor();
  for (const name of ["Save", "Save draft", "Delete"]) {
    const b = page.getByRole("button", { name, exact: true });
    assert.ok((await b.count()) === 0 || (await b.isDisabled()), `${name} is not enabled`);
  }
  assert.equal(await page.getByRole("button", { name: /^Roll back/ }).count(), 0);
  assert.equal(await field(page, "Title *").isDisabled(), true);
  await page.context().close();
});

test("sign in, create through the form, edit twice, and the history shows three revisions", async () => {
  const page = await open("#/spec/field_report");
  await signIn(page);
  await page.getByText("Signed in as alice").waitFor();
  await page.getByRole("button", { name: "New" }).click();
  const form = page.getByRole("form", { name: "New Field Report" });
  await form.waitFor();
  assert.equal(await field(page, "Title *").getAttribute("aria-required"), "true");
  assert.equal(await page.getByRole("combobox", { name: "Severity" }).count(), 1);
  assert.equal(await page.getByRole("spinbutton", { name: "Count" }).count(), 1);
  assert.equal(await page.getByRole("checkbox", { name: "Verified" }).count(), 1);
  const location = page.getByRole("group", { name: "Location" });
  await location.getByLabel("Latitude *").fill("48.85");
  await location.getByLabel("Longitude *").fill("2.35");
  const tags = page.getByRole("group", { name: "Tags" });
  await tags.getByRole("button", { name: "Add item" }).click();
  await tags.getByLabel("Item 1").fill("river");
  await tags.getByRole("button", { name: "Add item" }).click();
  await tags.getByLabel("Item 2").fill("bridge");
  await tags.getByRole("button", { name: "Remove item 1" }).click();
  assert.equal(await tags.getByLabel("Item 1").inputValue(), "bridge");
  await field(page, "Title *").fill("Heron on the bridge");
  await field(page, "Notes").fill("A grey heron stood on the old stone bridge at dawn, watching the water.");
  assert.match(await page.getByLabel("Notes").evaluate((e) => e.getAttribute("aria-describedby")), /help/);
  await page.getByRole("combobox", { name: "Severity" }).selectOption("medium");
  await page.getByLabel("Observed at").fill("2026-06-01T06:30:15");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByRole("form", { name: "Edit Field Report" }).waitFor();
  await page.getByRole("list", { name: "History" }).waitFor();
  assert.equal(await history(page).count(), 1);
  assert.equal(await field(page, "Title *").inputValue(), "Heron on the bridge");
  await shot(page, "admin-form");

  await field(page, "Title *").fill("Two herons on the bridge");
  await page.getByLabel("Change message").fill("a second bird");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await history(page).nth(1).waitFor();
  // "Show request": the save as curl, with $TOKEN in place of the token, and it runs as shown
  const requests = page.locator("details.request");
  await requests.getByText("Show request").click();
  const change = await requests.getByRole("figure", { name: "Last change" }).locator("pre").innerText();
  assert.match(change, /^curl -s '[^']*\/field_report\?id=eq\.[^']+' -X PATCH -H "Authorization: Bearer \$TOKEN"/);
  assert.match(change, /-H 'X-Specstar-Message: a second bird'/);
  assert.ok(!change.includes(WRITER), "the curl text holds $TOKEN, not the token");
  const read = await requests.getByRole("figure", { name: "Last read" }).locator("pre").innerText();
  assert.match(read, /^curl -s '[^']*\/field_report/);
  const shown = JSON.parse(execFileSync("sh", ["-c", read], { env: { ...process.env, TOKEN: WRITER } }).toString());
  assert.ok(Array.isArray(shown) && shown.length > 0, "the shown read answers");
  await requests.getByText("Show request").click();
  await page.getByRole("spinbutton", { name: "Count" }).fill("2");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await history(page).nth(2).waitFor();
  const items = await history(page).allInnerTexts();
  assert.equal(items.length, 3);
  assert.match(items[0], /^Revision 3 update, by alice/);
  assert.match(items[1], /Revision 2 update, by alice.*a second bird/s);
  assert.match(items[2], /^Revision 1 create, by alice/);
  assert.equal(await page.getByRole("list", { name: "History" }).locator("ul, ol").count(), 0);

  // the diff between any two revisions: only the changed fields, old in <del>, new in <ins>
  const diff = page.getByRole("region", { name: "Diff" });
  await diff.getByLabel("From revision").selectOption("1");
  await diff.getByLabel("To revision").selectOption("3");
  await diff.locator("dt", { hasText: "Title" }).waitFor();
  assert.deepEqual(await diff.locator("dt").allInnerTexts(), ["Title", "Count"]);
  assert.equal(await diff.locator("del").first().innerText(), "Heron on the bridge");
  assert.equal(await diff.locator("ins").first().innerText(), "Two herons on the bridge");
  await page.getByRole("heading", { name: "History" }).scrollIntoViewIfNeeded();
  await page.evaluate(() => document.getElementById("history-heading").scrollIntoView({ block: "start" }));
  await shot(page, "admin-history");
  await axe(page, "the form and history");

  // roll back to revision 1, confirmed in a dialog that shows what will change
  await page.getByRole("button", { name: "Roll back to revision 1" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /Two herons on the bridge/);
  await dialog.getByRole("button", { name: "Roll back" }).click();
  await history(page).nth(3).waitFor();
  assert.match(await history(page).first().innerText(), /^Revision 4 rollback/);
  assert.equal(await field(page, "Title *").inputValue(), "Heron on the bridge");

  // delete (dialog) → Show deleted → Restore
  const url = page.url();
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await page.getByRole("table", { name: /^Field Report/ }).waitFor();
  await page.getByRole("checkbox", { name: "Show deleted" }).check();
  await page.getByRole("link", { name: "Heron on the bridge" }).click();
  await page.getByRole("button", { name: "Restore" }).click();
  await page.getByRole("dialog").getByRole("button", { name: /^Restore/ }).click();
  await page.getByRole("form", { name: "Edit Field Report" }).waitFor();
  await history(page).nth(5).waitFor();
  assert.match(await history(page).first().innerText(), /^Revision 6 restore/);
  assert.equal(page.url(), url);
  await page.context().close();
});

test("validation errors appear next to the right field, nested ones included, and nothing is written", async () => {
  const page = await open("#/spec/field_report/new");
  await signIn(page);
  await page.getByRole("form", { name: "New Field Report" }).waitFor();
  await field(page, "Title *").fill("Out of range");
  const location = page.getByRole("group", { name: "Location" });
  await location.getByLabel("Latitude *").fill("123");
  await location.getByLabel("Longitude *").fill("2");
  const before = await api("GET", "/field_report?select=id");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  const lat = location.getByLabel("Latitude *");
  await page.waitForFunction(() => document.querySelector('[aria-invalid="true"]'));
  assert.equal(await lat.getAttribute("aria-invalid"), "true");
  const describedBy = (await lat.getAttribute("aria-describedby")).split(" ");
  const message = await page.locator(`[id="${describedBy[0]}"]`).innerText();
  assert.match(message, /123/);
  assert.equal(await field(page, "Title *").getAttribute("aria-invalid"), null);
  assert.equal((await api("GET", "/field_report?select=id")).length, before.length);
  // an emptied required string: the error is on the field, not lost at the parent
  await field(page, "Title *").fill("");
  await lat.fill("45");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.waitForFunction(() => document.querySelector('[aria-invalid="true"]') && document.querySelector('[aria-invalid="true"]').getAttribute("aria-describedby"));
  assert.equal(await field(page, "Title *").getAttribute("aria-invalid"), "true");
  await shot(page, "admin-validation");
  await axe(page, "a form with errors");
  await page.context().close();
});

test("saving over a newer revision shows a conflict with Reload", async () => {
  const [created] = await api("POST", "/field_report", { title: "Conflict", location: { lat: 1, lon: 1 } });
  const page = await open(`#/spec/field_report/${created.id}`);
  await signIn(page);
  await page.getByRole("form", { name: "Edit Field Report" }).waitFor();
  await api("PATCH", `/field_report?id=eq.${created.id}`, { title: "Changed by bob" }, OTHER);
  await field(page, "Title *").fill("Mine");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.innerText(), /changed since it was loaded/);
  await alert.getByText(/revision \d+ by bob/).waitFor();
  assert.equal(await alert.locator("ins").first().innerText(), "Mine");
  assert.equal(await alert.locator("del").first().innerText(), "Changed by bob");
  const [row] = await api("GET", `/field_report?id=eq.${created.id}`);
  assert.equal(row.title, "Changed by bob");
  await alert.getByRole("button", { name: "Reload" }).click();
  await waitValue(field(page, "Title *"), "Changed by bob");
  await page.getByRole("alert").waitFor({ state: "detached" });
  await page.context().close();
});

test("drafts: saving one writes no revision; publish, publish anyway over a newer revision, discard", async () => {
  const [created] = await api("POST", "/field_report", { title: "Live title", location: { lat: 1, lon: 1 } });
  const page = await open(`#/spec/field_report/${created.id}`);
  await signIn(page);
  await page.getByRole("form", { name: "Edit Field Report" }).waitFor();
  await field(page, "Title *").fill("Draft title");
  await field(page, "Notes").fill("The river was high after the storm and the heron waited on the far bank.");
  await page.getByRole("button", { name: "Save draft" }).click();
  await page.getByRole("button", { name: "Publish" }).waitFor();
  const versus = page.getByRole("region", { name: "Draft changes" });
  assert.equal(await versus.locator("ins").filter({ hasText: "Draft title" }).count(), 1);
  assert.equal((await api("GET", `/field_report_revision?id=eq.${created.id}`)).length, 1);
  assert.equal(await field(page, "Title *").inputValue(), "Draft title");
  await page.getByRole("button", { name: "Discard draft" }).click();
  await page.getByRole("button", { name: "Publish" }).waitFor({ state: "detached" });
  assert.equal(await field(page, "Title *").inputValue(), "Live title");
  await field(page, "Title *").fill("Draft again");
  await page.getByRole("button", { name: "Save draft" }).click();
  await page.getByRole("button", { name: "Publish" }).click();
  await history(page).nth(1).waitFor();
  assert.match(await history(page).first().innerText(), /^Revision 2 publish/);
  assert.equal(await field(page, "Title *").inputValue(), "Draft again");
  // a draft over a revision that changed meanwhile: Publish is refused, "Publish anyway" forces it
  await field(page, "Title *").fill("Draft over a newer revision");
  await page.getByRole("button", { name: "Save draft" }).click();
  await page.getByRole("button", { name: "Publish" }).waitFor();
  await api("PATCH", `/field_report?id=eq.${created.id}`, { title: "Changed meanwhile" }, OTHER);
  await page.getByRole("button", { name: "Publish", exact: true }).click();
  await page.getByRole("alert").getByRole("button", { name: "Publish anyway" }).click();
  await history(page).nth(3).waitFor();
  assert.match(await history(page).first().innerText(), /^Revision 4 publish/);
  const [forced] = await api("GET", `/field_report?id=eq.${created.id}`);
  assert.equal(forced.title, "Draft over a newer revision");
  // long texts differ word by word
  await api("PATCH", `/field_report?id=eq.${created.id}`, { notes: "The river was high after the storm and the heron waited on the far bank." });
  await api("PATCH", `/field_report?id=eq.${created.id}`, { notes: "The river was high after the storm and the heron waited on the near bank." });
  await page.reload();
  await history(page).nth(5).waitFor();
  const diff = page.getByRole("region", { name: "Diff" });
  assert.deepEqual(await diff.locator("dt").allInnerTexts(), ["Notes"]);
  assert.deepEqual(await diff.locator("del").allInnerTexts(), ["far"]);
  assert.deepEqual(await diff.locator("ins").allInnerTexts(), ["near"]);
  // a new resource saved as a draft is not live until published
  await page.goto(`${PAGE}#/spec/field_report/new`);
  await page.getByRole("form", { name: "New Field Report" }).waitFor();
  await field(page, "Title *").fill("Only a draft");
  await page.getByRole("button", { name: "Save draft" }).click();
  await page.getByRole("button", { name: "Publish" }).waitFor();
  const id = decodeURIComponent(page.url().split("/").pop());
  assert.equal((await api("GET", `/field_report?id=eq.${id}`)).length, 0);
  await page.getByRole("button", { name: "Publish" }).click();
  await history(page).first().waitFor();
  assert.equal((await api("GET", `/field_report?id=eq.${id}`)).length, 1);
  await page.context().close();
});

test("search, sorting, as of, and paging past 100 rows", async () => {
  const marker = `page${Date.now()}`;
  const rows = Array.from({ length: 120 }, (_, i) => ({ title: `${marker} ${String(i).padStart(3, "0")}`, count: i, location: { lat: 0, lon: 0 } }));
  await api("POST", "/field_report", rows);
  const page = await open("#/spec/field_report");
  const table = page.getByRole("table", { name: /^Field Report/ });
  await table.getByRole("row").nth(1).waitFor();
  const text = page.getByText(/records, page 1 of/);
  assert.match(await text.innerText(), /^\d+ records, page 1 of 2/);
  assert.equal(await table.getByRole("row").count(), 101);
  await page.getByRole("button", { name: "Next page" }).click();
  await page.getByText(/page 2 of 2/).waitFor();
  assert.equal(await page.getByRole("button", { name: "Next page" }).isDisabled(), true);
  await page.getByRole("button", { name: "Previous page" }).click();
  // sorting by a column: ascending, then descending, with aria-sort
  const header = table.getByRole("columnheader", { name: "Count" });
  await header.getByRole("button", { name: "Count" }).click();
  await page.waitForFunction(() => document.querySelector('th[aria-sort="ascending"]'));
  assert.equal(await header.getAttribute("aria-sort"), "ascending");
  await header.getByRole("button", { name: "Count" }).click();
  await page.waitForFunction(() => document.querySelector('th[aria-sort="descending"]'));
  assert.equal(await header.getAttribute("aria-sort"), "descending");
  await page.waitForFunction((m) => document.querySelector("tbody tr a") && document.querySelector("tbody tr a").textContent === `${m} 119`, marker);
  // search: Enter shows only the hits; an empty search shows everything again
  const [heron] = await api("POST", "/field_report", { title: "Search target", notes: "kingfisher by the weir", location: { lat: 0, lon: 0 } });
  const search = page.getByRole("searchbox", { name: "Search" });
  await search.fill("kingfisher");
  await search.press("Enter");
  await page.getByText(/^1 record, page 1 of 1/).waitFor();
  await table.getByRole("link", { name: "Search target" }).waitFor();
  await shot(page, "admin-search");
  await search.fill("");
  await page.getByText(/^1 record, page 1 of 1/).waitFor({ state: "detached" });
  // as of: a time before an edit shows the old value
  await new Promise((r) => setTimeout(r, 1100));
  const now = new Date();
  await new Promise((r) => setTimeout(r, 1100));
  await api("PATCH", `/field_report?id=eq.${heron.id}`, { title: "Search target, renamed" });
  const pad = (n) => String(n).padStart(2, "0");
  // (chromium writes a datetime-local value without ":00" seconds, and playwright compares)
  const seconds = now.getSeconds() ? `:${pad(now.getSeconds())}` : "";
  const local = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}T${pad(now.getHours())}:${pad(now.getMinutes())}${seconds}`;
  // newest first (Updated, pressed twice: ascending, then descending)
  const updated = table.getByRole("columnheader", { name: "Updated" });
  await updated.getByRole("button", { name: "Updated" }).click();
  await updated.getByRole("button", { name: "Updated" }).click();
  await page.waitForFunction(() => [...document.querySelectorAll("th")].some((th) => th.textContent === "Updated" && th.getAttribute("aria-sort") === "descending"));
  await page.getByLabel("As of").fill(local);
  await page.getByLabel("As of").dispatchEvent("change");
  await table.getByRole("link", { name: "Search target", exact: true }).waitFor();
  await page.getByLabel("As of").fill("");
  await page.getByLabel("As of").dispatchEvent("change");
  await table.getByRole("link", { name: "Search target, renamed" }).waitFor();
  await axe(page, "the list with search");
  await page.context().close();
});

test("the page caused no script error, no CSP violation, and no request to another origin", () => {
  assert.deepEqual(problems, []);
});
