"""Fixtures of the HTTP suite: a database in the test cluster (PGHOST/PGPORT from
scripts/test.sh), the development roles, the example specs, and the real PostgREST binary on
a free loopback port, started here and stopped at the end. Standard library only."""
import atexit
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import jwt  # noqa: E402  (scripts/jwt.py)
import postgrest  # noqa: E402  (scripts/postgrest.py)

PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
DB = "specstar_http"
SECRET = "http-suite-secret-of-at-least-32-characters"


def psql(sql, db=DB, check=True):
    """Runs SQL as the superuser; returns stdout (unaligned, tuples only)."""
    out = subprocess.run(
        [f"{PGBIN}/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db],
        input=sql, capture_output=True, text=True,
    )
    if check and out.returncode != 0:
        raise RuntimeError(f"psql failed: {out.stderr}\n{sql}")
    return out.stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def token(role="web_writer", sub="alice"):
    return jwt.mint(role, sub, SECRET)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"<{self.status} {self.raw[:300]!r}>"


class Server:
    """PostgREST over the test database."""

    def __init__(self):
        self.proc = None
        self.port = None
        self.responses = []

    def start(self):
        psql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
        subprocess.run([os.path.join(ROOT, "scripts", "api-db.sh"), DB], check=True)
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="specstar-http-")
        conf = os.path.join(self.dir, "postgrest.conf")
        with open(conf, "w") as f:
            f.write(postgrest.conf(DB, os.environ["PGPORT"], self.port, SECRET))
        self.proc = postgrest.start(conf, os.path.join(self.dir, "postgrest.log"), self.port)
        # unittest skips tearDownModule when setUpModule fails: stop what was started anyway
        atexit.register(self.stop)

    def stop(self):
        if self.proc is None:
            return
        postgrest.stop(self.proc)
        self.proc = None
        shutil.rmtree(getattr(self, "dir", ""), ignore_errors=True)
        psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", db="postgres", check=False)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, *paths, auth=None, timeout=15):
        """Waits until PostgREST's schema cache serves every path (after a registration)."""
        deadline = time.time() + timeout
        while True:
            r = self.request("GET", "/", headers={"Accept": "application/openapi+json"}, auth=auth)
            if r.status == 200 and set(paths) <= set(r.json["paths"]):
                return
            if time.time() > deadline:
                raise RuntimeError(f"PostgREST does not serve {paths} after {timeout} s")
            time.sleep(0.2)

    def check_responses(self, test):
        """Fails `test` if any response so far was a 5xx or carried a Rust backtrace (each
        module runs this last, from a ZzInvariants test case)."""
        test.assertGreater(len(self.responses), 50)
        for method, path, r in self.responses:
            test.assertLess(r.status, 500, f"{method} {path}: {r}")
            for marker in ("backtrace", "panicked", "pgrx", "rust_begin_unwind", ".rs:"):
                test.assertNotIn(marker, r.raw, f"{method} {path}: {r}")

    def request(self, method, path, body=None, headers=None, auth=None):
        """One HTTP request. auth: None (anonymous) or a JWT."""
        data = None if body is None else json.dumps(body).encode()
        h = {"Accept": "application/json"}
        if data is not None:
            h["Content-Type"] = "application/json"
        if auth:
            h["Authorization"] = f"Bearer {auth}"
        h.update(headers or {})
        req = urllib.request.Request(self.url(path), data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                resp = Response(r.status, r.headers, r.read().decode())
        except urllib.error.HTTPError as e:
            resp = Response(e.code, e.headers, e.read().decode())
        self.responses.append((method, path, resp))
        return resp


def run_readme_tour(test, server, variable, expected_name, replace=None):
    """Runs the README's ```sh block that sets `variable` (its address replaced by the
    server's, with the suite's JWT secret) and compares what it prints with
    tests/readme/expected/<expected_name> (a differing output goes to TEST_OUTPUT). Returns
    the output."""
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    [tour] = [b for b in re.findall(r"^```sh\n(.*?)^```", readme, flags=re.S | re.M) if f"\n{variable}=" in "\n" + b]
    line = re.search(rf"^{variable}=(http://127\.0\.0\.1:54330)", tour, flags=re.M)
    test.assertIsNotNone(line, f"the tour sets {variable} to the address make up prints")
    script = tour.replace(f"{variable}=http://127.0.0.1:54330", f"{variable}={server.url('')}")
    for old, new in (replace or {}).items():  # (e.g. the address of make up's database)
        test.assertIn(old, script)
        script = script.replace(old, new)
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, capture_output=True, text=True,
                         env=dict(os.environ, SPECSTAR_JWT_SECRET=SECRET), timeout=120)
    test.assertEqual(out.returncode, 0, out.stderr)
    expected_path = os.path.join(ROOT, "tests", "readme", "expected", expected_name)
    expected = open(expected_path).read() if os.path.exists(expected_path) else ""
    if out.stdout != expected:
        with open(os.path.join(os.environ.get("TEST_OUTPUT", "/tmp"), expected_name), "w") as f:
            f.write(out.stdout)
    test.assertEqual(out.stdout, expected)
    return out.stdout
