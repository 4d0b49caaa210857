"""A small pre-norm Transformer stack (Vaswani et al. 2017; pre-LN as in Xiong et al. 2020) shared by the
resamplers. Attention goes through `F.scaled_dot_product_attention` with an optional boolean mask
(True = may attend), so the same block serves full, causal and block-structured attention.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.io import configurable


class Attention(nn.Module):
    """Multi-head attention; `context` given = cross-attention."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ConfigError(f"dim ({dim}) must be divisible by heads ({heads})")
        self.heads = heads
        self.to_q = nn.Linear(dim, dim)
        self.to_kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(
        self, x: torch.Tensor, context: Optional[torch.Tensor] = None, mask: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        context = x if context is None else context
        b, n, d = x.shape
        h = self.heads
        q = self.to_q(x).reshape(b, n, h, d // h).transpose(1, 2)
        k, v = self.to_kv(context).reshape(b, context.shape[1], 2, h, d // h).permute(2, 0, 3, 1, 4)
        if mask is not None and mask.dim() == 3:  # (B, n, m) -> broadcast over heads
            mask = mask[:, None]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, cross: bool = False) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.cross = cross
        if cross:
            self.norm_c = nn.LayerNorm(dim)
            self.norm_ctx = nn.LayerNorm(dim)
            self.cross_attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x, mask=None, context=None, context_mask=None):
        x = x + self.attn(self.norm1(x), mask=mask)
        if self.cross and context is not None:
            x = x + self.cross_attn(self.norm_c(x), self.norm_ctx(context), mask=context_mask)
        return x + self.mlp(self.norm2(x))


@configurable
class TransformerStack(nn.Module):
    """`forward(x (B, N, dim), mask=None) -> (B, N, dim)`; `depth` pre-norm blocks + a final LayerNorm.

    `mask`: bool (N, N) or (B, N, N), True where attention is allowed. `causal=True` builds the causal mask.
    """

    def __init__(self, dim: int, depth: int, heads: int = 4, *, mlp_ratio: float = 4.0, causal: bool = False) -> None:
        super().__init__()
        self.causal = causal
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self.causal and mask is None:
            n = x.shape[1]
            mask = torch.ones(n, n, dtype=torch.bool, device=x.device).tril()
        for block in self.blocks:
            x = block(x, mask=mask)
        return self.norm(x)
