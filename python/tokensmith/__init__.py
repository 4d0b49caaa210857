"""tokensmith: train, evaluate, adapt and compress tokenizers."""

from tokensmith.errors import ConfigError, CorpusError, FormatError, TokenError, TokensmithError

__all__ = ["ConfigError", "CorpusError", "FormatError", "TokenError", "TokensmithError"]
__version__ = "0.1.0"
