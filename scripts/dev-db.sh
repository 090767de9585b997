#!/usr/bin/env bash
# dev-db.sh — throwaway Postgres 15 + pgvector cluster for Cairn development/tests.
#
#   scripts/dev-db.sh          ensure a cluster is running, print its URL on stdout
#   scripts/dev-db.sh url      just print the URL (no setup)
#   scripts/dev-db.sh stop     stop the local cluster (quiet if not running)
#
# If DATABASE_URL is set, nothing is started: the script checks that it can
# connect, runs CREATE EXTENSION IF NOT EXISTS vector, and prints that URL.
#
# Env: CAIRN_PG_PORT (default 54329).
# Progress goes to stderr; stdout carries exactly one line: the URL.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

PG_MAJOR=15
PGBIN="/usr/lib/postgresql/${PG_MAJOR}/bin"
PG_CONFIG="$PGBIN/pg_config"
PGVECTOR_VERSION_WANTED="0.8.0"

PORT="${CAIRN_PG_PORT:-54329}"
DB_NAME="cairn"
PGROOT="$ROOT/.pgdata"
DATADIR="$PGROOT/data"
SOCKDIR="$PGROOT/run"
LOGFILE="$PGROOT/postgres.log"
APTLOG="$PGROOT/apt-build.log"
LOCAL_URL="postgres://postgres@127.0.0.1:${PORT}/${DB_NAME}?sslmode=disable"

log() { printf 'dev-db: %s\n' "$*" >&2; }
die() { printf 'dev-db: ERROR: %s\n' "$*" >&2; exit 1; }

find_psql() {
  if [[ -x "$PGBIN/psql" ]]; then echo "$PGBIN/psql"
  elif command -v psql >/dev/null 2>&1; then command -v psql
  else return 1; fi
}

# Run a command as the postgres OS user when we are root (Postgres refuses root).
as_pg() {
  if [[ "$(id -u)" -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# ---------------------------------------------------------------- url / stop
cmd="${1:-up}"
case "$cmd" in
  url)
    if [[ -n "${DATABASE_URL:-}" ]]; then echo "$DATABASE_URL"; else echo "$LOCAL_URL"; fi
    exit 0 ;;
  stop)
    if [[ -f "$DATADIR/PG_VERSION" ]] && as_pg "$PGBIN/pg_ctl" -D "$DATADIR" status >/dev/null 2>&1; then
      log "stopping cluster in $DATADIR ..."
      as_pg "$PGBIN/pg_ctl" -D "$DATADIR" stop -m fast -w >/dev/null
      log "stopped"
    fi
    exit 0 ;;
  up|start|"") ;;
  *) die "unknown command '$cmd' (usage: $0 [up|url|stop])" ;;
esac

# ---------------------------------------------------------------- external DB
if [[ -n "${DATABASE_URL:-}" ]]; then
  PSQL="$(find_psql)" || die "psql not found (install postgresql-client-${PG_MAJOR})"
  log "DATABASE_URL is set; using it (nothing started)"
  "$PSQL" "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c 'SELECT 1' >/dev/null \
    || die "cannot connect to DATABASE_URL"
  if ! err="$("$PSQL" "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 \
        -c 'SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS vector' 2>&1 >/dev/null)"; then
    die "CREATE EXTENSION vector failed on DATABASE_URL server — is pgvector (>= 0.8) installed there? ($err)"
  fi
  echo "$DATABASE_URL"
  exit 0
fi

# ---------------------------------------------------------------- prerequisites
need_msg="install postgresql-${PG_MAJOR}, postgresql-server-dev-${PG_MAJOR}, and pgvector ${PGVECTOR_VERSION_WANTED} built from source (https://github.com/pgvector/pgvector), or set DATABASE_URL to an existing server with pgvector"
[[ -x "$PGBIN/postgres" && -x "$PGBIN/initdb" && -x "$PGBIN/pg_ctl" ]] \
  || die "PostgreSQL ${PG_MAJOR} server not found in $PGBIN; $need_msg"
PSQL="$(find_psql)" || die "psql not found; $need_msg"
if [[ -x "$PG_CONFIG" ]]; then SHAREDIR="$("$PG_CONFIG" --sharedir)"; else SHAREDIR="/usr/share/postgresql/${PG_MAJOR}"; fi

