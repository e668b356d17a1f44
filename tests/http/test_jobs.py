"""Black-box HTTP tests of jobs (docs/jobs.md) through the real PostgREST 12 binary: enqueue
is a POST (validated, idempotent by key), workers claim and complete with the per-spec RPCs,
and every refusal reaches the client with its status, code, message, detail and hint;
GraphQL enqueues too. The example spec `notification` (examples/register.sql) is the queue.

Run by scripts/test.sh (suite "http") as its own process, with its own PostgREST."""
import json
import unittest

import os

from support import DB, Server, psql, run_readme_tour, token

S = Server()
WRITER = token("web_writer", "alice")
WORKER = token("web_writer", "worker-7")
ROWS = {"Prefer": "return=representation"}
OBJECT = {"Prefer": "return=representation", "Accept": "application/vnd.pgrst.object+json"}


def setUpModule():
    S.start()
    S.wait_for("/notification", "/rpc/notification_claim", auth=WRITER)


def tearDownModule():
    S.stop()


def fingerprint():
    """Everything a refused request must leave as it was: the jobs and their history."""
    return psql("SELECT md5(coalesce(string_agg(to_jsonb(n)::text, ',' ORDER BY id), '')) FROM api.notification n") + \
        psql("SELECT count(*) FROM api.notification_revision")


def enqueue(body, auth=WRITER):
    return S.request("POST", "/notification", body, OBJECT, auth)


def claim(n=10, worker="w-http"):
    r = S.request("POST", "/rpc/notification_claim", {"worker": worker, "n": n}, None, WORKER)
    assert r.status == 200, r
    return r.json


class ZzInvariants(unittest.TestCase):
    """(Runs last.) No response of the whole module is a 5xx or carries a Rust backtrace."""

    def test_no_server_errors_and_no_backtraces(self):
        S.check_responses(self)


class Enqueue(unittest.TestCase):
    def test_a_post_enqueues_a_pending_job(self):
        r = enqueue({"to": "ann@example.org", "subject": "Welcome"})
        self.assertEqual(r.status, 201, r)
        job = r.json
        self.assertEqual((job["status"], job["attempts"], job["max_attempts"], job["revision"], job["created_by"]),
                         ("pending", 0, 3, 1, "alice"))

    def test_an_invalid_payload_is_422_and_queues_nothing(self):
        before = fingerprint()
        r = enqueue({"to": "ann@example.org", "subject": ""})
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json["code"], "PT422")
        self.assertIn("/subject", r.json["message"])
        self.assertEqual(fingerprint(), before)

    def test_specstar_columns_are_400(self):
        before = fingerprint()
        for body in ({"to": "bob@example.org", "subject": "s", "status": "done"},
                     {"to": "bob@example.org", "subject": "s", "attempts": 2},
                     {"to": "bob@example.org", "subject": "s", "cron": "not a cron"}):
            r = enqueue(body)
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.json["code"], "22023")
            self.assertTrue(r.json["hint"], r)
        self.assertEqual(fingerprint(), before)

    def test_the_same_idempotency_key_returns_the_job_and_another_payload_is_409(self):
        body = {"to": "cy@example.org", "subject": "Receipt 1", "idempotency_key": "receipt-1"}
        first = enqueue(body)
        self.assertEqual(first.status, 201, first)
        again = enqueue(body)
        self.assertEqual(again.status, 201, again)
        self.assertEqual((again.json["id"], again.json["revision"]), (first.json["id"], 1))
        self.assertEqual(psql("SELECT count(*) FROM api.notification WHERE idempotency_key = 'receipt-1'"), "1")
        before = fingerprint()
        clash = enqueue({**body, "subject": "Receipt 2"})
        self.assertEqual(clash.status, 409, clash)
        self.assertEqual(clash.json["code"], "PT409")
        self.assertEqual(json.loads(clash.json["details"]), {"idempotency_key": "receipt-1", "id": first.json["id"]})
        self.assertEqual(fingerprint(), before)

    def test_a_bulk_post_enqueues_every_row(self):
        r = S.request("POST", "/notification?select=subject,status", [{"to": "d@example.org", "subject": f"bulk {i}"} for i in range(5)],
                      ROWS, WRITER)
        self.assertEqual(r.status, 201, r)
        self.assertEqual([(j["subject"], j["status"]) for j in r.json], [(f"bulk {i}", "pending") for i in range(5)])

    def test_anonymous_enqueue_is_refused(self):
        r = enqueue({"to": "e@example.org", "subject": "x"}, auth=None)
        self.assertEqual(r.status, 401, r)

    def test_graphql_enqueues(self):
        r = S.request("POST", "/rpc/graphql", {
            "query": "mutation($o: [NotificationInsertInput!]!) { insertIntoNotificationCollection(objects: $o) { affectedCount records { id subject } } }",
            "variables": {"o": [{"to": "gql@example.org", "subject": "from GraphQL"}]}}, None, WRITER)
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("errors", r.json, r)
        rec = r.json["data"]["insertIntoNotificationCollection"]["records"][0]
        self.assertEqual(psql(f"SELECT status || ' ' || revision FROM api.notification WHERE id = '{rec['id']}'"), "pending 1")


