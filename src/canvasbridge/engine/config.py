"""The configuration file: one YAML document, validated with pydantic.

The engine owns ``backends``, ``worker``, ``log``, ``admin``, ``sources``, ``routes``,
``unmatched``, ``tasks``, ``task_defaults`` and ``systems`` (one entry per external system,
each validated by the flows that read it). Every other top-level section belongs to an
installed flow (:mod:`canvasbridge.engine.flows`), which validates it with its own model;
the engine hands those sections and ``systems`` to parsers and tasks (see
:meth:`TaskContext.section`). A key neither the engine nor an installed flow owns is an
error, so a typo is named rather than ignored. Secrets are never written inline: see
:mod:`canvasbridge.secrets`.

Load with :func:`load_config` (or :func:`parse_config` for a loaded document); errors come
back as one :class:`ConfigError` listing *every* offending key as a dotted path
(``routes.0.match.routing_key: …``), engine and flow sections alike.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from canvasbridge.engine.config_env import apply_env_overrides, blame
from canvasbridge.engine.flows import Flow, installed_flows
from canvasbridge.engine.retries import TaskRetryPolicy
from canvasbridge.engine.sources import SourceConfig
from canvasbridge.errors import ConfigError
from canvasbridge.secrets import SecretRef

CONFIG_ENV = "CANVASBRIDGE_CONFIG"
DEFAULT_DATA_DIR = ".canvasbridge"
UNKNOWN_KEY = "unknown key (check its spelling and where it is nested)"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BackendsConfig(_Strict):
    """Where tasks are queued and recorded.

    The embedded default needs no server: SQLite files under ``data_dir`` for both the
    ledger and the Celery broker (kombu's SQLAlchemy transport). Production uses
    ``amqp://…`` (RabbitMQ) or ``redis://…`` as broker and ``postgresql+psycopg://…`` as
    ledger; give passwords through ``broker_password`` / ``ledger_password``. The nodes of
    a RabbitMQ cluster are given as one URL each, separated by ``;`` (as Celery and kombu
    take them): clients connect to the first that answers and fail over to the next.
    """

    data_dir: Path = Path(DEFAULT_DATA_DIR)
    broker_url: str | None = None
    broker_password: SecretRef | None = None
    ledger_url: str | None = None
    ledger_password: SecretRef | None = None
    queue: str = "canvasbridge"
    keep_finished_days: float | None = Field(
        default=30,
        gt=0,
        description="days the ledger keeps a finished call (succeeded, discarded, requeued) with its "
        "attempts; the consumer deletes older ones hourly. Dead letters and parked messages stay "
        "until an operator acts. null keeps everything",
    )
    quorum_queue: bool = Field(
        default=False, description="declare the Celery queue as a RabbitMQ quorum queue"
    )
    queue_delivery_limit: int | None = Field(
        default=None,
        ge=1,
        description="quorum queue only: x-delivery-limit, how often RabbitMQ delivers a task message "
        "that keeps coming back (worker lost) before dropping it",
    )

    @field_validator("broker_url")
    @classmethod
    def _failover_urls_alike(cls, value: str | None) -> str | None:
        if value is not None and ";" in value:
            schemes = {url.split("://", 1)[0] for url in split_urls(value)}
            if not schemes <= {"amqp", "amqps", "pyamqp"}:
                raise ValueError("several broker URLs (separated by ';') must all be amqp:// URLs")
        return value

    @model_validator(mode="after")
    def _delivery_limit_needs_quorum(self) -> BackendsConfig:
        if self.queue_delivery_limit is not None and not self.quorum_queue:
            raise ValueError("queue_delivery_limit needs quorum_queue: true")
        return self

    def resolved_broker_url(self) -> str:
        url = self.broker_url or f"sqla+sqlite:///{self.data_dir / 'broker.db'}"
        return ";".join(_with_password(part, self.broker_password) for part in split_urls(url))

    def queue_arguments(self) -> dict[str, str | int] | None:
        """The Celery queue's declare arguments (the worker and the publisher must agree)."""
        if not self.quorum_queue:
            return None
        arguments: dict[str, str | int] = {"x-queue-type": "quorum"}
        if self.queue_delivery_limit is not None:
            arguments["x-delivery-limit"] = self.queue_delivery_limit
        return arguments

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


def split_urls(urls: str) -> list[str]:
    """``amqp://a;amqp://b`` → each URL: a cluster's nodes, in the order to try them."""
    return [url.strip() for url in urls.split(";") if url.strip()]


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


class SignInLimitConfig(_Strict):
    """Wrong tokens allowed from one client address within ``window_s`` before it must wait."""

    failures: int = Field(default=10, ge=1)
    window_s: float = Field(default=300.0, gt=0)


class AdminConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8470, ge=0, le=65535)
    tokens: list[AdminToken] = Field(default_factory=list)
    sign_in_limit: SignInLimitConfig = Field(default_factory=SignInLimitConfig)


