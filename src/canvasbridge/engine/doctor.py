"""``canvasbridge doctor``: can this configuration run here, with these credentials and rights?

The engine's checks (this module): every secret is there; the ledger answers and its
schema is at the newest migration; the Celery broker accepts the login and its vhost exists;
the task queue and each AMQP source's exchanges and queues exist or will be declared. Each
flow the configuration uses adds, through :attr:`Flow.doctor_checks`, what its tasks need of
the systems it reads (a token's rights, the fields its records need), after a check that the
``systems.<entry>`` it requires are configured.

Every check runs at once in a thread of its own, bounded by ``timeout_s``: a system that does
not answer costs one timeout, not one per check. A check returns its detail, or raises
:class:`~canvasbridge.errors.CheckFailed` with what to do; any other error counts as failed
with a remedy named by its kind. Nothing printed carries a secret (details are scrubbed).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError

from canvasbridge.engine import embedded_broker
from canvasbridge.engine.config import AppConfig, split_urls
from canvasbridge.engine.flows import DoctorCheck, DoctorInput, Flow
from canvasbridge.engine.logging import scrub
from canvasbridge.engine.preflight import missing_secrets
from canvasbridge.engine.sources.config import AmqpExchange, AmqpQueue, AmqpSourceConfig, SqsSourceConfig
from canvasbridge.errors import CheckFailed
from canvasbridge.secrets import MissingSecretError

DEFAULT_TIMEOUT_S = 5.0  # seconds one check may take
MAX_DETAIL_CHARS = 400
MIGRATE = (
    "start one canvasbridge process of this version (api, worker or consume): it migrates the "
    "ledger when it opens it (the database role needs the right to create and alter tables)"
)


@dataclass(frozen=True)
class Finding:
    """One line of the report: ✓ or ✗, what was checked, what was found, and what to do."""

    name: str
    ok: bool
    detail: str
    remedy: str = ""
    seconds: float = 0.0


def diagnose(
    config: AppConfig, flows: Sequence[Flow], *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> list[Finding]:
    """Run every check of ``config`` at once; the findings in the order the checks are listed."""
    return run_checks(checks_for(config, flows, timeout_s=timeout_s), timeout_s=timeout_s)


def checks_for(config: AppConfig, flows: Sequence[Flow], *, timeout_s: float) -> dict[str, DoctorCheck]:
    """The engine's checks, then each flow's that ``config`` uses, by line name."""
    checks: dict[str, DoctorCheck] = {
        "secrets": lambda: check_secrets(config, flows),
        "ledger": lambda: check_ledger(config, timeout_s),
        "ledger migrations": lambda: check_migrations(config, timeout_s),
        "broker": lambda: check_broker(config, timeout_s),
    }
    if config.backends.broker_is_rabbitmq:
        checks[f"broker queue {config.backends.queue}"] = lambda: check_task_queue(config, timeout_s)
    for source in config.sources:
        if isinstance(source, AmqpSourceConfig):
            checks[f"source {source.name}"] = lambda s=source: check_amqp_entity(s, None, timeout_s)  # type: ignore[misc]
            entities: list[AmqpExchange | AmqpQueue] = [*source.exchanges, *source.queues]
            for entity in entities:
                kind = "exchange" if isinstance(entity, AmqpExchange) else "queue"
                checks[f"source {source.name} {kind} {entity.name}"] = (
                    lambda s=source, e=entity: check_amqp_entity(s, e, timeout_s)  # type: ignore[misc]
                )
        elif isinstance(source, SqsSourceConfig):
            checks[f"source {source.name}"] = lambda s=source: check_sqs_queue(s, timeout_s)  # type: ignore[misc]
    for flow in flows_in_use(config, flows):
        checks.update(flow_checks(config, flow, timeout_s))
    return checks


def flows_in_use(config: AppConfig, flows: Sequence[Flow]) -> list[Flow]:
    document = {
        "routes": [{"parser": route.parser} for route in config.routes],
        "tasks": {name: {"path": spec.path} for name, spec in config.tasks.items()},
        **config.flow_sections(),
    }
    return [flow for flow in flows if flow.in_use(document)]


def flow_checks(config: AppConfig, flow: Flow, timeout_s: float) -> dict[str, DoctorCheck]:
    """``<flow>: systems`` (each required entry configured), then the flow's own checks."""
    settings = flow.settings(config.flow_sections())
    needs = flow.systems(settings)
    systems: dict[str, BaseModel] = {}
    for entry, need in needs.items():
        raw = config.systems.get(entry)
        if raw:
            systems[entry] = need.model.model_validate(raw)
    missing = sorted(entry for entry, need in needs.items() if need.required and entry not in systems)

    def present() -> str:
        if missing:
            raise CheckFailed(
                f"{', '.join(f'systems.{m}' for m in missing)} not configured",
                "add the entries to the configuration (see docs/configuration.md)",
            )
        return f"configured: {', '.join(sorted(systems)) or 'none needed'}"

    checks: dict[str, DoctorCheck] = {f"{flow.name}: systems": present}
    own = flow.doctor_checks(DoctorInput(settings=settings, systems=systems, timeout_s=timeout_s))
    checks.update({f"{flow.name}: {name}": check for name, check in own.items()})
    return checks


