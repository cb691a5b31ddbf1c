"""Configuration of the sources: one pydantic model per type, chosen by ``type``.

These models import nothing heavy (no pika, boto3 or uvicorn), so validating a config
file stays cheap. Unknown keys are refused so a typo is named in the error. Example::

    sources:
      - type: amqp
        name: uio
        url: amqp://canvas-ms@mq.example.org:5671/system-prod-fs?heartbeat=30
        password: {env: AMQP_PASSWORD}
        prefetch: 100
        exchanges: [{name: outgoing_system-prod-fs, type: topic}]
        queues:
          - name: from_system-prod-fs
            quorum: true
            delivery_limit: 50
            bindings: [{exchange: outgoing_system-prod-fs, routing_keys: ['no.uio.fs.#']}]
      - type: sqs
        name: live-events
        queue_url: https://sqs.eu-west-2.amazonaws.com/123456789012/canvas-live-events
        region: eu-west-2
      - {type: http, name: hooks, path: /hooks/sap, port: 8081, token: {env: HOOK_TOKEN}}
      - {type: http, name: canvas-https, path: /live-events, jwt: {jwks_url: https://example.org/jwks}}
      - {type: file, name: backfill, path: /var/lib/canvasbridge/backfill.jsonl}
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from canvasbridge.secrets import SecretRef

DEFAULT_PREFETCH = 100  # unacked AMQP messages per consumer; RabbitMQ advises 100-300
DEFAULT_WORKERS = 4  # threads calling dispatch per source
DEFAULT_BACKOFF_BASE_S = 1.0  # first reconnect / retry pause, seconds
DEFAULT_BACKOFF_CAP_S = 30.0  # longest reconnect / retry pause, seconds
DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # webhook request bodies above this get 413

SourceName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SourceBase(_Strict):
    name: SourceName
    """Becomes ``Envelope.source``; routes select on it."""


# ---------------------------------------------------------------------------------------
# AMQP


class AmqpExchange(_Strict):
    """An exchange to declare (idempotently) before consuming."""

    name: str = Field(min_length=1)
    type: Literal["topic", "direct", "fanout", "headers"] = "topic"
    durable: bool = True
    declare: bool = True
    """False when the account may not declare it (it must then exist already)."""


class AmqpBinding(_Strict):
    """Bind the enclosing queue to ``exchange`` with each of ``routing_keys``."""

    exchange: str = Field(min_length=1)
    routing_keys: list[str] = Field(min_length=1)


class AmqpQueue(_Strict):
    """A queue to declare, bind and consume from."""

    name: str = Field(min_length=1)
    durable: bool = True
    quorum: bool = False
    """Declare with ``x-queue-type: quorum`` (replicated; counts deliveries)."""
    delivery_limit: int | None = Field(default=None, ge=1)
    """Quorum queues only: ``x-delivery-limit``. A message returned more often than this is
    dropped or dead-lettered by RabbitMQ, so keep it well above the number of nacks a long
    outage of the Celery broker can cause, and give the queue a dead-letter exchange."""
    arguments: dict[str, str | int | bool] = Field(default_factory=dict)
    """Further ``x-`` arguments, e.g. ``x-dead-letter-exchange``."""
    declare: bool = True
    """False when the account may not declare it (it must then exist already)."""
    bindings: list[AmqpBinding] = Field(default_factory=list)

    @model_validator(mode="after")
    def _quorum_rules(self) -> AmqpQueue:
        if self.quorum and not self.durable:
            raise ValueError("a quorum queue must be durable")
        if self.delivery_limit is not None and not self.quorum:
            raise ValueError("delivery_limit needs quorum: true")
        return self

    def declare_arguments(self) -> dict[str, str | int | bool]:
        """The ``arguments`` table for ``queue.declare``."""
        args: dict[str, str | int | bool] = dict(self.arguments)
        if self.quorum:
            args["x-queue-type"] = "quorum"
        if self.delivery_limit is not None:
            args["x-delivery-limit"] = self.delivery_limit
        return args


class AmqpSourceConfig(_SourceBase):
    """Consume one or more RabbitMQ queues with pika's asynchronous adapter."""

    type: Literal["amqp"]
    url: str
    """``amqp://user@host:port/vhost?heartbeat=30`` - without the password. A cluster's
    nodes as several URLs separated by ``;``: the source connects to the first that answers
    and, when its connection is lost, reconnects to the next (failover)."""
    password: SecretRef | None = None
    prefetch: int = Field(default=DEFAULT_PREFETCH, ge=1, le=65535)
    workers: int = Field(default=DEFAULT_WORKERS, ge=1, le=64)
    exchanges: list[AmqpExchange] = Field(default_factory=list)
    queues: list[AmqpQueue] = Field(min_length=1)
    consumer_tag: str | None = None
    """Prefix of the consumer tags (one per queue); the broker picks one when unset."""
    reconnect_backoff_base_s: float = Field(default=DEFAULT_BACKOFF_BASE_S, gt=0)
    reconnect_backoff_cap_s: float = Field(default=DEFAULT_BACKOFF_CAP_S, gt=0)
    nack_delay_s: float = Field(default=DEFAULT_BACKOFF_BASE_S, ge=0)
    """Pause before a message whose dispatch failed is nacked for redelivery; doubles
    with each consecutive failure up to ``nack_delay_cap_s``."""
    nack_delay_cap_s: float = Field(default=DEFAULT_BACKOFF_CAP_S, ge=0)

    @field_validator("url")
    @classmethod
    def _no_inline_password(cls, url: str) -> str:
        nodes = [node.strip() for node in url.split(";") if node.strip()]
        if not nodes:
            raise ValueError("must name at least one amqp:// URL")
        for node in nodes:
            parts = urlsplit(node)
            if parts.scheme not in ("amqp", "amqps"):
                raise ValueError("must start with amqp:// or amqps:// (each URL, when several)")
            if parts.password:
                raise ValueError(
                    "the AMQP URL must not contain the password; "
                    "write it as password: {env: NAME} or {file: /path}"
                )
        return url

    def urls(self) -> list[str]:
        """The node URLs, in the order to try them."""
        return [node.strip() for node in self.url.split(";") if node.strip()]

    @model_validator(mode="after")
    def _unique_queue_names(self) -> AmqpSourceConfig:
        names = [q.name for q in self.queues]
        if len(set(names)) != len(names):
            raise ValueError("queue names must be unique")
        return self


