"""Shared fixtures. Service fixtures live in ``tests/services``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.services import ledger, postgres_url, rabbitmq_url, redis_url  # noqa: F401  (fixtures)

SHARED_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


@pytest.fixture
def shared_reference() -> Path:
    """``../shared/reference`` beside the checkout; tests using it skip on a user's machine."""
    if not SHARED_REFERENCE.is_dir():
        pytest.skip("../shared/reference is not beside this checkout (only CI and developers have it)")
    return SHARED_REFERENCE
