"""Count a corpus's shards on a ``dask.distributed`` cluster and merge the tables.

Each task counts one shard (a file, glob match, or an in-memory list of documents) with the Rust
counter (``_core.WordCounts``) and returns the table as bytes in the versioned ``WordCounts.save`` format,
so only compact tables cross the network; the client merges them as they arrive. The result equals
counting the whole corpus in one process.

>>> from dask.distributed import Client, LocalCluster                       # doctest: +SKIP
>>> with Client(LocalCluster(n_workers=4)) as client:                        # doctest: +SKIP
...     counts = count_shards_distributed("data/*.jsonl.gz", client, pattern="o200k")
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from tokensmith.errors import ConfigError

__all__ = ["count_shard", "count_shards_distributed", "merge_tables", "resolve_shards"]

Shard = Any  # a path (str / PathLike) or a list/tuple of documents (str)


def resolve_shards(source: Any) -> list[Shard]:
    """Shards of ``source``: one per file for a path, glob or directory; a list whose items are paths
    or lists of documents is taken as the shards themselves."""
    from tokensmith.corpus import resolve_files

    if isinstance(source, (str, os.PathLike)):
        return [str(p) for p in resolve_files(source)]
    if isinstance(source, (list, tuple)):
        shards: list[Shard] = []
        for item in source:
            if isinstance(item, (str, os.PathLike)):
                shards.extend(str(p) for p in resolve_files(item))
            elif isinstance(item, (list, tuple)) and all(isinstance(d, str) for d in item):
                shards.append(list(item))
            else:
                raise ConfigError("each shard must be a path or a list of str documents, got "
                                  f"{type(item).__name__}")
        if shards:
            return shards
    raise ConfigError("pass shards as a path, glob or directory, or a non-empty list of paths or of "
                      "lists of documents")


def count_shard(shard: Shard, pattern: str = "gpt2", normalization: str = "none", num_threads: int = 1,
                text_field: str = "text", strict: bool = False) -> bytes:
    """Count one shard; return the table in the ``WordCounts.save`` format (runs on a worker)."""
    from tokensmith import _core
    from tokensmith.corpus import Corpus

    counts = _core.WordCounts()
    if isinstance(shard, (list, tuple)):
        counts.add_texts(list(shard), pattern, normalization, num_threads)
        return counts.to_bytes()
    for batch in Corpus(Path(shard), text_field=text_field, strict=strict).batches():
        counts.add_texts(batch, pattern, normalization, num_threads)
    return counts.to_bytes()


def _client(client: Any) -> Any:
    if client is not None:
        return client
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError) as exc:
        raise ConfigError("no dask client: pass client=dask.distributed.Client(...) (install "
                          "tokensmith[dist])") from exc


def count_shards_distributed(source: Any, client: Any = None, *, pattern: str = "gpt2",
                             normalization: str = "none", num_threads: int = 1, text_field: str = "text",
                             strict: bool = False) -> Any:
    """Count every shard of ``source`` on the cluster of ``client`` (default: the current client) and
    return the merged ``_core.WordCounts``. ``num_threads`` is per task."""
    from tokensmith import _core
    from tokensmith.normalize import check_normalization
    from tokensmith.pretokenize import check_pattern

    check_pattern(pattern)
    check_normalization(normalization)
    if not isinstance(num_threads, int) or num_threads < 0:
        raise ConfigError(f"num_threads must be an int >= 0 (0: one per core), got {num_threads!r}")
    shards = resolve_shards(source)
    client = _client(client)
    from distributed import as_completed

    futures = client.map(count_shard, shards, pattern=pattern, normalization=normalization,
                         num_threads=num_threads, text_field=text_field, strict=strict, pure=False)
    total = _core.WordCounts()
    for future in as_completed(futures):
        total.merge(_core.WordCounts.from_bytes(future.result()))
        future.release()
    return total


def merge_tables(tables: Iterable[bytes | Any]) -> Any:
    """Merge tables given as ``WordCounts`` or as bytes in the ``save`` format."""
    from tokensmith import _core

    total = _core.WordCounts()
    for table in tables:
        total.merge(_core.WordCounts.from_bytes(table) if isinstance(table, (bytes, bytearray)) else table)
    return total


