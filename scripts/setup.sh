#!/usr/bin/env bash
# Idempotent machine set-up for replydesk (Debian bookworm or later):
#   1. a reachable PostgreSQL (DATABASE_URL, else the local server; starts or
#      installs Debian's server when none answers),
#   2. the pgvector extension (built from Debian's source package when the
#      server lacks it: bookworm does not package it),
#   3. tmux and the C libraries the build links against.
# It writes the database URL to use into .setup/database_url.
# Every step checks first, so a ready machine passes through in a second.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .setup

log() { printf 'setup: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=""
apt_install() {
  if [ -z "$APT_UPDATED" ]; then
    log "apt-get update"
    as_root apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

# --- tools ---------------------------------------------------------------
missing=()
have tmux || missing+=(tmux)
have psql || missing+=(postgresql-client)
have pkg-config || missing+=(pkg-config)
dpkg -s libssl-dev >/dev/null 2>&1 || missing+=(libssl-dev)
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi

# --- PostgreSQL ----------------------------------------------------------
DEFAULT_URL="postgres://localhost/replydesk"
URL="${DATABASE_URL:-$DEFAULT_URL}"

# The maintenance database on the same server as $1 (URL path replaced).
with_db() { printf '%s' "$1" | sed -E "s#^([a-z]+://[^/?]*)(/[^?]*)?#\\1/$2#"; }
admin_url() { with_db "$1" postgres; }
db_name() {
  local n
  n=$(printf '%s' "$1" | sed -E 's#^[a-z]+://[^/?]*/?([^?]*).*#\1#')
  printf '%s' "${n:-replydesk}"
}
reachable() { psql "$(admin_url "$1")" -qAtc 'select 1' >/dev/null 2>&1; }

if ! reachable "$URL"; then
  if [ -n "${DATABASE_URL:-}" ]; then
    log "DATABASE_URL is set but the server does not answer; fix it or unset it to use a local server"
    exit 1
  fi
  if ! have pg_ctlcluster; then
    apt_install postgresql
  fi
  if [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    ver=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
    log "creating cluster $ver/main"
    as_root pg_createcluster "$ver" main >/dev/null
  fi
  for ver in $(ls /etc/postgresql); do
    for cluster in $(ls "/etc/postgresql/$ver"); do
      log "starting PostgreSQL $ver/$cluster"
      as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start 2>/dev/null || true
    done
  done
  for _ in $(seq 1 30); do
    runuser -u postgres -- psql -qAtc 'select 1' >/dev/null 2>&1 && break
    sleep 0.5
  done
  me=$(id -un)
  if ! runuser -u postgres -- psql -qAtc "select 1 from pg_roles where rolname = '$me'" | grep -q 1; then
    log "creating database role $me"
    runuser -u postgres -- createuser --superuser "$me"
  fi
  if ! reachable "$URL"; then
    # Debian's default pg_hba asks for a password over TCP; the socket uses peer auth.
    sock=$(ls -d /var/run/postgresql 2>/dev/null || echo /tmp)
    URL="postgres:///replydesk?host=$sock&user=$me"
    reachable "$URL" || { log "cannot reach PostgreSQL over TCP or the socket in $sock"; exit 1; }
  fi
fi
log "PostgreSQL answers at $(admin_url "$URL" | sed -E 's#//([^:@/]*):[^@]*@#//\1:***@#')"
ADMIN=$(admin_url "$URL")

# --- pgvector ------------------------------------------------------------
vector_available() {
  [ "$(psql "$ADMIN" -qAtc "select count(*) from pg_available_extensions where name = 'vector'")" = 1 ]
}
if ! vector_available; then
  major=$(psql "$ADMIN" -qAtc "show server_version_num" | cut -c1-2)
  log "pgvector is missing: building it for PostgreSQL $major from Debian's source package"
  apt_install "postgresql-server-dev-$major" build-essential
  work=$(mktemp -d)
  chmod 755 "$work"
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  if [ -z "$uri" ]; then
    uri=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  fi
  [ -n "$uri" ] || { log "no Debian mirror found in the apt sources"; exit 1; }
  echo "deb-src $uri trixie main" > "$work/sources.list"
  mkdir -p "$work/lists/partial"
  opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=/dev/null
        -o "Dir::State::Lists=$work/lists")
  as_root apt-get "${opts[@]}" update -qq >/dev/null
  (cd "$work" && as_root apt-get "${opts[@]}" source --download-only pgvector >/dev/null)
  (cd "$work" && tar xzf pgvector_*.orig.tar.gz)
  src=$(find "$work" -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)
  make -s -C "$src" PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" >/dev/null
  as_root make -s -C "$src" PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" install >/dev/null
  rm -rf "$work"
  # Installing the server headers can upgrade the server package in place.
  if ! reachable "$URL"; then
    for ver in $(ls /etc/postgresql); do
      for cluster in $(ls "/etc/postgresql/$ver"); do
        as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start 2>/dev/null || true
      done
    done
    sleep 1
  fi
  vector_available || { log "pgvector was built but the server does not list it"; exit 1; }
fi
# Throwaway test databases are created from template1, so they get the extension too.
psql "$ADMIN" -qc "create extension if not exists vector" >/dev/null 2>&1 || true
psql "$(with_db "$URL" template1)" -qc "create extension if not exists vector" >/dev/null 2>&1 || true
log "pgvector $(psql "$ADMIN" -qAtc "select default_version from pg_available_extensions where name = 'vector'") available"

# --- database ------------------------------------------------------------
name=$(db_name "$URL")
if [ "$(psql "$ADMIN" -qAtc "select count(*) from pg_database where datname = '$name'")" != 1 ]; then
  log "creating database $name"
  psql "$ADMIN" -qc "create database \"$name\"" >/dev/null
fi
PGOPTIONS="-c client_min_messages=warning" psql "$URL" -qc "create extension if not exists vector" >/dev/null

printf '%s\n' "$URL" > .setup/database_url
