"""Adaptive length predictor with differentiable token chunking — "ALTo: Adaptive-Length Tokenizer for
Autoregressive Mask Generation" (Wang et al. 2025; `LengthEncoder` in yayafengzi/ALToLLM).

With a CLS feature c and latent features h_1..h_K:

    k_i = (W1 h_i) ⊙ σ(W2 h_i),  q = W3 c,  a = softmax_i(s·q·k_i)        (s = 1/√D by default)
    ℓ = Σ_i a_i·(i−1)/K           expected normalised length; length loss = mean ℓ
    L̂ = ceil(ℓ·K) → one-hot o over positions (0-based index of the last kept token)
    õ = o + a − sg(a)             straight-through
    m_j = 1 − Σ_{i<j} õ_i         keep-mask (1 up to L̂, 0 after), multiplies the quantized latents

so the kept length is L̂+1 ∈ [1, K] and gradients reach the predictor through a. neural.md writes the
score scale as ·√D; we default to the usual 1/√D and expose `scale`.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.neural.io import configurable


class LengthPrediction(NamedTuple):
    keep_mask: torch.Tensor  # (B, K) straight-through 0/1 mask
    length_loss: torch.Tensor  # scalar, mean expected normalised length
    expected_length: torch.Tensor  # (B,) ℓ ∈ [0, (K−1)/K]
    lengths: torch.Tensor  # (B,) hard number of kept tokens in [1, K]
    attention: torch.Tensor  # (B, K) a


def differentiable_keep_mask(attn: torch.Tensor, last_index: torch.Tensor) -> torch.Tensor:
    """m_j = 1 − Σ_{i<j} õ_i with õ = onehot(last_index) + a − sg(a). attn: (B, K); last_index: (B,)."""
    onehot = F.one_hot(last_index, attn.shape[-1]).to(attn.dtype)
    st = onehot + attn - attn.detach()
    exclusive = torch.cumsum(st, -1) - st
    return 1.0 - exclusive


@configurable
class AdaptiveLengthPredictor(nn.Module):
    """`forward(cls (B, D), latents (B, K, D)) -> LengthPrediction`."""

    def __init__(self, dim: int, max_tokens: int, *, scale: Optional[float] = None) -> None:
        super().__init__()
        self.max_tokens = max_tokens
        self.scale = scale if scale is not None else dim**-0.5
        self.w1 = nn.Linear(dim, dim)
        self.w2 = nn.Linear(dim, dim)
        self.w3 = nn.Linear(dim, dim)

    def forward(self, cls: torch.Tensor, latents: torch.Tensor) -> LengthPrediction:
        k = latents.shape[1]
        keys = self.w1(latents) * torch.sigmoid(self.w2(latents))
        q = self.w3(cls)
        attn = torch.softmax(torch.einsum("bd,bkd->bk", q, keys).float() * self.scale, -1)
        pos = torch.arange(k, device=latents.device, dtype=attn.dtype) / k
        ell = (attn * pos).sum(-1)
        last = torch.ceil(ell.detach() * k - 1e-6).long().clamp(0, k - 1)
        mask = differentiable_keep_mask(attn, last)
        return LengthPrediction(mask, ell.mean(), ell, last + 1, attn)
