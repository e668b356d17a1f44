"""Black-box tests of the GraphQL endpoint (POST/GET /rpc/graphql, docs/graphql.md) through
the real PostgREST 12 binary: every query and mutation kind, fragments, variables,
aliases, directives, operationName, GET, errors with their codes, atomicity, optimistic
concurrency, upserts, relationships both ways, limits, the statements a request runs
(pg_stat_statements), and the introspection checked by graphql-core — an independent
implementation — which must build a client schema that validates every document sent here.

Run by scripts/test.sh (suite "http") as its own process, with its own PostgREST."""
import base64
import json
import unittest
import urllib.parse
import uuid

import graphql

from support import Server, psql, run_readme_tour, token

S = Server()
WRITER = token("web_writer", "alice")
GUEST = token("web_guest", "mallory")  # a role PostgREST knows, without grants on the specs
SENT = []  # (document, auth, response) of every request: checked against the introspection at the end


def setUpModule():
    S.start()
    psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


def tearDownModule():
    S.stop()


def gql(query, variables=None, operation=None, auth=WRITER, method="POST", headers=None, raw_variables=None):
    """One GraphQL request; returns the parsed response (asserting HTTP 200)."""
    if method == "POST":
        body = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation is not None:
            body["operationName"] = operation
        r = S.request("POST", "/rpc/graphql", body, headers, auth)
    else:
        params = {"query": query}
        if variables is not None:
            params["variables"] = json.dumps(variables)
        if raw_variables is not None:
            params["variables"] = raw_variables
        if operation is not None:
            params["operationName"] = operation
        r = S.request("GET", "/rpc/graphql?" + urllib.parse.urlencode(params), None, headers, auth)
    assert r.status == 200, r
    SENT.append((query, auth, r.json))
    return r.json


def ok(response):
    """The data of a response that must have no errors."""
    assert "errors" not in response, response
    return response["data"]


def codes(response):
    return [e["extensions"]["code"] for e in response.get("errors", [])]


def article_state():
    """Everything a refused mutation must leave as it was."""
    return psql("SELECT (SELECT coalesce(json_agg(a ORDER BY id), '[]') FROM api.article a)::text"
                " || (SELECT count(*) FROM api.article_revision)::text"
                " || (SELECT coalesce(json_agg(d ORDER BY id), '[]') FROM api.article_draft d)::text")


def insert_author(name="Ada", email=None):
    email = email or f"{uuid.uuid4().hex[:8]}@example.com"
    d = ok(gql("mutation($o: [AuthorInsertInput!]!) { insertIntoAuthorCollection(objects: $o) { records { id name } } }",
               {"o": [{"name": name, "email": email}]}))
    return d["insertIntoAuthorCollection"]["records"][0]["id"]


def insert_articles(*objects):
    d = ok(gql("mutation($o: [ArticleInsertInput!]!) { insertIntoArticleCollection(objects: $o) { affectedCount records { id revision } } }",
               {"o": list(objects)}))
    assert d["insertIntoArticleCollection"]["affectedCount"] == len(objects)
    return [r["id"] for r in d["insertIntoArticleCollection"]["records"]]


