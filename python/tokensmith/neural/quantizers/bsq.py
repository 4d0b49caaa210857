"""Binary spherical quantization — Zhao, Xiong & Krähenbühl 2024, "Image and Video Tokenization with
Binary Spherical Quantization" (eq. 2–4).

Project to d bits, l2-normalise `u = z/|z|`, quantize `q = sign(u)/√d` (a corner of the hypercube on the
unit sphere) with a straight-through gradient. Index `Σ_i 1[q_i > 0]·2^i`, implicit codebook 2^d.
Loss: commitment `β||u − sg(q)||²` plus the factorised entropy penalty (see `lfq.binary_entropy_loss`).
TaDiCodec uses 14 bits (16384 codes) at 6.25 Hz.
"""

from __future__ import annotations

import math
from typing import Optional

import torch

from tokensmith.neural.io import configurable
from tokensmith.neural.quantizers.base import QuantizerOutput, l2norm
from tokensmith.neural.quantizers.lfq import BinaryQuantizer


@configurable
class BSQ(BinaryQuantizer):
    """`forward(x (..., dim)) -> (quantized (..., dim), indices (...), aux_loss)`; codes ±1/√d, unit norm.

    Args:
        dim: input features (projected to log2(codebook_size) bits when different).
        codebook_size: 2^bits.
        commitment_weight: β.
        entropy_weight: weight of the entropy penalty.
        diversity_gamma: γ of the codebook-entropy term.
        entropy_temperature: τ of the per-bit probabilities (our default; the paper tunes it).
    """

    def __init__(
        self,
        dim: Optional[int] = None,
        codebook_size: int = 2**14,
        *,
        commitment_weight: float = 0.25,
        entropy_weight: float = 0.1,
        diversity_gamma: float = 1.0,
        entropy_temperature: float = 0.1,
    ) -> None:
        super().__init__()
        self._setup(dim, codebook_size)
        self._init_loss(commitment_weight, entropy_weight, diversity_gamma, entropy_temperature)

    def code_scale(self) -> float:
        return 1.0 / math.sqrt(self.bits)

    def prepare(self, z: torch.Tensor) -> torch.Tensor:
        return l2norm(z)

    def forward(self, x: torch.Tensor) -> QuantizerOutput:
        return self._quantize_bits(x, "BSQ")
