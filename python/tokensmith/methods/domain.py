"""Domain tokenizers in the KL3M manner (Bommarito et al., "KL3M Tokenizers: A Family of Domain-Specific
and Character-Level Tokenizers for Legal, Financial, and Preprocessing Applications", 2025;
``alea-institute/kl3m-tokenizers``).

Differs from plain BPE by its recipe around training: NFKC, a fixed set of special tokens, and "whole"
tokens added after training (whitespace runs, Markdown, URL prefixes, HTML tags, years 1776-2049, numbers
10-999, domain abbreviations, user tokens). Whole tokens are added tokens with Hugging Face semantics:
matched in the text (leftmost-longest) before pretokenization and always emitted as one id.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokensmith.config import BpeConfig
from tokensmith.methods import register, register_loader
from tokensmith.methods.bpe import count_words, progress_mode
from tokensmith.tokenizer import EncodingWithOffsets, Tokenizer

if TYPE_CHECKING:  # pragma: no cover
    from tokensmith.corpus import Corpus

__all__ = ["DomainConfig", "DomainTokenizer", "train_domain", "whole_tokens", "load_domain", "WHOLE_FILE"]

WHOLE_FILE = "whole_tokens.json"
KL3M_SPECIALS = ("<|start|>", "<|end|>", "<|pad|>", "<|unk|>", "<|system|>", "<|user|>", "<|assistant|>")
MARKDOWN = ("# ", "## ", "### ", "#### ", "**", "__", "```", "---", "- [ ] ", "- [x] ", "> ", "![", "](")
URL_PREFIXES = ("http://", "https://", "www.", "https://www.", "http://www.", "ftp://", "mailto:")
HTML_TAGS = tuple(f"<{c}{t}>" for t in ("p", "div", "span", "a", "b", "i", "li", "ul", "ol", "table", "tr", "td",
                                         "th", "h1", "h2", "h3", "em", "strong", "code", "pre") for c in ("", "/")) + (
    "<br>", "<br/>", "<hr>")
ABBREVIATIONS = ("U.S.", "U.S.C.", "C.F.R.", "Fed. Reg.", "Art.", "Arts.", "No.", "Nos.", "Reg.", "Dir.", "para.",
                 "e.g.", "i.e.", "et al.", "etc.", "Inc.", "Corp.", "Co.", "Ltd.", "LLC", "v.", "Dr.", "Mr.", "Mrs.",
                 "Ms.", "Jan.", "Feb.", "Mar.", "Apr.", "Aug.", "Sept.", "Oct.", "Nov.", "Dec.", "§", "§§", "¶")


@dataclass(frozen=True)
class DomainConfig(BpeConfig):
    """KL3M-style domain BPE: NFKC, specials, whole tokens added after training."""

    normalization: str = "nfkc"
    """Unicode normalization before pretokenization (KL3M: NFKC)."""
    special_tokens: tuple[str, ...] = KL3M_SPECIALS
    """Special tokens, given the first ids (KL3M-like defaults)."""
    whitespace_runs: bool = True
    """Add runs of 2-16 spaces, 2-4 tabs and 2-4 newlines as whole tokens."""
    markdown: bool = True
    """Add Markdown markers (headings, emphasis, fences, lists) as whole tokens."""
    url_prefixes: bool = True
    """Add URL prefixes (https://, www. ...) as whole tokens."""
    html_tags: bool = True
    """Add common HTML tags (<p>, </p> ...) as whole tokens."""
    years: bool = True
    """Add the years 1776-2049 as whole tokens."""
    numbers: bool = True
    """Add the numbers 10-999 as whole tokens."""
    abbreviations: tuple[str, ...] = ABBREVIATIONS
    """Domain abbreviations added as whole tokens (legal/financial defaults)."""
    extra_tokens: tuple[str, ...] = ()
    """More whole tokens of your own."""


def whole_tokens(config: DomainConfig) -> list[str]:
    """The whole tokens a config asks for, in a fixed order, without duplicates."""
    out: list[str] = []
    if config.whitespace_runs:
        out += [" " * n for n in range(2, 17)] + ["\t" * n for n in range(2, 5)] + ["\n" * n for n in range(2, 5)]
    if config.markdown:
        out += MARKDOWN
    if config.url_prefixes:
        out += URL_PREFIXES
    if config.html_tags:
        out += HTML_TAGS
    if config.years:
        out += [str(y) for y in range(1776, 2050)]
    if config.numbers:
        out += [str(n) for n in range(10, 1000)]
    out += list(config.abbreviations) + list(config.extra_tokens)
    specials = set(config.special_tokens)
    return [t for t in dict.fromkeys(out) if t and t not in specials]


class DomainTokenizer(Tokenizer):
    """A byte-level BPE whose whole tokens (added tokens) are always matched, whatever the special policy."""

    @property
    def whole_tokens(self) -> frozenset[str]:
        return frozenset(self._data.config.get("whole_tokens", ()))

    def _policy(self, allowed: Iterable[str] | str, disallowed: Iterable[str] | str) -> tuple[frozenset, frozenset]:
        whole = self.whole_tokens
        specials = set(self._data.special_tokens) - whole
        allowed_set = specials if allowed == "all" else set(allowed)
        banned = (specials - allowed_set) if disallowed == "all" else set(disallowed) - whole
        return frozenset(allowed_set | whole), frozenset(banned)

    def encode(self, text: str, *, allowed_special: Iterable[str] | str = frozenset(),
               disallowed_special: Iterable[str] | str = "all", dropout: float | None = None,
               seed: int | None = None) -> list[int]:
        allowed, banned = self._policy(allowed_special, disallowed_special)
        return super().encode(text, allowed_special=allowed, disallowed_special=banned, dropout=dropout, seed=seed)

    def encode_ordinary(self, text: str) -> list[int]:
        """Ids with real special tokens as plain text (whole tokens still match)."""
        return self.encode(text, disallowed_special=())

    def encode_batch(self, texts: Iterable[str], *, allowed_special: Iterable[str] | str = frozenset(),
                     disallowed_special: Iterable[str] | str = "all", num_threads: int | None = None) -> list[list[int]]:
        allowed, banned = self._policy(allowed_special, disallowed_special)
        return super().encode_batch(texts, allowed_special=allowed, disallowed_special=banned, num_threads=num_threads)

    def encode_with_offsets(self, text: str, *, allowed_special: Iterable[str] | str = frozenset(),
                            disallowed_special: Iterable[str] | str = "all") -> EncodingWithOffsets:
        allowed, banned = self._policy(allowed_special, disallowed_special)
        return super().encode_with_offsets(text, allowed_special=allowed, disallowed_special=banned)

    def save(self, directory: str | os.PathLike) -> Any:
        """``tokenizer.json`` (whole tokens as added tokens) + ``tokenizer_config.json`` + ``whole_tokens.json``."""
        from tokensmith._io import atomic_write

        out = super().save(directory)
        with atomic_write(Path(directory) / WHOLE_FILE) as f:
            json.dump(sorted(self.whole_tokens), f, ensure_ascii=False)
        return out


def load_domain(path: str | os.PathLike) -> DomainTokenizer:
    """Load a directory written by ``DomainTokenizer.save``."""
    from tokensmith.formats import hf

    path = Path(path)
    directory = path if path.is_dir() else path.parent
    data = hf.load_dir(directory)
    data.config["whole_tokens"] = json.loads((directory / WHOLE_FILE).read_text(encoding="utf-8"))
    return DomainTokenizer.from_data(data)


register_loader(WHOLE_FILE, load_domain)


def _make_room(vocab: list[bytes], merges: list[tuple[int, int]], whole: list[str],
               config: DomainConfig) -> tuple[list[bytes], list[tuple[int, int]]]:
    """Keep the longest prefix of the trained merges that leaves room for the whole tokens it lacks.

    BPE is prefix-consistent (training to a smaller size gives a prefix of the merges), so cutting the
    merge list equals training to the smaller size; whole tokens that BPE already learned need no slot.
    """
    floor = 256 + len(config.special_tokens)
    wanted = {t.encode("utf-8") for t in whole}
    missing = len(wanted - set(vocab[len(config.special_tokens):]))
    size = len(vocab)
    while size > floor and size + missing > config.vocab_size:
        size -= 1
        missing += vocab[size] in wanted
    ids = {t: i for i, t in enumerate(vocab) if i >= len(config.special_tokens)}
    kept = []
    for a, b in merges:
        if ids[vocab[a] + vocab[b]] >= size:
            break
        kept.append((a, b))
    return vocab[:size], kept


@register("domain", config=DomainConfig)
def train_domain(corpus: "Corpus", config: DomainConfig) -> DomainTokenizer:
    """KL3M-style domain BPE: NFKC, specials, whole tokens added after training."""
    from tokensmith import _core
    from tokensmith.formats import BpeData
    from tokensmith.formats.hf import _to_piece

    whole = whole_tokens(config)
    counts = count_words(corpus, config)
    vocab, merges = _core.train_bpe(
        counts, config.vocab_size, min_frequency=config.min_frequency, max_token_length=config.max_token_length,
        special_tokens=list(config.special_tokens), progress=progress_mode(config), num_threads=config.num_threads)
    vocab, merges = _make_room(list(vocab), [tuple(m) for m in merges], whole, config)
    specials = {t: i for i, t in enumerate(config.special_tokens)}
    ordinary = set(vocab[len(specials):])
    pieces = {_to_piece(t) for t in ordinary}  # tokenizer.json spells ordinary tokens in the byte alphabet
    # Already a token: BPE makes it anyway. Spelled like a byte-level piece ("§" is byte 0xA7): would clash.
    added = [t for t in whole if t.encode("utf-8") not in ordinary and t not in pieces]
    for t in added:
        specials[t] = len(vocab)
        vocab.append(t.encode("utf-8"))
    data = BpeData(vocab=vocab, merges=merges, special_tokens=specials, pattern=config.pattern,
                   normalization=config.normalization, units="bytes",
                   config={"method": config.method, "config": config.to_dict(), "whole_tokens": added},
                   source=f"trained:{config.method}")
    return DomainTokenizer.from_data(data)
