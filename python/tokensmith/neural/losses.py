"""Shared losses and metrics for neural tokenizers (neural.md B13), none needing pretrained networks.

Reconstruction: `mse`, `l1`, `psnr` (10·log10(MAX²/MSE)), `ssim` (Wang et al. 2004, eq. 13, Gaussian
window σ = 1.5). Quantizer terms: `commitment_loss` / `codebook_loss` (van den Oord et al. 2017, eq. 3),
`entropy_loss` (LlamaGen/MaskGIT), `codebook_usage` (codes used, perplexity = exp H). Rate: `bits_per_token`,
`bits_per_pixel`, `bitrate`, `compression_ratio`. GAN pieces that work with any discriminator:
`hinge_d_loss` / `hinge_g_loss` (Lim & Ye 2017), `lecam_regularizer` (Tseng et al. 2021, eq. 3),
`adaptive_weight` (Esser et al. 2021, eq. 7), `repa_loss` (cosine alignment to supplied features,
Yu et al. 2025). Task metrics: `boundary_prf` (chunking), `mpjpe` (pose), `iou`/`miou` (masks,
occupancy), `chamfer_distance` / `fscore` (3-D), plus `kl_divergence` and H-Net's `ratio_loss`.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from tokensmith.neural.chunking.dynamic import ratio_loss
from tokensmith.neural.quantizers.vq import entropy_loss

__all__ = [
    "adaptive_weight", "bitrate", "bits_per_pixel", "bits_per_token", "boundary_prf", "chamfer_distance",
    "codebook_loss", "codebook_usage", "commitment_loss", "compression_ratio", "entropy_loss", "fscore",
    "hinge_d_loss", "hinge_g_loss", "iou", "kl_divergence", "l1", "lecam_regularizer", "miou", "mpjpe", "mse",
    "psnr", "ratio_loss", "repa_loss", "ssim",
]


# --- reconstruction ---------------------------------------------------------------------------------
def mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(x.float(), y.float())


def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(x.float(), y.float())


def psnr(x: torch.Tensor, y: torch.Tensor, max_value: float = 1.0, *, per_sample: bool = False) -> torch.Tensor:
    """10·log10(MAX²/MSE); `per_sample` averages the per-sample PSNRs over dim 0 instead of pooling the MSE."""
    err = (x.float() - y.float()).pow(2)
    if per_sample:
        m = err.flatten(1).mean(1).clamp_min(1e-12)
        return (10 * torch.log10(max_value**2 / m)).mean()
    return 10 * torch.log10(max_value**2 / err.mean().clamp_min(1e-12))


def _gaussian_window(size: int, sigma: float, device, dtype) -> torch.Tensor:
    g = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(g**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(x: torch.Tensor, y: torch.Tensor, max_value: float = 1.0, *, window: int = 7, sigma: float = 1.5) -> torch.Tensor:
    """Mean SSIM of images (B, C, H, W) (or (B, H, W)); valid-region Gaussian window, K1 = 0.01, K2 = 0.03."""
    x, y = x.float(), y.float()
    if x.dim() == 3:
        x, y = x[:, None], y[:, None]
    c = x.shape[1]
    window = min(window, x.shape[-1], x.shape[-2])
    w = _gaussian_window(window, sigma, x.device, x.dtype).expand(c, 1, window, window)
    conv = lambda t: F.conv2d(t, w, groups=c)  # noqa: E731
    mx, my = conv(x), conv(y)
    sxx, syy, sxy = conv(x * x) - mx**2, conv(y * y) - my**2, conv(x * y) - mx * my
    c1, c2 = (0.01 * max_value) ** 2, (0.03 * max_value) ** 2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return s.mean()


# --- quantizer terms ---------------------------------------------------------------------------------
def commitment_loss(z: torch.Tensor, codes: torch.Tensor, beta: float = 0.25) -> torch.Tensor:
    """β·||z − sg(e)||² (trains the encoder)."""
    return beta * F.mse_loss(z.float(), codes.detach().float())


def codebook_loss(z: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """||sg(z) − e||² (trains the codebook)."""
    return F.mse_loss(z.detach().float(), codes.float())


def codebook_usage(indices: torch.Tensor, codebook_size: int) -> tuple[int, float]:
    """(codes used, perplexity exp(H(histogram))) of a batch of indices (negatives ignored)."""
    flat = indices.reshape(-1)
    flat = flat[flat >= 0]
    if flat.numel() == 0:
        return 0, 0.0
    counts = torch.bincount(flat, minlength=codebook_size).double()
    p = counts[counts > 0] / counts.sum()
    return int((counts > 0).sum()), float(torch.exp(-(p * p.log()).sum()))


def kl_divergence(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) || N(0, 1)), summed over the last axis, averaged over the rest."""
    return 0.5 * (mean.float().pow(2) + logvar.float().exp() - 1 - logvar.float()).sum(-1).mean()


