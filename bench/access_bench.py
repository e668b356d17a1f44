#!/usr/bin/env python3
"""Access rules benchmark (issue: permissions): the same spec with and without
`options.access` (read and write: ["owner", "role:bench_editor"]), 100k rows over 1,000
owners, measured in the same run. Every transaction does what PostgREST does: switch to the
request's role and set its JWT claims (SET LOCAL), then run one statement as one owner:

- GET one own resource by id;
- a page of the 50 newest own resources (`created_by = me`; the table without rules gets the
  same index on created_by that access rules create);
- a search (top 10 hits of a word);
- a single-row UPDATE of an own resource.

Ratios (with rules / without) go to docs/benchmarks.md; target >= 0.9 each. Started by
`make bench` (bench/run.sh starts the cluster); BENCH_PARTS=access runs only this."""
import datetime
import os
import platform
import re

from common import pgbench as run_pgbench, psql as run_psql, write_block

ROWS = int(os.environ.get("BENCH_ACCESS_ROWS", "100000"))
OWNERS = 1000
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "2"))
DB = "specstar_access_bench"
WORK = os.environ.get("BENCH_WORK", "/tmp/specstar-bench")
SCHEMA = ('{"type": "object", "properties": {"title": {"type": "string"}, "body": {"type": "string", "x-search": true}, '
          '"views": {"type": "integer"}}, "required": ["title"]}')
ROLES = '"roles": {"read": ["bench_user"], "write": ["bench_user"]}'
RULES = '"access": {"read": ["owner", "role:bench_editor"], "write": ["owner", "role:bench_editor"]}'
WORDS = "heron river bridge stone water morning evening grey green field".split()
VARIANTS = {"without rules": "acc_open", "with rules": "acc_rules"}


def psql(sql, db=DB):
    return run_psql(sql, db)


def setup():
    psql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    psql(f"CREATE DATABASE {DB}", db="postgres")
    words = "{" + ",".join(WORDS) + "}"
    psql(f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_user') THEN CREATE ROLE bench_user NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_editor') THEN CREATE ROLE bench_editor NOLOGIN IN ROLE bench_user; END IF;
END $$;
CREATE EXTENSION specstar;
SELECT specstar.register_spec('acc_open', '{SCHEMA}', '{{{ROLES}}}');
SELECT specstar.register_spec('acc_rules', '{SCHEMA}', '{{{ROLES}, {RULES}}}');
-- the same owner index on the table without rules
CREATE INDEX acc_open_created_by ON specstar_data.acc_open (created_by);
CREATE TABLE acc_ids (owner integer, k integer, spec text, id uuid, PRIMARY KEY (spec, owner, k));
GRANT SELECT ON acc_ids TO bench_user;
CREATE FUNCTION bench_body(g bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
  SELECT string_agg(('{words}'::text[])[1 + ((g * 7 + i * 13 + (g * i) % 11) % {len(WORDS)})], ' ')
    FROM generate_series(1, 20) i
$f$;
""")
    per = ROWS // OWNERS
    for spec in VARIANTS.values():
        # each owner writes their resources as themselves (created_by comes from the JWT sub)
        psql(f"""
DO $$ BEGIN
  FOR o IN 1..{OWNERS} LOOP
    PERFORM set_config('request.jwt.claims', json_build_object('sub', 'u' || o)::text, true);
    INSERT INTO api.{spec} (title, body, views)
      SELECT 'note ' || o || '-' || k, bench_body(o * {per} + k), k FROM generate_series(1, {per}) k;
  END LOOP;
END $$;
INSERT INTO acc_ids SELECT substr(created_by, 2)::integer,
       row_number() OVER (PARTITION BY created_by ORDER BY id), '{spec}', id FROM specstar_data.{spec};
SELECT specstar.search_merge('{spec}');
""")
    psql("VACUUM ANALYZE")
    psql("CHECKPOINT")


def script(name, spec, statement):
    body = ("\\set o random(1, %d)\n\\set k random(1, %d)\nBEGIN;\n"
            "SELECT set_config('role', 'bench_user', true), set_config('request.jwt.claims', '{\"sub\": \"u' || :o || '\"}', true);\n"
            "%s\nEND;\n") % (OWNERS, ROWS // OWNERS, statement.format(spec=spec))
    path = os.path.join(WORK, f"access_{name}_{spec}.sql")
    with open(path, "w") as f:
        f.write(body)
    return path


def pgbench(path):
    return run_pgbench(path, DB, CLIENTS, SECONDS)


OWN_ID = "(SELECT i.id FROM acc_ids i WHERE i.spec = '{spec}' AND i.owner = :o AND i.k = :k)"
STATEMENTS = {
    "GET own resource by id": "SELECT * FROM api.{spec} WHERE id = " + OWN_ID + ";",
    "page of 50 own resources": "SELECT * FROM api.{spec} WHERE created_by = 'u' || :o ORDER BY updated_at DESC, id LIMIT 50;",
    "search (top 10)": "SELECT id, score FROM api.{spec}_search('heron river', 10);",
    "single-row UPDATE": "UPDATE api.{spec} SET views = views + 1 WHERE id = " + OWN_ID + ";",
}


def check(value, target):
    return "met" if value >= target else "MISSED"


def main():
    os.makedirs(WORK, exist_ok=True)
    print(f"access: setting up {ROWS} rows over {OWNERS} owners per variant ...", flush=True)
    setup()
    # what one owner sees of a search (the rules filter the hits; the page stays full when it can)
    hits = {label: psql(f"BEGIN; SELECT set_config('role', 'bench_user', true), set_config('request.jwt.claims', '{{\"sub\": \"u1\"}}', true);\n"
                        f"SELECT count(*) FROM api.{spec}_search('heron river', 10); COMMIT;").splitlines()[-1] for label, spec in VARIANTS.items()}
    results = {}
    for name, statement in STATEMENTS.items():
        runs = {label: [] for label in VARIANTS}
        for rnd in range(ROUNDS):
            for label, spec in VARIANTS.items():
                tps = pgbench(script(re.sub(r"\W+", "_", name), spec, statement))
                runs[label].append(tps)
                print(f"access {name:26} {label:14} round {rnd + 1}: {tps:9.0f} tps", flush=True)
            psql("VACUUM")
        for label in VARIANTS:
            results[(name, label)] = sum(runs[label]) / len(runs[label])
    ratios = [(name, results[(name, "with rules")] / results[(name, "without rules")]) for name in STATEMENTS]
    print()
    for name, value in ratios:
        print(f"access {name:26} with/without rules {value:5.2f}   target >= 0.9")
    write_doc(results, ratios, hits)


def write_doc(results, ratios, hits):
    rows = "\n".join(f"| {name} | {results[(name, 'without rules')]:.0f} | {results[(name, 'with rules')]:.0f} | {value:.2f} | >= 0.9 | {check(value, 0.9)} |"
                     for name, value in ratios)
    write_block("access", f"""Last run: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} on {platform.node()} ({os.cpu_count()} cores),
{ROWS} rows over {OWNERS} owners per spec, pgbench `-M prepared -c {CLIENTS} -j {CLIENTS} -T {SECONDS}`, {ROUNDS} rounds
taking turns, mean tps. Each transaction sets the role and the JWT claims as PostgREST does. The search
returned {hits['without rules']} hits without rules and {hits['with rules']} with them (one owner's view).

| statement | tps without rules | tps with rules | ratio | target | |
|---|---|---|---|---|---|
{rows}""")


if __name__ == "__main__":
    main()
