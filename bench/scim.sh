#!/usr/bin/env bash
# SCIM provisioning benchmark: gunicorn on a private PostgreSQL, 10,000 users and a group of 10,000
# members pushed through /scim/v2 by bench/scim_provision.py. Usage: bash bench/scim.sh [N] [THREADS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY="$ROOT/.venv/bin/python"
N=${1:-10000}; THREADS=${2:-4}
WORK=${BENCH_WORK:-/tmp/lumoauth-scim-bench}; PG_PORT=${BENCH_PG_PORT:-5451}; PORT=${BENCH_LUMO_PORT:-8102}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
mkdir -p "$WORK"; chown postgres "$WORK" 2>/dev/null || true
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -c "$(printf '%q ' "$@")"; else "$@"; fi; }
cleanup() {
  [ -n "${GUNICORN_PID:-}" ] && kill "$GUNICORN_PID" 2>/dev/null || true
  as_pg "$PG_BIN/pg_ctl" -D "$WORK/data" -m fast stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
[ -f "$WORK/data/PG_VERSION" ] || as_pg "$PG_BIN/initdb" -D "$WORK/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$WORK/data" -l "$WORK/pg.log" -w -o "-p $PG_PORT -k $WORK -c listen_addresses=127.0.0.1" start >/dev/null
as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAt -c "DROP DATABASE IF EXISTS scim_bench WITH (FORCE)" -c "CREATE DATABASE scim_bench" postgres
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/scim_bench" DEBUG=0 LOG_LEVEL=WARNING
export SECRET_KEY=scim-bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz LUMOAUTH_VAR_DIR="$WORK/var"
export ALLOWED_HOSTS=127.0.0.1,localhost LUMOAUTH_RATE_LIMITS='{"*": "off"}'  # throughput, not protection
unset REDIS_URL LUMOAUTH_BASE_URL
cd "$ROOT"
"$PY" manage.py migrate --no-input -v0
TOKEN=$("$PY" manage.py quickstart --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["scim"]["token"])')
"$ROOT/.venv/bin/gunicorn" lumoauth.wsgi:application --bind "127.0.0.1:$PORT" --workers "$(nproc)" \
  --log-level warning --timeout 300 &
GUNICORN_PID=$!
for _ in $(seq 60); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.5; done
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) nproc=$(nproc) code=$(git rev-parse --short HEAD)"
"$PY" bench/scim_provision.py "http://127.0.0.1:$PORT/t/demo/scim/v2" "$TOKEN" "$N" "$THREADS"
