"""FlexTok — "Resampling Images into 1D Token Sequences of Flexible Length" (Bachmann et al. 2025,
apple/ml-flextok), the *ordering* half.

Registers (latent queries) attend **causally** to each other, and **nested dropout** keeps a
per-sample prefix k (drawn from powers of two, or uniformly) and overwrites the later tokens with one
learned mask vector, so the decoder input has a fixed length. Together they impose a coarse→fine
order. Implemented as `TiTok(length_mode="nested", causal_tokens=True)` with FSQ tokens.

Not reproduced: the rectified-flow decoder (which makes 1-token reconstructions *plausible images*
rather than blurry means), the VAE latent input and REPA to DINOv2.
"""

from __future__ import annotations

from tokensmith.neural.recipes.titok import TiTok, TiTokConfig, TrainConfig, evaluate, load, save, train

__all__ = ["flextok_config", "TiTok", "TiTokConfig", "TrainConfig", "train", "evaluate", "save", "load"]


def flextok_config(**overrides) -> TiTokConfig:
    """Digits-scale default: K = 16 causal registers, FSQ [8,5,5,5], nested dropout with pow-2 lengths."""
    base = dict(num_tokens=16, quantizer="fsq", fsq_levels=(8, 5, 5, 5), length_mode="nested",
                length_sampling="pow2", causal_tokens=True)
    base.update(overrides)
    return TiTokConfig(**base)
