#!/usr/bin/env bash
# `make test`: the whole suite, on SQLite and on Postgres.
#
# - AIAPI_TEST_POSTGRES_URL set: the Postgres variants run against it.
# - Unset, with PostgreSQL's server binaries installed (initdb, pg_ctl): a
#   private throwaway cluster is started under target/ for this run, the
#   suite points at it, and it is stopped and deleted afterwards.
# - Neither: the Postgres variants are filtered out, so the runner counts
#   them as skipped (never as passed), and one line says how to run them.
# - The browser tests need Debian's chromium and playwright-core (`make
#   browser-setup`); without them they are filtered out the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}

skipped=()
if [ ! -x /usr/bin/chromium ] || [ ! -f target/browser/node_modules/playwright-core/package.json ] ||
   [ ! -f target/browser/node_modules/@modelcontextprotocol/sdk/package.json ] ||
   [ ! -x target/browser/pyenv/bin/python ]; then
  echo "test: no chromium, playwright-core or MCP SDKs: the browser tests are skipped; run make browser-setup to run them" >&2
  skipped+=(browser_)
fi

# run_suite [PATTERN]: the suite, less the tests whose names match PATTERN
# or one of the patterns skipped above, which the runner then counts as
# skipped.
run_suite() {
  local patterns=("${skipped[@]}" ${1:+"$1"})
  if "$cargo" nextest --version >/dev/null 2>&1; then
    local joined
    joined=$(IFS='|'; echo "${patterns[*]}")
    "$cargo" nextest run --no-fail-fast ${joined:+-E "not test(/$joined/)"}
  else
    local skips=()
    for p in "${patterns[@]}"; do skips+=(--skip "$p"); done
    "$cargo" test --no-fail-fast ${skips[0]:+-- "${skips[@]}"}
  fi
}

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
have_server=
[ -n "$bin" ] && [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] && have_server=1

if [ -n "${AIAPI_TEST_POSTGRES_URL:-}" ]; then
  if [ -n "$have_server" ]; then
    run_suite
  else
    # The outage test stops a private cluster of its own, which needs them.
    echo "test: no PostgreSQL server binaries (initdb, pg_ctl): the outage test is skipped;" \
         "install postgresql to run it" >&2
    run_suite postgres_outage
  fi
  exit
fi

if [ -z "$have_server" ]; then
  echo "test: no PostgreSQL server binaries (initdb, pg_ctl): the Postgres variants are skipped;" \
       "install postgresql, or set AIAPI_TEST_POSTGRES_URL to an admin URL, to run them" >&2
  run_suite postgres
  exit
fi

mkdir -p target
cluster=$(mktemp -d "$PWD/target/test-pg.XXXXXX")
# initdb refuses to run as root: as root, the cluster runs as `postgres`.
as=()
if [ "$(id -u)" = 0 ]; then
  chown postgres:postgres "$cluster"
  as=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop() {
  "${as[@]}" "$bin/pg_ctl" -D "$cluster/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$cluster"
}
trap stop EXIT
echo "test: starting a private PostgreSQL ($("$bin/postgres" --version | awk '{print $3}')) on 127.0.0.1:$port for this run" >&2
"${as[@]}" "$bin/initdb" -D "$cluster/data" -A trust -U postgres --no-sync >"$cluster/initdb.log" 2>&1 ||
  { cat "$cluster/initdb.log" >&2; exit 1; }
"${as[@]}" "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/postgres.log" -w \
  -o "-p $port -c listen_addresses=127.0.0.1 -k $cluster -c fsync=off -c max_connections=300" start >/dev/null ||
  { cat "$cluster/postgres.log" >&2; exit 1; }
export AIAPI_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
run_suite
