#!/usr/bin/env bash
# Set up (idempotent), then run the Rust unit tests and the Python test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --release --lib -q
python3 -m pytest -q -p no:cacheprovider tests "$@"
