#!/usr/bin/env bash
# What the browser test of `make test` (web/browser_test.go) needs on a
# fresh Debian machine: Debian's chromium with CJK and colour emoji fonts
# (installed with apt when missing; root, or those packages already
# installed), and the pinned npm packages (npm ci, scripts/npm-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null || need+=(chromium)
for p in fonts-noto-cjk fonts-noto-color-emoji; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
  echo "web-deps: installing ${need[*]} with apt" >&2
  sudo=""
  [[ $(id -u) == 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
scripts/npm-deps.sh
