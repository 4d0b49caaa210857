"""Resamplers: the 1-D tokenizer skeleton (TiTok family) — latent-query encoder and mask-token decoder."""

from tokensmith.neural.resamplers.latent_query import LatentQueryEncoder, latent_query_mask
from tokensmith.neural.resamplers.mask_decoder import MaskTokenDecoder
from tokensmith.neural.resamplers.transformer import Attention, TransformerStack

__all__ = ["Attention", "LatentQueryEncoder", "MaskTokenDecoder", "TransformerStack", "latent_query_mask"]
