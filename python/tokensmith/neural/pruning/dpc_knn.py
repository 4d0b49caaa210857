"""Token pruning cluster by DPC-kNN — Li et al. 2024, "Hourglass Tokenizer for Efficient
Transformer-Based 3D Human Pose Estimation" (HoT, §3.2, `cluster_dpc_knn` in NationalGAILab/HoT);
density peaks clustering of Rodriguez & Laio 2014 with the kNN density of Du et al. 2016.

    d_ij = ||x_i − x_j|| / √C
    ρ_i  = exp(−mean_{j ∈ kNN(i)} d_ij²)        (kNN includes i itself, as in the reference; +tiny noise)
    δ_i  = min_{j: ρ_j > ρ_i} d_ij               (max_j d_ij for the densest token)
    keep the n_keep tokens with the largest ρ_i·δ_i (cluster centres, not averages), sorted in time.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.io import configurable


@torch.no_grad()
def dpc_knn(
    x: torch.Tensor, n_keep: int, k: int = 2, *, token_mask: Optional[torch.Tensor] = None, sort: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick `n_keep` cluster centres among the N tokens of x (B, N, C).

    Returns (centre indices (B, n_keep) — ascending when `sort` —, cluster id of every token (B, N)
    in [0, n_keep): each token joins its nearest centre). `token_mask` (B, N) excludes padding.
    """
    b, n, c = x.shape
    if not 1 <= n_keep <= n:
        raise ConfigError(f"n_keep must lie in [1, {n}], got {n_keep}")
    x = x.float()
    dist = torch.cdist(x, x) / c**0.5
    if token_mask is not None:
        valid = token_mask.bool()
        dist = torch.where(valid[:, None, :], dist, dist.max() + 1)
    nearest = dist.topk(min(k, n), dim=-1, largest=False).values
    density = torch.exp(-(nearest**2).mean(-1))
    density = density + torch.rand(density.shape, device=x.device, generator=None) * 1e-6
    if token_mask is not None:
        density = density * token_mask.float()
    higher = density[:, None, :] > density[:, :, None]  # [b, i, j]: ρ_j > ρ_i
    dist_max = dist.flatten(1).max(-1).values[:, None, None]
    delta = torch.where(higher, dist, dist_max).min(-1).values
    score = delta * density
    centres = score.topk(n_keep, dim=-1).indices
    if sort:
        centres = centres.sort(-1).values
    to_centre = torch.gather(dist, 1, centres[..., None].expand(-1, -1, n))  # (B, n_keep, N)
    cluster = to_centre.argmin(1)
    cluster.scatter_(1, centres, torch.arange(n_keep, device=x.device).expand(b, -1))
    return centres, cluster


@configurable
class TokenPruningCluster(nn.Module):
    """HoT's TPC: `forward(x (B, T, ...,  C)) -> (kept (B, n_keep, ..., C), indices (B, n_keep))`.

    Frame features are the mean over any axes between time and channels (joints); the kept frames are
    gathered whole (all their joint tokens) and, if `dim` is given, a fresh learned positional embedding
    (n_keep, dim) is added.
    """

    def __init__(self, n_keep: int, k: int = 2, *, dim: Optional[int] = None) -> None:
        super().__init__()
        self.n_keep, self.k = n_keep, k
        self.pos = nn.Parameter(torch.zeros(n_keep, dim)) if dim else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = x.flatten(2, -2).mean(2) if x.dim() > 3 else x
        idx, _ = dpc_knn(feats.detach(), self.n_keep, self.k)
        gather = idx.view(*idx.shape, *([1] * (x.dim() - 2))).expand(-1, -1, *x.shape[2:])
        kept = torch.gather(x, 1, gather)
        if self.pos is not None:
            shape = (1, self.n_keep) + (1,) * (x.dim() - 3) + (x.shape[-1],)
            kept = kept + self.pos.view(shape).to(kept.dtype)
        return kept, idx