# ----------------------------------------------------------------------------- secrets


def check_secrets(config: AppConfig, flows: Sequence[Flow]) -> str:
    problems = sorted({*missing_secrets(config, "worker", flows), *missing_secrets(config, "consume", flows)})
    if problems:
        # "key (problem)": "key: …" would read as a secret's value to the log scrubber
        raise CheckFailed(
            "; ".join("{} ({})".format(*problem.split(": ", 1)) for problem in problems),
            "set each variable, or create each file, the configuration names (values are never shown)",
        )
    return "every secret the worker and the consumer read is present"


# ----------------------------------------------------------------------------- ledger


def check_ledger(config: AppConfig, timeout_s: float) -> str:
    url = _ledger_url(config)
    where = url.render_as_string(hide_password=True)
    try:
        with _ledger_engine(url, timeout_s).connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        first = str(exc.orig or exc).strip().splitlines()[0]
        raise CheckFailed(
            f"{where}: cannot connect ({first})",
            "check backends.ledger_url and backends.ledger_password, and that the database is up "
            "and reachable from this host",
        ) from None
    return f"{where}: answers"


def check_migrations(config: AppConfig, timeout_s: float) -> str:
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from canvasbridge.engine.ledger.store import MIGRATIONS

    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    try:
        with _ledger_engine(_ledger_url(config), timeout_s).connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except (CheckFailed, sa.exc.OperationalError):
        raise CheckFailed("not checked: the ledger does not answer", "see the ledger line") from None
    if current == head:
        return f"at {head}, the newest migration"
    if current is None:
        raise CheckFailed(f"the ledger has no schema yet (this version needs {head})", MIGRATE)
    if current not in {rev.revision for rev in script.walk_revisions()}:
        raise CheckFailed(
            f"the ledger is at {current}, a migration this version does not know (newer canvasbridge?)",
            "run the canvasbridge version that migrated it, or point backends.ledger_url at this "
            "deployment's ledger",
        )
    raise CheckFailed(f"the ledger is at {current}; this version needs {head}", MIGRATE)


def _ledger_url(config: AppConfig) -> sa.URL:
    url = sa.make_url(config.backends.resolved_ledger_url())
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        raise CheckFailed(f"no ledger file at {url.database}", MIGRATE)
    return url


def _ledger_engine(url: sa.URL, timeout_s: float) -> sa.Engine:
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, round(timeout_s))
    return sa.create_engine(url, poolclass=sa.NullPool, connect_args=connect_args)


# ----------------------------------------------------------------------------- broker


def check_broker(config: AppConfig, timeout_s: float) -> str:
    backends = config.backends
    if backends.embedded:
        return f"embedded: SQLite under {backends.data_dir} (no server to check)"
    with _broker_connection(config, timeout_s) as connection:
        return f"{_safe_url(connection.as_uri())}: logged in"


