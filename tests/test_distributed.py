"""Distributed counting on a small in-process dask cluster equals single-process counting."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokensmith import _core
from tokensmith.corpus import Corpus
from tokensmith.distributed import count_shard, count_shards_distributed, merge_tables, resolve_shards
from tokensmith.errors import ConfigError


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    with Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def shard_files(tiny_data: Path) -> list[str]:
    files = sorted(str(p) for p in (tiny_data / "domain").glob("*.jsonl"))
    return files + [str(tiny_data / "english_bench" / "gutenberg_en_sample.txt")]


def _single_process(files: list[str], pattern: str, normalization: str):
    counts = _core.WordCounts()
    for batch in Corpus([Path(f) for f in files]).batches():
        counts.add_texts(batch, pattern, normalization, 1)
    return counts


def test_file_shards_equal_single_process_count(client, shard_files):
    got = count_shards_distributed(shard_files, client, pattern="o200k", normalization="nfc")
    want = _single_process(shard_files, "o200k", "nfc")
    assert got == want
    assert got.total() > 10_000


def test_in_memory_shards_and_glob(client, tiny_data):
    shards = [["the cat", "the dog"], ["a cat"], ["the"]]
    got = count_shards_distributed(shards, client, pattern="gpt2")
    assert dict(got.items()) == {b"the": 3, b" cat": 2, b" dog": 1, b"a": 1}
    glob = str(tiny_data / "domain" / "*.jsonl")
    assert len(resolve_shards(glob)) == 6
    assert count_shards_distributed(glob, client) == _single_process(resolve_shards(glob), "gpt2", "none")


def test_shard_bytes_merge_like_tables(shard_files):
    tables = [count_shard(f, "cl100k") for f in shard_files[:3]]
    assert merge_tables(tables) == _single_process(shard_files[:3], "cl100k", "none")


def test_bad_arguments_fail_before_submitting(client):
    with pytest.raises(ConfigError, match="o200k"):
        count_shards_distributed([["x"]], client, pattern="o200")
    with pytest.raises(ConfigError, match="nfc"):
        count_shards_distributed([["x"]], client, normalization="NFC")
    with pytest.raises(ConfigError, match="shards"):
        count_shards_distributed([], client)
    with pytest.raises(ConfigError, match="shard"):
        count_shards_distributed([42], client)
