"""Shared fixtures: paths to ../shared (read-only data that is never committed)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """The ``shared/`` folder next to the repository (CI lays it beside the clone)."""
    for cand in (REPO.parent / "shared", REPO / ".." / "shared"):
        if cand.is_dir():
            return cand.resolve()
    return None


@pytest.fixture
def shared_models() -> Path:
    d = shared_dir()
    if d is None or not (d / "models").is_dir():
        pytest.skip("../shared/models is absent (real trained ALRNN models are not committed)")
    return d / "models"


@pytest.fixture
def shared_data() -> Path:
    d = shared_dir()
    if d is None or not (d / "data").is_dir():
        pytest.skip("../shared/data is absent (real data sets are not committed)")
    return d / "data"