# ---------------------------------------------------------------------------------------
# SQS


class SqsSourceConfig(_SourceBase):
    """Long-poll one SQS queue with boto3 (credentials from the standard AWS chain)."""

    type: Literal["sqs"]
    queue_url: str = Field(min_length=1)
    region: str = Field(min_length=1)
    endpoint_url: str | None = None
    """Another endpoint, e.g. moto's server in tests."""
    wait_time_seconds: int = Field(default=20, ge=0, le=20)
    batch_size: int = Field(default=10, ge=1, le=10)
    visibility_timeout: int = Field(default=60, ge=1, le=43200)
    """Seconds a received message stays hidden; a failed one reappears after this."""
    extend_visibility: bool = True
    """Extend the visibility of unfinished messages when a batch takes more than half of
    ``visibility_timeout``."""
    workers: int = Field(default=DEFAULT_WORKERS, ge=1, le=64)
    pollers: int = Field(default=1, ge=1, le=16)
    """Receive loops running side by side, sharing the ``workers``."""
    error_backoff_base_s: float = Field(default=DEFAULT_BACKOFF_BASE_S, gt=0)
    error_backoff_cap_s: float = Field(default=DEFAULT_BACKOFF_CAP_S, gt=0)


# ---------------------------------------------------------------------------------------
# HTTP webhook


# Signatures a JWKS can verify; never "none" or an HMAC (HS*), whose "key" would be public.
JwsAlgorithm = Literal[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"
]


class JwtConfig(_Strict):
    """Bodies must be compact JWS signed by a key of the JWKS at ``jwks_url`` (see jws.py)."""

    jwks_url: str
    algorithms: list[JwsAlgorithm] = Field(default=["RS256"], min_length=1)
    leeway_s: float = Field(default=60.0, ge=0, le=3600)
    """Clock skew allowed when checking ``exp`` and ``nbf``, seconds."""
    cache_ttl_s: float = Field(default=3600.0, gt=0)
    """How long fetched keys count as fresh, seconds; stale keys still serve while the
    JWKS endpoint is down."""
    refetch_interval_s: float = Field(default=60.0, ge=0)
    """Shortest time between two fetches of the JWKS (an unknown ``kid`` triggers one), seconds."""
    timeout_s: float = Field(default=10.0, gt=0)
    """Of one JWKS fetch, seconds."""

    @field_validator("jwks_url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value


class WebhookSourceConfig(_SourceBase):
    """Accept messages as HTTP POSTs to ``path``; answer 202 once dispatched."""

    type: Literal["http"]
    path: str = Field(pattern=r"^/[A-Za-z0-9_./-]*$")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1)
    token: SecretRef | None = None
    """When set, requests need ``Authorization: Bearer <token>``."""
    jwt: JwtConfig | None = None
    """When set, bodies must be signed JWTs; the verified claims become the message body."""


# ---------------------------------------------------------------------------------------
# JSONL file replay


class FileSourceConfig(_SourceBase):
    """Replay a JSONL file, one message per line (``{"body": ..., "routing_key": ...,
    "attributes": {...}, "message_id": ...}``)."""

    type: Literal["file"]
    path: Path
    follow: bool = False
    """Keep reading lines appended after the end (like ``tail -f``) until stopped."""
    poll_interval_s: float = Field(default=0.5, gt=0)
    start_line: int = Field(default=1, ge=1)
    """1-based line to start at, to resume an interrupted replay."""
    retry_backoff_base_s: float = Field(default=DEFAULT_BACKOFF_BASE_S, gt=0)
    retry_backoff_cap_s: float = Field(default=DEFAULT_BACKOFF_CAP_S, gt=0)


SourceConfig = Annotated[
    AmqpSourceConfig | SqsSourceConfig | WebhookSourceConfig | FileSourceConfig,
    Field(discriminator="type"),
]
"""Any source's configuration; pydantic picks the model by ``type``."""

__all__ = [
    "AmqpBinding",
    "AmqpExchange",
    "AmqpQueue",
    "AmqpSourceConfig",
    "FileSourceConfig",
    "SourceConfig",
    "SqsSourceConfig",
    "WebhookSourceConfig",
]
