"""Dynamic chunking — Hwang, Wang & Gu 2025, "Dynamic Chunking for End-to-End Hierarchical Sequence
Modeling" (H-Net, §2.2; `hnet/modules/dc.py`, `hnet/utils/train.py` of goombalab/hnet).

Routing (eq. 4): `q_t = W_q x_t`, `k_t = W_k x_t` (both initialised to the identity),
`p_t = ½(1 − cos(q_{t−1}, k_t))` (the official code pairs the query of the previous position with
the key of the current one), `p_1 = 1`, boundary `b_t = 1[p_t > 0.5]` (argmax of (1 − p, p), so a
tie is not a boundary).
Chunk: keep x_t where b_t = 1 (packed left, padded, with a mask).
Dechunk (eq. 5–9): EMA over chunks `z̄_s = P_s ẑ_s + (1 − P_s) z̄_{s−1}` with P_s the p of the s-th
boundary (clamped to [1e−4, 1 − 1e−4]); upsample by `cumsum(b) − 1`; output
`STE(c_t)·z̄_{chunk(t)} + Linear(x_t)` with `c_t = p_t` if b_t else `1 − p_t`, STE = 1 forward /
identity backward, and the residual Linear zero-initialised, in fp32.
Ratio loss (eq. 10) with target N: `F = mean(b)`, `G = mean(p)`,
`L = N/(N−1)·((N−1)·F·G + (1−F)(1−G))`, minimal (= 1) at F = G = 1/N.
The EMA runs as a loop over chunks (the official code uses a Mamba-2 scan kernel on CUDA).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.io import configurable


class ChunkState(NamedTuple):
    chunks: torch.Tensor  # (B, S, D) boundary vectors, packed left
    chunk_mask: torch.Tensor  # (B, S) bool, True = real chunk
    probs: torch.Tensor  # (B, L) p_t
    boundaries: torch.Tensor  # (B, L) bool b_t
    mask: Optional[torch.Tensor]  # (B, L) bool input mask (None = all valid)
    residual: torch.Tensor  # (B, L, D) fp32 residual Linear(x)


def ratio_loss(
    boundaries: torch.Tensor, probs: torch.Tensor, target_ratio: float, mask: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """H-Net ratio loss `N/(N−1)·((N−1)FG + (1−F)(1−G))`; F = fraction of boundaries, G = mean p."""
    n = float(target_ratio)
    if n <= 1:
        raise ConfigError(f"target_ratio must be > 1, got {target_ratio}")
    b, p = boundaries.float(), probs.float()
    if mask is not None:
        m = mask.float()
        f = (b * m).sum() / m.sum().clamp_min(1)
        g = (p * m).sum() / m.sum().clamp_min(1)
    else:
        f, g = b.mean(), p.mean()
    return n / (n - 1) * ((n - 1) * f * g + (1 - f) * (1 - g))


@configurable
class RoutingModule(nn.Module):
    """`forward(x (B, L, D), mask=None) -> (p (B, L), b (B, L) bool)`."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.q_proj = nn.Linear(dim, dim, bias=False)
        self.k_proj = nn.Linear(dim, dim, bias=False)
        with torch.no_grad():
            self.q_proj.weight.copy_(torch.eye(dim))
            self.k_proj.weight.copy_(torch.eye(dim))

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        q = F.normalize(self.q_proj(x[:, :-1]).float(), dim=-1)
        k = F.normalize(self.k_proj(x[:, 1:]).float(), dim=-1)
        cos = (q * k).sum(-1)
        p = torch.clamp((1 - cos) / 2, 0.0, 1.0)
        p = F.pad(p, (1, 0), value=1.0)
        b = p > 0.5
        if mask is not None:
            b = b & mask.bool()
        return p, b


@configurable
class DynamicChunking(nn.Module):
    """Router + chunk/dechunk around a main network:

        state = dc.chunk(x, mask)            # state.chunks (B, S, D) go through the main network
        y = dc.dechunk(main(state.chunks), state)   # (B, L, D)
        loss = ratio_loss(state.boundaries, state.probs, N, mask)   # or dc.ratio_loss(state)
    """

    def __init__(self, dim: int, *, target_ratio: float = 4.0) -> None:
        super().__init__()
        self.target_ratio = target_ratio
        self.router = RoutingModule(dim)
        self.residual_proj = nn.Linear(dim, dim)
        nn.init.zeros_(self.residual_proj.weight)
        nn.init.zeros_(self.residual_proj.bias)

    def chunk(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> ChunkState:
        p, b = self.router(x, mask)
        counts = b.sum(1)
        s = max(int(counts.max()), 1)
        order = torch.argsort((~b).to(torch.int8), dim=1, stable=True)[:, :s]  # boundary positions first, in order
        chunks = torch.gather(x, 1, order[..., None].expand(-1, -1, x.shape[-1]))
        chunk_mask = torch.arange(s, device=x.device)[None] < counts[:, None]
        chunks = chunks * chunk_mask[..., None].to(chunks.dtype)
        with torch.autocast(device_type=x.device.type, enabled=False):
            residual = self.residual_proj.float()(x.float())
        return ChunkState(chunks, chunk_mask, p, b, mask, residual)

    def dechunk(self, z: torch.Tensor, state: ChunkState) -> torch.Tensor:
        p, b = state.probs, state.boundaries
        s = z.shape[1]
        order = torch.argsort((~b).to(torch.int8), dim=1, stable=True)[:, :s]
        big_p = torch.gather(p, 1, order).clamp(1e-4, 1 - 1e-4) * state.chunk_mask.float()
        zf = z.float()
        out, prev = [], torch.zeros_like(zf[:, 0])
        for i in range(s):
            prev = big_p[:, i, None] * zf[:, i] + (1 - big_p[:, i, None]) * prev
            out.append(prev)
        ema = torch.stack(out, 1)
        idx = (torch.cumsum(b.long(), 1) - 1).clamp_min(0)
        up = torch.gather(ema, 1, idx[..., None].expand(-1, -1, ema.shape[-1]))
        c = torch.where(b, p, 1 - p).float()
        ste = 1.0 + c - c.detach()
        y = up * ste[..., None] + state.residual
        if state.mask is not None:
            y = y * state.mask[..., None].float()
        return y.to(z.dtype)

    def ratio_loss(self, state: ChunkState) -> torch.Tensor:
        return ratio_loss(state.boundaries, state.probs, self.target_ratio, state.mask)
