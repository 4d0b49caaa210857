"""MAGVIT — "Masked Generative Video Transformer" (Yu et al. 2023, google-research/magvit): a **3-D
conv VQ** video tokenizer; made **causal in time** as in MAGVIT-v2 (Yu et al. 2024, "Language Model
Beats Diffusion", §3.2).

Mechanism: 3-D convolutions down-sample time and space together (MAGVIT: T/4, H/8, W/8), so one token
summarises a space-time block and temporal redundancy is removed before quantization. With causal
temporal padding (past side only, `N.CausalConv3d`) frame t never sees t+1 and the first frame is
encoded alone: T′ = 1 + (T − 1)/4, so an image (T = 1) is a valid one-frame video.
Same module, three layouts (the demo's arms):
  * `causal=True`, time strides (2, 2): causal 3-D VQ (MAGVIT-v2 style);
  * `causal=False`: symmetric temporal padding (MAGVIT v1 style), same token grid;
  * `kernel_t=1`, time strides all 1: a per-frame 2-D VQ (the baseline of the paper's 3-D claim).
Left out: the 2-D → 3-D inflation initialisation (`N.inflate_conv2d` is the block), the 3-D
StyleGAN discriminator, LeCam and perceptual losses (no pretrained networks here): pixel MSE only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import tokensmith.neural as N
from tokensmith.errors import ConfigError
from tokensmith.neural.recipes import _common as C

RECIPE = "magvit"


@dataclass(frozen=True)
class MagvitConfig:
    frames: int = 9
    """T of the clips (causal layouts need T = 1 + k·Π time_strides)."""
    size: int = 16
    """H = W of the frames."""
    in_channels: int = 1
    """1 (grey) or 3 (RGB)."""
    channels: tuple = (16, 32)
    """Conv channels of each down-sampling stage (the decoder mirrors them)."""
    time_strides: tuple = (2, 2)
    """Temporal stride per stage (all 1 = per-frame 2-D tokenizer)."""
    space_strides: tuple = (2, 2)
    """Spatial stride per stage."""
    kernel_t: int = 3
    """Temporal kernel size (1 = 2-D convolutions applied frame by frame)."""
    causal: bool = True
    """Pad time on the past side only (MAGVIT-v2); False = symmetric padding (MAGVIT v1)."""
    latent_dim: int = 32
    """Channels of the latent grid fed to the quantizer."""
    codebook_size: int = 256
    """VQ codes (bits per token = log2 of it)."""
    token_dim: int = 8
    """Code dimension (factorised, l2-normalised lookup)."""

    def __post_init__(self):
        if not len(self.channels) == len(self.time_strides) == len(self.space_strides):
            raise ConfigError("channels, time_strides and space_strides need one entry per stage")
        rt = math.prod(self.time_strides)
        if rt > 1 and (self.frames - 1) % rt:
            raise ConfigError(f"frames must be 1 + k·{rt} so the first frame is encoded alone; got {self.frames}")
        if self.size % math.prod(self.space_strides):
            raise ConfigError(f"size {self.size} must be divisible by Π space_strides")

    @property
    def latent_grid(self) -> tuple[int, int, int]:
        rt, rs = math.prod(self.time_strides), math.prod(self.space_strides)
        t = self.frames if rt == 1 else 1 + (self.frames - 1) // rt
        return (t, self.size // rs, self.size // rs)

    @property
    def tokens(self) -> int:
        return math.prod(self.latent_grid)

    @property
    def bits(self) -> float:
        """Bits per clip = tokens · log2 |C|."""
        return self.tokens * math.log2(self.codebook_size)


class _Conv(nn.Module):
    """3-D conv with temporal padding on the past side (causal, via N.CausalConv3d) or both sides."""

    def __init__(self, cin: int, cout: int, kt: int, stride=(1, 1, 1), causal: bool = True) -> None:
        super().__init__()
        if causal or kt == 1:
            self.conv = N.CausalConv3d(cin, cout, (kt, 3, 3), stride)
            self.pad = None
        else:
            self.conv = nn.Conv3d(cin, cout, (kt, 3, 3), stride)
            self.pad = (1, 1, 1, 1, (kt - 1) // 2, kt // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad is None:
            return self.conv(x)
        return self.conv(F.pad(x, self.pad, mode="replicate"))


def _up_time(x: torch.Tensor, r: int) -> torch.Tensor:
    """Inverse of the T′ = 1 + (T − 1)/r grid: first latent frame → 1 frame, the others → r frames each."""
    if r == 1:
        return x
    return torch.cat([x[:, :, :1], x[:, :, 1:].repeat_interleave(r, dim=2)], dim=2)


class Magvit(nn.Module):
    """`encode(video (B, T, C, H, W)) -> (tokens (B, T′, H′, W′, D), ids (B, T′, H′, W′))`; `decode(tokens)`."""

    def __init__(self, cfg: MagvitConfig = MagvitConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        kt, causal = cfg.kernel_t, cfg.causal
        enc, c = [], cfg.in_channels
        for out, st, ss in zip(cfg.channels, cfg.time_strides, cfg.space_strides):
            enc += [_Conv(c, out, kt, (st, ss, ss), causal), nn.SiLU(), _Conv(out, out, kt, causal=causal), nn.SiLU()]
            c = out
        enc += [nn.Conv3d(c, cfg.latent_dim, 1)]
        self.encoder = nn.Sequential(*enc)
        self.quant = N.VectorQuantizer(cfg.latent_dim, cfg.codebook_size, codebook_dim=cfg.token_dim, use_cosine=True,
                                       kmeans_init=True, commitment_weight=0.25)
        self.post = nn.Conv3d(cfg.latent_dim, cfg.channels[-1], 1)
        self.dec_convs = nn.ModuleList()
        chans = list(cfg.channels[::-1]) + [cfg.channels[0]]
        for i in range(len(cfg.channels)):
            self.dec_convs.append(_Conv(chans[i], chans[i + 1], kt, causal=causal))
        self.out = _Conv(cfg.channels[0], cfg.in_channels, kt, causal=causal)

    def _pad_frames(self, video: torch.Tensor) -> torch.Tensor:
        """Repeat the last frame until T = 1 + k·Π time_strides (end padding never feeds earlier tokens)."""
        rt = math.prod(self.cfg.time_strides)
        extra = (-(video.shape[1] - 1)) % rt
        return torch.cat([video, video[:, -1:].expand(-1, extra, -1, -1, -1)], 1) if extra else video

    def encode_continuous(self, video: torch.Tensor) -> torch.Tensor:
        return self.encoder(self._pad_frames(video).transpose(1, 2)).permute(0, 2, 3, 4, 1)  # (B, T′, H′, W′, D)

    def encode(self, video: torch.Tensor):
        zq, ids, _ = self.quant(self.encode_continuous(video))
        return zq, ids

    def decode(self, zq: torch.Tensor) -> torch.Tensor:
        h = self.post(zq.permute(0, 4, 1, 2, 3))
        strides = list(zip(self.cfg.time_strides, self.cfg.space_strides))[::-1]
        for (st, ss), conv in zip(strides, self.dec_convs):
            h = _up_time(h, st)
            h = F.silu(conv(F.interpolate(h, scale_factor=(1, ss, ss), mode="nearest")))
        return self.out(h).transpose(1, 2)  # (B, T, C, H, W)

    def indices_to_tokens(self, ids: torch.Tensor) -> torch.Tensor:
        return self.quant.indices_to_codes(ids)

    def forward(self, video: torch.Tensor):
        zq, ids, aux = self.quant(self.encode_continuous(video))
        return self.decode(zq)[:, :video.shape[1]], ids, aux


def train(cfg: MagvitConfig, videos: np.ndarray, tc: Optional[C.TrainConfig] = None, *, steps: int = 300,
          batch_size: int = 16, lr: float = 2e-3, device: str = "cpu", seed: int = 0, amp: bool = False,
          log_every: int = 0):
    """Train on clips (N, T, C, H, W) in [0, 1] with pixel MSE + VQ loss. Returns (model, info).
    A `C.TrainConfig` (the shared form) overrides steps/batch_size/lr/seed/device/amp."""
    if tc is not None:
        steps, batch_size, lr, seed, device, amp = tc.steps, tc.batch_size, tc.lr, tc.seed, tc.device, tc.amp
    batch_size = min(batch_size, len(videos))
    gen = C.seed_everything(seed)
    dev = C.resolve_device(device)
    model = Magvit(cfg).to(dev)
    x = torch.as_tensor(videos, dtype=torch.float32, device=dev)

    def step(idx, g):
        xb = x[idx.to(dev)]
        with C.autocast(dev, amp):
            rec, _, aux = model(xb)
        return F.mse_loss(rec.float(), xb) + aux

    info = C.fit(model, step, len(x), steps=steps, batch_size=batch_size, lr=lr, gen=gen, log_every=log_every)
    return model, info


@torch.no_grad()
def evaluate(model: Magvit, videos: np.ndarray, batch_size: int = 64) -> dict:
    """PSNR (all frames, per frame), temporal-difference MSE, codebook usage."""
    dev = next(model.parameters()).device
    x = torch.as_tensor(videos, dtype=torch.float32, device=dev)
    model.quant.reset_usage()
    rec = torch.cat(C.in_batches(lambda b: model(b)[0].clamp(0, 1), x, batch_size))
    mse_t = (rec - x).pow(2).mean(dim=(2, 3, 4)).clamp_min(1e-10)  # (B, T)
    dx, dr = x[:, 1:] - x[:, :-1], rec[:, 1:] - rec[:, :-1]
    return {"psnr": float((10 * torch.log10(1 / (rec - x).pow(2).flatten(1).mean(1).clamp_min(1e-10))).mean()),
            "psnr_per_frame": (10 * torch.log10(1 / mse_t)).mean(0).tolist(),
            "temporal_diff_mse": float((dr - dx).pow(2).mean()),
            "codes_used": float(model.quant.codes_used), "perplexity": float(model.quant.perplexity)}


@torch.no_grad()
def causality_check(model: Magvit, videos: np.ndarray, t_change: Optional[int] = None) -> dict:
    """Perturb frames ≥ t_change and count changed tokens in latent frames that cover only frames < t_change.
    Causal ⇒ 0. Also: does the first frame, encoded alone as an image, give the video's first-frame tokens?"""
    cfg = model.cfg
    rt = math.prod(cfg.time_strides)
    dev = next(model.parameters()).device
    x = torch.as_tensor(videos, dtype=torch.float32, device=dev)
    if rt == 1:
        t_change, keep = t_change or cfg.frames // 2, t_change or cfg.frames // 2
    else:
        t_change = t_change or 1 + rt  # latent frames 0 (frame 0) and 1 (frames 1..rt) are "past"
        keep = 1 + (t_change - 1) // rt
    y = x.clone()
    y[:, t_change:] = torch.rand_like(y[:, t_change:])
    _, a = model.encode(x)
    _, b = model.encode(y)
    out = {"past_tokens_changed": float((a[:, :keep] != b[:, :keep]).float().mean()),
           "future_tokens_changed": float((a[:, keep:] != b[:, keep:]).float().mean())}
    if rt > 1:
        _, img = model.encode(x[:, :1])
        out["first_frame_alone_matches"] = float((img[:, 0] == a[:, 0]).float().mean())
        out["image_psnr_first_frame"] = C.psnr(model.decode(model.encode(x[:, :1])[0])[:, 0], x[:, 0])
    return out


def save(model: Magvit, directory) -> None:
    C.save_recipe(model, directory, model.cfg, recipe=RECIPE)


def load(directory, device: str | None = None) -> Magvit:
    return C.load_recipe(directory, Magvit, MagvitConfig, recipe=RECIPE, device=device)
