"""The configuration file: one YAML document, validated with pydantic.

The engine owns ``backends``, ``worker``, ``log``, ``admin``, ``sources``, ``routes``,
``unmatched``, ``tasks`` and ``task_defaults``. The sections ``systems``,
``provisioning``, ``live_events`` and ``demo`` belong to the flows: the engine passes them
to tasks untouched (see :meth:`TaskContext.section`). Any other top-level key is an error,
so a typo is named rather than ignored. Secrets are never written inline: see
:mod:`canvasbridge.secrets`.

Load with :func:`load_config`; errors come back as one :class:`ConfigError` listing each
offending key as a dotted path (``routes.0.match.routing_key: …``).
"""

from __future__ import annotations

import os
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from canvasbridge.engine.retries import TaskRetryPolicy
from canvasbridge.engine.sources import SourceConfig
from canvasbridge.errors import ConfigError
from canvasbridge.secrets import SecretRef

CONFIG_ENV = "CANVASBRIDGE_CONFIG"
DEFAULT_DATA_DIR = ".canvasbridge"
FLOW_SECTIONS = ("systems", "provisioning", "live_events", "demo")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BackendsConfig(_Strict):
    """Where tasks are queued and recorded.

    The embedded default needs no server: SQLite files under ``data_dir`` for both the
    ledger and the Celery broker (kombu's SQLAlchemy transport). Production uses
    ``amqp://…`` (RabbitMQ) or ``redis://…`` as broker and ``postgresql+psycopg://…`` as
    ledger; give passwords through ``broker_password`` / ``ledger_password``.
    """

    data_dir: Path = Path(DEFAULT_DATA_DIR)
    broker_url: str | None = None
    broker_password: SecretRef | None = None
    ledger_url: str | None = None
    ledger_password: SecretRef | None = None
    queue: str = "canvasbridge"
    quorum_queue: bool = Field(
        default=False, description="declare the Celery queue as a RabbitMQ quorum queue"
    )

    def resolved_broker_url(self) -> str:
        url = self.broker_url or f"sqla+sqlite:///{self.data_dir / 'broker.db'}"
        return _with_password(url, self.broker_password)

    def resolved_ledger_url(self) -> str:
        url = self.ledger_url or f"sqlite:///{self.data_dir / 'ledger.db'}"
        return _with_password(url, self.ledger_password)

    @property
    def embedded(self) -> bool:
        return self.broker_url is None or self.broker_url.startswith("sqla+sqlite")

    @property
    def broker_is_rabbitmq(self) -> bool:
        """Whether Celery's broker is RabbitMQ (an ``amqp``, ``amqps`` or ``pyamqp`` URL)."""
        return (self.broker_url or "").startswith(("amqp://", "amqps://", "pyamqp://"))


def _with_password(url: str, password: SecretRef | None) -> str:
    if password is None:
        return url
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(url)
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    secret = quote(password.resolve().get_secret_value(), safe="")
    return urlunsplit(
        (parts.scheme, f"{quote(user, safe='')}:{secret}@{host}{port}", parts.path, parts.query, "")
    )


class WorkerConfig(_Strict):
    concurrency: int = Field(default=2, ge=1, le=256)
    pool: Literal["prefork", "threads", "solo"] = "prefork"
    prefetch_multiplier: int = Field(default=4, ge=1, le=1000)
    send_task_events: bool = Field(
        default=False,
        description="publish Celery's task events (task-received, -started, -succeeded, -failed) "
        "for Flower and celery-exporter; RabbitMQ or Redis broker only",
    )
    presume_lost_after_s: float = Field(
        default=900.0,
        gt=0,
        description="a call running this long no longer holds back an identical call (its worker is presumed lost)",
    )


class LogConfig(_Strict):
    format: Literal["text", "json"] = "text"
    level: str = "INFO"

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level


class Role(StrEnum):
    READ = "read"
    OPERATE = "operate"


class AdminToken(_Strict):
    name: str
    role: Role = Role.READ
    token: SecretRef


class AdminConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8470, ge=0, le=65535)
    tokens: list[AdminToken] = Field(default_factory=list)


class MatchSpec(_Strict):
    """Regular expressions searched in the routing key and in named attributes; all must match."""

    routing_key: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)

    @field_validator("routing_key")
    @classmethod
    def _routing_key_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            _compile(value)
        return value

    @field_validator("attributes")
    @classmethod
    def _attributes_compile(cls, value: dict[str, str]) -> dict[str, str]:
        for pattern in value.values():
            _compile(pattern)
        return value


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc


class RouteSpec(_Strict):
    name: str
    source: str
    match: MatchSpec = Field(default_factory=MatchSpec)
    parser: str


class UnmatchedPolicy(StrEnum):
    ACK = "ack"  # count and log, then acknowledge
    PARK = "park"  # keep the message in the ledger's parking table with the reason


