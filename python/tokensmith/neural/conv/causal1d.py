"""Strided causal 1-D convolutions for audio tokenizers — SoundStream (Zeghidour et al. 2021, §3.1:
"causal convolutions … padding applied only to the past") and EnCodec (Défossez et al. 2022, §3.1);
the encoders of VibeVoice (strides 8·5·5·4·2·2 = 3200 @ 24 kHz → 7.5 Hz) and LongCat (960 → 16.67 Hz).

A layer with kernel k and stride s pads k − s zeros on the past side (plus zeros on the right only to
complete the last frame), so output frame j summarises inputs [j·s + s − k, j·s + s): a frame never
sees a later stride window. The stack's `hop_length` = Π strides; frame rate = sample_rate / hop_length.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.io import configurable


@configurable
class CausalConv1d(nn.Module):
    """`forward(x (B, C_in, T)) -> (B, C_out, ceil(T / stride))`."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, *, dilation: int = 1
    ) -> None:
        super().__init__()
        if kernel_size < stride:
            raise ConfigError(f"kernel_size ({kernel_size}) must be >= stride ({stride}) to cover every sample")
        self.stride = stride
        self.left = dilation * (kernel_size - 1) + 1 - stride
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[-1]
        frames = math.ceil(t / self.stride)
        right = frames * self.stride - t  # complete the last frame (zeros, not future data)
        return self.conv(F.pad(x, (self.left, right)))


@configurable
class CausalConv1dStack(nn.Module):
    """Causal conv encoder: `forward(x (B, in_channels, T)) -> (B, channels[-1], ceil(T / hop_length))`.

    Args:
        in_channels: input channels (1 for a waveform).
        channels: output channels of each strided stage.
        strides: stride of each stage; hop_length = Π strides.
        kernel_sizes: per stage (default 2·stride, the SoundStream/EnCodec choice).
        residual_blocks: causal residual units (kernel 3, dilations 1, 3, 9) before each stage.
    """

    def __init__(
        self,
        in_channels: int,
        channels: Sequence[int],
        strides: Sequence[int],
        *,
        kernel_sizes: Optional[Sequence[int]] = None,
        residual_blocks: bool = False,
    ) -> None:
        super().__init__()
        if len(channels) != len(strides):
            raise ConfigError("channels and strides need one entry per stage")
        kernel_sizes = list(kernel_sizes) if kernel_sizes else [max(2 * s, 1) for s in strides]
        self.hop_length = math.prod(strides)
        layers: list[nn.Module] = []
        c = in_channels
        for out, s, k in zip(channels, strides, kernel_sizes):
            if residual_blocks:
                layers += [_CausalResidualUnit(c, d) for d in (1, 3, 9)]
            layers += [CausalConv1d(c, out, k, s), nn.ELU()]
            c = out
        self.layers = nn.Sequential(*layers[:-1])  # no activation after the last stage

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class _CausalResidualUnit(nn.Module):
    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.ELU(), CausalConv1d(channels, channels, 3, dilation=dilation), nn.ELU(),
                                 CausalConv1d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)
