"""Black-box HTTP tests of full-text search (`/rpc/<spec>_search`) through the real PostgREST 12
binary: ranking, PostgREST filters/select/count on the hits, paging, highlights, stemming, the
query syntax (exact id sets), writes of every kind showing in the next search, malformed
queries (400, SQLSTATE 22023, nothing changed), permissions, OpenAPI, and the SQL functions
(specstar.search, search_verify, search_stats, search_merge, search_rebuild).

Its own spec `story` (searchable title, body, tags; a boolean and an integer) is read by the
role `search_reader` only (not by the anonymous role), `story_simple` is the same spec with the
language "simple". Every test class scopes its documents with a random word of its own, so the
id sets it expects do not depend on the other classes.

Run by scripts/test.sh (suite "http") as its own process, with its own PostgREST."""
import json
import random
import subprocess
import time
import unittest
import urllib.parse

from support import PGBIN, DB, Server, psql, token

S = Server()
WRITER = token("web_writer", "alice")
READER = token("search_reader", "rita")  # reads story (and may search it), writes nothing
GUEST = token("web_guest", "mallory")  # a role PostgREST knows, without grants on the specs
OBJECT = {"Prefer": "return=representation", "Accept": "application/vnd.pgrst.object+json"}
MANY = {"Prefer": "return=representation"}
OPENAPI = {"Accept": "application/openapi+json"}

SCHEMA = {
    "title": "Story",
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1, "x-search": True},
        "body": {"type": "string", "x-search": True},
        "tags": {"type": "array", "items": {"type": "string"}, "x-search": True},
        "published": {"type": "boolean", "default": False},
        "rank": {"type": "integer", "minimum": 0, "default": 0},
    },
    "required": ["title"],
}
COLUMNS = {"id", "title", "body", "tags", "published", "rank", "revision", "created_at", "created_by",
           "updated_at", "updated_by", "score", "highlights"}


def setUpModule():
    S.start()
    psql("""DO $$
            BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'search_reader') THEN
                CREATE ROLE search_reader NOLOGIN;
              END IF;
            END $$;
            GRANT search_reader TO authenticator;""")
    story = json.dumps(SCHEMA)
    # (one transaction: one NOTIFY, one schema reload of PostgREST)
    psql(f"""BEGIN;
             SELECT specstar.register_spec('story', '{story}',
                 '{{"roles": {{"read": ["search_reader"], "write": ["web_writer"]}}}}');
             SELECT specstar.register_spec('story_simple', '{story}', '{{"search": {{"language": "simple"}}}}');
             COMMIT;""")
    # A schema cache PostgREST loads meanwhile may hold the new functions without the new views
    # (POST /story answers 404 then): wait until it serves both.
    wanted = {"/story", "/story_simple", "/rpc/story_search", "/rpc/story_simple_search"}
    deadline = time.time() + 15
    while True:
        r = S.request("GET", "/", headers=OPENAPI, auth=WRITER)
        if r.status == 200 and wanted <= set(r.json["paths"]):
            break
        if time.time() > deadline:
            S.stop()
            raise RuntimeError(f"PostgREST does not serve {wanted} after register_spec: {r}")
        time.sleep(0.1)
    S.responses.clear()  # (a 503 while PostgREST reloads is not a response of the tests)


def tearDownModule():
    S.stop()


def word(n=10):
    """A random word of consonants: no English stemming rule changes it, and no other test has it."""
    return "".join(random.choice("bcdfghjklmnpqrtvwxz") for _ in range(n))


def doc(title, body=None, tags=None, published=False, rank=0):
    return {"title": title, "body": body, "tags": tags, "published": published, "rank": rank}


def create(title, body=None, tags=None, published=False, rank=0, spec="story"):
    r = S.request("POST", f"/{spec}", doc(title, body, tags, published, rank), OBJECT, WRITER)
    assert r.status == 201, r
    return r.json


