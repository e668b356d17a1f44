#!/usr/bin/env python3
"""specstar benchmarks: baseline and specstar measured in the same run, ratios printed and
written to docs/benchmarks.md. Started by `make bench` (bench/run.sh starts the cluster).

Revision tax (issue: core): single-row UPDATE by random id and single-row INSERT on
  (a) a plain table, (b) the specstar view, (c) the plain table under `periods` system
  versioning, (d) the plain table with a generic PL/pgSQL audit trigger; and the as-of point
  lookup `<spec>_at(id, at => ...)` against the current lookup by primary key.
"""
import datetime
import json
import os
import socket
import platform
import re
import subprocess
import time
import urllib.request
import sys

ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
PARTS = os.environ.get("BENCH_PARTS", "sql http graphql").split()
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "2"))
DB = os.environ.get("BENCH_DB", "specstar_bench")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import jwt  # noqa: E402  (scripts/jwt.py)
import postgrest  # noqa: E402  (scripts/postgrest.py)
sys.path.insert(0, HERE)
from common import write_block  # noqa: E402  (bench/common.py)
WORK = os.environ.get("BENCH_WORK", "/tmp/specstar-bench")
PGBIN = os.environ["PGBIN"]

SPEC = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "body": {"type": "string"},
        "views": {"type": "integer"},
        "published": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["title"],
}
COLUMNS = "title text NOT NULL, body text, views bigint, published boolean, tags text[]"
# ~1 KB of prose-like text per row: words drawn from a fixed vocabulary, so it compresses
# about like real text does (a repeated string would flatter compressed history).
VOCABULARY = (
    "the of and to in is was for on that with as by at from his her this which are not be or have an "
    "they one had were there been has their would what when who will more no if out so said up about "
    "into them can only other new some could time these two may then do first any my now such like our "
    "over man me even most made after also did many before must through back years where much your way "
    "well down should because each just those people how too little state good very make world still "
    "own see men work long get here between both life being under never day same another know while "
    "last might us great old year off come since against go came right used take three states himself "
    "few house use during without again place american around however home small found thought went "
    "say part once general high upon school every don does got united left number course war until "
    "always away something fact though water less public put think almost hand enough far took head"
).split()
ROW_VALUES = "'title ' || g, bench_text(g), g, g % 2 = 0, ARRAY['news', 'tag' || (g % 10)]"


