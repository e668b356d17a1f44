"""Black-box HTTP tests of drafts (`<spec>_draft`, `_publish`, `_discard`) and of spec evolution
seen through the real PostgREST 12 binary, with exact statuses and bodies, and the data (live
row, history, draft) checked unchanged after each refused write.

Run by scripts/test.sh (suite "http") as its own process, with its own PostgREST."""
import json
import time
import unittest
import uuid

from support import Server, psql, token

S = Server()
WRITER = token("web_writer", "alice")
OTHER_WRITER = token("web_writer", "bob")
GUEST = token("web_guest", "mallory")  # a role PostgREST knows, without grants on the specs
OBJECT = {"Prefer": "return=representation", "Accept": "application/vnd.pgrst.object+json"}
OPENAPI = {"Accept": "application/openapi+json"}


def setUpModule():
    S.start()


def tearDownModule():
    S.stop()


def new_id():
    return str(uuid.uuid4())


def create(title="Live", auth=WRITER, **fields):
    r = S.request("POST", "/article", dict(title=title, **fields), OBJECT, auth)
    assert r.status == 201, r
    return r.json


def save_draft(body, auth=WRITER, spec="article"):
    r = S.request("POST", f"/{spec}_draft", body, OBJECT, auth)
    assert r.status == 201, r
    return r.json


def draft_of(id_, spec="article"):
    return psql(f"SELECT row_to_json(d) FROM api.{spec}_draft d WHERE id = '{id_}'")


def state(id_):
    """What must not change when a write is refused: the live row, its history and its draft."""
    live = psql(f"SELECT row_to_json(a) FROM api.article a WHERE id = '{id_}'")
    history = psql(f"SELECT count(*) || ':' || coalesce(max(revision), 0) FROM api.article_revision WHERE id = '{id_}'")
    return live, history, draft_of(id_)


def all_revisions():
    return psql("SELECT count(*) FROM api.article_revision")


def error(r):
    return r.status, r.json["code"]


class ZzInvariants(unittest.TestCase):
    """(Runs last.) No response of the whole module is a 5xx or carries a Rust backtrace."""

    def test_no_server_errors_and_no_backtraces(self):
        S.check_responses(self)


class OpenAPI(unittest.TestCase):
    def test_writers_see_drafts_and_their_rpcs(self):
        r = S.request("GET", "/", headers=OPENAPI, auth=WRITER)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("application/openapi+json"))
        doc = r.json
        self.assertEqual(sorted(doc["paths"]["/article_draft"]), ["delete", "get", "patch", "post"])
        self.assertIn("post", doc["paths"]["/rpc/article_publish"])
        self.assertIn("post", doc["paths"]["/rpc/article_discard"])
        args = doc["paths"]["/rpc/article_publish"]["post"]["parameters"][0]["schema"]
        self.assertEqual((sorted(args["properties"]), args["required"]), (["force", "id"], ["id"]))
        self.assertEqual(doc["paths"]["/rpc/article_publish"]["post"]["summary"],
                         "Publishes the draft of a resource as one revision and removes the draft.")
        draft = doc["definitions"]["article_draft"]
        self.assertEqual(list(draft["properties"]),
                         ["id", "author", "body", "published_at", "status", "tags", "title", "views",
                          "base_revision", "updated_at", "updated_by"])
        self.assertEqual(draft["properties"]["base_revision"]["description"],
                         "The live revision this draft started from (none for a new resource).")
        self.assertEqual(draft["properties"]["title"]["description"], "Headline")

    def test_anonymous_readers_do_not_see_drafts(self):
        doc = S.request("GET", "/", headers=OPENAPI).json
        self.assertEqual({p for p in doc["paths"] if p.startswith("/article") or p.startswith("/rpc/article")},
                         {"/article", "/article_revision", "/rpc/article_at", "/rpc/article_as_of", "/rpc/article_diff",
                          "/rpc/article_search", "/rpc/article_changes"})
        self.assertNotIn("article_draft", doc["definitions"])


