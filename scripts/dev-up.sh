#!/usr/bin/env bash
# make up: a development cluster on 127.0.0.1:$SPECSTAR_PORT (default 54329) with the
# extension and the example specs, and PostgREST on 127.0.0.1:$SPECSTAR_HTTP_PORT (default
# 54330) serving them. Running it again is harmless.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

PORT=${SPECSTAR_PORT:-54329}
HTTP_PORT=${SPECSTAR_HTTP_PORT:-54330}
DB=${SPECSTAR_DB:-specstar}
SECRET=$(python3 -c 'import sys; sys.path.insert(0, "scripts"); import jwt; print(jwt.DEV_SECRET)')
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
psql -X -q -v ON_ERROR_STOP=1 -d postgres -f scripts/roles.sql
psql -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
  || psql -X -q -d postgres -c "CREATE DATABASE $DB"
# specs registered in this database grant reads to web_anon and writes to web_writer
psql -X -q -v ON_ERROR_STOP=1 -d postgres \
  -c "ALTER DATABASE $DB SET specstar.read_roles = 'web_anon'" \
  -c "ALTER DATABASE $DB SET specstar.write_roles = 'web_writer'"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c 'CREATE EXTENSION IF NOT EXISTS specstar'
log "registering the example specs (examples/register.sql)"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f examples/register.sql >/dev/null

mkdir -p .run
postgrest_conf "$DB" "$PORT" "$HTTP_PORT" "$SECRET" > .run/postgrest.conf
if [ -f .run/postgrest.pid ] && kill -0 "$(cat .run/postgrest.pid)" 2>/dev/null; then
  log "PostgREST already running on 127.0.0.1:$HTTP_PORT (reloading its schema cache)"
  psql -X -q -d "$DB" -c "NOTIFY pgrst, 'reload schema'"
else
  log "starting PostgREST on 127.0.0.1:$HTTP_PORT"
  start_postgrest .run/postgrest.conf .run/postgrest.log .run/postgrest.pid "$HTTP_PORT"
fi

API=http://127.0.0.1:$HTTP_PORT
cat <<MSG

specstar is up.
  PostgreSQL  psql -h 127.0.0.1 -p $PORT -U postgres $DB
  REST API    $API/   (OpenAPI; anonymous requests read as web_anon)
  specs       $(psql -X -d "$DB" -tAc "SELECT string_agg(name, ', ' ORDER BY name) FROM specstar.specs")

  Writes need a token for the web_writer role (the JWT "sub" becomes the author of revisions):
    TOKEN=\$(scripts/jwt.py web_writer alice)
  then, for example:
    curl -s "$API/article?select=id,title,revision&order=updated_at.desc&limit=5"
    curl -s -X POST "$API/article" -H "Authorization: Bearer \$TOKEN" -H 'Prefer: return=representation' \\
         -H 'Content-Type: application/json' -d '{"title": "Hello"}'
  The README's "REST tour" shows every verb.
  stop        make down
MSG
