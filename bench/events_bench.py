#!/usr/bin/env python3
"""Change feed benchmark (issue: events): single-row UPDATE tps of the same spec with the feed
on (`"events": {"feed": true}`) and off (the default), at 2 and 8 clients, measured in the
same run. Every event is numbered at commit under one lock (docs/events.md), so the feed
serializes the commits of writing transactions: this measures what that costs. Target:
>= 0.85 at both client counts. Results go to docs/benchmarks.md. Started by `make bench`
(bench/run.sh starts the cluster); BENCH_PARTS=events runs only this."""
import datetime
import os
import platform

from common import pgbench as run_pgbench, psql as run_psql, write_block

ROWS = int(os.environ.get("BENCH_EVENTS_ROWS", "100000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
DB = "specstar_events_bench"
WORK = os.environ.get("BENCH_WORK", "/tmp/specstar-bench")
SCHEMA = '{"type": "object", "properties": {"title": {"type": "string"}, "views": {"type": "integer"}}, "required": ["title"]}'
VARIANTS = {"feed off": ("ev_off", "{}"), "feed on": ("ev_on", '{"events": {"feed": true}}')}


def psql(sql, db=DB):
    return run_psql(sql, db)


def pgbench(path, clients):
    return run_pgbench(path, DB, clients, SECONDS)


def main():
    os.makedirs(WORK, exist_ok=True)
    print(f"events: setting up {ROWS} rows per variant ...", flush=True)
    psql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    psql(f"CREATE DATABASE {DB}", db="postgres")
    psql("CREATE EXTENSION specstar;")
    for spec, options in VARIANTS.values():
        psql(f"""
SELECT specstar.register_spec('{spec}', '{SCHEMA}', '{options}');
INSERT INTO api.{spec} (title, views) SELECT 'row ' || g, 0 FROM generate_series(1, {ROWS}) g;
CREATE TABLE {spec}_ids AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM specstar_data.{spec};
ALTER TABLE {spec}_ids ADD PRIMARY KEY (n);
""")
    psql("VACUUM ANALYZE")
    psql("CHECKPOINT")
    results = {}
    for clients in (2, 8):
        runs = {label: [] for label in VARIANTS}
        for rnd in range(ROUNDS):
            for label, (spec, _) in VARIANTS.items():
                path = os.path.join(WORK, f"events_{spec}.sql")
                with open(path, "w") as f:
                    f.write(f"\\set n random(1, {ROWS})\n"
                            f"UPDATE api.{spec} SET views = views + 1 WHERE id = (SELECT id FROM {spec}_ids WHERE n = :n);\n")
                tps = pgbench(path, clients)
                runs[label].append(tps)
                print(f"events UPDATE {clients} clients {label:9} round {rnd + 1}: {tps:9.0f} tps", flush=True)
                psql("VACUUM")
        for label in VARIANTS:
            results[(clients, label)] = sum(runs[label]) / len(runs[label])
    ratios = [(c, results[(c, "feed on")] / results[(c, "feed off")]) for c in (2, 8)]
    print()
    for c, value in ratios:
        print(f"events UPDATE {c} clients: feed on / off {value:5.2f}   target >= 0.85")
    rows = "\n".join(f"| {c} | {results[(c, 'feed off')]:.0f} | {results[(c, 'feed on')]:.0f} | {v:.2f} | >= 0.85 | {'met' if v >= 0.85 else 'MISSED'} |"
                     for c, v in ratios)
    write_block("events", f"""Last run: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} on {platform.node()} ({os.cpu_count()} cores),
{ROWS} rows per spec, single-row UPDATE by random id, pgbench `-M prepared -T {SECONDS}`, {ROUNDS} rounds taking turns, mean tps.

| clients | tps, feed off | tps, feed on | ratio | target | |
|---|---|---|---|---|---|
{rows}""")


if __name__ == "__main__":
    main()
