"""One-D-Piece — "Image Tokenizer Meets Quality-Controllable Compression" (Miwa et al. 2025,
turingmotors/One-D-Piece).

TiTok plus **tail token drop**: during training one prefix length k ~ U{1..K} is drawn per batch and
the decoder sees only the first k quantized latents, so information concentrates at the head and
any prefix is a valid (lower-quality) code. Implemented as `TiTok(length_mode="tail_drop")`.
"""

from __future__ import annotations

from tokensmith.neural.recipes.titok import TiTok, TiTokConfig, TrainConfig, evaluate, load, save, train

__all__ = ["one_d_piece_config", "TiTok", "TiTokConfig", "TrainConfig", "train", "evaluate", "save", "load"]


def one_d_piece_config(**overrides) -> TiTokConfig:
    """Digits-scale default: K = 16 tokens, VQ 256 codes × 8-d, l2-normalised (8 bits/token), tail drop."""
    base = dict(num_tokens=16, quantizer="vq", codebook_size=256, token_dim=8, length_mode="tail_drop")
    base.update(overrides)
    return TiTokConfig(**base)
