# Shared shell helpers: where PostgreSQL lives, running it as an unprivileged user,
# starting and stopping throw-away clusters bound to 127.0.0.1.
# shellcheck shell=bash

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PGBIN=${PGBIN:-$("$PG_CONFIG" --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
PGXS_DIR=$(dirname "$("$PG_CONFIG" --pgxs 2>/dev/null || echo /usr/lib/postgresql/15/lib/pgxs/src/makefiles/pgxs.mk)")/..
export PGUSER=postgres PGHOST=127.0.0.1

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# PostgreSQL refuses to run as root: as root, run server commands as the postgres user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A directory the server user can own. Under root, a clone in a private home (e.g. /root)
# is not reachable by postgres, so the state moves to /var/tmp in that case.
server_dir() {
  local want=$1
  mkdir -p "$want"
  if [ "$(id -u)" = 0 ]; then
    if ! runuser -u postgres -- test -x "$want"; then
      want=/var/tmp/specstar-$(printf '%s' "$want" | md5sum | cut -c1-12)
      mkdir -p "$want"
    fi
    chown postgres:postgres "$want"
  fi
  printf '%s\n' "$want"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# init_cluster DATADIR: a new cluster with trust auth (it only listens on 127.0.0.1).
init_cluster() {
  local data=$1
  as_pg "$PGBIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = on
log_min_messages = warning
max_prepared_transactions = 2
# counts statements per GraphQL request (tests/http/test_graphql.py)
shared_preload_libraries = 'pg_stat_statements'
CONF
}

# start_cluster DATADIR PORT [extra postgres options]
start_cluster() {
  local data=$1 port=$2; shift 2
  as_pg "$PGBIN/pg_ctl" -D "$data" -l "$data/server.log" -o "-p $port $*" -w -t 60 start >/dev/null \
    || { cat "$data/server.log" >&2; die "PostgreSQL did not start on port $port"; }
}

stop_cluster() {
  local data=$1
  [ -f "$data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}

# cluster_pids DATADIR: the pids of a cluster's processes (the postmaster and its children
# run in the data directory)
cluster_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/cwd" 2>/dev/null)" = "$1" ] && printf '%s\n' "${p#/proc/}"
  done
  return 0
}

# new_cluster DATADIR PORT: a throw-away cluster in DATADIR, started on 127.0.0.1:PORT
new_cluster() {
  as_pg mkdir -p "$1" && as_pg chmod 700 "$1"
  init_cluster "$1"
  start_cluster "$1" "$2"
}

# stop_cluster_hard DATADIR: stop a cluster, then kill -9 whatever of it is still running
# (a test's exit trap, whatever state the test left the cluster in)
stop_cluster_hard() {
  stop_cluster "$1" || true
  local left
  left=$(cluster_pids "$1" | tr '\n' ' ')
  # shellcheck disable=SC2086  # one word per pid
  [ -n "$left" ] && as_pg kill -9 $left 2>/dev/null || true
}

# crash_cluster DATADIR: kill -9 the postmaster and every backend at once, as a crash would;
# fails when they are not all gone within 10 s
crash_cluster() {
  # shellcheck disable=SC2046  # one word per pid
  as_pg kill -9 $(cluster_pids "$1") 2>/dev/null || true
  for _ in $(seq 1 100); do [ -z "$(cluster_pids "$1")" ] && break; sleep 0.1; done
  [ -z "$(cluster_pids "$1")" ] || return 1
  as_pg rm -f "$1/postmaster.pid"  # stale: every process of the cluster is gone
}

POSTGREST=${POSTGREST:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools/bin/postgrest}
