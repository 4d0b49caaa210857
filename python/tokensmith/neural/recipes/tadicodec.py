"""TaDiCodec — "Text-aware Diffusion Speech Tokenizer for Speech Language Modeling" (Wang et al. 2025,
AmphionTeam/Diffusion-Speech-Tokenizer), CPU size.

Spectrogram frames at 50 Hz → Transformer encoder → ×8 temporal downsample (6.25 Hz) → **binary
spherical quantization** (BSQ, 14 bits = 16,384 codes ⇒ 87.5 bps) → upsample → decoder that is
optionally **text-aware**: it also reads the phoneme sequence (the transcript), so the tokens need
not carry what the text already says. The paper's decoder is a flow-matching diffusion model; here
a deterministic Transformer regresses the spectrogram (MSE), which is enough to measure how much the
text condition helps at a fixed bitrate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.neural.quantizers.bsq import BSQ
from tokensmith.neural.recipes import _common as C
from tokensmith.neural.recipes._audio import log_spectrogram

RECIPE = "tadicodec"


@dataclass(frozen=True)
class TaDiCodecConfig:
    bins: int = 64
    """Spectrogram bins per 50 Hz frame."""
    width: int = 64
    """Transformer width."""
    depth: int = 2
    """Encoder and decoder layers."""
    heads: int = 4
    """Attention heads."""
    downsample: int = 8
    """Temporal downsampling (50 Hz → 6.25 Hz)."""
    bits: int = 14
    """BSQ bits per token (codebook 2^bits)."""
    text_aware: bool = True
    """Decoder reads the phoneme sequence (TaDiCodec) or not (ablation)."""
    phonemes: int = 8
    """Phoneme vocabulary size."""
    max_frames: int = 128
    """Longest spectrogram (positional table)."""

    @property
    def bitrate_bps(self) -> float:
        return 50.0 / self.downsample * self.bits


class TaDiCodec(nn.Module):
    def __init__(self, cfg: TaDiCodecConfig = TaDiCodecConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.inp = nn.Linear(cfg.bins, w)
        self.pos = nn.Parameter(torch.randn(cfg.max_frames, w) * 0.02)
        self.encoder = C.Transformer(w, cfg.depth, cfg.heads)
        self.bsq = BSQ(w, 2**cfg.bits)
        self.text = nn.Embedding(cfg.phonemes, w)
        self.decoder = C.Transformer(w, cfg.depth, cfg.heads)
        self.out = nn.Linear(w, cfg.bins)

    def encode(self, spec: torch.Tensor):
        """spec (B, F, bins) with F a multiple of `downsample` → (tokens (B, F/8, w), ids (B, F/8), aux)."""
        b, f, _ = spec.shape
        h = self.encoder(self.inp(spec) + self.pos[:f])
        h = h.reshape(b, f // self.cfg.downsample, self.cfg.downsample, -1).mean(2)
        return self.bsq(h)

    def decode(self, tokens: torch.Tensor, phonemes_per_frame: torch.Tensor | None = None) -> torch.Tensor:
        h = tokens.repeat_interleave(self.cfg.downsample, 1)
        f = h.shape[1]
        h = h + self.pos[:f]
        if self.cfg.text_aware and phonemes_per_frame is not None:
            h = h + self.text(phonemes_per_frame[:, :f])
        return self.out(self.decoder(h))

    def forward(self, spec, phonemes_per_frame=None):
        q, idx, aux = self.encode(spec)
        return self.decode(q, phonemes_per_frame), idx, aux


def prepare(audio, phonemes, cfg: TaDiCodecConfig = TaDiCodecConfig(), hop: int = 160):
    """audio (N, samples), phoneme ids (N, segments) → spectrograms (N, F, bins) cropped to a multiple of
    `downsample`, and a phoneme id per frame (N, F)."""
    spec = log_spectrogram(torch.as_tensor(audio), hop=hop, bins=cfg.bins)
    f = (spec.shape[1] // cfg.downsample) * cfg.downsample
    spec = spec[:, :f]
    ph = torch.as_tensor(phonemes)
    per_frame = ph.shape[1] / (torch.as_tensor(audio).shape[1] / hop)
    idx = (torch.arange(f) * per_frame).long().clamp_max(ph.shape[1] - 1)
    return spec, ph[:, idx]


def loss_fn(model: TaDiCodec, spec, ph):
    rec, _, aux = model(spec, ph)
    return F.mse_loss(rec.float(), spec) + aux


def train(cfg: TaDiCodecConfig, spec, ph, tc: C.TrainConfig = C.TrainConfig()):
    C.seed_everything(tc.seed)  # weights from the seed, not from torch's global RNG state
    model = TaDiCodec(cfg)
    return model, C.train_model(model, (spec, ph), loss_fn, tc)


save, load = C.recipe_io(RECIPE, TaDiCodec, TaDiCodecConfig)