# --- rate --------------------------------------------------------------------------------------------
def bits_per_token(codebook_sizes: Sequence[int] | int) -> float:
    """Σ log2 |C| over the codebooks that make one token (levels / groups)."""
    sizes = [codebook_sizes] if isinstance(codebook_sizes, int) else list(codebook_sizes)
    return float(sum(math.log2(s) for s in sizes))


def bits_per_pixel(n_tokens: int, codebook_sizes: Sequence[int] | int, n_pixels: int) -> float:
    """Token bits per pixel (per pixel per frame for video: pass T·H·W)."""
    return n_tokens * bits_per_token(codebook_sizes) / n_pixels


def bitrate(frame_rate: float, codebook_sizes: Sequence[int] | int) -> float:
    """Bits per second: frame rate × bits per frame (TaDiCodec 6.25 Hz × 14 bits = 87.5 bps)."""
    return frame_rate * bits_per_token(codebook_sizes)


def compression_ratio(raw_bits: float, n_tokens: int, codebook_sizes: Sequence[int] | int) -> float:
    """Raw size over token size, e.g. raw_bits = H·W·3·8 for 8-bit RGB."""
    return raw_bits / (n_tokens * bits_per_token(codebook_sizes))


# --- adversarial / alignment (no pretrained nets required) -------------------------------------------
def hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return 0.5 * (F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean())


def hinge_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()


def lecam_regularizer(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, ema_real: torch.Tensor, ema_fake: torch.Tensor
) -> torch.Tensor:
    """||D(x) − α_F||² + ||D(G(z)) − α_R||² with EMA anchors α (weight 0.001 in the recipes)."""
    return F.relu(real_logits - ema_fake).pow(2).mean() + F.relu(ema_real - fake_logits).pow(2).mean()


def adaptive_weight(rec_loss: torch.Tensor, g_loss: torch.Tensor, last_layer: torch.Tensor, max_weight: float = 1e4):
    """VQGAN λ = ||∇_L rec|| / (||∇_L gan|| + 1e−4), clamped, detached; L = the decoder's last weight."""
    rec_grad = torch.autograd.grad(rec_loss, last_layer, retain_graph=True)[0]
    g_grad = torch.autograd.grad(g_loss, last_layer, retain_graph=True)[0]
    return (rec_grad.norm() / (g_grad.norm() + 1e-4)).clamp(0, max_weight).detach()


def repa_loss(features: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """REPA: −mean cosine similarity between (projected) features and supplied target features."""
    return -F.cosine_similarity(features.float(), targets.float(), dim=-1).mean()


# --- task metrics ------------------------------------------------------------------------------------
def boundary_prf(pred: torch.Tensor, true: torch.Tensor, mask: Optional[torch.Tensor] = None) -> tuple[float, float, float]:
    """Precision, recall, F1 of predicted boundaries against true ones (bool tensors of equal shape)."""
    pred, true = pred.bool(), true.bool()
    if mask is not None:
        pred, true = pred & mask.bool(), true & mask.bool()
    tp = float((pred & true).sum())
    p = tp / max(float(pred.sum()), 1.0)
    r = tp / max(float(true.sum()), 1.0)
    return p, r, (2 * p * r / (p + r) if p + r > 0 else 0.0)


def mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean per-joint position error: mean Euclidean distance over (..., joints, 3)."""
    return (pred.float() - target.float()).norm(dim=-1).mean()


def iou(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Intersection over union of two boolean masks (over all elements)."""
    pred, target = pred.bool(), target.bool()
    union = (pred | target).sum()
    return (pred & target).sum().float() / union.clamp_min(1).float()


def miou(pred: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: Optional[int] = None) -> torch.Tensor:
    """Mean IoU over classes present in prediction or target (integer label maps)."""
    vals = []
    for c in range(num_classes):
        if c == ignore_index:
            continue
        p, t = pred == c, target == c
        if (p | t).any():
            vals.append(iou(p, t))
    return torch.stack(vals).mean() if vals else torch.tensor(0.0)


def chamfer_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Symmetric Chamfer distance between point sets (N, 3) and (M, 3) (or batched): mean squared NN distance both ways."""
    d = torch.cdist(a.float(), b.float()).pow(2)
    return d.min(-1).values.mean(-1) + d.min(-2).values.mean(-1)


def fscore(a: torch.Tensor, b: torch.Tensor, threshold: float = 0.01) -> torch.Tensor:
    """F-score@τ of point sets: precision = share of a within τ of b, recall = share of b within τ of a."""
    d = torch.cdist(a.float(), b.float())
    precision = (d.min(-1).values < threshold).float().mean(-1)
    recall = (d.min(-2).values < threshold).float().mean(-1)
    return 2 * precision * recall / (precision + recall).clamp_min(1e-12)