def bench_text(seed, words=200):
    """The same text bench_text(seed) gives in SQL (for the INSERT benchmark's literal)."""
    out = []
    x = seed
    for _ in range(words):
        x = (x * 1103515245 + 12345) % 2147483648
        out.append(VOCABULARY[(x // 65536) % len(VOCABULARY)])
    return " ".join(out)


def psql(sql, db=DB, quiet=True):
    out = subprocess.run(
        [f"{PGBIN}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", db],
        input=sql, capture_output=True, text=True,
    )
    if out.returncode != 0:
        sys.exit(f"psql failed:\n{sql[:2000]}\n{out.stderr}")
    return out.stdout.strip()


def setup():
    psql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    psql(f"CREATE DATABASE {DB}", db="postgres")
    psql(f"""
CREATE EXTENSION specstar;
CREATE EXTENSION periods CASCADE;
CREATE FUNCTION bench_text(seed bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  WITH RECURSIVE r(i, x) AS (
    SELECT 1, (seed * 1103515245 + 12345) % 2147483648
    UNION ALL SELECT i + 1, (x * 1103515245 + 12345) % 2147483648 FROM r WHERE i < 200)
  SELECT string_agg(('{{{",".join(VOCABULARY)}}}'::text[])[1 + (x / 65536) % {len(VOCABULARY)}], ' ' ORDER BY i) FROM r
$$;
SELECT specstar.register_spec('bench_article', '{json.dumps(SPEC)}');
CREATE TABLE bench_ids (n integer PRIMARY KEY, id uuid NOT NULL);
INSERT INTO bench_ids SELECT g, gen_random_uuid() FROM generate_series(1, {ROWS}) g;

-- (a) plain
CREATE TABLE bench_plain (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), {COLUMNS});
INSERT INTO bench_plain SELECT i.id, {ROW_VALUES} FROM bench_ids i JOIN generate_series(1, {ROWS}) g ON g = i.n;
-- (b) specstar
INSERT INTO api.bench_article (id, title, body, views, published, tags)
  SELECT i.id, {ROW_VALUES} FROM bench_ids i JOIN generate_series(1, {ROWS}) g ON g = i.n;
-- (c) periods system versioning
CREATE TABLE bench_periods (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), {COLUMNS});
SELECT periods.add_system_time_period('bench_periods');
SELECT periods.add_system_versioning('bench_periods');
INSERT INTO bench_periods (id, title, body, views, published, tags)
  SELECT i.id, {ROW_VALUES} FROM bench_ids i JOIN generate_series(1, {ROWS}) g ON g = i.n;
-- (d) generic PL/pgSQL audit trigger
CREATE TABLE bench_audit (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), {COLUMNS});
CREATE TABLE bench_audit_history (at timestamptz NOT NULL DEFAULT now(), op text NOT NULL, old jsonb);
CREATE FUNCTION bench_audit_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO bench_audit_history (op, old) VALUES (TG_OP, to_jsonb(OLD));
  RETURN NEW;
END $$;
CREATE TRIGGER audit BEFORE UPDATE OR DELETE ON bench_audit FOR EACH ROW EXECUTE FUNCTION bench_audit_trigger();
INSERT INTO bench_audit SELECT i.id, {ROW_VALUES} FROM bench_ids i JOIN generate_series(1, {ROWS}) g ON g = i.n;
VACUUM ANALYZE;
CHECKPOINT;
""")


TARGETS = {
    "plain": "bench_plain",
    "specstar": "api.bench_article",
    "periods": "bench_periods",
    "audit trigger": "bench_audit",
}


def script(name, body):
    path = os.path.join(WORK, name + ".sql")
    with open(path, "w") as f:
        f.write(body)
    return path


def pgbench(path, seconds=SECONDS, defines=()):
    cmd = [f"{PGBIN}/pgbench", "-n", "-M", "prepared", "-c", str(CLIENTS), "-j", str(CLIENTS),
           "-T", str(seconds), "-f", path]
    for d in defines:
        cmd += ["-D", d]
    out = subprocess.run(cmd + [DB], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"pgbench failed: {out.stdout}\n{out.stderr}")
    tps = float(re.search(r"tps = ([0-9.]+)", out.stdout).group(1))
    lat = float(re.search(r"latency average = ([0-9.]+) ms", out.stdout).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    if failed and int(failed.group(1)) > 0:
        sys.exit(f"pgbench had failed transactions:\n{out.stdout}")
    return tps, lat


def main():
    os.makedirs(WORK, exist_ok=True)
    print(f"setting up {ROWS} rows per variant ...", flush=True)
    setup()
    if "sql" in PARTS:
        sql_bench()
    if "http" in PARTS:
        http = http_bench()
        http_ratios = [
            ("GET by id: specstar / plain", http[("GET", "specstar")] / http[("GET", "plain")], ">= 0.9"),
            ("PATCH by id: specstar / plain", http[("PATCH", "specstar")] / http[("PATCH", "plain")], ">= 0.6"),
        ]
        print()
        for name, value, target in http_ratios:
            print(f"{name:34} {value:6.2f}   target {target}")
        write_http_doc(http, http_ratios)
    if "graphql" in PARTS:
        rps, intro_ms, intro_bytes = graphql_bench()
        ratios = [
            ("one record: GraphQL / REST latency", rps[("one record", "REST")] / rps[("one record", "GraphQL")], "<= 1.3"),
            ("one record, id inline: GraphQL / REST latency", rps[("one record", "REST")] / rps[("one record", "GraphQL, id inline")], "(reference)"),
            ("50 records + revisions + author: GraphQL / REST latency",
             rps[("50 records + revisions + author", "REST")] / rps[("50 records + revisions + author", "GraphQL")], "<= 1.3"),
            ("introspection latency (ms)", intro_ms, "<= 20"),
        ]
        print()
        for name, value, target in ratios:
            print(f"{name:56} {value:6.2f}   target {target}")
        write_graphql_doc(rps, intro_ms, intro_bytes, ratios)


def sql_bench():
    results = {}
    # Variants take turns, ROUNDS times each, so that drift (WAL, caches, table growth) is
    # shared; each round is followed by VACUUM so no variant inherits another's dead rows.
    for kind in ("update", "insert"):
        runs = {label: [] for label in TARGETS}
        for rnd in range(ROUNDS):
            for label, target in TARGETS.items():
                if kind == "update":
                    # each client updates its own half of the rows: periods refuses to update a
                    # row another transaction inserted after this one started ("invalid row
                    # version"), which random collisions between clients would trigger
                    body = (f"\\set n random(1, {ROWS // CLIENTS}) + :client_id * {ROWS // CLIENTS}\n"
                            f"UPDATE {target} SET views = views + 1 WHERE id = (SELECT id FROM bench_ids WHERE n = :n);\n")
                else:
                    body = (f"INSERT INTO {target} (title, body, views, published, tags) "
                            f"VALUES ('new', '{bench_text(7)}', 1, true, ARRAY['news']);\n")
                path = script(f"{kind}_{label.replace(' ', '_')}", body)
                tps, _ = pgbench(path)
                runs[label].append(tps)
                print(f"{kind:7} {label:14} round {rnd + 1}: {tps:10.0f} tps", flush=True)
                psql("VACUUM")
                if kind == "update" and label == "specstar" and rnd == 0:
                    # a time inside the update run: about half of the lookups land in history
                    results["asof_ts"] = psql("SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY valid_from) FROM specstar_data.bench_article_revision WHERE op = 'update'")
        for label in TARGETS:
            results[(kind, label)] = sum(runs[label]) / len(runs[label])
    ts = results["asof_ts"]
    hist_share = psql(f"SELECT round(100.0 * count(*) FILTER (WHERE updated_at > '{ts}') / count(*)) FROM specstar_data.bench_article t JOIN bench_ids USING (id)")
    cur = script("lookup_current", f"\\set n random(1, {ROWS})\nSELECT * FROM api.bench_article WHERE id = (SELECT id FROM bench_ids WHERE n = :n);\n")
    asof = script("lookup_asof", f"\\set n random(1, {ROWS})\nSELECT * FROM api.bench_article_at((SELECT id FROM bench_ids WHERE n = :n), at => :ts);\n")
    cur_tps, cur_lat = pgbench(cur)
    asof_tps, asof_lat = pgbench(asof, defines=[f"ts={ts}"])
    print()
    for kind in ("update", "insert"):
        for label in TARGETS:
            print(f"{kind:7} {label:14} {results[(kind, label)]:10.0f} tps (mean of {ROUNDS})")
    print(f"lookup  current        {cur_tps:10.0f} tps  {cur_lat * 1000:.0f} us")
    print(f"lookup  as-of          {asof_tps:10.0f} tps  {asof_lat * 1000:.0f} us  ({hist_share}% of rows changed after the as-of time)")

    up = lambda l: results[("update", l)]
    ins = lambda l: results[("insert", l)]
    ratios = [
        ("UPDATE specstar / plain", up("specstar") / up("plain"), ">= 0.67"),
        ("UPDATE specstar / periods", up("specstar") / up("periods"), ">= 1.0"),
        ("UPDATE specstar / audit trigger", up("specstar") / up("audit trigger"), "(reference)"),
        ("INSERT specstar / plain", ins("specstar") / ins("plain"), ">= 0.75"),
        ("as-of latency / current latency", asof_lat / cur_lat, "<= 1.5"),
    ]
    print()
    for name, value, target in ratios:
        print(f"{name:34} {value:6.2f}   target {target}")
    write_doc(results, ratios, (cur_tps, cur_lat, asof_tps, asof_lat, hist_share))


def http_bench():
    """Through one running PostgREST: GET and PATCH of one resource by random id, on the
    spec and on an equal plain table in the same API schema. Load from wrk, same cores."""
    psql(open(os.path.join(ROOT, "scripts", "roles.sql")).read(), db="postgres")
    psql(f"""
SET specstar.read_roles = 'web_anon';
SET specstar.write_roles = 'web_writer';
SELECT specstar.register_spec('http_article', '{json.dumps(SPEC)}');
CREATE TABLE api.http_plain (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), {COLUMNS});
GRANT SELECT ON api.http_plain TO web_anon, web_writer;
GRANT INSERT, UPDATE, DELETE ON api.http_plain TO web_writer;
INSERT INTO api.http_article (id, title, body, views, published, tags)
  SELECT i.id, {ROW_VALUES} FROM bench_ids i JOIN generate_series(1, {ROWS}) g ON g = i.n;
INSERT INTO api.http_plain SELECT i.id, {ROW_VALUES} FROM bench_ids i JOIN generate_series(1, {ROWS}) g ON g = i.n;
VACUUM ANALYZE api.http_plain;
VACUUM ANALYZE specstar_data.http_article;
""")
    ids = os.path.join(WORK, "ids.txt")
    with open(ids, "w") as f:
        f.write(psql("SELECT id FROM bench_ids ORDER BY n") + "\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    secret = "benchmark-secret-of-at-least-32-characters"
    conf = os.path.join(WORK, "postgrest.conf")
    with open(conf, "w") as f:
        f.write(postgrest.conf(DB, os.environ["PGPORT"], port, secret))
    server = postgrest.start(conf, os.path.join(WORK, "postgrest.log"), port)
    try:
        env = dict(os.environ, IDS=ids, TOKEN=jwt.mint("web_writer", "bench", secret, ttl=86400))
        runs = {}
        for rnd in range(ROUNDS):
            for method in ("GET", "PATCH"):
                for label, resource in (("plain", "/http_plain"), ("specstar", "/http_article")):
                    rps = wrk(f"http://127.0.0.1:{port}", dict(env, RESOURCE=resource, METHOD=method))
                    runs.setdefault((method, label), []).append(rps)
                    print(f"http    {method:5} {label:9} round {rnd + 1}: {rps:8.0f} req/s", flush=True)
                    psql("VACUUM")
        return {k: sum(v) / len(v) for k, v in runs.items()}
    finally:
        postgrest.stop(server)


GQL_AUTHORS = 200
GQL_POSTS_PER_AUTHOR = 50
# As GraphQL clients send them: one document, the id in the variables. (ONE_INLINE, with the
# id written into the document, is measured for reference: every request a new document.)
GQL_ONE = '{"query": "query($id: UUID!) { gqlPostByPk(id: $id) { id title body views tags } }", "variables": {"id": "{ID}"}}'
GQL_ONE_INLINE = '{"query": "{ gqlPostByPk(id: \\"{ID}\\") { id title body views tags } }"}'
GQL_PAGE = ('{"query": "query($author: UUID!) { gqlPostCollection(first: 50, filter: {author: {eq: $author}}) { edges { node { id title '
            'authorRecord { name } revisions(last: 3) { edges { node { revision op } } } } } } }", "variables": {"author": "{ID}"}}')


def graphql_bench():
    """Through one running PostgREST, in turns: one record by id over GraphQL against the
    REST GET, and a 50-record page with each record's last 3 revisions and its author against
    the REST embedding of the same; then the latency of a full introspection query."""
    psql(open(os.path.join(ROOT, "scripts", "roles.sql")).read(), db="postgres")
    post = dict(SPEC, properties=dict(SPEC["properties"], author={"type": "string", "format": "uuid", "x-ref": "gql_author"}))
    psql(f"""
SET specstar.read_roles = 'web_anon';
SET specstar.write_roles = 'web_writer';
SELECT specstar.register_spec('gql_author', '{{"type": "object", "properties": {{"name": {{"type": "string"}}}}, "required": ["name"]}}');
SELECT specstar.register_spec('gql_post', '{json.dumps(post)}');
INSERT INTO api.gql_author (id, name) SELECT gen_random_uuid(), 'author ' || g FROM generate_series(1, {GQL_AUTHORS}) g;
INSERT INTO api.gql_post (id, title, body, views, published, tags, author)
  SELECT i.id, {ROW_VALUES}, (SELECT a.id FROM api.gql_author a ORDER BY a.id OFFSET (g % {GQL_AUTHORS}) LIMIT 1)
    FROM bench_ids i JOIN generate_series(1, {GQL_AUTHORS * GQL_POSTS_PER_AUTHOR}) g ON g = i.n;
UPDATE api.gql_post SET views = views + 1;
UPDATE api.gql_post SET views = views + 1;
VACUUM ANALYZE;
""")
    # pages of 50: above the default cap of 30 rows per GraphQL list
    psql(f"ALTER DATABASE {DB} SET specstar.graphql_max_rows = 50", db="postgres")
    post_ids = os.path.join(WORK, "gql_post_ids.txt")
    author_ids = os.path.join(WORK, "gql_author_ids.txt")
    with open(post_ids, "w") as f:
        f.write(psql("SELECT id FROM api.gql_post") + "\n")
    with open(author_ids, "w") as f:
        f.write(psql("SELECT id FROM api.gql_author") + "\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = os.path.join(WORK, "postgrest-graphql.conf")
    with open(conf, "w") as f:
        f.write(postgrest.conf(DB, os.environ["PGPORT"], port, "benchmark-secret-of-at-least-32-characters"))
    server = postgrest.start(conf, os.path.join(WORK, "postgrest-graphql.log"), port)
    base = f"http://127.0.0.1:{port}"
    one_rest = "/gql_post?id=eq.{ID}&select=id,title,body,views,tags"
    page_rest = ("/gql_post?author=eq.{ID}&select=id,title,gql_author(name),revisions(revision,op)"
                 "&revisions.order=revision.desc&revisions.limit=3&order=id&limit=50")
    variants = [
        ("one record", "REST", dict(IDS=post_ids, PATH_TEMPLATE=one_rest)),
        ("one record", "GraphQL", dict(IDS=post_ids, PATH_TEMPLATE="/rpc/graphql", BODY=GQL_ONE)),
        ("one record", "GraphQL, id inline", dict(IDS=post_ids, PATH_TEMPLATE="/rpc/graphql", BODY=GQL_ONE_INLINE)),
        ("50 records + revisions + author", "REST", dict(IDS=author_ids, PATH_TEMPLATE=page_rest)),
        ("50 records + revisions + author", "GraphQL", dict(IDS=author_ids, PATH_TEMPLATE="/rpc/graphql", BODY=GQL_PAGE)),
    ]
    try:
        # the two sides answer the same thing
        author = open(author_ids).readline().strip()
        rest = json.loads(urllib.request.urlopen(base + page_rest.replace("{ID}", author)).read())
        req = urllib.request.Request(base + "/rpc/graphql", data=GQL_PAGE.replace("{ID}", author).encode(),
                                     headers={"Content-Type": "application/json"})
        gql = json.loads(urllib.request.urlopen(req).read())["data"]["gqlPostCollection"]["edges"]
        assert len(rest) == len(gql) == GQL_POSTS_PER_AUTHOR, (len(rest), len(gql))
        assert [r["id"] for r in rest] == [e["node"]["id"] for e in gql]
        assert [sorted(x["revision"] for x in r["revisions"]) for r in rest] == \
               [[x["node"]["revision"] for x in e["node"]["revisions"]["edges"]] for e in gql] == [[1, 2, 3]] * GQL_POSTS_PER_AUTHOR
        assert [r["gql_author"]["name"] for r in rest] == [e["node"]["authorRecord"]["name"] for e in gql]
        runs = {}
        for rnd in range(ROUNDS):
            for what, label, env in variants:
                rps = wrk(base, dict(os.environ, **env))
                runs.setdefault((what, label), []).append(rps)
                print(f"graphql {what:32} {label:8} round {rnd + 1}: {rps:8.0f} req/s", flush=True)
        # introspection: one client, one request at a time
        query = json.dumps({"query": INTROSPECTION}).encode()
        times = []
        for i in range(120):
            t = time.perf_counter()
            body = urllib.request.urlopen(urllib.request.Request(base + "/rpc/graphql", data=query, headers={"Content-Type": "application/json"})).read()
            if i >= 20:  # the first requests warm the pool's backends and their schema caches
                times.append(time.perf_counter() - t)
            assert b'"__schema"' in body and b'"errors"' not in body
        return {k: sum(v) / len(v) for k, v in runs.items()}, sorted(times)[len(times) // 2] * 1000, len(body)
    finally:
        postgrest.stop(server)


# graphql-js's getIntrospectionQuery() (descriptions on), as GraphiQL sends it
INTROSPECTION = """query IntrospectionQuery { __schema { queryType { name } mutationType { name } subscriptionType { name }
  types { ...FullType } directives { name description locations args { ...InputValue } } } }
fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description args { ...InputValue }
  type { ...TypeRef } isDeprecated deprecationReason } inputFields { ...InputValue } interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name } } } } } } } }"""


def write_graphql_doc(rps, introspection_ms, introspection_bytes, ratios):
    rows = "\n".join(f"| {what} | {label} | {rps[(what, label)]:.0f} | {8000 / rps[(what, label)]:.2f} ms |" for (what, label) in rps)
    note = (" (latency = 8 connections / throughput). Introspection: the median of 100 sequential requests of GraphiQL's\n"
            f"introspection query ({introspection_bytes // 1024} KB answer) for a schema with every spec of the benchmark database.")
    write_wrk_block("graphql", note, "| request | variant | req/s | latency |\n|---|---|---|---|\n" + rows, ratios)


def wrk(url, env):
    """Requests/s of `wrk -t2 -c8` for SECONDS with bench/http.lua (configured by `env`)."""
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{SECONDS}s", "-s", os.path.join(HERE, "http.lua"), url],
                         env=env, capture_output=True, text=True)
    m = re.search(r"Requests/sec:\s+([0-9.]+)", out.stdout)
    if out.returncode != 0 or not m or "unexpected" in out.stdout:
        sys.exit(f"wrk failed:\n{out.stdout}\n{out.stderr}")
    return float(m.group(1))


def write_wrk_block(name, note, table, ratios):
    """The block `<!-- name:start -->`…`<!-- name:end -->` of docs/benchmarks.md: a run of wrk
    variants (`table`: a Markdown table) and its ratios against their targets."""
    ratio_rows = "\n".join(f"| {n} | {v:.2f} | {t} | {check(v, t)} |" for n, v, t in ratios)
    body = f"""Last run: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} on {platform.node()} ({os.cpu_count()} cores),
PostgREST 12.0.2, `wrk -t2 -c8 -d{SECONDS}s` per variant, {ROUNDS} rounds taking turns, mean requests/s{note}

{table}

| ratio | value | target | |
|---|---|---|---|
{ratio_rows}"""
    write_block(name, body)


def check(value, target):
    if target.startswith(">="):
        return "met" if value >= float(target[2:]) else "MISSED"
    if target.startswith("<="):
        return "met" if value <= float(target[2:]) else "MISSED"
    return ""


def write_doc(results, ratios, lookups):
    cur_tps, cur_lat, asof_tps, asof_lat, hist_share = lookups
    rows = "\n".join(
        f"| {kind} | {label} | {results[(kind, label)]:.0f} |"
        for kind in ("update", "insert") for label in TARGETS
    )
    ratio_rows = "\n".join(f"| {n} | {v:.2f} | {t} | {check(v, t)} |" for n, v, t in ratios)
    body = f"""Last run: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} on {platform.node()} ({os.cpu_count()} cores),
{ROWS} rows per variant, pgbench `-M prepared -c {CLIENTS} -j {CLIENTS} -T {SECONDS}`; the variants take turns,
{ROUNDS} rounds, and the tables show the mean tps of the rounds. All variants in one run.

| statement | variant | tps |
|---|---|---|
{rows}

| lookup | tps | mean latency |
|---|---|---|
| current (`api.bench_article WHERE id = …`) | {cur_tps:.0f} | {cur_lat * 1000:.0f} µs |
| as-of (`bench_article_at(id, at => …)`, {hist_share}% of rows changed since) | {asof_tps:.0f} | {asof_lat * 1000:.0f} µs |

| ratio | value | target | |
|---|---|---|---|
{ratio_rows}"""
    write_block("revision-tax", body)


def write_http_doc(http, ratios):
    rows = "\n".join(f"| {m} | {label} | {http[(m, label)]:.0f} |" for m in ("GET", "PATCH") for label in ("plain", "specstar"))
    write_wrk_block("http", ".", "| request | variant | req/s |\n|---|---|---|\n" + rows, ratios)


if __name__ == "__main__":
    main()
