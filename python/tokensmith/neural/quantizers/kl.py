"""KL-regularised continuous bottleneck — Kingma & Welling 2014, "Auto-Encoding Variational Bayes"
(eq. 10, reparameterisation; Gaussian KL of appendix B); the "VAE" mode of TiTok / TA-TiTok and the
KL-f autoencoders of Rombach et al. 2022 (weight ≈ 1e−6).

`(μ, log σ²) = W x` (log σ² clamped to [−30, 20]); training sample `z = μ + σ·ε`, eval `z = μ`;
`KL = ½ Σ (μ² + σ² − 1 − log σ²)` averaged over positions; output `W' z` back in `dim`.
Continuous: indices are None.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from tokensmith.neural.io import configurable
from tokensmith.neural.quantizers.base import Quantizer, QuantizerOutput, check_last_dim


@configurable
class KLBottleneck(Quantizer):
    """`forward(x (..., dim)) -> (decoded latent (..., dim), None, kl_weight·KL)`.

    `encode(x) -> (mean, logvar)`, `sample(mean, logvar)`, `decode(z)` expose the latent (..., latent_dim).

    Args:
        dim: input/output features.
        latent_dim: latent channels C (the encoder side emits 2C).
        kl_weight: weight of the KL term in aux_loss.
        sample_in_eval: draw z in eval mode too (default: use the mean).
    """

    def __init__(
        self, dim: int, latent_dim: Optional[int] = None, *, kl_weight: float = 1e-6, sample_in_eval: bool = False
    ) -> None:
        super().__init__()
        self.dim = dim
        self.latent_dim = latent_dim or dim
        self.kl_weight = kl_weight
        self.sample_in_eval = sample_in_eval
        self._init_usage(None)
        self.to_moments = nn.Linear(dim, 2 * self.latent_dim)
        self.from_latent = nn.Linear(self.latent_dim, dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.to_moments(x).float().chunk(2, dim=-1)
        return mean, logvar.clamp(-30.0, 20.0)

    def sample(self, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.from_latent(z)

    @staticmethod
    def kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """KL(N(μ, σ²) || N(0, 1)) summed over channels, averaged over positions."""
        return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1).mean()

    def forward(self, x: torch.Tensor) -> QuantizerOutput:
        check_last_dim(x, self.dim, "KLBottleneck")
        mean, logvar = self.encode(x)
        z = self.sample(mean, logvar) if (self.training or self.sample_in_eval) else mean
        return QuantizerOutput(self.decode(z.to(x.dtype)), None, self.kl_weight * self.kl(mean, logvar))
