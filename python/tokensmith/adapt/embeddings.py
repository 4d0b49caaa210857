"""Embedding matrices of real checkpoints: read/write safetensors, find and resize input and
output embeddings, and the same on `transformers` models when that library is installed.

Never loads pickles: `.bin`/`.pt` checkpoints are refused with a message to convert them.

>>> state = read_safetensors("model.safetensors")               # doctest: +SKIP
>>> keys = find_embedding_keys(state)                           # doctest: +SKIP
>>> keys.input, keys.output                                     # doctest: +SKIP
('embeddings.word_embeddings.weight', None)
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from tokensmith._io import atomic_write
from tokensmith.errors import ConfigError, FormatError

__all__ = ["read_safetensors", "write_safetensors", "EmbeddingKeys", "find_embedding_keys", "resize_rows",
           "resize_checkpoint", "hf_get_embeddings", "hf_set_embeddings"]

# Names of input embeddings in common architectures, most specific first.
_INPUT_NAMES = ("embeddings.word_embeddings.weight", "embed_tokens.weight", "wte.weight", "tok_emb.weight",
                "word_embeddings.weight", "tok_embeddings.weight", "embed_in.weight", "shared.weight",
                "token_embedding.weight", "embedding.weight")
_OUTPUT_NAMES = ("lm_head.weight", "embed_out.weight", "output.weight", "cls.predictions.decoder.weight")


def read_safetensors(path: str | os.PathLike) -> dict:
    """All tensors of a safetensors file (torch tensors); `FormatError` if missing, pickled or corrupt."""
    path = Path(path)
    if path.suffix in (".bin", ".pt", ".pth", ".ckpt", ".pkl"):
        raise FormatError(f"{path} is a pickle checkpoint, which tokensmith never loads: convert it to "
                          "safetensors first (e.g. with a trusted tool) and pass the .safetensors file")
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise FormatError(f"checkpoint {path} does not exist") from exc
    except IsADirectoryError as exc:
        raise FormatError(f"{path} is a directory: give its model.safetensors") from exc
    if len(data) < 8:
        raise FormatError(f"{path} is not a safetensors file (too short)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8 or not data[8:9] == b"{":
        raise FormatError(f"{path} is not a safetensors file (bad header); it may be truncated or a pickle")
    try:
        json.loads(data[8:8 + n])
        from safetensors.torch import load

        return dict(load(data))
    except Exception as exc:  # noqa: BLE001 - any decoder error is a corrupt file for the user
        raise FormatError(f"{path} is a corrupt safetensors file: {str(exc).splitlines()[0][:200]}") from exc


def write_safetensors(state: Mapping, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> Path:
    """Serialise in memory, then write atomically (nothing is left on failure)."""
    from safetensors.torch import save

    blob = save({k: v.detach().cpu().contiguous() for k, v in state.items()}, metadata=metadata)
    with atomic_write(path, "wb") as f:
        f.write(blob)
    return Path(path)


@dataclass(frozen=True)
class EmbeddingKeys:
    """Names of the input and (untied) output embedding matrices in a state dict."""

    input: str
    output: str | None


def find_embedding_keys(state: Mapping, input_key: str | None = None, output_key: str | None = None) -> EmbeddingKeys:
    """Locate the embedding matrices by their usual names (or check the given ones)."""
    keys = list(state)

    def pick(given: str | None, names: tuple[str, ...]) -> str | None:
        if given is not None:
            if given not in state:
                raise FormatError(f"checkpoint has no tensor '{given}'")
            return given
        for name in names:
            hits = [k for k in keys if k == name or k.endswith("." + name)]
            if hits:
                return min(hits, key=len)
        return None

    inp = pick(input_key, _INPUT_NAMES)
    if inp is None:
        raise FormatError("checkpoint has no input embeddings (looked for " + ", ".join(_INPUT_NAMES[:4]) +
                          ", ...): pass input_key=")
    out = pick(output_key, _OUTPUT_NAMES)
    if getattr(state[inp], "dim", lambda: 0)() != 2:
        raise FormatError(f"'{inp}' is not a 2-D embedding matrix")
    if out is not None and tuple(state[out].shape)[1:] != tuple(state[inp].shape)[1:]:
        raise FormatError(f"output embeddings '{out}' {tuple(state[out].shape)} do not match input "
                          f"embeddings '{inp}' {tuple(state[inp].shape)}")
    return EmbeddingKeys(inp, out)


def resize_rows(matrix, new_rows: int, *, init: str = "mean", seed: int = 0):
    """Return `matrix` cut or grown to `new_rows` rows; new rows are the mean row ('mean'), zeros, or
    normal with the matrix's mean/std ('normal')."""
    import torch

    if new_rows <= 0:
        raise ConfigError(f"new vocabulary size must be > 0 (got {new_rows})")
    old = matrix.shape[0]
    if new_rows <= old:
        return matrix[:new_rows].clone()
    extra = new_rows - old
    if init == "mean":
        add = matrix.mean(0, keepdim=True).expand(extra, -1)
    elif init == "zeros":
        add = torch.zeros(extra, matrix.shape[1], dtype=matrix.dtype)
    elif init == "normal":
        g = torch.Generator().manual_seed(seed)
        add = torch.randn(extra, matrix.shape[1], generator=g).to(matrix.dtype) * matrix.float().std() + matrix.float().mean()
    else:
        raise ConfigError(f"unknown init '{init}': use mean, zeros or normal")
    return torch.cat([matrix, add.to(matrix.dtype)], 0)


def resize_checkpoint(src: str | os.PathLike, dst: str | os.PathLike, new_rows: int, *, init: str = "mean",
                      input_key: str | None = None, output_key: str | None = None) -> EmbeddingKeys:
    """Resize the input and output embeddings of a safetensors checkpoint and write it to `dst`."""
    state = read_safetensors(src)
    keys = find_embedding_keys(state, input_key, output_key)
    state[keys.input] = resize_rows(state[keys.input], new_rows, init=init)
    if keys.output is not None:
        state[keys.output] = resize_rows(state[keys.output], new_rows, init=init)
    for k, v in list(state.items()):  # output bias, if any, follows the rows
        if k.endswith(("lm_head.bias", "predictions.bias", "decoder.bias")) and v.dim() == 1:
            state[k] = resize_rows(v[:, None], new_rows, init="zeros")[:, 0]
    write_safetensors(state, dst)
    return keys


def hf_get_embeddings(model) -> tuple:
    """(input weight, output weight or None if tied/absent) of a `transformers` model."""
    inp = model.get_input_embeddings().weight
    out_mod = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    out = None if out_mod is None or out_mod.weight is inp else out_mod.weight
    return inp, out


def hf_set_embeddings(model, input_weight, output_weight=None) -> None:
    """Resize a `transformers` model to the new rows and copy them in (ties follow the model's config)."""
    import torch

    rows = input_weight.shape[0]
    if input_weight.shape[1] != model.get_input_embeddings().weight.shape[1]:
        raise ConfigError(f"embedding width {input_weight.shape[1]} does not match the model's "
                          f"{model.get_input_embeddings().weight.shape[1]}")
    model.resize_token_embeddings(rows)
    with torch.no_grad():
        model.get_input_embeddings().weight.copy_(input_weight)
        out_mod = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
        if output_weight is not None and out_mod is not None and out_mod.weight is not model.get_input_embeddings().weight:
            out_mod.weight.copy_(output_weight)
    if hasattr(model.config, "vocab_size"):
        model.config.vocab_size = rows
