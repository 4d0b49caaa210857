"""Load user-supplied weights (safetensors only, never pickle) into a tokensmith module.

For the Tier-3 systems (frozen DINOv2 / SigLIP2 / LDM / LLM parts) nothing can be downloaded here;
a user who has a checkpoint converts it to safetensors and maps its parameter names onto ours:

    report = load_user_weights(model, "titok_s128.safetensors",
                               rename={"encoder.": "encoder.layers.", "quantize.embedding.weight": "quant.codebook"})
    report.missing, report.unexpected, report.shape_mismatch   # what did not line up

Keys are renamed by prefix (first match wins); tensors whose shapes differ are skipped and listed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from tokensmith.errors import FormatError


@dataclass
class LoadReport:
    loaded: list = field(default_factory=list)
    """Our parameter names that received a tensor."""
    missing: list = field(default_factory=list)
    """Our parameter names with no tensor in the file."""
    unexpected: list = field(default_factory=list)
    """File keys (after renaming) that match nothing of ours."""
    shape_mismatch: list = field(default_factory=list)
    """(name, file shape, our shape) triples that were skipped."""


def load_user_weights(module: torch.nn.Module, path: str | os.PathLike, *, rename: dict | None = None,
                      strict: bool = False) -> LoadReport:
    """Copy tensors from a safetensors file into `module` (see the module docstring)."""
    from safetensors.torch import load_file

    path = Path(path)
    if path.suffix != ".safetensors":
        raise FormatError(f"{path}: only .safetensors files are loaded (convert pickled checkpoints yourself, "
                          "with code you trust)")
    tensors = load_file(str(path))
    own = module.state_dict()
    report = LoadReport()
    new_state = {}
    for key, value in tensors.items():
        name = key
        for old, new in (rename or {}).items():
            if key.startswith(old):
                name = new + key[len(old):]
                break
        if name not in own:
            report.unexpected.append(name)
        elif tuple(own[name].shape) != tuple(value.shape):
            report.shape_mismatch.append((name, tuple(value.shape), tuple(own[name].shape)))
        else:
            new_state[name] = value.to(own[name].dtype)
            report.loaded.append(name)
    report.missing = [k for k in own if k not in new_state]
    if strict and (report.missing or report.unexpected or report.shape_mismatch):
        raise FormatError(f"{path}: {len(report.missing)} missing, {len(report.unexpected)} unexpected, "
                          f"{len(report.shape_mismatch)} mismatched tensors; pass rename= or strict=False")
    module.load_state_dict(new_state, strict=False)
    return report
