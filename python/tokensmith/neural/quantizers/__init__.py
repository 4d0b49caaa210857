"""Quantizers and bottlenecks: one module per method, one contract (see `base.py`).

    quantized, indices, aux_loss = q(x);  q.indices_to_codes(indices);  q.codes_used, q.perplexity
"""

from tokensmith.neural.quantizers.base import Quantizer, QuantizerOutput, fp32_region, l2norm, straight_through
from tokensmith.neural.quantizers.bsq import BSQ
from tokensmith.neural.quantizers.fsq import FSQ
from tokensmith.neural.quantizers.grouped import GroupedVQ
from tokensmith.neural.quantizers.kl import KLBottleneck
from tokensmith.neural.quantizers.kmeans import kmeans
from tokensmith.neural.quantizers.lfq import LFQ
from tokensmith.neural.quantizers.multiscale_rvq import MultiScaleResidualVQ
from tokensmith.neural.quantizers.nnt import NearestNeighbourCodebook, patchify, unpatchify
from tokensmith.neural.quantizers.rvq import ResidualVQ
from tokensmith.neural.quantizers.sigma_vae import SigmaVAEBottleneck
from tokensmith.neural.quantizers.softvq import SoftVQ
from tokensmith.neural.quantizers.vq import VectorQuantizer, entropy_loss, rotate_onto

__all__ = [
    "BSQ", "FSQ", "GroupedVQ", "KLBottleneck", "LFQ", "MultiScaleResidualVQ", "NearestNeighbourCodebook",
    "Quantizer", "QuantizerOutput", "ResidualVQ", "SigmaVAEBottleneck", "SoftVQ", "VectorQuantizer",
    "entropy_loss", "fp32_region", "kmeans", "l2norm", "patchify", "rotate_onto", "straight_through", "unpatchify",
]
