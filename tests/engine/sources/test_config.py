"""Source configuration: the type picks the model, typos and inline secrets are named."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from canvasbridge.engine.sources import (
    AmqpSourceConfig,
    FileSourceConfig,
    SourceConfig,
    SqsSourceConfig,
    WebhookSourceConfig,
)

ADAPTER: TypeAdapter[Any] = TypeAdapter(SourceConfig)

AMQP = {
    "type": "amqp",
    "name": "uio",
    "url": "amqp://canvas-ms@127.0.0.1:5672/system-prod-fs",
    "password": {"env": "AMQP_PASSWORD"},
    "queues": [
        {
            "name": "from_system-prod-fs",
            "quorum": True,
            "delivery_limit": 50,
            "arguments": {"x-dead-letter-exchange": "dlx"},
            "bindings": [{"exchange": "outgoing_system-prod-fs", "routing_keys": ["no.uio.fs.#"]}],
        }
    ],
}


@pytest.mark.parametrize(
    ("data", "model"),
    [
        (AMQP, AmqpSourceConfig),
        (
            {"type": "sqs", "name": "le", "queue_url": "https://sqs/1/q", "region": "eu-west-2"},
            SqsSourceConfig,
        ),
        ({"type": "http", "name": "hooks", "path": "/hooks/sap"}, WebhookSourceConfig),
        ({"type": "file", "name": "backfill", "path": "/tmp/x.jsonl"}, FileSourceConfig),
    ],
)
def test_the_type_key_picks_the_model(data: dict[str, Any], model: type) -> None:
    assert isinstance(ADAPTER.validate_python(data), model)


def test_amqp_defaults_and_quorum_arguments() -> None:
    config = ADAPTER.validate_python(AMQP)
    assert config.prefetch == 100
    assert config.queues[0].declare_arguments() == {
        "x-dead-letter-exchange": "dlx",
        "x-queue-type": "quorum",
        "x-delivery-limit": 50,
    }


def test_an_unknown_key_is_named() -> None:
    with pytest.raises(ValidationError, match="prefech"):
        ADAPTER.validate_python({**AMQP, "prefech": 10})
    with pytest.raises(ValidationError, match="routing_key"):
        ADAPTER.validate_python(
            {**AMQP, "queues": [{"name": "q", "bindings": [{"exchange": "x", "routing_key": "a"}]}]}
        )


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(ValidationError, match="kafka"):
        ADAPTER.validate_python({"type": "kafka", "name": "k"})


def test_a_password_inside_the_amqp_url_is_refused() -> None:
    with pytest.raises(ValidationError, match="must not contain the password"):
        ADAPTER.validate_python({**AMQP, "url": "amqp://canvas-ms:hunter2@mq/vhost"})
    with pytest.raises(ValidationError, match="secrets may not be written"):
        ADAPTER.validate_python({**AMQP, "password": "hunter2"})


@pytest.mark.parametrize(
    ("queue", "message"),
    [
        ({"name": "q", "quorum": True, "durable": False}, "must be durable"),
        ({"name": "q", "delivery_limit": 5}, "needs quorum"),
    ],
)
def test_quorum_rules(queue: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ADAPTER.validate_python({**AMQP, "queues": [queue]})


@pytest.mark.parametrize(
    ("key", "value"),
    [("wait_time_seconds", 21), ("batch_size", 11), ("batch_size", 0)],
)
def test_sqs_limits_are_those_of_sqs(key: str, value: int) -> None:
    with pytest.raises(ValidationError, match=key):
        ADAPTER.validate_python(
            {"type": "sqs", "name": "le", "queue_url": "https://sqs/1/q", "region": "eu-west-2", key: value}
        )


def test_an_amqp_source_takes_a_clusters_nodes_as_several_urls() -> None:
    config = ADAPTER.validate_python({**AMQP, "url": "amqp://canvas-ms@mq1/v;amqp://canvas-ms@mq2/v"})
    assert config.urls() == ["amqp://canvas-ms@mq1/v", "amqp://canvas-ms@mq2/v"]
    with pytest.raises(ValidationError, match="must not contain the password"):
        ADAPTER.validate_python({**AMQP, "url": "amqp://canvas-ms@mq1/v;amqp://canvas-ms:hunter2@mq2/v"})
    with pytest.raises(ValidationError, match="each URL, when several"):
        ADAPTER.validate_python({**AMQP, "url": "amqp://canvas-ms@mq1/v;http://mq2"})
