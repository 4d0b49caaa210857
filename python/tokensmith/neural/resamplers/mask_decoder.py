"""Mask-token decoder — TiTok's de-tokenizer (Yu et al. 2024, §3.2): the k ≤ K token latents (projected
to the width, with their own positions) are concatenated with `n_out` copies of a learned mask token
(with output positions); a Transformer runs over the sequence and the outputs at the mask positions
go through a linear head (pixels of a patch, logits over proxy codes, ...).

Accepts any number of latents k ≤ K (One-D-Piece tail drop: the positions are sliced to k) and an
optional keep-mask (B, k) that zeroes dropped latents (ALTo differentiable chunking). Extra conditioning
tokens (TA-TiTok text embeddings) can be appended via `context=`.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.io import configurable
from tokensmith.neural.resamplers.transformer import TransformerStack


@configurable
class MaskTokenDecoder(nn.Module):
    """`forward(latents (B, k, in_dim), keep=None, context=None) -> (B, n_out, out_dim)`.

    Args:
        in_dim: token dimension of the latents.
        dim: Transformer width.
        n_latents: K, the maximum number of latents.
        n_out: number of output positions (patches).
        out_dim: features per output position.
        depth, heads, mlp_ratio: Transformer size.
        context_dim: if set, `context` tokens (B, M, context_dim) are projected and appended.
    """

    def __init__(
        self,
        in_dim: int,
        dim: int,
        n_latents: int,
        n_out: int,
        out_dim: int,
        depth: int = 2,
        heads: int = 4,
        *,
        mlp_ratio: float = 4.0,
        context_dim: Optional[int] = None,
    ) -> None:
        super().__init__()
        self.n_latents, self.n_out = n_latents, n_out
        self.embed = nn.Linear(in_dim, dim)
        self.latent_pos = nn.Parameter(torch.randn(n_latents, dim) * 0.02)
        self.mask_token = nn.Parameter(torch.randn(dim) * 0.02)
        self.out_pos = nn.Parameter(torch.randn(n_out, dim) * 0.02)
        self.context = nn.Linear(context_dim, dim) if context_dim else None
        self.transformer = TransformerStack(dim, depth, heads, mlp_ratio=mlp_ratio)
        self.head = nn.Linear(dim, out_dim)

    def forward(
        self, latents: torch.Tensor, keep: Optional[torch.Tensor] = None, context: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        b, k, _ = latents.shape
        if k > self.n_latents:
            raise ConfigError(f"MaskTokenDecoder was built for at most {self.n_latents} latents, got {k}")
        h = self.embed(latents) + self.latent_pos[:k]
        if keep is not None:
            h = h * keep[..., None].to(h.dtype)
        parts = [h, (self.mask_token + self.out_pos).expand(b, -1, -1).to(h.dtype)]
        if context is not None:
            if self.context is None:
                raise ConfigError("build MaskTokenDecoder with context_dim=... to pass context tokens")
            parts.append(self.context(context))
        x = self.transformer(torch.cat(parts, 1))
        return self.head(x[:, k : k + self.n_out])