# Mirror host for the deb-src line: reuse what the system already uses.
detect_debian_mirror() {
  local f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    uri="$(awk 'BEGIN{IGNORECASE=1} /^URIs:/{for(i=2;i<=NF;i++) if ($i ~ /\/debian\/?$/) {print $i; exit}}' "$f")"
    [[ -n "$uri" ]] && { echo "${uri%/}"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    uri="$(awk '/^[[:space:]]*deb(-src)?[[:space:]]/{for(i=2;i<=NF;i++) if ($i ~ /^(https?|ftp):\/\/.*\/debian\/?$/) {print $i; exit}}' "$f")"
    [[ -n "$uri" ]] && { echo "${uri%/}"; return; }
  done
  echo "http://deb.debian.org/debian"
}

apt_quiet() {  # run apt-get quietly, dump the log tail on failure
  if ! DEBIAN_FRONTEND=noninteractive apt-get -q -o Dpkg::Use-Pty=0 "$@" >>"$APTLOG" 2>&1; then
    tail -n 40 "$APTLOG" >&2
    die "apt-get $* failed (full log: $APTLOG)"
  fi
}

ensure_pgvector() {
  [[ -f "$SHAREDIR/extension/vector.control" ]] && return 0

  [[ -r /etc/debian_version ]] && command -v apt-get >/dev/null 2>&1 \
    || die "pgvector is not installed for PostgreSQL ${PG_MAJOR} and this is not a Debian/apt system; $need_msg"
  [[ "$(id -u)" -eq 0 ]] \
    || die "pgvector is missing for PostgreSQL ${PG_MAJOR}; run this script once as root (it builds pgvector ${PGVECTOR_VERSION_WANTED} from Debian trixie source), or $need_msg"

  mkdir -p "$PGROOT"; : >"$APTLOG"
  log "pgvector not found in $SHAREDIR/extension; building pgvector ${PGVECTOR_VERSION_WANTED} from source (apt log: $APTLOG)"
  log "apt-get update ..."
  apt_quiet update
  local p missing=()
  for p in "postgresql-server-dev-${PG_MAJOR}" build-essential dpkg-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing build deps (${missing[*]}) ..."
    apt_quiet install -y --no-install-recommends "${missing[@]}"
  fi
  [[ -x "$PG_CONFIG" ]] || die "$PG_CONFIG missing after installing postgresql-server-dev-${PG_MAJOR}"

  # Source-only trixie entry (Types: deb-src). No 'deb' line => no trixie binaries can be installed.
  local mirror srcfile=/etc/apt/sources.list.d/trixie-src.sources
  mirror="$(detect_debian_mirror)"
  if [[ ! -f "$srcfile" ]]; then
    log "adding deb-src for Debian trixie ($mirror) in $srcfile"
    cat >"$srcfile" <<EOF
# Added by cairn scripts/dev-db.sh: SOURCE packages only (used to build pgvector).
# Deliberately no 'Types: deb' — no trixie binary packages can be installed from here.
Types: deb-src
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  log "apt-get update (with trixie deb-src) ..."
  apt_quiet update

  local build; build="$(mktemp -d /tmp/cairn-pgvector.XXXXXX)"
  log "fetching pgvector source from trixie ..."
  ( cd "$build" && apt_quiet source --only-source pgvector/trixie )
  local srcdir; srcdir="$(find "$build" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n1)"
  [[ -n "$srcdir" ]] || die "apt-get source pgvector produced no source dir in $build"
  local ver; ver="$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\(.*\)'.*/\1/p" "$srcdir/vector.control")"
  log "building pgvector ${ver:-?} ($srcdir) ..."
  # OPTFLAGS="" avoids -march=native so the build is portable (as Debian packages it).
  if ! make -C "$srcdir" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" -j"$(nproc)" >>"$APTLOG" 2>&1 \
     || ! make -C "$srcdir" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" install >>"$APTLOG" 2>&1; then
    tail -n 40 "$APTLOG" >&2
    die "building pgvector failed (log: $APTLOG)"
  fi
  rm -rf "$build"
  [[ -f "$SHAREDIR/extension/vector.control" ]] || die "pgvector install did not produce $SHAREDIR/extension/vector.control"
  log "pgvector ${ver:-?} installed"
}

# ---------------------------------------------------------------- cluster
ensure_gitignore() {
  local gi="$ROOT/.gitignore"
  if [[ ! -f "$gi" ]] || ! grep -qxE '/?\.pgdata/?' "$gi"; then
    printf '.pgdata/\n' >>"$gi"
  fi
}

pick_locale() {
  if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then echo "C.UTF-8"; else echo "C"; fi
}

