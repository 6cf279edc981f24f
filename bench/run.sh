#!/usr/bin/env bash
# gemgate's benchmark, end to end, on loopback (`make bench` runs it after `make deps all`).
#   bench/run.sh            full run (≤ 10 min); updates bench/README.md's results and bench/plots/
#   bench/run.sh --quick    short run (≤ 2 min) to check that everything works
# Other flags go to bench/bench.mjs (--rounds N, --only tp,stream,hold,storm,logging,profile, --no-profile,
# --no-readme, --out DIR).  Results: bench/results/<time>/ (bench/results/latest points there).
# Installs what it needs when missing: the Debian packages of scripts/bench-packages.txt and
# Portkey's gateway from bench/package-lock.json (npm ci into bench/node_modules).
# `make bench BENCH_ARGS=--quick` passes flags through make.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC2086
set -- ${BENCH_ARGS:-} "$@"

sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
mapfile -t pkgs < <(grep -v '^\s*#' scripts/bench-packages.txt | grep -v '^\s*$')
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
command -v node >/dev/null && command -v npm >/dev/null || { echo "bench: node and npm are needed (make deps)"; exit 1; }

if [ ! -f bench/node_modules/.package-lock.json ] || [ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then
  (cd bench && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

# make bench has built them; a direct call builds them when missing.
[ -x "${GEMGATE_BIN:-build/gemgate}" ] && [ -x "${FAKE_BIN:-build/fakegemini}" ] || make all

mkdir -p bench/results/bin
if [ ! -x bench/results/bin/streamload ] || [ bench/streamload.c -nt bench/results/bin/streamload ]; then
  cc -O2 -g -Wall -Wextra -o bench/results/bin/streamload bench/streamload.c
fi

# 2,000 streams: the client, gemgate and Portkey each hold thousands of sockets.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# One benchmark at a time on this machine: two at once would measure each other.
exec 9>/tmp/gemgate-bench.lock
if ! flock -n 9; then
  echo "bench: another benchmark run holds /tmp/gemgate-bench.lock; waiting for it (up to 10 min)"
  flock -w 600 9 || echo "bench: still busy after 10 min; going on (numbers will be noisy)"
fi

export BENCH_COMMAND="bench/run.sh${*:+ $*}"
[ "${MAKELEVEL:-0}" -gt 0 ] && BENCH_COMMAND="make bench (bench/run.sh${*:+ $*})"
[ -n "${FAKE_BIN:-}" ] && BENCH_COMMAND="FAKE_BIN=$FAKE_BIN $BENCH_COMMAND"
[ -n "${GEMGATE_BIN:-}" ] && BENCH_COMMAND="GEMGATE_BIN=$GEMGATE_BIN $BENCH_COMMAND"
# The orchestrator (idle while a load generator runs) shares core 1 with the load generators
# and the upstream; targets are pinned to core 0 by bench.mjs.
exec taskset -c 1 node bench/bench.mjs "$@"
