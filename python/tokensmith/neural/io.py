"""Save and load neural blocks as `model.safetensors` + `config.json` (never pickle).

Every block in `tokensmith.neural` records the keyword arguments it was built with
(`@configurable`), so a directory holds everything needed to rebuild it:

>>> save(vq, "out/vq"); vq2 = load("out/vq")        # same class, same weights

Only classes that live under `tokensmith.neural` (or ones passed explicitly via `cls=`)
can be rebuilt, so a config file cannot make us import arbitrary code.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import os
from pathlib import Path
from typing import Any

from tokensmith._io import atomic_write
from tokensmith.errors import ConfigError, FormatError

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT_VERSION = 1
_ALLOWED_PREFIX = "tokensmith.neural."


def configurable(cls):
    """Class decorator: remember the constructor's arguments in `self.config` (JSON-able dict).

    >>> @configurable
    ... class Block(nn.Module):
    ...     def __init__(self, dim, depth=2): ...
    >>> Block(8).config   # {'dim': 8, 'depth': 2}
    """
    init = cls.__init__
    sig = inspect.signature(init)

    @functools.wraps(init)
    def wrapped(self, *args, **kwargs):
        bound = sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        cfg = {}
        for name, value in list(bound.arguments.items())[1:]:
            kind = sig.parameters[name].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                cfg.update(value)
            elif kind is inspect.Parameter.VAR_POSITIONAL:
                if value:
                    raise ConfigError(f"{cls.__name__}: pass extra arguments by keyword so they can be saved")
            else:
                cfg[name] = value
        init(self, *args, **kwargs)
        # the outermost decorated class wins (subclasses call super().__init__ first)
        if type(self) is cls or not hasattr(self, "config"):
            self.config = _jsonable(cfg)

    cls.__init__ = wrapped
    return cls


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ConfigError(f"config value {value!r} is not JSON-serialisable; pass plain numbers, strings or lists")


def save(module, directory: str | os.PathLike, *, config: dict | None = None) -> Path:
    """Write `module`'s weights (safetensors) and its constructor config (JSON) into `directory`.

    `config` defaults to `module.config` (set by `@configurable`); pass one for other modules.
    """
    from safetensors.torch import save_model

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if config is None:
        config = getattr(module, "config", None)
        if config is None:
            raise ConfigError(f"{type(module).__name__} has no .config; pass config=... to save()")
    cls = type(module)
    meta = {
        "format_version": FORMAT_VERSION,
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "config": _jsonable(config),
    }
    tmp = directory / (WEIGHTS_NAME + ".tmp")
    save_model(module, str(tmp), metadata={"class": meta["class"]})
    os.replace(tmp, directory / WEIGHTS_NAME)
    with atomic_write(directory / CONFIG_NAME) as f:
        json.dump(meta, f, indent=2, sort_keys=True)
    return directory


def load(directory: str | os.PathLike, *, cls=None, device: str | None = None, strict: bool = True):
    """Rebuild the module saved by `save` and load its weights (on `device`, default cpu)."""
    from safetensors.torch import load_model

    directory = Path(directory)
    cfg_path, w_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
    if not cfg_path.is_file() or not w_path.is_file():
        raise FormatError(f"{directory} needs {CONFIG_NAME} and {WEIGHTS_NAME}; write them with tokensmith.neural.save")
    try:
        meta = json.loads(cfg_path.read_text(encoding="utf-8"))
        name, config = meta["class"], meta["config"]
    except (ValueError, KeyError) as exc:
        raise FormatError(f"{cfg_path} is not a tokensmith neural config: {exc}") from None
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise FormatError(f"{cfg_path} has format_version {meta['format_version']}; upgrade tokensmith")
    if cls is None:
        cls = _resolve(name)
    module = cls(**config)
    load_model(module, str(w_path), strict=strict, device=device or "cpu")
    return module.to(device) if device else module


def _resolve(name: str):
    if not name.startswith(_ALLOWED_PREFIX):
        raise FormatError(f"refusing to build {name!r}: only tokensmith.neural classes load by name; pass cls=")
    module_name, _, attr = name.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        raise FormatError(f"class {name!r} not found; was it saved by a newer tokensmith?") from None
    return obj
