"""Lloyd's k-means in torch (Lloyd 1982), used for codebook init (`kmeans_init`) and token pooling.

`kmeans(x, k)` minimises Σ_i ||x_i − c_{a(i)}||² by alternating assignment and mean steps;
with `cosine=True` points and centres live on the unit sphere (spherical k-means).
"""

from __future__ import annotations

from typing import Optional

import torch

from tokensmith.neural.quantizers.base import l2norm


def pairwise_sq_dist(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """||x_i − c_k||² as |x|² − 2 x·c + |c|², clamped at 0; fp32 inputs expected. (N,D),(K,D) -> (N,K)."""
    return (x.pow(2).sum(-1, keepdim=True) - 2 * x @ c.t() + c.pow(2).sum(-1)[None]).clamp_min(0)


@torch.no_grad()
def kmeans(
    x: torch.Tensor,
    k: int,
    iters: int = 10,
    *,
    cosine: bool = False,
    generator: Optional[torch.Generator] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cluster `x` (N, D) into `k` centres. Returns (centres (k, D), counts (k,)).

    Centres start at k random points (with replacement when N < k); an empty cluster keeps its centre.
    """
    x = x.float()
    if cosine:
        x = l2norm(x)
    n = x.shape[0]
    if n >= k:
        idx = torch.randperm(n, generator=generator, device="cpu")[:k].to(x.device)
    else:
        idx = torch.randint(0, n, (k,), generator=generator, device="cpu").to(x.device)
    centres = x[idx].clone()
    counts = torch.zeros(k, device=x.device)
    for _ in range(max(iters, 1)):
        assign = pairwise_sq_dist(x, centres).argmin(-1)
        counts = torch.bincount(assign, minlength=k).float()
        sums = torch.zeros_like(centres).index_add_(0, assign, x)
        new = sums / counts.clamp_min(1)[:, None]
        if cosine:
            new = l2norm(new)
        centres = torch.where(counts[:, None] > 0, new, centres)
    return centres, counts
