"""Token recovering attention — Li et al. 2024, "Hourglass Tokenizer" (HoT, §3.3): T learnable,
zero-initialised queries (one per original frame) cross-attend to the kept tokens and restore the
full-length sequence: `out = Q + MHA(Q, kept, kept)`. The inverse of `TokenPruningCluster`; with
`n_out` = N nodes it is also STD-PLM's sandglass decoder.
"""

from __future__ import annotations

import torch
from torch import nn

from tokensmith.neural.io import configurable
from tokensmith.neural.resamplers.transformer import Attention


@configurable
class TokenRecoveringAttention(nn.Module):
    """`forward(kept (B, f, dim)) -> (B, n_out, dim)`."""

    def __init__(self, dim: int, n_out: int, heads: int = 4) -> None:
        super().__init__()
        self.queries = nn.Parameter(torch.zeros(n_out, dim))
        self.attn = Attention(dim, heads)

    def forward(self, kept: torch.Tensor) -> torch.Tensor:
        q = self.queries.expand(kept.shape[0], -1, -1).to(kept.dtype)
        return q + self.attn(q, context=kept)
