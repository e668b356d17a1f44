"""Black-box HTTP tests of the hardening (docs/security.md) through the real PostgREST 12
binary: anonymous inputs that once crashed or exhausted a backend (deeply nested queries,
sloppy phrases, unbounded result pages, deeply nested documents and patches) are 4xx
answers with specstar's SQLSTATE and nothing else changes; the server never restarts;
revision views refuse writes however the path is encoded; long values are quoted short.

Run by scripts/test.sh (suite "http") as its own process, with its own PostgREST."""
import json
import unittest
import urllib.parse

from support import Server, psql, token

S = Server()
WRITER = token("web_writer", "alice")


def setUpModule():
    S.start()
    psql("SELECT specstar.register_spec('vault', '{\"type\": \"object\", \"properties\": {"
         "\"title\": {\"type\": \"string\", \"maxLength\": 20, \"x-search\": true},"
         "\"body\": {\"type\": \"string\", \"x-search\": true}, \"meta\": {\"type\": \"object\"}}}',"
         " '{\"roles\": {\"read\": [\"web_anon\"], \"write\": [\"web_writer\"]}}')")
    S.wait_for("/vault", "/rpc/vault_search", auth=WRITER)
    for i in range(30):
        S.request("POST", "/vault", {"title": f"doc {i}", "body": "lorem ipsum dolor sit amet " * 50}, auth=WRITER)


def tearDownModule():
    S.stop()


def state():
    return psql("SELECT count(*), max(revision) FROM api.vault") + "/" + psql("SELECT count(*) FROM api.vault_revision")


def started():
    return psql("SELECT pg_postmaster_start_time()")


def search(q, **params):
    query = urllib.parse.urlencode(dict(q=q, **params))
    return S.request("GET", f"/rpc/vault_search?{query}&select=title")


class ZzInvariants(unittest.TestCase):
    """Runs last: no 5xx and no Rust backtrace in any response of this module."""

    def test_no_server_errors_and_no_backtraces(self):
        S.check_responses(self)


class Queries(unittest.TestCase):
    def test_nested_queries_are_400_and_the_server_stays_up(self):
        before, up = state(), started()
        for q in ("(" * 3000 + "lorem" + ")" * 3000, "NOT " * 20000 + "lorem", "title:(" * 3000 + "lorem" + ")" * 3000):
            with self.subTest(q=q[:20]):
                r = S.request("POST", "/rpc/vault_search", {"q": q})
                self.assertEqual((r.status, r.json["code"]), (400, "22023"), r)
                self.assertIn("nested too deeply", r.json["message"])
        self.assertEqual(search("(" * 10 + "lorem" + ")" * 10).status, 200)
        self.assertEqual((state(), started()), (before, up))

    def test_long_queries_and_sloppy_phrases_are_400(self):
        up = started()
        r = S.request("POST", "/rpc/vault_search", {"q": "lorem " * 500})
        self.assertEqual((r.status, r.json["code"]), (400, "22023"))
        self.assertIn("longer than 1000 characters", r.json["message"])
        r = search('"lorem ipsum dolor sit amet lorem ipsum dolor sit amet lorem ipsum"~100000')
        self.assertEqual((r.status, r.json["code"]), (400, "22023"))
        self.assertIn("phrase slop 100000 is too large (at most 10)", r.json["message"])
        r = search('"lorem ipsum dolor"~2')
        self.assertEqual((r.status, r.json["code"]), (400, "22023"))
        self.assertIn("a phrase with a slop may have at most 2 words", r.json["message"])
        r = search('"lorem ipsum"~10')
        self.assertEqual((r.status, len(r.json)), (200, 20))
        self.assertEqual(started(), up)

    def test_result_pages_are_bounded(self):
        r = search("lorem", top=1001)
        self.assertEqual((r.status, r.json["code"]), (400, "22023"))
        self.assertIn("top must be between 0 and 1000", r.json["message"])
        r = search("lorem", top=10, skip=9991)
        self.assertEqual((r.status, r.json["code"]), (400, "22023"))
        r = S.request("POST", "/rpc/vault_search?select=title", {"q": "lorem", "top": None})
        self.assertEqual((r.status, len(r.json)), (200, 30))
        r = S.request("GET", "/rpc/vault_search?q=lorem&top=-1")
        self.assertEqual((r.status, r.json["code"]), (400, "22023"))


