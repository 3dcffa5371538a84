#!/usr/bin/env bash
# Configures and builds one flavour of seedanced.
#   scripts/build.sh [release|asan]   (default release) -> build/ or build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-release}"
jobs="${JOBS:-$(nproc)}"
case "$flavour" in
  release) dir=build; extra=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan)    dir=build-asan; extra=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DSEEDANCED_SANITIZE=ON) ;;
  *) echo "usage: $0 [release|asan]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja -DSEEDANCED_WERROR=ON "${extra[@]}" >/dev/null
cmake --build "$dir" -j "$jobs"
