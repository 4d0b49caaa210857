"""The one call contract every quantizer and bottleneck follows (after lucidrains/vector-quantize-pytorch).

    quantized, indices, aux_loss = q(x)      # x: (..., dim), channel-last
    codes = q.indices_to_codes(indices)      # == quantized in the forward pass (eval mode)
    q.codes_used, q.perplexity, q.stats()    # usage since the last q.reset_usage()

* `quantized` has the shape of `x`; gradients pass straight through (`z + sg(e - z)`).
* `indices` is an int64 tensor of shape `x.shape[:-1]` (plus a trailing level axis for
  residual quantizers); continuous bottlenecks (KL, σ-VAE) return `None`.
* `aux_loss` is a scalar tensor (0 when the quantizer has none), already weighted.
* Usage statistics count every index seen in `forward` (train and eval) since `reset_usage()`;
  perplexity = exp(H(p)) of that histogram (van den Oord et al. 2017 diagnostics).

Distance and codebook math runs in fp32 with autocast disabled (`fp32_region`), as the
1d-tokenizer quantizer does: bf16 distances pick wrong codes.
"""

from __future__ import annotations

import contextlib
import math
from typing import NamedTuple, Optional

import torch
from torch import nn

from tokensmith.errors import ConfigError

_MAX_DENSE_HISTOGRAM = 1 << 22  # larger implicit codebooks count with torch.unique


class QuantizerOutput(NamedTuple):
    quantized: torch.Tensor
    indices: Optional[torch.Tensor]
    aux_loss: torch.Tensor


def fp32_region(device: torch.device):
    """Disable autocast for the enclosed math (distances, codebook updates)."""
    dev = torch.device(device).type
    try:
        return torch.autocast(device_type=dev, enabled=False)
    except RuntimeError:  # device type without autocast support
        return contextlib.nullcontext()


def straight_through(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Value of `q`, gradient of identity w.r.t. `x`: `x + sg(q - x)` (Bengio et al. 2013)."""
    return x + (q - x).detach()


def l2norm(x: torch.Tensor, dim: int = -1, eps: float = 1e-6) -> torch.Tensor:
    return x / x.norm(dim=dim, keepdim=True).clamp_min(eps)


class Quantizer(nn.Module):
    """Base class: usage tracking and the contract. Subclasses set `codebook_size` (None if continuous)."""

    codebook_size: Optional[int] = None

    def __init__(self) -> None:
        super().__init__()
        self._sparse_usage: dict[int, int] = {}

    # --- contract -------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> QuantizerOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    def indices_to_codes(self, indices: torch.Tensor) -> torch.Tensor:
        raise ConfigError(f"{type(self).__name__} is continuous and has no indices; use its forward output")

    # --- usage statistics -----------------------------------------------------------------
    def _init_usage(self, codebook_size: Optional[int]) -> None:
        self.codebook_size = codebook_size
        dense = codebook_size is not None and codebook_size <= _MAX_DENSE_HISTOGRAM
        self.register_buffer(
            "usage_counts", torch.zeros(codebook_size if dense else 0, dtype=torch.long), persistent=False
        )

    @torch.no_grad()
    def track_usage(self, indices: Optional[torch.Tensor]) -> None:
        """Add `indices` (any shape, values in [0, codebook_size), negatives ignored) to the histogram."""
        if indices is None or self.codebook_size is None:
            return
        flat = indices.reshape(-1)
        flat = flat[flat >= 0]
        if self.usage_counts.numel():
            n = self.usage_counts.numel()
            self.usage_counts += torch.bincount(flat.clamp_max(n - 1), minlength=n)
        else:
            values, counts = torch.unique(flat, return_counts=True)
            for v, c in zip(values.tolist(), counts.tolist()):
                self._sparse_usage[v] = self._sparse_usage.get(v, 0) + c

    def reset_usage(self) -> None:
        """Forget usage statistics of this quantizer and every quantizer inside it."""
        for m in self.modules():
            if isinstance(m, Quantizer):
                if hasattr(m, "usage_counts"):
                    m.usage_counts.zero_()
                m._sparse_usage.clear()

    def _histogram(self) -> torch.Tensor:
        if hasattr(self, "usage_counts") and self.usage_counts.numel():
            return self.usage_counts.detach().cpu().double()  # (float64 is unavailable on some devices)
        return torch.tensor(list(self._sparse_usage.values()), dtype=torch.float64)

    @property
    def codes_used(self) -> int:
        """Number of distinct codes seen since the last `reset_usage()`."""
        return int((self._histogram() > 0).sum())

    @property
    def perplexity(self) -> float:
        """exp(entropy) of the code histogram since the last reset; 0 when nothing was seen."""
        h = self._histogram()
        total = h.sum()
        if total <= 0:
            return 0.0
        p = h[h > 0] / total
        return float(torch.exp(-(p * p.log()).sum()))

    @property
    def bits_per_token(self) -> Optional[float]:
        """log2 of the number of distinct ids one position can take (None for continuous bottlenecks)."""
        return math.log2(self.codebook_size) if self.codebook_size else None

    def stats(self) -> dict:
        size = self.codebook_size
        used = self.codes_used
        return {
            "codebook_size": size,
            "codes_used": used,
            "usage_fraction": used / size if size else 0.0,
            "perplexity": self.perplexity,
        }

    def extra_repr(self) -> str:
        return f"codebook_size={self.codebook_size}"


def check_last_dim(x: torch.Tensor, dim: int, who: str) -> None:
    if x.shape[-1] != dim:
        raise ConfigError(f"{who} expects channel-last input with {dim} features, got shape {tuple(x.shape)}")


def log2_int(n: int) -> int:
    b = int(round(math.log2(n)))
    if 2**b != n:
        raise ConfigError(f"codebook_size must be a power of two for binary codes, got {n}")
    return b
