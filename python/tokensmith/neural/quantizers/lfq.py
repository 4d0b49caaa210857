"""Lookup-free quantization — Yu et al. 2024, "Language Model Beats Diffusion: Tokenizer is Key to
Visual Generation" (MAGVIT-v2), §3.1.

`q = sign(z) ∈ {−1, 1}^d` (sign(0) = +1) with a straight-through gradient; index `Σ_i 1[q_i > 0]·2^i`
(bit i weighs 2^i; lucidrains/vector-quantize-pytorch uses the reverse bit order — codes agree, ids
are bit-reversed); implicit codebook 2^d. Loss (eq. 5): commitment `β||z − sg(q)||²` plus the entropy penalty
`E[H(p(q|z))] − γ·H(E[p(q|z)])`. We use the per-bit factorisation of the code distribution,
`p(bit_i = 1 | z) = σ(4·c·z_i/τ)` (the softmax over ±c codes factorises per bit), and approximate the
codebook entropy by the sum of per-bit entropies of the batch-mean bit probabilities (an upper bound;
BSQ, Zhao et al. 2024, §3.3 uses the same factorisation).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.neural.io import configurable
from tokensmith.neural.quantizers.base import Quantizer, QuantizerOutput, check_last_dim, fp32_region, log2_int


def binary_entropy_loss(z: torch.Tensor, code_scale: float, temperature: float, gamma: float) -> torch.Tensor:
    """Factorised entropy penalty for binary codes ±code_scale; z: (N, d) fp32. In nats."""
    logits = 4 * code_scale * z / temperature
    p = torch.sigmoid(logits)
    per_sample = F.binary_cross_entropy_with_logits(logits, p, reduction="none").sum(-1).mean()
    mean_p = p.mean(0).clamp(1e-6, 1 - 1e-6)
    codebook = -(mean_p * mean_p.log() + (1 - mean_p) * (1 - mean_p).log()).sum()
    return per_sample - gamma * codebook


class BinaryQuantizer(Quantizer):
    """Shared machinery of LFQ and BSQ: projections, bit packing, usage."""

    def _setup(self, dim: Optional[int], codebook_size: int) -> None:
        self.bits = log2_int(codebook_size)
        self.dim = dim or self.bits
        self._init_usage(codebook_size)
        self.register_buffer("powers", 2 ** torch.arange(self.bits, dtype=torch.int64), persistent=False)
        proj = self.dim != self.bits
        self.project_in = nn.Linear(self.dim, self.bits) if proj else nn.Identity()
        self.project_out = nn.Linear(self.bits, self.dim) if proj else nn.Identity()

    def _init_loss(self, commitment_weight: float, entropy_weight: float, diversity_gamma: float,
                   entropy_temperature: float) -> None:
        self.commitment_weight = commitment_weight
        self.entropy_weight = entropy_weight
        self.diversity_gamma = diversity_gamma
        self.entropy_temperature = entropy_temperature

    def code_scale(self) -> float:
        return 1.0

    def prepare(self, z: torch.Tensor) -> torch.Tensor:
        """Projected fp32 features -> the vector whose signs are the bits (identity for LFQ, l2norm for BSQ)."""
        return z

    def _quantize_bits(self, x: torch.Tensor, name: str) -> QuantizerOutput:
        """Shared forward: sign quantization with straight-through gradient, commitment
        `β||u − sg(q)||²`, factorised entropy penalty (training only), bit packing and usage."""
        check_last_dim(x, self.dim, name)
        z = self.project_in(x)
        with fp32_region(x.device):
            u = self.prepare(z.float())
            q = torch.where(u > 0, 1.0, -1.0) * self.code_scale()
            out = u + (q - u).detach()
            aux = self.commitment_weight * F.mse_loss(u, q)
            if self.entropy_weight and self.training:
                aux = aux + self.entropy_weight * binary_entropy_loss(
                    u.reshape(-1, self.bits), self.code_scale(), self.entropy_temperature, self.diversity_gamma
                )
            idx = self.bits_to_indices(q)
        self.track_usage(idx)
        return QuantizerOutput(self.project_out(out.to(x.dtype)), idx, aux)

    def bits_to_indices(self, q: torch.Tensor) -> torch.Tensor:
        return ((q > 0).long() * self.powers).sum(-1)

    def indices_to_bits(self, indices: torch.Tensor) -> torch.Tensor:
        """Index -> code in code space: ±code_scale, (..., bits)."""
        bits = (indices[..., None] // self.powers) % 2
        return (bits.float() * 2 - 1) * self.code_scale()

    def indices_to_codes(self, indices: torch.Tensor) -> torch.Tensor:
        return self.project_out(self.indices_to_bits(indices))


@configurable
class LFQ(BinaryQuantizer):
    """`forward(x (..., dim)) -> (quantized (..., dim), indices (...), aux_loss)`; codes are ±1.

    Args:
        dim: input features (projected to log2(codebook_size) bits when different).
        codebook_size: 2^bits.
        commitment_weight: β.
        entropy_weight: weight of the entropy penalty (0.1 in MAGVIT-v2 / lucidrains).
        diversity_gamma: γ, weight of the codebook-entropy term inside the penalty.
        entropy_temperature: τ of the per-bit probabilities (0.01 ≙ lucidrains' inv_temperature 100).
    """

    def __init__(
        self,
        dim: Optional[int] = None,
        codebook_size: int = 2**10,
        *,
        commitment_weight: float = 0.25,
        entropy_weight: float = 0.1,
        diversity_gamma: float = 1.0,
        entropy_temperature: float = 0.01,
    ) -> None:
        super().__init__()
        self._setup(dim, codebook_size)
        self._init_loss(commitment_weight, entropy_weight, diversity_gamma, entropy_temperature)

    def forward(self, x: torch.Tensor) -> QuantizerOutput:
        return self._quantize_bits(x, "LFQ")