class DraftSave(unittest.TestCase):
    def test_draft_of_a_new_resource_needs_no_required_property_and_stays_unpublished(self):
        id_, revisions = new_id(), all_revisions()
        d = save_draft({"id": id_, "body": "no title yet"})
        self.assertEqual((d["id"], d["title"], d["body"], d["base_revision"], d["updated_by"]),
                         (id_, None, "no title yet", None, "alice"))
        self.assertEqual(all_revisions(), revisions)
        # invisible to readers of the resource and its history
        for auth in (None, WRITER):
            self.assertEqual(S.request("GET", f"/article?id=eq.{id_}", auth=auth).json, [])
            self.assertEqual(S.request("GET", f"/article_revision?id=eq.{id_}", auth=auth).json, [])
        r = S.request("GET", f"/rpc/article_at?id={id_}")
        self.assertEqual(error(r), (404, "PT404"))
        self.assertEqual(r.json["message"], f"article {id_} not found")
        # the writer reads it back
        r = S.request("GET", f"/article_draft?id=eq.{id_}&select=title,body,base_revision", auth=WRITER)
        self.assertEqual((r.status, r.json), (200, [{"title": None, "body": "no title yet", "base_revision": None}]))

    def test_draft_without_id_gets_one(self):
        d = save_draft({"title": "anonymous id"})
        uuid.UUID(d["id"])
        self.assertEqual((d["title"], d["base_revision"]), ("anonymous id", None))

    def test_new_draft_of_an_existing_resource_copies_what_is_left_out(self):
        author = S.request("POST", "/author", {"name": "Ada"}, OBJECT, WRITER).json
        a = create("Live", body="Text", tags=["x", "y"], author=author["id"], published_at="2024-01-02T03:04:05+00:00")
        revisions = all_revisions()
        d = save_draft({"id": a["id"], "title": "Edited"}, auth=OTHER_WRITER)
        self.assertEqual(
            {k: d[k] for k in ("id", "title", "body", "tags", "author", "published_at", "status", "views",
                               "base_revision", "updated_by")},
            {"id": a["id"], "title": "Edited", "body": "Text", "tags": ["x", "y"], "author": author["id"],
             "published_at": "2024-01-02T03:04:05+00:00", "status": "draft", "views": 0, "base_revision": 1,
             "updated_by": "bob"})
        self.assertEqual(all_revisions(), revisions)
        live = S.request("GET", f"/article?id=eq.{a['id']}&select=title,revision,updated_by").json
        self.assertEqual(live, [{"title": "Live", "revision": 1, "updated_by": "alice"}])

    def test_new_draft_of_an_existing_resource_copies_properties_that_have_a_default(self):
        # A new draft of an existing resource copies every property the request leaves out from
        # the live revision, those with a spec `default` (views, status) included; a draft of a
        # new resource gets the defaults.
        a = create("Live", views=3, status="review")
        d = save_draft({"id": a["id"], "title": "Edited"})
        self.assertEqual((d["title"], d["base_revision"], d["views"], d["status"]), ("Edited", 1, 3, "review"))
        d = save_draft({"id": str(uuid.uuid4()), "title": "New"})
        self.assertEqual((d["title"], d["base_revision"], d["views"], d["status"]), ("New", None, 0, "draft"))

    def test_saving_again_writes_no_revision(self):
        a = create("Live", body="Text")
        revisions, live = all_revisions(), state(a["id"])[:2]
        save_draft({"id": a["id"], "title": "Draft 1"})
        r = S.request("PATCH", f"/article_draft?id=eq.{a['id']}&select=title,views,base_revision,updated_by",
                      {"views": 7, "base_revision": 42}, {"Prefer": "return=representation", "X-Specstar-Message": "wip"},
                      OTHER_WRITER)
        # base_revision is specstar's: what the client sends is ignored
        self.assertEqual((r.status, r.json), (200, [{"title": "Draft 1", "views": 7, "base_revision": 1, "updated_by": "bob"}]))
        r = S.request("PUT", f"/article_draft?id=eq.{a['id']}&select=title,body,views,base_revision",
                      {"id": a["id"], "title": "Draft 2"}, {"Prefer": "return=representation"}, WRITER)
        self.assertEqual((r.status, r.json), (200, [{"title": "Draft 2", "body": "Text", "views": 7, "base_revision": 1}]))
        r = S.request("POST", f"/article_draft?on_conflict=id&select=title,views,base_revision", {"id": a["id"], "views": 8},
                      {"Prefer": "return=representation,resolution=merge-duplicates"}, WRITER)
        self.assertEqual((r.status, r.json), (200, [{"title": "Draft 2", "views": 8, "base_revision": 1}]))
        self.assertEqual(all_revisions(), revisions)
        self.assertEqual(state(a["id"])[:2], live)

    def test_put_creates_a_draft(self):
        id_ = new_id()
        r = S.request("PUT", f"/article_draft?id=eq.{id_}&select=id,title,base_revision", {"id": id_, "title": "by put"},
                      {"Prefer": "return=representation"}, WRITER)
        self.assertEqual((r.status, r.json), (201, [{"id": id_, "title": "by put", "base_revision": None}]))

    def test_422_a_value_that_fails_the_spec(self):
        a = create("Live")
        save_draft({"id": a["id"], "title": "Draft"})
        before, revisions = state(a["id"]), all_revisions()
        r = S.request("PATCH", f"/article_draft?id=eq.{a['id']}", {"title": "", "views": -5}, auth=WRITER)
        self.assertEqual(error(r), (422, "PT422"))
        self.assertEqual(r.json["message"], f'article draft {a["id"]} is invalid at /title: "" is shorter than 1 character')
        self.assertEqual([(e["path"], e["keyword"]) for e in json.loads(r.json["details"])],
                         [("/title", "minLength"), ("/views", "minimum")])
        self.assertTrue(r.json["hint"].startswith('Fix the value at /title (JSON Schema keyword "minLength")'), r.json["hint"])
        for body, path, keyword in (({"status": "lost"}, "/status", "enum"), ({"tags": ["a", "a"]}, "/tags", "uniqueItems"),
                                    ({"title": "x" * 201}, "/title", "maxLength")):
            r = S.request("PATCH", f"/article_draft?id=eq.{a['id']}", body, auth=WRITER)
            self.assertEqual(error(r), (422, "PT422"), body)
            self.assertIn(f"article draft {a['id']} is invalid at {path}: ", r.json["message"])
            self.assertEqual([(e["path"], e["keyword"]) for e in json.loads(r.json["details"])], [(path, keyword)])
        self.assertEqual(state(a["id"]), before)
        # a new draft is checked the same way, and nothing is saved
        id_ = new_id()
        r = S.request("POST", "/article_draft", {"id": id_, "status": "lost"}, auth=WRITER)
        self.assertEqual(error(r), (422, "PT422"))
        self.assertEqual(r.json["message"], f'article draft {id_} is invalid at /status: "lost" is not one of "draft", "review" or "published"')
        self.assertEqual(draft_of(id_), "")
        # a format (author.email is "format": "email")
        r = S.request("POST", "/author_draft", {"id": id_, "email": "not-an-email"}, auth=WRITER)
        self.assertEqual(error(r), (422, "PT422"))
        self.assertEqual(r.json["message"], f'author draft {id_} is invalid at /email: "not-an-email" is not a "email"')
        self.assertEqual(draft_of(id_, "author"), "")
        # a bulk save is all or nothing
        ok, bad = new_id(), new_id()
        r = S.request("POST", "/article_draft?columns=id,title,views", [{"id": ok, "title": "ok"}, {"id": bad, "views": -1}],
                      {"Prefer": "missing=default"}, WRITER)
        self.assertEqual(error(r), (422, "PT422"))
        self.assertEqual(r.json["message"], f"article draft {bad} is invalid at /views: -1 is less than the minimum of 0")
        self.assertEqual((draft_of(ok), draft_of(bad)), ("", ""))
        self.assertEqual(all_revisions(), revisions)

    def test_400_a_value_the_column_cannot_hold(self):
        a = create("Live")
        save_draft({"id": a["id"], "title": "Draft"})
        before = state(a["id"])
        for body, code in (({"views": "many"}, "22P02"), ({"published_at": "yesterday-ish"}, "22007")):
            r = S.request("PATCH", f"/article_draft?id=eq.{a['id']}", body, auth=WRITER)
            self.assertEqual(error(r), (400, code), body)
        # the id of a draft is fixed
        r = S.request("PATCH", f"/article_draft?id=eq.{a['id']}", {"id": new_id()}, auth=WRITER)
        self.assertEqual(error(r), (400, "22023"))
        self.assertEqual(r.json["message"], f"article draft {a['id']}: id cannot change")
        self.assertEqual(state(a["id"]), before)

    def test_409_one_draft_per_id(self):
        a = create("Live")
        save_draft({"id": a["id"], "title": "First draft"})
        before = state(a["id"])
        r = S.request("POST", "/article_draft", {"id": a["id"], "title": "Second draft"}, auth=OTHER_WRITER)
        self.assertEqual(error(r), (409, "23505"))
        self.assertEqual(r.json["message"], 'duplicate key value violates unique constraint "article_draft_pkey"')
        self.assertEqual(state(a["id"]), before)

    def test_delete_a_draft(self):
        a = create("Live")
        save_draft({"id": a["id"], "title": "Draft"})
        live, revisions = state(a["id"])[:2], all_revisions()
        r = S.request("DELETE", f"/article_draft?id=eq.{a['id']}", auth=WRITER)
        self.assertEqual((r.status, r.raw), (204, ""))
        self.assertEqual(state(a["id"]), live + ("",))
        self.assertEqual(all_revisions(), revisions)


