"""TiTok — "An Image is Worth 32 Tokens for Reconstruction and Generation" (Yu et al. 2024,
bytedance/1d-tokenizer), and the 1-D tokenizer family built on it.

A ViT encoder reads patch tokens plus K learnable latent queries; only the K latent outputs are
quantized, so the token count is decoupled from the image grid. The decoder is a ViT over N_p mask
tokens plus the (projected) quantized latents; the mask positions are read out as pixels.

The same module serves as
  * the 2-D grid baseline (`layout="grid"`: the patch tokens themselves are quantized, as in a
    VQGAN/ViT-VQGAN), for the 1-D vs 2-D comparison at equal bits;
  * One-D-Piece (`length_mode="tail_drop"`: one prefix length k per batch, the decoder sees only
    the first k latents — see `recipes/one_d_piece.py`);
  * FlexTok's ordering (`length_mode="nested"`, per-sample k, tokens after k replaced by a learned
    mask token; `causal_tokens=True` makes latent i attend only latents ≤ i — `recipes/flextok.py`);
  * SoftVQ-VAE's bottleneck (`quantizer="softvq"` — `recipes/softvq.py`).

CPU scale: 8×8 digits, 2×2 patches, width 64, 2+2 layers. Pixel MSE only (no perceptual/GAN
losses, no proxy codes: those need pretrained networks we cannot download).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.recipes import _common as C

RECIPE = "titok"


@dataclass(frozen=True)
class TiTokConfig:
    image_size: int = 8
    """Side of the (square) input images in pixels."""
    channels: int = 1
    """Image channels."""
    patch_size: int = 2
    """Patch side; N_p = (image_size / patch_size)² patch tokens."""
    width: int = 64
    """Transformer width."""
    enc_depth: int = 2
    """Encoder layers."""
    dec_depth: int = 2
    """Decoder layers."""
    heads: int = 4
    """Attention heads."""
    num_tokens: int = 8
    """K, the number of 1-D latent tokens (ignored for layout='grid', where K = N_p)."""
    layout: str = "1d"
    """'1d' latent queries (TiTok) or 'grid' (quantize the patch tokens: the 2-D baseline)."""
    quantizer: str = "vq"
    """vq | fsq | softvq | bsq | none."""
    codebook_size: int = 256
    """Codes per token for vq / softvq / bsq."""
    token_dim: int = 8
    """Code-space dimension for vq / softvq (l2-normalised when use_cosine)."""
    fsq_levels: tuple = (8, 5, 5, 5)
    """FSQ levels (implicit codebook = product)."""
    use_cosine: bool = True
    """l2-normalise tokens and codes before the lookup."""
    temperature: float = 0.07
    """SoftVQ softmax temperature τ."""
    length_mode: str = "none"
    """none | tail_drop (One-D-Piece: one k per batch, decoder sees k tokens) | nested (FlexTok)."""
    length_sampling: str = "uniform"
    """How k is drawn in training: uniform over 1..K, or pow2 (1, 2, 4, ..., K)."""
    causal_tokens: bool = False
    """Latent token i attends only to patches and latents ≤ i (FlexTok's causal registers)."""
    dead_code: float = 0.0
    """VQ only: restart codes whose EMA usage count falls below this (0 = off)."""

    def __post_init__(self):
        if self.image_size % self.patch_size:
            raise ConfigError(f"image_size {self.image_size} must be a multiple of patch_size {self.patch_size}")
        if self.layout not in ("1d", "grid"):
            raise ConfigError(f"layout must be '1d' or 'grid', got {self.layout!r}")
        if self.length_mode not in ("none", "tail_drop", "nested"):
            raise ConfigError(f"length_mode must be none, tail_drop or nested, got {self.length_mode!r}")
        if self.length_sampling not in ("uniform", "pow2"):
            raise ConfigError(f"length_sampling must be uniform or pow2, got {self.length_sampling!r}")

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @property
    def tokens(self) -> int:
        return self.num_tokens if self.layout == "1d" else self.num_patches

    @property
    def bits_per_token(self) -> float:
        return C.bits_per_token(self.quantizer, self.codebook_size, self.fsq_levels)


class TiTok(nn.Module):
    def __init__(self, cfg: TiTokConfig = TiTokConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w, p, np_ = cfg.width, cfg.patch_size, cfg.num_patches
        self.patch_embed = nn.Linear(cfg.channels * p * p, w)
        self.patch_pos = nn.Parameter(torch.randn(np_, w) * 0.02)
        if cfg.layout == "1d":
            self.latents = nn.Parameter(torch.randn(cfg.num_tokens, w) * 0.02)
            self.latent_pos = nn.Parameter(torch.randn(cfg.num_tokens, w) * 0.02)
            self.mask_token = nn.Parameter(torch.randn(w) * 0.02)
        self.encoder = C.Transformer(w, cfg.enc_depth, cfg.heads)
        self.quant = C.make_quantizer(cfg.quantizer, w, codebook_size=cfg.codebook_size, token_dim=cfg.token_dim,
                                      fsq_levels=cfg.fsq_levels, use_cosine=cfg.use_cosine,
                                      temperature=cfg.temperature, dead_code=cfg.dead_code)
        self.dec_in = nn.Linear(w, w)
        self.dec_pos = nn.Parameter(torch.randn(cfg.tokens, w) * 0.02)
        self.dec_patch_pos = nn.Parameter(torch.randn(np_, w) * 0.02)
        self.drop_token = nn.Parameter(torch.zeros(w))  # FlexTok's learned replacement for dropped tokens
        self.decoder = C.Transformer(w, cfg.dec_depth, cfg.heads)
        self.pixel_head = nn.Linear(w, cfg.channels * p * p)

    # --- patches <-> images ------------------------------------------------------------------
    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        p = self.cfg.patch_size
        b, c, h, w = x.shape
        x = x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(b, (h // p) * (w // p), c * p * p)

    def unpatchify(self, t: torch.Tensor) -> torch.Tensor:
        cfg, p = self.cfg, self.cfg.patch_size
        g = cfg.image_size // p
        b = t.shape[0]
        t = t.reshape(b, g, g, cfg.channels, p, p).permute(0, 3, 1, 4, 2, 5)
        return t.reshape(b, cfg.channels, cfg.image_size, cfg.image_size)

    def _encoder_mask(self, device) -> Optional[torch.Tensor]:
        if not (self.cfg.causal_tokens and self.cfg.layout == "1d"):
            return None
        n, k = self.cfg.num_patches, self.cfg.num_tokens
        m = torch.zeros(n + k, n + k, dtype=torch.bool, device=device)  # True = blocked
        m[:n, n:] = True  # patches never read the registers (else a prefix could see later tokens)
        m[n:, n:] = torch.triu(torch.ones(k, k, dtype=torch.bool, device=device), 1)
        return m

    # --- tokenizer API ------------------------------------------------------------------------
    def encode_continuous(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-quantization token vectors (B, K, width)."""
        h = self.patch_embed(self.patchify(x)) + self.patch_pos
        if self.cfg.layout == "grid":
            return self.encoder(h)
        lat = (self.latents + self.latent_pos).expand(x.shape[0], -1, -1)
        out = self.encoder(torch.cat([h, lat], 1), mask=self._encoder_mask(x.device))
        return out[:, self.cfg.num_patches:]

    def quantize(self, z: torch.Tensor):
        return C.quantize(self.quant, z)

    def encode(self, x: torch.Tensor):
        """Images → (quantized tokens (B, K, width), indices (B, K) or None)."""
        zq, idx, _ = self.quantize(self.encode_continuous(x))
        return zq, idx

    def decode(self, zq: torch.Tensor, k: Optional[torch.Tensor | int] = None) -> torch.Tensor:
        """Tokens → images. `k` keeps a prefix: an int (all samples) or a (B,) tensor (nested mode)."""
        cfg = self.cfg
        b, kk = zq.shape[0], zq.shape[1]
        t = self.dec_in(zq) + self.dec_pos[:kk]
        if k is not None and cfg.layout == "1d":
            if cfg.length_mode == "nested":  # fixed length, dropped tokens → learned mask vector
                kb = torch.as_tensor(k, device=zq.device).expand(b) if not torch.is_tensor(k) or k.dim() == 0 else k
                keep = torch.arange(kk, device=zq.device)[None] < kb[:, None]
                t = torch.where(keep[..., None], t, (self.drop_token + self.dec_pos[:kk])[None].expand(b, -1, -1))
            else:  # tail drop (One-D-Piece) and plain truncation: the decoder simply sees fewer tokens
                t = t[:, : int(k)]
        if cfg.layout == "grid":
            h = self.decoder(t)
        else:
            m = (self.mask_token + self.dec_patch_pos).expand(b, -1, -1)
            h = self.decoder(torch.cat([m, t], 1))[:, : cfg.num_patches]
        return self.unpatchify(self.pixel_head(h))

    def indices_to_tokens(self, indices: torch.Tensor) -> torch.Tensor:
        return self.quant.indices_to_codes(indices)

    def sample_k(self, batch: int, gen: torch.Generator, device) -> Optional[torch.Tensor | int]:
        cfg, kmax = self.cfg, self.cfg.tokens
        if cfg.length_mode == "none" or cfg.layout == "grid":
            return None
        if cfg.length_sampling == "pow2":
            choices = torch.tensor([2**i for i in range(int(math.log2(kmax)) + 1)] + ([kmax] if kmax & (kmax - 1) else []))
        else:
            choices = torch.arange(1, kmax + 1)
        n = batch if cfg.length_mode == "nested" else 1
        pick = choices[torch.randint(0, len(choices), (n,), generator=gen)]
        return pick.to(device) if cfg.length_mode == "nested" else int(pick[0])

    def forward(self, x: torch.Tensor, k=None):
        zq, idx, aux = self.quantize(self.encode_continuous(x))
        return self.decode(zq, k), idx, aux


# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1500
    """Optimiser steps."""
    batch_size: int = 64
    """Images per step."""
    lr: float = 2e-3
    """Peak AdamW learning rate (cosine to 10%)."""
    seed: int = 0
    """Seed for init, batching and length sampling."""
    device: str = "cpu"
    """cpu | cuda | auto."""
    amp: bool = False
    """bf16 autocast on CUDA (quantizer distances stay fp32)."""
    quant_warmup: int = 0
    """Steps trained as a plain (unquantized) autoencoder before the quantizer is switched on, so that
    its k-means init sees informative tokens (without it, 1-D latent queries start out nearly
    identical across images and the VQ codebook collapses to one code). 0 = off."""
    warmup: int = 50
    """Linear learning-rate warm-up steps."""


def train(cfg: TiTokConfig, images: np.ndarray, train_cfg: TrainConfig = TrainConfig(), *, log_every: int = 0):
    """Train a TiTok-family tokenizer on images (N, C, H, W) in [0, 1] with pixel MSE + quantizer loss."""
    gen = C.seed_everything(train_cfg.seed)
    dev = C.resolve_device(train_cfg.device)
    model = TiTok(cfg).to(dev)
    x = torch.as_tensor(images, dtype=torch.float32, device=dev)

    n_step = [0]

    def step(idx, g):
        xb = x[idx.to(dev)]
        k = model.sample_k(len(xb), g, dev)
        n_step[0] += 1
        with C.autocast(dev, train_cfg.amp):
            if n_step[0] <= train_cfg.quant_warmup:  # continuous autoencoder phase
                return F.mse_loss(model.decode(model.encode_continuous(xb), k).float(), xb)
            rec, _, aux = model(xb, k)
        return F.mse_loss(rec.float(), xb) + aux

    info = C.fit(model, step, len(x), steps=train_cfg.steps, batch_size=train_cfg.batch_size, lr=train_cfg.lr,
                 gen=gen, log_every=log_every, warmup=train_cfg.warmup)
    return model, info


@torch.no_grad()
def evaluate(model: TiTok, images: np.ndarray, ks: Sequence[int] | None = None) -> dict:
    """PSNR at each kept-prefix length k (1-D layouts) or at full length, plus usage statistics."""
    dev = next(model.parameters()).device
    x = torch.as_tensor(images, dtype=torch.float32, device=dev)
    model.eval()
    if model.quant is not None and hasattr(model.quant, "reset_usage"):
        model.quant.reset_usage()
    zq, idx = model.encode(x)
    out = {"psnr": {}}
    for k in (ks or [model.cfg.tokens]):
        out["psnr"][int(k)] = C.psnr(model.decode(zq, None if k == model.cfg.tokens else k), x)
    if model.quant is not None and hasattr(model.quant, "stats"):
        out["usage"] = {kk: v for kk, v in model.quant.stats().items() if isinstance(v, (int, float))}
    out["indices"] = None if idx is None else idx.cpu().numpy()
    return out


def save(model: TiTok, directory) -> None:
    C.save_recipe(model, directory, model.cfg, recipe=RECIPE)


def load(directory, device: str | None = None) -> TiTok:
    return C.load_recipe(directory, TiTok, TiTokConfig, recipe=RECIPE, device=device)
