"""Typed exceptions. Every error tokensmith raises on bad input derives from `TokensmithError`
and from the builtin that fits, so `except ValueError` keeps working for callers."""


class TokensmithError(Exception):
    """Base of every tokensmith error. The CLI prints its message and exits with code 2."""


class ConfigError(TokensmithError, ValueError):
    """A bad argument or configuration value (unknown method or pattern, vocab_size too small...)."""


class FormatError(TokensmithError, ValueError):
    """A malformed, corrupt or foreign file (tokenizer.json, rank file, safetensors...)."""


class CorpusError(TokensmithError, OSError):
    """Input text that cannot be read: missing file, binary data, invalid UTF-8 under strict mode, empty corpus."""


class TokenError(TokensmithError, KeyError):
    """An unknown token or id, or text that spells a special token that was not allowed."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""