class MetricsConfig(_Strict):
    """``consume`` and ``worker`` serving their own ``/metrics`` (the API always serves one)."""

    port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="consume and worker serve /metrics on this port (token from admin.tokens); none if unset",
    )
    host: str = "127.0.0.1"


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
    """The whole configuration. Build it with :func:`parse_config` or :func:`load_config`,
    which also check what refers to what and the flows' sections; the flows' sections are
    kept here as given (``model_extra``)."""

    model_config = ConfigDict(extra="allow")

    backends: BackendsConfig = Field(default_factory=BackendsConfig)
    worker: WorkerConfig = Field(default_factory=WorkerConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    admin: AdminConfig = Field(default_factory=AdminConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    sources: list[SourceConfig] = Field(default_factory=list)
    routes: list[RouteSpec] = Field(default_factory=list)
    unmatched: UnmatchedConfig = Field(default_factory=UnmatchedConfig)
    tasks: dict[str, TaskSpec] = Field(default_factory=dict)
    task_defaults: TaskDefaults = Field(default_factory=TaskDefaults)
    systems: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _sections_are_owned(self, info: ValidationInfo) -> AppConfig:
        flows = (info.context or {}).get("flows")
        owned = {
            section for flow in (installed_flows() if flows is None else flows) for section in flow.sections
        }
        unknown = sorted(set(self.model_extra or {}) - owned)
        if unknown:
            raise ValueError(f"{unknown[0]}: {UNKNOWN_KEY}")
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

    def section(self, name: str) -> Any:
        """A flow's section as written in the file (``{}`` when absent)."""
        return (self.model_extra or {}).get(name) or {}

    def flow_sections(self) -> dict[str, Any]:
        """The sections the engine hands to parsers and tasks: ``systems`` and every flow's."""
        return {"systems": self.systems, **(self.model_extra or {})}


@dataclass
class CheckedConfig:
    """What :func:`check_document` found: the configuration if it is valid, every problem
    (``key: message``), and the document as validated (flows' default task specs filled in)."""

    config: AppConfig | None
    problems: list[str] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)


def check_document(data: Mapping[str, Any], *, flows: Sequence[Flow] | None = None) -> CheckedConfig:
    """Validate a loaded document against the engine's sections and every installed flow's,
    collecting all problems instead of stopping at the first."""
    flows = installed_flows() if flows is None else flows
    owned = {section for flow in flows for section in flow.sections}
    unknown = [key for key in data if key not in AppConfig.model_fields and key not in owned]
    problems = [f"{key}: {UNKNOWN_KEY}" for key in unknown]
    document = _with_default_tasks({k: v for k, v in data.items() if k not in unknown}, flows)
    config: AppConfig | None = None
    try:
        config = AppConfig.model_validate(document, context={"flows": flows})
    except ValidationError as exc:
        problems += validation_problems(exc)
    problems += reference_problems(document)
    problems += flow_problems(document, flows)
    return CheckedConfig(None if problems else config, problems, document)


def _with_default_tasks(document: dict[str, Any], flows: Sequence[Flow]) -> dict[str, Any]:
    """A ``tasks.<name>`` entry without ``path`` takes the spec of the flow declaring that task."""
    tasks = document.get("tasks")
    if not isinstance(tasks, Mapping):
        return document
    defaults = {name: spec for flow in flows for name, spec in flow.tasks.items()}
    filled = {}
    for name, spec in tasks.items():
        if (spec is None or isinstance(spec, Mapping)) and name in defaults and "path" not in (spec or {}):
            spec = {**defaults[name], **(spec or {})}
        filled[name] = spec
    return {**document, "tasks": filled}


def reference_problems(document: Mapping[str, Any]) -> list[str]:
    """Names that refer to nothing: routes' and ``unmatched``'s sources, duplicate names and
    sync kinds. Works on the raw document, so it reports these beside any other problem."""

    def listed(key: str) -> list[Mapping[str, Any]]:
        value = document.get(key)
        return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []

    problems = []
    source_names = [s["name"] for s in listed("sources") if isinstance(s.get("name"), str)]
    duplicates = sorted({name for name in source_names if source_names.count(name) > 1})
    if duplicates:
        problems.append(f"sources: duplicate source name(s) {duplicates}")
    routes = listed("routes")
    route_names = [route.get("name") for route in routes]
    if len(set(map(str, route_names))) != len(route_names):
        problems.append("routes: route names must be unique")
    for index, route in enumerate(routes):
        source = route.get("source")
        if isinstance(source, str) and source not in source_names:
            problems.append(f"routes.{index}.source: unknown source {source!r} (configured: {source_names})")
    unmatched = document.get("unmatched")
    policies = unmatched.get("sources") if isinstance(unmatched, Mapping) else None
    for name in policies if isinstance(policies, Mapping) else ():
        if name not in source_names:
            problems.append(f"unmatched.sources.{name}: unknown source")
    worker, backends = document.get("worker"), document.get("backends")
    if isinstance(worker, Mapping) and worker.get("send_task_events") is True:
        broker = backends.get("broker_url") if isinstance(backends, Mapping) else None
        if not isinstance(broker, str) or broker.startswith("sqla+sqlite"):  # the embedded broker
            problems.append("worker.send_task_events: needs a RabbitMQ or Redis broker (backends.broker_url)")
    tasks = document.get("tasks")
    seen: dict[str, str] = {}
    for name, spec in tasks.items() if isinstance(tasks, Mapping) else ():
        sync = spec.get("sync") if isinstance(spec, Mapping) else None
        kind = sync.get("kind") if isinstance(sync, Mapping) else None
        if isinstance(kind, str) and kind in seen:
            problems.append(
                f"tasks.{name}.sync.kind: tasks {seen[kind]!r} and {name!r} declare the same sync kind {kind!r}"
            )
        elif isinstance(kind, str):
            seen[kind] = name
    return problems


def flow_problems(document: Mapping[str, Any], flows: Sequence[Flow]) -> list[str]:
    """Each flow's sections checked with its models, and for the flows in use the
    ``systems`` entries they read (when present; a missing one fails their readiness check)."""
    problems: list[str] = []
    systems = document.get("systems")
    checked: set[tuple[str, type[BaseModel]]] = set()
    for flow in flows:
        settings: dict[str, BaseModel] = {}
        for name, model in flow.sections.items():
            try:
                settings[name] = model.model_validate(document.get(name) or {})
            except ValidationError as exc:
                problems += validation_problems(exc, prefix=name)
        if (
            len(settings) < len(flow.sections)
            or not flow.in_use(document)
            or not isinstance(systems, Mapping)
        ):
            continue
        for entry, need in flow.systems(settings).items():
            if entry not in systems or (entry, need.model) in checked:
                continue
            checked.add((entry, need.model))
            try:
                need.model.model_validate(systems[entry] or {})
            except ValidationError as exc:
                problems += validation_problems(exc, prefix=f"systems.{entry}")
    return problems


def validation_problems(exc: ValidationError, *, prefix: str = "") -> list[str]:
    """``dotted.key: message`` for each error pydantic found."""
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in (*([prefix] if prefix else []), *error["loc"]))
        message = UNKNOWN_KEY if error["type"] == "extra_forbidden" else error["msg"]
        problems.append(f"{location or '(top level)'}: {message}")
    return problems


