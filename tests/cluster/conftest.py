"""The private 3-node RabbitMQ cluster, started once for the module's tests.

These tests are selected with ``-m cluster`` (the main test command leaves them out: a
cluster takes a minute to start). Without ``/usr/lib/rabbitmq/bin`` they fail under
``CI=true`` and skip elsewhere; a cluster that cannot start is an error either way.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.private_rabbitmq import RABBITMQ_BIN, RabbitCluster


@pytest.fixture(scope="module")
def rabbit_cluster() -> Iterator[RabbitCluster]:
    if not (RABBITMQ_BIN / "rabbitmq-server").exists():
        message = f"rabbitmq-server is not installed in {RABBITMQ_BIN} (apt-get install rabbitmq-server)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    cluster = RabbitCluster(Path(tempfile.mkdtemp(prefix="cb-rabbit-cluster-")))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()
