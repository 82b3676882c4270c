#!/usr/bin/env bash
# LumoAuth vs panva's oidc-provider: token endpoint (client_credentials, JWT and opaque), discovery
# and JWKS under the same wrk load, one after the other, in one run. See bench/README.md.
#
#   bash bench/run.sh                 # everything: private PostgreSQL, gunicorn, the peer, wrk
#
# Knobs (environment): BENCH_DATABASE_URL (use that database instead of starting PostgreSQL on
# BENCH_PG_PORT=5450), BENCH_WORK=/tmp/lumoauth-bench (scratch dir), BENCH_LUMO_PORT=8100,
# BENCH_PEER_PORT=8101, BENCH_WORKERS=$(nproc), BENCH_GUNICORN_ARGS (extra gunicorn flags),
# BENCH_DURATION=15s, BENCH_WARMUP=3s, BENCH_THREADS=2, BENCH_CONNECTIONS=16, BENCH_REDIS_URL,
# PEER_SRC=/work/shared/bench/peer-op, PEER_DIR=/tmp/peer-op (writable copy with node_modules).
# Everything it starts it stops on exit; results go to stdout and $BENCH_WORK/results.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BENCH="$ROOT/bench"
WORK=${BENCH_WORK:-/tmp/lumoauth-bench}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${BENCH_PG_PORT:-5450}
LUMO_PORT=${BENCH_LUMO_PORT:-8100}
PEER_PORT=${BENCH_PEER_PORT:-8101}
PEER_SRC=${PEER_SRC:-/work/shared/bench/peer-op}
PEER_DIR=${PEER_DIR:-/tmp/peer-op}
WORKERS=${BENCH_WORKERS:-$(nproc)}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-16}
DURATION=${BENCH_DURATION:-15s}
WARMUP=${BENCH_WARMUP:-3s}
PY="$ROOT/.venv/bin/python"
RESULTS="$WORK/results.txt"

LUMO="http://127.0.0.1:$LUMO_PORT/t/demo/api/v1"
PEER="http://127.0.0.1:$PEER_PORT"
PEER_ID=service
PEER_SECRET=service-secret-0123456789abcdef

