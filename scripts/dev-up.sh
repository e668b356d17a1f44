#!/usr/bin/env bash
# make up: a development cluster on 127.0.0.1:$SPECSTAR_PORT (default 54329) with the
# extension created and the example specs registered. Running it again is harmless.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

PORT=${SPECSTAR_PORT:-54329}
DB=${SPECSTAR_DB:-specstar}
STATE=$(server_dir "$PWD/.run")
DATA=$STATE/pgdata

if [ ! -f "$DATA/PG_VERSION" ]; then
  log "initdb $DATA"
  as_pg mkdir -p "$DATA"
  as_pg chmod 700 "$DATA"
  init_cluster "$DATA"
fi
if as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  log "PostgreSQL already running on 127.0.0.1:$PORT"
else
  log "starting PostgreSQL on 127.0.0.1:$PORT"
  start_cluster "$DATA" "$PORT"
fi
export PGPORT=$PORT
psql -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
  || psql -X -q -d postgres -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c 'CREATE EXTENSION IF NOT EXISTS specstar'
log "registering the example specs (examples/register.sql)"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f examples/register.sql >/dev/null

cat <<MSG

specstar is up.
  PostgreSQL  postgresql://postgres@127.0.0.1:$PORT/$DB
  psql        psql -h 127.0.0.1 -p $PORT -U postgres $DB
  specs       $(psql -X -d "$DB" -tAc "SELECT string_agg(name, ', ' ORDER BY name) FROM specstar.specs")
  stop        make down
MSG
