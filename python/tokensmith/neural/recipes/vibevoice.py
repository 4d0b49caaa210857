"""VibeVoice acoustic tokenizer — Peng et al. 2025, "VibeVoice Technical Report" (microsoft/VibeVoice,
`vibevoice/modular/modular_vibevoice_tokenizer.py`), whose bottleneck is the **σ-VAE** of LatentLM
(Sun et al. 2024, "Multimodal Latent Language Modeling with Next-Token Diffusion", §2.3).

Mechanism: a strided causal 1-D conv stack brings audio to a very low frame rate (VibeVoice: strides
8·5·5·4·2·2 = 3200 at 24 kHz → 7.5 Hz) and emits continuous tokens. The σ-VAE encoder predicts only
the mean μ; training samples `z = μ + σ·ε` with σ drawn per example (`N.SigmaVAEBottleneck`), so the
decoder must tolerate a fixed-scale latent noise and the latent variance cannot collapse — what a
next-token diffusion LM needs to model the latents. Bottleneck options for the ablation: `sigma`,
`kl` (a plain VAE, KL weight 1e−6 as in KL-f autoencoders), `ae` (deterministic) and `vq`.

Scale-down (said plainly): 8 kHz synthetic vowels; a log-magnitude STFT front end (n_fft 256, hop 128)
replaces the first waveform convs, then causal strides 2·2·2 ⇒ hop 1024 samples = 7.8 Hz; the
decoder predicts the log spectrogram (MSE), not a waveform (no GAN, no phase).
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

RECIPE = "vibevoice"
BOTTLENECKS = ("sigma", "kl", "ae", "vq")


@dataclass(frozen=True)
class VibeVoiceConfig:
    sample_rate: int = 8000
    """Audio sample rate (Hz)."""
    n_fft: int = 256
    """STFT size of the front end."""
    hop: int = 128
    """STFT hop (samples); frame rate = sample_rate / (hop · Π strides)."""
    strides: tuple = (2, 2, 2)
    """Causal conv strides after the STFT."""
    width: int = 64
    """Conv channels."""
    latent_dim: int = 8
    """Channels of one continuous token."""
    bottleneck: str = "sigma"
    """sigma | kl | ae | vq."""
    fix_std: float = 0.5
    """σ-VAE noise scale (per-example σ ~ N(0, (fix_std/0.8)²))."""
    kl_weight: float = 1e-2
    """Weight of the ‖μ‖² (σ-VAE) penalty (large enough that μ cannot outgrow the noise); the KL-VAE uses 1e−6."""
    codebook_size: int = 256
    """Codes of the `vq` bottleneck."""

    def __post_init__(self):
        if self.bottleneck not in BOTTLENECKS:
            raise ConfigError(f"bottleneck must be one of {BOTTLENECKS}, got {self.bottleneck!r}")

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / (self.hop * math.prod(self.strides))

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1


class _AE(nn.Module):
    """Deterministic bottleneck with the same Linear in/out maps as the σ-VAE."""

    def __init__(self, dim: int, latent_dim: int) -> None:
        super().__init__()
        self.inp, self.outp = nn.Linear(dim, latent_dim), nn.Linear(latent_dim, dim)

    def encode(self, x):
        return self.inp(x)

    def decode(self, z):
        return self.outp(z)

    def forward(self, x):
        return self.decode(self.encode(x)), None, x.new_zeros(())


class VibeVoiceTokenizer(nn.Module):
    """`encode(audio (B, S)) -> latents (B, frames, latent_dim)` (μ; VQ: quantized codes); `decode(latents) -> log-spec`."""

    def __init__(self, cfg: VibeVoiceConfig = VibeVoiceConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.register_buffer("window", torch.hann_window(cfg.n_fft), persistent=False)
        self.encoder = N.CausalConv1dStack(cfg.bins, [w] * len(cfg.strides), list(cfg.strides))
        if cfg.bottleneck == "sigma":
            self.bottleneck = N.SigmaVAEBottleneck(w, cfg.latent_dim, fix_std=cfg.fix_std, kl_weight=cfg.kl_weight)
        elif cfg.bottleneck == "kl":
            self.bottleneck = N.KLBottleneck(w, cfg.latent_dim, kl_weight=1e-6)
        elif cfg.bottleneck == "ae":
            self.bottleneck = _AE(w, cfg.latent_dim)
        else:
            self.bottleneck = N.VectorQuantizer(w, cfg.codebook_size, codebook_dim=cfg.latent_dim, use_cosine=True,
                                                kmeans_init=True)
        self.up = nn.ModuleList(N.CausalConv1d(w, w, 3) for _ in cfg.strides)
        self.head = N.CausalConv1d(w, cfg.bins, 3)

    def spectrogram(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, S) → log-magnitude (B, bins, S / hop), frames aligned to the end of each hop (causal)."""
        s = torch.stft(F.pad(audio.float(), (self.cfg.n_fft - self.cfg.hop, 0)), self.cfg.n_fft, self.cfg.hop,
                       window=self.window, center=False, return_complex=True)
        return torch.log(s.abs() + 1e-2)

    def features(self, spec: torch.Tensor) -> torch.Tensor:
        return self.encoder(spec).transpose(1, 2)  # (B, frames, width)

    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        h = self.features(self.spectrogram(audio))
        if self.cfg.bottleneck == "vq":
            return self.bottleneck(h)[0]
        if self.cfg.bottleneck == "kl":
            return self.bottleneck.encode(h)[0]
        return self.bottleneck.encode(h)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        h = latents if self.cfg.bottleneck == "vq" else self.bottleneck.decode(latents)
        h = h.transpose(1, 2)
        for s, conv in zip(self.cfg.strides, self.up):
            h = F.elu(conv(h.repeat_interleave(s, dim=-1)))
        return self.head(h)

    def forward(self, audio: torch.Tensor):
        spec = self.spectrogram(audio)
        h = self.features(spec)
        if self.cfg.bottleneck == "vq":
            zq, ids, aux = self.bottleneck(h)
            return self.decode(zq), spec, aux
        z, _, aux = self.bottleneck(h)  # sampled and mapped back to `width`
        h = z.transpose(1, 2)
        for s, conv in zip(self.cfg.strides, self.up):
            h = F.elu(conv(h.repeat_interleave(s, dim=-1)))
        return self.head(h), spec, aux


