"""A source message whose items wait in a batch is acked only once that batch is durably
queued: on the real RabbitMQ (source and Celery broker) and PostgreSQL, with the batch's
publish failing once, the message comes back and its item is queued on redelivery."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from canvasbridge.engine.config import parse_config
from canvasbridge.engine.ledger import CallFilter
from canvasbridge.engine.runtime import Runtime
from canvasbridge.engine.sources import build_source
from canvasbridge.engine.sources.amqp import AmqpSource
from tests.engine.helpers import SAMPLE, sample_tasks
from tests.engine.sources.conftest import AMQP_PASSWORD_ENV, Publisher, running, wait_until
from tests.services import unique_name

pytestmark = pytest.mark.rabbitmq


@pytest.fixture
def names(rabbitmq_url: str) -> Iterator[dict[str, str]]:
    names = {"exchange": unique_name("cb-bx"), "queue": unique_name("cb-bq"), "celery": unique_name("cb-bc")}
    yield names
    cleaner = Publisher(rabbitmq_url)
    try:
        cleaner.delete(queues=[names["queue"], names["celery"]], exchanges=[names["exchange"]])
    finally:
        cleaner.close()


def test_a_failed_batch_publish_leaves_its_messages_unacked_and_they_are_queued_on_redelivery(
    amqp_url: str, rabbitmq_url: str, postgres_url: str, names: dict[str, str], publisher: Publisher, tmp_path
) -> None:
    source = {
        "type": "amqp",
        "name": "feed",
        "url": amqp_url,
        "password": {"env": AMQP_PASSWORD_ENV},
        "prefetch": 50,
        "workers": 2,
        "exchanges": [{"name": names["exchange"], "type": "topic"}],
        "queues": [
            {
                "name": names["queue"],
                "quorum": True,
                "bindings": [{"exchange": names["exchange"], "routing_keys": ["#"]}],
            }
        ],
        "nack_delay_s": 0.05,
        "nack_delay_cap_s": 0.2,
    }
    runtime = Runtime(
        parse_config(
            {
                "backends": {
                    "broker_url": rabbitmq_url,
                    "ledger_url": postgres_url,
                    "queue": names["celery"],
                },
                "log": {"level": "WARNING"},
                "tasks": {
                    **sample_tasks(),
                    "batch_record": {
                        "path": f"{SAMPLE}:batch_record",
                        "batch": {"max_items": 500, "max_wait_s": 0.3},
                    },
                },
                "sources": [source],
                "routes": [{"name": "all", "source": "feed", "parser": f"{SAMPLE}:parse_json"}],
            }
        )
    )
    real_publish = runtime.publisher.publish_many
    attempts: list[int] = []
    lock = threading.Lock()

    def fail_first(groups: Any) -> None:
        with lock:
            attempts.append(sum(len(calls) for calls, _ in groups))
            first = len(attempts) == 1
        if first:
            raise ConnectionError("broker went away while publishing the batch")
        real_publish(groups)

    runtime.publisher.publish_many = fail_first  # type: ignore[method-assign]
    amqp = build_source(runtime.config.sources[0], runtime.dispatcher())
    assert isinstance(amqp, AmqpSource)
    ledger = runtime.ledger()
    with running(amqp):
        assert amqp.consuming.wait(10)
        for key in ("a", "b", "c"):
            body = {"task": "batch_record", "params": {"key": key, "effects_dir": str(tmp_path)}}
            publisher.publish(names["exchange"], "x", json.dumps(body).encode(), message_id=f"m-{key}")

        def all_queued() -> bool:
            keys = [
                item["params"]["key"]
                for call in ledger.calls(CallFilter(), limit=100)
                for item in call.params.get("items", [])
            ]
            return sorted(keys) == ["a", "b", "c"]

        wait_until(all_queued, timeout=20, message="the three items queued after redelivery")
        wait_until(lambda: amqp.dispatched == 3, timeout=10, message="the three messages acked")
    assert amqp.failed >= 1  # the failed publish nacked at least one message, which came back
    wait_until(lambda: publisher.queue_counts(names["queue"]) == (0, 0), timeout=5, message="drained")
    # the failed batch's call was forgotten: no call holds an item twice
    calls = ledger.calls(CallFilter(), limit=100)
    keys = [item["params"]["key"] for call in calls for item in call.params["items"]]
    assert sorted(keys) == ["a", "b", "c"]
    origins = [item["origin"]["message_id"] for call in calls for item in call.params["items"]]
    assert sorted(origins) == ["m-a", "m-b", "m-c"]
