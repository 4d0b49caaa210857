"""SoftVQ-VAE — "Efficient 1-Dimensional Continuous Tokenizer" (Chen et al. 2024,
Hhhhhhao/continuous_tokenizer).

A TiTok-style 1-D tokenizer whose bottleneck is a **soft categorical posterior**: each token is
`Σ_k softmax(⟨ẑ, ê_k⟩/τ)_k e_k`, fully differentiable (no straight-through), continuous for a
diffusion generator yet with a discrete argmax "vocabulary" view. Implemented as
`TiTok(quantizer="softvq")` with the `SoftVQ` block; DINOv2 init and REPA need pretrained weights and
are not used.
"""

from __future__ import annotations

import torch

from tokensmith.neural.recipes.titok import TiTok, TiTokConfig, TrainConfig, evaluate, load, save, train

__all__ = ["softvq_config", "hard_decode", "TiTok", "TiTokConfig", "TrainConfig", "train", "evaluate", "save", "load"]


def softvq_config(**overrides) -> TiTokConfig:
    """Digits-scale default: K = 8 tokens, 256 codes × 8-d, l2-normalised, τ = 0.07 (the paper's value)."""
    base = dict(num_tokens=8, quantizer="softvq", codebook_size=256, token_dim=8, temperature=0.07)
    base.update(overrides)
    return TiTokConfig(**base)


@torch.no_grad()
def hard_decode(model: TiTok, x: torch.Tensor) -> torch.Tensor:
    """Decode from the argmax codes instead of the soft mixture: the discrete view of the same tokens."""
    _, idx = model.encode(x)
    return model.decode(model.indices_to_tokens(idx))
