# PostgreSQL 15 with specstar built in. Not exercised by CI (no Docker engine there): it
# mirrors what `make up` does on Debian 12. Used by docker-compose.yml.

FROM postgres:15-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential ca-certificates curl git pkg-config libclang-dev clang \
      postgresql-server-dev-15 \
 && rm -rf /var/lib/apt/lists/*
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:$PATH
RUN curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain 1.95.0
RUN cargo install cargo-pgrx --version 0.18.1 --locked \
 && cargo pgrx init --pg15 /usr/lib/postgresql/15/bin/pg_config
WORKDIR /src
COPY Cargo.toml Cargo.lock specstar.control ./
COPY crates crates
COPY src src
COPY sql sql
RUN cargo pgrx package --pg-config /usr/lib/postgresql/15/bin/pg_config --out-dir /out

# the admin page (admin/: npm packages pinned by its lockfile, bundled by esbuild)
FROM node:20-bookworm-slim AS admin
WORKDIR /admin
COPY admin/package.json admin/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY admin/build.mjs ./
COPY admin/src src
RUN node build.mjs

FROM postgres:15-bookworm
COPY --from=build /out/usr/share/postgresql/15/extension/ /usr/share/postgresql/15/extension/
COPY --from=build /out/usr/lib/postgresql/15/lib/ /usr/lib/postgresql/15/lib/
COPY --from=admin /admin/dist/admin.html /admin/dist/admin.csp /usr/share/postgresql/15/extension/specstar/
# first start: roles, the extension and the example specs (docker/initdb.sh)
COPY scripts/roles.sql /specstar/roles.sql
COPY examples /specstar/examples
COPY docker/initdb.sh /docker-entrypoint-initdb.d/10-specstar.sh
