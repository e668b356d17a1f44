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
# roles, the database (specs in it grant reads to web_anon and writes to web_writer), the
# extension and the example specs
log "database $DB with the example specs (scripts/api-db.sh)"
scripts/api-db.sh "$DB"

mkdir -p .run
scripts/postgrest.py conf "$DB" "$PORT" "$HTTP_PORT" "$SECRET" > .run/postgrest.conf
if [ -f .run/postgrest.pid ] && kill -0 "$(cat .run/postgrest.pid)" 2>/dev/null; then
  log "PostgREST already running on 127.0.0.1:$HTTP_PORT (reloading its schema cache)"
  psql -X -q -d "$DB" -c "NOTIFY pgrst, 'reload schema'"
else
  log "starting PostgREST on 127.0.0.1:$HTTP_PORT"
  scripts/postgrest.py start .run/postgrest.conf .run/postgrest.log "$HTTP_PORT" > .run/postgrest.pid
fi

API=http://127.0.0.1:$HTTP_PORT
cat <<MSG

specstar is up.
  PostgreSQL  psql -h 127.0.0.1 -p $PORT -U postgres $DB
  REST API    $API/   (OpenAPI; requests without a token read as web_anon)
  GraphQL     $API/rpc/graphql   (POST {"query": ...}; schema: $API/rpc/graphql_sdl; docs/graphql.md)
  Admin page  $API/rpc/admin   (open it in a browser; sign in with a token from scripts/jwt.py; docs/admin.md)
  specs       $(psql -X -d "$DB" -tAc "SELECT string_agg(name, ', ' ORDER BY name) FROM specstar.specs")

  Writes need a JWT for the role web_writer; its "sub" becomes the author of the revisions:
    API=$API
    TOKEN=\$(scripts/jwt.py web_writer alice)
    ID=<an id, e.g. from the POST below>

  GET      curl -s "\$API/article?select=id,title,revision&order=updated_at.desc"
  POST     curl -s -X POST "\$API/article" -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
                -H 'Prefer: return=representation' -d '{"title": "Hello"}'
  PATCH    curl -s -X PATCH "\$API/article?id=eq.\$ID" -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
                -H 'If-Match: "1"' -H 'X-Specstar-Message: why' -d '{"title": "Hello again"}'
  PUT      curl -s -X PUT "\$API/article?id=eq.\$ID" -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
                -d "{\\"id\\": \\"\$ID\\", \\"title\\": \\"Replaced\\"}"
  DELETE   curl -s -X DELETE "\$API/article?id=eq.\$ID" -H "Authorization: Bearer \$TOKEN"
  history  curl -s "\$API/article_revision?id=eq.\$ID&order=revision.desc"
  restore  curl -s -X POST "\$API/rpc/article_restore" -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
                -d "{\\"id\\": \\"\$ID\\"}"
  search   curl -s "\$API/rpc/article_search?q=hello&select=id,title,score,highlights"   (docs/search.md)
  GraphQL  curl -s "\$API/rpc/graphql" -H 'Content-Type: application/json' \\
                -d '{"query": "{ articleCollection(first: 3) { totalCount edges { node { title revision } } } }"}'   (docs/graphql.md)

  The README's "A tour over HTTP" runs every verb; docs/rest.md has the rest.
  stop        make down
MSG
