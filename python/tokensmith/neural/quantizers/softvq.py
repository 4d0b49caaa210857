"""Soft vector quantization — Chen et al. 2024, "SoftVQ-VAE: Efficient 1-Dimensional Continuous
Tokenizer" (§3.1; `modelling/quantizers/softvq.py` of Hhhhhhao/continuous_tokenizer).

`logits_k = ⟨ẑ, sg(ê_k)⟩` (ẑ, ê l2-normalised when `use_cosine`), `p = softmax(logits/τ)` (τ = 0.07) and
the token is the mixture `z_q = Σ_k p_k e_k`: fully differentiable (the codebook learns through the
mixture, the encoder through p), continuous output, and a discrete view `argmax p` logged as the index.
Tokens split into `num_codebooks` contiguous segments along the token axis (−2), each with its own
codebook. Loss: entropy loss `H̄(p_i) − H(mean p)` on logits/0.01, weight 0.01; no commitment term.
As τ → 0 the mixture tends to the hard code e_{argmax}.
"""

from __future__ import annotations

import math

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.io import configurable
from tokensmith.neural.quantizers.base import Quantizer, QuantizerOutput, check_last_dim, fp32_region, l2norm
from tokensmith.neural.quantizers.vq import entropy_loss


@configurable
class SoftVQ(Quantizer):
    """`forward(x (..., N, dim)) -> (z_q (..., N, dim), argmax indices (..., N), aux_loss)`.

    Args:
        dim: input features.
        codebook_size: codes per codebook K.
        codebook_dim: code dimension (Linear in/out when it differs from dim).
        num_codebooks: contiguous token segments, each with its own codebook (N must divide).
        temperature: τ of the soft assignment.
        use_cosine: l2-normalise tokens and codes before the similarity.
        entropy_weight: weight of the entropy loss (0.01 in SoftVQ-VAE).
        entropy_temperature: temperature of that loss (0.01).
    """

    def __init__(
        self,
        dim: int,
        codebook_size: int,
        *,
        codebook_dim: Optional[int] = None,
        num_codebooks: int = 1,
        temperature: float = 0.07,
        use_cosine: bool = True,
        entropy_weight: float = 0.01,
        entropy_temperature: float = 0.01,
    ) -> None:
        super().__init__()
        if temperature <= 0:
            raise ConfigError(f"SoftVQ temperature must be > 0, got {temperature}")
        self.dim = dim
        self.codebook_dim = codebook_dim or dim
        self.num_codebooks = num_codebooks
        self.temperature = temperature
        self.use_cosine = use_cosine
        self.entropy_weight = entropy_weight
        self.entropy_temperature = entropy_temperature
        self._init_usage(codebook_size * num_codebooks)
        self.codebook_size = codebook_size
        proj = self.codebook_dim != dim
        self.project_in = nn.Linear(dim, self.codebook_dim) if proj else nn.Identity()
        self.project_out = nn.Linear(self.codebook_dim, dim) if proj else nn.Identity()
        init = torch.empty(num_codebooks, codebook_size, self.codebook_dim).uniform_(-1 / codebook_size, 1 / codebook_size)
        self.codebook = nn.Parameter(l2norm(init) if use_cosine else init)

    def codes(self) -> torch.Tensor:
        c = self.codebook.float()
        return l2norm(c) if self.use_cosine else c

    def _segments(self, n: int) -> int:
        if n % self.num_codebooks:
            raise ConfigError(f"SoftVQ: {n} tokens cannot split into {self.num_codebooks} codebook segments")
        return n // self.num_codebooks

    def forward(self, x: torch.Tensor) -> QuantizerOutput:
        check_last_dim(x, self.dim, "SoftVQ")
        if self.num_codebooks > 1 and x.dim() < 2:
            raise ConfigError("SoftVQ with num_codebooks > 1 needs a token axis: (..., N, dim)")
        lead = x.shape[:-2] if self.num_codebooks > 1 else x.shape[:-1]
        z = self.project_in(x)
        with fp32_region(x.device):
            zf = z.float()
            zs = l2norm(zf) if self.use_cosine else zf
            g = self.num_codebooks
            seg = self._segments(x.shape[-2]) if g > 1 else None
            zs = zs.reshape(-1, g, seg, self.codebook_dim) if g > 1 else zs.reshape(-1, 1, 1, self.codebook_dim)
            codes = self.codes()  # (G, K, c)
            logits = torch.einsum("bgsc,gkc->bgsk", zs, codes.detach())
            p = F.softmax(logits / self.temperature, dim=-1)
            zq = torch.einsum("bgsk,gkc->bgsc", p, codes)
            idx = logits.argmax(-1)
            self.last_batch = {  # tensors, no device sync; the soft/hard gap of the mixture
                "mean_max_prob": p.detach().max(-1).values.mean(),
                "mean_cos_z_zq": F.cosine_similarity(zs.detach(), zq.detach(), dim=-1).mean(),
            }
            aux = zf.new_zeros(())
            if self.entropy_weight and self.training:
                aux = self.entropy_weight * entropy_loss(-logits.reshape(-1, self.codebook_size), self.entropy_temperature)
        zq = zq.reshape(zf.shape)
        idx = idx.reshape(*lead, -1) if g > 1 else idx.reshape(lead)
        self._track(idx)
        return QuantizerOutput(self.project_out(zq.to(x.dtype)), idx, aux)

    def _track(self, idx: torch.Tensor) -> None:
        if self.num_codebooks == 1:
            self.track_usage(idx)
        else:  # separate id ranges per codebook segment
            seg = idx.shape[-1] // self.num_codebooks
            offs = torch.arange(self.num_codebooks, device=idx.device).repeat_interleave(seg) * self.codebook_size
            self.track_usage(idx + offs)

    def indices_to_codes(self, indices: torch.Tensor) -> torch.Tensor:
        """Hard codes e_{argmax} (the τ → 0 limit of the forward output)."""
        codes = self.codes()
        if self.num_codebooks == 1:
            return self.project_out(codes[0][indices])
        seg = self._segments(indices.shape[-1])
        book = torch.arange(self.num_codebooks, device=indices.device).repeat_interleave(seg)
        return self.project_out(codes[book.expand_as(indices), indices])

    @property
    def bits_per_token(self) -> float:
        """log2 K of the discrete (argmax) view; the forward output itself is continuous."""
        return math.log2(self.codebook_size)

    def stats(self) -> dict:
        out = {**super().stats(), **{k: float(v) for k, v in getattr(self, "last_batch", {}).items()}}
        out["codebook_size"] = self.codebook_size * self.num_codebooks
        out["usage_fraction"] = out["codes_used"] / out["codebook_size"]
        return out
