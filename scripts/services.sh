#!/usr/bin/env bash
# Throwaway PostgreSQL 15 + Redis for Hadar's test suite.
#
# Usage: scripts/services.sh {start|stop|env|status|redis-start|redis-stop}
#
#   start        idempotently start PostgreSQL and Redis (reuses running ones)
#   stop         stop both (tolerates already-stopped)
#   env          print `export` lines for the test suite (eval "$(scripts/services.sh env)")
#   status       print whether each service answers (exit 1 if either is down)
#   redis-start  start only Redis
#   redis-stop   stop only Redis (used by tests to simulate an outage)
#
# Environment:
#   HADAR_SERVICES_DIR  state dir            (default: <repo>/.services)
#   HADAR_PG_PORT       PostgreSQL TCP port  (default: 55432)
#   HADAR_REDIS_PORT    Redis TCP port       (default: 56379)
#   HADAR_PG_BIN        PostgreSQL bin dir   (default: /usr/lib/postgresql/15/bin)
#   HADAR_PG_OS_USER    OS user that runs postgres when invoked as root
#                       (default: postgres; created as hadar-pg / falls back to nobody)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd -P)"
SCRIPT_PATH="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"

STATE_DIR="${HADAR_SERVICES_DIR:-$REPO/.services}"
PG_PORT="${HADAR_PG_PORT:-55432}"
REDIS_PORT="${HADAR_REDIS_PORT:-56379}"
PG_BIN="${HADAR_PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_DB="hadar_test"
PG_SUPERUSER="postgres"   # database role (initdb -U), not the OS user

REDIS_PIDFILE="" REDIS_LOGFILE=""
PG_ROOT="" PG_DATA="" PG_SOCK="" PG_LOG=""
PG_OS_USER=""

