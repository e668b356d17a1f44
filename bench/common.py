"""What the benchmark scripts share: psql, pgbench and the blocks of docs/benchmarks.md."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PGBIN = os.environ["PGBIN"]


def psql(sql, db):
    """Runs sql in db (stopping at the first error); returns stdout, unaligned."""
    out = subprocess.run([f"{PGBIN}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", db],
                         input=sql, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"psql failed:\n{sql[:2000]}\n{out.stderr}")
    return out.stdout.strip()


def pgbench(path, db, clients, seconds):
    """tps of the script at `path` (prepared statements; no failed transaction allowed)."""
    cmd = [f"{PGBIN}/pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)),
           "-T", str(seconds), "-f", path, db]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"pgbench failed: {out.stdout}\n{out.stderr}")
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    if failed and int(failed.group(1)) > 0:
        sys.exit(f"pgbench had failed transactions:\n{out.stdout}")
    return float(re.search(r"tps = ([0-9.]+)", out.stdout).group(1))


def write_block(name, body):
    """Writes `body` between `<!-- name:start -->` and `<!-- name:end -->` in docs/benchmarks.md
    (appended when the markers are not there yet)."""
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    text = open(path).read()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text += "\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)
    print(f"\nwritten to {os.path.relpath(path, ROOT)}")