def train(cfg: VibeVoiceConfig, audio: np.ndarray, tc: Optional[C.TrainConfig] = None, *, steps: int = 400,
          batch_size: int = 32, lr: float = 2e-3, device: str = "cpu", seed: int = 0, amp: bool = False,
          log_every: int = 0):
    """Train on waveforms (N, S) in [-1, 1]: log-spectrogram MSE + bottleneck loss. Returns (model, info).
    A `C.TrainConfig` (the shared form) overrides steps/batch_size/lr/seed/device/amp."""
    if tc is not None:
        steps, batch_size, lr, seed, device, amp = tc.steps, tc.batch_size, tc.lr, tc.seed, tc.device, tc.amp
    batch_size = min(batch_size, len(audio))
    gen = C.seed_everything(seed)
    dev = C.resolve_device(device)
    model = VibeVoiceTokenizer(cfg).to(dev)
    x = torch.as_tensor(audio, dtype=torch.float32, device=dev)

    def step(idx, g):
        with C.autocast(dev, amp):
            rec, spec, aux = model(x[idx.to(dev)])
        return F.mse_loss(rec.float(), spec) + aux

    info = C.fit(model, step, len(x), steps=steps, batch_size=batch_size, lr=lr, gen=gen, log_every=log_every)
    return model, info


@torch.no_grad()
def evaluate(model: VibeVoiceTokenizer, audio: np.ndarray, *, noise: float = 0.5, seed: int = 0) -> dict:
    """Reconstruction MSE (log spectrogram); latent health: mean per-dim std and the decoder's tolerance to
    latent noise of `noise`× each dim's std (MSE increase). VQ: recon only."""
    dev = next(model.parameters()).device
    x = torch.as_tensor(audio, dtype=torch.float32, device=dev)
    spec = model.spectrogram(x)
    z = model.encode(x)
    rec = model.decode(z)
    out = {"recon_mse": float(F.mse_loss(rec, spec))}
    if model.cfg.bottleneck != "vq":
        std = z.flatten(0, 1).std(0)
        g = torch.Generator(device="cpu").manual_seed(seed)
        eps = torch.randn(z.shape, generator=g).to(dev)
        noisy = model.decode(z + noise * std * eps)
        out["latent_std"] = float(std.mean())
        out["latent_std_min"] = float(std.min())
        out["noise_mse"] = float(F.mse_loss(noisy, spec))
    return out


def ar_probe(model: VibeVoiceTokenizer, train_audio: np.ndarray, test_audio: np.ndarray, *, context: int = 2,
             steps: int = 300, seed: int = 0) -> dict:
    """Fit a tiny AR MLP (previous `context` tokens → next token, MSE) on the frozen latents, decode its
    one-step predictions on test clips; returns the decoded log-spectrogram MSE of predicted frames and the
    relative latent error (‖pred − z‖² / var z). A proxy for 'can an LM model these latents'."""
    dev = next(model.parameters()).device
    with torch.no_grad():
        ztr = model.encode(torch.as_tensor(train_audio, device=dev))
        zte = model.encode(torch.as_tensor(test_audio, device=dev))
    mu, sd = ztr.flatten(0, 1).mean(0), ztr.flatten(0, 1).std(0) + 1e-6

    def windows(z):
        zn = (z - mu) / sd
        ctx = torch.stack([zn[:, i:zn.shape[1] - context + i] for i in range(context)], 2).flatten(2)
        return ctx, zn[:, context:]

    g = C.seed_everything(seed)
    d = zte.shape[-1]
    mlp = nn.Sequential(nn.Linear(context * d, 128), nn.GELU(), nn.Linear(128, d)).to(dev)
    opt = torch.optim.Adam(mlp.parameters(), lr=3e-3)
    ctx, tgt = windows(ztr)
    ctx, tgt = ctx.flatten(0, 1), tgt.flatten(0, 1)
    for _ in range(steps):
        idx = torch.randint(0, len(ctx), (256,), generator=g).to(dev)
        loss = F.mse_loss(mlp(ctx[idx]), tgt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        c, t = windows(zte)
        pred = mlp(c)
        rel = float(F.mse_loss(pred, t) / t.var())
        zhat = zte.clone()
        zhat[:, context:] = pred * sd + mu
        spec = model.spectrogram(torch.as_tensor(test_audio, device=dev))
        hop = math.prod(model.cfg.strides)
        dec_pred, dec_true = model.decode(zhat), model.decode(zte)
        sl = slice(context * hop, None)
        return {"ar_rel_latent_error": rel, "ar_decoded_mse": float(F.mse_loss(dec_pred[..., sl], spec[..., sl])),
                "ar_decoded_mse_vs_recon": float(F.mse_loss(dec_pred[..., sl], dec_true[..., sl]))}


def save(model: VibeVoiceTokenizer, directory) -> None:
    C.save_recipe(model, directory, model.cfg, recipe=RECIPE)


def load(directory, device: str | None = None) -> VibeVoiceTokenizer:
    return C.load_recipe(directory, VibeVoiceTokenizer, VibeVoiceConfig, recipe=RECIPE, device=device)
