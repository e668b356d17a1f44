#!/usr/bin/env bash
# make bench: a dedicated PostgreSQL cluster on a free loopback port, tuned the same way
# for every variant, then bench/bench.py and bench/search_bench.py. The cluster is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

WORK=$(mktemp -d /tmp/specstar-bench.XXXXXX) && chmod 755 "$WORK" && WORK=$(server_dir "$WORK")
PORT=$(free_port)
as_pg mkdir -p "$WORK/data" && as_pg chmod 700 "$WORK/data"
init_cluster "$WORK/data"
cat >> "$WORK/data/postgresql.conf" <<CONF
shared_buffers = '4GB'
synchronous_commit = off
min_wal_size = '4GB'
max_wal_size = '16GB'
checkpoint_timeout = '30min'
autovacuum = off
CONF
trap 'stop_cluster "$WORK/data"; rm -rf "$WORK"' EXIT
start_cluster "$WORK/data" "$PORT"
export PGPORT=$PORT PGBIN BENCH_WORK=$WORK/scripts
# BENCH_PARTS: any of sql http graphql (bench/bench.py), access (bench/access_bench.py),
# events (bench/events_bench.py), jobs (bench/jobs_bench.py, on a cluster of its own with the
# jobs floor's settings) and search (bench/search_bench.py)
export BENCH_PARTS=${BENCH_PARTS:-sql http graphql access events jobs search}
case " $BENCH_PARTS " in *" sql "*|*" http "*|*" graphql "*) python3 bench/bench.py ;; esac
case " $BENCH_PARTS " in *" access "*) python3 bench/access_bench.py ;; esac
case " $BENCH_PARTS " in *" events "*) python3 bench/events_bench.py ;; esac
case " $BENCH_PARTS " in *" jobs "*) python3 bench/jobs_bench.py ;; esac
# The search corpus: the dictionary files of the Debian package dict-gcide, unpacked into the
# git-ignored .tools/ (installing the package would also install and start the dictd server).
gcide_corpus() {
  if [ -f /usr/share/dictd/gcide.dict.dz ]; then return; fi
  local dir=$PWD/.tools/gcide
  if [ ! -f "$dir/usr/share/dictd/gcide.dict.dz" ]; then
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download dict-gcide >/dev/null 2>&1) || { apt-get update -q >/dev/null && (cd "$tmp" && apt-get download dict-gcide >/dev/null); }
    mkdir -p "$dir" && dpkg-deb -x "$tmp"/dict-gcide_*.deb "$dir" && rm -rf "$tmp"
  fi
  export GCIDE_DICT=$dir/usr/share/dictd/gcide.dict.dz GCIDE_INDEX=$dir/usr/share/dictd/gcide.index
}
case " $BENCH_PARTS " in *" search "*) gcide_corpus; python3 bench/search_bench.py ;; esac
