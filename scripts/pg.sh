#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks: initdb + pg_ctl (Debian's postgresql
# package) in a fresh temporary directory, listening only on a unix socket inside it (no TCP
# port, so nothing to collide with and nothing reachable from outside), trust authentication for
# the superuser "postgres".
#
#   eval "$(scripts/pg.sh start [--durable])"   # sets PG_DIR, PG_PID and PG_URL
#   scripts/pg.sh stop "$PG_DIR"                 # stops that server by its PID, removes the dir
#
# start prints the three shell assignments and nothing else on stdout; PG_URL is a libpq URL
# (postgresql://postgres@/postgres?host=<dir>) that GEMGATE_DB accepts.  Tests run with fsync
# off (the cluster dies with the run anyway); --durable keeps PostgreSQL's defaults (fsync,
# synchronous_commit) for benchmarks that should measure what a real server would do.
# As root, initdb refuses to run: the cluster then belongs to the "postgres" user (runuser).
set -euo pipefail

die() { echo "pg.sh: $*" >&2; exit 1; }

# The server binaries: Debian keeps them out of PATH, under /usr/lib/postgresql/<major>/bin.
bindir() {
  local d
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return; }
  die "initdb not found: install Debian's postgresql package (scripts/packages.txt)"
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local durable=0
  [ "${1:-}" = --durable ] && durable=1
  local bin dir
  bin=$(bindir)
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the postgres user (Debian's postgresql package creates it)"
  fi
  dir=$(mktemp -d /tmp/gg-pg-XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  if ! as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync \
       >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    rm -rf "$dir"
    die "initdb failed"
  fi
  {
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$dir'"
    echo "max_connections = 200"
    echo "log_min_messages = warning"
    echo "log_min_error_statement = panic"       # failed statements are the tests' business
    if [ "$durable" = 0 ]; then
      echo "shared_buffers = 128MB"
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    else                                               # what a server sized for the load would have
      echo "shared_buffers = 512MB"
      echo "max_wal_size = 2GB"
    fi
  } >> "$dir/data/postgresql.conf"
  if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null 2>&1; then
    cat "$dir/server.log" >&2 || true
    rm -rf "$dir"
    die "the server did not start"
  fi
  local pid
  pid=$(head -1 "$dir/data/postmaster.pid")
  echo "PG_DIR=$dir"
  echo "PG_PID=$pid"
  echo "PG_URL='postgresql://postgres@/postgres?host=$dir'"
}

stop() {
  local dir=${1:-}
  [ -n "$dir" ] || die "usage: pg.sh stop DIR (the PG_DIR start printed)"
  case "$dir" in /tmp/gg-pg-*) ;; *) die "$dir is not a directory pg.sh start made" ;; esac
  [ -d "$dir" ] || return 0                            # stopped already
  local pid=""
  [ -f "$dir/data/postmaster.pid" ] && pid=$(head -1 "$dir/data/postmaster.pid")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid"                                   # fast shutdown: clients are cut off
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 start [--durable] | stop DIR" >&2; exit 2 ;;
esac
