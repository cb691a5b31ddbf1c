"""Sources: where messages come from (AMQP, SQS, HTTP webhook, JSONL file replay).

Every source turns its messages into :class:`~canvasbridge.engine.envelope.Envelope`\\ s
and hands them to the engine's ``dispatch``; it acks or deletes a message only after
``dispatch`` returned (see :mod:`canvasbridge.engine.sources.base` for the contract)::

    from canvasbridge.engine.sources import SourceConfig, build_source

    source = build_source(config, dispatch)       # config: one item of ``sources:``
    stop = threading.Event()                      # set it on SIGTERM
    source.run(stop)                              # blocks; returns after a clean stop

One module per source type: ``amqp.py`` (pika, asynchronous), ``sqs.py`` (boto3),
``webhook.py`` (Starlette app + uvicorn), ``replay.py`` (JSONL file). They are imported
only when built, so validating a config does not load pika, boto3 or uvicorn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canvasbridge.engine.sources.base import BatchDispatch, Dispatch, Progress, Source
from canvasbridge.engine.sources.config import (
    AmqpBinding,
    AmqpExchange,
    AmqpQueue,
    AmqpSourceConfig,
    FileSourceConfig,
    SourceConfig,
    SqsSourceConfig,
    WebhookSourceConfig,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from starlette.applications import Starlette


def build_source(
    config: AmqpSourceConfig | SqsSourceConfig | WebhookSourceConfig | FileSourceConfig,
    dispatch: Dispatch,
    *,
    progress: Progress | None = None,
) -> Source:
    """The source that ``config`` describes, feeding ``dispatch``.

    ``progress`` is called with the running count of dispatched messages by the file
    replay source (the other sources ignore it).
    """
    if isinstance(config, AmqpSourceConfig):
        from canvasbridge.engine.sources.amqp import AmqpSource

        return AmqpSource(config, dispatch)
    if isinstance(config, SqsSourceConfig):
        from canvasbridge.engine.sources.sqs import SqsSource

        return SqsSource(config, dispatch)
    if isinstance(config, WebhookSourceConfig):
        from canvasbridge.engine.sources.webhook import WebhookSource

        return WebhookSource(config, dispatch)
    if isinstance(config, FileSourceConfig):
        from canvasbridge.engine.sources.replay import FileSource

        return FileSource(config, dispatch, progress=progress)
    raise TypeError(f"not a source configuration: {type(config).__name__}")


def webhook_app(configs: Sequence[WebhookSourceConfig], dispatch: Dispatch) -> Starlette:
    """An ASGI app serving the POST endpoints of ``configs`` (see :mod:`.webhook`)."""
    from canvasbridge.engine.sources.webhook import webhook_app as _webhook_app

    return _webhook_app(configs, dispatch)


__all__ = [
    "AmqpBinding",
    "AmqpExchange",
    "AmqpQueue",
    "AmqpSourceConfig",
    "BatchDispatch",
    "Dispatch",
    "FileSourceConfig",
    "Progress",
    "Source",
    "SourceConfig",
    "SqsSourceConfig",
    "WebhookSourceConfig",
    "build_source",
    "webhook_app",
]
