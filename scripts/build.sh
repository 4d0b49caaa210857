#!/usr/bin/env bash
# Rebuild the Rust extension in place (python/tokensmith/_core.abi3.so). Fast path for developers.
set -euo pipefail
cd "$(dirname "$0")/.."
VIRTUAL_ENV=$(python3 -c 'import sys; print(sys.prefix)') maturin develop --release --skip-install -q
