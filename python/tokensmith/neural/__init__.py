"""Neural tokenizer building blocks (PyTorch), imported lazily: `import tokensmith` never imports torch.

Packages, one module per block, each headed by its paper:
  quantizers/  VQ (+EMA, k-means init, dead-code restart, CVQ anchors), residual / multi-scale / grouped VQ,
               FSQ, LFQ, BSQ, soft VQ, KL and σ-VAE bottlenecks, nearest-neighbour codebook (TWM)
  resamplers/  latent-query encoder and mask-token decoder (TiTok family)
  length/      tail token drop, nested dropout, adaptive length predictor (ALTo)
  pruning/     DPC-kNN pruning, token recovering attention, masked k-means pooling, soft top-k, sandglass
  conv/        causal 3-D and strided causal 1-D conv stacks
  chunking/    H-Net dynamic chunking
  losses       PSNR, SSIM, commitment, entropy, ratio loss and other shared metrics
  io           save/load as safetensors + JSON config

Every name below is importable from `tokensmith.neural` and resolved on first access.

The 1-D tokenizer skeleton in five lines (tested in tests/neural/test_blocks.py):

>>> import torch, tokensmith.neural as N
>>> enc = N.LatentQueryEncoder(32, n_queries=8, depth=1, out_dim=4)
>>> vq = N.VectorQuantizer(4, 64, kmeans_init=True)
>>> dec = N.MaskTokenDecoder(4, 32, n_latents=8, n_out=16, out_dim=12, depth=1)
>>> tokens, ids, aux = vq(enc(torch.randn(2, 16, 32)))
>>> dec(tokens[:, :3]).shape, ids.shape, vq.indices_to_codes(ids).shape   # any prefix decodes
(torch.Size([2, 16, 12]), torch.Size([2, 8]), torch.Size([2, 8, 4]))
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    # quantizers
    "Quantizer": "quantizers.base",
    "QuantizerOutput": "quantizers.base",
    "straight_through": "quantizers.base",
    "fp32_region": "quantizers.base",
    "l2norm": "quantizers.base",
    "kmeans": "quantizers.kmeans",
    "VectorQuantizer": "quantizers.vq",
    "FSQ": "quantizers.fsq",
    "ResidualVQ": "quantizers.rvq",
    "MultiScaleResidualVQ": "quantizers.multiscale_rvq",
    "GroupedVQ": "quantizers.grouped",
    "LFQ": "quantizers.lfq",
    "BSQ": "quantizers.bsq",
    "SoftVQ": "quantizers.softvq",
    "KLBottleneck": "quantizers.kl",
    "SigmaVAEBottleneck": "quantizers.sigma_vae",
    "NearestNeighbourCodebook": "quantizers.nnt",
    # resamplers
    "TransformerStack": "resamplers.transformer",
    "LatentQueryEncoder": "resamplers.latent_query",
    "MaskTokenDecoder": "resamplers.mask_decoder",
    # length
    "TailTokenDrop": "length.tail_drop",
    "NestedDropout": "length.nested_dropout",
    "AdaptiveLengthPredictor": "length.alto",
    # pruning
    "dpc_knn": "pruning.dpc_knn",
    "TokenPruningCluster": "pruning.dpc_knn",
    "TokenRecoveringAttention": "pruning.recovery",
    "masked_kmeans_pool": "pruning.kmeans_pool",
    "soft_topk": "pruning.soft_topk",
    "SoftTopK": "pruning.soft_topk",
    "SandglassAttention": "pruning.sandglass",
    # conv
    "CausalConv1d": "conv.causal1d",
    "CausalConv1dStack": "conv.causal1d",
    "CausalConv3d": "conv.causal3d",
    "CausalConv3dStack": "conv.causal3d",
    "inflate_conv2d": "conv.causal3d",
    # chunking
    "DynamicChunking": "chunking.dynamic",
    "RoutingModule": "chunking.dynamic",
    "ratio_loss": "chunking.dynamic",
    # io
    "save": "io",
    "load": "io",
    "configurable": "io",
}

__all__ = sorted(_EXPORTS) + ["losses"]


def __getattr__(name: str):
    if name == "losses":
        return importlib.import_module("tokensmith.neural.losses")
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"tokensmith.neural.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tokensmith.neural' has no attribute {name!r}")


def __dir__():
    return __all__
