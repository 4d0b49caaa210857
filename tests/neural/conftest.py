"""Shared fixture of the neural tests: run a demo as a user does (`tokensmith neural demo X --quick`)."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def quick_demo(tmp_path):
    """quick_demo("twm", "codebook_growth.png") runs the quick demo into tmp_path, checks what every demo
    writes (quick mode, 1 seed, table.md, each named plot) and returns its result.json."""

    def run(system: str, *pngs: str) -> dict:
        from tokensmith.cli import main

        assert main(["neural", "demo", system, "--out", str(tmp_path), "--quick"]) == 0
        result = json.loads((tmp_path / "result.json").read_text())
        assert result["quick"] and result["seeds"] == 1
        assert (tmp_path / "table.md").read_text().startswith("|")
        for png in pngs:
            assert (tmp_path / png).stat().st_size > 1000, png
        return result

    return run
