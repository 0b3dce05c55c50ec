# aiapi — common tasks. `make run` serves on the embedded SQLite default;
# `make test` runs every test, on SQLite and on Postgres (see the test target).

CARGO ?= cargo
FEATURE_SETS := "" "--no-default-features --features sqlite" "--no-default-features --features postgres"

.PHONY: run build install test check fmt clippy sqlx-prepare sqlx-check migrate readme-check conformance fuzz-api bench browser-setup

## Build and serve on 127.0.0.1:8000 with ./data/aiapi.db (created on first run).
run:
	$(CARGO) run --bin aiapi -- serve

build:
	$(CARGO) build --release --bin aiapi

## Build in release mode and put `aiapi` into ~/.cargo/bin.
install:
	$(CARGO) install --locked --path .

## Every test, on SQLite and Postgres (AIAPI_TEST_POSTGRES_URL, else a private
## cluster when PostgreSQL is installed, else the Postgres tests are skipped).
test:
	@CARGO=$(CARGO) .ci/test.sh

## Formatting, lints on all three feature sets, offline query data, tests.
check: fmt clippy sqlx-check test

fmt:
	$(CARGO) fmt --check

clippy:
	@for features in $(FEATURE_SETS); do \
		echo "clippy $$features"; \
		$(CARGO) clippy --all-targets $$features -- -D warnings || exit 1; \
	done

## Regenerate .sqlx/ from both dialects (needs sqlite3, psql and a local Postgres).
sqlx-prepare:
	.ci/sqlx-prepare.sh .sqlx

## Fail when .sqlx/ is stale.
sqlx-check:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	.ci/sqlx-prepare.sh "$$tmp/sqlx" && \
	if diff -r .sqlx "$$tmp/sqlx" >/dev/null; then \
		echo "sqlx-check: .sqlx is up to date"; \
	else \
		diff -r .sqlx "$$tmp/sqlx" | head -20; \
		echo "sqlx-check: .sqlx is stale: run 'make sqlx-prepare' and commit it"; exit 1; \
	fi

## Apply pending migrations to DATABASE_URL (default: ./data/aiapi.db).
migrate:
	$(CARGO) run --bin aiapi -- migrate

## Run every shell block of README.md, in order, against a fresh server (needs curl, jq, npx).
readme-check:
	python3 -m doctest .ci/readme_check.py
	python3 .ci/readme_check.py

## The official MCP conformance suite against /mcp and the authorization server (needs npm; installs Node 22 locally).
conformance:
	.ci/conformance.sh

## Debian's chromium (as root) and playwright-core (into target/browser):
## what the browser tests need; `make test` skips them without it.
browser-setup:
	.ci/browser-setup.sh

## schemathesis (PyPI, into target/fuzz-venv) against every REST operation
## in /openapi.json, on SQLite and, when AIAPI_TEST_POSTGRES_URL is set, Postgres.
fuzz-api:
	.ci/fuzz-api.sh

## Release build, then wrk against aiapi (SQLite; Postgres too when
## AIAPI_TEST_POSTGRES_URL is set) and a poem hello-world; writes BENCHMARKS.md.
bench:
	@command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)"; exit 1; }
	$(CARGO) build --release --bin aiapi --example hello_ceiling
	python3 bench/bench.py