class Documents(unittest.TestCase):
    def test_deep_documents_are_422_and_nothing_is_written(self):
        before = state()
        deep = {}
        for _ in range(150):
            deep = {"a": deep}
        r = S.request("POST", "/vault", {"title": "deep", "meta": deep}, auth=WRITER)
        self.assertEqual((r.status, r.json["code"]), (422, "PT422"), r)
        self.assertIn("nested deeper than 100 levels", r.json["message"])
        self.assertEqual(json.loads(r.json["details"])[0]["keyword"], "maxDepth")
        # a little less deep: stored
        shallow = {}
        for _ in range(90):
            shallow = {"a": shallow}
        r = S.request("POST", "/vault", {"title": "shallow", "meta": shallow}, {"Prefer": "return=representation"}, WRITER)
        self.assertEqual(r.status, 201, r)
        vid = r.json[0]["id"]
        after = state()
        # patches: too deep, too many operations
        r = S.request("POST", "/rpc/vault_patch", {"id": vid, "patch": [{"op": "add", "path": "/meta/b", "value": deep}]}, auth=WRITER)
        self.assertEqual((r.status, r.json["code"]), (400, "22023"), r)
        many = [{"op": "test", "path": "/title", "value": "shallow"}] * 1001
        r = S.request("POST", "/rpc/vault_patch", {"id": vid, "patch": many}, auth=WRITER)
        self.assertEqual((r.status, r.json["code"]), (400, "22023"), r)
        # the diff of a stored document reads it safely
        S.request("PATCH", f"/vault?id=eq.{vid}", {"title": "shallow 2"}, auth=WRITER)
        r = S.request("GET", f"/rpc/vault_diff?id={vid}&from_revision=1")
        self.assertEqual((r.status, r.json), (200, [{"op": "replace", "path": "/title", "value": "shallow 2"}]))
        self.assertEqual(state().split("/")[0].split("|")[0], after.split("/")[0].split("|")[0])
        self.assertNotEqual(before, after)

    def test_long_values_are_quoted_short(self):
        r = S.request("POST", "/vault", {"title": "y" * 50000}, auth=WRITER)
        self.assertEqual((r.status, r.json["code"]), (422, "PT422"))
        self.assertLess(len(r.raw), 2000)
        self.assertIn("(50000 characters)", r.json["message"])


class RevisionViews(unittest.TestCase):
    def test_writes_are_405_however_the_path_is_encoded(self):
        before = state()
        vid = psql("SELECT id FROM api.vault ORDER BY id LIMIT 1")
        body = {"id": vid, "revision": 9, "op": "update", "data": {}}
        for method, path in (("POST", "/vault%5Frevision"), ("POST", "/vault_revisio%6E"), ("POST", "/%76ault_revision"),
                             ("PATCH", "/vault_revision"), ("PATCH", f"/vault%5Frevision?id=eq.{vid}"),
                             ("DELETE", "/vault%5frevision")):
            with self.subTest(method=method, path=path):
                r = S.request(method, path, None if method == "DELETE" else body, auth=WRITER)
                self.assertEqual((r.status, r.json["code"]), (405, "42501"), r)
                self.assertEqual(r.headers["Allow"], "GET, HEAD")
        # PUT on a view without a primary key: PostgREST's own 405, before the hook
        r = S.request("PUT", f"/vault_revision?id=eq.{vid}", body, auth=WRITER)
        self.assertEqual(r.status, 405, r)
        self.assertEqual(state(), before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