PG_STARTED=0
GUNICORN_PID=""
PEER_PID=""

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- stop what we started, whatever happens ------------------------------------------------------
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  set +e
  [ -n "$PEER_PID" ] && { log "stopping oidc-provider (pid $PEER_PID)"; stop_pid "$PEER_PID"; }
  [ -n "$GUNICORN_PID" ] && { log "stopping gunicorn (pid $GUNICORN_PID)"; stop_pid "$GUNICORN_PID"; }
  if [ "$PG_STARTED" = 1 ]; then
    log "stopping PostgreSQL ($PGDATA)"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_http() { # url, seconds
  local i
  for i in $(seq $(($2 * 5))); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# ---- prerequisites -------------------------------------------------------------------------------
command -v wrk >/dev/null || {
  [ "$(id -u)" = 0 ] || die "wrk is missing: apt-get install -y wrk"
  log "installing wrk"; (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
}
command -v node >/dev/null || die "node is missing (oidc-provider needs Node.js 20+)"
[ -x "$PY" ] || scripts/bootstrap
for port in "$LUMO_PORT" "$PEER_PORT"; do
  port_busy "$port" && die "127.0.0.1:$port is already in use; stop that server or set BENCH_LUMO_PORT/BENCH_PEER_PORT"
done
mkdir -p "$WORK"
: >"$RESULTS"

if [ ! -d "$PEER_DIR/node_modules/oidc-provider" ]; then
  log "installing oidc-provider into $PEER_DIR (a writable copy of $PEER_SRC)"
  mkdir -p "$PEER_DIR"
  cp "$PEER_SRC/package.json" "$PEER_SRC/server.mjs" "$PEER_SRC/token.lua" "$PEER_SRC/README.md" "$PEER_DIR/"
  chmod -R u+w "$PEER_DIR"
  (cd "$PEER_DIR" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi

# ---- database ------------------------------------------------------------------------------------
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  DATABASE_URL=$BENCH_DATABASE_URL
  log "using BENCH_DATABASE_URL"
else
  PGDIR="$WORK/pg"
  PGDATA="$PGDIR/data"
  mkdir -p "$PGDIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$PGDIR"
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    log "initdb $PGDATA"
    as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --no-sync >/dev/null
  fi
  if as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    log "PostgreSQL of a previous run is still up in $PGDATA: reusing it (stopped at the end)"
  else
    port_busy "$PG_PORT" && die "127.0.0.1:$PG_PORT is taken by another server; set BENCH_PG_PORT"
    log "starting PostgreSQL 15 on 127.0.0.1:$PG_PORT"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDIR/postgres.log" -w -o \
      "-p $PG_PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_connections=50" start >/dev/null
  fi
  PG_STARTED=1
  # A fresh database each run, so the token tables start empty every time.
  psql_() { as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAt -v ON_ERROR_STOP=1 "$@"; }
  psql_ -c "DROP DATABASE IF EXISTS lumoauth_bench WITH (FORCE)" -c "CREATE DATABASE lumoauth_bench" postgres
  DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/lumoauth_bench"
fi

# ---- LumoAuth's environment: production-like, DEBUG off, nothing under the checkout's var/ ------
[ -f "$WORK/secret_key" ] || "$PY" -c 'import secrets; print(secrets.token_urlsafe(50))' >"$WORK/secret_key"
[ -f "$WORK/kek" ] || "$PY" -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())' >"$WORK/kek"
export DATABASE_URL
export SECRET_KEY; SECRET_KEY=$(cat "$WORK/secret_key")
export LUMOAUTH_KEY_ENCRYPTION_KEY; LUMOAUTH_KEY_ENCRYPTION_KEY=$(cat "$WORK/kek")
export DEBUG=0 ALLOWED_HOSTS=127.0.0.1,localhost LOG_LEVEL=WARNING
# Throughput is measured, not protected: no rate limits (docs/rate-limits.md).
export LUMOAUTH_RATE_LIMITS=${LUMOAUTH_RATE_LIMITS:-'{"*": "off"}'}
export LUMOAUTH_VAR_DIR="$WORK/var"
unset REDIS_URL LUMOAUTH_BASE_URL
[ -n "${BENCH_REDIS_URL:-}" ] && export REDIS_URL=$BENCH_REDIS_URL

log "migrate + quickstart"
"$PY" manage.py migrate --no-input -v0
"$PY" manage.py quickstart --json >"$WORK/quickstart.json"
JWT_ID=demo-service
JWT_SECRET=$("$PY" -c 'import json,sys; print(next(c["client_secret"] for c in json.load(open(sys.argv[1]))["clients"] if c["client_id"]=="demo-service"))' "$WORK/quickstart.json")
OPAQUE_JSON=$("$PY" manage.py shell -c "$(cat "$BENCH/setup_clients.py")" | tail -n 1)
OPAQUE_ID=$(printf '%s' "$OPAQUE_JSON" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')
OPAQUE_SECRET=$(printf '%s' "$OPAQUE_JSON" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
log "LumoAuth clients: $JWT_ID (jwt), $OPAQUE_ID (opaque) secret=$OPAQUE_SECRET"

# ---- servers -------------------------------------------------------------------------------------
log "starting gunicorn: $WORKERS sync workers on 127.0.0.1:$LUMO_PORT"
# shellcheck disable=SC2086
"$ROOT/.venv/bin/gunicorn" lumoauth.wsgi:application --bind "127.0.0.1:$LUMO_PORT" --workers "$WORKERS" \
  --log-level warning --error-logfile "$WORK/gunicorn.log" ${BENCH_GUNICORN_ARGS:-} &
GUNICORN_PID=$!
wait_http "$LUMO/.well-known/openid-configuration" 60 || die "gunicorn did not come up; see $WORK/gunicorn.log"

start_peer() { # token format
  [ -n "$PEER_PID" ] && { stop_pid "$PEER_PID"; PEER_PID=""; }
  log "starting oidc-provider (TOKEN_FORMAT=$1) on 127.0.0.1:$PEER_PORT"
  (cd "$PEER_DIR" && PORT=$PEER_PORT TOKEN_FORMAT=$1 exec node server.mjs) >"$WORK/peer-$1.log" 2>&1 &
  PEER_PID=$!
  wait_http "$PEER/.well-known/openid-configuration" 30 || die "oidc-provider did not come up; see $WORK/peer-$1.log"
}

# One token request through curl: must be 200 with the expected kind of token.
check_token() { # url id secret jwt|opaque
  local body kind
  body=$(curl -fsS -u "$2:$3" -d grant_type=client_credentials "$1") || die "token request to $1 failed"
  kind=$(printf '%s' "$body" | "$PY" -c 'import json,sys; t=json.load(sys.stdin)["access_token"]; print("jwt" if t.count(".")==2 else "opaque")')
  [ "$kind" = "$4" ] || die "$1 issued a $kind token to $2, expected $4"
}

# wrk at the agreed concurrency after a short warm-up; appends "server case rps= p50_ms= p99_ms= errors=".
measure() { # server case url script [client_id client_secret]
  local server=$1 case=$2 url=$3 script=$4 line
  export CLIENT_ID=${5:-} CLIENT_SECRET=${6:-}
  wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s "$script" "$url" >/dev/null
  line=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s "$script" "$url" | grep '^rps=') || die "wrk gave no summary for $url"
  printf '%-14s %-14s %s\n' "$server" "$case" "$line" | tee -a "$RESULTS"
}

# ---- the runs: LumoAuth and the peer alternate, case by case -------------------------------------
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  nproc=$(nproc)  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  echo "# wrk -t$THREADS -c$CONNS -d$DURATION (after ${WARMUP} warm-up); gunicorn $WORKERS sync workers; $(node --version) oidc-provider $(node -p "require('$PEER_DIR/node_modules/oidc-provider/package.json').version")"
  echo "# code: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" status --porcelain -- oauth tenants lumoauth 2>/dev/null | grep -q . && echo ' + uncommitted changes in oauth/ tenants/ lumoauth/')"
  echo "# loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$RESULTS"

start_peer jwt
check_token "$LUMO/oauth/token" "$JWT_ID" "$JWT_SECRET" jwt
check_token "$LUMO/oauth/token" "$OPAQUE_ID" "$OPAQUE_SECRET" opaque
check_token "$PEER/token" "$PEER_ID" "$PEER_SECRET" jwt
measure lumoauth token-jwt "$LUMO/oauth/token" "$BENCH/token.lua" "$JWT_ID" "$JWT_SECRET"
measure oidc-provider token-jwt "$PEER/token" "$BENCH/token.lua" "$PEER_ID" "$PEER_SECRET"
measure lumoauth discovery "$LUMO/.well-known/openid-configuration" "$BENCH/get.lua"
measure oidc-provider discovery "$PEER/.well-known/openid-configuration" "$BENCH/get.lua"
measure lumoauth jwks "$LUMO/.well-known/jwks.json" "$BENCH/get.lua"
measure oidc-provider jwks "$PEER/jwks" "$BENCH/get.lua"

start_peer opaque
check_token "$PEER/token" "$PEER_ID" "$PEER_SECRET" opaque
measure lumoauth token-opaque "$LUMO/oauth/token" "$BENCH/token.lua" "$OPAQUE_ID" "$OPAQUE_SECRET"
measure oidc-provider token-opaque "$PEER/token" "$BENCH/token.lua" "$PEER_ID" "$PEER_SECRET"

echo "# loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RESULTS"

# ---- summary: LumoAuth / oidc-provider ----------------------------------------------------------
"$PY" - "$RESULTS" <<'EOF'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    if line.startswith("#"):
        continue
    server, case, *rest = line.split()
    rows[(server, case)] = {k: float(v) for k, v in (kv.split("=") for kv in rest)}
print()
print(f"{'case':<14} {'LumoAuth rps':>12} {'p50':>7} {'p99':>7} {'err':>5} | {'oidc-provider rps':>17} {'p50':>7} {'p99':>7} {'err':>5} | {'rps ratio':>9}")
for case in ("token-jwt", "token-opaque", "discovery", "jwks"):
    a, b = rows.get(("lumoauth", case)), rows.get(("oidc-provider", case))
    if not (a and b):
        continue
    print(f"{case:<14} {a['rps']:>12.0f} {a['p50_ms']:>7.2f} {a['p99_ms']:>7.2f} {a['errors']:>5.0f} | "
          f"{b['rps']:>17.0f} {b['p50_ms']:>7.2f} {b['p99_ms']:>7.2f} {b['errors']:>5.0f} | {a['rps'] / b['rps']:>9.2f}")
print("(latencies in ms; ratio = LumoAuth rps / oidc-provider rps)")
EOF
log "results in $RESULTS"
