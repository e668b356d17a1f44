"""Black-box HTTP tests of access rules (options.access, docs/permissions.md) through the real
PostgREST 12 binary: every path of the contract's "where the rules apply" table, as each kind
of caller — the owner (alice), another user (bob), an editor (erin, role web_editor) and an
anonymous visitor — over REST, RPCs, search and GraphQL, with exact statuses and bodies, and
the stored data checked unchanged after every refused request.

Run by scripts/test.sh (suite "http") as its own process, with its own PostgREST."""
import unittest
import urllib.parse

from support import Server, psql, token

S = Server()
ALICE = token("web_writer", "alice")
BOB = token("web_writer", "bob")
ERIN = token("web_editor", "erin")
ANON = None
OBJECT = {"Prefer": "return=representation", "Accept": "application/vnd.pgrst.object+json"}
ROWS = {"Prefer": "return=representation"}

PRIVATE = "00000000-0000-4000-8000-0000000000a1"
SHARED = "00000000-0000-4000-8000-0000000000a2"
GONE = "00000000-0000-4000-8000-0000000000a3"
ERINS = "00000000-0000-4000-8000-0000000000e1"
HERONS = "00000000-0000-4000-8000-0000000000a4"
UNKNOWN = "00000000-0000-4000-8000-0000000000ff"

SCHEMA = ('{"type": "object", "properties": {"title": {"type": "string", "x-search": true}, '
          '"body": {"type": "string", "x-search": true}, "shared": {"type": "boolean"}}, "required": ["title"]}')
OPTIONS = ('{"roles": {"read": ["web_anon", "web_writer"], "write": ["web_writer", "web_anon"]}, "events": {"feed": true}, '
           '"access": {"read": ["owner", "role:web_editor", "sql:shared"], "write": ["owner", "role:web_editor"], '
           '"create": ["authenticated"], "delete": ["owner"]}}')


def setUpModule():
    S.start()
    psql(f"SELECT specstar.register_spec('memo', '{SCHEMA}', '{OPTIONS}')")
    S.wait_for("/memo", "/rpc/memo_search")
    for id_, title, body in [(PRIVATE, "private heron", "a grey heron by the river"),
                             (SHARED, "shared heron", "a heron and another heron"),
                             (GONE, "gone heron", "heron heron heron heron"),
                             (HERONS, "heron heron", "heron heron heron heron heron heron")]:
        r = S.request("POST", "/memo", {"id": id_, "title": title, "body": body, "created_by": "mallory"}, OBJECT, ALICE)
        assert r.status == 201 and r.json["created_by"] == "alice", r
    assert S.request("PATCH", f"/memo?id=eq.{SHARED}", {"shared": True}, ROWS, ALICE).status == 200
    r = S.request("POST", "/memo", {"id": ERINS, "title": "erin's heron", "shared": True}, OBJECT, ERIN)
    assert r.status == 201, r
    assert S.request("DELETE", f"/memo?id=eq.{GONE}", None, ROWS, ALICE).status == 200


def tearDownModule():
    S.stop()


def stored():
    """Everything stored for the spec, as superuser: a refused request must leave it as it was."""
    return psql("SELECT md5((SELECT coalesce(string_agg(t::text, ',' ORDER BY t.id), '') FROM specstar_data.memo t)"
                " || (SELECT coalesce(string_agg(h::text, ',' ORDER BY h.id, h.revision), '') FROM specstar_data.memo_revision h)"
                " || (SELECT coalesce(string_agg(d::text, ',' ORDER BY d.id), '') FROM specstar_data.memo_draft d))")


def titles(path, auth):
    r = S.request("GET", path, None, None, auth)
    assert r.status == 200, r
    return sorted(x["title"] for x in r.json)


class ZzInvariants(unittest.TestCase):
    """(Runs last.) No response of the whole module is a 5xx or carries a Rust backtrace."""

    def test_no_server_errors_and_no_backtraces(self):
        S.check_responses(self)


