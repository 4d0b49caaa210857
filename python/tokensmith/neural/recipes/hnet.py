"""H-Net — "Dynamic Chunking for End-to-End Hierarchical Sequence Modeling" (Hwang, Wang & Gu 2025,
goombalab/hnet), one stage, CPU size.

bytes → embedding → encoder (causal Transformer) → **dynamic chunking** (cosine routing between
neighbours, keep boundary vectors) → main network over chunks (causal Transformer) → dechunk (EMA
over chunks, upsample, STE confidence, zero-initialised residual) → decoder → next-byte logits.
Loss = next-byte cross-entropy + α·ratio loss (target compression N). The official stack uses
Mamba-2 layers and a CUDA scan; here small Transformers stand in (the routing is the same block,
`tokensmith.neural.chunking.DynamicChunking`).

`routing="fixed"` is the baseline: a boundary every N bytes (same chunk count on average, same
compute), the rest of the network identical.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.chunking.dynamic import ChunkState, DynamicChunking
from tokensmith.neural.recipes import _common as C

RECIPE = "hnet"


@dataclass(frozen=True)
class HNetConfig:
    width: int = 64
    """Model width (all stages)."""
    enc_depth: int = 1
    """Encoder (byte-level) layers."""
    main_depth: int = 2
    """Main-network (chunk-level) layers."""
    dec_depth: int = 1
    """Decoder (byte-level) layers."""
    heads: int = 4
    """Attention heads."""
    max_len: int = 128
    """Longest byte sequence (positional table size)."""
    target_ratio: float = 3.0
    """N of the ratio loss: one chunk per N bytes on average."""
    ratio_weight: float = 0.03
    """α, the weight of the ratio loss."""
    routing: str = "learned"
    """learned (H-Net) | fixed (boundary every round(N) bytes: the baseline)."""

    def __post_init__(self):
        if self.routing not in ("learned", "fixed"):
            raise ConfigError(f"routing must be learned or fixed, got {self.routing!r}")


def causal_mask(n: int, device) -> torch.Tensor:
    return torch.triu(torch.ones(n, n, dtype=torch.bool, device=device), 1)


class HNet(nn.Module):
    def __init__(self, cfg: HNetConfig = HNetConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.embed = nn.Embedding(256, w)
        self.pos = nn.Parameter(torch.randn(cfg.max_len, w) * 0.02)
        self.chunk_pos = nn.Parameter(torch.randn(cfg.max_len, w) * 0.02)
        self.encoder = C.Transformer(w, cfg.enc_depth, cfg.heads)
        self.dc = DynamicChunking(w, target_ratio=cfg.target_ratio)
        self.main = C.Transformer(w, cfg.main_depth, cfg.heads)
        self.decoder = C.Transformer(w, cfg.dec_depth, cfg.heads)
        self.head = nn.Linear(w, 256)

    def _fixed_state(self, x: torch.Tensor) -> ChunkState:
        b, n, _ = x.shape
        stride = max(1, int(round(self.cfg.target_ratio)))
        bnd = (torch.arange(n, device=x.device) % stride == 0).expand(b, -1)
        p = bnd.float()
        s = int(bnd[0].sum())
        chunks = x[:, bnd[0]]
        with torch.autocast(device_type=x.device.type, enabled=False):
            residual = self.dc.residual_proj.float()(x.float())
        return ChunkState(chunks, torch.ones(b, s, dtype=torch.bool, device=x.device), p, bnd, None, residual)

    def forward(self, ids: torch.Tensor):
        """ids (B, L) bytes → (logits (B, L, 256) for the *next* byte, ChunkState)."""
        n = ids.shape[1]
        h = self.encoder(self.embed(ids) + self.pos[:n], mask=causal_mask(n, ids.device))
        state = self._fixed_state(h) if self.cfg.routing == "fixed" else self.dc.chunk(h)
        s = state.chunks.shape[1]
        z = self.main(state.chunks + self.chunk_pos[:s], mask=causal_mask(s, ids.device))
        y = self.dc.dechunk(z, state)
        out = self.decoder(y + self.pos[:n], mask=causal_mask(n, ids.device))
        return self.head(out), state

    def loss(self, ids: torch.Tensor):
        logits, state = self(ids)
        ce = F.cross_entropy(logits[:, :-1].reshape(-1, 256).float(), ids[:, 1:].reshape(-1))
        rl = self.dc.ratio_loss(state) if self.cfg.routing == "learned" else ce.new_zeros(())
        return ce + self.cfg.ratio_weight * rl, ce, state

    @torch.no_grad()
    def boundaries(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, L) bool chunk starts the router picks (the 'tokenization')."""
        return self(ids)[1].boundaries

    @torch.no_grad()
    def encode(self, data: bytes) -> list[bytes]:
        """Split `data` into the model's chunks (≤ max_len bytes per window)."""
        ids = torch.tensor(list(data), dtype=torch.long, device=self.pos.device)
        out, cur = [], bytearray()
        for i in range(0, len(ids), self.cfg.max_len):
            b = self.boundaries(ids[i:i + self.cfg.max_len][None])[0].tolist()
            for byte, start in zip(data[i:i + self.cfg.max_len], b):
                if start and cur:
                    out.append(bytes(cur))
                    cur = bytearray()
                cur.append(byte)
        if cur:
            out.append(bytes(cur))
        return out


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 800
    """Optimiser steps."""
    batch_size: int = 32
    """Windows per step."""
    seq_len: int = 128
    """Bytes per window."""
    lr: float = 2e-3
    """Peak AdamW learning rate."""
    seed: int = 0
    """Seed."""
    device: str = "cpu"
    """cpu | cuda | auto."""
    amp: bool = False
    """bf16 autocast on CUDA."""