class Publish(unittest.TestCase):
    def test_publish_a_new_resource(self):
        id_ = new_id()
        save_draft({"id": id_, "title": "Fresh", "body": "Text"})
        r = S.request("POST", "/rpc/article_publish", {"id": id_}, {"X-Specstar-Message": "first cut"}, WRITER)
        self.assertEqual(r.status, 200)
        self.assertEqual({k: r.json[k] for k in ("id", "title", "body", "status", "views", "revision", "created_by", "updated_by")},
                         {"id": id_, "title": "Fresh", "body": "Text", "status": "draft", "views": 0, "revision": 1,
                          "created_by": "alice", "updated_by": "alice"})
        h = S.request("GET", f"/article_revision?id=eq.{id_}&select=revision,parent_revision,op,message,changed_by,data")
        self.assertEqual(h.json, [{"revision": 1, "parent_revision": None, "op": "publish", "message": "first cut",
                                   "changed_by": "alice", "data": {"title": "Fresh", "body": "Text", "status": "draft", "views": 0}}])
        self.assertEqual(S.request("GET", f"/article?id=eq.{id_}&select=title,revision").json, [{"title": "Fresh", "revision": 1}])
        self.assertEqual(S.request("GET", f"/article_draft?id=eq.{id_}", auth=WRITER).json, [])

    def test_publish_a_draft_of_an_existing_resource(self):
        a = create("Live", body="Text")
        save_draft({"id": a["id"], "title": "Edited"})
        r = S.request("POST", "/rpc/article_publish", {"id": a["id"]}, auth=OTHER_WRITER)
        self.assertEqual(r.status, 200)
        self.assertEqual((r.json["title"], r.json["body"], r.json["revision"], r.json["created_by"], r.json["updated_by"]),
                         ("Edited", "Text", 2, "alice", "bob"))
        h = S.request("GET", f"/article_revision?id=eq.{a['id']}&select=revision,parent_revision,op,message&order=revision")
        self.assertEqual(h.json, [{"revision": 1, "parent_revision": None, "op": "create", "message": None},
                                  {"revision": 2, "parent_revision": 1, "op": "publish", "message": None}])
        self.assertEqual(draft_of(a["id"]), "")

    def test_404_no_draft(self):
        a = create("Live")
        before_known, revisions = state(a["id"]), all_revisions()
        for id_ in (a["id"], new_id()):
            r = S.request("POST", "/rpc/article_publish", {"id": id_}, auth=WRITER)
            self.assertEqual(error(r), (404, "PT404"))
            self.assertEqual(r.json["message"], f"article {id_} has no draft")
            self.assertEqual(r.json["hint"], "Save one first (INSERT INTO article_draft, or POST /article_draft).")
            r = S.request("POST", "/rpc/article_discard", {"id": id_}, auth=WRITER)
            self.assertEqual(error(r), (404, "PT404"))
            self.assertEqual((r.json["message"], r.json["hint"]), (f"article {id_} has no draft", "Nothing to discard."))
        self.assertEqual(state(a["id"]), before_known)
        self.assertEqual(all_revisions(), revisions)

    def test_409_the_resource_moved_on_then_force(self):
        a = create("Live")
        save_draft({"id": a["id"], "title": "Stale draft"})
        S.request("PATCH", f"/article?id=eq.{a['id']}", {"body": "newer"}, auth=OTHER_WRITER)
        before = state(a["id"])
        r = S.request("POST", "/rpc/article_publish", {"id": a["id"]}, auth=WRITER)
        self.assertEqual(error(r), (409, "PT409"))
        self.assertEqual(r.json["message"], f"article {a['id']}: the draft started from revision 1, but the resource is now at revision 2")
        self.assertEqual(json.loads(r.json["details"]), {"id": a["id"], "base_revision": 1, "current_revision": 2})
        self.assertIn("force", r.json["hint"])
        r = S.request("POST", "/rpc/article_publish", {"id": a["id"], "force": False}, auth=WRITER)
        self.assertEqual(error(r), (409, "PT409"))
        self.assertEqual(state(a["id"]), before)
        r = S.request("POST", "/rpc/article_publish", {"id": a["id"], "force": True}, auth=WRITER)
        self.assertEqual(r.status, 200)
        # the draft was copied from revision 1: force overwrites revision 2's body
        self.assertEqual((r.json["title"], r.json["body"], r.json["revision"]), ("Stale draft", None, 3))
        h = S.request("GET", f"/article_revision?id=eq.{a['id']}&revision=eq.3&select=op,parent_revision").json
        self.assertEqual(h, [{"op": "publish", "parent_revision": 2}])
        self.assertEqual(draft_of(a["id"]), "")

    def test_409_the_resource_was_deleted_then_force(self):
        a = create("Live")
        save_draft({"id": a["id"], "title": "Kept draft"})
        self.assertEqual(S.request("DELETE", f"/article?id=eq.{a['id']}", auth=WRITER).status, 204)
        before = state(a["id"])
        self.assertEqual(before[0], "")
        self.assertNotEqual(before[2], "")  # deleting a resource keeps its draft
        r = S.request("POST", "/rpc/article_publish", {"id": a["id"]}, auth=WRITER)
        self.assertEqual(error(r), (409, "PT409"))
        self.assertEqual(r.json["message"], f"article {a['id']}: the draft started from revision 1, but the resource is now deleted")
        self.assertEqual(state(a["id"]), before)
        r = S.request("POST", "/rpc/article_publish", {"id": a["id"], "force": True}, auth=WRITER)
        self.assertEqual((r.status, r.json["title"], r.json["revision"]), (200, "Kept draft", 3))

    def test_422_a_required_property_is_missing(self):
        id_ = new_id()
        save_draft({"id": id_, "body": "no title"})
        before, revisions = state(id_), all_revisions()
        r = S.request("POST", "/rpc/article_publish", {"id": id_}, auth=WRITER)
        self.assertEqual(error(r), (422, "PT422"))
        self.assertEqual(r.json["message"], 'article document is invalid at /title: "title" is a required property')
        self.assertEqual([(e["path"], e["keyword"]) for e in json.loads(r.json["details"])], [("/title", "required")])
        self.assertEqual(state(id_), before)
        self.assertEqual(all_revisions(), revisions)
        self.assertEqual(S.request("GET", f"/article?id=eq.{id_}").json, [])
        # completing the draft makes it publishable
        S.request("PATCH", f"/article_draft?id=eq.{id_}", {"title": "now titled"}, auth=WRITER)
        r = S.request("POST", "/rpc/article_publish", {"id": id_}, auth=WRITER)
        self.assertEqual((r.status, r.json["title"], r.json["revision"]), (200, "now titled", 1))

    def test_409_a_reference_to_nothing(self):
        # drafts do not check x-ref; publishing does
        id_ = new_id()
        save_draft({"id": id_, "title": "orphan", "author": new_id()})
        before = state(id_)
        r = S.request("POST", "/rpc/article_publish", {"id": id_}, auth=WRITER)
        self.assertEqual(error(r), (409, "23503"))
        self.assertEqual(state(id_), before)

    def test_409_if_match(self):
        a = create("Live")
        save_draft({"id": a["id"], "title": "Draft"})
        before = state(a["id"])
        r = S.request("POST", "/rpc/article_publish", {"id": a["id"]}, {"If-Match": '"7"'}, WRITER)
        self.assertEqual(error(r), (409, "PT409"))
        self.assertEqual(json.loads(r.json["details"]), {"id": a["id"], "expected_revision": 7, "current_revision": 1})
        self.assertEqual(state(a["id"]), before)
        r = S.request("POST", "/rpc/article_publish", {"id": a["id"]}, {"If-Match": '"1"'}, WRITER)
        self.assertEqual((r.status, r.json["revision"]), (200, 2))

    def test_400_and_405_malformed_calls(self):
        a = create("Live")
        save_draft({"id": a["id"], "title": "Draft"})
        before = state(a["id"])
        r = S.request("POST", "/rpc/article_publish", {"id": "not-a-uuid"}, auth=WRITER)
        self.assertEqual(error(r), (400, "22P02"))
        r = S.request("POST", "/rpc/article_publish", {}, auth=WRITER)
        self.assertEqual(error(r), (404, "PGRST202"))
        # GET runs read-only: nothing is published
        r = S.request("GET", f"/rpc/article_publish?id={a['id']}", auth=WRITER)
        self.assertEqual(error(r), (405, "25006"))
        r = S.request("GET", f"/rpc/article_discard?id={a['id']}", auth=WRITER)
        self.assertEqual(error(r), (405, "25006"))
        self.assertEqual(state(a["id"]), before)

    def test_discard(self):
        a = create("Live")
        save_draft({"id": a["id"], "title": "Never mind"})
        live, revisions = state(a["id"])[:2], all_revisions()
        r = S.request("POST", "/rpc/article_discard", {"id": a["id"]}, auth=WRITER)
        self.assertEqual((r.status, r.raw), (204, ""))
        self.assertEqual(state(a["id"]), live + ("",))
        self.assertEqual(all_revisions(), revisions)
        r = S.request("POST", "/rpc/article_discard", {"id": a["id"]}, auth=WRITER)
        self.assertEqual(error(r), (404, "PT404"))


