"""TWM nearest-neighbour tokenizer — "Improving Transformer World Models for Data-Efficient RL"
(Dedieu et al. 2025; no official code, behaviour as in the re-implementations).

No training: a 63×63 frame is cut into 81 patches of 7×7; a patch whose squared L2 distance to
every code exceeds τ (0.75 for pixels in [0, 1]) becomes a new code (cap 4,096). Encode = nearest
code; decode = paste the code patches. Codes never move, so a world model's targets are stationary.
Wraps the `NearestNeighbourCodebook` block with the patch geometry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tokensmith.neural.quantizers.nnt import NearestNeighbourCodebook
from tokensmith.neural.recipes import _common as C

RECIPE = "twm"


@dataclass(frozen=True)
class TWMConfig:
    frame_size: int = 63
    """Frame side in pixels."""
    channels: int = 3
    """Frame channels."""
    patch_size: int = 7
    """Patch side (63/7 = 9 × 9 = 81 tokens per frame)."""
    threshold: float = 0.75
    """τ: squared L2 distance above which a patch becomes a new code."""
    max_codes: int = 4096
    """Codebook cap."""


class TWMTokenizer(torch.nn.Module):
    def __init__(self, cfg: TWMConfig = TWMConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.codebook = NearestNeighbourCodebook(cfg.channels * cfg.patch_size**2, threshold=cfg.threshold,
                                                 max_codes=cfg.max_codes)

    def patchify(self, frames: torch.Tensor) -> torch.Tensor:
        p, (b, c, h, w) = self.cfg.patch_size, frames.shape
        x = frames.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(b, (h // p) * (w // p), c * p * p)

    def unpatchify(self, patches: torch.Tensor) -> torch.Tensor:
        cfg, p = self.cfg, self.cfg.patch_size
        g = cfg.frame_size // p
        x = patches.reshape(-1, g, g, cfg.channels, p, p).permute(0, 3, 1, 4, 2, 5)
        return x.reshape(-1, cfg.channels, cfg.frame_size, cfg.frame_size)

    @torch.no_grad()
    def grow(self, frames: torch.Tensor) -> int:
        """Add the frames' novel patches to the codebook; returns how many codes were added."""
        return self.codebook.grow(self.patchify(torch.as_tensor(frames, dtype=torch.float32)))

    @torch.no_grad()
    def encode(self, frames) -> torch.Tensor:
        """(B, C, H, W) → (B, 81) code ids."""
        _, idx, _ = self.codebook(self.patchify(torch.as_tensor(frames, dtype=torch.float32)))
        return idx

    @torch.no_grad()
    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        return self.unpatchify(self.codebook.indices_to_codes(ids))

    @property
    def num_codes(self) -> int:
        return int(self.codebook.num_codes)


def train(cfg: TWMConfig, frames: np.ndarray, *, chunk: int = 50) -> tuple[TWMTokenizer, list[int]]:
    """'Training' = growing the codebook over the frame stream; returns the growth curve per chunk."""
    tok = TWMTokenizer(cfg)
    curve = []
    for i in range(0, len(frames), chunk):
        tok.grow(frames[i:i + chunk])
        curve.append(tok.num_codes)
    return tok, curve


def save(model: TWMTokenizer, directory) -> None:
    C.save_recipe(model, directory, model.cfg, recipe=RECIPE)


def load(directory, device: str | None = None) -> TWMTokenizer:
    return C.load_recipe(directory, TWMTokenizer, TWMConfig, recipe=RECIPE, device=device)
