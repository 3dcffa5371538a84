#!/usr/bin/env bash
# Builds seedanced and runs every test, in the normal build and under
# AddressSanitizer + UndefinedBehaviorSanitizer. Exits non-zero on any failure.
#   scripts/test.sh [release|asan ...]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
flavours=("$@")
[ "${#flavours[@]}" -gt 0 ] || flavours=(release asan)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
for f in "${flavours[@]}"; do
  echo "=== build ($f)"
  bash scripts/build.sh "$f"
  dir=build; [ "$f" = asan ] && dir=build-asan
  echo "=== test ($f)"
  ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" --timeout 900 || status=1
done
exit $status