class Access(unittest.TestCase):
    """Drafts are unpublished work: web_writer only."""

    def setUp(self):
        self.a = create("Live")
        save_draft({"id": self.a["id"], "title": "Secret draft"})
        self.new = new_id()
        save_draft({"id": self.new, "title": "Secret new"})

    def refused(self, auth):
        a = self.a["id"]
        return (
            ("GET", "/article_draft", None),
            ("GET", f"/article_draft?id=eq.{a}", None),
            ("POST", "/article_draft", {"id": new_id(), "title": "sneaky"}),
            ("PATCH", f"/article_draft?id=eq.{a}", {"title": "sneaky"}),
            ("PUT", f"/article_draft?id=eq.{a}", {"id": a, "title": "sneaky"}),
            ("DELETE", f"/article_draft?id=eq.{a}", None),
            ("POST", "/rpc/article_publish", {"id": a}),
            ("POST", "/rpc/article_publish", {"id": a, "force": True}),
            ("POST", "/rpc/article_discard", {"id": a}),
        )

    def check(self, auth, status, view_message, schema_message=None):
        before = (state(self.a["id"]), state(self.new), psql("SELECT count(*) FROM api.article_draft"))
        for method, path, body in self.refused(auth):
            r = S.request(method, path, body, auth=auth)
            self.assertEqual(error(r), (status, "42501"), f"{method} {path}")
            if schema_message:
                self.assertEqual(r.json["message"], schema_message, f"{method} {path}")
            elif path.startswith("/rpc/"):
                self.assertEqual(r.json["message"], f"permission denied for function {path[5:]}")
            else:
                self.assertEqual(r.json["message"], view_message, f"{method} {path}")
            self.assertNotIn("Secret", r.raw)
        r = S.request("HEAD", "/article_draft", auth=auth)
        self.assertEqual(r.status, status)
        self.assertEqual(before, (state(self.a["id"]), state(self.new), psql("SELECT count(*) FROM api.article_draft")))

    def test_401_anonymous(self):
        self.check(None, 401, "permission denied for view article_draft")

    def test_403_role_without_grant(self):
        self.check(GUEST, 403, None, "permission denied for schema api")

    def test_anonymous_readers_see_no_draft(self):
        r = S.request("GET", f"/article?id=in.({self.a['id']},{self.new})&select=id,title")
        self.assertEqual((r.status, r.json), (200, [{"id": self.a["id"], "title": "Live"}]))
        r = S.request("GET", f"/article_revision?id=in.({self.a['id']},{self.new})&select=revision,data->>title")
        self.assertEqual(r.json, [{"revision": 1, "title": "Live"}])
        r = S.request("GET", f"/rpc/article_at?id={self.new}")
        self.assertEqual(error(r), (404, "PT404"))
        # no way to embed drafts
        r = S.request("GET", "/article?select=id,article_draft(*)")
        self.assertEqual(error(r), (400, "PGRST200"))
        self.assertNotIn("Secret", json.dumps(S.request("GET", "/article?select=*&limit=1000").json))


