"""Black-box HTTP tests of specstar through the real PostgREST 12 binary: every operation on
a spec (`article`, `author` from examples/) and every error a client can meet, with exact
statuses, headers and bodies, and the data checked unchanged after each refused write.

Run by scripts/test.sh (suite "http"), which provides the PostgreSQL cluster."""
import json
import time
import unittest
import urllib.parse
import uuid

from support import Server, psql, run_readme_tour, token

S = Server()
WRITER = token("web_writer", "alice")
OTHER_WRITER = token("web_writer", "bob")
GUEST = token("web_guest", "mallory")  # a role PostgREST knows, without grants on the specs


def setUpModule():
    S.start()


def tearDownModule():
    S.stop()


def q(value):
    return urllib.parse.quote(str(value), safe="")


def create(title="Hello", auth=WRITER, **fields):
    r = S.request("POST", "/article", dict(title=title, **fields), {"Prefer": "return=representation",
                  "Accept": "application/vnd.pgrst.object+json"}, auth)
    assert r.status == 201, r
    return r.json


def state(id_):
    """What must not change when a write is refused: the live row and the history."""
    live = psql(f"SELECT row_to_json(a) FROM api.article a WHERE id = '{id_}'")
    history = psql(f"SELECT count(*) || ':' || max(revision) FROM api.article_revision WHERE id = '{id_}'")
    return live, history


class ZzInvariants(unittest.TestCase):
    """(Runs last.) No response of the whole suite is a 5xx or carries a Rust backtrace."""

    def test_no_server_errors_and_no_backtraces(self):
        S.check_responses(self)


class OpenAPI(unittest.TestCase):
    def test_root_describes_the_specs(self):
        r = S.request("GET", "/")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("application/openapi+json"))
        doc = r.json
        self.assertEqual(doc["info"]["title"], "specstar API")
        art = doc["definitions"]["article"]
        self.assertEqual(art["description"], "Article\nA piece of writing; every change is kept as a revision.")
        self.assertEqual(art["properties"]["title"]["description"], "Headline")
        self.assertIn("Current revision number", art["properties"]["revision"]["description"])
        # the history is read-only; the resource takes every verb
        self.assertEqual(sorted(doc["paths"]["/article_revision"]), ["get"])
        self.assertEqual(sorted(doc["paths"]["/article"]), ["delete", "get", "patch", "post"])
        # anonymous readers see the read RPCs only
        rpcs = {p for p in doc["paths"] if p.startswith("/rpc/article")}
        self.assertEqual(rpcs, {"/rpc/article_at", "/rpc/article_as_of", "/rpc/article_diff", "/rpc/article_search", "/rpc/article_changes"})
        writer = S.request("GET", "/", auth=WRITER).json
        self.assertIn("/rpc/article_rollback", writer["paths"])


