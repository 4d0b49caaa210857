"""Differentiable soft top-k token selection — the selection step of μ²Tokenizer ("μ²Tokenizer:
Differentiable Multi-Scale Multi-Modal Tokenizer for Radiology Report Generation", Li et al. 2025).

Successive softmax relaxation of top-k (as in Xie et al. 2020 / Plötz & Roth 2018): with scores s and
temperature τ, for j = 1..k

    w_j = softmax((s + log(1 − Σ_{i<j} w_i)) / τ),     token_j = Σ_n w_{j,n} x_n

Each selection suppresses what earlier ones took; as τ → 0, w_j becomes the one-hot of the j-th
largest score, i.e. hard top-k in score order.
"""

from __future__ import annotations

import torch
from torch import nn

from tokensmith.neural.io import configurable


def soft_topk(scores: torch.Tensor, x: torch.Tensor, k: int, tau: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """scores (B, N), x (B, N, C) -> (tokens (B, k, C), weights (B, k, N))."""
    taken = torch.zeros_like(scores, dtype=torch.float32)
    s = scores.float()
    weights = []
    for _ in range(k):
        w = torch.softmax((s + torch.log((1 - taken).clamp_min(1e-12))) / tau, dim=-1)
        weights.append(w)
        taken = (taken + w).clamp(max=1.0)
    w = torch.stack(weights, 1)
    return torch.einsum("bkn,bnc->bkc", w.to(x.dtype), x), w


@configurable
class SoftTopK(nn.Module):
    """Scores tokens with a Linear and keeps k soft selections: `forward(x (B, N, dim)) -> (B, k, dim)`."""

    def __init__(self, dim: int, k: int, *, tau: float = 0.1) -> None:
        super().__init__()
        self.k, self.tau = k, tau
        self.score = nn.Linear(dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return soft_topk(self.score(x).squeeze(-1), x, self.k, self.tau)[0]
