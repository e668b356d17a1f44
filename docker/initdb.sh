#!/bin/bash
# Runs once, when the container initialises its data directory: what `make up` does on a
# Debian machine (scripts/dev-up.sh), inside the official postgres image.
set -euo pipefail
psql=(psql -X -q -v ON_ERROR_STOP=1 --username "$POSTGRES_USER")
"${psql[@]}" -d postgres -f /specstar/roles.sql
"${psql[@]}" -d postgres -c "ALTER DATABASE \"$POSTGRES_DB\" SET specstar.read_roles = 'web_anon'" \
                         -c "ALTER DATABASE \"$POSTGRES_DB\" SET specstar.write_roles = 'web_writer'"
cd /specstar
"${psql[@]}" -d "$POSTGRES_DB" -c 'CREATE EXTENSION IF NOT EXISTS specstar'
"${psql[@]}" -d "$POSTGRES_DB" -f examples/register.sql