init_cluster() {
  [[ -f "$DATADIR/PG_VERSION" ]] && return 0
  log "initdb in $DATADIR ..."
  mkdir -p "$DATADIR" "$SOCKDIR"
  chmod 700 "$DATADIR"
  if [[ "$(id -u)" -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' OS user (install postgresql-${PG_MAJOR})"
    chown -R postgres:postgres "$PGROOT"
    as_pg test -x "$ROOT" || die "user postgres cannot access $ROOT (fix directory permissions)"
  fi
  local loc; loc="$(pick_locale)"
  as_pg "$PGBIN/initdb" -D "$DATADIR" --auth=trust -U postgres --encoding=UTF8 --locale="$loc" >>"$PGROOT/initdb.log" 2>&1 \
    || { tail -n 20 "$PGROOT/initdb.log" >&2; die "initdb failed (log: $PGROOT/initdb.log)"; }
  if ! grep -q "cairn-dev.conf" "$DATADIR/postgresql.conf"; then
    printf "\ninclude_if_exists = 'cairn-dev.conf'\n" | as_pg tee -a "$DATADIR/postgresql.conf" >/dev/null
  fi
}

write_conf() {  # rewritten on every start so CAIRN_PG_PORT etc. take effect
  as_pg tee "$DATADIR/cairn-dev.conf" >/dev/null <<EOF
# Managed by scripts/dev-db.sh — throwaway dev/test cluster, NOT crash-safe.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCKDIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
shared_buffers = 512MB
maintenance_work_mem = 1GB
max_parallel_maintenance_workers = 2
logging_collector = off
EOF
}

pg_ready() { "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d postgres -U postgres >/dev/null 2>&1; }

# 0 = pg_ctl thinks it is running, 3 = not running, 4 = no/invalid data dir
pg_status() { as_pg "$PGBIN/pg_ctl" -D "$DATADIR" status >/dev/null 2>&1; }

start_cluster() {
  if pg_status; then
    pg_ready && return 0
    # pid file points at a live process: is it really our postmaster?
    local pid; pid="$(head -n1 "$DATADIR/postmaster.pid" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DATADIR"; then
      for _ in $(seq 1 50); do pg_ready && return 0; sleep 0.2; done
      die "cluster (pid $pid) is running but not answering on 127.0.0.1:$PORT — different CAIRN_PG_PORT? try '$0 stop' first (log: $LOGFILE)"
    fi
    log "stale postmaster.pid (pid $pid is not our postmaster); removing it"
    rm -f "$DATADIR/postmaster.pid"
  elif pg_ready; then
    die "something else is already listening on 127.0.0.1:$PORT; set CAIRN_PG_PORT to another port"
  fi

  if [[ -f "$DATADIR/postmaster.pid" ]]; then
    log "found postmaster.pid from a previous (killed?) run; restarting"
    rm -f "$DATADIR/postmaster.pid"
  fi
  # The socket dir is private to this cluster and the cluster is not running, so any socket/lock
  # files are leftovers (a killed postmaster that is now a zombie still passes kill(pid,0)).
  rm -f "$SOCKDIR"/.s.PGSQL.*
  write_conf
  mkdir -p "$SOCKDIR"; touch "$LOGFILE"
  if [[ "$(id -u)" -eq 0 ]]; then chown postgres:postgres "$SOCKDIR" "$LOGFILE"; fi
  log "starting cluster on 127.0.0.1:$PORT (data: $DATADIR, log: $LOGFILE) ..."
  local attempt
  for attempt in 1 2 3 4 5; do
    # After a kill -9 of the postmaster its children may still hold shared memory for a moment;
    # retry a few times.
    if as_pg "$PGBIN/pg_ctl" -D "$DATADIR" -l "$LOGFILE" -w -t 60 start >/dev/null 2>&1; then
      pg_ready && return 0
    fi
    log "start attempt $attempt failed; retrying ..."
    sleep 2
  done
  tail -n 30 "$LOGFILE" >&2 || true
  die "could not start the cluster (log: $LOGFILE)"
}

ensure_db() {
  local q=( "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres )
  if [[ "$("${q[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != "1" ]]; then
    log "creating database $DB_NAME ..."
    "${q[@]}" -d postgres -c "CREATE DATABASE $DB_NAME" >/dev/null
  fi
  "${q[@]}" -d "$DB_NAME" -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS vector" >/dev/null \
    || die "CREATE EXTENSION vector failed in $DB_NAME"
}

ensure_pgvector
ensure_gitignore
init_cluster
start_cluster
ensure_db
log "ready"
echo "$LOCAL_URL"
