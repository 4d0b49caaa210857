"""Training methods, registered by name.

A method is a module in this package that decorates its training function with ``@register``::

    @register("picky", config=PickyConfig)
    def train_picky(corpus: Corpus, config: PickyConfig) -> Tokenizer: ...

Modules here are discovered and imported on first lookup, so adding a method is adding a file.
``config`` is a frozen dataclass subclassing ``BpeConfig``; its fields become ``tokensmith train``
flags (``--field-name``; ``field(metadata={"cli": "--short-name"})`` renames one, ``{"cli": None}``
hides it). ``cli_options(group)`` may add other flags; give them ``default=argparse.SUPPRESS`` and a
``dest`` that is a config field, since every flag the user gives is passed to the method's config.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from tokensmith.config import BpeConfig
from tokensmith.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import argparse

    from tokensmith.corpus import Corpus

__all__ = ["Method", "register", "register_loader", "get_method", "available_methods", "method_loaders"]


@dataclass(frozen=True)
class Method:
    """A registered training method."""

    name: str
    """The name users pass (``method="bpe"``, ``--method bpe``)."""
    train: Callable[["Corpus", Any], Any]
    """``train(corpus, config) -> Tokenizer``."""
    config_class: type[BpeConfig]
    """The method's config dataclass."""
    summary: str
    """One line for ``--help`` listings (first line of the train function's or module's docstring)."""
    cli_options: Callable[["argparse.ArgumentParser"], None] | None = None
    """Optional hook adding method-specific flags beyond those derived from the config fields."""


_REGISTRY: dict[str, Method] = {}
_LOADERS: dict[str, Callable[[Any], Any]] = {}
_BROKEN: dict[str, str] = {}  # module name -> import error
_discovered = False


def register_loader(file_name: str, loader: Callable[[Any], Any]) -> None:
    """Let ``tokensmith.load`` open a method's own file format: a directory holding ``file_name`` (or
    that file itself) is loaded with ``loader(path)``. For methods whose files are not ``tokenizer.json``."""
    _LOADERS[file_name] = loader


def method_loaders() -> dict[str, Callable[[Any], Any]]:
    """File name -> loader, for every method module that registered one."""
    _discover()
    return dict(_LOADERS)


def register(name: str, *, config: type[BpeConfig] = BpeConfig,
             cli_options: Callable[["argparse.ArgumentParser"], None] | None = None,
             summary: str | None = None) -> Callable:
    """Decorator registering ``train(corpus, config) -> Tokenizer`` under ``name``."""
    if not isinstance(config, type) or not issubclass(config, BpeConfig):
        raise TypeError(f"method {name!r}: config must subclass tokensmith.config.BpeConfig")

    def decorate(func: Callable) -> Callable:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.train is not func and (
                existing.train.__module__, existing.train.__qualname__) != (func.__module__, func.__qualname__):
            raise ValueError(f"training method {name!r} is registered twice "
                             f"({existing.train.__module__} and {func.__module__})")
        if config.method != name:
            # Keep saved configs self-describing: from_dict() finds the class by this name.
            type.__setattr__(config, "method", name)
        doc = summary or _first_line(func.__doc__) or _first_line(importlib.import_module(func.__module__).__doc__)
        _REGISTRY[name] = Method(name=name, train=func, config_class=config, summary=doc,
                                 cli_options=cli_options)
        return func

    return decorate


def _first_line(doc: str | None) -> str:
    return doc.strip().splitlines()[0].strip().rstrip(".") if doc and doc.strip() else ""


def _discover() -> None:
    """Import every module of this package once, so their ``@register`` calls run."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: (m.name != "bpe", m.name)):
        if info.name.startswith("_"):
            continue
        if info.name == "bpe":
            importlib.import_module(f"{__name__}.{info.name}")
            continue
        try:  # a broken optional method must not take plain BPE down with it
            importlib.import_module(f"{__name__}.{info.name}")
        except Exception as exc:  # noqa: BLE001 - reported when the method is asked for
            _BROKEN[info.name] = f"{type(exc).__name__}: {exc}"


def available_methods() -> dict[str, Method]:
    """All registered methods by name (``bpe`` first)."""
    _discover()
    return dict(_REGISTRY)


def get_method(name: str) -> Method:
    """The method called ``name``; an unknown name raises ``ConfigError`` listing the known ones."""
    methods = available_methods()
    if name not in methods and name in _BROKEN:
        raise ConfigError(f"method {name!r} could not be loaded ({_BROKEN[name]}); reinstall tokensmith "
                          "or report the bug")
    if name not in methods:
        raise ConfigError(f"unknown method {name!r}; known methods: {', '.join(methods)}")
    return methods[name]
