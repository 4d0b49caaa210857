"""Small, honest CPU demonstrations of the Tier-1 systems of docs/neural (one module per system).

Each demo trains the system *and* the baseline its claim is relative to, over ≥ 3 seeds (full mode),
and writes `result.json`, `table.md` and PNG plots. Run them with `tokensmith neural demo <system>`.
"""