log() { echo "services: $*"; }
err() { echo "services: ERROR: $*" >&2; }
die() { err "$*"; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# ---------------------------------------------------------------- state dir --

init_state_dir() {
  mkdir -p "$STATE_DIR"
  STATE_DIR="$(cd "$STATE_DIR" && pwd -P)"
  chmod 755 "$STATE_DIR" 2>/dev/null || true
  REDIS_PIDFILE="$STATE_DIR/redis.pid"
  REDIS_LOGFILE="$STATE_DIR/redis.log"
}

# Serialise concurrent invocations (e.g. parallel `make` targets).
take_lock() {
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$STATE_DIR/.lock"
    flock -w 120 9 || die "timed out waiting for lock $STATE_DIR/.lock"
  fi
}

# --------------------------------------------------------------- postgres ----

# Pick the OS user that runs postgres (postgres refuses to run as root).
pick_pg_os_user() {
  if ! is_root; then
    PG_OS_USER="$(id -un)"
    return
  fi
  local u
  for u in "${HADAR_PG_OS_USER:-}" postgres hadar-pg; do
    [ -n "$u" ] || continue
    if id -u "$u" >/dev/null 2>&1; then PG_OS_USER="$u"; return; fi
  done
  if command -v useradd >/dev/null 2>&1 &&
     useradd --system --no-create-home --home-dir /nonexistent \
             --shell /usr/sbin/nologin hadar-pg >/dev/null 2>&1; then
    PG_OS_USER="hadar-pg"; return
  fi
  if id -u nobody >/dev/null 2>&1; then PG_OS_USER="nobody"; return; fi
  die "no unprivileged user available to run postgres (tried postgres, hadar-pg, nobody)"
}

# Run a command as $PG_OS_USER, from a cwd it can access. fd 9 (the lock) is
# closed so daemons started from here do not keep holding it.
as_pg() {
  if ! is_root; then
    (cd / && exec "$@" 9>&-)
  elif command -v runuser >/dev/null 2>&1; then
    (cd / && exec runuser -u "$PG_OS_USER" -- "$@" 9>&-)
  elif command -v setpriv >/dev/null 2>&1; then
    (cd / && exec setpriv --reuid="$PG_OS_USER" --regid="$(id -g "$PG_OS_USER")" --init-groups -- "$@" 9>&-)
  else
    local q; printf -v q '%q ' "$@"
    (cd / && exec su -s /bin/sh "$PG_OS_USER" -c "$q" 9>&-)
  fi
}

# Can $PG_OS_USER create files in $1 (i.e. all parents traversable, dir writable)?
pg_user_can_use() {
  as_pg test -d "$1" -a -w "$1" -a -x "$1" 2>/dev/null
}

# Set PG_ROOT/PG_DATA/PG_SOCK/PG_LOG. Prefers <state>/pg; falls back to
# /tmp/hadar-pg-$PORT when the state dir is unusable by the postgres user
# (e.g. repo under /root) or its path is too long for a unix socket.
resolve_pg_paths() {
  local loc_file="$STATE_DIR/pg.location" candidate=""
  if [ -f "$loc_file" ]; then
    candidate="$(cat "$loc_file")"
    # Only trust the two locations this script itself would choose (the file
    # may come from another checkout / machine).
    if [ ! -d "$candidate" ] ||
       { [ "$candidate" != "$STATE_DIR/pg" ] && [ "$candidate" != "/tmp/hadar-pg-$PG_PORT" ]; } ||
       ! pg_user_can_use "$candidate"; then
      candidate=""
    fi
  fi
  if [ -z "$candidate" ]; then
    candidate="$STATE_DIR/pg"
    # sun_path is 108 bytes: "<sock dir>/.s.PGSQL.<port>" must fit.
    if [ $(( ${#candidate} + 5 + 13 + ${#PG_PORT} )) -ge 100 ]; then
      candidate=""
    else
      mkdir -p "$candidate"
      if is_root; then chown "$PG_OS_USER": "$candidate" 2>/dev/null || true; fi
      chmod 700 "$candidate" 2>/dev/null || true
      if ! pg_user_can_use "$candidate"; then
        rmdir "$candidate" 2>/dev/null || true
        candidate=""
      fi
    fi
    if [ -z "$candidate" ]; then
      candidate="/tmp/hadar-pg-$PG_PORT"
      mkdir -p "$candidate"
      if is_root; then chown "$PG_OS_USER": "$candidate"; fi
      chmod 700 "$candidate"
      pg_user_can_use "$candidate" ||
        die "user $PG_OS_USER cannot write to $candidate"
    fi
    echo "$candidate" >"$loc_file"
  fi
  PG_ROOT="$candidate"
  PG_DATA="$PG_ROOT/data"
  PG_SOCK="$PG_ROOT/sock"
  PG_LOG="$PG_ROOT/postgres.log"
}

# Like resolve_pg_paths but never creates anything (for stop/status).
resolve_pg_paths_readonly() {
  local loc_file="$STATE_DIR/pg.location" candidate=""
  if [ -f "$loc_file" ]; then candidate="$(cat "$loc_file")"; fi
  if [ "$candidate" != "$STATE_DIR/pg" ] && [ "$candidate" != "/tmp/hadar-pg-$PG_PORT" ]; then
    candidate="$STATE_DIR/pg"
  fi
  PG_ROOT="$candidate"
  PG_DATA="$PG_ROOT/data"
  PG_SOCK="$PG_ROOT/sock"
  PG_LOG="$PG_ROOT/postgres.log"
}

check_pg_bin() {
  [ -x "$PG_BIN/pg_ctl" ] && [ -x "$PG_BIN/initdb" ] ||
    die "PostgreSQL binaries not found in $PG_BIN (set HADAR_PG_BIN)"
}

pg_answers() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres -t 2 >/dev/null 2>&1
}

# Is the postmaster recorded in our data dir alive? Removes a stale
# postmaster.pid (crashed server, or a zombie not yet reaped by PID 1, which
# would otherwise make pg_ctl/postgres believe the server is still running).
pg_ours_running() {
  local pid comm="" cwd=""
  [ -f "$PG_DATA/postmaster.pid" ] || return 1
  pid="$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && pid_alive "$pid"; then
    comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
    cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null || true)"
    case "$comm" in
      ""|postgres|postmaster)
        # the postmaster runs with its data dir as cwd; a different cwd means
        # the PID was reused by some other server
        if [ -z "$cwd" ] || [ "$cwd" = "$PG_DATA" ]; then return 0; fi ;;
    esac
  fi
  rm -f "$PG_DATA/postmaster.pid"
  # Same for the unix-socket lock file (postgres checks the PID recorded there).
  local lock="$PG_SOCK/.s.PGSQL.$PG_PORT.lock"
  if [ -f "$lock" ]; then
    pid="$(head -n1 "$lock" 2>/dev/null || true)"
    if [ -z "$pid" ] || ! pid_alive "$pid"; then
      rm -f "$lock" "$PG_SOCK/.s.PGSQL.$PG_PORT"
    fi
  fi
  return 1
}

pg_wipe() {
  rm -rf "$PG_DATA" 2>/dev/null || as_pg rm -rf "$PG_DATA"
}

pg_init() {
  if [ -d "$PG_DATA" ]; then
    if [ ! -f "$PG_DATA/PG_VERSION" ] ||
       [ "$(stat -c %U "$PG_DATA")" != "$PG_OS_USER" ] ||
       [ ! -f "$PG_DATA/postgresql.conf" ] || [ ! -d "$PG_DATA/pg_notify" ]; then
      # Interrupted initdb, or a copy not made by initdb for this user (e.g. a
      # data dir that ended up in git): it is throwaway, so start over.
      pg_wipe
    fi
  fi
  [ -f "$PG_DATA/PG_VERSION" ] && return 0
  if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_SUPERUSER" -A trust -E UTF8 \
        --locale=C --no-sync --no-instructions >"$PG_ROOT/initdb.log" 2>&1; then
    cat "$PG_ROOT/initdb.log" >&2
    die "initdb failed (log: $PG_ROOT/initdb.log)"
  fi
  echo "include_if_exists = 'hadar.conf'" >>"$PG_DATA/postgresql.conf"
}

pg_write_conf() {
  as_pg mkdir -p "$PG_SOCK"
  local tmp; tmp="$(mktemp)"
  cat >"$tmp" <<EOF
# Generated by scripts/services.sh on every start; throwaway test cluster.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
EOF
  chmod 644 "$tmp"
  as_pg cp "$tmp" "$PG_DATA/hadar.conf"
  rm -f "$tmp"
}

pg_ensure_db() {
  local psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_SUPERUSER")
  local exists
  exists="$(PGCONNECT_TIMEOUT=5 "${psql[@]}" -d postgres -tAc \
            "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" ||
    die "cannot connect to PostgreSQL on 127.0.0.1:$PG_PORT as $PG_SUPERUSER"
  if [ "$exists" != "1" ]; then
    PGCONNECT_TIMEOUT=5 "${psql[@]}" -d postgres -c "CREATE DATABASE $PG_DB" >/dev/null 2>&1 ||
      # a concurrent creator may have won the race
      [ "$(PGCONNECT_TIMEOUT=5 "${psql[@]}" -d postgres -tAc \
           "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" = "1" ] ||
      die "could not create database $PG_DB"
  fi
}

pg_start() {
  check_pg_bin
  pick_pg_os_user
  resolve_pg_paths
  local how
  if pg_ours_running && ! grep -qx "port = $PG_PORT" "$PG_DATA/hadar.conf" 2>/dev/null; then
    # Our cluster is up but configured for another port: restart it.
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 -s stop >/dev/null || true
  fi
  if pg_ours_running; then
    how="already running"
  elif pg_answers; then
    how="reusing server already listening on port $PG_PORT"
  else
    # Nothing is serving our port and our postmaster is gone: any socket lock
    # left in the socket dir is stale. Also make sure leftovers not created by
    # the postgres user (e.g. from a checkout) do not block it.
    rm -f "$PG_SOCK/.s.PGSQL.$PG_PORT" "$PG_SOCK/.s.PGSQL.$PG_PORT.lock" 2>/dev/null || true
    if is_root; then
      find "$PG_ROOT" -maxdepth 1 -mindepth 1 ! -path "$PG_DATA" ! -user "$PG_OS_USER" \
        -exec chown -R "$PG_OS_USER": {} + 2>/dev/null || true
    fi
    pg_init
    pg_write_conf
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -s start >/dev/null 2>&1; then
      # Throwaway cluster: if an existing data dir will not start, re-create it once.
      if pg_answers || pg_ours_running; then
        tail -n 30 "$PG_LOG" >&2 2>/dev/null || true
        die "PostgreSQL failed to start (log: $PG_LOG)"
      fi
      echo "services: postgres failed to start from existing data dir; re-initialising" >&2
      pg_wipe
      pg_init
      pg_write_conf
      if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -s start >/dev/null 2>&1; then
        tail -n 30 "$PG_LOG" >&2 2>/dev/null || true
        die "PostgreSQL failed to start (log: $PG_LOG)"
      fi
    fi
    how="started"
  fi
  local i
  for i in $(seq 1 60); do
    pg_answers && break
    [ "$i" -eq 60 ] && die "PostgreSQL not accepting connections on 127.0.0.1:$PG_PORT (log: $PG_LOG)"
    sleep 0.5
  done
  pg_ensure_db
  log "postgres $how: postgres://$PG_SUPERUSER@127.0.0.1:$PG_PORT/$PG_DB (data: $PG_DATA)"
}

pg_stop() {
  check_pg_bin
  pick_pg_os_user
  resolve_pg_paths_readonly
  if pg_ours_running; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 -s stop >/dev/null ||
      die "pg_ctl stop failed (log: $PG_LOG)"
    log "postgres stopped"
  else
    log "postgres not running"
  fi
}

# ------------------------------------------------------------------ redis ----

ensure_redis_installed() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && return 0
  if ! is_root; then
    die "redis-server not found and not running as root; install it with:
  sudo apt-get update && sudo apt-get install -y --no-install-recommends redis-server"
  fi
  log "installing redis-server via apt-get..."
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server; } \
    >"$STATE_DIR/apt-redis.log" 2>&1 || {
      tail -n 20 "$STATE_DIR/apt-redis.log" >&2
      die "apt-get install redis-server failed (log: $STATE_DIR/apt-redis.log)"
    }
  hash -r
  command -v redis-server >/dev/null 2>&1 || die "redis-server still missing after apt-get install"
}

redis_answers() {
  command -v redis-cli >/dev/null 2>&1 || return 1
  [ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
}

# True if $1 is a live (non-zombie) process. Zombies matter in containers whose
# PID 1 reaps orphans lazily.
pid_alive() {
  local pid="$1" state=""
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -r "/proc/$pid/stat" ]; then
    state="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null || true)"
    [ "$state" != "Z" ] && [ "$state" != "X" ] || return 1
  fi
  return 0
}

redis_pid() {
  local pid
  [ -f "$REDIS_PIDFILE" ] || return 1
  pid="$(cat "$REDIS_PIDFILE" 2>/dev/null)"
  [ -n "$pid" ] && pid_alive "$pid" && echo "$pid"
}

redis_start() {
  ensure_redis_installed
  if redis_answers; then
    if redis_pid >/dev/null; then
      log "redis already running: redis://127.0.0.1:$REDIS_PORT/0"
    else
      log "redis reusing server already listening on port $REDIS_PORT"
    fi
    return 0
  fi
  rm -f "$REDIS_PIDFILE"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
    --save "" --appendonly no --daemonize yes \
    --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOGFILE" --dir "$STATE_DIR" \
    >/dev/null 2>>"$REDIS_LOGFILE" 9>&- ||
    { tail -n 20 "$REDIS_LOGFILE" >&2; die "redis-server failed to start (log: $REDIS_LOGFILE)"; }
  local i
  for i in $(seq 1 100); do
    redis_answers && break
    if [ "$i" -eq 100 ]; then
      tail -n 20 "$REDIS_LOGFILE" >&2 || true
      die "redis not answering PING on 127.0.0.1:$REDIS_PORT (log: $REDIS_LOGFILE)"
    fi
    sleep 0.1
  done
  log "redis started: redis://127.0.0.1:$REDIS_PORT/0"
}

redis_stop() {
  local pid="" i
  pid="$(redis_pid || true)"
  if ! redis_answers && [ -z "$pid" ]; then
    log "redis not running"
    return 0
  fi
  timeout 10 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  for i in $(seq 1 100); do
    if ! redis_answers && { [ -z "$pid" ] || ! pid_alive "$pid"; }; then
      rm -f "$REDIS_PIDFILE"
      log "redis stopped"
      return 0
    fi
    [ "$i" -eq 50 ] && [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    sleep 0.1
  done
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
  redis_answers && die "could not stop redis on port $REDIS_PORT"
  rm -f "$REDIS_PIDFILE"
  log "redis stopped (killed)"
}

# -------------------------------------------------------------------- env ----

print_env() {
  local kv
  for kv in \
    "HADAR_TEST_DATABASE_URL=postgres://$PG_SUPERUSER@127.0.0.1:$PG_PORT/$PG_DB" \
    "HADAR_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0" \
    "HADAR_SERVICES_DIR=$STATE_DIR" \
    "HADAR_SERVICES_SCRIPT=$SCRIPT_PATH" \
    "HADAR_PG_PORT=$PG_PORT" \
    "HADAR_REDIS_PORT=$REDIS_PORT"; do
    printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
  done
}

status() {
  local rc=0
  if [ -x "$PG_BIN/pg_isready" ] && pg_answers; then log "postgres up on 127.0.0.1:$PG_PORT"
  else log "postgres down on 127.0.0.1:$PG_PORT"; rc=1; fi
  if redis_answers; then log "redis up on 127.0.0.1:$REDIS_PORT"
  else log "redis down on 127.0.0.1:$REDIS_PORT"; rc=1; fi
  return $rc
}

usage() {
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$SCRIPT_PATH"
}

# ------------------------------------------------------------------- main ----

cmd="${1:-}"
case "$cmd" in
  start)       init_state_dir; take_lock; ensure_redis_installed; pg_start; redis_start ;;
  stop)        init_state_dir; take_lock; redis_stop; pg_stop ;;
  env)         init_state_dir; print_env ;;
  status)      init_state_dir; status ;;
  redis-start) init_state_dir; take_lock; redis_start ;;
  redis-stop)  init_state_dir; take_lock; redis_stop ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
