"""STD-PLM — "Spatial-Temporal Large Language Model with Dual Tokenizers..." (Hu et al. 2025,
Hyheng/STD-PLM, `sandglassAttn.py`), CPU size.

Traffic-like graph series T × N → a **temporal token** per node (Linear over the input window) plus
a **spatial** embedding from Laplacian eigenvectors → **sandglass attention**: N′ learned
region queries attend the N node tokens (encode), a small Transformer stands in for the pretrained
language model on the N′ region tokens, node queries attend back (decode) → forecast head. The
constraint loss keeps regions graph-local and balanced. Compute in the middle scales with N′ ≪ N.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.neural.pruning.sandglass import SandglassAttention
from tokensmith.neural.recipes import _common as C

RECIPE = "std_plm"


@dataclass(frozen=True)
class STDPLMConfig:
    nodes: int = 50
    """N, graph nodes."""
    regions: int = 8
    """N′, region tokens after the sandglass."""
    window: int = 12
    """Input steps."""
    horizon: int = 12
    """Forecast steps."""
    width: int = 64
    """Token width."""
    depth: int = 2
    """Layers of the stand-in 'PLM'."""
    eigvecs: int = 8
    """Laplacian eigenvectors used for the spatial embedding."""
    constraint_weight: float = 0.1
    """Weight of the sandglass constraint loss (0 disables)."""


def laplacian_eigvecs(adjacency: np.ndarray, k: int) -> np.ndarray:
    """The k smallest non-trivial eigenvectors of the normalised Laplacian (N, k)."""
    a = np.asarray(adjacency, np.float64)
    d = a.sum(1)
    dinv = np.where(d > 0, d**-0.5, 0)
    lap = np.eye(len(a)) - dinv[:, None] * a * dinv[None]
    _, vecs = np.linalg.eigh(lap)
    return vecs[:, 1:k + 1].astype(np.float32)


class STDPLM(nn.Module):
    def __init__(self, cfg: STDPLMConfig = STDPLMConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.temporal = nn.Linear(cfg.window * 2, w)  # values and observed-mask per step
        self.spatial = nn.Linear(cfg.eigvecs, w)
        self.register_buffer("eig", torch.zeros(cfg.nodes, cfg.eigvecs))
        self.register_buffer("adjacency", torch.zeros(cfg.nodes, cfg.nodes))
        self.sandglass = SandglassAttention(w, cfg.nodes, cfg.regions)
        self.plm = C.Transformer(w, cfg.depth, 4)
        self.head = nn.Linear(2 * w, cfg.horizon)

    def set_graph(self, adjacency: np.ndarray) -> None:
        self.eig.copy_(torch.as_tensor(laplacian_eigvecs(adjacency, self.cfg.eigvecs)))
        self.adjacency.copy_(torch.as_tensor(adjacency))

    def forward(self, x: torch.Tensor, mask: torch.Tensor):
        """x, mask (B, window, N) → (forecast (B, horizon, N), region attention (B, N′, N))."""
        tok = self.temporal(torch.cat([x * mask, mask], 1).transpose(1, 2)) + self.spatial(self.eig)
        regions, attn = self.sandglass.encode(tok)
        back = self.sandglass.decode(self.plm(regions))
        return self.head(torch.cat([back, tok], -1)).transpose(1, 2), attn


def windows(series: np.ndarray, mask: np.ndarray, window: int, horizon: int):
    s, m = series[..., 0], mask
    n = len(s) - window - horizon
    idx = np.arange(n)[:, None]
    return (s[idx + np.arange(window)], m[idx + np.arange(window)], s[idx + window + np.arange(horizon)])


def loss_fn(model: STDPLM, x, m, y):
    pred, attn = model(x, m)
    loss = F.mse_loss(pred.float(), y)
    if model.cfg.constraint_weight:
        loss = loss + model.cfg.constraint_weight * SandglassAttention.constraint_loss(attn, model.adjacency)
    return loss


def train(cfg: STDPLMConfig, graph: dict, tc: C.TrainConfig = C.TrainConfig()):
    """graph: the dict of `data.graph_diffusion` (series, adjacency, mask)."""
    C.seed_everything(tc.seed)  # weights from the seed, not from torch's global RNG state
    model = STDPLM(cfg)
    model.set_graph(graph["adjacency"])
    x, m, y = windows(graph["series"], graph["mask"], cfg.window, cfg.horizon)
    return model, C.train_model(model, (x, m, y), loss_fn, tc)


save, load = C.recipe_io(RECIPE, STDPLM, STDPLMConfig)
