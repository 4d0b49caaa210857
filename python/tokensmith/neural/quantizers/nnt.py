"""Nearest-neighbour codebook — Dedieu et al. 2025, "Improving Transformer World Models for
Data-Efficient RL" (TWM, §3.3 "nearest-neighbour tokenizer").

No training: while growing, a vector becomes a new code iff its squared L2 distance to every existing
code exceeds τ (0.75 for 7×7×3 patches in [0, 1]), up to `max_codes` (4096). Encoding is the nearest
code; codes never change afterwards, so downstream targets stay stationary. Patches are processed in
order, so a patch can match a code added by an earlier patch of the same batch.
`patchify` / `unpatchify` cut a (B, H, W, C) frame into (B, n, p·p·C) patches and back.
"""

from __future__ import annotations

import torch

from tokensmith.errors import ConfigError
from tokensmith.neural.io import configurable
from tokensmith.neural.quantizers.base import Quantizer, QuantizerOutput, check_last_dim, fp32_region
from tokensmith.neural.quantizers.kmeans import pairwise_sq_dist


def patchify(frames: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, H, W, C) -> (B, (H/p)·(W/p), p·p·C), row-major patches."""
    b, h, w, c = frames.shape
    if h % patch or w % patch:
        raise ConfigError(f"frame {h}x{w} is not divisible into {patch}x{patch} patches")
    x = frames.reshape(b, h // patch, patch, w // patch, patch, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, (h // patch) * (w // patch), patch * patch * c)


def unpatchify(patches: torch.Tensor, height: int, width: int, patch: int) -> torch.Tensor:
    """Inverse of `patchify`."""
    b, _, d = patches.shape
    c = d // (patch * patch)
    x = patches.reshape(b, height // patch, width // patch, patch, patch, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, height, width, c)


@configurable
class NearestNeighbourCodebook(Quantizer):
    """`forward(x (..., dim)) -> (nearest codes, indices, 0)`; grows while `self.growing` and training.

    Call `freeze()` to stop growth for good (or `grow(x)` to add codes explicitly).

    Args:
        dim: vector size (p·p·C for patches).
        threshold: τ on the squared L2 distance.
        max_codes: capacity; once full, vectors map to their nearest code.
    """

    def __init__(self, dim: int, *, threshold: float = 0.75, max_codes: int = 4096) -> None:
        super().__init__()
        self.dim, self.threshold, self.max_codes = dim, threshold, max_codes
        self._init_usage(max_codes)
        self.register_buffer("codebook", torch.zeros(max_codes, dim))
        self.register_buffer("num_codes", torch.tensor(0, dtype=torch.long))
        self.register_buffer("frozen", torch.tensor(False))

    @property
    def growing(self) -> bool:
        return not bool(self.frozen)

    def freeze(self) -> None:
        self.frozen.fill_(True)

    def codes(self) -> torch.Tensor:
        return self.codebook[: int(self.num_codes)]

    @torch.no_grad()
    def grow(self, x: torch.Tensor) -> int:
        """Append every vector of `x` whose squared distance to all codes exceeds τ. Returns how many."""
        flat = x.detach().float().reshape(-1, self.dim)
        n0 = int(self.num_codes)
        n = n0
        if n > 0:  # vectorised pre-filter against the existing codes
            flat = flat[pairwise_sq_dist(flat, self.codebook[:n].float()).min(-1).values > self.threshold]
        for v in flat:
            if n >= self.max_codes:
                break
            if n > n0 and not ((self.codebook[n0:n] - v).pow(2).sum(-1) > self.threshold).all():
                continue
            self.codebook[n] = v
            n += 1
        self.num_codes.fill_(n)
        return n - n0

    def forward(self, x: torch.Tensor) -> QuantizerOutput:
        check_last_dim(x, self.dim, "NearestNeighbourCodebook")
        if self.training and self.growing:
            self.grow(x)
        if int(self.num_codes) == 0:
            raise ConfigError("NearestNeighbourCodebook is empty; call it in training mode (or grow()) first")
        with fp32_region(x.device):
            flat = x.float().reshape(-1, self.dim)
            idx = pairwise_sq_dist(flat, self.codes().float()).argmin(-1).reshape(x.shape[:-1])
            q = self.codebook[idx].to(x.dtype)
        self.track_usage(idx)
        return QuantizerOutput(x + (q - x).detach(), idx, x.new_zeros((), dtype=torch.float32))

    def indices_to_codes(self, indices: torch.Tensor) -> torch.Tensor:
        return self.codebook[indices]
