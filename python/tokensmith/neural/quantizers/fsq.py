"""Finite scalar quantization — Mentzer et al. 2023, "Finite Scalar Quantization: VQ-VAE Made Simple".

Each of d = len(levels) channels is bounded and rounded to L_i values (eq. 1 / appendix A of the paper,
with the offset trick of the reference code for even L):

    h = (L−1)(1+ε)/2,  off = 0.5·[L even],  shift = atanh(off/h)
    b = tanh(z + shift)·h − off,  q = round_ste(b) / ⌊L/2⌋ ∈ [−1, 1]
    index = Σ_i (q_i·⌊L_i/2⌋ + ⌊L_i/2⌋) · Π_{j<i} L_j

No codebook parameters and no auxiliary loss; implicit codebook size Π L_i. Common level sets for
2^8/2^10/2^12/2^14/2^16 codes: [8,6,5], [8,5,5,5], [7,5,5,5,5], [8,8,8,6,5], [8,8,8,5,5,5].
`drop_quant_p` (FlexTok) skips rounding for a random subset of samples during training.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.io import configurable
from tokensmith.neural.quantizers.base import Quantizer, QuantizerOutput, check_last_dim, fp32_region


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """round(x) in the forward pass, identity gradient."""
    return x + (x.round() - x).detach()


@configurable
class FSQ(Quantizer):
    """`forward(x (..., dim)) -> (quantized (..., dim), indices (...), 0)`.

    Args:
        levels: number of values per code channel, each ≥ 2 (a level of 2 gives the asymmetric
            values {−1, 0} under this bound, as in the reference code).
        dim: input features; Linear projections in/out when it differs from len(levels).
        eps: ε of the bound (keeps `tanh` strictly inside the outer rounding cells).
        drop_quant_p: per-sample probability of skipping rounding while training (0 = off).
    """

    def __init__(
        self, levels: Sequence[int], dim: Optional[int] = None, *, eps: float = 1e-3, drop_quant_p: float = 0.0
    ) -> None:
        super().__init__()
        levels = [int(v) for v in levels]
        if not levels or min(levels) < 2:
            raise ConfigError(f"FSQ levels must be a non-empty list of integers >= 2, got {levels}")
        self.levels_list = levels
        self.code_dim = len(levels)
        self.dim = dim or self.code_dim
        self.eps = eps
        self.drop_quant_p = drop_quant_p
        self._init_usage(math.prod(levels))
        lv = torch.tensor(levels, dtype=torch.float32)
        basis = torch.cumprod(torch.tensor([1] + levels[:-1], dtype=torch.int64), 0)
        self.register_buffer("levels", lv, persistent=False)
        self.register_buffer("basis", basis, persistent=False)
        proj = self.dim != self.code_dim
        self.project_in = nn.Linear(self.dim, self.code_dim) if proj else nn.Identity()
        self.project_out = nn.Linear(self.code_dim, self.dim) if proj else nn.Identity()

    def bound(self, z: torch.Tensor) -> torch.Tensor:
        half_l = (self.levels - 1) * (1 + self.eps) / 2
        offset = (self.levels.remainder(2) == 0).float() * 0.5
        shift = torch.atanh(offset / half_l)
        return torch.tanh(z + shift) * half_l - offset

    def quantize(self, z: torch.Tensor) -> torch.Tensor:
        """Bound, round (STE) and normalise to [−1, 1]: (..., len(levels)) in code space."""
        half_width = torch.div(self.levels, 2, rounding_mode="floor")
        return round_ste(self.bound(z)) / half_width

    def codes_to_indices(self, codes: torch.Tensor) -> torch.Tensor:
        half_width = torch.div(self.levels, 2, rounding_mode="floor")
        digits = (codes * half_width + half_width).round().long()
        return (digits * self.basis).sum(-1)

    def indices_to_level_codes(self, indices: torch.Tensor) -> torch.Tensor:
        """Index -> normalised code in code space, (..., len(levels))."""
        half_width = torch.div(self.levels, 2, rounding_mode="floor")
        digits = torch.div(indices[..., None], self.basis, rounding_mode="floor") % self.levels.long()
        return (digits.float() - half_width) / half_width

    def indices_to_codes(self, indices: torch.Tensor) -> torch.Tensor:
        return self.project_out(self.indices_to_level_codes(indices))

    def forward(self, x: torch.Tensor) -> QuantizerOutput:
        check_last_dim(x, self.dim, "FSQ")
        z = self.project_in(x)
        with fp32_region(x.device):
            zf = z.float()
            q = self.quantize(zf)
            idx = self.codes_to_indices(q.detach())
            if self.training and self.drop_quant_p > 0:
                keep = torch.rand(zf.shape[0], *[1] * (zf.dim() - 1), device=zf.device) >= self.drop_quant_p
                half_width = torch.div(self.levels, 2, rounding_mode="floor")
                q = torch.where(keep, q, self.bound(zf) / half_width)
        out = self.project_out(q.to(x.dtype))
        self.track_usage(idx)
        return QuantizerOutput(out, idx, x.new_zeros(()).float())

    def extra_repr(self) -> str:
        return f"levels={self.levels_list}, dim={self.dim}"
