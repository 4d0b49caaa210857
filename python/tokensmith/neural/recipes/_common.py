"""Pieces every recipe shares: seeding, a tiny pre-norm Transformer, quantizer factory, the training
loop, metrics and save/load. Recipes stay thin: config dataclass + model + `train` + `encode`/`decode`.

GPU notes: every recipe takes `device=`; with `amp=True` on CUDA the network runs in bf16 autocast
while the quantizers keep their distance math in fp32 (`fp32_region` in the quantizer base).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tokensmith._io import atomic_write
from tokensmith.errors import ConfigError, FormatError


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def resolve_device(device: Optional[str]) -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' asked for but torch sees no GPU; pass device='cpu'")
    return dev


def autocast(device: torch.device, amp: bool):
    """bf16 autocast on CUDA when `amp`; a no-op context elsewhere (CPU demos run fp32)."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bool(amp and device.type == "cuda"))


class Transformer(nn.Module):
    """Pre-norm Transformer encoder stack (no dropout) with an optional boolean attention mask."""

    def __init__(self, width: int, depth: int, heads: int, mlp_ratio: float = 2.0) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(
            width, heads, int(width * mlp_ratio), dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        self.layers = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.norm(self.layers(x, mask=mask))


def make_quantizer(kind: str, dim: int, *, codebook_size: int = 256, token_dim: int = 8,
                   fsq_levels=(8, 5, 5, 5), use_cosine: bool = True, temperature: float = 0.07,
                   commitment: float = 0.25, dead_code: float = 0.0):
    """Build a tokensmith.neural quantizer by short name: vq | fsq | softvq | bsq | none."""
    from tokensmith.neural.quantizers.bsq import BSQ
    from tokensmith.neural.quantizers.fsq import FSQ
    from tokensmith.neural.quantizers.softvq import SoftVQ
    from tokensmith.neural.quantizers.vq import VectorQuantizer

    if kind == "vq":
        return VectorQuantizer(dim, codebook_size, codebook_dim=token_dim, use_cosine=use_cosine,
                               commitment_weight=commitment, kmeans_init=True, threshold_dead_code=dead_code)
    if kind == "fsq":
        return FSQ(list(fsq_levels), dim)
    if kind == "softvq":
        return SoftVQ(dim, codebook_size, codebook_dim=token_dim, temperature=temperature, use_cosine=use_cosine)
    if kind == "bsq":
        return BSQ(dim, codebook_size)
    if kind == "none":
        return None
    raise ConfigError(f"unknown quantizer {kind!r}; use one of vq, fsq, softvq, bsq, none")


def quantize(q, z: torch.Tensor):
    """Apply quantizer `q` (or pass through when None): returns (zq, indices, aux)."""
    if q is None:
        return z, None, z.new_zeros(())
    zq, idx, aux = q(z)
    return zq, idx, aux


def bits_per_token(kind: str, codebook_size: int, fsq_levels=(8, 5, 5, 5)) -> float:
    if kind == "fsq":
        return math.log2(math.prod(fsq_levels))
    if kind in ("vq", "softvq", "bsq"):
        return math.log2(codebook_size)
    return float("nan")  # continuous tokens have no finite bit count


# --------------------------------------------------------------------------------------------
def batches(n: int, batch_size: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless shuffled index batches (drop_last) driven by `gen` for reproducibility."""
    while True:
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n - batch_size + 1, batch_size):
            yield perm[i:i + batch_size]


def fit(model: nn.Module, step_fn: Callable[[torch.Tensor, torch.Generator], torch.Tensor], n: int, *,
        steps: int, batch_size: int, lr: float, gen: torch.Generator, weight_decay: float = 1e-4,
        warmup: int = 50, clip: float = 1.0, log_every: int = 0, params=None) -> dict:
    """AdamW + linear warm-up + cosine decay to 10%; `step_fn(idx, gen)` returns the loss."""
    opt = torch.optim.AdamW(params if params is not None else model.parameters(), lr=lr,
                            betas=(0.9, 0.99), weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / max(1, steps))))))
    model.train()
    it = batches(n, batch_size, gen)
    t0, losses, grad_norms = time.time(), [], []
    for step in range(steps):
        loss = step_fn(next(it), gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        grad_norms.append(float(gn))
        if log_every and (step + 1) % log_every == 0:
            print(f"  step {step + 1}/{steps} loss {np.mean(losses[-log_every:]):.4f}", flush=True)
    model.eval()
    return {"seconds": time.time() - t0, "final_loss": float(np.mean(losses[-20:])),
            "grad_norm_mean": float(np.mean(grad_norms)), "grad_norm_std": float(np.std(grad_norms))}


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> float:
    """Mean over images of 10·log10(range² / MSE), images clipped to [0, range]."""
    mse = (x.clamp(0, data_range) - y).float().pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return float((10 * torch.log10(data_range**2 / mse)).mean())


@torch.no_grad()
def in_batches(fn: Callable[[torch.Tensor], Any], x: torch.Tensor, batch_size: int = 256) -> list:
    return [fn(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]


def linear_probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray) -> float:
    """Accuracy of a multinomial logistic regression on frozen features (token one-hots or vectors)."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=300, C=1.0)
    clf.fit(train_x, train_y)
    return float(clf.score(test_x, test_y))


def one_hot_tokens(indices: np.ndarray, codebook_size: int) -> np.ndarray:
    """(N, K) token ids → (N, K·C) one-hot features for a linear probe."""
    n, k = indices.shape
    out = np.zeros((n, k * codebook_size), np.float32)
    out[np.arange(n)[:, None], np.arange(k)[None] * codebook_size + indices] = 1
    return out


# --------------------------------------------------------------------------------------------
def config_dict(cfg) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def save_recipe(model: nn.Module, directory: str | os.PathLike, cfg, *, recipe: str) -> Path:
    """`model.safetensors` + `config.json` ({recipe, config}); never pickle."""
    from safetensors.torch import save_model

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / "model.safetensors.tmp"
    save_model(model, str(tmp), metadata={"recipe": recipe})
    os.replace(tmp, directory / "model.safetensors")
    with atomic_write(directory / "config.json") as f:
        json.dump({"format_version": 1, "recipe": recipe, "config": config_dict(cfg)}, f, indent=2, sort_keys=True)
    return directory


def load_recipe(directory: str | os.PathLike, model_cls, cfg_cls, *, recipe: str, device: str | None = None):
    """Rebuild `model_cls(cfg_cls(**config))` from `save_recipe` output and load its weights."""
    from safetensors.torch import load_model

    directory = Path(directory)
    cfg_path = directory / "config.json"
    if not cfg_path.is_file() or not (directory / "model.safetensors").is_file():
        raise FormatError(f"{directory} needs config.json and model.safetensors; write them with save()")
    meta = json.loads(cfg_path.read_text(encoding="utf-8"))
    if meta.get("recipe") != recipe:
        raise FormatError(f"{directory} holds a {meta.get('recipe')!r} model, not {recipe!r}")
    fields = {f.name for f in dataclasses.fields(cfg_cls)}
    cfg = cfg_cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in meta["config"].items() if k in fields})
    model = model_cls(cfg)
    load_model(model, str(directory / "model.safetensors"), strict=True, device=device or "cpu")
    return model.to(device or "cpu").eval()


# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Training settings shared by the smaller recipes."""

    steps: int = 500
    """Optimiser steps."""
    batch_size: int = 32
    """Examples per step."""
    lr: float = 1e-3
    """Peak AdamW learning rate (warm-up, cosine to 10%)."""
    seed: int = 0
    """Seed for init and batching."""
    device: str = "cpu"
    """cpu | cuda | auto."""
    amp: bool = False
    """bf16 autocast on CUDA (quantizer distances stay fp32)."""


def train_model(model: nn.Module, arrays: tuple, loss_fn: Callable[..., torch.Tensor], tc: TrainConfig,
                log_every: int = 0) -> dict:
    """Move `model` and `arrays` to tc.device and minimise `loss_fn(model, *batch)` over random batches."""
    gen = seed_everything(tc.seed)
    dev = resolve_device(tc.device)
    model.to(dev)
    tensors = [torch.as_tensor(a).to(dev) for a in arrays]

    def step(idx, g):
        with autocast(dev, tc.amp):
            return loss_fn(model, *[t[idx.to(dev)] for t in tensors])

    return fit(model, step, len(tensors[0]), steps=tc.steps, batch_size=min(tc.batch_size, len(tensors[0])),
               lr=tc.lr, gen=gen, log_every=log_every)


def recipe_io(recipe: str, model_cls, cfg_cls):
    """(save, load) functions for a recipe whose model is `model_cls(cfg)`."""

    def save(model, directory):
        return save_recipe(model, directory, model.cfg, recipe=recipe)

    def load(directory, device: str | None = None):
        return load_recipe(directory, model_cls, cfg_cls, recipe=recipe, device=device)

    return save, load
