#!/usr/bin/env bash
# scripts/api-db.sh DB: the database make up serves (and the HTTP tests use): the
# development roles, specs granted to web_anon (read) and web_writer (write), the extension
# and the example specs. Needs PGHOST/PGPORT/PGUSER of a running cluster; harmless to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
DB=$1
psql=(psql -X -q -v ON_ERROR_STOP=1)
"${psql[@]}" -d postgres -f scripts/roles.sql
"${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
  || "${psql[@]}" -d postgres -c "CREATE DATABASE $DB"
"${psql[@]}" -d postgres \
  -c "ALTER DATABASE $DB SET specstar.read_roles = 'web_anon'" \
  -c "ALTER DATABASE $DB SET specstar.write_roles = 'web_writer'"
"${psql[@]}" -d "$DB" -c 'CREATE EXTENSION IF NOT EXISTS specstar'
"${psql[@]}" -d "$DB" -f examples/register.sql >/dev/null
