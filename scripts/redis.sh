#!/usr/bin/env bash
# A throwaway redis-server for tests and benchmarks: loopback only (127.0.0.1), a free port
# picked at random, its files in a fresh temporary directory, no persistence (the data dies with
# the run), 1000 databases so every gateway of a test run can have one of its own.
#
#   eval "$(scripts/redis.sh start)"     # sets REDIS_DIR, REDIS_PID, REDIS_PORT and REDIS_URL
#   scripts/redis.sh stop "$REDIS_DIR"   # stops that server by its PID, removes the dir
#
# start prints the four shell assignments and nothing else on stdout; REDIS_URL
# (redis://127.0.0.1:<port>) is what GEMGATE_REDIS accepts, a database number after a slash.
set -euo pipefail

die() { echo "redis.sh: $*" >&2; exit 1; }

start() {
  command -v redis-server >/dev/null || die "redis-server not found: install Debian's redis-server package (scripts/packages.txt)"
  local dir port pid="" try
  dir=$(mktemp -d /tmp/gg-redis-XXXXXX)
  for try in 1 2 3 4 5; do
    port=$(( 20000 + RANDOM % 40000 ))
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly no --databases 1000 \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null 2>&1 || true
    for _ in $(seq 50); do
      [ -s "$dir/redis.pid" ] && redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && { pid=$(cat "$dir/redis.pid"); break; }
      sleep 0.1
    done
    [ -n "$pid" ] && break
    [ -s "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    rm -f "$dir/redis.pid"                       # the port was taken: another one
  done
  if [ -z "$pid" ]; then cat "$dir/redis.log" >&2 2>/dev/null || true; rm -rf "$dir"; die "the server did not start"; fi
  echo "REDIS_DIR=$dir"
  echo "REDIS_PID=$pid"
  echo "REDIS_PORT=$port"
  echo "REDIS_URL=redis://127.0.0.1:$port"
}

stop() {
  local dir=${1:-}
  [ -n "$dir" ] || die "usage: redis.sh stop DIR (the REDIS_DIR start printed)"
  case "$dir" in /tmp/gg-redis-*) ;; *) die "$dir is not a directory redis.sh start made" ;; esac
  [ -d "$dir" ] || return 0                      # stopped already
  local pid=""
  [ -f "$dir/redis.pid" ] && pid=$(cat "$dir/redis.pid")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
