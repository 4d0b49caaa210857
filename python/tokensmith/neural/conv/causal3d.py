"""Causal 3-D convolutions for video tokenizers — MAGVIT (Yu et al. 2023, 3-D VQGAN) made causal in
time as in MAGVIT-v2 (Yu et al. 2024, "Language Model Beats Diffusion", §3.2): pad k_t − 1 frames on
the past side only (replicating the first frame) and symmetric padding in space, so frame t never sees
t+1; with temporal stride r the first frame is encoded alone and T′ = 1 + (T − 1)/r, which lets images
(T = 1) and videos share one tokenizer.

`inflate_conv2d` builds a 3-D kernel from a trained 2-D one (MAGVIT "central inflation": the 2-D kernel
at the central temporal tap, zeros elsewhere; `mode="last"` puts it on the current-frame tap, which is
the causal equivalent).
"""

from __future__ import annotations

from typing import Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.io import configurable

Size3 = Union[int, Sequence[int]]


def _triple(v: Size3) -> tuple[int, int, int]:
    return (v, v, v) if isinstance(v, int) else tuple(v)  # type: ignore[return-value]


@configurable
class CausalConv3d(nn.Module):
    """`forward(x (B, C_in, T, H, W)) -> (B, C_out, 1 + (T − 1)//s_t, H//s_h', W//s_w')`."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: Size3 = 3, stride: Size3 = 1, *, pad_mode: str = "replicate"
    ) -> None:
        super().__init__()
        kt, kh, kw = _triple(kernel_size)
        if pad_mode not in ("replicate", "constant"):
            raise ConfigError(f"pad_mode must be 'replicate' or 'constant', got {pad_mode!r}")
        self.time_pad = kt - 1
        self.space_pad = (kw // 2, kw // 2, kh // 2, kh // 2)
        self.pad_mode = pad_mode
        self.conv = nn.Conv3d(in_channels, out_channels, (kt, kh, kw), _triple(stride))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, self.space_pad)  # zeros in space
        if self.time_pad:
            if self.pad_mode == "replicate":
                first = x[:, :, :1].expand(-1, -1, self.time_pad, -1, -1)
            else:
                first = torch.zeros_like(x[:, :, :1]).expand(-1, -1, self.time_pad, -1, -1)
            x = torch.cat([first, x], dim=2)
        return self.conv(x)


def inflate_conv2d(weight2d: torch.Tensor, kt: int, mode: str = "center") -> torch.Tensor:
    """(out, in, kh, kw) -> (out, in, kt, kh, kw) with the 2-D kernel on one temporal tap."""
    if mode not in ("center", "last"):
        raise ConfigError(f"inflation mode must be 'center' or 'last', got {mode!r}")
    w = weight2d.new_zeros(weight2d.shape[0], weight2d.shape[1], kt, *weight2d.shape[2:])
    w[:, :, kt // 2 if mode == "center" else kt - 1] = weight2d
    return w


@configurable
class CausalConv3dStack(nn.Module):
    """Causal 3-D conv encoder: each stage = CausalConv3d(kernel 3, stride (s_t, s_s, s_s)) + SiLU.

    Args:
        in_channels: input channels (3 for RGB).
        channels: output channels per stage.
        time_strides: temporal stride per stage (T′ = 1 + (T−1)/Π s_t when divisible).
        space_strides: spatial stride per stage.
    """

    def __init__(
        self, in_channels: int, channels: Sequence[int], time_strides: Sequence[int], space_strides: Sequence[int]
    ) -> None:
        super().__init__()
        if not len(channels) == len(time_strides) == len(space_strides):
            raise ConfigError("channels, time_strides and space_strides need one entry per stage")
        layers: list[nn.Module] = []
        c = in_channels
        for out, st, ss in zip(channels, time_strides, space_strides):
            layers += [CausalConv3d(c, out, 3, (st, ss, ss)), nn.SiLU()]
            c = out
        self.layers = nn.Sequential(*layers[:-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