def create_many(docs, spec="story"):
    """Creates documents in one request; returns their ids in the order given."""
    r = S.request("POST", f"/{spec}", docs, MANY, WRITER)
    assert r.status == 201, r
    by_title = {row["title"]: row["id"] for row in r.json}
    assert len(by_title) == len(docs), "titles of one batch must differ"
    return [by_title[d["title"]] for d in docs]


def search(q, auth=READER, spec="story", headers=None, **params):
    query = urllib.parse.urlencode(dict(q=q, **params))
    return S.request("GET", f"/rpc/{spec}_search?{query}", headers=headers, auth=auth)


def rows(q, **kw):
    r = search(q, **kw)
    if r.status != 200:
        raise AssertionError(f"search {q!r}: {r}")
    return r.json


def hits(q, **kw):
    """The ids of the hits, best first."""
    return [row["id"] for row in rows(q, **kw)]


def state():
    """What a search must never change: resources, history and the search index."""
    return psql("SELECT (SELECT count(*) FROM api.story) || ' ' || (SELECT count(*) FROM api.story_revision) || ' '"
                " || (SELECT count(*) FROM specstar.search_segment WHERE spec = 'story') || ' '"
                " || (SELECT coalesce(sum(octet_length(tombstones)), 0) FROM specstar.search_segment WHERE spec = 'story') || ' '"
                " || (SELECT max(revision) FROM api.story_revision)")


def sql_error(sql):
    """Runs SQL expected to fail; returns 'SQLSTATE: message' of its error."""
    out = subprocess.run([f"{PGBIN}/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", DB],
                         input="\\set VERBOSITY verbose\n" + sql, capture_output=True, text=True)
    if out.returncode == 0:
        raise AssertionError(f"expected an error from: {sql}\ngot: {out.stdout}")
    line = next(l for l in out.stderr.splitlines() if l.startswith("ERROR:"))
    return line[len("ERROR:"):].strip()


class ZzInvariants(unittest.TestCase):
    """(Runs last.) No response of the whole module is a 5xx or carries a Rust backtrace."""

    def test_no_server_errors_and_no_backtraces(self):
        S.check_responses(self)


class OpenAPI(unittest.TestCase):
    def test_readers_see_the_search_rpc(self):
        for auth in (READER, WRITER):
            doc_ = S.request("GET", "/", headers=OPENAPI, auth=auth).json
            path = doc_["paths"]["/rpc/story_search"]
            self.assertEqual(sorted(path), ["get", "post"])
            params = {p["name"]: p["required"] for p in path["get"]["parameters"]}
            self.assertEqual(params, {"q": True, "top": False, "skip": False})
            self.assertIn("Full-text search of story", path["get"]["summary"])

    def test_anonymous_sees_only_the_search_it_may_run(self):
        paths = S.request("GET", "/", headers=OPENAPI).json["paths"]
        self.assertNotIn("/rpc/story_search", paths)
        self.assertIn("/rpc/story_simple_search", paths)


class Ranking(unittest.TestCase):
    def test_hits_are_ordered_by_score_and_the_most_matches_come_first(self):
        k = word()
        pad = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
        docs = [doc(f"{k} {n}", " ".join((["fox"] * n + pad)[:6]), published=n % 2 == 0, rank=n) for n in (1, 3, 0, 2)]
        one, three, none, two = create_many(docs)
        found = rows(f"{k} fox")
        self.assertEqual([r["id"] for r in found], [three, two, one])
        scores = [r["score"] for r in found]
        self.assertGreater(scores[0], scores[1])
        self.assertGreater(scores[1], scores[2])
        self.assertGreater(scores[2], 0)
        # every column of api.story, plus score and highlights
        self.assertEqual(set(found[0]), COLUMNS)
        top = found[0]
        self.assertEqual((top["title"], top["body"], top["published"], top["rank"], top["revision"], top["created_by"]),
                         (f"{k} 3", "fox fox fox alpha beta gamma", False, 3, 1, "alice"))
        # without the scoping word, the fourth document matches too (it has no fox)
        self.assertEqual(set(hits(k)), {one, two, three, none})


