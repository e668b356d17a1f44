#!/usr/bin/env python3
"""The full-text search benchmark: specstar's BM25 index against PostgreSQL's own `tsvector`
ranked by `ts_rank` (GIN) and against the `rum` extension (`ORDER BY tsv <=> q`), on the same
data in the same run. Started by `make bench` (bench/run.sh starts the cluster), alone with
`BENCH_PARTS=search make bench`. Results are printed and written to docs/benchmarks.md.

Corpus: bench/search_corpus.py (definitions of the Debian package dict-gcide, scaled by a seeded
generator to BENCH_SEARCH_DOCS documents, default 1 000000), streamed into `COPY corpus FROM STDIN`.
Every variant is loaded from that table:

  docs_plain  id, headword, body                         (no full-text index; INSERT baseline)
  fts_gin     + tsv = to_tsvector('english', headword || ' ' || body) (generated, stored), GIN
  fts_rum     a copy of fts_gin, RUM index (tsv rum_tsvector_ops)
  api.entry   a specstar spec with headword and body marked x-search, language english

Queries (the same strings for everyone; websearch_to_tsquery reads the syntax specstar's search
reads: bare terms are ANDed, "double quotes" make a phrase), top 10 by score:

  rare      one term in < 0.01 % of the documents      medium  one term in 0.1-1 %
  common    one term in > 5 %                          and     a common and a medium term
  phrase    two adjacent words (a frequent bigram of the dictionary, no stopwords)

Terms are chosen by document frequency from ts_stat over the tsvectors (exact), words whose
english stem is that lexeme, in a fixed order (md5 of the word): the same terms for the same
corpus. Latency comes from pgbench (-M prepared, one script per query string, picked at random,
per-transaction log): p50 and p95 in ms over all queries of a class, with 1 and 2 clients, warm
(tables and indexes prewarmed, every query run once before; each connection's first query is
left out). Then BENCH_SEARCH_UPDATES single-row updates on the GIN table and on the spec, and the
queries again with 1 client; last, single-row INSERT throughput into the three tables.

Environment: BENCH_SEARCH_DOCS (1000000), BENCH_SEARCH_SECONDS per measurement (8),
BENCH_SEARCH_QUERIES per class (20), BENCH_SEARCH_UPDATES (10000), BENCH_SEARCH_SEED (1),
BENCH_CLIENTS for updates and inserts (2), BENCH_SEARCH_DB (specstar_search_bench), and from
bench/run.sh PGBIN, PGPORT, BENCH_WORK. specstar parts that cannot run (no search functions in
the installed extension) are reported as skipped; the GIN and RUM parts run regardless.
"""
import collections
import datetime
import glob
import hashlib
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import search_corpus  # noqa: E402
from bench import check  # noqa: E402
from common import write_block  # noqa: E402  (the marker blocks of docs/benchmarks.md)

DOCS = int(os.environ.get("BENCH_SEARCH_DOCS", "1000000"))
SECONDS = int(os.environ.get("BENCH_SEARCH_SECONDS", "8"))
QUERIES = int(os.environ.get("BENCH_SEARCH_QUERIES", "20"))
UPDATES = int(os.environ.get("BENCH_SEARCH_UPDATES", "10000"))
SEED = int(os.environ.get("BENCH_SEARCH_SEED", "1"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "2"))
INSERT_ROUNDS = 3
DB = os.environ.get("BENCH_SEARCH_DB", "specstar_search_bench")
PGBIN = os.environ["PGBIN"]
WORK = os.path.join(os.environ.get("BENCH_WORK", "/tmp/specstar-bench"), "search")
DOC = os.path.join(ROOT, "docs", "benchmarks.md")

CLASSES = ("rare", "medium", "common", "and", "phrase")
CLASS_TEXT = {
    "rare": "rare term (df < 0.01 %)",
    "medium": "medium term (df 0.1–1 %)",
    "common": "common term (df > 5 %)",
    "and": "2-term AND (common + medium)",
    "phrase": '2-word phrase ("a b")',
}
SPEC = {
    "type": "object",
    "properties": {
        "headword": {"type": "string", "x-search": True},
        "body": {"type": "string", "x-search": True},
    },
    "required": ["headword"],
}
SPEC_OPTIONS = {"search": {"language": "english"}}
BUILD_SETTINGS = "SET maintenance_work_mem = '1GB';\n"


class SqlError(Exception):
    pass


def psql(sql, db=DB):
    """Runs `sql` (a script) and returns its unaligned output; raises SqlError."""
    out = subprocess.run(
        [f"{PGBIN}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", db],
        input=sql, capture_output=True, text=True,
    )
    if out.returncode != 0:
        raise SqlError(f"{out.stderr.strip()}\n-- in: {sql[:500]}")
    return out.stdout.strip()


