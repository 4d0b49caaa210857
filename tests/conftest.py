"""Shared fixtures: where the data kit lives. Unit tests read `tiny/`; integration tests the rest."""

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"data kit not found at {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_data(shared_data: Path) -> Path:
    return shared_data / "tiny"
