"""ALTo — "Adaptive-Length Tokenizer for Autoregressive Mask Generation" (Wang et al. 2025,
yayafengzi/ALToLLM), the tokenizer half, CPU size.

A TiTok-style mask tokenizer (patch tokens + CLS + K latent queries → VQ) with the **adaptive
length predictor**: attention of the CLS feature over the latents gives an expected length ℓ; the
hard length ⌈ℓK⌉ becomes a straight-through keep-mask that zeroes the later quantized latents
(`AdaptiveLengthPredictor`). The length loss (weight `length_weight`) trades IoU for fewer tokens;
training starts with random-length tail drop (`warmup_fraction`), as in the paper. The MLLM and its
GRPO stage are out of scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.length.alto import AdaptiveLengthPredictor
from tokensmith.neural.recipes import _common as C

RECIPE = "alto"


@dataclass(frozen=True)
class ALToConfig:
    mask_size: int = 32
    """Binary mask side."""
    patch_size: int = 8
    """Patch side (16 patches for 32×32)."""
    width: int = 64
    """Transformer width."""
    depth: int = 2
    """Encoder and decoder layers."""
    heads: int = 4
    """Attention heads."""
    max_tokens: int = 16
    """K, the most tokens a mask may use."""
    codebook_size: int = 256
    """VQ codes (the paper: 1024 × 12-d, l2)."""
    token_dim: int = 8
    """Code dimension (l2-normalised)."""
    length_weight: float = 0.1
    """Weight of the length loss (mean expected normalised length)."""


class ALTo(nn.Module):
    def __init__(self, cfg: ALToConfig = ALToConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w, p = cfg.width, cfg.patch_size
        self.n_patches = (cfg.mask_size // p) ** 2
        self.patch_embed = nn.Linear(p * p, w)
        self.pos = nn.Parameter(torch.randn(self.n_patches + 1 + cfg.max_tokens, w) * 0.02)
        self.cls = nn.Parameter(torch.zeros(w))
        self.latents = nn.Parameter(torch.randn(cfg.max_tokens, w) * 0.02)
        self.encoder = C.Transformer(w, cfg.depth, cfg.heads)
        self.quant = C.make_quantizer("vq", w, codebook_size=cfg.codebook_size, token_dim=cfg.token_dim)
        self.length = AdaptiveLengthPredictor(w, cfg.max_tokens)
        self.mask_token = nn.Parameter(torch.zeros(w))
        self.dec_pos = nn.Parameter(torch.randn(self.n_patches + cfg.max_tokens, w) * 0.02)
        self.decoder = C.Transformer(w, cfg.depth, cfg.heads)
        self.head = nn.Linear(w, p * p)

    def _patches(self, m: torch.Tensor) -> torch.Tensor:
        p, b = self.cfg.patch_size, m.shape[0]
        g = self.cfg.mask_size // p
        return m.reshape(b, g, p, g, p).permute(0, 1, 3, 2, 4).reshape(b, g * g, p * p)

    def _unpatch(self, t: torch.Tensor) -> torch.Tensor:
        p, b = self.cfg.patch_size, t.shape[0]
        g = self.cfg.mask_size // p
        return t.reshape(b, g, g, p, p).permute(0, 1, 3, 2, 4).reshape(b, 1, g * p, g * p)

    def encode(self, masks: torch.Tensor, k=None):
        """masks (B, 1, S, S) → (quantized latents × keep-mask, ids, LengthPrediction, aux)."""
        b = masks.shape[0]
        h = torch.cat([self.patch_embed(self._patches(masks)), self.cls.expand(b, 1, -1),
                       self.latents.expand(b, -1, -1)], 1) + self.pos
        h = self.encoder(h)
        cls, lat = h[:, self.n_patches], h[:, self.n_patches + 1:]
        zq, idx, aux = self.quant(lat)
        pred = self.length(cls, lat)
        if k is not None:  # random-length warm-up: a fixed prefix instead of the predicted one
            keep = (torch.arange(self.cfg.max_tokens, device=masks.device)[None] < k).float().expand(b, -1)
        else:
            keep = pred.keep_mask
        return zq * keep[..., None].to(zq.dtype), idx, pred, aux

    def decode(self, zq: torch.Tensor) -> torch.Tensor:
        """→ mask logits (B, 1, S, S)."""
        b = zq.shape[0]
        h = torch.cat([self.mask_token.expand(b, self.n_patches, -1), zq], 1) + self.dec_pos
        return self._unpatch(self.head(self.decoder(h)[:, : self.n_patches]))

    def forward(self, masks, k=None):
        zq, idx, pred, aux = self.encode(masks, k)
        return self.decode(zq), pred, aux


def train(cfg: ALToConfig, masks: np.ndarray, tc: C.TrainConfig = C.TrainConfig(), *, warmup_fraction: float = 0.5,
          fixed_length: Optional[int] = None):
    """Stage 1 (first `warmup_fraction` of the steps): random prefix length, no length loss;
    stage 2: predicted length with the length loss.

    `fixed_length=L` trains the fixed-length baseline instead: the first L latents are kept at every
    step, no length predictor, no length loss (same model, same steps)."""
    if fixed_length is not None and not 1 <= fixed_length <= cfg.max_tokens:
        raise ConfigError(f"fixed_length must be in 1..{cfg.max_tokens}, got {fixed_length}")
    C.seed_everything(tc.seed)  # weights from the seed, not from torch's global RNG state
    model = ALTo(cfg)
    state = {"step": 0}
    warm = int(warmup_fraction * tc.steps)

    def loss_fn(m, x):
        state["step"] += 1
        if fixed_length is not None:
            logits, pred, aux = m(x, fixed_length)
            return F.binary_cross_entropy_with_logits(logits.float(), x) + aux
        if state["step"] <= warm:
            k = int(torch.randint(1, cfg.max_tokens + 1, ()))
            logits, pred, aux = m(x, k)
            return F.binary_cross_entropy_with_logits(logits.float(), x) + aux
        logits, pred, aux = m(x)
        return F.binary_cross_entropy_with_logits(logits.float(), x) + aux + cfg.length_weight * pred.length_loss

    return model, C.train_model(model, (masks,), loss_fn, tc)


@torch.no_grad()
def evaluate(model: ALTo, masks: np.ndarray, k: Optional[int] = None) -> dict:
    """IoU of the thresholded reconstruction and the token count used per mask (the predicted length,
    or `k` for every mask when given)."""
    x = torch.as_tensor(masks, device=model.pos.device)
    logits, pred, _ = model(x, k)
    p, t = logits > 0, x > 0.5
    iou = ((p & t).flatten(1).sum(1).float() / (p | t).flatten(1).sum(1).clamp_min(1).float())
    lengths = pred.lengths if k is None else torch.full_like(pred.lengths, k)
    return {"iou": iou.cpu().numpy(), "lengths": lengths.cpu().numpy()}


@torch.no_grad()
def evaluate_logits(model: ALTo, masks: np.ndarray, k: Optional[int] = None) -> np.ndarray:
    """Reconstruction logits (B, 1, S, S) at the predicted length (or `k` tokens)."""
    logits, _, _ = model(torch.as_tensor(masks, device=model.pos.device), k)
    return logits.cpu().numpy()


save, load = C.recipe_io(RECIPE, ALTo, ALToConfig)
