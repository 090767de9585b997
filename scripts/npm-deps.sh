#!/usr/bin/env bash
# Installs the pinned npm packages of package-lock.json (npm ci) unless
# node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.cairn-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  echo "$want" > "$stamp"
fi
