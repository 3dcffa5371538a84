#!/usr/bin/env bash
# Builds seedanced and runs the demo: the bundled examples/ against the
# embedded PiAPI simulator, in a temporary state dir.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh release
exec ./build/daemon/seedanced --demo
