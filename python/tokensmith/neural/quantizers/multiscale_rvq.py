"""Multi-scale residual VQ — Tian et al. 2024, "Visual Autoregressive Modeling: Scalable Image
Generation via Next-Scale Prediction" (VAR, Algorithm 1); used by ImageFolder, I²-World, VAT.

For scales s = 1…S with grid sizes h_s (coarse → fine, the last one = the input grid):

    r ← z;  for s:  q_s = Q(down_{h_s}(r));  φ_s = up(q_s) + conv_s(up(q_s));  r ← r − φ_s;  ẑ ← ẑ + φ_s

down = area pooling, up = (bi)linear interpolation, conv_s a zero-initialised 3-tap/3×3 conv (φ_s starts
as the identity, VAR's "quant_resi"). Output `z + sg(ẑ − z)`. Tokens are the per-scale indices
flattened and concatenated coarse → fine: (B, Σ_s Π h_s). Loss: mean over scales of the VQ loss at
that scale plus `‖ẑ_s − sg(z)‖²` of the partial reconstruction (trains φ and the codes through it),
plus the commitment `β‖z − sg(ẑ)‖²` on the final reconstruction (trains the encoder).
Scale dropout (ImageFolder): while training, with probability p stop after a random scale ≥ `scale_dropout_start`.
Works on 1-D (B, N, dim) and 2-D (B, H, W, dim) grids, channel-last.
"""

from __future__ import annotations

import math
import random
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.io import configurable
from tokensmith.neural.quantizers.base import Quantizer, QuantizerOutput, straight_through
from tokensmith.neural.quantizers.vq import VectorQuantizer


def _resize(x: torch.Tensor, size: tuple, down: bool) -> torch.Tensor:
    """Channel-last (B, *grid, C) resize: area pooling down, (bi)linear up."""
    if tuple(x.shape[1:-1]) == tuple(size):
        return x
    cf = x.movedim(-1, 1)
    if down:
        out = F.adaptive_avg_pool1d(cf, size) if len(size) == 1 else F.adaptive_avg_pool2d(cf, size)
    else:
        mode = "linear" if len(size) == 1 else "bilinear"
        out = F.interpolate(cf, size=size, mode=mode, align_corners=False)
    return out.movedim(1, -1)


