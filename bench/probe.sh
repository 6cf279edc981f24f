#!/usr/bin/env bash
# Load-independent cost of one request: instructions per request for each gemgate thread
# (callgrind, counters zeroed after a warm-up so start-up and shutdown are not counted) and
# system calls per request (strace -c -f), for the native route and the OpenAI route, and the
# same for nginx proxy_pass.  On a shared machine wall-clock numbers are noise; these are not.
#   bench/probe.sh [native|openai|stream|nginx|all] [SECONDS]   (default: all, 4 s of wrk -c4 each)
# stream: the OpenAI route streaming (the fake sends 32 chunks at once): per request and per event.
# Output: one line per measure on stdout; the raw files in bench/results/probe/.
# Everything it starts is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:-all}; SECS=${2:-4}
OUT=bench/results/probe; rm -rf "$OUT"; mkdir -p "$OUT"
GG=${GEMGATE_BIN:-build/gemgate}; FAKE=${FAKE_BIN:-build/fakegemini}
MODEL=gemini-2.5-flash
NATIVE_BODY='{"contents":[{"role":"user","parts":[{"text":"Write one short sentence about gateways."}]}]}'
OPENAI_BODY='{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Write one short sentence about gateways."}]}'
STREAM_BODY='{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"Write one short sentence about gateways."}]}'
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
waitport() { for _ in $(seq 1 600); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
load() { # port path body key conns secs -> requests served
  BENCH_BODY=$3 BENCH_HEADERS="x-goog-api-key: $4
Authorization: Bearer $4" wrk -t1 -c"$5" -d"$6"s --timeout 20s -s bench/wrk/post.lua \
    "http://127.0.0.1:$1$2" | sed -n 's/.*BENCHJSON .*"requests":\([0-9]*\).*"status":\([0-9]*\).*/\1 \2/p'
}

FPORT=$(freeport)
taskset -c 1 "$FAKE" --listen 127.0.0.1:"$FPORT" --threads 1 --chunks 32 --interval-ms 0 >"$OUT/fake.log" 2>&1 & pids+=($!)
waitport "$FPORT"

gg_env() { # port db
  echo GEMGATE_LISTEN=127.0.0.1:$1 GEMGATE_UPSTREAM=http://127.0.0.1:$FPORT GEMGATE_WORKERS=1 \
    GEMGATE_KEYS=$(seq -f 'AIzaFake-ok-probe-%02g' -s, 1 8 | sed 's/,$//') GEMGATE_ACCESS_KEYS=probe-access \
    GEMGATE_LOG_LEVEL=${PROBE_LOG_LEVEL:-info} GEMGATE_LOG_DIR=$OUT/logs GEMGATE_DB=$2 GEMGATE_DRAIN_TIMEOUT=5s
}

# callgrind: per-thread files; the worker is the thread that ran worker_main, the ledger writer
# the one that ran the ledger's writer_main.
probe_gemgate() { # route path body
  local route=$1 p=$2 body=$3 port; port=$(freeport)
  mkdir -p "$OUT/logs"
  env $(gg_env "$port" "$OUT/$route.db") taskset -c 0 valgrind --tool=callgrind --separate-threads=yes \
    --callgrind-out-file="$OUT/cg-$route.out" "$GG" >"$OUT/gg-$route.log" 2>&1 & local vp=$!; pids+=($vp)
  waitport "$port"
  load "$port" "$p" "$body" probe-access 2 2 >/dev/null
  callgrind_control -z "$vp" >/dev/null
  read -r n errs < <(load "$port" "$p" "$body" probe-access 4 "$SECS")
  callgrind_control -d "$vp" >/dev/null
  kill "$vp"; wait "$vp" || true
  local f kind ir
  for f in "$OUT"/cg-"$route".out.*-[0-9][0-9]; do
    grep -q '^summary:' "$f" || continue
    ir=$(sed -n 's/^summary: *//p' "$f" | awk '{print $1}')
    [ "${ir:-0}" -gt 0 ] || continue
    kind=other
    if grep -q 'worker_main' "$f"; then kind=worker
    elif grep -q 'fn=.*writer_main' "$f" && grep -q 'ledger' "$f"; then kind=ledger
    fi
    echo "gemgate $route: $kind $(basename "$f"): $((ir / (n > 0 ? n : 1))) Ir/request ($n requests, $errs errors)"
    callgrind_annotate --threshold=97 "$f" > "$f.txt" 2>/dev/null || true
  done
  # system calls per request, all threads
  port=$(freeport)
  env $(gg_env "$port" "$OUT/$route-st.db") taskset -c 0 "$GG" >"$OUT/gg-$route-st.log" 2>&1 & local gp=$!; pids+=($gp)
  waitport "$port"
  load "$port" "$p" "$body" probe-access 2 1 >/dev/null
  strace -c -f -o "$OUT/strace-$route.txt" -p "$gp" & local sp=$!; sleep 1
  read -r n errs < <(load "$port" "$p" "$body" probe-access 4 "$SECS")
  kill -INT "$sp"; wait "$sp" || true; kill "$gp"; wait "$gp" || true
  awk -v n="$n" -v r="$route" '$NF=="total"{t=$4} END{printf "gemgate %s: %.1f syscalls/request (%d requests)\n", r, t/n, n}' "$OUT/strace-$route.txt"
  awk -v n="$n" 'NF>=5 && $4 ~ /^[0-9]+$/ && $NF!="total"{printf "  %s %.2f\n", $NF, $4/n}' "$OUT/strace-$route.txt" | sort -k2 -nr | head -8
}

probe_nginx() {
  local port dir=$PWD/$OUT/nginx; port=$(freeport); mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1; daemon off; master_process off; pid $dir/nginx.pid; error_log $dir/error.log warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $dir/cb; proxy_temp_path $dir/px; fastcgi_temp_path $dir/fc;
  uwsgi_temp_path $dir/uw; scgi_temp_path $dir/sc; keepalive_requests 1000000;
  upstream fake { server 127.0.0.1:$FPORT; keepalive 256; keepalive_requests 1000000; }
  server { listen 127.0.0.1:$port; location / { proxy_pass http://fake; proxy_http_version 1.1;
    proxy_set_header Connection ""; proxy_buffering off; } } }
EOF
  taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$OUT/cg-nginx.out" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
    >"$OUT/nginx.log" 2>&1 & local vp=$!; pids+=($vp)
  waitport "$port"
  load "$port" /v1beta/models/$MODEL:generateContent "$NATIVE_BODY" AIzaFake-ok-client 2 2 >/dev/null
  callgrind_control -z "$vp" >/dev/null
  read -r n errs < <(load "$port" /v1beta/models/$MODEL:generateContent "$NATIVE_BODY" AIzaFake-ok-client 4 "$SECS")
  callgrind_control -d "$vp" >/dev/null
  kill -QUIT "$vp"; wait "$vp" || true
  local f ir
  for f in "$OUT"/cg-nginx.out*; do
    ir=$(sed -n 's/^summary: *//p' "$f" | awk '{print $1}')
    [ "${ir:-0}" -gt 0 ] && echo "nginx: $(basename "$f"): $((ir / (n > 0 ? n : 1))) Ir/request ($n requests, $errs errors)"
  done
  taskset -c 0 nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$OUT/nginx-st.log" 2>&1 & local np=$!; pids+=($np)
  waitport "$port"
  strace -c -f -o "$OUT/strace-nginx.txt" -p "$np" & local sp=$!; sleep 1
  read -r n errs < <(load "$port" /v1beta/models/$MODEL:generateContent "$NATIVE_BODY" AIzaFake-ok-client 4 "$SECS")
  kill -INT "$sp"; wait "$sp" || true; kill -QUIT "$np"; wait "$np" || true
  awk -v n="$n" '$NF=="total"{t=$4} END{printf "nginx: %.1f syscalls/request (%d requests)\n", t/n, n}' "$OUT/strace-nginx.txt"
}

case $WHAT in
  native|all) probe_gemgate native /v1beta/models/$MODEL:generateContent "$NATIVE_BODY" ;;& 
  openai|all) probe_gemgate openai /v1/chat/completions "$OPENAI_BODY" ;;&
  stream|all) probe_gemgate stream /v1/chat/completions "$STREAM_BODY" ;;&
  nginx|all) probe_nginx ;;
esac
