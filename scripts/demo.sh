#!/usr/bin/env bash
# Set up (idempotent), then run the main job: `tokensmith demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
tokensmith demo --out out/demo "$@"
