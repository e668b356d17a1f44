# specstar — the two commands: `make up` and `make test`. Everything they need is
# installed by scripts/deps.sh when missing (Debian 12, run as root or with sudo).

SHELL := /bin/bash
PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
# Build artifacts live outside the clone so that CI runs and fresh clones can reuse them.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/specstar/target
export PG_CONFIG

.PHONY: up down test crashtest bench deps install unit regress fmt clean-state

up: install                      ## build, install, start PostgreSQL with the example specs
	scripts/dev-up.sh

down:                            ## stop what `make up` started
	scripts/dev-down.sh

test: install                    ## every test suite (starts and stops its own servers)
	scripts/test.sh

crashtest: install               ## 100 kill -9 crashes under load, each followed by a check of the search index
	tests/search_crash.sh 100 .run/crashtest-output

bench: install                   ## benchmarks; results go to docs/benchmarks.md
	bench/run.sh

deps:                            ## install what is missing (apt packages, cargo-pgrx)
	scripts/deps.sh

install: deps                    ## build the extension (release) and the admin page, and install both into PostgreSQL 15
	cd admin && node build.mjs
	cargo pgrx install --release --pg-config $(PG_CONFIG) $(if $(filter 0,$(shell id -u)),,--sudo)
	$(if $(filter 0,$(shell id -u)),,sudo) install -D -m 644 -t $(shell $(PG_CONFIG) --sharedir)/extension/specstar admin/dist/admin.html admin/dist/admin.csp

unit:                            ## only the pure-Rust unit tests
	cargo test -p specstar-core -p specstar-search -p specstar-graphql
	cd admin && node --test tests/schema.test.mjs

regress: install                 ## only the golden SQL tests
	SUITES="regress readme" scripts/test.sh

clean-state: down                ## forget the development cluster (.run/)
	rm -rf .run
