#!/usr/bin/env bash
# make down: stops what make up started (the data stays in .run/ for the next make up).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
STATE=$(server_dir "$PWD/.run")
if [ -f "$STATE/pgdata/postmaster.pid" ]; then
  stop_cluster "$STATE/pgdata"
  log "PostgreSQL stopped"
else
  log "nothing running"
fi
