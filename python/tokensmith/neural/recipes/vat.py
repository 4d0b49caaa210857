"""VAT — "3D Representation in 512-Byte: Variational Tokenizer is the Key for Autoregressive 3D
Generation" (Zhang et al. 2024; project page only, no code — built from the paper's description).

Mechanism: an in-context transformer compresses an unordered set of 3-D features (here surface
points with Fourier features) into a few latent query tokens; the latents are mapped to a Gaussian
(variational: μ, log σ², KL) and then quantized by **multi-scale residual quantization** with growing
token counts (VAR-style scales 1, 2, 4, 8 along the token axis = 15 codes, `N.MultiScaleResidualVQ`),
so a prefix of scales is a coarser valid code and bytes = Σ tokens · log2|C| / 8.
Scale-down: the triplane/occupancy decoder is replaced by a mask-token decoder that emits a fixed set
of points, trained with the Chamfer distance. `quantizer="vq"` gives the single-scale ablation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import nn

import tokensmith.neural as N
from tokensmith.errors import ConfigError
from tokensmith.neural import losses as L
from tokensmith.neural.recipes import _common as C

RECIPE = "vat"


@dataclass(frozen=True)
class VATConfig:
    points: int = 256
    """Points per cloud (input and output)."""
    width: int = 64
    """Transformer width."""
    depth: int = 2
    """Encoder and decoder depth."""
    scales: tuple = (1, 2, 4, 8)
    """Token counts per scale, coarse → fine (last = number of latent queries)."""
    quantizer: str = "msrvq"
    """msrvq (VAT) | vq (single scale over the last scale's tokens)."""
    codebook_size: int = 256
    """Codes (shared by all scales)."""
    token_dim: int = 16
    """Channels of a latent token (the Gaussian and the codes live here)."""
    kl_weight: float = 1e-4
    """Weight of the Gaussian KL term."""
    fourier: int = 6
    """Fourier frequencies per axis for the point embedding."""

    def __post_init__(self):
        if self.quantizer not in ("msrvq", "vq"):
            raise ConfigError(f"quantizer must be 'msrvq' or 'vq', got {self.quantizer!r}")

    @property
    def n_latents(self) -> int:
        return self.scales[-1]

    def tokens(self, n_scales: Optional[int] = None) -> int:
        if self.quantizer == "vq":
            return self.n_latents
        return sum(self.scales[: n_scales or len(self.scales)])

    def bytes(self, n_scales: Optional[int] = None) -> float:
        return self.tokens(n_scales) * math.log2(self.codebook_size) / 8


class VAT(nn.Module):
    """`encode(points (B, P, 3)) -> (codes (B, K, token_dim), ids)`; `decode(codes) -> points (B, P, 3)`."""

    def __init__(self, cfg: VATConfig = VATConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.register_buffer("freqs", 2.0 ** torch.arange(cfg.fourier) * math.pi, persistent=False)
        self.embed = nn.Linear(3 + 6 * cfg.fourier, cfg.width)
        self.encoder = N.LatentQueryEncoder(cfg.width, cfg.n_latents, cfg.depth, out_dim=cfg.width)
        self.gauss = N.KLBottleneck(cfg.width, cfg.token_dim, kl_weight=cfg.kl_weight)
        if cfg.quantizer == "msrvq":
            self.quant = N.MultiScaleResidualVQ(cfg.token_dim, list(cfg.scales), cfg.codebook_size, ndim=1,
                                                phi_kernel=1, scale_dropout=0.3, scale_dropout_start=1,
                                                kmeans_init=True)
        else:
            self.quant = N.VectorQuantizer(cfg.token_dim, cfg.codebook_size, kmeans_init=True)
        self.decoder = N.MaskTokenDecoder(cfg.token_dim, cfg.width, cfg.n_latents, cfg.points, 3, cfg.depth)

    def _features(self, pts: torch.Tensor) -> torch.Tensor:
        ang = pts.unsqueeze(-1) * self.freqs  # (B, P, 3, F)
        return self.embed(torch.cat([pts, ang.sin().flatten(2), ang.cos().flatten(2)], -1))

    def latents(self, pts: torch.Tensor):
        """Gaussian latents: (sample in training / mean in eval, KL)."""
        mean, logvar = self.gauss.encode(self.encoder(self._features(pts)))
        z = self.gauss.sample(mean, logvar) if self.training else mean
        return z, self.cfg.kl_weight * self.gauss.kl(mean, logvar)

    def encode(self, pts: torch.Tensor, n_scales: Optional[int] = None):
        z, _ = self.latents(pts)
        zq, ids, _ = self._quantize(z, n_scales)
        return zq, ids

    def _quantize(self, z, n_scales=None):
        if self.cfg.quantizer == "msrvq":
            return self.quant(z, n_scales=n_scales)
        return self.quant(z)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return self.decoder(codes)

    def forward(self, pts: torch.Tensor, n_scales: Optional[int] = None):
        z, kl = self.latents(pts)
        zq, ids, aux = self._quantize(z, n_scales)
        return self.decode(zq), ids, aux + kl


def train(cfg: VATConfig, clouds: np.ndarray, *, steps: int = 400, batch_size: int = 32, lr: float = 1e-3,
          device: str = "cpu", seed: int = 0, amp: bool = False, log_every: int = 0):
    """Train on point clouds (N, P, 3) with the Chamfer distance + KL + VQ losses. Returns (model, info)."""
    gen = C.seed_everything(seed)
    dev = C.resolve_device(device)
    model = VAT(cfg).to(dev)
    x = torch.as_tensor(clouds, dtype=torch.float32, device=dev)

    def step(idx, g):
        xb = x[idx.to(dev)]
        with C.autocast(dev, amp):
            rec, _, aux = model(xb)
        return L.chamfer_distance(rec.float(), xb).mean() + aux  # cdist in fp32

    info = C.fit(model, step, len(x), steps=steps, batch_size=batch_size, lr=lr, gen=gen, log_every=log_every)
    return model, info


@torch.no_grad()
def evaluate(model: VAT, clouds: np.ndarray, *, thresholds=(0.05, 0.1)) -> dict:
    """Chamfer distance and F-score@τ per number of scales kept (msrvq) or at full length (vq)."""
    dev = next(model.parameters()).device
    x = torch.as_tensor(clouds, dtype=torch.float32, device=dev)
    cfg = model.cfg
    levels = range(1, len(cfg.scales) + 1) if cfg.quantizer == "msrvq" else [len(cfg.scales)]
    out = {"chamfer": {}, "bytes": {}, **{f"fscore@{t}": {} for t in thresholds}}
    for s in levels:
        rec = model(x, n_scales=s)[0] if cfg.quantizer == "msrvq" else model(x)[0]
        key = str(cfg.tokens(s))
        out["chamfer"][key] = float(L.chamfer_distance(rec, x).mean())
        out["bytes"][key] = cfg.bytes(s)
        for t in thresholds:
            out[f"fscore@{t}"][key] = float(L.fscore(rec, x, t).mean())
    return out


def subsample_baseline(clouds: np.ndarray, n_bytes: float, *, thresholds=(0.05, 0.1), seed: int = 0) -> dict:
    """Equal-bytes baseline: keep ⌊bytes/3⌋ farthest-point-sampled input points with 8-bit coordinates."""
    k = int(n_bytes // 3)
    x = torch.as_tensor(clouds, dtype=torch.float32)
    if k < 1:
        return {"points": 0, "chamfer": float("nan"), **{f"fscore@{t}": 0.0 for t in thresholds}}
    g = torch.Generator().manual_seed(seed)
    idx = [torch.randint(0, x.shape[1], (x.shape[0],), generator=g)]
    d = torch.full(x.shape[:2], float("inf"))
    for _ in range(k - 1):
        last = x[torch.arange(len(x)), idx[-1]]
        d = torch.minimum(d, (x - last[:, None]).pow(2).sum(-1))
        idx.append(d.argmax(1))
    sub = torch.stack([x[torch.arange(len(x)), i] for i in idx], 1)
    sub = torch.round((sub.clamp(-1, 1) + 1) * 127.5) / 127.5 - 1  # 8-bit coordinates
    return {"points": k, "chamfer": float(L.chamfer_distance(sub, x).mean()),
            **{f"fscore@{t}": float(L.fscore(sub, x, t).mean()) for t in thresholds}}


def save(model: VAT, directory) -> None:
    C.save_recipe(model, directory, model.cfg, recipe=RECIPE)


def load(directory, device: str | None = None) -> VAT:
    return C.load_recipe(directory, VAT, VATConfig, recipe=RECIPE, device=device)