class UnmatchedConfig(_Strict):
    default: UnmatchedPolicy = UnmatchedPolicy.PARK
    sources: dict[str, UnmatchedPolicy] = Field(default_factory=dict)

    def policy_for(self, source: str) -> UnmatchedPolicy:
        return self.sources.get(source, self.default)


class SyncSpec(_Strict):
    """Lets operators queue this task for one object: ``POST /sync/{kind}/{key}``."""

    kind: str
    key: str = Field(description="the task parameter that receives the object's key")


class BatchSpec(_Strict):
    """The task takes many items per call (see docs/architecture.md, "Batch tasks")."""

    max_items: int = Field(default=500, ge=1, le=10_000, description="items per call at most")
    max_wait_s: float = Field(
        default=1.0, gt=0, le=60, description="longest wait of an item for its batch to fill, seconds"
    )


class TaskSpec(_Strict):
    path: str
    retry: TaskRetryPolicy | None = None
    time_limit_s: float | None = Field(default=None, gt=0, description="longest run, seconds; none: no limit")
    sync: SyncSpec | None = None
    batch: BatchSpec | None = None
    description: str = ""

    @field_validator("path")
    @classmethod
    def _looks_like_import_path(cls, value: str) -> str:
        module, sep, attribute = value.partition(":")
        if not sep or not module or not attribute:
            raise ValueError("must look like 'package.module:function'")
        return value


class TaskDefaults(_Strict):
    retry: TaskRetryPolicy = Field(default_factory=TaskRetryPolicy)
    time_limit_s: float | None = Field(default=None, gt=0, description="longest run, seconds; none: no limit")


class AppConfig(_Strict):
    backends: BackendsConfig = Field(default_factory=BackendsConfig)
    worker: WorkerConfig = Field(default_factory=WorkerConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    admin: AdminConfig = Field(default_factory=AdminConfig)
    sources: list[SourceConfig] = Field(default_factory=list)
    routes: list[RouteSpec] = Field(default_factory=list)
    unmatched: UnmatchedConfig = Field(default_factory=UnmatchedConfig)
    tasks: dict[str, TaskSpec] = Field(default_factory=dict)
    task_defaults: TaskDefaults = Field(default_factory=TaskDefaults)
    systems: dict[str, Any] = Field(default_factory=dict)
    provisioning: dict[str, Any] = Field(default_factory=dict)
    live_events: dict[str, Any] = Field(default_factory=dict)
    demo: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references_resolve(self) -> AppConfig:
        source_names = [source.name for source in self.sources]
        duplicates = {name for name in source_names if source_names.count(name) > 1}
        if duplicates:
            raise ValueError(f"sources: duplicate source name(s) {sorted(duplicates)}")
        route_names = [route.name for route in self.routes]
        if len(set(route_names)) != len(route_names):
            raise ValueError("routes: route names must be unique")
        for index, route in enumerate(self.routes):
            if route.source not in source_names:
                raise ValueError(
                    f"routes.{index}.source: unknown source {route.source!r} (configured: {source_names})"
                )
        for name in self.unmatched.sources:
            if name not in source_names:
                raise ValueError(f"unmatched.sources.{name}: unknown source")
        if self.worker.send_task_events and self.backends.embedded:
            raise ValueError(
                "worker.send_task_events: needs a RabbitMQ or Redis broker (backends.broker_url)"
            )
        kinds = [spec.sync.kind for spec in self.tasks.values() if spec.sync is not None]
        if len(set(kinds)) != len(kinds):
            raise ValueError("tasks: two tasks declare the same sync kind")
        return self

    def retry_policy(self, task: str) -> TaskRetryPolicy:
        spec = self.tasks.get(task)
        return spec.retry if spec is not None and spec.retry is not None else self.task_defaults.retry

    def time_limit(self, task: str) -> float | None:
        """Seconds one run of ``task`` may take, or None for no limit."""
        spec = self.tasks.get(task)
        if spec is not None and spec.time_limit_s is not None:
            return spec.time_limit_s
        return self.task_defaults.time_limit_s

    def flow_sections(self) -> dict[str, Any]:
        """The sections the engine hands to tasks untouched."""
        return {name: getattr(self, name) for name in FLOW_SECTIONS}


def parse_config(data: Any, *, origin: str = "<config>") -> AppConfig:
    """Validate an already-loaded document; :class:`ConfigError` naming every bad key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the top level must be a mapping, not {type(data).__name__}")
    try:
        return AppConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, origin)) from None


def load_config(path: str | Path | None = None) -> AppConfig:
    """Load the YAML file at ``path``, else ``$CANVASBRIDGE_CONFIG``, else the embedded defaults."""
    chosen = path or os.environ.get(CONFIG_ENV)
    if not chosen:
        return AppConfig()
    file = Path(chosen)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read configuration file: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from exc
    return parse_config(data, origin=str(file))


def format_validation_error(exc: ValidationError, origin: str) -> str:
    lines = [f"{origin}: invalid configuration ({exc.error_count()} problem(s))"]
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key (check its spelling and where it is nested)"
        lines.append(f"  {location}: {message}")
    return "\n".join(lines)
