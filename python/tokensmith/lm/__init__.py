"""Tiny causal LMs for extrinsic tokenizer evaluation (Regional Tiny Stories style).

Every tokenizer sees the same bytes: the text is cut into chunks of `chunk_bytes` bytes at
whitespace, each chunk is encoded alone behind a BOS token, and the model is scored in bits per
byte over the held-apart chunks (tokenizer-independent). Training steps see the same chunks in the
same order for every tokenizer. Torch is imported when these functions are first used.

>>> from tokensmith.lm import LMConfig, compare                          # doctest: +SKIP
>>> compare({"a": tok_a, "b": tok_b}, texts, out_dir="out", config=LMConfig(steps=200))  # doctest: +SKIP
"""

from tokensmith.lm.config import LMConfig
from tokensmith.lm.data import ChunkSet, encode_chunks, make_chunks, split_texts

__all__ = ["LMConfig", "ChunkSet", "encode_chunks", "make_chunks", "split_texts",
           "TinyGPT", "train_lm", "evaluate_bpb", "save_lm", "load_lm", "compare"]


def __getattr__(name: str):  # lazy: torch only when a model is needed
    if name == "TinyGPT":
        from tokensmith.lm.model import TinyGPT
        return TinyGPT
    if name in ("train_lm", "evaluate_bpb", "save_lm", "load_lm", "inference_speed"):
        from tokensmith.lm import train
        return getattr(train, name)
    if name == "compare":
        from tokensmith.lm.extrinsic import compare
        return compare
    raise AttributeError(name)
