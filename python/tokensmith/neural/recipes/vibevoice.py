"""VibeVoice acoustic tokenizer — "VibeVoice Technical Report" (Microsoft 2025, microsoft/VibeVoice,
`modular_vibevoice_tokenizer.py`), CPU size.

Waveform → **strided causal 1-D conv** encoder (VibeVoice: strides 8·5·5·4·2·2 = 3200 at 24 kHz
→ 7.5 Hz; here 8·5·4 = 160 at 8 kHz → 50 Hz, same design) → **σ-VAE** bottleneck: the encoder
predicts only the mean, and training adds noise whose std is itself drawn per sample
(`SigmaVAEBottleneck`, fix_std 0.5), which keeps the latent variance from collapsing so a later
AR + diffusion head can model it. Ablations: `bottleneck="kl"` (standard VAE) and `"none"` (plain AE).
The next-token diffusion LM on top is Tier 3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.conv.causal1d import CausalConv1dStack
from tokensmith.neural.quantizers.kl import KLBottleneck
from tokensmith.neural.quantizers.sigma_vae import SigmaVAEBottleneck
from tokensmith.neural.recipes import _common as C
from tokensmith.neural.recipes._audio import log_spectrogram

RECIPE = "vibevoice"


@dataclass(frozen=True)
class VibeVoiceConfig:
    strides: tuple = (8, 5, 4)
    """Encoder strides; their product is the hop in samples."""
    channels: tuple = (32, 64, 64)
    """Encoder channels per stage."""
    latent_dim: int = 16
    """Continuous latent channels (VibeVoice acoustic: 64)."""
    bottleneck: str = "sigma"
    """sigma (σ-VAE) | kl (VAE) | none (plain autoencoder)."""
    fix_std: float = 0.5
    """σ-VAE noise scale."""
    kl_weight: float = 1e-4
    """Weight of the KL (or ‖μ‖²) term."""

    def __post_init__(self):
        if self.bottleneck not in ("sigma", "kl", "none") or len(self.strides) != len(self.channels):
            raise ConfigError("bottleneck must be sigma, kl or none; strides and channels need equal length")

    @property
    def hop(self) -> int:
        return math.prod(self.strides)


class VibeVoiceTokenizer(nn.Module):
    def __init__(self, cfg: VibeVoiceConfig = VibeVoiceConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.enc = CausalConv1dStack(1, list(cfg.channels), list(cfg.strides))
        c = cfg.channels[-1]
        self.to_latent = nn.Conv1d(c, cfg.latent_dim, 1)
        if cfg.bottleneck == "sigma":
            self.bottleneck = SigmaVAEBottleneck(cfg.latent_dim, fix_std=cfg.fix_std, kl_weight=cfg.kl_weight)
        elif cfg.bottleneck == "kl":
            self.bottleneck = KLBottleneck(cfg.latent_dim, kl_weight=cfg.kl_weight)
        else:
            self.bottleneck = None
        layers, ch = [nn.Conv1d(cfg.latent_dim, c, 3, padding=1)], c
        for s, out in zip(reversed(cfg.strides), list(reversed(cfg.channels[:-1])) + [32]):
            layers += [nn.ELU(), nn.ConvTranspose1d(ch, out, 2 * s, s, padding=s // 2 + s % 2, output_padding=s % 2)]
            ch = out
        layers += [nn.ELU(), nn.Conv1d(ch, 1, 7, padding=3)]
        self.dec = nn.Sequential(*layers)

    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """audio (B, samples) → latent means (B, frames, latent_dim) (what a downstream LM models)."""
        h = self.to_latent(self.enc(audio[:, None])).transpose(1, 2)
        if isinstance(self.bottleneck, KLBottleneck):
            return self.bottleneck.encode(h)[0]
        return h

    def decode(self, z: torch.Tensor, samples: int) -> torch.Tensor:
        if isinstance(self.bottleneck, KLBottleneck):
            z = self.bottleneck.decode(z)
        return self.dec(z.transpose(1, 2))[:, 0, :samples]

    def forward(self, audio: torch.Tensor):
        h = self.to_latent(self.enc(audio[:, None])).transpose(1, 2)
        if self.bottleneck is None:
            z, aux = h, h.new_zeros(())
        else:
            z, _, aux = self.bottleneck(h)
        return self.dec(z.transpose(1, 2))[:, 0, : audio.shape[1]], aux


def loss_fn(model: VibeVoiceTokenizer, audio):
    rec, aux = model(audio)
    spec_loss = F.l1_loss(log_spectrogram(rec.float()), log_spectrogram(audio))
    return F.l1_loss(rec.float(), audio) + spec_loss + aux


def train(cfg: VibeVoiceConfig, audio, tc: C.TrainConfig = C.TrainConfig()):
    model = VibeVoiceTokenizer(cfg)
    return model, C.train_model(model, (audio,), loss_fn, tc)


save, load = C.recipe_io(RECIPE, VibeVoiceTokenizer, VibeVoiceConfig)
