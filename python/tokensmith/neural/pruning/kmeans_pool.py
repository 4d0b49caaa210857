"""Masked k-means pooling — the object tokenizer (SAOT) of "PixelRefer" (Alibaba DAMO 2025;
`region_encoder.py`): the encoder features inside a region mask are clustered by k-means (5 Lloyd
iterations) into at most `n_tokens` centroids, each a token for the region. Regions with fewer masked
features than tokens get one token per feature; `valid` marks the real tokens.
"""

from __future__ import annotations

import torch

from tokensmith.neural.quantizers.kmeans import kmeans


def masked_kmeans_pool(
    features: torch.Tensor, mask: torch.Tensor, n_tokens: int, iters: int = 5, *, generator=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """features (B, N, C), mask (B, N) bool -> (tokens (B, n_tokens, C), valid (B, n_tokens) bool).

    Centroids are sorted by their first masked member's position so the token order is deterministic.
    Differentiable w.r.t. `features` through the final mean step (assignments are fixed).
    """
    b, n, c = features.shape
    out = features.new_zeros(b, n_tokens, c)
    valid = torch.zeros(b, n_tokens, dtype=torch.bool, device=features.device)
    for i in range(b):
        pts = features[i][mask[i].bool()]
        m = pts.shape[0]
        if m == 0:
            continue
        if m <= n_tokens:
            out[i, :m] = pts
            valid[i, :m] = True
            continue
        centres, _ = kmeans(pts.detach(), n_tokens, iters, generator=generator)
        assign = torch.cdist(pts.detach().float(), centres).argmin(-1)
        counts = torch.bincount(assign, minlength=n_tokens)
        sums = torch.zeros(n_tokens, c, dtype=pts.dtype, device=pts.device).index_add(0, assign, pts)
        means = sums / counts.clamp_min(1)[:, None].to(pts.dtype)
        first = torch.full((n_tokens,), m, device=pts.device).scatter_reduce(
            0, assign, torch.arange(m, device=pts.device), reduce="amin"
        )
        order = first.argsort()
        keep = counts[order] > 0
        k = int(keep.sum())
        out[i, :k] = means[order][keep]
        valid[i, :k] = True
    return out, valid
