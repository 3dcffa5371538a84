#!/usr/bin/env bash
# Installs everything seedanced needs to build, test and run on Debian 12.
# Idempotent; needs root (or sudo). Used by the README commands and by .ci/run.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PKGS=(build-essential cmake ninja-build pkg-config ccache
      libboost1.81-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
      libsqlite3-dev sqlite3 libssl-dev openssl libcli11-dev libexpected-dev
      libgtest-dev libgmock-dev clang-format systemd)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