class Filters(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = word()
        cls.ids = create_many([doc(f"{cls.k} {n}", published=n % 2 == 1, rank=n) for n in range(1, 6)])

    def test_filters_apply_to_the_hits(self):
        # (PostgREST 12 applies select before the filters: select the filtered columns)
        found = rows(self.k, published="is.true", select="id,published,score")
        self.assertEqual({r["id"] for r in found}, {self.ids[0], self.ids[2], self.ids[4]})
        self.assertEqual({frozenset(r) for r in found}, {frozenset({"id", "published", "score"})})
        self.assertEqual(set(hits(self.k, rank="gte.4", select="id,rank")), {self.ids[3], self.ids[4]})
        self.assertEqual(hits(self.k, rank="gte.4", published="is.false", select="id,rank,published"), [self.ids[3]])
        self.assertEqual(hits(self.k, order="rank.desc", select="id,rank"), list(reversed(self.ids)))

    def test_count_exact(self):
        r = search(self.k, published="is.true", select="id,published", headers={"Prefer": "count=exact"})
        self.assertEqual((r.status, r.headers["Content-Range"], len(r.json)), (200, "0-2/3", 3))
        r = search(self.k, select="id", limit="2", headers={"Prefer": "count=exact"})
        self.assertEqual((r.status, r.headers["Content-Range"], len(r.json)), (206, "0-1/5", 2))
        r = search(f"{self.k} nosuchword", headers={"Prefer": "count=exact"})
        self.assertEqual((r.status, r.headers["Content-Range"], r.json), (200, "*/0", []))

    def test_post_with_a_json_body(self):
        got = S.request("GET", f"/rpc/story_search?q={self.k}&top=3&select=id,score", auth=READER).json
        r = S.request("POST", "/rpc/story_search?select=id,score", {"q": self.k, "top": 3}, auth=READER)
        self.assertEqual((r.status, r.json), (200, got))
        self.assertEqual(len(got), 3)
        r = S.request("POST", "/rpc/story_search?published=is.false&select=id,published", {"q": self.k}, auth=READER)
        self.assertEqual((r.status, {x["id"] for x in r.json}), (200, {self.ids[1], self.ids[3]}))
        r = S.request("POST", "/rpc/story_search", {"q": self.k, "top": 2, "skip": 4}, auth=READER)
        self.assertEqual((r.status, len(r.json)), (200, 1))


class Paging(unittest.TestCase):
    def test_top_and_skip(self):
        k = word()
        # the word 5, 4, ... 1 times in bodies of one length: a fixed order of scores
        docs = [doc(f"page {n}", " ".join(([k] * n + ["x"] * 5)[:5])) for n in (3, 5, 1, 4, 2)]
        three, five, one, four, two = create_many(docs)
        full = rows(k)
        self.assertEqual([r["id"] for r in full], [five, four, three, two, one])
        scores = {r["id"]: r["score"] for r in full}
        pages = [rows(k, top=2, skip=s) for s in (0, 2, 4, 5)]
        self.assertEqual([[r["id"] for r in p] for p in pages], [[five, four], [three, two], [one], []])
        for page in pages:
            for r in page:
                self.assertEqual(r["score"], scores[r["id"]])
        self.assertEqual(hits(k, top=0), [])

    def test_top_defaults_to_20(self):
        k = word()
        ids = create_many([doc(f"{k} many {n}") for n in range(22)])
        self.assertEqual(len(hits(k)), 20)
        everything = hits(k, top=50)
        self.assertEqual(sorted(everything), sorted(ids))
        self.assertEqual(hits(k, top=50, skip=20), everything[20:])


class Highlights(unittest.TestCase):
    def test_matched_terms_are_marked_and_the_text_escaped(self):
        k = word()
        a = create(f"Tom & <Jerry> meet the fox {k}", "nothing to see", ["red fox", "blue", "fox den"])
        create(f"{k} without the animal", "still nothing")
        [hit] = rows(f"fox {k}")
        self.assertEqual(hit["id"], a["id"])
        self.assertEqual(hit["highlights"], {
            "title": f"Tom &amp; &lt;Jerry&gt; meet the <b>fox</b> <b>{k}</b>",
            "tags": "red <b>fox</b> … <b>fox</b> den",
        })

    def test_stemmed_and_phrase_matches_are_marked(self):
        k = word()
        b = create(f"{k} stems", "She kept running home")
        self.assertEqual(rows(f"{k} run", select="id,highlights"),
                         [{"id": b["id"], "highlights": {"title": f"<b>{k}</b> stems", "body": "She kept <b>running</b> home"}}])
        self.assertEqual(rows(f'{k} "kept running"', select="highlights"),
                         [{"highlights": {"title": f"<b>{k}</b> stems", "body": "She <b>kept</b> <b>running</b> home"}}])

    def test_the_whole_text_is_kept(self):
        # the contract: the field's text with the matched terms marked, so nothing of a short
        # text goes missing (not even what follows its last word)
        k = word()
        create(f'"{k}" said the fox!', "The end.")
        [hit] = rows(k, select="highlights")
        self.assertEqual(hit["highlights"], {"title": f"&quot;<b>{k}</b>&quot; said the fox!"})

    def test_prefix_and_fuzzy_matches_are_marked(self):
        k = word()
        a = create(f"{k} stands", "alone")
        typo = k[:-1] + ("b" if k[-1] != "b" else "c")
        for q in (f"{k[:6]}*", f"{typo}~1"):
            with self.subTest(q=q):
                self.assertEqual(rows(q, select="id,highlights"), [{"id": a["id"], "highlights": {"title": f"<b>{k}</b> stands"}}])


class Stemming(unittest.TestCase):
    TEXTS = ("She was running", "He runs daily", "A runner guide")

    def test_english_stems_words_and_queries(self):
        k = word()
        running, runs, runner = create_many([doc(f"{k} {n}", t) for n, t in enumerate(self.TEXTS)])
        self.assertEqual(set(hits(f"{k} run")), {running, runs})
        self.assertEqual(set(hits(f"{k} running")), {running, runs})
        self.assertEqual(set(hits(f"{k} runner")), {runner})

    def test_simple_does_not_stem(self):
        k = word()
        running, runs, runner = create_many([doc(f"{k} {n}", t) for n, t in enumerate(self.TEXTS)], spec="story_simple")
        self.assertEqual(hits(f"{k} run", spec="story_simple", auth=None), [])
        self.assertEqual(hits(f"{k} running", spec="story_simple", auth=None), [running])
        self.assertEqual(hits(f"{k} RUNS", spec="story_simple", auth=None), [runs])


class QuerySyntax(unittest.TestCase):
    DOCS = (
        ("The quick brown fox", "jumps over the lazy dog"),
        ("Brown bread", "quick and easy recipe"),
        ("Running shoes", "the fox runs in brown shoes"),
        ("Breed registry", "dogs of every breed"),
        ("Colour theory", "red green blue"),
    )

    @classmethod
    def setUpClass(cls):
        cls.k = word()
        cls.ids = create_many([doc(t, b, [cls.k]) for t, b in cls.DOCS])

    def check(self, cases):
        for q, expected in cases:
            with self.subTest(q=q):
                self.assertEqual(set(hits(f"{self.k} {q}")), {self.ids[i - 1] for i in expected})

    def test_words_all_must_match(self):
        self.check([("fox", {1, 3}), ("brown fox", {1, 3}), ("quick brown", {1, 2}), ("dog", {1, 4}),
                    ("fox recipe", set())])

    def test_and(self):
        self.check([("(fox AND shoes)", {3}), ("(fox AND brown AND jumps)", {1}), ("(fox AND recipe)", set())])

    def test_operators_mixed_with_plain_words(self):
        # plain words stay required next to AND / OR / -: the same sets as written with parentheses
        self.check([("fox AND shoes", {3}), ("brown AND fox jumps", {1}), ("fox -shoes AND brown", {1}),
                    ("brown bread OR shoes", {2, 3})])

    def test_phrase(self):
        self.check([('"brown fox"', {1}), ('"quick brown"', {1}), ('"fox brown"', set()), ('"brown shoes"', {3})])

    def test_or(self):
        self.check([("(bread OR shoes)", {2, 3}), ("(colour OR dog OR nothing)", {1, 4, 5})])

    def test_not(self):
        self.check([("brown -fox", {2}), ("-fox", {2, 4, 5}), ("-fox -brown", {4, 5})])

    def test_prefix(self):
        self.check([("bre*", {2, 4}), ("brea*", {2}), ("bread", {2}), ("bre", set())])

    def test_fuzzy(self):
        self.check([("bred", set()), ("bred~1", {2, 4, 5}), ("colr~1", set()), ("colr~2", {5})])

    def test_field(self):
        self.check([("title:fox", {1}), ("body:fox", {3}), ("title:brown", {1, 2}), ("body:brown", {3}),
                    ("title:(bread OR shoes)", {2, 3})])
        self.assertEqual(set(hits(f"tags:{self.k}")), set(self.ids))
        self.assertEqual(hits(f"title:{self.k}"), [])


class Writes(unittest.TestCase):
    def test_patch_put_and_refused_writes(self):
        k = word()
        a = create(f"{k} note", "apple pie")
        path = f"/story?id=eq.{a['id']}"
        self.assertEqual(hits(f"{k} apple"), [a["id"]])
        r = S.request("PATCH", path, {"body": "banana split"}, OBJECT, WRITER)
        self.assertEqual((r.status, r.json["revision"]), (200, 2))
        self.assertEqual(hits(f"{k} apple"), [])
        self.assertEqual(hits(f"{k} banana"), [a["id"]])
        # a write that leaves the searchable properties alone: still found, filters see it
        r = S.request("PATCH", path, {"published": True}, OBJECT, WRITER)
        self.assertEqual((r.status, r.json["revision"]), (200, 3))
        self.assertEqual(hits(f"{k} banana", published="is.true", select="id,published"), [a["id"]])
        # refused writes change nothing
        r = S.request("PATCH", path, {"body": "cherry"}, {"If-Match": '"1"'}, WRITER)
        self.assertEqual(r.status, 409)
        r = S.request("PATCH", path, {"title": "", "body": "cherry"}, auth=WRITER)
        self.assertEqual(r.status, 422)
        self.assertEqual(hits(f"{k} cherry"), [])
        self.assertEqual(hits(f"{k} banana"), [a["id"]])
        # upsert and PUT
        r = S.request("POST", "/story?on_conflict=id", [{"id": a["id"], "title": f"{k} note", "body": "cherry tart"}],
                      {"Prefer": "return=representation,resolution=merge-duplicates"}, WRITER)
        self.assertEqual((r.status, r.json[0]["revision"]), (200, 4))
        self.assertEqual(hits(f"{k} banana"), [])
        self.assertEqual(hits(f"{k} cherry"), [a["id"]])
        r = S.request("PUT", path, {"id": a["id"], "title": f"{k} note", "body": "damson jam"}, MANY, WRITER)
        self.assertEqual((r.status, r.json[0]["revision"]), (200, 5))
        self.assertEqual(hits(f"{k} cherry"), [])
        self.assertEqual(hits(f"{k} damson"), [a["id"]])
        self.assertEqual(hits(k), [a["id"]])

    def test_delete_restore_and_rollback(self):
        k = word()
        a = create(f"{k} fruit", "apple pie")
        S.request("PATCH", f"/story?id=eq.{a['id']}", {"body": "banana split"}, auth=WRITER)
        r = S.request("DELETE", f"/story?id=eq.{a['id']}", auth=WRITER)
        self.assertEqual(r.status, 204)
        self.assertEqual(hits(k), [])
        self.assertEqual(hits(f"{k} banana"), [])
        r = S.request("POST", "/rpc/story_restore", {"id": a["id"]}, auth=WRITER)
        self.assertEqual((r.status, r.json["revision"]), (200, 4))
        self.assertEqual(hits(f"{k} banana"), [a["id"]])
        self.assertEqual(hits(f"{k} apple"), [])
        r = S.request("POST", "/rpc/story_rollback", {"id": a["id"], "to_revision": 1}, auth=WRITER)
        self.assertEqual((r.status, r.json["body"], r.json["revision"]), (200, "apple pie", 5))
        self.assertEqual(rows(f"{k} apple", select="id,body,revision,highlights"),
                         [{"id": a["id"], "body": "apple pie", "revision": 5,
                           "highlights": {"title": f"<b>{k}</b> fruit", "body": "<b>apple</b> pie"}}])
        self.assertEqual(hits(f"{k} banana"), [])
        # a rollback to a revision with the same text as now, and one with other text again
        r = S.request("POST", "/rpc/story_rollback", {"id": a["id"], "to_revision": 2}, auth=WRITER)
        self.assertEqual(r.status, 200)
        self.assertEqual((hits(f"{k} apple"), hits(f"{k} banana")), ([], [a["id"]]))
        self.assertEqual(psql("SELECT specstar.search_verify('story') ->> 'ok'"), "true")

    def test_json_patch_and_drafts(self):
        k = word()
        a = create(f"{k} patched", "apple pie")
        r = S.request("POST", "/rpc/story_patch", {"id": a["id"], "patch": [{"op": "replace", "path": "/body", "value": "guava"}]},
                      auth=WRITER)
        self.assertEqual((r.status, r.json["revision"]), (200, 2))
        self.assertEqual((hits(f"{k} apple"), hits(f"{k} guava")), ([], [a["id"]]))
        # drafts are not searched until they are published
        r = S.request("POST", "/story_draft", {"id": a["id"], "body": "lychee"}, OBJECT, WRITER)
        self.assertEqual(r.status, 201)
        d = S.request("POST", "/story_draft", {"title": f"{k} drafted", "body": "papaya"}, OBJECT, WRITER).json
        self.assertEqual((hits(f"{k} lychee"), hits(f"{k} papaya"), hits(k)), ([], [], [a["id"]]))
        for id_ in (a["id"], d["id"]):
            r = S.request("POST", "/rpc/story_publish", {"id": id_}, auth=WRITER)
            self.assertEqual(r.status, 200)
        self.assertEqual((hits(f"{k} guava"), hits(f"{k} lychee"), hits(f"{k} papaya")), ([], [a["id"]], [d["id"]]))

    def test_bulk_writes(self):
        k = word()
        ids = create_many([doc(f"{k} bulk {n}", "plum") for n in range(3)])
        self.assertEqual(set(hits(f"{k} plum")), set(ids))
        r = S.request("PATCH", f"/story?title=like.{k}*", {"body": "quince"}, auth=WRITER)
        self.assertEqual(r.status, 204)
        self.assertEqual((hits(f"{k} plum"), set(hits(f"{k} quince"))), ([], set(ids)))
        r = S.request("DELETE", f"/story?title=like.{k}*&id=neq.{ids[0]}", auth=WRITER)
        self.assertEqual(r.status, 204)
        self.assertEqual(hits(k), [ids[0]])
        # a refused batch indexes nothing
        k2 = word()
        r = S.request("POST", "/story", [doc(f"{k2} fine"), doc("")], auth=WRITER)
        self.assertEqual(r.status, 422)
        self.assertEqual(hits(k2), [])


class Errors(unittest.TestCase):
    MALFORMED = (("fox AND (", 10), ('"unclosed', 10), ("nosuchfield:x", 1), ("fox~5", 4), ("fox~", 1),
                 ("title:[a TO b]", 1), ("/fo.*/", 1))

    @classmethod
    def setUpClass(cls):
        cls.k = word()
        cls.id = create(f"{cls.k} errors")["id"]

    def test_malformed_queries_are_400_with_position_and_hint(self):
        before = state()
        for q, position in self.MALFORMED:
            for method in ("GET", "POST"):
                with self.subTest(q=q, method=method):
                    if method == "GET":
                        r = search(q)
                    else:
                        r = S.request("POST", "/rpc/story_search", {"q": q}, auth=READER)
                    self.assertEqual((r.status, r.json["code"]), (400, "22023"))
                    self.assertIn(f"position {position}", r.json["message"])
                    self.assertEqual(json.loads(r.json["details"]), {"query": q, "position": position})
                    self.assertIsInstance(r.json["hint"], str)
                    self.assertGreater(len(r.json["hint"]), 10)
        r = search("nosuchfield:x")
        self.assertIn('"nosuchfield" is not a searchable field', r.json["message"])
        self.assertIn("body, tags, title", r.json["hint"])
        self.assertEqual(state(), before)
        self.assertEqual(hits(self.k), [self.id])

    def test_dangling_operator_is_an_error_or_ignored(self):
        # never silently nothing: either a 22023 naming the problem, or the hits of the word
        for q in (f"{self.k} AND", f"{self.k} OR"):
            with self.subTest(q=q):
                r = search(q)
                if r.status == 400:
                    self.assertEqual(r.json["code"], "22023")
                else:
                    self.assertEqual((r.status, [x["id"] for x in r.json]), (200, [self.id]))

    def test_missing_query_and_bad_arguments(self):
        before = state()
        r = S.request("POST", "/rpc/story_search", {"q": None}, auth=READER)
        self.assertEqual((r.status, r.json["code"], r.json["message"]), (400, "22023", "search query: q is required"))
        r = search(self.k, top="many")
        self.assertEqual((r.status, r.json["code"]), (400, "22P02"))
        self.assertEqual(state(), before)


class Permissions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = word()
        cls.id = create(f"{cls.k} secret")["id"]

    def test_readers_and_writers_search(self):
        self.assertEqual(hits(self.k, auth=READER), [self.id])
        self.assertEqual(hits(self.k, auth=WRITER), [self.id])

    def test_readers_do_not_write(self):
        r = S.request("POST", "/story", doc(f"{self.k} by a reader"), auth=READER)
        self.assertEqual((r.status, r.json["code"]), (403, "42501"))
        self.assertEqual(hits(self.k), [self.id])

    def test_anonymous_and_roles_without_grant_are_refused(self):
        before = state()
        for auth, status in ((None, 401), (GUEST, 403)):
            with self.subTest(auth=auth and "guest"):
                r = search(self.k, auth=auth)
                self.assertEqual((r.status, r.json["code"]), (status, "42501"))
                self.assertNotIn(self.id, r.raw)
                r = S.request("POST", "/rpc/story_search", {"q": self.k}, auth=auth)
                self.assertEqual((r.status, r.json["code"]), (status, "42501"))
        self.assertEqual(state(), before)
        # (the anonymous role reaches a search it is granted)
        self.assertEqual(search(self.k, spec="story_simple", auth=None).status, 200)

    def test_sql_search_checks_the_right_to_read(self):
        err = sql_error(f"SET ROLE web_anon; SELECT * FROM specstar.search('story', '{self.k}');")
        self.assertEqual(err, "42501: permission denied to search spec story")
        err = sql_error(f"SET ROLE web_anon; SELECT * FROM specstar._search_hits('story', '{self.k}', 10, 0, true);")
        self.assertEqual(err, "42501: permission denied to search spec story")
        self.assertEqual(psql(f"SET ROLE search_reader; SELECT id FROM specstar.search('story', '{self.k}')"), self.id)


class SqlFunctions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = word()
        cls.ids = create_many([doc(f"{cls.k} sql {n}", " ".join(["pear"] * (n + 1) + ["x"] * (4 - n))) for n in range(4)])
        S.request("PATCH", f"/story?id=eq.{cls.ids[0]}", {"body": "fig"}, auth=WRITER)
        S.request("DELETE", f"/story?id=eq.{cls.ids[1]}", auth=WRITER)
        cls.queries = (cls.k, f"{cls.k} pear", f"{cls.k} fig", f"{cls.k} (fig OR pear)", f"{cls.k} -pear")

    def sql_hits(self, q, top="NULL"):
        out = psql(f"SELECT id || ' ' || score FROM specstar.search('story', $q${q}$q$, {top})")
        return [(line.split()[0], float(line.split()[1])) for line in out.splitlines()]

    def results(self):
        return {q: self.sql_hits(q) for q in self.queries}

    def verify(self):
        return json.loads(psql("SELECT specstar.search_verify('story')"))

    def stats(self):
        return json.loads(psql("SELECT row_to_json(s) FROM specstar.search_stats('story') s"))

    def test_search_is_what_the_api_finds(self):
        for q in self.queries:
            with self.subTest(q=q):
                http = [(r["id"], r["score"]) for r in rows(q, top=50)]
                sql = self.sql_hits(q)
                self.assertEqual([i for i, _ in sql], [i for i, _ in http])
                for (_, a), (_, b) in zip(sql, http):
                    self.assertAlmostEqual(a, b, places=4)
        self.assertEqual([i for i, _ in self.sql_hits(f"{self.k} pear")], [self.ids[3], self.ids[2]])
        self.assertEqual(len(self.sql_hits(self.k, top=1)), 1)
        self.assertEqual([i for i, _ in self.sql_hits(f"{self.k} fig")], [self.ids[0]])

    def test_verify_and_stats(self):
        v = self.verify()
        live = int(psql("SELECT count(*) FROM api.story"))
        self.assertEqual((v["ok"], v["rows"], v["indexed"], v["missing"], v["unexpected"], v["duplicated"]),
                         (True, live, live, [], [], []))
        s = self.stats()
        self.assertEqual(s["documents"], live)
        self.assertGreaterEqual(s["segments"], 1)
        self.assertGreater(s["bytes"], 0)

    def test_merge_and_rebuild_keep_the_results(self):
        # (equal scores may come in another order, and scores move a little once deleted
        # documents leave the statistics: compare the sets, and the order where scores differ)
        def found():
            return {q: {i for i, _ in h} for q, h in self.results().items()}

        before = found()
        self.assertEqual(before[self.k], {self.ids[0], self.ids[2], self.ids[3]})
        self.assertEqual(before[f"{self.k} -pear"], {self.ids[0]})
        merged = json.loads(psql("SELECT specstar.search_merge('story')"))
        self.assertGreaterEqual(merged["merged"], 1)
        self.assertGreaterEqual(merged["tombstones_dropped"], 2)
        s = self.stats()
        self.assertEqual((s["segments"], s["tombstones"]), (1, 0))
        self.assertEqual(found(), before)
        self.assertEqual([i for i, _ in self.sql_hits(f"{self.k} pear")], [self.ids[3], self.ids[2]])
        self.assertTrue(self.verify()["ok"])
        rebuilt = json.loads(psql("SELECT specstar.search_rebuild('story')"))
        self.assertEqual(rebuilt["documents"], int(psql("SELECT count(*) FROM api.story")))
        self.assertEqual(found(), before)
        self.assertEqual([i for i, _ in self.sql_hits(f"{self.k} pear")], [self.ids[3], self.ids[2]])
        self.assertTrue(self.verify()["ok"])
        # and the index keeps following writes
        n = create(f"{self.k} after rebuild", "kiwi")
        self.assertEqual([i for i, _ in self.sql_hits(f"{self.k} rebuild")], [n["id"]])
        self.assertEqual(hits(f"{self.k} kiwi"), [n["id"]])
        S.request("DELETE", f"/story?id=eq.{n['id']}", auth=WRITER)
        self.assertEqual(hits(f"{self.k} kiwi"), [])
        # the rebuilt segment, the insert's, and the delete's (its tombstone only)
        self.assertEqual((self.stats()["segments"], self.stats()["tombstones"]), (3, 1))

    def test_errors(self):
        self.assertTrue(sql_error("SELECT * FROM specstar.search('author', 'x')").startswith("22023"))
        self.assertTrue(sql_error("SELECT * FROM specstar.search('nosuchspec', 'x')").startswith("PT404"))
        self.assertTrue(sql_error("SELECT * FROM specstar.search('story', 'fox AND (')").startswith("22023"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
