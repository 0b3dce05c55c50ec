#!/usr/bin/env bash
# Regenerates the sqlx offline query data of both dialects into one directory
# (default .sqlx). Each dialect's schema is laid from migrations/<dialect>/
# into a throwaway database (a temp SQLite file; a temp Postgres database,
# dropped on exit), then the crate is checked with only that backend's
# feature and a live DATABASE_URL, so the macros describe each query against
# its own dialect and write query-<hash>.json files carrying their db_name.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-.sqlx}
pg_admin=${AIAPI_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
pg_base=${pg_admin%/*}
work=$(mktemp -d)
db="aiapi_sqlx_prepare_$$"

cleanup() {
  psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

for f in $(ls migrations/sqlite/*.sql | sort -V); do
  sqlite3 -bail "$work/schema.db" < "$f"
done
psql "$pg_admin" -qc "CREATE DATABASE $db" >/dev/null
for f in $(ls migrations/postgres/*.sql | sort -V); do
  psql "$pg_base/$db" -q -v ON_ERROR_STOP=1 -f "$f" >/dev/null
done

rm -rf "$out"
mkdir -p "$out"
out_abs=$(cd "$out" && pwd)

# The macros only re-run when the crate recompiles: touch a source file first.
echo "sqlx-prepare: describing SQLite queries" >&2
touch src/lib.rs
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$out_abs" DATABASE_URL="sqlite://$work/schema.db" \
  cargo check --quiet --all-targets --no-default-features --features sqlite
echo "sqlx-prepare: describing Postgres queries" >&2
touch src/lib.rs
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$out_abs" DATABASE_URL="$pg_base/$db" \
  cargo check --quiet --all-targets --no-default-features --features postgres
touch src/lib.rs
echo "sqlx-prepare: $(ls "$out_abs" | wc -l) query files in $out" >&2
