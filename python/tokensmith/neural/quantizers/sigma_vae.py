"""σ-VAE bottleneck — Sun et al. 2024, "Multimodal Latent Language Modeling with Next-Token Diffusion"
(LatentLM, §2.3), as used by VibeVoice's acoustic tokenizer.

The encoder predicts only the mean μ; during training `z = μ + σ·ε` with σ drawn per example from
`N(0, (fix_std/0.8)²)` (fix_std = 0.5), so the latent keeps a fixed-scale variance instead of
collapsing; the KL reduces to a `‖μ‖²` penalty. Eval returns μ. Continuous: indices are None.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from tokensmith.neural.io import configurable
from tokensmith.neural.quantizers.base import Quantizer, QuantizerOutput, check_last_dim


@configurable
class SigmaVAEBottleneck(Quantizer):
    """`forward(x (B, ..., dim)) -> (decoded latent (B, ..., dim), None, kl_weight·mean(μ²))`.

    Args:
        dim: input/output features.
        latent_dim: latent channels (Linear in/out; None = dim with identity maps).
        fix_std: σ scale; per-example σ ~ N(0, (fix_std/0.8)²).
        kl_weight: weight of the ‖μ‖² penalty.
    """

    def __init__(
        self, dim: int, latent_dim: Optional[int] = None, *, fix_std: float = 0.5, kl_weight: float = 1e-4
    ) -> None:
        super().__init__()
        self.dim = dim
        self.latent_dim = latent_dim or dim
        self.fix_std = fix_std
        self.kl_weight = kl_weight
        self._init_usage(None)
        proj = self.latent_dim != dim
        self.to_mean = nn.Linear(dim, self.latent_dim) if proj else nn.Identity()
        self.from_latent = nn.Linear(self.latent_dim, dim) if proj else nn.Identity()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_mean(x)

    def sample(self, mean: torch.Tensor) -> torch.Tensor:
        shape = (mean.shape[0],) + (1,) * (mean.dim() - 1)
        sigma = torch.randn(shape, device=mean.device, dtype=mean.dtype) * (self.fix_std / 0.8)
        return mean + sigma * torch.randn_like(mean)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.from_latent(z)

    def forward(self, x: torch.Tensor) -> QuantizerOutput:
        check_last_dim(x, self.dim, "SigmaVAEBottleneck")
        mean = self.encode(x)
        z = self.sample(mean) if self.training else mean
        return QuantizerOutput(self.decode(z), None, self.kl_weight * mean.float().pow(2).mean())
