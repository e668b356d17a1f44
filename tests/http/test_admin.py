"""The admin page (GET /rpc/admin, docs/admin.md) in a real browser: this module starts the
database and PostgREST (support.Server), registers a spec with every kind of field, checks
the page's response headers, then runs admin/tests/e2e.mjs — Debian's chromium driven by
playwright-core through the roles and accessible names of the contract.

Run by scripts/test.sh (suite "http") as its own process, with its own PostgREST."""
import os
import subprocess
import unittest

from support import ROOT, Server, psql, token

S = Server()
REPORT = """{
  "title": "Field Report",
  "description": "An observation made in the field.",
  "type": "object",
  "properties": {
    "title": {"type": "string", "title": "Title", "minLength": 1, "maxLength": 120},
    "severity": {"enum": ["low", "medium", "high"], "title": "Severity", "default": "low"},
    "count": {"type": "integer", "title": "Count", "minimum": 0},
    "observed_at": {"type": "string", "format": "date-time", "title": "Observed at"},
    "verified": {"type": "boolean", "title": "Verified"},
    "location": {"type": "object", "title": "Location", "properties": {
      "lat": {"type": "number", "title": "Latitude", "minimum": -90, "maximum": 90},
      "lon": {"type": "number", "title": "Longitude", "minimum": -180, "maximum": 180}},
      "required": ["lat", "lon"]},
    "tags": {"type": "array", "title": "Tags", "items": {"type": "string"}},
    "notes": {"type": "string", "title": "Notes", "description": "What you saw, in your own words.", "x-search": true}
  },
  "required": ["title"]
}"""


def setUpModule():
    S.start()
    psql(f"SET specstar.read_roles = 'web_anon'; SET specstar.write_roles = 'web_writer'; "
         f"SELECT specstar.register_spec('field_report', $${REPORT}$$)")
    psql("NOTIFY pgrst, 'reload schema'")
    S.wait_for("/field_report", "/rpc/admin_specs")


def tearDownModule():
    S.stop()


class Served(unittest.TestCase):
    def test_headers(self):
        r = S.request("GET", "/rpc/admin", headers={"Accept": "text/html"})
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("text/html"))
        csp = r.headers["Content-Security-Policy"]
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)
        self.assertIn("script-src 'sha256-", csp)
        self.assertIn("connect-src 'self'", csp)
        self.assertIn("default-src 'none'", csp)
        self.assertEqual(r.headers["X-Frame-Options"], "DENY")
        self.assertEqual(r.headers["Referrer-Policy"], "no-referrer")
        self.assertIn('<div id="app">', r.raw)
        self.assertNotIn("http://", r.raw.replace("http://www.w3.org", ""))  # nothing from another origin

    def test_specs_follow_the_role(self):
        anon = S.request("GET", "/rpc/admin_specs").json
        self.assertEqual(sorted(s["name"] for s in anon), ["article", "author", "field_report", "notification"])
        self.assertFalse(any(s["may"]["insert"] for s in anon))
        writer = S.request("GET", "/rpc/admin_specs", auth=token()).json
        self.assertTrue(all(s["may"]["insert"] and s["may"]["rollback"] for s in writer))
        report = next(s for s in writer if s["name"] == "field_report")
        self.assertEqual(report["schema"]["title"], "Field Report")
        self.assertTrue(report["search"])


class Browser(unittest.TestCase):
    def test_e2e(self):
        env = dict(os.environ, BASE=S.url(""), WRITER=token("web_writer", "alice"), OTHER=token("web_writer", "bob"),
                   SCREENSHOTS=os.environ.get("SCREENSHOTS", ""))
        out = subprocess.run(["node", "--test", "--test-reporter=spec", os.path.join(ROOT, "admin", "tests", "e2e.mjs")],
                             cwd=os.path.join(ROOT, "admin"), env=env, capture_output=True, text=True, timeout=900)
        print(out.stdout[-20000:])
        self.assertEqual(out.returncode, 0, out.stderr[-5000:] + out.stdout[-5000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
