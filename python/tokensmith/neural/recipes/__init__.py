"""Thin recipes that wire `tokensmith.neural` blocks into one system each (config dataclass, model,
`train`, `encode`/`decode`, `save`/`load`). See `tokensmith.neural.registry` for the list."""