class Reads(unittest.TestCase):
    def test_each_caller_sees_the_rows_the_rules_admit_and_counts_them(self):
        expected = {
            "alice": (ALICE, ["erin's heron", "heron heron", "private heron", "shared heron"]),
            "bob": (BOB, ["erin's heron", "shared heron"]),
            "erin": (ERIN, ["erin's heron", "heron heron", "private heron", "shared heron"]),
            "anonymous": (ANON, ["erin's heron", "shared heron"]),
        }
        for who, (auth, want) in expected.items():
            with self.subTest(who=who):
                self.assertEqual(titles("/memo?select=title", auth), want)
                r = S.request("GET", "/memo?select=id&limit=1", None, {"Prefer": "count=exact"}, auth)
                self.assertEqual(r.headers["Content-Range"].split("/")[1], str(len(want)))

    def test_history_is_readable_then_and_now(self):
        # shared heron: revision 1 was private (shared unset), revision 2 is shared
        for who, auth, want in [("alice", ALICE, [1, 2]), ("bob", BOB, [2]), ("anonymous", ANON, [2])]:
            with self.subTest(who=who):
                r = S.request("GET", f"/memo_revision?id=eq.{SHARED}&select=revision&order=revision", None, None, auth)
                self.assertEqual([x["revision"] for x in r.json], want)
                r = S.request("GET", f"/memo?id=eq.{SHARED}&select=title,revisions(revision)", None, None, auth)
                self.assertEqual(sorted(x["revision"] for x in r.json[0]["revisions"]), want)
        # a deleted resource's history follows its tombstone: the owner's, hidden from bob
        self.assertEqual(len(S.request("GET", f"/memo_revision?id=eq.{GONE}", None, None, ALICE).json), 2)
        self.assertEqual(S.request("GET", f"/memo_revision?id=eq.{GONE}", None, None, BOB).json, [])

    def test_a_hidden_resource_answers_like_an_unknown_one(self):
        for path in ["/rpc/memo_at?id={id}", "/rpc/memo_at?id={id}&revision=1", "/rpc/memo_diff?id={id}&from_revision=1"]:
            with self.subTest(path=path):
                hidden = S.request("GET", path.format(id=PRIVATE), None, None, BOB)
                unknown = S.request("GET", path.format(id=UNKNOWN), None, None, BOB)
                self.assertEqual((hidden.status, unknown.status), (404, 404))
                self.assertEqual(hidden.json["code"], unknown.json["code"])
                self.assertEqual(hidden.json["message"].replace(PRIVATE, "ID"), unknown.json["message"].replace(UNKNOWN, "ID"))
                self.assertEqual(hidden.json["hint"], unknown.json["hint"])
        # the owner reads it
        self.assertEqual(S.request("GET", f"/rpc/memo_at?id={PRIVATE}", None, None, ALICE).status, 200)

    def test_as_of_shows_only_what_the_caller_may_read(self):
        at = urllib.parse.quote(psql("SELECT now()::text"))
        self.assertEqual(titles(f"/rpc/memo_as_of?at={at}&select=title", BOB), ["erin's heron", "shared heron"])


class Writes(unittest.TestCase):
    def test_refused_writes_change_nothing(self):
        before = stored()
        # UPDATE and DELETE of rows the rules do not admit: 0 rows, as PostgreSQL RLS does
        r = S.request("PATCH", f"/memo?id=eq.{SHARED}", {"title": "taken over"}, ROWS, BOB)
        self.assertEqual((r.status, r.json), (200, []))
        r = S.request("DELETE", "/memo", None, ROWS, BOB)
        self.assertEqual((r.status, r.json), (200, []))
        # erin may write alice's note but not delete it (delete: owner)
        r = S.request("DELETE", f"/memo?id=eq.{PRIVATE}", None, ROWS, ERIN)
        self.assertEqual((r.status, r.json), (200, []))
        # anonymous may not create (create: authenticated): 42501, 401 for PostgREST's anonymous role
        r = S.request("POST", "/memo", {"title": "anonymous heron"}, OBJECT, ANON)
        self.assertEqual((r.status, r.json["code"]), (401, "42501"))
        # RPCs: hidden is 404 like unknown (even with a stale expected_revision), readable but
        # not writable is 403
        for rpc, body in [("memo_rollback", {"id": PRIVATE, "to_revision": 1, "expected_revision": 99}),
                          ("memo_patch", {"id": PRIVATE, "patch": [{"op": "replace", "path": "/title", "value": "x"}], "expected_revision": 99}),
                          ("memo_restore", {"id": PRIVATE}),
                          ("memo_publish", {"id": PRIVATE})]:
            with self.subTest(rpc=rpc, hidden=True):
                r = S.request("POST", f"/rpc/{rpc}", body, None, BOB)
                self.assertEqual((r.status, r.json["code"]), (404, "PT404"), r)
        for rpc, body in [("memo_rollback", {"id": SHARED, "to_revision": 2}),
                          ("memo_patch", {"id": SHARED, "patch": [{"op": "replace", "path": "/title", "value": "x"}]})]:
            with self.subTest(rpc=rpc, readable=True):
                r = S.request("POST", f"/rpc/{rpc}", body, None, BOB)
                self.assertEqual((r.status, r.json["code"]), (403, "42501"), r)
        # a draft of a resource bob may not write; re-inserting alice's deleted id
        r = S.request("POST", "/memo_draft", {"id": SHARED, "title": "bob's version"}, OBJECT, BOB)
        self.assertEqual((r.status, r.json["code"]), (403, "42501"))
        r = S.request("POST", "/memo", {"id": GONE, "title": "hijacked"}, OBJECT, BOB)
        self.assertEqual((r.status, r.json["code"]), (403, "42501"))
        self.assertIn("deleted resource", r.json["message"])
        self.assertEqual(stored(), before)

    def test_the_editor_writes_every_note_and_the_owner_cannot_be_forged(self):
        r = S.request("PATCH", f"/memo?id=eq.{PRIVATE}", {"body": "reviewed"}, ROWS, ERIN)
        self.assertEqual((r.status, [x["updated_by"] for x in r.json]), (200, ["erin"]))
        self.assertEqual(r.json[0]["created_by"], "alice")
        r = S.request("POST", "/memo", {"title": "mine", "created_by": "alice"}, OBJECT, BOB)
        self.assertEqual((r.status, r.json["created_by"]), (201, "bob"))

    def test_drafts_follow_the_write_rules(self):
        r = S.request("POST", "/memo_draft", {"id": PRIVATE, "title": "private heron, edited"}, OBJECT, ALICE)
        self.assertEqual(r.status, 201, r)
        self.assertEqual([d["title"] for d in S.request("GET", "/memo_draft", None, None, BOB).json], [])
        self.assertIn("private heron, edited", [d["title"] for d in S.request("GET", "/memo_draft", None, None, ERIN).json])
        r = S.request("POST", "/rpc/memo_discard", {"id": PRIVATE}, None, BOB)
        self.assertEqual((r.status, r.json["code"]), (404, "PT404"))
        r = S.request("POST", "/rpc/memo_publish", {"id": PRIVATE}, OBJECT, ALICE)
        self.assertEqual((r.status, r.json["title"]), (200, "private heron, edited"))