class Collection(unittest.TestCase):
    def test_get_with_filters_select_order_and_count(self):
        tag = uuid.uuid4().hex[:8]
        for i in range(3):
            create(f"list-{tag}-{i}", views=i)
        r = S.request("GET", f"/article?select=title,views,revision&title=like.list-{tag}*&order=views.desc&limit=2",
                      headers={"Prefer": "count=exact"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.headers["Content-Range"], "0-1/3")
        self.assertEqual(r.json, [{"title": f"list-{tag}-2", "views": 2, "revision": 1},
                                  {"title": f"list-{tag}-1", "views": 1, "revision": 1}])
        r = S.request("GET", f"/article?select=title&title=like.list-{tag}*&order=views.asc&offset=2")
        self.assertEqual(r.json, [{"title": f"list-{tag}-2"}])

    def test_anonymous_reads(self):
        a = create("public")
        r = S.request("GET", f"/article?id=eq.{a['id']}&select=title")
        self.assertEqual((r.status, r.json), (200, [{"title": "public"}]))


class Create(unittest.TestCase):
    def test_post_single_shows_revision_1_and_the_actor(self):
        r = S.request("POST", "/article", {"title": "Hello", "tags": ["a", "b"]},
                      {"Prefer": "return=representation"}, WRITER)
        self.assertEqual(r.status, 201)
        [row] = r.json
        self.assertEqual(row["revision"], 1)
        self.assertEqual((row["created_by"], row["updated_by"]), ("alice", "alice"))
        self.assertEqual((row["status"], row["views"], row["tags"]), ("draft", 0, ["a", "b"]))
        uuid.UUID(row["id"])

    def test_post_bulk(self):
        r = S.request("POST", "/article?columns=title,views&select=title,revision",
                      [{"title": "bulk 1"}, {"title": "bulk 2", "views": 5}],
                      {"Prefer": "return=representation,missing=default"}, WRITER)
        self.assertEqual(r.status, 201)
        self.assertEqual(r.json, [{"title": "bulk 1", "revision": 1}, {"title": "bulk 2", "revision": 1}])

    def test_post_returns_location(self):
        r = S.request("POST", "/article", {"title": "where"}, {"Prefer": "return=headers-only"}, WRITER)
        self.assertEqual(r.status, 201)
        self.assertRegex(r.headers["Location"], r"^/article\?id=eq\.[0-9a-f-]{36}$")

    def test_upsert_on_conflict_and_put(self):
        a = create("upsert me")
        r = S.request("POST", "/article?on_conflict=id&select=title,revision",
                      [{"id": a["id"], "title": "upserted"}],
                      {"Prefer": "return=representation,resolution=merge-duplicates"}, WRITER)
        self.assertEqual((r.status, r.json), (200, [{"title": "upserted", "revision": 2}]))
        r = S.request("PUT", f"/article?id=eq.{a['id']}&select=title,revision",
                      {"id": a["id"], "title": "put"}, {"Prefer": "return=representation"}, WRITER)
        self.assertEqual((r.status, r.json), (200, [{"title": "put", "revision": 3}]))
        new_id = str(uuid.uuid4())
        r = S.request("PUT", f"/article?id=eq.{new_id}&select=title,revision",
                      {"id": new_id, "title": "created by put"}, {"Prefer": "return=representation"}, WRITER)
        self.assertEqual((r.status, r.json), (201, [{"title": "created by put", "revision": 1}]))
        # upsert on another unique column (author.email is x-unique)
        body = {"name": "Ada", "email": f"ada-{uuid.uuid4().hex[:6]}@example.com"}
        r1 = S.request("POST", "/author?on_conflict=email&select=name,revision", body,
                       {"Prefer": "return=representation,resolution=merge-duplicates"}, WRITER)
        r2 = S.request("POST", "/author?on_conflict=email&select=name,revision", dict(body, name="Ada L."),
                       {"Prefer": "return=representation,resolution=merge-duplicates"}, WRITER)
        self.assertEqual((r1.json, r2.json), ([{"name": "Ada", "revision": 1}], [{"name": "Ada L.", "revision": 2}]))


class Update(unittest.TestCase):
    def test_patch_writes_a_revision(self):
        a = create("v1")
        r = S.request("PATCH", f"/article?id=eq.{a['id']}&select=title,revision,updated_by", {"title": "v2"},
                      {"Prefer": "return=representation"}, OTHER_WRITER)
        self.assertEqual((r.status, r.json), (200, [{"title": "v2", "revision": 2, "updated_by": "bob"}]))

    def test_patch_with_the_current_revision(self):
        a = create("v1")
        r = S.request("PATCH", f"/article?id=eq.{a['id']}&select=revision", {"title": "v2", "revision": 1},
                      {"Prefer": "return=representation"}, WRITER)
        self.assertEqual((r.status, r.json), (200, [{"revision": 2}]))

    def test_patch_without_change_writes_nothing(self):
        a = create("same")
        r = S.request("PATCH", f"/article?id=eq.{a['id']}&select=revision", {"title": "same"},
                      {"Prefer": "return=representation"}, WRITER)
        self.assertEqual(r.json, [{"revision": 1}])

    def test_if_match(self):
        a = create("etag")
        path = f"/article?id=eq.{a['id']}&select=title,revision"
        ok = S.request("PATCH", path, {"title": "etag 2"}, {"If-Match": '"1"', "Prefer": "return=representation"}, WRITER)
        self.assertEqual((ok.status, ok.json), (200, [{"title": "etag 2", "revision": 2}]))
        before = state(a["id"])
        for method, body in (("PATCH", {"title": "lost"}), ("PUT", {"id": a["id"], "title": "lost"}), ("DELETE", None)):
            r = S.request(method, path, body, {"If-Match": '"1"'}, WRITER)
            self.assertEqual((r.status, r.json["code"]), (409, "PT409"), method)
            self.assertEqual(json.loads(r.json["details"]),
                             {"id": a["id"], "expected_revision": 1, "current_revision": 2})
        bad = S.request("PATCH", path, {"title": "x"}, {"If-Match": "yesterday"}, WRITER)
        self.assertEqual((bad.status, bad.json["code"]), (400, "22023"))
        self.assertEqual(state(a["id"]), before)
        weak = S.request("PATCH", path, {"title": "etag 3"}, {"If-Match": 'W/"2"', "Prefer": "return=representation"}, WRITER)
        self.assertEqual(weak.json, [{"title": "etag 3", "revision": 3}])
        self.assertEqual(S.request("DELETE", path, None, {"If-Match": '"3"'}, WRITER).status, 204)
        # If-Match on a resource that does not exist
        new_id = str(uuid.uuid4())
        r = S.request("PUT", f"/article?id=eq.{new_id}", {"id": new_id, "title": "t"}, {"If-Match": '"1"'}, WRITER)
        self.assertEqual((r.status, r.json["code"]), (409, "PT409"))
        self.assertEqual(psql(f"SELECT count(*) FROM api.article_revision WHERE id = '{new_id}'"), "0")


class History(unittest.TestCase):
    def test_revision_view_and_embedding(self):
        a = create("h1")
        S.request("PATCH", f"/article?id=eq.{a['id']}", {"title": "h2"}, {"X-Specstar-Message": "second take"}, OTHER_WRITER)
        r = S.request("GET", f"/article_revision?id=eq.{a['id']}&select=revision,op,changed_by,message,data->>title&order=revision.desc")
        self.assertEqual(r.json, [
            {"revision": 2, "op": "update", "changed_by": "bob", "message": "second take", "title": "h2"},
            {"revision": 1, "op": "create", "changed_by": "alice", "message": None, "title": "h1"},
        ])
        r = S.request("GET", f"/article?id=eq.{a['id']}&select=title,revisions(revision,op)")
        self.assertEqual(r.json, [{"title": "h2", "revisions": [{"revision": 1, "op": "create"}, {"revision": 2, "op": "update"}]}])

    def test_history_is_read_only(self):
        a = create("ro")
        body = {"id": a["id"], "revision": 9, "op": "update", "data": {}}
        for method, path, auth in (("POST", "/article_revision", None), ("POST", "/article_revision", WRITER),
                                   ("PATCH", f"/article_revision?id=eq.{a['id']}", WRITER),
                                   ("DELETE", f"/article_revision?id=eq.{a['id']}", WRITER)):
            r = S.request(method, path, None if method == "DELETE" else body, auth=auth)
            self.assertEqual((r.status, r.json["code"]), (405, "42501"), method)
            self.assertEqual(r.headers["Allow"], "GET, HEAD")
        self.assertEqual(psql(f"SELECT count(*) FROM api.article_revision WHERE id = '{a['id']}'"), "1")

    def test_delete_leaves_a_tombstone_and_restore_brings_it_back(self):
        a = create("doomed")
        r = S.request("DELETE", f"/article?id=eq.{a['id']}", auth=WRITER)
        self.assertEqual(r.status, 204)
        self.assertEqual(S.request("GET", f"/article?id=eq.{a['id']}").json, [])
        r = S.request("GET", f"/article_revision?id=eq.{a['id']}&select=revision,op&order=revision.desc&limit=1")
        self.assertEqual(r.json, [{"revision": 2, "op": "delete"}])
        r = S.request("POST", "/rpc/article_restore", {"id": a["id"]}, auth=WRITER)
        self.assertEqual(r.status, 200)
        self.assertEqual((r.json["title"], r.json["revision"]), ("doomed", 3))
        again = S.request("POST", "/rpc/article_restore", {"id": a["id"]}, auth=WRITER)
        self.assertEqual((again.status, again.json["code"]), (409, "PT409"))


class Rpc(unittest.TestCase):
    def test_at_as_of_diff(self):
        a = create("t1", views=1)
        time.sleep(0.01)
        before = psql("SELECT clock_timestamp()")
        S.request("PATCH", f"/article?id=eq.{a['id']}", {"title": "t2", "views": 2}, auth=WRITER)
        r = S.request("GET", f"/rpc/article_at?id={a['id']}&revision=1&select=title,revision")
        self.assertEqual((r.status, r.json), (200, [{"title": "t1", "revision": 1}]))
        r = S.request("GET", f"/rpc/article_at?id={a['id']}&at={q(before)}&select=title")
        self.assertEqual(r.json, [{"title": "t1"}])
        r = S.request("GET", f"/rpc/article_at?id={a['id']}&select=title,revision")
        self.assertEqual(r.json, [{"title": "t2", "revision": 2}])
        # (PostgREST 12 filters an RPC's result after `select`: select the filtered columns)
        r = S.request("GET", f"/rpc/article_as_of?at={q(before)}&id=eq.{a['id']}&select=id,title,views")
        self.assertEqual((r.status, r.json), (200, [{"id": a["id"], "title": "t1", "views": 1}]))
        r = S.request("GET", f"/rpc/article_as_of?at={q(before)}&views=gt.100&id=eq.{a['id']}")
        self.assertEqual(r.json, [])
        r = S.request("GET", f"/rpc/article_diff?id={a['id']}&from_revision=1")
        self.assertEqual(r.status, 200)
        self.assertEqual(sorted(r.json, key=lambda op: op["path"]),
                         [{"op": "replace", "path": "/title", "value": "t2"}, {"op": "replace", "path": "/views", "value": 2}])

    def test_rollback_and_patch(self):
        a = create("r1")
        S.request("PATCH", f"/article?id=eq.{a['id']}", {"title": "r2"}, auth=WRITER)
        r = S.request("POST", "/rpc/article_rollback", {"id": a["id"], "to_revision": 1, "expected_revision": 2},
                      {"X-Specstar-Message": "undo"}, WRITER)
        self.assertEqual((r.status, r.json["title"], r.json["revision"]), (200, "r1", 3))
        h = S.request("GET", f"/article_revision?id=eq.{a['id']}&revision=eq.3&select=op,message,parent_revision").json
        self.assertEqual(h, [{"op": "rollback", "message": "undo", "parent_revision": 2}])
        patch = [{"op": "test", "path": "/title", "value": "r1"}, {"op": "replace", "path": "/title", "value": "r3"}]
        r = S.request("POST", "/rpc/article_patch", {"id": a["id"], "patch": patch}, auth=WRITER)
        self.assertEqual((r.status, r.json["title"], r.json["revision"]), (200, "r3", 4))
        before = state(a["id"])
        r = S.request("POST", "/rpc/article_patch", {"id": a["id"], "patch": patch}, auth=WRITER)
        self.assertEqual((r.status, r.json["code"]), (409, "PT409"))
        self.assertEqual(state(a["id"]), before)

    def test_writing_rpcs_refuse_get(self):
        a = create("x")
        S.request("DELETE", f"/article?id=eq.{a['id']}", auth=WRITER)
        # GET runs read-only: the restore cannot write (25006 -> 405) and nothing changes
        r = S.request("GET", f"/rpc/article_restore?id={a['id']}", auth=WRITER)
        self.assertEqual((r.status, r.json["code"]), (405, "25006"))
        self.assertEqual(S.request("GET", f"/article?id=eq.{a['id']}").json, [])


class Errors(unittest.TestCase):
    """DESIGN §7, one row at a time; the data is unchanged after each."""

    def test_422_document_fails_the_spec(self):
        a = create("valid")
        before = state(a["id"])
        r = S.request("PATCH", f"/article?id=eq.{a['id']}", {"title": "", "views": -1}, auth=WRITER)
        self.assertEqual((r.status, r.json["code"]), (422, "PT422"))
        self.assertEqual(r.json["message"], 'article document is invalid at /title: "" is shorter than 1 character')
        self.assertEqual([(e["path"], e["keyword"]) for e in json.loads(r.json["details"])],
                         [("/title", "minLength"), ("/views", "minimum")])
        self.assertIn("/title", r.json["hint"])
        self.assertEqual(state(a["id"]), before)
        r = S.request("POST", "/article", {"title": "x", "status": "lost"}, auth=WRITER)
        self.assertEqual((r.status, json.loads(r.json["details"])[0]["path"]), (422, "/status"))
        r = S.request("POST", "/article", [{"title": "ok"}, {"title": "x" * 201}], auth=WRITER)
        self.assertEqual(r.status, 422)
        self.assertEqual(psql("SELECT count(*) FROM api.article WHERE title = 'ok'"), "0")

    def test_409_stale_revision(self):
        a = create("stale")
        S.request("PATCH", f"/article?id=eq.{a['id']}", {"title": "fresh"}, auth=WRITER)
        before = state(a["id"])
        r = S.request("PATCH", f"/article?id=eq.{a['id']}", {"title": "lost", "revision": 1}, auth=OTHER_WRITER)
        self.assertEqual((r.status, r.json["code"]), (409, "PT409"))
        self.assertEqual(r.json["message"], f"article {a['id']}: revision 1 is stale, the current revision is 2")
        self.assertEqual(state(a["id"]), before)

    def test_409_unique_clash(self):
        email = f"dup-{uuid.uuid4().hex[:6]}@example.com"
        r = S.request("POST", "/author", {"name": "One", "email": email}, auth=WRITER)
        self.assertEqual(r.status, 201)
        r = S.request("POST", "/author", {"name": "Two", "email": email}, auth=WRITER)
        self.assertEqual((r.status, r.json["code"]), (409, "23505"))
        self.assertEqual(psql(f"SELECT string_agg(name, ',') FROM api.author WHERE email = '{email}'"), "One")

    def test_409_foreign_key(self):
        r = S.request("POST", "/article", {"title": "orphan", "author": str(uuid.uuid4())}, auth=WRITER)
        self.assertEqual((r.status, r.json["code"]), (409, "23503"))

    def test_404_unknown_id_or_revision(self):
        a = create("known")
        unknown = str(uuid.uuid4())
        for method, path, body in (
            ("GET", f"/rpc/article_at?id={unknown}", None),
            ("GET", f"/rpc/article_at?id={a['id']}&revision=99", None),
            ("GET", f"/rpc/article_diff?id={unknown}&from_revision=1", None),
            ("POST", "/rpc/article_rollback", {"id": unknown, "to_revision": 1}),
            ("POST", "/rpc/article_restore", {"id": unknown}),
            ("POST", "/rpc/article_patch", {"id": unknown, "patch": []}),
        ):
            r = S.request(method, path, body, auth=WRITER)
            self.assertEqual((r.status, r.json["code"]), (404, "PT404"), path)
        self.assertEqual(psql(f"SELECT count(*) FROM api.article_revision WHERE id = '{unknown}'"), "0")

    def test_400_malformed_arguments(self):
        a = create("args")
        before = state(a["id"])
        for method, path, body, code in (
            ("GET", "/rpc/article_at?id=not-a-uuid", None, "22P02"),
            ("GET", f"/rpc/article_at?id={a['id']}&at=yesterday-ish", None, "22007"),
            ("GET", f"/rpc/article_at?id={a['id']}&revision=1&at=2024-01-01", None, "22023"),
            ("GET", f"/rpc/article_diff?id={a['id']}&from_revision=", None, "22P02"),
            ("POST", "/rpc/article_patch", {"id": a["id"], "patch": {"op": "remove"}}, "22023"),
            ("POST", "/rpc/article_rollback", {"id": a["id"], "to_revision": None}, "22023"),
            ("POST", "/article", {"title": "t", "views": "many"}, "22P02"),
            ("PATCH", f"/article?id=eq.{a['id']}", {"id": str(uuid.uuid4())}, "22023"),
        ):
            r = S.request(method, path, body, auth=WRITER)
            self.assertEqual((r.status, r.json["code"]), (400, code), path)
        self.assertEqual(state(a["id"]), before)
        # a missing required argument: PostgREST finds no such function
        r = S.request("GET", f"/rpc/article_diff?id={a['id']}")
        self.assertEqual((r.status, r.json["code"]), (404, "PGRST202"))

    def test_401_anonymous_write(self):
        a = create("anon")
        before = state(a["id"])
        for method, path, body in (
            ("POST", "/article", {"title": "anon"}),
            ("PATCH", f"/article?id=eq.{a['id']}", {"title": "anon"}),
            ("DELETE", f"/article?id=eq.{a['id']}", None),
            ("POST", "/rpc/article_rollback", {"id": a["id"], "to_revision": 1}),
        ):
            r = S.request(method, path, body)
            self.assertEqual((r.status, r.json["code"]), (401, "42501"), path)
        self.assertEqual(state(a["id"]), before)

    def test_403_role_without_grant(self):
        a = create("guarded")
        before = state(a["id"])
        for method, path, body in (
            ("GET", "/article", None),
            ("POST", "/article", {"title": "guest"}),
            ("PATCH", f"/article?id=eq.{a['id']}", {"title": "guest"}),
        ):
            r = S.request(method, path, body, auth=GUEST)
            self.assertEqual((r.status, r.json["code"]), (403, "42501"), path)
        self.assertEqual(state(a["id"]), before)


class Readme(unittest.TestCase):
    """The README's HTTP tour, run as printed (with this suite's address and JWT secret)
    and compared with tests/readme/expected/rest.out."""

    def test_rest_tour(self):
        run_readme_tour(self, S, "API", "rest.out")


class SchemaReload(unittest.TestCase):
    def test_register_spec_while_postgrest_runs(self):
        schema = '{"type": "object", "properties": {"body": {"type": "string"}}}'
        psql(f"BEGIN; SELECT specstar.register_spec('ghostnote', '{schema}'); ROLLBACK;")
        psql(f"SELECT specstar.register_spec('memo', '{schema}')")
        # PostgREST reloads its schema cache on the NOTIFY; the new resource then shows in OpenAPI
        deadline = time.time() + 10
        while "/memo" not in S.request("GET", "/").json["paths"] and time.time() < deadline:
            time.sleep(0.1)
        self.assertIn("/memo", S.request("GET", "/").json["paths"])
        self.assertEqual(S.request("GET", "/memo").json, [])
        r = S.request("POST", "/memo?select=body,revision", {"body": "hi"}, {"Prefer": "return=representation"}, WRITER)
        self.assertEqual((r.status, r.json), (201, [{"body": "hi", "revision": 1}]), r.raw)
        # the rolled-back registration left nothing behind
        self.assertEqual(S.request("GET", "/ghostnote").status, 404)


if __name__ == "__main__":
    unittest.main(verbosity=2)
