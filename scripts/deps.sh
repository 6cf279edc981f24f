#!/usr/bin/env bash
# Installs what gemgate needs to build and test, when missing.  Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(build-essential clang pkg-config libevent-dev libcurl4-openssl-dev libjansson-dev
      libssl-dev libsqlite3-dev libcmocka-dev openssl ca-certificates nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# nodejs may come from elsewhere (nodesource, nvm): a working node and npm are enough.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<< "${missing[*]}"
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
if [ -f tests/package.json ] && [ ! -d tests/node_modules ]; then
  (cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi
