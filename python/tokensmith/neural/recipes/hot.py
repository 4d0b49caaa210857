"""HoT — "Hourglass Tokenizer for Efficient Transformer-Based 3D Human Pose Estimation" (Li et al.
2024, NationalGAILab/HoT), on a per-frame-token pose lifter.

2-D pose sequence (T frames × 17 joints) → one token per frame → a few Transformer blocks on all T
tokens → **token pruning cluster** (DPC-kNN picks f representative frames, kept in time order, new
positional embedding) → the remaining blocks on f tokens → **token recovering attention** (T
zero-initialised queries cross-attend to the f tokens) → 3-D joints for every frame. FLOPs drop
because the later blocks run on f instead of T tokens.

Simplification: MixSTE/MotionBERT use one token per (frame, joint) with alternating spatial and
temporal blocks; we use one token per frame (17 joints embedded together) so the CPU demo fits.
Ablations: `prune="uniform"` (every T/f-th frame instead of DPC-kNN), `prune="none"` (full model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.pruning.dpc_knn import dpc_knn
from tokensmith.neural.pruning.recovery import TokenRecoveringAttention
from tokensmith.neural.recipes import _common as C

RECIPE = "hot"


@dataclass(frozen=True)
class HoTConfig:
    frames: int = 81
    """T, frames per clip."""
    joints: int = 17
    """Joints per frame."""
    width: int = 64
    """Token width."""
    depth: int = 4
    """Transformer blocks in total."""
    heads: int = 4
    """Attention heads."""
    mlp_ratio: float = 2.0
    """MLP hidden = mlp_ratio · width."""
    prune_at: int = 1
    """Blocks run on all T tokens before pruning."""
    keep: int = 27
    """f, frames kept after pruning."""
    prune: str = "dpc_knn"
    """dpc_knn (HoT's TPC) | uniform (ablation) | none (full-length model)."""
    knn: int = 2
    """k of DPC-kNN."""

    def __post_init__(self):
        if self.prune not in ("dpc_knn", "uniform", "none"):
            raise ConfigError(f"prune must be dpc_knn, uniform or none, got {self.prune!r}")
        if not 0 < self.prune_at < self.depth or not 0 < self.keep <= self.frames:
            raise ConfigError("need 0 < prune_at < depth and 0 < keep <= frames")


class HoT(nn.Module):
    def __init__(self, cfg: HoTConfig = HoTConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.embed = nn.Linear(cfg.joints * 2, w)
        self.pos = nn.Parameter(torch.randn(cfg.frames, w) * 0.02)
        self.front = C.Transformer(w, cfg.prune_at, cfg.heads, cfg.mlp_ratio)
        self.back = C.Transformer(w, cfg.depth - cfg.prune_at, cfg.heads, cfg.mlp_ratio)
        if cfg.prune != "none":
            self.kept_pos = nn.Parameter(torch.zeros(cfg.keep, w))
            self.recover = TokenRecoveringAttention(w, cfg.frames, cfg.heads)
        self.head = nn.Linear(w, cfg.joints * 3)

    def select(self, h: torch.Tensor) -> torch.Tensor:
        """Indices (B, f) of the kept frames, ascending."""
        cfg = self.cfg
        if cfg.prune == "uniform":
            idx = torch.linspace(0, cfg.frames - 1, cfg.keep, device=h.device).round().long()
            return idx.expand(h.shape[0], -1)
        return dpc_knn(h.detach(), cfg.keep, cfg.knn)[0]

    def forward(self, pose2d: torch.Tensor) -> torch.Tensor:
        """(B, T, J, 2) → (B, T, J, 3)."""
        b, t, j, _ = pose2d.shape
        h = self.front(self.embed(pose2d.reshape(b, t, j * 2)) + self.pos[:t])
        if self.cfg.prune != "none":
            idx = self.select(h)
            h = torch.gather(h, 1, idx[..., None].expand(-1, -1, h.shape[-1])) + self.kept_pos
            h = self.recover(self.back(h))
        else:
            h = self.back(h)
        return self.head(h).reshape(b, t, j, 3)

    def flops(self) -> int:
        """Analytic multiply-adds ×2 of one clip's forward pass (projections, attention, MLP, TRA)."""
        cfg, w = self.cfg, self.cfg.width

        def block(n):
            return (4 + 2 * cfg.mlp_ratio) * n * w * w + 2 * n * n * w

        t, f = cfg.frames, cfg.keep
        macs = t * cfg.joints * 2 * w + t * w * cfg.joints * 3
        macs += cfg.prune_at * block(t)
        if cfg.prune == "none":
            macs += (cfg.depth - cfg.prune_at) * block(t)
        else:
            macs += (cfg.depth - cfg.prune_at) * block(f)
            macs += 2 * t * w * w + 2 * f * w * w + 2 * t * f * w  # TRA: q/out proj on T, k/v on f, attention
            macs += t * t * w / 2 if cfg.prune == "dpc_knn" else 0  # pairwise distances of DPC-kNN
        return int(2 * macs)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 500
    """Optimiser steps."""
    batch_size: int = 32
    """Clips per step."""
    lr: float = 2e-3
    """Peak AdamW learning rate."""
    seed: int = 0
    """Seed."""
    device: str = "cpu"
    """cpu | cuda | auto."""
    amp: bool = False
    """bf16 autocast on CUDA (DPC-kNN distances run in fp32)."""


def train(cfg: HoTConfig, pose2d: np.ndarray, pose3d: np.ndarray, tc: TrainConfig = TrainConfig()):
    gen = C.seed_everything(tc.seed)
    dev = C.resolve_device(tc.device)
    model = HoT(cfg).to(dev)
    x2, x3 = torch.as_tensor(pose2d, device=dev), torch.as_tensor(pose3d, device=dev)

    def step(idx, g):
        with C.autocast(dev, tc.amp):
            pred = model(x2[idx.to(dev)])
        return F.mse_loss(pred.float(), x3[idx.to(dev)])

    info = C.fit(model, step, len(x2), steps=tc.steps, batch_size=tc.batch_size, lr=tc.lr, gen=gen)
    return model, info


@torch.no_grad()
def mpjpe_mm(model: HoT, pose2d: np.ndarray, pose3d: np.ndarray) -> float:
    """Mean per-joint position error in millimetres (targets are in metres, root-relative)."""
    dev = model.pos.device
    pred = torch.cat(C.in_batches(model, torch.as_tensor(pose2d, device=dev), 64))
    return float((pred - torch.as_tensor(pose3d, device=dev)).norm(dim=-1).mean() * 1000)


def save(model: HoT, directory) -> None:
    C.save_recipe(model, directory, model.cfg, recipe=RECIPE)


def load(directory, device: str | None = None) -> HoT:
    return C.load_recipe(directory, HoT, HoTConfig, recipe=RECIPE, device=device)
