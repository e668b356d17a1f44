#!/usr/bin/env bash
# make down: stops what make up started (the data stays in .run/ for the next make up).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
if [ -f .run/postgrest.pid ]; then
  kill "$(cat .run/postgrest.pid)" 2>/dev/null || true
  rm -f .run/postgrest.pid
  log "PostgREST stopped"
fi
STATE=$(server_dir "$PWD/.run")
if [ -f "$STATE/pgdata/postmaster.pid" ]; then
  stop_cluster "$STATE/pgdata"
  log "PostgreSQL stopped"
else
  log "PostgreSQL was not running"
fi
