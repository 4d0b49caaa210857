"""scikit-learn's 8×8 handwritten digits (UCI optdigits test set, 1,797 images) as (N, 1, 8, 8) in [0, 1]."""

from __future__ import annotations

import numpy as np

from tokensmith.errors import ConfigError


def digits(*, size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Return images (N, 1, size, size) float32 in [0, 1] and labels (N,) int64.

    `size` 16 upsamples by pixel repetition (for tokenizers that want 4×4 patches of a 16² image).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # pragma: no cover - sklearn is a dependency of the neural extra
        raise ConfigError("the digits data needs scikit-learn: pip install scikit-learn") from None
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None]
    if size != 8:
        if size % 8:
            raise ConfigError(f"digits size must be a multiple of 8, got {size}")
        r = size // 8
        x = x.repeat(r, axis=2).repeat(r, axis=3)
    return x, d.target.astype(np.int64)


def train_test_split(n: int, *, test_fraction: float = 1 / 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed permutation split of range(n): (train_idx, test_idx). 1,797 digits → 1,498 / 299."""
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])