class _Phi(nn.Module):
    """φ_s = h + conv(h), conv zero-initialised."""

    def __init__(self, dim: int, ndim: int, kernel: int) -> None:
        super().__init__()
        conv = nn.Conv1d if ndim == 1 else nn.Conv2d
        self.conv = conv(dim, dim, kernel, padding=kernel // 2)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.conv(h.movedim(-1, 1)).movedim(1, -1)


@configurable
class MultiScaleResidualVQ(Quantizer):
    """`forward(x (B, *grid, dim)) -> (quantized, indices (B, Σ_s Π h_s), aux_loss)`.

    Args:
        dim: input features.
        scales: grid size per scale, coarse → fine; ints (same on every axis) or lists; last = input grid.
        codebook_size: codes (shared by all scales unless `shared_codebook=False`).
        ndim: 1 or 2 spatial axes.
        shared_codebook: one codebook for all scales (VAR) or one per scale.
        phi_kernel: kernel of the φ convs (1 or 3).
        scale_dropout: probability of truncating the scales while training.
        scale_dropout_start: the earliest number of scales kept when truncating.
        **vq_kwargs: passed to the `VectorQuantizer`(s) (codebook_dim, use_cosine, ema...).
    """

    def __init__(
        self,
        dim: int,
        scales: Sequence[Union[int, Sequence[int]]],
        codebook_size: int,
        *,
        ndim: int = 2,
        shared_codebook: bool = True,
        phi_kernel: int = 3,
        scale_dropout: float = 0.0,
        scale_dropout_start: int = 2,
        **vq_kwargs,
    ) -> None:
        super().__init__()
        if ndim not in (1, 2) or not scales:
            raise ConfigError(f"MultiScaleResidualVQ needs ndim 1 or 2 and at least one scale, got {ndim}, {scales}")
        self.dim, self.ndim = dim, ndim
        self.scales = [tuple([s] * ndim) if isinstance(s, int) else tuple(s) for s in scales]
        if any(len(s) != ndim for s in self.scales):
            raise ConfigError(f"every scale needs {ndim} sizes, got {scales}")
        self.scale_dropout, self.scale_dropout_start = scale_dropout, scale_dropout_start
        self.shared_codebook = shared_codebook
        n_books = 1 if shared_codebook else len(self.scales)
        self.quantizers = nn.ModuleList(VectorQuantizer(dim, codebook_size, **vq_kwargs) for _ in range(n_books))
        self.phis = nn.ModuleList(_Phi(dim, ndim, phi_kernel) for _ in self.scales)
        self._init_usage(codebook_size)
        self.tokens_per_scale = [math.prod(s) for s in self.scales]

    def _vq(self, s: int) -> VectorQuantizer:
        return self.quantizers[0 if self.shared_codebook else s]

    def _n_scales(self) -> int:
        n = len(self.scales)
        if self.training and self.scale_dropout > 0 and n > self.scale_dropout_start and random.random() < self.scale_dropout:
            return random.randint(self.scale_dropout_start, n - 1)
        return n

    def forward(self, x: torch.Tensor, *, n_scales: Optional[int] = None) -> QuantizerOutput:
        grid = tuple(x.shape[1:-1])
        if x.shape[-1] != self.dim or grid != self.scales[-1]:
            raise ConfigError(
                f"MultiScaleResidualVQ expects (B, {', '.join(map(str, self.scales[-1]))}, {self.dim}), got {tuple(x.shape)}"
            )
        n = n_scales or self._n_scales()
        residual = x
        recon = torch.zeros_like(x)
        aux = x.new_zeros((), dtype=torch.float32)
        indices = []
        for s, size in enumerate(self.scales):
            if s >= n:
                indices.append(torch.full((x.shape[0], self.tokens_per_scale[s]), -1, dtype=torch.long, device=x.device))
                continue
            vq = self._vq(s)
            _, idx, loss = vq(_resize(residual.detach(), size, down=True))
            code = vq.indices_to_codes(idx).to(x.dtype)  # differentiable w.r.t. the codebook
            phi = self.phis[s](_resize(code, grid, down=False))
            residual = residual - phi.detach()
            recon = recon + phi
            aux = aux + loss + F.mse_loss(recon.float(), x.detach().float())
            indices.append(idx.reshape(x.shape[0], -1))
        aux = aux / n
        out = straight_through(x, recon.detach())
        # the encoder gets the commitment term of every scale through the residual path
        indices = torch.cat(indices, 1)
        self.track_usage(indices)
        return QuantizerOutput(out, indices, aux + self._commitment(x, recon))

    def _commitment(self, x: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
        beta = self._vq(0).commitment_weight
        return beta * F.mse_loss(x.float(), recon.detach().float())

    def indices_to_codes(self, indices: torch.Tensor) -> torch.Tensor:
        """(B, Σ Π h_s) tokens (a prefix of scales is fine; −1 = dropped) -> (B, *grid, dim)."""
        grid = self.scales[-1]
        out, start = None, 0
        for s, size in enumerate(self.scales):
            if start >= indices.shape[1]:
                break
            idx = indices[:, start : start + self.tokens_per_scale[s]]
            start += self.tokens_per_scale[s]
            if (idx < 0).all():
                continue
            code = self._vq(s).indices_to_codes(idx.clamp_min(0).reshape(-1, *size))
            phi = self.phis[s](_resize(code, grid, down=False))
            out = phi if out is None else out + phi
        if out is None:
            raise ConfigError("no scale has valid indices")
        return out
