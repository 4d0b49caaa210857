"""Unicode normalization before pretokenization (the Rust core does the work).

``none``, ``nfc``, ``nfkc`` (Unicode UAX #15), ``lowercase`` (per character, full Unicode case mapping,
no final-sigma rule: exactly the Hugging Face ``Lowercase`` normalizer) and ``nfkc_lowercase`` (NFKC,
then lowercase).

>>> normalize("ＡＢ\\ufb01", "nfkc_lowercase")
'abfi'
"""

from __future__ import annotations

from tokensmith.errors import ConfigError

__all__ = ["NORMALIZATIONS", "check_normalization", "normalize"]

NORMALIZATIONS: tuple[str, ...] = ("none", "nfc", "nfkc", "lowercase", "nfkc_lowercase")


def check_normalization(name: str) -> str:
    """Return ``name`` if it is a known normalization, else raise ``ConfigError`` listing them."""
    if not isinstance(name, str) or name not in NORMALIZATIONS:
        raise ConfigError(f"unknown normalization {name!r}; use one of: {', '.join(NORMALIZATIONS)}")
    return name


def normalize(text: str, name: str = "nfc") -> str:
    """``text`` normalized with ``name`` (one of ``NORMALIZATIONS``)."""
    from tokensmith import _core

    if not isinstance(text, str):
        raise ConfigError(f"normalize expects str, got {type(text).__name__}; decode bytes first")
    return _core.normalize(check_normalization(name), text)