def parse_config(
    data: Any, *, origin: str = "<config>", environ: Mapping[str, str] | None = None
) -> AppConfig:
    """Validate an already-loaded document, with the ``CANVASBRIDGE__…`` overrides of
    ``environ`` applied (none if not given); :class:`ConfigError` naming every bad key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the top level must be a mapping, not {type(data).__name__}")
    data, applied = apply_env_overrides(data, environ or {})
    checked = check_document(data)
    if checked.config is None:
        raise ConfigError(format_problems(blame(checked.problems, applied), origin))
    return checked.config


def load_config(path: str | Path | None = None) -> AppConfig:
    """Load the YAML file at ``path``, else ``$CANVASBRIDGE_CONFIG``, else the embedded
    defaults; then the environment's ``CANVASBRIDGE__…`` overrides (see :mod:`.config_env`)."""
    chosen = path or os.environ.get(CONFIG_ENV)
    if not chosen:
        return parse_config({}, origin="(embedded defaults)", environ=os.environ)
    return parse_config(read_document(Path(chosen)), origin=str(chosen), environ=os.environ)


def read_document(file: Path) -> dict[str, Any]:
    """The YAML mapping in ``file``; :class:`ConfigError` naming the file if it cannot be."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read configuration file: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the top level must be a mapping, not {type(data).__name__}")
    return data


def format_problems(problems: Sequence[str], origin: str) -> str:
    return "\n".join(
        [f"{origin}: invalid configuration ({len(problems)} problem(s))", *(f"  {p}" for p in problems)]
    )
