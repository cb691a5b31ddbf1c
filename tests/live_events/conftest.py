from __future__ import annotations

import pytest

from tests.live_events.org import Org


@pytest.fixture(scope="module")
def _org_server():
    org = Org()
    yield org
    org.stop()


@pytest.fixture
def org(_org_server, monkeypatch):
    """The seeded Ambition org, reset to its seed for each test, with login secrets in env."""
    _org_server.control.reset()
    for name, value in _org_server.env().items():
        monkeypatch.setenv(name, value)
    return _org_server
