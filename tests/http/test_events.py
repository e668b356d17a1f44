"""Black-box HTTP tests of the change feed (docs/events.md) through the real PostgREST 12
binary: writes over REST become events in commit order, read with GET /rpc/<spec>_changes
from a stored cursor; wrong arguments get their status; a hook's refusal reaches the client
with its own status, code, message, detail and hint.

Run by scripts/test.sh (suite "http") as its own process, with its own PostgREST."""
import unittest

from support import Server, psql, token

S = Server()
WRITER = token("web_writer", "alice")
OBJECT = {"Prefer": "return=representation", "Accept": "application/vnd.pgrst.object+json"}


def setUpModule():
    S.start()
    # a spec whose before_write hook refuses some titles with its own code, detail and hint
    psql("""
CREATE SCHEMA IF NOT EXISTS app;
GRANT USAGE ON SCHEMA app TO web_writer;
CREATE FUNCTION app.no_spam(event jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  IF event -> 'new' ->> 'title' LIKE '%spam%' THEN
    RAISE EXCEPTION USING ERRCODE = 'PT403', MESSAGE = 'no spam in titles', DETAIL = 'found in the title', HINT = 'Write about something else.';
  END IF;
  RETURN NULL;
END $$;
SELECT specstar.register_spec('hooked', '{"type": "object", "properties": {"title": {"type": "string"}}}',
  '{"hooks": {"before_write": ["app.no_spam"]}}');
""")
    S.wait_for("/rpc/article_changes", "/hooked")


def tearDownModule():
    S.stop()


class ZzInvariants(unittest.TestCase):
    """(Runs last.) No response of the whole module is a 5xx or carries a Rust backtrace."""

    def test_no_server_errors_and_no_backtraces(self):
        S.check_responses(self)


class Feed(unittest.TestCase):
    def test_a_consumer_follows_the_feed_from_its_cursor(self):
        head = int(psql("SELECT specstar.changes_head()"))
        r = S.request("POST", "/article", {"title": "Fed"}, OBJECT, WRITER)
        self.assertEqual(r.status, 201, r)
        id_ = r.json["id"]
        self.assertEqual(S.request("PATCH", f"/article?id=eq.{id_}", {"title": "Fed again"}, None, WRITER).status, 204)
        self.assertEqual(S.request("DELETE", f"/article?id=eq.{id_}", None, None, WRITER).status, 204)
        # anonymous readers read the feed (a read RPC, over GET)
        events = S.request("GET", f"/rpc/article_changes?after={head}", None, None, None).json
        mine = [e for e in events if e["id"] == id_]
        self.assertEqual([(e["revision"], e["op"], e["data"]["title"], e["changed_by"]) for e in mine],
                         [(1, "create", "Fed", "alice"), (2, "update", "Fed again", "alice"), (3, "delete", "Fed again", "alice")])
        cursors = [e["cursor"] for e in events]
        self.assertEqual(cursors, sorted(cursors))
        self.assertTrue(all(c > head for c in cursors))
        # a consumer that stored the second cursor gets exactly the rest
        rest = S.request("GET", f"/rpc/article_changes?after={mine[1]['cursor']}", None, None, None).json
        self.assertEqual([e["op"] for e in rest if e["id"] == id_], ["delete"])
        # PostgREST's filters apply to the feed
        only = S.request("GET", f"/rpc/article_changes?after={head}&op=eq.update", None, None, None).json
        self.assertEqual({e["op"] for e in only}, {"update"})

    def test_paging_sees_every_event_exactly_once(self):
        head = int(psql("SELECT specstar.changes_head()"))
        ids = []
        for i in range(20):
            r = S.request("POST", "/article", {"title": f"Paged {i}"}, OBJECT, WRITER)
            ids.append(r.json["id"])
            S.request("PATCH", f"/article?id=eq.{r.json['id']}", {"title": f"Paged {i}, again"}, None, WRITER)
        seen, cursor = [], head
        while True:
            page = S.request("GET", f"/rpc/article_changes?after={cursor}&top=7", None, None, None).json
            if not page:
                break
            seen.extend((e["id"], e["revision"]) for e in page)
            cursor = page[-1]["cursor"]
        mine = [k for k in seen if k[0] in ids]
        self.assertEqual(len(mine), len(set(mine)))
        self.assertEqual(set(mine), {(i, r) for i in ids for r in (1, 2)})

    def test_a_hook_refusal_reaches_the_client_unchanged(self):
        r = S.request("POST", "/hooked", {"title": "buy spam"}, OBJECT, WRITER)
        self.assertEqual((r.status, r.json["code"], r.json["message"], r.json["details"], r.json["hint"]),
                         (403, "PT403", "no spam in titles", "found in the title", "Write about something else."))
        self.assertEqual(psql("SELECT count(*) FROM specstar_data.hooked_revision") + psql("SELECT count(*) FROM specstar_data.hooked"), "00")
        r = S.request("POST", "/hooked", {"title": "herons"}, OBJECT, WRITER)
        self.assertEqual((r.status, r.json["title"]), (201, "herons"))

    def test_wrong_arguments(self):
        r = S.request("GET", "/rpc/article_changes?top=0", None, None, None)
        self.assertEqual((r.status, r.json["code"]), (400, "22023"))
        self.assertIn("top must be between 1 and 10000", r.json["message"])
        r = S.request("GET", "/rpc/article_changes?after=-5", None, None, None)
        self.assertEqual((r.status, r.json["code"]), (400, "22023"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
