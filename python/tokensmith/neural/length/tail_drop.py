"""Tail token drop — Miwa et al. 2025, "One-D-Piece: Image Tokenizer Meets Quality-Controllable
Compression" (§3.2): while training, draw one k ~ U{1..K} per batch (or from `weights`) and give the
decoder only the first k tokens, so information concentrates at the head of the sequence. At inference
any prefix k can be decoded. The decoder must accept k ≤ K latents (see `MaskTokenDecoder`).
"""

from __future__ import annotations

import random
from typing import Optional, Sequence

import torch
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.io import configurable


@configurable
class TailTokenDrop(nn.Module):
    """`forward(tokens (B, K, d), k=None) -> (tokens[:, :k], k)`; k drawn per batch while training.

    Args:
        max_tokens: K.
        min_tokens: smallest k drawn.
        weights: optional unnormalised probabilities for k = min_tokens..K (e.g. biased toward long prefixes).
    """

    def __init__(self, max_tokens: int, *, min_tokens: int = 1, weights: Optional[Sequence[float]] = None) -> None:
        super().__init__()
        if not 1 <= min_tokens <= max_tokens:
            raise ConfigError(f"need 1 <= min_tokens <= max_tokens, got {min_tokens}, {max_tokens}")
        if weights is not None and len(weights) != max_tokens - min_tokens + 1:
            raise ConfigError(f"weights needs {max_tokens - min_tokens + 1} entries (one per k)")
        self.max_tokens, self.min_tokens = max_tokens, min_tokens
        self.weights = list(weights) if weights is not None else None

    def sample_k(self) -> int:
        ks = list(range(self.min_tokens, self.max_tokens + 1))
        return random.choices(ks, weights=self.weights)[0] if self.weights else random.choice(ks)

    def forward(self, tokens: torch.Tensor, k: Optional[int] = None) -> tuple[torch.Tensor, int]:
        if k is None:
            k = self.sample_k() if self.training else tokens.shape[1]
        return tokens[:, :k], k