class Readme(unittest.TestCase):
    """The README's jobs tour, run as printed (with this suite's addresses) and compared with
    tests/readme/expected/jobs.out: enqueue over HTTP, the reference worker runs the job."""

    def test_the_jobs_tour(self):
        dsn = f"postgresql://postgres@127.0.0.1:{os.environ['PGPORT']}/{DB}"
        run_readme_tour(self, S, "JOBS", "jobs.out", replace={"DSN=postgresql://postgres@127.0.0.1:54329/specstar": f"DSN={dsn}"})


class Work(unittest.TestCase):
    def setUp(self):
        # a clean queue for each test: earlier jobs are cancelled
        psql("SELECT count(specstar.job_cancel('notification', id)) FROM api.notification WHERE status IN ('pending', 'running')")

    def test_claim_complete_and_the_history(self):
        job = enqueue({"to": "fay@example.org", "subject": "Hi", "priority": -1}).json
        claimed = claim(1, "w-a")
        self.assertEqual([(c["id"], c["status"], c["attempts"], c["leased_by"]) for c in claimed], [(job["id"], "running", 1, "w-a")])
        r = S.request("POST", "/rpc/notification_complete", {"id": job["id"], "worker": "w-a", "result": {"message_id": "m1"}}, None, WORKER)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["status"], r.json["result"], r.json["runs"]), ("done", {"message_id": "m1"}, 1))
        history = S.request("GET", f"/notification_revision?id=eq.{job['id']}&select=revision,op,changed_by&order=revision").json
        self.assertEqual([(h["op"], h["changed_by"]) for h in history], [("create", "alice"), ("claim", "worker-7"), ("complete", "worker-7")])

    def test_a_worker_without_the_lease_gets_409_and_changes_nothing(self):
        job = enqueue({"to": "gil@example.org", "subject": "Hi"}).json
        self.assertEqual(len(claim(1, "w-b")), 1)
        before = fingerprint()
        for path, body in (("complete", {"id": job["id"], "worker": "w-other"}),
                           ("heartbeat", {"id": job["id"], "worker": "w-other"}),
                           ("fail", {"id": job["id"], "worker": "w-other", "error": "x"})):
            r = S.request("POST", f"/rpc/notification_{path}", body, None, WORKER)
            self.assertEqual(r.status, 409, (path, r))
            self.assertEqual(r.json["code"], "PT409")
            self.assertEqual(json.loads(r.json["details"])["leased_by"], "w-b")
            self.assertTrue(r.json["hint"])
        self.assertEqual(fingerprint(), before)

    def test_errors_map_to_their_status(self):
        job = enqueue({"to": "hal@example.org", "subject": "Hi"}).json
        claim(1, "w-c")
        cases = [
            ("complete", {"id": job["id"], "worker": "w-c", "result": ["not", "an", "object"]}, 422, "PT422"),
            ("complete", {"id": "00000000-0000-4000-8000-00000000dead", "worker": "w-c"}, 404, "PT404"),
            ("claim", {"worker": "w-c", "n": 0}, 400, "22023"),
            ("claim", {"worker": "", "n": 1}, 400, "22023"),
            ("complete_batch", {"ids": [job["id"]], "worker": "w-c", "results": [{}, {}]}, 400, "22023"),
        ]
        for path, body, status, code in cases:
            r = S.request("POST", f"/rpc/notification_{path}", body, None, WORKER)
            self.assertEqual((r.status, r.json["code"]), (status, code), (path, body, r))
        done = S.request("POST", "/rpc/notification_complete", {"id": job["id"], "worker": "w-c", "result": {}}, None, WORKER)
        self.assertEqual(done.status, 200, done)
        # a finished job cannot be cancelled (409); it can be rerun
        r = S.request("POST", "/rpc/notification_cancel", {"id": job["id"]}, None, WRITER)
        self.assertEqual((r.status, r.json["code"]), (409, "PT409"), r)
        r = S.request("POST", "/rpc/notification_rerun", {"id": job["id"]}, None, WRITER)
        self.assertEqual((r.status, r.json["status"], r.json["attempts"]), (200, "pending", 0), r)

    def test_a_running_job_cannot_be_deleted_or_changed(self):
        job = enqueue({"to": "ivy@example.org", "subject": "Hi"}).json
        claim(1, "w-d")
        before = fingerprint()
        r = S.request("DELETE", f"/notification?id=eq.{job['id']}", None, None, WRITER)
        self.assertEqual((r.status, r.json["code"]), (409, "PT409"), r)
        r = S.request("PATCH", f"/notification?id=eq.{job['id']}", {"subject": "changed"}, None, WRITER)
        self.assertEqual((r.status, r.json["code"]), (409, "PT409"), r)
        self.assertEqual(fingerprint(), before)

    def test_a_worker_over_http_drains_the_queue(self):
        """A worker in any language: claim and complete over HTTP, one job at a time."""
        ids = {enqueue({"to": f"k{i}@example.org", "subject": f"drain {i}"}).json["id"] for i in range(15)}
        seen = set()
        while True:
            batch = claim(1, "w-loop")
            if not batch:
                break
            [job] = batch
            self.assertNotIn(job["id"], seen)
            seen.add(job["id"])
            r = S.request("POST", "/rpc/notification_heartbeat", {"id": job["id"], "worker": "w-loop", "lease": "1 minute"}, None, WORKER)
            self.assertEqual(r.status, 200, r)
            r = S.request("POST", "/rpc/notification_complete", {"id": job["id"], "worker": "w-loop", "result": {"ok": True}}, None, WORKER)
            self.assertEqual((r.status, r.json["status"]), (200, "done"), r)
        self.assertEqual(seen, ids)
        self.assertEqual(psql("SELECT count(*) FROM api.notification WHERE status = 'done' AND leased_by = 'w-loop'"), "15")

    def test_stats_and_batches(self):
        ids = [enqueue({"to": f"j{i}@example.org", "subject": "batch"}).json["id"] for i in range(4)]
        stats = S.request("POST", "/rpc/notification_stats", {}, None, WORKER).json
        self.assertEqual((stats["pending"], stats["ready"], stats["running"]), (4, 4, 0))
        claimed = [c["id"] for c in claim(10, "w-e")]
        self.assertEqual(sorted(claimed), sorted(ids))
        r = S.request("POST", "/rpc/notification_complete_batch", {"ids": claimed[:3], "worker": "w-e", "results": [{"n": 1}, {"n": 2}, {"n": 3}]},
                      None, WORKER)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(sorted(r.json), sorted(claimed[:3]))
        stats = S.request("POST", "/rpc/notification_stats", {}, None, WORKER).json
        self.assertEqual((stats["running"], stats["ready"]), (1, 0))


if __name__ == "__main__":
    unittest.main()