def check_task_queue(config: AppConfig, timeout_s: float) -> str:
    name = config.backends.queue
    try:
        connection = _broker_connection(config, timeout_s)
    except CheckFailed as exc:
        raise CheckFailed(f"not checked: {exc}", "see the broker line") from None
    with connection:
        try:
            declared = connection.default_channel.queue_declare(queue=name, passive=True)
        except Exception as exc:
            if "NOT_FOUND" not in str(exc):
                raise
            return "does not exist yet: the worker declares it when it starts"
    return f"exists, {declared.message_count} message(s) waiting"


def _broker_connection(config: AppConfig, timeout_s: float) -> Any:
    from kombu import connection as kombu_connection

    url = embedded_broker.kombu_url(config.backends.resolved_broker_url())
    connection: Any = kombu_connection.Connection  # kombu has no type hints
    connection = connection(url, connect_timeout=timeout_s)
    try:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout_s)
    except Exception as exc:
        connection.release()
        raise _amqp_failure(
            exc, split_urls(url)[0], "backends.broker_url", "backends.broker_password"
        ) from None
    return connection


def _amqp_failure(exc: Exception, url: str, url_key: str, password_key: str) -> CheckFailed:
    text = str(exc)
    parts = urlsplit(url)
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    user = parts.username or "guest"
    where = _safe_url(url)
    if "vhost" in text and ("NOT_ALLOWED" in text or "not found" in text or "access" in text.lower()):
        return CheckFailed(
            f"{where}: the vhost {vhost!r} does not exist, or {user!r} may not use it",
            f"create it (rabbitmqctl add_vhost {vhost}; rabbitmqctl set_permissions -p {vhost} {user} "
            f"'.*' '.*' '.*'), or fix the vhost in {url_key}",
        )
    if "ACCESS_REFUSED" in text or any(word in text.lower() for word in ("authentication", "password")):
        return CheckFailed(
            f"{where}: login refused for {user!r}", f"check the user in {url_key} and {password_key}"
        )
    return CheckFailed(
        f"{where}: cannot connect ({type(exc).__name__}: {text})",
        f"check the host and port in {url_key}, and that the broker is running and reachable from this host",
    )


def _safe_url(url: str) -> str:
    """``url`` without a password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}@" if parts.username else ""
    netloc = f"{user}{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


# ----------------------------------------------------------------------------- AMQP sources


def check_amqp_entity(
    source: AmqpSourceConfig, entity: AmqpExchange | AmqpQueue | None, timeout_s: float
) -> str:
    """The source's broker (``entity`` None), or whether one of its exchanges or queues exists."""
    import pika
    import pika.exceptions

    from canvasbridge.engine.sources.amqp import pika_url

    node = source.urls()[0]
    key = f"sources.{source.name}"
    try:
        parts = urlsplit(node)
        netloc = (parts.hostname or "localhost") + (f":{parts.port}" if parts.port else "")
        parameters = pika.URLParameters(pika_url(urlunsplit(parts._replace(netloc=netloc))))
        if parts.username is not None:
            password = source.password.resolve().get_secret_value() if source.password else ""
            parameters.credentials = pika.PlainCredentials(unquote(parts.username), password)
        parameters.socket_timeout = timeout_s
        parameters.blocked_connection_timeout = timeout_s
        parameters.connection_attempts = 1
        connection = pika.BlockingConnection(parameters)
    except MissingSecretError:
        raise
    except Exception as exc:
        failed = _amqp_failure(exc, node, f"{key}.url", f"{key}.password")
        if entity is None:
            raise failed from None
        raise CheckFailed(f"not checked: {failed}", f"see the line of source {source.name}") from None
    try:
        if entity is None:
            return f"{_safe_url(node)}: logged in"
        kind = "exchange" if isinstance(entity, AmqpExchange) else "queue"
        try:
            channel = connection.channel()
            if isinstance(entity, AmqpExchange):
                channel.exchange_declare(entity.name, passive=True)
                return "exists"
            declared = channel.queue_declare(entity.name, passive=True)
            return f"exists, {declared.method.message_count} message(s) waiting"
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code != 404:
                raise
        if entity.declare:
            return f"does not exist yet: the consumer declares the {kind} when it starts"
        raise CheckFailed(
            f"the {kind} does not exist, and the source may not declare it (declare: false)",
            f"ask the broker's operators to create it, or set declare: true on it in {key}",
        )
    finally:
        if connection.is_open:
            connection.close()


