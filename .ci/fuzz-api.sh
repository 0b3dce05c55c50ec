#!/usr/bin/env bash
# Fuzzes every REST operation in /openapi.json with schemathesis (PyPI),
# against a fresh server on a temp SQLite database and, when
# AIAPI_TEST_POSTGRES_URL is set, on a throwaway Postgres database.
#
# The run is bounded (examples per operation and seconds per backend) and
# seeded, so a failure reproduces. It fails on any 5xx, any status the
# document does not list for the operation, and any body that does not match
# the documented schema. The shared admin token is kept away from the two
# operations that end it (logout and password change); everything else,
# user administration included, is fuzzed with it.
#
# Every body, query and path parameter is also tried with its strings
# stretched to a few kilobytes (.ci/fuzz_long_strings.py): past Postgres's
# btree row limit, where a 3 KB session id or username once answered 500.
#
# Knobs: FUZZ_MAX_EXAMPLES (default 25), FUZZ_MAX_TIME seconds per backend
# (default 180), FUZZ_SEED (default 20261125).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/fuzz-venv
schemathesis_version=4.32.5
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$schemathesis_version"; then
  echo "fuzz-api: installing schemathesis $schemathesis_version into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

cargo build --quiet --bin aiapi
work=$(mktemp -d)
server_pid=
pg_db=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$pg_db" ]; then psql -q "$AIAPI_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p target/fuzz-api

# fuzz BACKEND DATABASE_URL: serves on DATABASE_URL and fuzzes it.
fuzz() {
  local backend=$1 url=$2 dir="$work/$1"
  mkdir -p "$dir"
  AIAPI_DATA_DIR="$dir" DATABASE_URL="$url" AIAPI_LOG=info AIAPI_ACCESS_TOKEN_MINUTES=120 \
    target/debug/aiapi serve --bind 127.0.0.1:0 > "$dir/stdout" 2> "$dir/server.log" &
  server_pid=$!
  for _ in $(seq 1 100); do
    grep -q '^listening on ' "$dir/stdout" 2>/dev/null && break
    sleep 0.1
  done
  local base
  base=$(sed -n 's/^listening on //p' "$dir/stdout")
  [ -n "$base" ] || { cat "$dir/server.log" >&2; return 1; }
  local token
  token=$(curl -sf -X POST "$base/auth/login" -H 'content-type: application/json' \
            -d '{"username":"admin","password":"admin123"}' |
          python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
  echo "fuzz-api: $backend: fuzzing $base/openapi.json" >&2
  local status=0
  PYTHONPATH=.ci SCHEMATHESIS_HOOKS=fuzz_long_strings \
  "$venv/bin/schemathesis" run "$base/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance \
    --exclude-path /auth/logout --exclude-path /auth/me/password \
    --max-examples "${FUZZ_MAX_EXAMPLES:-25}" --max-time "${FUZZ_MAX_TIME:-180}" \
    --seed "${FUZZ_SEED:-20261125}" --request-timeout 30 \
    --report junit --report-junit-path "target/fuzz-api/$backend.junit.xml" \
    --output-truncate true || status=$?
  kill "$server_pid"
  wait "$server_pid" || true
  server_pid=
  cp "$dir/server.log" "target/fuzz-api/$backend-server.log"
  if grep -q 'panicked' "$dir/server.log"; then
    echo "fuzz-api: $backend: the server panicked (target/fuzz-api/$backend-server.log)" >&2
    status=1
  fi
  return $status
}

failed=()
fuzz sqlite "sqlite://$work/sqlite.db?mode=rwc" || failed+=(sqlite)
if [ -n "${AIAPI_TEST_POSTGRES_URL:-}" ]; then
  pg_db="aiapi_fuzz_$$"
  psql -q "$AIAPI_TEST_POSTGRES_URL" -c "CREATE DATABASE $pg_db" >/dev/null
  fuzz postgres "${AIAPI_TEST_POSTGRES_URL%/*}/$pg_db" || failed+=(postgres)
else
  echo "fuzz-api: AIAPI_TEST_POSTGRES_URL is not set: Postgres not fuzzed" >&2
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz-api: failures on ${failed[*]} (reports in target/fuzz-api/)" >&2
  exit 1
fi
echo "fuzz-api: no server errors, undocumented statuses or schema violations" >&2
