"""The tiny-LM configuration: one frozen dataclass, saved next to every checkpoint."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tokensmith.errors import ConfigError


@dataclass(frozen=True)
class LMConfig:
    """Model shape, byte-fair data layout and training schedule of a tiny causal LM."""

    d_model: int = 128
    """Width of the residual stream."""
    n_layer: int = 4
    """Number of transformer blocks."""
    n_head: int = 4
    """Attention heads per block (d_model must divide by it)."""
    mlp_ratio: int = 4
    """Hidden width of the MLP as a multiple of d_model."""
    dropout: float = 0.0
    """Dropout on attention and MLP outputs."""
    tie_embeddings: bool = False
    """Share input and output embeddings (off: transfer and AdaptiVocab set them apart)."""
    chunk_bytes: int = 256
    """Context measured in bytes: every example is one chunk of at most this many bytes of text."""
    batch_size: int = 32
    """Chunks per optimizer step (global, split across DDP ranks)."""
    steps: int = 300
    """Optimizer steps; every tokenizer gets the same steps over the same chunks."""
    lr: float = 3e-3
    """Peak learning rate (AdamW), linear warmup then cosine decay to 10%."""
    warmup: int = 20
    """Warmup steps."""
    weight_decay: float = 0.1
    """AdamW weight decay on matrices."""
    eval_every: int = 50
    """Evaluate validation bits per byte every this many steps (learning curve points)."""
    eval_chunks: int = 256
    """Validation chunks scored at each learning-curve point (lm compare scores all of them at the end)."""
    val_fraction: float = 0.1
    """Share of the text bytes held apart for evaluation (taken from the end)."""
    seed: int = 0
    """Seed for initialisation and data order."""
    device: str = "cpu"
    """Torch device: cpu, cuda, cuda:1, mps or auto."""
    threads: int = 0
    """torch.set_num_threads (0 leaves torch's default)."""

    def __post_init__(self) -> None:
        positive = ("d_model", "n_layer", "n_head", "mlp_ratio", "chunk_bytes", "batch_size", "steps", "eval_every",
                    "eval_chunks")
        for name in positive:
            if int(getattr(self, name)) <= 0:
                raise ConfigError(f"LMConfig.{name} must be > 0 (got {getattr(self, name)})")
        if self.d_model % self.n_head:
            raise ConfigError(f"d_model ({self.d_model}) must be divisible by n_head ({self.n_head})")
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in (0, 1) (got {self.val_fraction})")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1) (got {self.dropout})")

    def replace(self, **changes) -> "LMConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "LMConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown LMConfig fields {sorted(unknown)}")
        return cls(**data)