# ----------------------------------------------------------------------------- SQS sources


def check_sqs_queue(source: SqsSourceConfig, timeout_s: float) -> str:
    """The queue exists and the AWS credentials may read its attributes."""
    import boto3
    import botocore.config
    import botocore.exceptions

    key = f"sources.{source.name}"
    settings = botocore.config.Config(
        connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 1}
    )
    client = boto3.client("sqs", region_name=source.region, endpoint_url=source.endpoint_url, config=settings)
    try:
        answer = client.get_queue_attributes(
            QueueUrl=source.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )
    except botocore.exceptions.NoCredentialsError:
        raise CheckFailed(
            "no AWS credentials found",
            "give them as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or an instance role",
        ) from None
    except botocore.exceptions.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if "NonExistentQueue" in code or "QueueDoesNotExist" in code:
            raise CheckFailed(
                f"no queue at {source.queue_url}", f"create it, or fix {key}.queue_url and {key}.region"
            ) from None
        if "AccessDenied" in code or "InvalidClientTokenId" in code or "SignatureDoesNotMatch" in code:
            raise CheckFailed(
                f"AWS refused the credentials or their rights ({code})",
                "let them sqs:ReceiveMessage, sqs:DeleteMessage, sqs:ChangeMessageVisibility and "
                "sqs:GetQueueAttributes on the queue",
            ) from None
        raise
    except botocore.exceptions.EndpointConnectionError as exc:
        raise CheckFailed(f"cannot reach SQS: {exc}", f"check {key}.region and {key}.endpoint_url") from None
    waiting = answer.get("Attributes", {}).get("ApproximateNumberOfMessages", "?")
    return f"{source.queue_url}: readable, about {waiting} message(s) waiting"


# ----------------------------------------------------------------------------- running


def run_checks(checks: Mapping[str, DoctorCheck], *, timeout_s: float) -> list[Finding]:
    """Run every check at once in a daemon thread (a hung one never holds the process up);
    one that overruns ``timeout_s`` (plus a second's grace) fails."""
    results: queue.Queue[Finding] = queue.Queue()
    for name, check in checks.items():
        threading.Thread(
            target=_run_one, args=(name, check, results), name=f"doctor:{name}", daemon=True
        ).start()
    found: dict[str, Finding] = {}
    deadline = time.monotonic() + timeout_s + 1.0
    while len(found) < len(checks):
        try:
            finding = results.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        found[finding.name] = finding
    late = Finding(
        "",
        False,
        f"no answer within {timeout_s:g}s",
        "check that the system is up and reachable from this host (firewall, DNS), or give a longer --timeout",
        timeout_s,
    )
    return [found.get(name) or replace(late, name=name) for name in checks]


def _run_one(name: str, check: Callable[[], str], results: queue.Queue[Finding]) -> None:
    started = time.perf_counter()
    try:
        detail, ok, remedy = check(), True, ""
    except CheckFailed as exc:
        detail, ok, remedy = str(exc), False, exc.remedy
    except MissingSecretError as exc:
        detail, ok, remedy = f"secret missing: {exc}", False, "provide it; see the secrets line"
    except ValidationError as exc:
        detail, ok, remedy = (
            f"invalid settings: {exc.errors()[0]['msg']}",
            False,
            "run canvasbridge config check",
        )
    except Exception as exc:
        detail, ok, remedy = (
            f"{type(exc).__name__}: {exc}",
            False,
            "see the error; is the system up and reachable?",
        )
    results.put(
        Finding(
            name,
            ok,
            scrub(detail)[:MAX_DETAIL_CHARS],
            scrub(remedy),
            round(time.perf_counter() - started, 3),
        )
    )