class Search(unittest.TestCase):
    def test_hits_pages_and_highlights_come_from_visible_rows(self):
        # alice's private "heron heron" is the best hit; bob's page of two is still full
        r = S.request("GET", "/rpc/memo_search?q=heron&top=1&select=title", None, None, ALICE)
        self.assertEqual([x["title"] for x in r.json], ["heron heron"])
        r = S.request("GET", "/rpc/memo_search?q=heron&top=2&select=title,highlights", None, None, BOB)
        self.assertEqual(sorted(x["title"] for x in r.json), ["erin's heron", "shared heron"])
        for hit in r.json:
            self.assertNotIn("grey", str(hit["highlights"]))
        r = S.request("GET", "/rpc/memo_search?q=heron&top=2&skip=1&select=title", None, None, BOB)
        self.assertEqual(len(r.json), 1)
        r = S.request("GET", "/rpc/memo_search?q=grey&select=title", None, None, BOB)
        self.assertEqual(r.json, [])
        r = S.request("GET", "/rpc/memo_search?q=grey&select=title", None, None, ALICE)
        self.assertEqual([x["title"] for x in r.json], ["private heron"])


class Feed(unittest.TestCase):
    def test_the_change_feed_follows_the_history_rule(self):
        # every event alice may read, only the shared ones for bob (GET, as PostgREST serves it)
        mine = S.request("GET", "/rpc/memo_changes?after=0&top=1000", None, None, ALICE).json
        bobs = S.request("GET", "/rpc/memo_changes?after=0&top=1000", None, None, BOB).json
        self.assertTrue({(e["id"], e["revision"]) for e in bobs} < {(e["id"], e["revision"]) for e in mine})
        for e in bobs:
            r = S.request("GET", f"/memo_revision?id=eq.{e['id']}&revision=eq.{e['revision']}", None, None, BOB)
            self.assertEqual(len(r.json), 1, e)
        self.assertNotIn(PRIVATE, {e["id"] for e in bobs})
        self.assertIn(SHARED, {e["id"] for e in bobs})
        # cursors increase; top counts what bob gets
        self.assertEqual([e["cursor"] for e in bobs], sorted(e["cursor"] for e in bobs))
        self.assertEqual(len(S.request("GET", "/rpc/memo_changes?after=0&top=1", None, None, BOB).json), 1)


class GraphQL(unittest.TestCase):
    def gql(self, query, auth):
        r = S.request("POST", "/rpc/graphql", {"query": query}, None, auth)
        self.assertEqual(r.status, 200, r)
        return r.json

    def test_the_same_rules_hold_through_graphql(self):
        q = "{ memoCollection(orderBy: [{title: AscNullsLast}]) { totalCount edges { node { title } } } }"
        for who, auth, n in [("alice", ALICE, 4), ("bob", BOB, 2), ("erin", ERIN, 4), ("anonymous", ANON, 2)]:
            with self.subTest(who=who):
                d = self.gql(q, auth)["data"]["memoCollection"]
                self.assertEqual(d["totalCount"], n)
                self.assertEqual(len(d["edges"]), n)
        before = stored()
        d = self.gql(f'mutation {{ updateMemoCollection(set: {{title: "x"}}, filter: {{id: {{eq: "{SHARED}"}}}}) {{ affectedCount }} }}', BOB)
        self.assertEqual(d["data"]["updateMemoCollection"]["affectedCount"], 0, d)
        self.assertEqual(stored(), before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
