"""Vector quantization — VQ-VAE (van den Oord et al. 2017, "Neural Discrete Representation Learning").

Lookup `k* = argmin_k ||z − e_k||²` (fp32), straight-through output `ẑ = z + sg(e_{k*} − z)` and loss
`L = ||sg(z) − e_{k*}||² + β ||z − sg(e_{k*})||²` (eq. 3 of the paper; β = 0.25). Options, all off by
default, each from the paper that introduced it:

* `use_cosine` — l2-normalise z and e before the lookup (Yu et al. 2022, ViT-VQGAN; TiTok `use_l2_norm`).
* `codebook_dim` — project to a low-dimensional code space and back (ViT-VQGAN factorised codes).
* `kmeans_init` — codebook = k-means of the first training batch (Zeghidour et al. 2021, SoundStream).
* `ema` — codebook as an exponential moving average of assigned encoder outputs, with Laplace-smoothed
  counts `N̂_k = (N_k+ε)/(ΣN+Kε)·ΣN` (VQ-VAE appendix A.1; Razavi et al. 2019); no codebook loss then.
* `threshold_dead_code` — a code whose EMA count falls below the threshold is re-seeded with a random
  encoder output of the batch (SoundStream; Dhariwal et al. 2020, Jukebox).
* `anchor_refresh` — online clustered codebook (Zheng & Vedaldi 2023, CVQ-VAE; `clustering_vq` in
  bytedance/1d-tokenizer): `e_k ← (1−α_k)e_k + α_k a_k`, a_k the batch feature nearest to e_k,
  `α_k = exp(−p_k·K·10/(1−γ) − 1e−3)` with p_k the EMA usage probability.
* `entropy_weight` — LlamaGen-style `mean_i H(q_i) − H(mean_i q_i)`, `q_i = softmax(−d_i/τ)`.
* `rotation_trick` — gradient via the rotation that maps z onto e (Fifty et al. 2024) instead of copying it.
* `simvq` — SimVQ (Zhu et al. 2024, "Addressing Representation Collapse in Vector Quantized Models with
  One Linear Layer"): a frozen random codebook C and a learned linear map W, codes = C·W, so every
  code moves with each update (TA-Tok's text-aligned codebook is this with C = LLM embeddings).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.io import configurable
from tokensmith.neural.quantizers.base import (
    Quantizer,
    QuantizerOutput,
    check_last_dim,
    fp32_region,
    l2norm,
    straight_through,
)
from tokensmith.neural.quantizers.kmeans import kmeans, pairwise_sq_dist


def rotate_onto(z: torch.Tensor, e: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Rotation trick (Fifty et al. 2024, eq. 4): value `e`, gradient through the (detached) rotation and
    rescaling that carry z onto e: `R z·|e|/|z|` with `R = I − 2wwᵀ + 2 ê ẑᵀ`, `w = (ẑ+ê)/|ẑ+ê|`."""
    zn = z.norm(dim=-1, keepdim=True).clamp_min(eps)
    en = e.norm(dim=-1, keepdim=True)
    u = (z / zn).detach()
    q = (e / en.clamp_min(eps)).detach()
    w = l2norm(u + q).detach()
    rotated = z - 2 * (z * w).sum(-1, keepdim=True) * w + 2 * (z * u).sum(-1, keepdim=True) * q
    return rotated * (en / zn).detach()


def entropy_loss(distances: torch.Tensor, temperature: float = 0.01) -> torch.Tensor:
    """LlamaGen / MaskGIT codebook entropy loss: mean_i H(softmax(−d_i/τ)) − H(mean_i softmax(−d_i/τ))."""
    logp = F.log_softmax(-distances / temperature, dim=-1)
    p = logp.exp()
    per_sample = -(p * logp).sum(-1).mean()
    avg = p.mean(0)
    codebook = -(avg * (avg + 1e-10).log()).sum()
    return per_sample - codebook