class Session:
    """One psql connection kept open (a backend whose memory can be read while it lives)."""

    def __init__(self, db=DB):
        self.proc = subprocess.Popen([f"{PGBIN}/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.pid = int(self.run("SELECT pg_backend_pid();"))

    def run(self, sql):
        self.proc.stdin.write(sql + "\n\\echo __done__\n")
        self.proc.stdin.flush()
        lines = []
        for line in self.proc.stdout:
            if line.rstrip("\n") == "__done__":
                return "\n".join(lines).strip()
            lines.append(line.rstrip("\n"))
        raise SqlError(f"psql ended: {self.proc.stderr.read()[:500]}\n-- in: {sql[:300]}")

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def proc_kb(pid, field, path="status"):
    """A field (kB) of /proc/<pid>/status (VmHWM, VmRSS) or smaps_rollup (Pss, Rss)."""
    try:
        with open(f"/proc/{pid}/{path}") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed(sql):
    t = time.time()
    psql(sql)
    return time.time() - t


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------
# loading

def load_corpus(entries):
    psql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    psql(f"CREATE DATABASE {DB}", db="postgres")
    psql("CREATE EXTENSION rum; CREATE EXTENSION pg_prewarm;"
         "CREATE TABLE corpus (n integer GENERATED ALWAYS AS IDENTITY, headword text NOT NULL, body text);")
    t = time.time()
    proc = subprocess.Popen(
        [f"{PGBIN}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", DB, "-c",
         "COPY corpus (headword, body) FROM STDIN"],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    size, sha = search_corpus.write_tsv(proc.stdin, DOCS, SEED, entries)
    proc.stdin.close()
    err = proc.stderr.read().decode()
    if proc.wait() != 0:
        raise SqlError(f"COPY corpus failed: {err}")
    psql("ALTER TABLE corpus ADD PRIMARY KEY (n); VACUUM ANALYZE corpus;")
    return {"bytes": size, "sha256": sha, "seconds": time.time() - t}


def load_baselines():
    """docs_plain, fts_gin, fts_rum: times and sizes."""
    r = {}
    r["plain_load"] = timed(f"""
CREATE TABLE docs_plain (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, headword text NOT NULL, body text);
INSERT INTO docs_plain (id, headword, body) SELECT n, headword, body FROM corpus;
SELECT setval(pg_get_serial_sequence('docs_plain', 'id'), {DOCS});""")
    log(f"  docs_plain: {r['plain_load']:.1f} s")
    r["gin_load"] = timed(f"""
CREATE TABLE fts_gin (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, headword text NOT NULL, body text,
  tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', headword || ' ' || coalesce(body, ''))) STORED);
INSERT INTO fts_gin (id, headword, body) SELECT n, headword, body FROM corpus;
SELECT setval(pg_get_serial_sequence('fts_gin', 'id'), {DOCS});""")
    log(f"  fts_gin rows with tsvector: {r['gin_load']:.1f} s")
    r["gin_index"] = timed(BUILD_SETTINGS + "CREATE INDEX fts_gin_tsv ON fts_gin USING gin (tsv);")
    log(f"  GIN index: {r['gin_index']:.1f} s")
    r["rum_load"] = timed("CREATE TABLE fts_rum AS SELECT * FROM fts_gin; ALTER TABLE fts_rum ADD PRIMARY KEY (id);")
    log(f"  fts_rum copy: {r['rum_load']:.1f} s")
    r["rum_index"] = timed(BUILD_SETTINGS + "CREATE INDEX fts_rum_tsv ON fts_rum USING rum (tsv rum_tsvector_ops);")
    log(f"  RUM index: {r['rum_index']:.1f} s")
    sizes = psql("""SELECT pg_relation_size('fts_gin_tsv'), pg_relation_size('fts_rum_tsv'),
                           (SELECT sum(pg_column_size(tsv)) FROM fts_gin),
                           pg_total_relation_size('docs_plain'), pg_total_relation_size('fts_gin') - pg_relation_size('fts_gin_tsv')""").split("|")
    r["gin_bytes"], r["rum_bytes"], r["tsv_bytes"], r["plain_bytes"], r["gin_table_bytes"] = map(int, sizes)
    return r


SEARCH_FUNCTIONS = ("search", "search_merge", "search_stats")


def specstar_available():
    """None when specstar's search can run here, else why not."""
    try:
        psql("CREATE EXTENSION IF NOT EXISTS specstar")
    except SqlError as e:
        return "extension not installed: " + str(e).splitlines()[-1]
    have = psql("SELECT string_agg(DISTINCT p.proname, ',') FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                f"WHERE n.nspname = 'specstar' AND p.proname IN ({', '.join(map(lit, SEARCH_FUNCTIONS))})")
    missing = [f for f in SEARCH_FUNCTIONS if f not in (have or "").split(",")]
    if missing:
        return "search not available: no " + ", ".join(f"specstar.{f}" for f in missing)
    return None


def search_stats():
    row = psql("SELECT to_jsonb(s) FROM specstar.search_stats('entry') s")
    stats = json.loads(row) if row else {}
    if len(stats) == 1 and isinstance(next(iter(stats.values())), dict):   # a function returning jsonb
        stats = next(iter(stats.values()))
    return stats


def load_specstar():
    r = {}
    psql(f"""
SELECT specstar.register_spec('entry', {lit(json.dumps(SPEC))}::jsonb, {lit(json.dumps(SPEC_OPTIONS))}::jsonb);
CREATE TABLE entry_ids (n integer PRIMARY KEY, id uuid NOT NULL);
INSERT INTO entry_ids SELECT g, gen_random_uuid() FROM generate_series(1, {DOCS}) g;
VACUUM ANALYZE entry_ids;""")
    r["load"] = timed(BUILD_SETTINGS + "INSERT INTO api.entry (id, headword, body) "
                      "SELECT i.id, c.headword, c.body FROM corpus c JOIN entry_ids i ON i.n = c.n;")
    log(f"  api.entry rows (indexed as they are written): {r['load']:.1f} s")
    r["settle"], r["bg_peak_kb"] = wait_for_background_merges()
    log(f"  background merges after the load: {r['settle']:.1f} s, peak worker memory {r['bg_peak_kb'] / 1024:.0f} MB")
    r["stats_loaded"] = search_stats()
    log(f"  search_stats as loaded: {json.dumps(r['stats_loaded'])}")
    return r


def wait_for_background_merges(limit=1800):
    """Waits until no background merger of specstar runs (for 3 s in a row); returns the
    seconds waited and the peak memory (VmHWM, kB) of the workers seen."""
    t, quiet, peak = time.time(), 0, 0
    while quiet < 30 and time.time() - t < limit:
        pids = psql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'specstar search merge'").split()
        for pid in pids:
            peak = max(peak, proc_kb(pid, "VmHWM"))
        quiet = 0 if pids else quiet + 1
        time.sleep(0.1)
    return time.time() - t - 3, peak


def merge_specstar(r):
    """search_merge in a backend whose peak memory is read before it ends."""
    s = Session()
    t = time.time()
    s.run(BUILD_SETTINGS + "SELECT specstar.search_merge('entry');")
    r["merge"] = time.time() - t
    r["merge_peak_kb"] = proc_kb(s.pid, "VmHWM")
    s.close()
    log(f"  specstar.search_merge: {r['merge']:.1f} s, peak backend memory {r['merge_peak_kb'] / 1024:.0f} MB")
    r["stats"] = search_stats()
    r["bytes"] = int(r["stats"].get("bytes") or 0)
    r["table_bytes"] = int(psql("SELECT pg_total_relation_size('specstar_data.entry')"))
    log(f"  search_stats: {json.dumps(r['stats'])}")


def backend_memory(queries, backends):
    """`backends` connections that have each run every query of every class (specstar), held
    open together: the sum of their proportional set sizes (Pss: a page mapped by n processes
    counts 1/n in each) and of their resident sizes, in kB."""
    sessions = [Session() for _ in range(backends)]
    sql = "".join(f"SELECT count(*) FROM ({VARIANTS['specstar'][1].format(q=lit(q))}) s;\n"
                  for cls in CLASSES for q, _ in queries[cls])
    for s in sessions:
        s.run(sql)
    pss = sum(proc_kb(s.pid, "Pss", "smaps_rollup") for s in sessions)
    rss = sum(proc_kb(s.pid, "Rss", "smaps_rollup") for s in sessions)
    for s in sessions:
        s.close()
    return pss, rss


def storage():
    """Bytes of each variant's table, its TOAST and indexes (what autovacuum leaves), and the
    spec's history."""
    row = psql("""SELECT pg_total_relation_size('fts_gin'),
                         pg_total_relation_size('specstar_data.entry') + pg_total_relation_size('specstar.search_segment'),
                         (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
                           WHERE c.relnamespace = 'specstar_data'::regnamespace AND c.relkind = 'r' AND c.relname <> 'entry')""")
    gin, spec, history = map(int, row.split("|"))
    return {"gin": gin, "specstar": spec, "history": history}


def prewarm():
    psql("VACUUM ANALYZE; CHECKPOINT;")
    psql("""SELECT sum(pg_prewarm(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'i', 't', 'm')
               AND (n.nspname IN ('public', 'specstar_data', 'specstar') OR c.oid IN (
                    SELECT reltoastrelid FROM pg_class WHERE relnamespace IN (
                      SELECT oid FROM pg_namespace WHERE nspname IN ('public', 'specstar_data', 'specstar')))
                    OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN (
                      SELECT reltoastrelid FROM pg_class WHERE relnamespace IN (
                        SELECT oid FROM pg_namespace WHERE nspname IN ('public', 'specstar_data', 'specstar')))))
               AND c.relname <> 'corpus'""")


# ---------------------------------------------------------------------------------------------
# queries

def stopwords():
    share = subprocess.run([f"{PGBIN}/pg_config", "--sharedir"], capture_output=True, text=True).stdout.strip() \
        or "/usr/share/postgresql/15"
    with open(os.path.join(share, "tsearch_data", "english.stop")) as f:
        return {w.strip() for w in f if w.strip()}


def frequent_bigrams(entries, stop, limit=300):
    """The most frequent pairs of adjacent words (letters only, 3+ letters, no stopword, only a
    space between) in the dictionary's definitions."""
    counts = collections.Counter()
    for _, body in entries:
        words = body.split(" ")
        for a, b in zip(words, words[1:]):
            b = b.rstrip(".,;:)")
            if len(a) >= 3 and len(b) >= 3 and a.isalpha() and b.isalpha() and a.isascii() and b.isascii():
                a, b = a.lower(), b.lower()
                if a not in stop and b not in stop and a != b:
                    counts[(a, b)] += 1
    return [f"{a} {b}" for (a, b), _ in counts.most_common(limit)]


def choose_queries(entries):
    """{class: [query string]} and {class: [document frequency]}, chosen on fts_gin."""
    t = time.time()
    psql("""
CREATE TABLE lexeme_df AS SELECT word AS lexeme, ndoc FROM ts_stat('SELECT tsv FROM fts_gin');
CREATE TABLE query_words AS
  SELECT DISTINCT ON (l.lexeme) w.word, l.lexeme, l.ndoc
    FROM (SELECT DISTINCT lower(headword) AS word FROM corpus WHERE headword ~ '^[A-Za-z]{3,}$') w
    JOIN lexeme_df l ON tsvector_to_array(to_tsvector('english', w.word)) = ARRAY[l.lexeme]
   ORDER BY l.lexeme, length(w.word), w.word;""")
    n = DOCS

    def pick(lo, hi, limit):
        rows = psql(f"SELECT word, ndoc FROM query_words WHERE ndoc >= {lo} AND ndoc <= {hi} "
                    f"ORDER BY md5(word) LIMIT {limit}")
        return [(w, int(d)) for w, d in (r.split("|") for r in rows.splitlines())] if rows else []

    chosen = {
        "rare": pick(1, max(1, math.ceil(n * 0.0001) - 1), QUERIES),
        "medium": pick(max(1, int(n * 0.001)), int(n * 0.01), QUERIES),
        "common": pick(int(n * 0.05) + 1, n, QUERIES),
    }
    # 2-term AND: the i-th common term with the i-th medium term, if they share >= 10 documents
    pairs = []
    common, medium = chosen["common"], pick(max(1, int(n * 0.001)), int(n * 0.01), 4 * QUERIES)
    for i, (m, _) in enumerate(medium):
        c = common[i % len(common)][0] if common else None
        if c is None or len(pairs) >= QUERIES:
            break
        df = int(psql(f"SELECT count(*) FROM fts_gin WHERE tsv @@ websearch_to_tsquery('english', {lit(c + ' ' + m)})"))
        if df >= 10:
            pairs.append((f"{c} {m}", df))
    chosen["and"] = pairs
    phrases = []
    for bigram in sorted(frequent_bigrams(entries, stopwords()), key=lambda s: hashlib.md5(s.encode()).hexdigest()):
        if len(phrases) >= QUERIES:
            break
        q = f'"{bigram}"'
        df = int(psql(f"SELECT count(*) FROM fts_gin WHERE tsv @@ websearch_to_tsquery('english', {lit(q)})"))
        if df >= 10:
            phrases.append((q, df))
    chosen["phrase"] = phrases
    for cls in CLASSES:
        if not chosen[cls]:
            log(f"  no {cls} queries at {DOCS} documents")
    log(f"  queries chosen in {time.time() - t:.1f} s: " + ", ".join(f"{c} {len(chosen[c])}" for c in CLASSES))
    return chosen


VARIANTS = {
    "gin": ("GIN, `ts_rank`",
            "SELECT id, ts_rank(tsv, q) AS score FROM fts_gin, websearch_to_tsquery('english', {q}) q "
            "WHERE tsv @@ q ORDER BY score DESC LIMIT 10"),
    "rum": ("RUM, `<=>`",
            "SELECT id, tsv <=> q AS score FROM fts_rum, websearch_to_tsquery('english', {q}) q "
            "WHERE tsv @@ q ORDER BY tsv <=> q LIMIT 10"),
    "specstar": ("specstar `search`",
                 "SELECT id, score FROM specstar.search('entry', {q}, 10)"),
    "specstar_rows": ("specstar `search` + rows",
                      "SELECT e.* FROM specstar.search('entry', {q}, 10) s JOIN api.entry e USING (id)"),
}


def label(variant):
    return VARIANTS[variant][0].replace("`", "")


def scripts(variant, cls, queries):
    paths = []
    d = os.path.join(WORK, f"{variant}_{cls}")
    os.makedirs(d, exist_ok=True)
    for i, (q, _) in enumerate(queries):
        path = os.path.join(d, f"{i:03}.sql")
        with open(path, "w") as f:
            f.write(VARIANTS[variant][1].format(q=lit(q)) + ";\n")
        paths.append(path)
    return paths


def warm(variant, queries):
    psql("".join(f"SELECT count(*) FROM ({VARIANTS[variant][1].format(q=lit(q))}) s;\n"
                 for cls in CLASSES for q, _ in queries[cls]))


def pgbench(paths, clients, seconds=SECONDS, transactions=None, tag="run"):
    """Runs pgbench over the scripts (picked at random); returns (latencies in ms, tps)."""
    logdir = os.path.join(WORK, "log")
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir)
    cmd = [f"{PGBIN}/pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(clients),
           "-l", f"--log-prefix={logdir}/{tag}"]
    cmd += ["-t", str(transactions)] if transactions else ["-T", str(seconds)]
    for p in paths:
        cmd += ["-f", p]
    out = subprocess.run(cmd + [DB], capture_output=True, text=True)
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    if out.returncode != 0 or (failed and int(failed.group(1)) > 0):
        first = next((l for l in out.stderr.splitlines() if "ERROR" in l), "pgbench failed")
        raise SqlError(f"{first}\n-- {' '.join(cmd)}\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    tps = float(re.search(r"tps = ([0-9.]+)", out.stdout).group(1))
    # A transaction's latency is the time between its end and the end of the client's previous
    # one (pgbench has no think time): the log's own latency column reads 0 for fast queries
    # with more than one client on this pgbench (15), its end times do not. Each connection's
    # first query has no predecessor, and so is left out (it also warms the connection up).
    ends = collections.defaultdict(list)
    for path in glob.glob(os.path.join(logdir, tag + ".*")):
        with open(path) as f:
            for line in f:
                client, txno, _, _, epoch, us = line.split()[:6]
                ends[client].append((int(txno), int(epoch) * 1_000_000 + int(us)))
    lat = []
    for client, xs in ends.items():
        xs.sort()
        lat.extend((b[1] - a[1]) / 1000.0 for a, b in zip(xs, xs[1:]))
    lat.sort()
    return lat, tps


def pct(lat, p):
    if not lat:
        return float("nan")
    return lat[min(len(lat) - 1, int(round(p * (len(lat) - 1))))]


def measure(variant, cls, queries, clients):
    lat, tps = pgbench(scripts(variant, cls, queries[cls]), clients, tag=f"{variant}_{cls}_{clients}")
    r = {"p50": pct(lat, 0.5), "p95": pct(lat, 0.95), "n": len(lat), "tps": tps}
    log(f"  {label(variant):26} {cls:7} c={clients}: p50 {ms(r['p50']):>7} ms  p95 {ms(r['p95']):>7} ms  "
        f"({r['n']} queries, {tps:.0f}/s)")
    return r


# ---------------------------------------------------------------------------------------------
# writes

def update_script(variant):
    path = os.path.join(WORK, f"update_{variant}.sql")
    target = ("UPDATE fts_gin SET body = body || ' x' WHERE id = :n;" if variant == "gin" else
              "UPDATE api.entry SET body = body || ' x' WHERE id = (SELECT id FROM entry_ids WHERE n = :n);")
    with open(path, "w") as f:
        f.write(f"\\set n random(1, {DOCS})\n{target}\n")
    return path


def insert_script(variant):
    path = os.path.join(WORK, f"insert_{variant}.sql")
    target = {"plain": "docs_plain", "gin": "fts_gin", "specstar": "api.entry"}[variant]
    with open(path, "w") as f:
        f.write(f"\\set n random(1, {DOCS})\n"
                f"INSERT INTO {target} (headword, body) SELECT headword, body FROM corpus WHERE n = :n;\n")
    return path


# ---------------------------------------------------------------------------------------------

def specstar_failure(variant, what, e):
    """A step failed: the baselines' failures end the run; specstar's are reported (the reason
    is returned) and the baselines go on."""
    if not variant.startswith("specstar"):
        raise e
    reason = f"{what} failed: {e}"
    log(f"specstar: FAILED, {reason}")
    return reason


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    started = time.time()
    log(f"search: corpus of {DOCS} documents (dict-gcide, seed {SEED}) ...")
    entries = search_corpus.load_entries()
    corpus = load_corpus(entries)
    log(f"  {corpus['bytes'] / 1e6:.0f} MB generated and copied in {corpus['seconds']:.1f} s (sha256 {corpus['sha256'][:16]})")
    log("search: loading and indexing ...")
    build = load_baselines()

    skipped = specstar_available()
    failed = None
    spec = None
    if skipped is None:
        try:
            spec = load_specstar()
        except SqlError as e:
            failed = specstar_failure("specstar", "loading", e)
    if skipped:
        log(f"specstar: skipped ({skipped})")

    log("search: choosing queries ...")
    queries = choose_queries(entries)
    prewarm()
    variants = ["gin", "rum"] + (["specstar", "specstar_rows"] if spec else [])
    for v in list(variants):
        try:
            warm(v, queries)
        except SqlError as e:
            failed = specstar_failure(v, "query", e)
            variants = ["gin", "rum"]
            break

    results = {}
    if "specstar" in variants:
        log("search: query latency as loaded (no search_merge; background merges done) ...")
        for cls in CLASSES:
            if queries[cls]:
                try:
                    results[("loaded", "specstar", cls, 1)] = measure("specstar", cls, queries, 1)
                except SqlError as e:
                    failed = specstar_failure("specstar", "query", e)
        try:
            merge_specstar(spec)
        except SqlError as e:
            failed = specstar_failure("specstar", "merge", e)
        prewarm()
        warm("specstar", queries)
    log("search: query latency, fresh ...")
    floor = os.path.join(WORK, "select1.sql")
    with open(floor, "w") as f:
        f.write("SELECT 1;\n")
    for clients in (1, 2):
        lat, tps = pgbench([floor], clients, tag=f"floor_{clients}")
        results[("floor", clients)] = {"p50": pct(lat, 0.5), "p95": pct(lat, 0.95), "n": len(lat), "tps": tps}
        log(f"  {'round trip (SELECT 1)':26} {'':7} c={clients}: p50 {ms(pct(lat, 0.5)):>7} ms  p95 {ms(pct(lat, 0.95)):>7} ms")
        for cls in CLASSES:
            if not queries[cls]:
                continue
            for v in list(variants):
                if v not in variants or (v == "specstar_rows" and clients != 1):
                    continue
                try:
                    results[("fresh", v, cls, clients)] = measure(v, cls, queries, clients)
                except SqlError as e:
                    failed = specstar_failure(v, "query", e)
                    variants = ["gin", "rum"]

    memory = {}
    if "specstar" in variants:
        log("search: memory of backends that searched every class ...")
        for n in (1, 8):
            memory[n] = backend_memory(queries, n)
            log(f"  {n} backend(s): Pss {memory[n][0] / 1024:.0f} MB, Rss {memory[n][1] / 1024:.0f} MB")

    log(f"search: {UPDATES} single-row updates, then the queries again ...")
    updates = {}
    stats_after = None
    for v in ["gin"] + (["specstar"] if "specstar" in variants else []):
        try:
            t = time.time()
            _, tps = pgbench([update_script(v)], CLIENTS, transactions=max(1, UPDATES // CLIENTS), tag=f"update_{v}")
            updates[v] = {"tps": tps, "seconds": time.time() - t}
            log(f"  update {v}: {tps:.0f} tps")
            # autovacuum is off in the bench cluster: do what it would do within a minute
            psql("VACUUM fts_gin;" if v == "gin" else "VACUUM specstar.search_segment; VACUUM specstar_data.entry;")
            if v == "specstar":
                stats_after = search_stats()
                log(f"  search_stats after updates: {json.dumps(stats_after)}")
            for cls in CLASSES:
                if queries[cls]:
                    results[("updated", v, cls, 1)] = measure(v, cls, queries, 1)
        except SqlError as e:
            failed = specstar_failure(v, "updates", e)

    log(f"search: single-row INSERT throughput, {INSERT_ROUNDS} rounds, the variants taking turns ...")
    runs = {}
    for r in range(INSERT_ROUNDS):
        for v in ["plain", "gin"] + (["specstar"] if "specstar" in variants and not failed else []):
            try:
                _, tps = pgbench([insert_script(v)], CLIENTS, tag=f"insert_{v}_{r}")
                runs.setdefault(v, []).append(tps)
                log(f"  insert {v}, round {r + 1}: {tps:.0f} tps")
            except SqlError as e:
                failed = specstar_failure(v, "inserts", e)
    # the mean of the rounds: this machine's throughput drifts by a quarter from one run to the next
    inserts = {v: sum(t) / len(t) for v, t in runs.items()}

    # what autovacuum does (it is off in the bench cluster), then the sizes
    psql("VACUUM fts_gin; VACUUM docs_plain;" + (" VACUUM specstar.search_segment; VACUUM specstar_data.entry;" if spec else ""))
    sizes = storage() if spec else None
    if sizes:
        log(f"  storage: GIN table {mb(sizes['gin'])}, specstar table + index {mb(sizes['specstar'])} (history {mb(sizes['history'])})")

    ratios = compute_ratios(results, updates, inserts, memory, sizes)
    print()
    print_tables(build, spec, results, inserts, updates, ratios)
    write_doc(corpus, build, spec, stats_after, queries, results, inserts, updates, ratios,
              skipped, failed, time.time() - started, memory, sizes)
    log(f"search: done in {(time.time() - started) / 60:.1f} min")
    if failed:
        sys.exit(f"specstar: FAILED, {failed}")


def compute_ratios(results, updates, inserts, memory, sizes):
    def p50(phase, v, cls):
        r = results.get((phase, v, cls, 1))
        return r["p50"] if r else None

    ratios = []

    def add(name, num, den, target):
        if num is not None and den is not None and den > 0:
            ratios.append((name, num / den, target))
        else:
            ratios.append((name, None, target))

    add("single-row INSERT: specstar tps / GIN tps", inserts.get("specstar"), inserts.get("gin"), ">= 0.5")
    add("single-row UPDATE: specstar tps / GIN tps", (updates.get("specstar") or {}).get("tps"), (updates.get("gin") or {}).get("tps"), ">= 0.5")
    add("common term: ts_rank p50 / specstar p50", p50("fresh", "gin", "common"), p50("fresh", "specstar", "common"), ">= 10")
    add("common term, as loaded (no search_merge): RUM p50 / specstar p50", p50("fresh", "rum", "common"), p50("loaded", "specstar", "common"), ">= 50")
    add("common term, after search_merge: RUM p50 / specstar p50", p50("fresh", "rum", "common"), p50("fresh", "specstar", "common"), ">= 50")
    add("rare term: specstar p50 / GIN p50", p50("fresh", "specstar", "rare"), p50("fresh", "gin", "rare"), "<= 1.0")
    for v, label in (("specstar", "specstar"), ("gin", "GIN")):
        worst = None
        for cls in CLASSES:
            a, b = p50("updated", v, cls), p50("fresh", v, cls)
            if a is not None and b:
                worst = max(worst or 0, a / b)
        ratios.append((f"after {UPDATES} updates / fresh, {label} (worst class p50)", worst,
                       "<= 2" if v == "specstar" else "(reference)"))
    add("memory: 8 backends / 1 backend (sum of Pss)", (memory.get(8) or (None,))[0], (memory.get(1) or (None,))[0], "<= 2")
    add("storage after vacuum: specstar table + index / GIN table + index",
        (sizes or {}).get("specstar"), (sizes or {}).get("gin"), "<= 1.5")
    return ratios


def ms(v):
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"


def ratio(v):
    return "–" if v is None else f"{v:.2f}" if v >= 0.1 else f"{v:.3g}"


def fmt_ms(r):
    return f"{ms(r['p50'])} / {ms(r['p95'])}" if r else "–"


def mb(b):
    return f"{b / 1e6:.0f} MB" if b else "–"


def print_tables(build, spec, results, inserts, updates, ratios):
    print(f"{'index build':34} {'load rows':>10} {'build':>8} {'index size':>11}")
    print(f"{'plain table':34} {build['plain_load']:9.1f}s {'':>8} {'':>11}")
    print(f"{'tsvector + GIN':34} {build['gin_load']:9.1f}s {build['gin_index']:7.1f}s {mb(build['gin_bytes']):>11}")
    print(f"{'tsvector + RUM':34} {build['rum_load']:9.1f}s {build['rum_index']:7.1f}s {mb(build['rum_bytes']):>11}")
    if spec:
        print(f"{'specstar':34} {spec['load']:9.1f}s {spec.get('merge', 0):7.1f}s {mb(spec.get('bytes')):>11}")
    print()
    for phase, clients in (("loaded", 1), ("fresh", 1), ("fresh", 2), ("updated", 1)):
        print(f"top-10 p50 / p95 ms, {phase}, {clients} client(s)")
        for v in VARIANTS:
            cells = [fmt_ms(results.get((phase, v, cls, clients))) for cls in CLASSES]
            if any(c != "–" for c in cells):
                print(f"  {label(v):26} " + "  ".join(f"{c:>17}" for c in cells))
    print("  round trip floor (SELECT 1): " + ", ".join(
        f"{c} client(s) p50 {results[('floor', c)]['p50']:.3f} ms" for c in (1, 2) if ("floor", c) in results))
    print()
    for v, tps in inserts.items():
        print(f"insert {v:10} {tps:8.0f} tps" + (f"  ({ratio(tps / inserts['plain'])}x plain)" if "plain" in inserts else ""))
    for v, u in updates.items():
        print(f"update {v:10} {u['tps']:8.0f} tps")
    print()
    for name, value, target in ratios:
        print(f"{name:56} {ratio(value):>7}   target {target}")


def write_doc(corpus, build, spec, stats_after, queries, results, inserts, updates, ratios, skipped, failed, elapsed,
              memory, sizes):
    status = ""
    if skipped:
        status = f"\n**specstar: skipped** ({skipped}); the GIN and RUM rows are from this run.\n"
    elif failed:
        status = f"\n**specstar: FAILED** ({failed.splitlines()[0][:300]} …).\n"
    build_rows = [
        f"| plain table (no full-text index) | {build['plain_load']:.1f} | – | – | {mb(build['plain_bytes'])} |",
        f"| `tsvector` (generated column) + GIN | {build['gin_load']:.1f} | {build['gin_index']:.1f} | {mb(build['gin_bytes'])} | {mb(build['gin_table_bytes'])} (tsvectors {mb(build['tsv_bytes'])}) |",
        f"| `tsvector` + RUM (copy of the GIN table) | {build['rum_load']:.1f} | {build['rum_index']:.1f} | {mb(build['rum_bytes'])} | same |",
    ]
    if spec:
        build_rows.append(
            f"| specstar (`INSERT INTO api.entry`; background merges {spec['settle']:.1f} s; then `search_merge`) | {spec['load']:.1f} | "
            f"{spec.get('merge', 0):.1f} | {mb(spec.get('bytes'))} | {mb(spec.get('table_bytes'))} |")
    lat_rows = []
    for phase, clients in (("loaded", 1), ("fresh", 1), ("fresh", 2), ("updated", 1)):
        for v in VARIANTS:
            cells = [fmt_ms(results.get((phase, v, cls, clients))) for cls in CLASSES]
            if any(c != "–" for c in cells):
                label = {"loaded": "as loaded", "fresh": "fresh", "updated": f"after {UPDATES} updates"}[phase]
                lat_rows.append(f"| {label} | {clients} | {VARIANTS[v][0]} | " + " | ".join(cells) + " |")
    q_rows = []
    for cls in CLASSES:
        qs = queries[cls]
        if qs:
            dfs = sorted(d for _, d in qs)
            examples = ", ".join(f"`{q}`" for q, _ in qs[:4])
            q_rows.append(f"| {CLASS_TEXT[cls]} | {len(qs)} | {dfs[0]}–{dfs[-1]} | {examples} |")
    names = {"plain": "plain table", "gin": "`tsvector` + GIN", "specstar": "specstar (`api.entry`)"}
    write_rows = [f"| INSERT | {names[v]} | {tps:.0f} |" for v, tps in inserts.items()]
    write_rows += [f"| UPDATE ({UPDATES} rows) | {names[v]} | {u['tps']:.0f} |" for v, u in updates.items()]
    ratio_rows = "\n".join(
        f"| {n} | {ratio(v)} | {t} | {'' if v is None else check(v, t)} |" for n, v, t in ratios)
    stats = ""
    if spec:
        stats = (f"\n`specstar.search_stats('entry')` as loaded (background merges done): `{json.dumps(spec.get('stats_loaded'))}`; "
                 f"after `search_merge`: `{json.dumps(spec.get('stats'))}`")
        if stats_after:
            stats += f"; after the updates: `{json.dumps(stats_after)}`"
        stats += ".\n"
    ins_ratio = ""
    if "plain" in inserts:
        ins_ratio = ": " + ", ".join(f"{names[v]} {ratio(tps / inserts['plain'])}× plain" for v, tps in inserts.items() if v != "plain") + "."
    extra = []
    if spec:
        extra.append(f"Peak backend memory (VmHWM) during a merge: `search_merge` of the whole index "
                     f"{spec.get('merge_peak_kb', 0) / 1024:.0f} MB; the background merger after the load "
                     f"{spec.get('bg_peak_kb', 0) / 1024:.0f} MB.")
    if memory:
        extra.append("Memory of backends that each ran every query of every class, held open together: " + "; ".join(
            f"{n} backend{'s' if n > 1 else ''}: Pss {p / 1024:.0f} MB (Rss {r / 1024:.0f} MB)" for n, (p, r) in sorted(memory.items())) + ".")
    if sizes:
        extra.append(f"Storage after `VACUUM` (what autovacuum does; it is off in the bench cluster): `tsvector` + GIN table "
                     f"{mb(sizes['gin'])}; specstar's table and search index {mb(sizes['specstar'])}, and its history "
                     f"(revision tables, not counted in the ratio) {mb(sizes['history'])}.")
    extra_text = "\n\n".join(extra)
    floor = " and ".join(f"{results[('floor', c)]['p50']:.3f} ms with {c} client{'s' if c > 1 else ''}"
                         for c in (1, 2) if ("floor", c) in results)
    block = f"""Last run: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} on {platform.node()} ({os.cpu_count()} cores), {DOCS} documents
({corpus['bytes'] / 1e6:.0f} MB of text, seed {SEED}, sha256 `{corpus['sha256'][:16]}…`), pgbench `-M prepared -T {SECONDS}` per
cell, whole run {elapsed / 60:.1f} min.
{status}
| index build | load rows (s) | build index (s) | index size | table |
|---|---|---|---|---|
{chr(10).join(build_rows)}
{stats}
| query class | queries | documents matching | e.g. |
|---|---|---|---|
{chr(10).join(q_rows)}

Top-10 latency, p50 / p95 in ms (pgbench's latency, round trip included: `SELECT 1` takes {floor}):

| data | clients | variant | {' | '.join(CLASSES)} |
|---|---|---|{'---|' * len(CLASSES)}
{chr(10).join(lat_rows)}

| writes ({CLIENTS} clients) | variant | tps |
|---|---|---|
{chr(10).join(write_rows)}

Single-row INSERT{ins_ratio}

{extra_text}

| ratio (1 client) | value | target | |
|---|---|---|---|
{ratio_rows}"""
    write_block("search", block)


if __name__ == "__main__":
    main()