def windows(stream: np.ndarray, seq_len: int) -> torch.Tensor:
    n = len(stream) // seq_len
    return torch.as_tensor(stream[: n * seq_len].astype(np.int64)).view(n, seq_len)


def train(cfg: HNetConfig, stream: np.ndarray, tc: TrainConfig = TrainConfig(), *, log_every: int = 0):
    gen = C.seed_everything(tc.seed)
    dev = C.resolve_device(tc.device)
    model = HNet(cfg).to(dev)
    data = windows(stream, tc.seq_len).to(dev)
    # random window offsets each step keep boundaries from aligning with window starts
    flat = torch.as_tensor(stream.astype(np.int64), device=dev)

    def step(idx, g):
        starts = torch.randint(0, len(flat) - tc.seq_len - 1, (len(idx),), generator=g).to(dev)
        batch = flat[starts[:, None] + torch.arange(tc.seq_len, device=dev)]
        with C.autocast(dev, tc.amp):
            loss, _, _ = model.loss(batch)
        return loss

    info = C.fit(model, step, max(len(data), tc.batch_size), steps=tc.steps, batch_size=tc.batch_size, lr=tc.lr,
                 gen=gen, log_every=log_every)
    return model, info


@torch.no_grad()
def evaluate(model: HNet, stream: np.ndarray, true_boundaries: np.ndarray, seq_len: int = 128) -> dict:
    """Bits per byte (next-byte CE / ln 2), compression (bytes per chunk) and boundary P/R/F1."""
    dev = model.pos.device
    ids = windows(stream, seq_len).to(dev)
    truth = windows(true_boundaries, seq_len).bool().to(dev)
    ces, pred = [], []
    for i in range(0, len(ids), 64):
        _, ce, state = model.loss(ids[i:i + 64])
        ces.append(float(ce) * len(ids[i:i + 64]))
        pred.append(state.boundaries)
    pred = torch.cat(pred)
    p, t = pred[:, 1:], truth[:, 1:]  # position 0 is a boundary by construction
    tp = float((p & t).sum())
    prec, rec = tp / max(1.0, float(p.sum())), tp / max(1.0, float(t.sum()))
    return {"bpb": sum(ces) / len(ids) / math.log(2), "bytes_per_chunk": float(pred.numel() / pred.sum()),
            "boundary_precision": prec, "boundary_recall": rec,
            "boundary_f1": 2 * prec * rec / max(1e-9, prec + rec)}


def save(model: HNet, directory) -> None:
    C.save_recipe(model, directory, model.cfg, recipe=RECIPE)


def load(directory, device: str | None = None) -> HNet:
    return C.load_recipe(directory, HNet, HNetConfig, recipe=RECIPE, device=device)