@configurable
class VectorQuantizer(Quantizer):
    """VQ layer. `forward(x (..., dim)) -> (quantized (..., dim), indices (...), aux_loss)`.

    Args:
        dim: input features.
        codebook_size: number of codes K.
        codebook_dim: code dimension; a Linear projects in and out when it differs from `dim`.
        use_cosine: l2-normalise z and codes before the lookup (bounded distances; use with ≥8-d codes).
        commitment_weight: β of the commitment term.
        codebook_weight: weight of the codebook term (ignored with `ema`).
        ema: update codes by EMA of assigned vectors (decay `decay`) instead of by gradient.
        decay: γ of the EMA statistics (0.99 in the papers).
        eps: Laplace smoothing of EMA counts.
        kmeans_init: initialise codes by k-means on the first training batch.
        kmeans_iters: Lloyd iterations for `kmeans_init`.
        threshold_dead_code: restart codes whose EMA count is below this (0 = off).
        anchor_refresh: CVQ anchored refresh of starving codes (each training step).
        anchor_decay: γ of the EMA usage probability for the anchor refresh.
        entropy_weight: weight of the entropy/diversity loss (0 = off).
        entropy_temperature: τ of that loss.
        rotation_trick: use the rotation trick instead of the straight-through copy.
        simvq: frozen codebook C with a learned linear map W (codes = C·W); excludes ema, kmeans_init,
            anchor_refresh and dead-code restarts, which edit C directly.
    """

    def __init__(
        self,
        dim: int,
        codebook_size: int,
        *,
        codebook_dim: Optional[int] = None,
        use_cosine: bool = False,
        commitment_weight: float = 0.25,
        codebook_weight: float = 1.0,
        ema: bool = False,
        decay: float = 0.99,
        eps: float = 1e-5,
        kmeans_init: bool = False,
        kmeans_iters: int = 10,
        threshold_dead_code: float = 0.0,
        anchor_refresh: bool = False,
        anchor_decay: float = 0.99,
        entropy_weight: float = 0.0,
        entropy_temperature: float = 0.01,
        rotation_trick: bool = False,
        simvq: bool = False,
    ) -> None:
        super().__init__()
        if codebook_size < 1 or dim < 1:
            raise ConfigError(f"VectorQuantizer needs dim >= 1 and codebook_size >= 1, got {dim}, {codebook_size}")
        if not 0.0 <= decay < 1.0 or not 0.0 <= anchor_decay < 1.0:
            raise ConfigError("decay and anchor_decay must lie in [0, 1)")
        self.dim = dim
        self.codebook_dim = codebook_dim or dim
        self.use_cosine = use_cosine
        self.commitment_weight = commitment_weight
        self.codebook_weight = codebook_weight
        self.ema = ema
        self.decay = decay
        self.eps = eps
        self.kmeans_init = kmeans_init
        self.kmeans_iters = kmeans_iters
        self.threshold_dead_code = threshold_dead_code
        self.anchor_refresh = anchor_refresh
        self.anchor_decay = anchor_decay
        self.entropy_weight = entropy_weight
        self.entropy_temperature = entropy_temperature
        self.rotation_trick = rotation_trick
        self.simvq = simvq
        if simvq and (ema or kmeans_init or anchor_refresh or threshold_dead_code > 0):
            raise ConfigError("simvq learns a linear map over a frozen codebook; turn off ema, kmeans_init, "
                              "anchor_refresh and threshold_dead_code")
        self._init_usage(codebook_size)

        proj = self.codebook_dim != dim
        self.project_in = nn.Linear(dim, self.codebook_dim) if proj else nn.Identity()
        self.project_out = nn.Linear(self.codebook_dim, dim) if proj else nn.Identity()
        init = torch.empty(codebook_size, self.codebook_dim).uniform_(-1.0 / codebook_size, 1.0 / codebook_size)
        if use_cosine:
            init = l2norm(torch.randn(codebook_size, self.codebook_dim))
        if simvq:
            init = torch.randn(codebook_size, self.codebook_dim) * self.codebook_dim**-0.5
        self.codebook = nn.Parameter(init, requires_grad=not (ema or simvq))
        self.code_map = nn.Linear(self.codebook_dim, self.codebook_dim, bias=False) if simvq else None
        self.register_buffer("initted", torch.tensor(not kmeans_init))
        self.register_buffer("ema_count", torch.ones(codebook_size))  # EMA of assignment counts N_k
        self.register_buffer("ema_sum", init.clone())  # EMA of assigned sums m_k (used with ema=True)
        self.register_buffer("usage_prob", torch.zeros(codebook_size))  # CVQ p_k

    # ------------------------------------------------------------------------------------------
    def codes(self) -> torch.Tensor:
        """The codebook as used for lookup (normalised when `use_cosine`), fp32, (K, codebook_dim)."""
        c = self.codebook.float()
        if self.code_map is not None:
            c = c @ self.code_map.weight.float().t()
        return l2norm(c) if self.use_cosine else c

    def indices_to_codes(self, indices: torch.Tensor) -> torch.Tensor:
        return self.project_out(F.embedding(indices, self.codes()).to(self._param_dtype()))

    def _param_dtype(self) -> torch.dtype:
        return self.codebook.dtype

    def forward(self, x: torch.Tensor) -> QuantizerOutput:
        check_last_dim(x, self.dim, "VectorQuantizer")
        shape = x.shape[:-1]
        z = self.project_in(x)
        with fp32_region(x.device):
            z = z.float().reshape(-1, self.codebook_dim)
            raw_norm = z.detach().norm(dim=-1).mean()
            if self.use_cosine:
                z = l2norm(z)
            if self.training and self.kmeans_init and not bool(self.initted):  # (sync only in k-means mode)
                self._kmeans_init(z.detach())
            codes = self.codes()
            dist = pairwise_sq_dist(z, codes)
            idx = dist.argmin(-1)
            e = F.embedding(idx, codes)
            aux = self.commitment_weight * F.mse_loss(z, e.detach())
            if not self.ema and self.codebook_weight:
                aux = aux + self.codebook_weight * F.mse_loss(z.detach(), e)
            if self.entropy_weight:
                aux = aux + self.entropy_weight * entropy_loss(dist, self.entropy_temperature)
            self.last_batch = {  # tensors: no device sync until stats()
                "mean_z_norm": raw_norm,
                "mean_cos_z_code": F.cosine_similarity(z.detach(), e.detach(), dim=-1).mean(),
            }
            if self.training:
                self._update(z.detach(), idx)
            out = rotate_onto(z, e) if self.rotation_trick else straight_through(z, e)
        out = self.project_out(out.to(x.dtype))
        idx = idx.reshape(shape)
        self.track_usage(idx)
        return QuantizerOutput(out.reshape(*shape, self.dim), idx, aux)

    # --- training-time codebook maintenance ------------------------------------------------------
    @torch.no_grad()
    def _kmeans_init(self, z: torch.Tensor) -> None:
        centres, counts = kmeans(z, self.codebook_size, self.kmeans_iters, cosine=self.use_cosine)
        self.codebook.data.copy_(centres)
        self.ema_sum.copy_(centres * counts.clamp_min(1)[:, None])
        self.ema_count.copy_(counts.clamp_min(1))
        self.initted.fill_(True)

    @torch.no_grad()
    def _update(self, z: torch.Tensor, idx: torch.Tensor) -> None:
        k = self.codebook_size
        counts = torch.bincount(idx, minlength=k).float()
        self.ema_count.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        if self.ema:
            sums = torch.zeros(k, self.codebook_dim, device=z.device).index_add_(0, idx, z)
            self.ema_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
            total = self.ema_count.sum()
            smoothed = (self.ema_count + self.eps) / (total + k * self.eps) * total
            self.codebook.data.copy_(self.ema_sum / smoothed[:, None])
        if self.anchor_refresh:
            self._anchor_refresh(z, counts)
        if self.threshold_dead_code > 0:
            self._restart_dead(z)

    @torch.no_grad()
    def _anchor_refresh(self, z: torch.Tensor, counts: torch.Tensor) -> None:
        k = self.codebook_size
        self.usage_prob.mul_(self.anchor_decay).add_(counts / counts.sum(), alpha=1 - self.anchor_decay)
        anchors = z[pairwise_sq_dist(z, self.codes()).argmin(0)]  # nearest batch feature per code
        alpha = torch.exp(-(self.usage_prob * k * 10) / (1 - self.anchor_decay) - 1e-3)[:, None]
        self.codebook.data.mul_(1 - alpha).add_(alpha * anchors)
        if self.ema:
            self.ema_sum.copy_(self.codebook.data * self.ema_count[:, None])

    @torch.no_grad()
    def _restart_dead(self, z: torch.Tensor) -> None:
        dead = self.ema_count < self.threshold_dead_code
        n = int(dead.sum())
        if n == 0:
            return
        pick = torch.randint(0, z.shape[0], (n,), device=z.device)
        fresh = z[pick]
        self.codebook.data[dead] = fresh
        self.ema_count[dead] = float(self.threshold_dead_code)
        self.ema_sum[dead] = fresh * float(self.threshold_dead_code)

    def stats(self) -> dict:
        """Usage since the last reset plus last-batch diagnostics: mean |z| (before normalisation) and cos(z, e_k*)."""
        return {**super().stats(), **{k: float(v) for k, v in getattr(self, "last_batch", {}).items()}}

    def extra_repr(self) -> str:
        return (
            f"dim={self.dim}, codebook_size={self.codebook_size}, codebook_dim={self.codebook_dim}, "
            f"cosine={self.use_cosine}, ema={self.ema}"
        )
