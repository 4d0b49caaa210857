"""Nested dropout — Rippel et al. 2014, "Learning Ordered Representations with Nested Dropout"; as
used on register tokens by Bachmann et al. 2025, "FlexTok: Resampling Images into 1D Token Sequences
of Flexible Length" (§3.2, `flextok/model/preprocessors/token_dropout.py`).

Per *sample*, keep_k is drawn and tokens after keep_k are overwritten with one learned mask vector, so
the decoder input keeps its length. Sampling modes: `uniform` (k ~ U{1..K}), `pow2` (k ~ U{1,2,4,…,K}),
`uniform_pow2` (uniform then rounded up to a power of two). Power-of-two sampling gives short prefixes
far more training signal. Pair with a causal latent-query encoder so prefixes ignore later tokens.
"""

from __future__ import annotations

import math
from typing import Optional, Union

import torch
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.io import configurable

MODES = ("uniform", "pow2", "uniform_pow2")


@configurable
class NestedDropout(nn.Module):
    """`forward(tokens (B, K, dim), keep_k=None) -> (tokens with tail = mask vector, keep_k (B,))`.

    In eval mode nothing is dropped unless `keep_k` (int or (B,) tensor) is given.
    """

    def __init__(self, dim: int, max_tokens: int, *, mode: str = "pow2") -> None:
        super().__init__()
        if mode not in MODES:
            raise ConfigError(f"unknown nested dropout mode {mode!r}; choose one of {', '.join(MODES)}")
        self.max_tokens, self.mode = max_tokens, mode
        self.mask_token = nn.Parameter(torch.randn(dim) * 0.02)

    def sample_keep(self, batch: int, device=None) -> torch.Tensor:
        k = self.max_tokens
        if self.mode == "uniform":
            return torch.randint(1, k + 1, (batch,), device=device)
        if self.mode == "pow2":
            choices = [2**i for i in range(int(math.log2(k)) + 1)]
            if choices[-1] != k:
                choices.append(k)
            t = torch.tensor(choices, device=device)
            return t[torch.randint(0, len(choices), (batch,), device=device)]
        u = torch.randint(1, k + 1, (batch,), device=device).float()
        return torch.clamp(2 ** torch.ceil(torch.log2(u)), max=k).long()

    def forward(
        self, tokens: torch.Tensor, keep_k: Optional[Union[int, torch.Tensor]] = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        b, n, _ = tokens.shape
        if keep_k is None:
            keep_k = self.sample_keep(b, tokens.device) if self.training else torch.full((b,), n, device=tokens.device)
        elif isinstance(keep_k, int):
            keep_k = torch.full((b,), keep_k, device=tokens.device)
        keep = torch.arange(n, device=tokens.device)[None] < keep_k[:, None]
        out = torch.where(keep[..., None], tokens, self.mask_token.to(tokens.dtype))
        return out, keep_k
