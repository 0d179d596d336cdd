"""Tests that need something beside the repository (the shared real data, the optional embedding model): on a
developer's machine they skip when it is missing; under CI (IGNY8_REQUIRE_DATA=1, or CI=true) they fail instead, so
a missing file or model can never pass a run silently."""
from __future__ import annotations

import os

import pytest

REQUIRED = os.environ.get("IGNY8_REQUIRE_DATA") == "1" or os.environ.get("CI", "").lower() == "true"


def require(available: bool, what: str) -> None:
    """Skip (or, under CI, fail) the calling test when `what` is not available."""
    if available:
        return
    if REQUIRED:
        pytest.fail(f"{what} is required under CI (IGNY8_REQUIRE_DATA=1) but missing")
    pytest.skip(f"{what} is missing")