class Evolution(unittest.TestCase):
    """A spec registered and evolved from psql while PostgREST runs (`memo`: this module's own
    spec; `article` and `author` are left alone)."""

    V1 = {"type": "object", "properties": {"text": {"type": "string"}, "minutes": {"type": "integer"}}, "required": ["text"]}
    V2 = {"type": "object", "properties": {"note": {"type": "string"}, "hours": {"type": "number", "minimum": 0}},
          "required": ["note"]}

    @staticmethod
    def served_properties():
        doc = S.request("GET", "/", headers=OPENAPI, auth=WRITER).json
        return set(doc["definitions"].get("memo", {}).get("properties", {}))

    def wait_for(self, prop, gone):
        deadline = time.time() + 10
        while not (prop in self.served_properties() and gone not in self.served_properties()) and time.time() < deadline:
            time.sleep(0.1)
        props = self.served_properties()
        self.assertIn(prop, props)
        self.assertNotIn(gone, props)

    def test_migrate_over_http(self):
        psql(f"SELECT specstar.register_spec('memo', '{json.dumps(self.V1)}')")
        self.wait_for("text", "note")
        m = new_id()
        r = S.request("POST", "/memo?select=text,minutes,revision", {"id": m, "text": "hello", "minutes": 90},
                      {"Prefer": "return=representation"}, WRITER)
        self.assertEqual((r.status, r.json), (201, [{"text": "hello", "minutes": 90, "revision": 1}]))
        r = S.request("PATCH", f"/memo?id=eq.{m}", {"text": "hello again"}, auth=WRITER)
        self.assertEqual(r.status, 204)
        r = S.request("POST", "/memo_draft?select=text,minutes,base_revision", {"id": m, "minutes": 30},
                      {"Prefer": "return=representation"}, WRITER)
        self.assertEqual((r.status, r.json), (201, [{"text": "hello again", "minutes": 30, "base_revision": 2}]))

        # version 2: text becomes note, minutes become hours (a number)
        psql("""CREATE FUNCTION public.memo_v2(doc jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
                  SELECT (doc - 'text' - 'minutes') || jsonb_build_object('note', doc ->> 'text')
                         || CASE WHEN doc ? 'minutes'
                                 THEN jsonb_build_object('hours', round((doc ->> 'minutes')::numeric / 60, 2))
                                 ELSE '{}' END
                $$""")
        out = psql(f"""SET specstar.message = 'text becomes note';
                       SELECT specstar.register_spec('memo', '{json.dumps(self.V2)}',
                                                     '{{"version": "2", "migrate": "memo_v2"}}') ->> 'version'""")
        self.assertEqual(out, "2")
        self.wait_for("note", "text")

        r = S.request("GET", f"/memo?id=eq.{m}")
        self.assertEqual(r.status, 200)
        [row] = r.json
        self.assertEqual({k: row[k] for k in ("id", "note", "hours", "revision", "created_by")},
                         {"id": m, "note": "hello again", "hours": 1.5, "revision": 3, "created_by": "alice"})
        self.assertNotIn("text", row)
        r = S.request("GET", f"/memo_revision?id=eq.{m}&order=revision&select=revision,parent_revision,op,schema_version,data,message")
        self.assertEqual((r.status, r.json), (200, [
            {"revision": 1, "parent_revision": None, "op": "create", "schema_version": "1",
             "data": {"text": "hello", "minutes": 90}, "message": None},
            {"revision": 2, "parent_revision": 1, "op": "update", "schema_version": "1",
             "data": {"text": "hello again", "minutes": 90}, "message": None},
            {"revision": 3, "parent_revision": 2, "op": "migrate", "schema_version": "2",
             "data": {"note": "hello again", "hours": 1.5}, "message": "text becomes note"},
        ]))
        # old revisions are read through the migrate function
        for revision, note in ((1, "hello"), (2, "hello again")):
            r = S.request("POST", "/rpc/memo_at", {"id": m, "revision": revision}, auth=WRITER)
            self.assertEqual(r.status, 200)
            self.assertEqual([{k: x[k] for k in ("id", "note", "hours", "revision")} for x in r.json],
                             [{"id": m, "note": note, "hours": 1.5, "revision": revision}])
            self.assertNotIn("text", r.json[0])
        r = S.request("GET", f"/rpc/memo_diff?id={m}&from_revision=1")
        self.assertEqual((r.status, r.json), (200, [{"op": "replace", "path": "/note", "value": "hello again"}]))
        # the draft was migrated too, and now starts from the migrate revision
        r = S.request("GET", f"/memo_draft?id=eq.{m}&select=note,hours,base_revision", auth=WRITER)
        self.assertEqual((r.status, r.json), (200, [{"note": "hello again", "hours": 0.5, "base_revision": 3}]))
        r = S.request("POST", "/rpc/memo_publish", {"id": m}, auth=WRITER)
        self.assertEqual((r.status, r.json["note"], r.json["hours"], r.json["revision"]), (200, "hello again", 0.5, 4))
        # rolling back to a version 1 revision under version 2
        r = S.request("POST", "/rpc/memo_rollback", {"id": m, "to_revision": 1}, auth=WRITER)
        self.assertEqual((r.status, r.json["note"], r.json["hours"], r.json["revision"]), (200, "hello", 1.5, 5))
        r = S.request("GET", f"/memo_revision?id=eq.{m}&revision=gte.4&order=revision&select=revision,op,schema_version,data")
        self.assertEqual(r.json, [
            {"revision": 4, "op": "publish", "schema_version": "2", "data": {"note": "hello again", "hours": 0.5}},
            {"revision": 5, "op": "rollback", "schema_version": "2", "data": {"note": "hello", "hours": 1.5}},
        ])
        # version 2's rules apply to writes over HTTP
        before = S.request("GET", f"/memo?id=eq.{m}").json
        r = S.request("PATCH", f"/memo?id=eq.{m}", {"text": "old name"}, auth=WRITER)
        self.assertEqual(error(r), (400, "PGRST204"))
        r = S.request("PATCH", f"/memo?id=eq.{m}", {"hours": -1}, auth=WRITER)
        self.assertEqual(error(r), (422, "PT422"))
        self.assertEqual(r.json["message"], f"memo document is invalid at /hours: -1 is less than the minimum of 0")
        r = S.request("POST", "/memo", {"hours": 1}, auth=WRITER)
        self.assertEqual(error(r), (422, "PT422"))
        self.assertEqual(r.json["message"], 'memo document is invalid at /note: "note" is a required property')
        self.assertEqual(S.request("GET", f"/memo?id=eq.{m}").json, before)

        # an incompatible version without a migrate function: PT409 in SQL, nothing changes
        v3 = {"type": "object", "properties": {"note": {"type": "integer"}}, "required": ["note"]}
        code = psql(f"""CREATE FUNCTION pg_temp.try() RETURNS text LANGUAGE plpgsql AS $$
                          BEGIN
                            PERFORM specstar.register_spec('memo', '{json.dumps(v3)}', '{{"version": "3"}}');
                            RETURN 'registered';
                          EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE;
                          END $$;
                        SELECT pg_temp.try()""")
        self.assertEqual(code, "PT409")
        self.assertEqual(psql("SELECT version FROM specstar.specs WHERE name = 'memo'"), "2")
        self.assertEqual(S.request("GET", f"/memo?id=eq.{m}").json, before)
        self.assertEqual(len(S.request("GET", f"/memo_revision?id=eq.{m}").json), 5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
