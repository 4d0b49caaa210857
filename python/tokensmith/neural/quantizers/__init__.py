"""Quantizers and bottlenecks: one module per method, one contract (see `base.py`).

    quantized, indices, aux_loss = q(x);  q.indices_to_codes(indices);  q.codes_used, q.perplexity
"""

from tokensmith.neural.quantizers.base import Quantizer, QuantizerOutput, fp32_region, l2norm, straight_through
from tokensmith.neural.quantizers.fsq import FSQ
from tokensmith.neural.quantizers.kmeans import kmeans
from tokensmith.neural.quantizers.vq import VectorQuantizer

__all__ = ["FSQ", "Quantizer", "QuantizerOutput", "VectorQuantizer", "fp32_region", "kmeans", "l2norm", "straight_through"]
