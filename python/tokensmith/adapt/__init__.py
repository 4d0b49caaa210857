"""Adapting tokenizers and models to each other.

- `lzw`: zip2zip LZW hypertokens over token ids (Geng et al., NeurIPS 2025), Rust core.
- `hyper`: hyper-embedding encoders that let a PyTorch LM read and write hypertokens.
- `embeddings`: read/write/resize embeddings of safetensors and `transformers` checkpoints.
- `transfer`: initialise a new tokenizer's embeddings from an old model (copy, FVT, WECHSEL, FOCUS).
- `adaptivocab`: domain n-gram tokens swapped in for rarely used ones (Nakash et al., 2025).

Torch is imported lazily: `tokensmith.adapt.lzw` works without it.
"""