class Queries(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tag = uuid.uuid4().hex[:8]
        cls.author = insert_author("Grace")
        cls.ids = insert_articles(*[
            {"title": f"Q{i} {cls.tag}", "views": i, "tags": [cls.tag, f"n{i % 2}"], "author": cls.author,
             "body": f"searchable words {cls.tag} item{i}"}
            for i in range(7)
        ])

    def page(self, args, fields="edges { cursor node { title views } } pageInfo { startCursor endCursor hasNextPage hasPreviousPage } totalCount"):
        q = f'query($f: ArticleFilter) {{ articleCollection(filter: $f, orderBy: [{{views: AscNullsLast}}] {args}) {{ {fields} }} }}'
        return ok(gql(q, {"f": {"tags": {"contains": [self.tag]}}}))["articleCollection"]

    def test_collection_pages_forward_and_backward_by_keyset(self):
        p1 = self.page(", first: 3")
        self.assertEqual([e["node"]["title"] for e in p1["edges"]], [f"Q{i} {self.tag}" for i in range(3)])
        self.assertEqual([e["node"]["views"] for e in p1["edges"]], ["0", "1", "2"])  # BigInt: strings
        self.assertEqual(p1["totalCount"], 7)
        self.assertTrue(p1["pageInfo"]["hasNextPage"])
        self.assertFalse(p1["pageInfo"]["hasPreviousPage"])
        self.assertEqual(p1["edges"][-1]["cursor"], p1["pageInfo"]["endCursor"])
        self.assertEqual(p1["edges"][0]["cursor"], p1["pageInfo"]["startCursor"])
        p2 = self.page(f', first: 3, after: "{p1["pageInfo"]["endCursor"]}"')
        self.assertEqual([e["node"]["views"] for e in p2["edges"]], ["3", "4", "5"])
        self.assertTrue(p2["pageInfo"]["hasPreviousPage"])
        self.assertTrue(p2["pageInfo"]["hasNextPage"])
        p3 = self.page(f', first: 3, after: "{p2["pageInfo"]["endCursor"]}"')
        self.assertEqual([e["node"]["views"] for e in p3["edges"]], ["6"])
        self.assertFalse(p3["pageInfo"]["hasNextPage"])
        back = self.page(f', last: 2, before: "{p3["pageInfo"]["startCursor"]}"')
        self.assertEqual([e["node"]["views"] for e in back["edges"]], ["4", "5"])
        self.assertTrue(back["pageInfo"]["hasPreviousPage"])
        self.assertTrue(back["pageInfo"]["hasNextPage"])
        last = self.page(", last: 2")
        self.assertEqual([e["node"]["views"] for e in last["edges"]], ["5", "6"])
        self.assertFalse(last["pageInfo"]["hasNextPage"])
        self.assertTrue(last["pageInfo"]["hasPreviousPage"])
        off = self.page(", first: 2, offset: 5")
        self.assertEqual([e["node"]["views"] for e in off["edges"]], ["5", "6"])
        self.assertTrue(off["pageInfo"]["hasPreviousPage"])

    def test_order_desc_and_cursor_of_another_order(self):
        q = 'query($f: ArticleFilter) { articleCollection(filter: $f, first: 2, orderBy: [{views: DescNullsLast}]) { edges { cursor node { views } } } }'
        d = ok(gql(q, {"f": {"tags": {"contains": [self.tag]}}}))["articleCollection"]
        self.assertEqual([e["node"]["views"] for e in d["edges"]], ["6", "5"])
        # a cursor with another number of order keys is refused with a clear error
        r = gql('{ articleCollection(first: 1, after: "%s") { totalCount } }' % d["edges"][0]["cursor"])
        self.assertEqual(codes(r), ["22023"])
        self.assertIsNone(r["data"])  # articleCollection is non-null
        r = gql('{ articleCollection(after: "not a cursor") { totalCount } }')
        self.assertEqual(codes(r), ["22023"])

    def test_filters(self):
        def titles(f):
            q = 'query($f: ArticleFilter) { articleCollection(filter: $f) { edges { node { views } } } }'
            d = ok(gql(q, {"f": {"and": [{"tags": {"contains": [self.tag]}}, f]}}))
            return sorted(int(e["node"]["views"]) for e in d["articleCollection"]["edges"])
        self.assertEqual(titles({"views": {"gte": "5"}}), [5, 6])
        self.assertEqual(titles({"views": {"in": [1, 3]}}), [1, 3])
        self.assertEqual(titles({"or": [{"views": {"lt": 1}}, {"views": {"eq": 6}}]}), [0, 6])
        self.assertEqual(titles({"not": {"views": {"lte": 4}}}), [5, 6])
        self.assertEqual(titles({"tags": {"overlaps": ["n1"]}}), [1, 3, 5])
        self.assertEqual(titles({"tags": {"overlaps": "n1"}}), [1, 3, 5])  # one value where a list goes
        self.assertEqual(titles({"title": {"startsWith": "Q2"}}), [2])
        self.assertEqual(titles({"title": {"ilike": "q3%"}}), [3])
        self.assertEqual(titles({"title": {"regex": "^Q[45] "}}), [4, 5])
        self.assertEqual(titles({"publishedAt": {"is": "NULL"}, "views": {"neq": "0"}}), [1, 2, 3, 4, 5, 6])
        self.assertEqual(titles({"id": {"eq": self.ids[2]}}), [2])
        self.assertEqual(titles({"authorRecord": {"name": {"eq": "Grace"}}, "views": {"lt": 2}}), [0, 1])
        self.assertEqual(titles({"authorRecord": {"name": {"eq": "nobody"}}}), [])
        node_id = base64.b64encode(json.dumps(["api", "article", self.ids[4]]).encode()).decode()
        self.assertEqual(titles({"nodeId": {"eq": node_id}}), [4])

    def test_by_pk_node_and_relationships_both_ways(self):
        q = """query($id: UUID!) { articleByPk(id: $id) { __typename nodeId id title authorRecord { name
                 articleCollectionByAuthor(first: 2, orderBy: [{views: DescNullsLast}], filter: {tags: {contains: [$tag]}}) {
                   totalCount edges { node { views } } } } } }"""
        q = q.replace("$tag", json.dumps(self.tag))
        a = ok(gql(q, {"id": self.ids[1]}))["articleByPk"]
        self.assertEqual(a["__typename"], "Article")
        self.assertEqual(a["authorRecord"]["name"], "Grace")
        self.assertEqual(a["authorRecord"]["articleCollectionByAuthor"]["totalCount"], 7)
        self.assertEqual([e["node"]["views"] for e in a["authorRecord"]["articleCollectionByAuthor"]["edges"]], ["6", "5"])
        self.assertEqual(json.loads(base64.b64decode(a["nodeId"])), ["api", "article", self.ids[1]])
        n = ok(gql('query($n: ID!) { node(nodeId: $n) { nodeId ... on Article { title } ... on Author { name } } }', {"n": a["nodeId"]}))
        self.assertEqual(n["node"]["title"], f"Q1 {self.tag}")
        self.assertIsNone(ok(gql('query($id: UUID!) { articleByPk(id: $id) { id } }', {"id": str(uuid.uuid4())}))["articleByPk"])
        # an author with no articles: an empty connection, not null
        lonely = insert_author("Lonely")
        d = ok(gql('query($id: UUID!) { authorByPk(id: $id) { articleCollectionByAuthor { totalCount edges { cursor } pageInfo { hasNextPage endCursor } } } }', {"id": lonely}))
        self.assertEqual(d["authorByPk"]["articleCollectionByAuthor"], {"totalCount": 0, "edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}})

    def test_fragments_aliases_directives_and_operation_name(self):
        doc = """
          fragment Head on Article { title ...Counts }
          fragment Counts on Article { views }
          query Two($a: UUID!, $b: UUID!, $withTags: Boolean!, $noViews: Boolean!) {
            first: articleByPk(id: $a) { ...Head tags @include(if: $withTags) }
            second: articleByPk(id: $b) { ...Head id @skip(if: true) body @skip(if: $noViews) views @skip(if: true) }
          }
          query Other { articleCollection(first: 1) { totalCount } }"""
        d = ok(gql(doc, {"a": self.ids[0], "b": self.ids[3], "withTags": True, "noViews": False}, operation="Two"))
        self.assertEqual(d["first"], {"title": f"Q0 {self.tag}", "views": "0", "tags": [self.tag, "n0"]})
        # views is skipped once but selected by the fragment: it stays (CollectFields)
        self.assertEqual(d["second"], {"title": f"Q3 {self.tag}", "views": "3", "body": f"searchable words {self.tag} item3"})
        d = ok(gql(doc, {"a": self.ids[0], "b": self.ids[3], "withTags": False, "noViews": True}, operation="Two"))
        self.assertNotIn("tags", d["first"])
        self.assertEqual(d["second"], {"title": f"Q3 {self.tag}", "views": "3"})
        self.assertIn("articleCollection", ok(gql(doc, operation="Other")))
        r = gql(doc)  # two operations, no operationName
        self.assertEqual(codes(r), ["GRAPHQL_VALIDATION_FAILED"])
        r = gql(doc, operation="Missing")
        self.assertEqual(codes(r), ["GRAPHQL_VALIDATION_FAILED"])

    def test_get_queries_take_variables_as_a_json_string(self):
        d = ok(gql('query($id: UUID!) { articleByPk(id: $id) { title } }', {"id": self.ids[5]}, method="GET"))
        self.assertEqual(d["articleByPk"]["title"], f"Q5 {self.tag}")
        d = ok(gql('{ a: articleByPk(id: "%s") { title } }' % self.ids[6], method="GET"))
        self.assertEqual(d["a"]["title"], f"Q6 {self.tag}")
        r = gql('query($id: UUID!) { articleByPk(id: $id) { title } }', raw_variables="[1,2]", method="GET")
        self.assertEqual(codes(r), ["GRAPHQL_VALIDATION_FAILED"])

    def test_versioning_fields(self):
        aid = self.ids[0]
        ok(gql('mutation($id: UUID!) { updateArticleCollection(set: {title: "Q0 renamed"}, filter: {id: {eq: $id}}) { affectedCount } }', {"id": aid}))
        q = """query($id: UUID!) {
          rev1: articleAt(id: $id, revision: 1) { title revision }
          now: articleAt(id: $id) { title revision }
          missing: articleAt(id: $id, revision: 99) { title }
          diff: articleDiff(id: $id, fromRevision: 1)
          revs: articleRevisions(id: $id) { totalCount edges { node { revision op parentRevision data changedBy } } }
          nested: articleByPk(id: $id) { revisions(last: 1) { edges { node { revision op } } pageInfo { hasPreviousPage } } }
        }"""
        d = ok(gql(q, {"id": aid}))
        self.assertEqual(d["rev1"], {"title": f"Q0 {self.tag}", "revision": 1})
        self.assertEqual(d["now"], {"title": "Q0 renamed", "revision": 2})
        self.assertIsNone(d["missing"])  # null, no error
        self.assertEqual(d["diff"], [{"op": "replace", "path": "/title", "value": "Q0 renamed"}])
        self.assertEqual(d["revs"]["totalCount"], 2)
        self.assertEqual([e["node"]["op"] for e in d["revs"]["edges"]], ["create", "update"])
        self.assertEqual(d["revs"]["edges"][1]["node"]["parentRevision"], 1)
        self.assertEqual(d["revs"]["edges"][0]["node"]["data"]["title"], f"Q0 {self.tag}")  # JSON as JSON
        self.assertEqual(d["revs"]["edges"][0]["node"]["changedBy"], "alice")
        self.assertEqual(d["nested"]["revisions"]["edges"], [{"node": {"revision": 2, "op": "update"}}])
        self.assertTrue(d["nested"]["revisions"]["pageInfo"]["hasPreviousPage"])
        r = gql('query($id: UUID!) { articleAt(id: $id, revision: 1, at: "2020-01-01T00:00:00Z") { id } }', {"id": aid})
        self.assertEqual(codes(r), ["22023"])
        self.assertEqual(r["errors"][0]["path"], ["articleAt"])
        self.assertEqual(r["data"], {"articleAt": None})  # nullable: the error stays on its field
        r = gql('query($id: UUID!) { articleDiff(id: $id, fromRevision: 9) ok: articleByPk(id: $id) { revision } }', {"id": aid})
        self.assertEqual(codes(r), ["PT404"])
        self.assertEqual(r["data"], {"articleDiff": None, "ok": {"revision": 2}})
        at = psql(f"SELECT to_json(valid_to) FROM api.article_revision WHERE id = '{aid}' AND revision = 1").strip('"')
        d = ok(gql('query($at: Datetime!, $t: [String!]) { articleAsOf(at: $at, filter: {tags: {contains: $t}, views: {eq: 0}}) { edges { node { title revision } } } }',
                   {"at": psql(f"SELECT to_json(valid_from) FROM api.article_revision WHERE id = '{aid}' AND revision = 1").strip('"'), "t": [self.tag]}))
        self.assertEqual(d["articleAsOf"]["edges"], [{"node": {"title": f"Q0 {self.tag}", "revision": 1}}])
        self.assertTrue(at)
        d = ok(gql('query($id: UUID!) { articleRevisionCollection(filter: {id: {eq: $id}, op: {eq: update}}) { edges { node { revision } } } }', {"id": aid}))
        self.assertEqual(d["articleRevisionCollection"]["edges"], [{"node": {"revision": 2}}])

    def test_search_applies_the_filter_before_top(self):
        q = 'query($q: String!, $f: ArticleFilter) { articleSearch(q: $q, top: 2, filter: $f) { score highlights node { views } } }'
        d = ok(gql(q, {"q": self.tag, "f": {"views": {"gte": 4}}}))
        hits = d["articleSearch"]
        self.assertEqual(len(hits), 2)
        self.assertTrue(all(int(h["node"]["views"]) >= 4 for h in hits))
        self.assertTrue(all(h["score"] > 0 for h in hits))
        self.assertIn("<b>", json.dumps(hits[0]["highlights"]))
        r = gql('{ articleSearch(q: "((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))") { score } }')
        self.assertEqual(codes(r), ["22023"])


class Mutations(unittest.TestCase):
    def test_insert_update_delete_with_messages_and_authors(self):
        tag = uuid.uuid4().hex[:8]
        d = ok(gql('mutation($o: [ArticleInsertInput!]!) { insertIntoArticleCollection(objects: $o) { affectedCount records { title status views tags createdBy revision revisions { totalCount } } } }',
                   {"o": [{"title": f"M1 {tag}"}, {"title": f"M2 {tag}", "views": "41", "tags": ["x", tag]}]},
                   headers={"X-Specstar-Message": "bulk import"}))
        ins = d["insertIntoArticleCollection"]
        self.assertEqual(ins["affectedCount"], 2)
        self.assertEqual([r["status"] for r in ins["records"]], ["draft", "draft"])  # spec defaults
        self.assertEqual(ins["records"][1]["views"], "41")
        self.assertEqual(ins["records"][0]["createdBy"], "alice")
        self.assertEqual(ins["records"][0]["revisions"]["totalCount"], 1)  # nested reads see the write
        self.assertEqual(psql(f"SELECT string_agg(DISTINCT message, ',') FROM api.article_revision r JOIN api.article a USING (id) WHERE a.title LIKE '%{tag}'"), "bulk import")
        d = ok(gql('mutation($t: String!) { updateArticleCollection(set: {views: 7}, filter: {title: {eq: $t}}) { affectedCount records { views revision revisions { edges { node { op } } } } } }',
                   {"t": f"M1 {tag}"}))
        up = d["updateArticleCollection"]
        self.assertEqual(up["affectedCount"], 1)
        self.assertEqual(up["records"][0]["views"], "7")
        self.assertEqual(up["records"][0]["revision"], 2)
        self.assertEqual([e["node"]["op"] for e in up["records"][0]["revisions"]["edges"]], ["create", "update"])
        # atMost: two records match, one allowed → 22000 and nothing changes
        before = article_state()
        d2 = gql('mutation($t: String!) { updateArticleCollection(set: {views: 9}, filter: {title: {like: $t}}) { affectedCount } }', {"t": f"%{tag}"})
        self.assertEqual(codes(d2), ["22000"])
        self.assertIsNone(d2["data"])
        self.assertEqual(d2["errors"][0]["message"], "update impacts too many records")
        self.assertEqual(d2["errors"][0]["path"], ["updateArticleCollection"])
        self.assertEqual(article_state(), before)
        # an explicit null clears a property (SQL NULL, not the JSON value null)
        d = ok(gql('mutation($t: String!) { updateArticleCollection(set: {tags: null, publishedAt: null}, filter: {title: {eq: $t}}) { records { tags } } }', {"t": f"M2 {tag}"}))
        self.assertEqual(d["updateArticleCollection"]["records"], [{"tags": None}])
        d = ok(gql('mutation($t: String!) { updateArticleCollection(set: {views: 9}, filter: {title: {like: $t}}, atMost: 2) { affectedCount } }', {"t": f"%{tag}"}))
        self.assertEqual(d["updateArticleCollection"]["affectedCount"], 2)
        d = ok(gql('mutation($t: String!) { deleteFromArticleCollection(filter: {title: {like: $t}}, atMost: 5) { affectedCount records { title revision } } }', {"t": f"%{tag}"}))
        self.assertEqual(d["deleteFromArticleCollection"]["affectedCount"], 2)
        self.assertEqual(sorted(r["title"] for r in d["deleteFromArticleCollection"]["records"]), [f"M1 {tag}", f"M2 {tag}"])
        self.assertEqual(psql(f"SELECT count(*) FROM api.article WHERE title LIKE '%{tag}'"), "0")
        self.assertEqual(psql(f"SELECT count(*) FROM api.article_revision WHERE op = 'delete' AND data ->> 'title' LIKE '%{tag}'"), "2")

    def test_expected_revision_is_checked_by_every_write(self):
        (aid,) = insert_articles({"title": "Stale"})
        before = article_state()
        for doc in [
            'mutation($id: UUID!) { updateArticleCollection(set: {title: "x"}, filter: {id: {eq: $id}}, expectedRevision: 5) { affectedCount } }',
            'mutation($id: UUID!) { deleteFromArticleCollection(filter: {id: {eq: $id}}, expectedRevision: 5) { affectedCount } }',
            'mutation($id: UUID!) { articlePatch(id: $id, patch: [{op: "replace", path: "/title", value: "x"}], expectedRevision: 5) { revision } }',
            'mutation($id: UUID!) { articleRollback(id: $id, toRevision: 1, expectedRevision: 5) { revision } }',
        ]:
            r = gql(doc, {"id": aid})
            self.assertEqual(codes(r), ["PT409"], doc)
            self.assertIsNone(r["data"])
            self.assertEqual(r["errors"][0]["extensions"]["details"], {"id": aid, "expected_revision": 5, "current_revision": 1})
            self.assertIn("hint", r["errors"][0]["extensions"])
            self.assertEqual(article_state(), before)
        d = ok(gql('mutation($id: UUID!) { deleteFromArticleCollection(filter: {id: {eq: $id}}, expectedRevision: 1) { affectedCount } }', {"id": aid}))
        self.assertEqual(d["deleteFromArticleCollection"]["affectedCount"], 1)

    def test_invalid_documents_are_pt422_with_details(self):
        before = article_state()
        r = gql('mutation { insertIntoArticleCollection(objects: [{title: ""}]) { affectedCount } }')
        self.assertEqual(codes(r), ["PT422"])
        self.assertIsNone(r["data"])
        details = r["errors"][0]["extensions"]["details"]
        self.assertIsInstance(details, list)
        self.assertEqual(details[0]["path"], "/title")
        self.assertEqual(details[0]["keyword"], "minLength")
        r = gql('mutation { insertIntoArticleCollection(objects: [{status: "gone", title: "t"}]) { affectedCount } }')
        self.assertEqual(codes(r), ["PT422"])
        r = gql('mutation($a: UUID) { insertIntoArticleCollection(objects: [{title: "t", author: $a}]) { affectedCount } }', {"a": str(uuid.uuid4())})
        self.assertEqual(codes(r), ["23503"])  # x-ref to nobody
        self.assertEqual(article_state(), before)

    def test_root_mutations_are_atomic(self):
        tag = uuid.uuid4().hex[:8]
        before = article_state()
        r = gql('mutation($t: String!) { a: insertIntoArticleCollection(objects: [{title: $t}]) { affectedCount } '
                'b: insertIntoArticleCollection(objects: [{title: ""}]) { affectedCount } }', {"t": tag})
        self.assertEqual(codes(r), ["PT422"])
        self.assertEqual(r["errors"][0]["path"], ["b"])
        self.assertIsNone(r["data"])
        self.assertEqual(psql(f"SELECT count(*) FROM api.article WHERE title = '{tag}'"), "0")
        self.assertEqual(article_state(), before)
        # in document order: the second sees the first
        d = ok(gql('mutation($t: String!) { a: insertIntoArticleCollection(objects: [{title: $t}]) { affectedCount } '
                   'b: updateArticleCollection(set: {views: 3}, filter: {title: {eq: $t}}) { records { views revision } } }', {"t": tag}))
        self.assertEqual(d["b"]["records"], [{"views": "3", "revision": 2}])

    def test_upsert_on_id_and_on_a_unique_property(self):
        email = f"{uuid.uuid4().hex[:8]}@example.com"
        q = 'mutation($o: [AuthorInsertInput!]!, $c: AuthorOnConflict) { insertIntoAuthorCollection(objects: $o, onConflict: $c) { affectedCount records { id name revision } } }'
        first = ok(gql(q, {"o": [{"name": "One", "email": email}]}))["insertIntoAuthorCollection"]["records"][0]
        r = gql(q, {"o": [{"name": "Two", "email": email}]})
        self.assertEqual(codes(r), ["23505"])
        d = ok(gql(q, {"o": [{"name": "Two", "email": email}], "c": {"on": ["email"], "update": ["name"]}}))
        rec = d["insertIntoAuthorCollection"]["records"][0]
        self.assertEqual((rec["id"], rec["name"], rec["revision"]), (first["id"], "Two", 2))
        d = ok(gql(q, {"o": [{"name": "Two", "email": email}], "c": {"on": ["email"], "update": ["name"]}}))
        self.assertEqual(d["insertIntoAuthorCollection"]["records"][0]["revision"], 2)  # nothing changed: no revision
        d = ok(gql(q, {"o": [{"id": first["id"], "name": "Three", "email": email}], "c": {"on": ["id"], "update": ["name"]}}))
        self.assertEqual(d["insertIntoAuthorCollection"]["records"][0]["name"], "Three")
        r = gql(q, {"o": [{"name": "x"}], "c": {"on": ["name"], "update": []}})
        self.assertEqual(codes(r), ["22023"])

    def test_patch_rollback_restore(self):
        (aid,) = insert_articles({"title": "P1", "views": 1})
        d = ok(gql('mutation($id: UUID!) { articlePatch(id: $id, patch: [{op: "replace", path: "/title", value: "P2"}], expectedRevision: 1) { title revision } }', {"id": aid}))
        self.assertEqual(d["articlePatch"], {"title": "P2", "revision": 2})
        d = ok(gql('mutation($id: UUID!) { articleRollback(id: $id, toRevision: 1) { title revision revisions { edges { node { op } } } } }', {"id": aid}))
        self.assertEqual(d["articleRollback"]["title"], "P1")
        self.assertEqual([e["node"]["op"] for e in d["articleRollback"]["revisions"]["edges"]], ["create", "update", "rollback"])
        ok(gql('mutation($id: UUID!) { deleteFromArticleCollection(filter: {id: {eq: $id}}) { affectedCount } }', {"id": aid}))
        d = ok(gql('mutation($id: UUID!) { articleRestore(id: $id) { title revision } }', {"id": aid}))
        self.assertEqual(d["articleRestore"], {"title": "P1", "revision": 5})
        r = gql('mutation($id: UUID!) { articleRestore(id: $id) { title } }', {"id": aid})
        self.assertEqual(codes(r), ["PT409"])
        r = gql('mutation($id: UUID!) { articleRestore(id: $id) { title } }', {"id": str(uuid.uuid4())})
        self.assertEqual(codes(r), ["PT404"])

    def test_drafts(self):
        (aid,) = insert_articles({"title": "Live", "views": 2})
        d = ok(gql('mutation($id: UUID!) { articleSaveDraft(id: $id, set: {title: "Draft"}) { id title views baseRevision } }', {"id": aid}))
        self.assertEqual(d["articleSaveDraft"], {"id": aid, "title": "Draft", "views": "2", "baseRevision": 1})
        d = ok(gql('mutation($id: UUID!) { articleSaveDraft(id: $id, set: {views: 5}) { title views } }', {"id": aid}))
        self.assertEqual(d["articleSaveDraft"], {"title": "Draft", "views": "5"})  # absent keys kept
        d = ok(gql('query($id: UUID!) { articleByPk(id: $id) { title draft { title views } } articleDraftCollection(filter: {id: {eq: $id}}) { totalCount } }', {"id": aid}))
        self.assertEqual(d["articleByPk"], {"title": "Live", "draft": {"title": "Draft", "views": "5"}})
        self.assertEqual(d["articleDraftCollection"]["totalCount"], 1)
        d = ok(gql('mutation($id: UUID!) { articlePublish(id: $id) { title views revision draft { id } } }', {"id": aid}))
        self.assertEqual(d["articlePublish"], {"title": "Draft", "views": "5", "revision": 2, "draft": None})
        d = ok(gql('mutation { articleSaveDraft(set: {title: "Brand new"}) { id title baseRevision } }'))
        new = d["articleSaveDraft"]
        self.assertIsNone(new["baseRevision"])
        self.assertIsNone(ok(gql('query($id: UUID!) { articleByPk(id: $id) { id } }', {"id": new["id"]}))["articleByPk"])
        d = ok(gql('mutation($id: UUID!) { articleDiscard(id: $id) }', {"id": new["id"]}))
        self.assertEqual(d, {"articleDiscard": True})
        r = gql('mutation($id: UUID!) { articleDiscard(id: $id) }', {"id": new["id"]})
        self.assertEqual(codes(r), ["PT404"])


class Refusals(unittest.TestCase):
    def test_mutation_over_get_is_a_graphql_error(self):
        before = article_state()
        r = gql('mutation { insertIntoArticleCollection(objects: [{title: "get"}]) { affectedCount } }', method="GET")
        self.assertEqual(codes(r), ["25006"])
        self.assertIn("POST", r["errors"][0]["message"])
        self.assertNotIn("data", r)
        self.assertEqual(article_state(), before)

    def test_anonymous_callers_cannot_write(self):
        before = article_state()
        r = gql('mutation { insertIntoArticleCollection(objects: [{title: "anon"}]) { affectedCount } }', auth=None)
        self.assertEqual(codes(r), ["42501"])
        self.assertEqual(article_state(), before)
        # it reads, and its schema has no mutations
        self.assertIn("articleCollection", ok(gql('{ articleCollection(first: 1) { totalCount } }', auth=None)))
        sdl = S.request("GET", "/rpc/graphql_sdl").json
        self.assertIn("articleCollection", sdl)
        self.assertNotIn("type Mutation", sdl)
        self.assertNotIn("Draft", sdl)
        self.assertIn("type Mutation", S.request("GET", "/rpc/graphql_sdl", auth=WRITER).json)

    def test_a_role_without_grants_is_refused_by_postgrest(self):
        r = S.request("POST", "/rpc/graphql", {"query": "{ __typename }"}, None, GUEST)
        self.assertIn(r.status, (401, 403))

    def test_parse_and_validation_errors(self):
        r = gql('{ articleCollection { ')
        self.assertEqual(set(codes(r)), {"GRAPHQL_PARSE_FAILED"})
        self.assertIn("locations", r["errors"][0])
        self.assertNotIn("data", r)
        r = gql('{ articleCollection { nope } }')
        self.assertEqual(set(codes(r)), {"GRAPHQL_VALIDATION_FAILED"})
        nope = [e for e in r["errors"] if "`nope`" in e["message"]]
        self.assertEqual(nope[0]["locations"], [{"line": 1, "column": 23}])
        r = gql('query($n: Int) { articleCollection(first: $n) { totalCount } }', {"n": "three"})
        self.assertEqual(codes(r), ["GRAPHQL_VALIDATION_FAILED"])
        r = gql('query($id: UUID!) { articleByPk(id: $id) { id } }', {})
        self.assertEqual(codes(r), ["GRAPHQL_VALIDATION_FAILED"])
        r = gql('{ articleCollection(first: 1, last: 1) { totalCount } }')
        self.assertEqual(codes(r), ["22023"])
        r = gql("")
        self.assertEqual(codes(r), ["GRAPHQL_PARSE_FAILED"])
        r = gql('{ articleByPk(id: "not-a-uuid") { id } }')
        self.assertEqual(codes(r), ["22P02"])
        self.assertEqual(r["data"], {"articleByPk": None})

    def test_depth_and_size_limits(self):
        deep = "{ articleCollection { edges { node { " + "authorRecord { articleCollectionByAuthor { edges { node { " * 8 + "id" + " } } } }" * 8 + " } } } }"
        r = gql(deep)
        self.assertEqual(codes(r)[:1], ["GRAPHQL_PARSE_FAILED"])
        self.assertIn("limit", r["errors"][0]["message"])
        r = gql("{ " + "a: __typename " * 60000 + "}")
        self.assertEqual(codes(r)[:1], ["GRAPHQL_PARSE_FAILED"])
        r = gql("{ __typename }" + " " * (300 << 10))
        self.assertEqual(codes(r), ["GRAPHQL_PARSE_FAILED"])
        nested = 1
        for _ in range(150):
            nested = [nested]
        r = gql('query($p: JSON!, $id: UUID!) { articleDiff(id: $id, fromRevision: 1) }', {"p": nested, "id": str(uuid.uuid4())})
        self.assertEqual(codes(r), ["GRAPHQL_VALIDATION_FAILED"])
        deep_filter = {"title": {"eq": "x"}}
        for _ in range(40):
            deep_filter = {"not": deep_filter}
        r = gql('query($f: ArticleFilter) { articleCollection(filter: $f) { totalCount } }', {"f": deep_filter})
        self.assertEqual(codes(r), ["22023"])
        # fragments that multiply: 4 spreads of 4 spreads of ... selects too many fields
        frags = ["fragment F0 on Article { id title views tags status body }"]
        for i in range(1, 11):
            frags.append(f"fragment F{i} on Article {{ ...F{i - 1} a{i}: authorRecord {{ id }} ...F{i - 1} ...F{i - 1} }}")
        doc = "{ articleCollection { edges { node { ...F10 } } } } " + " ".join(frags)
        r = gql(doc)
        self.assertTrue(set(codes(r)) <= {"54001", "GRAPHQL_VALIDATION_FAILED"} and codes(r), r)

    def test_sql_looking_strings_are_values_in_every_argument(self):
        evil = "x'); DROP TABLE specstar_data.article; --"
        before = article_state()
        docs = [
            ('query($s: String!) { articleCollection(filter: {title: {eq: $s}, body: {like: $s}, status: {in: [$s]}}) { totalCount } }', {"s": evil}),
            ('query($s: String!) { articleSearch(q: $s) { score } }', {"s": evil}),
            ('query($s: String!) { articleCollection(filter: {tags: {contains: [$s]}}) { totalCount } }', {"s": evil}),
            ('query($s: String) { articleCollection(filter: {createdBy: {regex: $s}}) { totalCount } }', {"s": "a"}),
            ('query($s: Cursor) { articleCollection(after: $s) { totalCount } }', {"s": base64.b64encode(json.dumps([evil]).encode()).decode()}),
            ('query($s: ID!) { node(nodeId: $s) { nodeId } }', {"s": base64.b64encode(json.dumps(["api", "article'--", str(uuid.uuid4())]).encode()).decode()}),
            ('mutation($s: String!) { updateArticleCollection(set: {title: $s}, filter: {title: {eq: $s}}) { affectedCount } }', {"s": evil}),
        ]
        for doc, variables in docs:
            r = gql(doc, variables)
            self.assertTrue(set(codes(r)) <= {"22023", "PT404"}, (doc, r))
        self.assertEqual(article_state(), before)
        (aid,) = insert_articles({"title": evil, "tags": [evil]})
        d = ok(gql('query($s: String) { articleCollection(filter: {title: {eq: $s}}) { edges { node { id title tags } } } }', {"s": evil}))
        self.assertEqual(d["articleCollection"]["edges"], [{"node": {"id": aid, "title": evil, "tags": [evil]}}])


class Statements(unittest.TestCase):
    def test_one_statement_per_root_field(self):
        author = insert_author("Counted")
        tag = uuid.uuid4().hex[:8]
        ids = insert_articles(*[{"title": f"S{i}", "tags": [tag], "author": author} for i in range(50)])
        # three revisions each
        ok(gql('mutation($t: [String!]) { updateArticleCollection(set: {views: 1}, filter: {tags: {contains: $t}}, atMost: 50) { affectedCount } }', {"t": [tag]}))
        ok(gql('mutation($t: [String!]) { updateArticleCollection(set: {views: 2}, filter: {tags: {contains: $t}}, atMost: 50) { affectedCount } }', {"t": [tag]}))
        q = """query($t: [String!]) { articleCollection(first: 50, filter: {tags: {contains: $t}}) {
                 edges { node { id title revisions(last: 3) { edges { node { revision op } } } authorRecord { name } } } } }"""
        # (scripts/test.sh starts the cluster with pg_stat_statements.track = all: nested statements count)
        psql("SELECT pg_stat_statements_reset()")
        d = ok(gql(q, {"t": [tag]}))
        stats = psql("SELECT json_agg(json_build_object('query', query, 'calls', calls)) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
                     "WHERE d.datname = 'specstar_http' AND s.query LIKE '%\"article_revision\"%'")
        edges = d["articleCollection"]["edges"]
        self.assertEqual(len(edges), 30)  # capped at specstar.graphql_max_rows
        self.assertEqual([e["node"]["revisions"]["edges"][-1]["node"]["revision"] for e in edges], [3] * 30)
        self.assertTrue(all(len(e["node"]["revisions"]["edges"]) == 3 for e in edges))
        self.assertTrue(all(e["node"]["authorRecord"]["name"] == "Counted" for e in edges))
        stats = json.loads(stats or "[]")
        self.assertEqual(sum(s["calls"] for s in stats), 1, stats)  # one statement computed the whole answer
        self.assertEqual(len(ids), 50)


class Readme(unittest.TestCase):
    """The README's GraphQL lines run as printed (against this suite's PostgREST) and print
    tests/readme/expected/graphql-curl.out."""

    def test_graphql_tour(self):
        out = run_readme_tour(self, S, "GRAPHQL", "graphql-curl.out")
        answers = [json.loads(line) for line in out.splitlines()]
        self.assertEqual([codes(a) for a in answers], [[], [], ["PT422"]])
        self.assertEqual(answers[1]["data"]["authorByPk"]["articleCollectionByAuthor"]["totalCount"], 1)


class ZzIntrospection(unittest.TestCase):
    """Last: graphql-core builds a client schema from our introspection (for each role), and
    judges every document sent above as we did: what we ran, it finds valid; what we
    refused as invalid, it refuses too."""

    def test_introspection_builds_a_client_schema_that_agrees_with_every_answer(self):
        schemas = {}
        for auth in (WRITER, None):
            r = gql(graphql.get_introspection_query(descriptions=True), auth=auth)
            schemas[auth] = graphql.build_client_schema(ok(r))
            self.assertIn("articleCollection", schemas[auth].query_type.fields)
        self.assertIsNotNone(schemas[WRITER].mutation_type)
        self.assertIn("insertIntoArticleCollection", schemas[WRITER].mutation_type.fields)
        self.assertIsNone(schemas[None].mutation_type)
        self.assertIn("type Article implements Node", graphql.print_schema(schemas[WRITER]))
        accepted = refused = 0
        for doc, auth, response in SENT:
            if auth not in schemas:
                continue
            ours = codes(response)
            if len(doc) > 20000:
                continue  # the size-limit documents (graphql-core's validation is quadratic in them)
            try:
                errors = graphql.validate(schemas[auth], graphql.parse(doc))
            except graphql.GraphQLError:
                self.assertEqual(set(ours), {"GRAPHQL_PARSE_FAILED"}, doc[:200])
                continue
            if "data" in response:  # we ran it
                self.assertEqual(errors, [], doc[:200])
                accepted += 1
            elif errors:
                refused += 1
                self.assertTrue(set(ours) & {"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "42501", "54001"}, (doc[:200], ours))
        self.assertGreater(accepted, 60)
        self.assertGreaterEqual(refused, 2)

    def test_zz_no_5xx_and_no_backtrace(self):
        S.check_responses(self)


if __name__ == "__main__":
    unittest.main(verbosity=2)
