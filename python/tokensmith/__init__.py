"""tokensmith: train, evaluate, adapt and compress tokenizers.

>>> import tokensmith
>>> tok = tokensmith.train(["some text", "more text"], vocab_size=300)      # doctest: +SKIP
>>> tok = tokensmith.load("path/to/tokenizer.json")                          # doctest: +SKIP
"""

from tokensmith.api import load, make_config, train
from tokensmith.config import BpeConfig
from tokensmith.corpus import Corpus
from tokensmith.errors import ConfigError, CorpusError, FormatError, TokenError, TokensmithError

__all__ = [
    "train", "load", "make_config", "Tokenizer", "Corpus", "BpeConfig",
    "ConfigError", "CorpusError", "FormatError", "TokenError", "TokensmithError",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    # The Tokenizer imports the compiled core; keep `import tokensmith` light and import it on first use.
    if name == "Tokenizer":
        from tokensmith.tokenizer import Tokenizer

        return Tokenizer
    raise AttributeError(f"module 'tokensmith' has no attribute {name!r}")
