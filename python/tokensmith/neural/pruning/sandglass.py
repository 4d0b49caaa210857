"""Sandglass attention (N → N′ → N) — "Spatial-Temporal Large Language Model" / STD-PLM (Huang et al.
2024, §3.3, `sandglassAttn.py`): N′ learned "hyper-node" queries cross-attend to the N node tokens
(encode, N → N′ region tokens for the language model), and N learned node queries cross-attend back
(decode, N′ → N). The encode attention A (B, N′, N) is a soft node → region assignment; a constraint
loss keeps regions spatially coherent and balanced.

Our constraint loss (the paper states the intent, not this exact form):
  * adjacency: `1 − Σ_r Σ_ij A_ri A_rj adj_ij / Σ_r Σ_ij A_ri A_rj` — the fraction of within-region
    node-pair mass that is *not* adjacent in the graph;
  * balance: KL(region mass ‖ uniform) with region mass = mean_n A_rn / Σ_r, a Dirichlet-style prior
    that discourages empty regions.
"""

from __future__ import annotations


import torch
from torch import nn

from tokensmith.neural.io import configurable
from tokensmith.neural.resamplers.transformer import Attention


@configurable
class SandglassAttention(nn.Module):
    """`encode(x (B, N, dim)) -> (regions (B, N′, dim), A (B, N′, N))`; `decode(regions) -> (B, N, dim)`;
    `forward(x)` runs both and returns (restored, regions, A); `constraint_loss(A, adjacency)`."""

    def __init__(self, dim: int, n_nodes: int, n_regions: int, heads: int = 4) -> None:
        super().__init__()
        self.n_nodes, self.n_regions = n_nodes, n_regions
        self.region_queries = nn.Parameter(torch.randn(n_regions, dim) * 0.02)
        self.node_queries = nn.Parameter(torch.zeros(n_nodes, dim))
        self.to_q = nn.Linear(dim, dim)
        self.to_k = nn.Linear(dim, dim)
        self.to_v = nn.Linear(dim, dim)
        self.back = Attention(dim, heads)
        self.scale = dim**-0.5

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        q = self.to_q(self.region_queries)
        logits = torch.einsum("rd,bnd->brn", q, self.to_k(x)) * self.scale
        attn = torch.softmax(logits.float(), -1).to(x.dtype)
        return torch.einsum("brn,bnd->brd", attn, self.to_v(x)), attn

    def decode(self, regions: torch.Tensor) -> torch.Tensor:
        q = self.node_queries.expand(regions.shape[0], -1, -1).to(regions.dtype)
        return q + self.back(q, context=regions)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        regions, attn = self.encode(x)
        return self.decode(regions), regions, attn

    @staticmethod
    def constraint_loss(
        attn: torch.Tensor, adjacency: torch.Tensor, *, balance_weight: float = 1.0, eps: float = 1e-8
    ) -> torch.Tensor:
        a = attn.float()
        adj = adjacency.float()
        pair = torch.einsum("bri,brj->bij", a, a)
        off_adjacent = 1 - (pair * adj).sum((-1, -2)) / pair.sum((-1, -2)).clamp_min(eps)
        mass = a.mean(-1)
        mass = mass / mass.sum(-1, keepdim=True).clamp_min(eps)
        uniform = 1.0 / a.shape[1]
        balance = (mass * (mass.clamp_min(eps) / uniform).log()).sum(-1)
        return (off_adjacent + balance_weight * balance).mean()
