"""Grouped / product quantization — Jégou et al. 2011, "Product Quantization for Nearest Neighbor Search";
grouped residual VQ as in Yang et al. 2023 (HiFi-Codec, GRVQ) and LongCat-Audio-Codec.

Channels are split into G groups, each quantized by its own (residual) VQ; the per-group indices
combine into one mixed-radix id `Σ_g i_g·K^g` (LongCat: 2 groups × 90 codes → 8100 ids per level).
Bits per position = Σ_g log2 K.
"""

from __future__ import annotations

import math


import torch
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.io import configurable
from tokensmith.neural.quantizers.base import Quantizer, QuantizerOutput, check_last_dim
from tokensmith.neural.quantizers.rvq import ResidualVQ
from tokensmith.neural.quantizers.vq import VectorQuantizer


@configurable
class GroupedVQ(Quantizer):
    """`forward(x (..., dim)) -> (quantized, indices, aux_loss)`.

    indices: (...) when `num_residual == 1`, (..., num_residual) otherwise, holding mixed-radix ids
    in [0, codebook_size**groups); with `flat_indices=False` a trailing group axis G is kept instead.

    Args:
        dim: input features, divisible by `groups`.
        groups: G.
        codebook_size: codes per group (per level).
        num_residual: residual levels inside each group (1 = plain product quantization).
        flat_indices: combine the group indices into one id.
        **vq_kwargs: passed to each group's quantizer (codebook_dim, use_cosine, ema, ...).
    """

    def __init__(
        self,
        dim: int,
        groups: int,
        codebook_size: int,
        *,
        num_residual: int = 1,
        flat_indices: bool = True,
        **vq_kwargs,
    ) -> None:
        super().__init__()
        if groups < 1 or dim % groups:
            raise ConfigError(f"dim ({dim}) must be divisible by groups ({groups})")
        self.dim, self.groups, self.num_residual = dim, groups, num_residual
        self.group_codebook_size = codebook_size
        self.flat_indices = flat_indices
        gdim = dim // groups
        if num_residual == 1:
            self.quantizers = nn.ModuleList(VectorQuantizer(gdim, codebook_size, **vq_kwargs) for _ in range(groups))
        else:
            self.quantizers = nn.ModuleList(
                ResidualVQ(gdim, num_residual, codebook_size, **vq_kwargs) for _ in range(groups)
            )
        self._init_usage(codebook_size**groups if flat_indices else None)
        self.register_buffer("radix", codebook_size ** torch.arange(groups, dtype=torch.int64), persistent=False)

    def forward(self, x: torch.Tensor) -> QuantizerOutput:
        check_last_dim(x, self.dim, "GroupedVQ")
        outs, idxs, aux = [], [], x.new_zeros((), dtype=torch.float32)
        for chunk, q in zip(x.chunk(self.groups, dim=-1), self.quantizers):
            o, i, l = q(chunk)
            outs.append(o)
            idxs.append(i)
            aux = aux + l
        indices = torch.stack(idxs, -1)  # (..., G) or (..., L, G)
        if self.flat_indices:
            indices = self.combine(indices)
            self.track_usage(indices)
        return QuantizerOutput(torch.cat(outs, -1), indices, aux)

    def combine(self, group_indices: torch.Tensor) -> torch.Tensor:
        """(..., G) per-group ids -> mixed-radix ids (−1 stays −1)."""
        flat = (group_indices.clamp_min(0) * self.radix).sum(-1)
        return torch.where((group_indices < 0).any(-1), torch.full_like(flat, -1), flat)

    def split(self, indices: torch.Tensor) -> torch.Tensor:
        """Mixed-radix ids -> (..., G) per-group ids."""
        k = self.group_codebook_size
        out = torch.div(indices.clamp_min(0)[..., None], self.radix, rounding_mode="floor") % k
        return torch.where(indices[..., None] < 0, torch.full_like(out, -1), out)

    def indices_to_codes(self, indices: torch.Tensor) -> torch.Tensor:
        per_group = self.split(indices) if self.flat_indices else indices
        return torch.cat([q.indices_to_codes(per_group[..., g]) for g, q in enumerate(self.quantizers)], -1)

    @property
    def bits_per_token(self) -> float:
        """Σ_g log2 K per level, times the residual levels."""
        return self.groups * self.num_residual * math.log2(self.group_codebook_size)

    @property
    def codes_used(self) -> int:
        if self.flat_indices and self.num_residual == 1:
            return super().codes_used
        return round(sum(q.codes_used for q in self.quantizers) / self.groups)

    @property
    def perplexity(self) -> float:
        if self.flat_indices and self.num_residual == 1:
            return super().perplexity
        return sum(q.perplexity for q in self.quantizers) / self.groups

    def stats(self) -> dict:
        out = super().stats()
        out["groups"] = [q.stats() for q in self.quantizers]
        return out
