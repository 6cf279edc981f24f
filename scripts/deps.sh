#!/usr/bin/env bash
# Installs what gemgate needs to build and test, when missing (Debian 12), and the npm
# packages of the test suite.  Safe to run again: does nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t pkgs < scripts/packages.txt
# node may come from elsewhere (nodesource, nvm): a working node and npm are enough.
command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
if [ ! -f tests/node_modules/.package-lock.json ] || [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then
  (cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi
