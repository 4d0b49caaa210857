"""Audio helpers shared by the speech-codec recipes: log-magnitude spectrogram frames (torch.stft)."""

from __future__ import annotations

import torch


def log_spectrogram(audio: torch.Tensor, n_fft: int = 256, hop: int = 160, bins: int = 64) -> torch.Tensor:
    """audio (B, samples) → (B, frames, bins) log(1 + |STFT|), linear bins pooled to `bins`.

    At 8 kHz with hop 160 the frame rate is 50 Hz (TaDiCodec's mel rate before its ×8 downsample)."""
    win = torch.hann_window(n_fft, device=audio.device)
    spec = torch.stft(audio.float(), n_fft, hop, window=win, return_complex=True).abs()  # (B, F, frames)
    spec = spec[:, : (spec.shape[1] // bins) * bins].reshape(spec.shape[0], bins, -1, spec.shape[-1]).mean(2)
    return torch.log1p(spec).transpose(1, 2)
