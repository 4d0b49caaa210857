"""Residual VQ with quantizer dropout — Zeghidour et al. 2021, "SoundStream" (Algorithm 1).

    r_0 = z;  q_l = Q_l(r_{l−1});  r_l = r_{l−1} − q_l;  output ẑ = z + sg(Σ_l q_l − z)

The loss is the sum of the per-level VQ losses. Quantizer dropout (SoundStream §3.3): while training,
draw n ∈ {1..L} per batch (only multiples of `dropout_multiple_of`, plus L) and stop after n levels,
so one model serves L bitrates; skipped levels get index −1. Indices: (..., L).
"""

from __future__ import annotations

import math
import random
from typing import Optional

import torch
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.io import configurable
from tokensmith.neural.quantizers.base import Quantizer, QuantizerOutput, check_last_dim, straight_through
from tokensmith.neural.quantizers.vq import VectorQuantizer


@configurable
class ResidualVQ(Quantizer):
    """`forward(x (..., dim)) -> (quantized, indices (..., num_quantizers), aux_loss)`.

    Args:
        dim: input features.
        num_quantizers: levels L.
        codebook_size: codes per level.
        codebook_dim: shared projection dimension for all levels (None = dim).
        quantize_dropout: enable quantizer dropout while training.
        dropout_multiple_of: only keep multiples of this many levels (plus all L).
        **vq_kwargs: passed to each level's `VectorQuantizer` (use_cosine, ema, kmeans_init, ...).
    Usage stats: `codes_used` / `perplexity` average over levels; `stats()["levels"]` has each level.
    """

    def __init__(
        self,
        dim: int,
        num_quantizers: int,
        codebook_size: int,
        *,
        codebook_dim: Optional[int] = None,
        quantize_dropout: bool = False,
        dropout_multiple_of: int = 1,
        **vq_kwargs,
    ) -> None:
        super().__init__()
        if num_quantizers < 1:
            raise ConfigError(f"num_quantizers must be >= 1, got {num_quantizers}")
        self.dim = dim
        self.num_quantizers = num_quantizers
        self.codebook_size = codebook_size
        self.quantize_dropout = quantize_dropout
        self.dropout_multiple_of = max(1, dropout_multiple_of)
        cdim = codebook_dim or dim
        self.project_in = nn.Linear(dim, cdim) if cdim != dim else nn.Identity()
        self.project_out = nn.Linear(cdim, dim) if cdim != dim else nn.Identity()
        self.layers = nn.ModuleList(VectorQuantizer(cdim, codebook_size, **vq_kwargs) for _ in range(num_quantizers))

    def _levels_this_step(self) -> int:
        if not (self.training and self.quantize_dropout):
            return self.num_quantizers
        m = self.dropout_multiple_of
        choices = sorted({n for n in range(m, self.num_quantizers + 1, m)} | {self.num_quantizers})
        return random.choice(choices)

    def forward(self, x: torch.Tensor, *, n_levels: Optional[int] = None) -> QuantizerOutput:
        """`n_levels` forces the number of levels used (e.g. a lower bitrate at inference)."""
        check_last_dim(x, self.dim, "ResidualVQ")
        z = self.project_in(x)
        n = n_levels or self._levels_this_step()
        residual = z
        total = torch.zeros_like(z)
        aux = z.new_zeros((), dtype=torch.float32)
        indices = []
        for level, layer in enumerate(self.layers):
            if level >= n:
                indices.append(torch.full(z.shape[:-1], -1, dtype=torch.long, device=z.device))
                continue
            q, idx, loss = layer(residual)
            q = q.detach().to(z.dtype)  # value e_l; the encoder is trained by the per-level commitment terms
            residual = residual - q
            total = total + q
            aux = aux + loss
            indices.append(idx)
        out = self.project_out(straight_through(z, total))
        return QuantizerOutput(out, torch.stack(indices, -1), aux)

    def indices_to_codes(self, indices: torch.Tensor) -> torch.Tensor:
        """Sum of the codes of the given levels; accepts the first l ≤ L levels, −1 = skipped."""
        total = None
        for level in range(indices.shape[-1]):
            idx = indices[..., level]
            code = self.layers[level].indices_to_codes(idx.clamp_min(0))
            code = code * (idx >= 0).unsqueeze(-1).to(code.dtype)
            total = code if total is None else total + code
        return self.project_out(total)

    @property
    def bits_per_token(self) -> float:
        """All L levels: L·log2 K (fewer with quantizer dropout at inference: n·log2 K)."""
        return self.num_quantizers * math.log2(self.codebook_size)

    # usage is tracked per level by the inner quantizers
    @property
    def codes_used(self) -> int:
        return round(sum(layer.codes_used for layer in self.layers) / self.num_quantizers)

    @property
    def perplexity(self) -> float:
        return sum(layer.perplexity for layer in self.layers) / self.num_quantizers

    def stats(self) -> dict:
        out = super().stats()
        out["levels"] = [layer.stats() for layer in self.layers]
        return out
