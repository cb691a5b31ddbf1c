"""Everything the demo runs, started in one process and stopped in reverse order.

    stack = DemoStack(DemoOptions(size="small", seed=1)).start()
    stack.suite["canvas"].model          # the emulators (canvasbridge_emulators.suite)
    stack.runtime.ledger().count()       # the engine, with its consumer and worker running
    stack.admin_url, stack.config_path   # the admin API; the filled-in configuration file
    stack.stop()

The configuration is ``examples/demo.yaml`` (a copy ships as ``canvasbridge_demo/demo.yaml``)
or the file given, with its ``${NAME}`` placeholders filled in from the running emulators,
written to ``<data dir>/canvasbridge.yaml`` so the CLI can use the same ledger and broker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import secrets
import shutil
import socket
import string
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import yaml

from canvasbridge.engine.config import AppConfig, parse_config
from canvasbridge.errors import ConfigError

log = logging.getLogger("canvasbridge_demo")

PACKAGED_CONFIG = Path(__file__).with_name("demo.yaml")
WEBHOOK_PATH = "/hooks/uio"
AMQP_SOURCE_QUEUE = "canvasbridge-demo-uio"  # + a per-run suffix; RabbitMQ drops it when unused
AMQP_QUEUE_EXPIRES_MS = 120_000
STARTUP_TIMEOUT_S = 30.0

#: environment variables the demo sets to the emulators' credentials (the config names them)
SECRET_ENV = {
    "canvas": "CB_DEMO_CANVAS_TOKEN",
    "fs": "CB_DEMO_FS_PASSWORD",
    "cerebrum": "CB_DEMO_CEREBRUM_API_KEY",
    "sap": "CB_DEMO_SAP_API_KEY",
    "sf_password": "CB_DEMO_SALESFORCE_PASSWORD",
    "sf_token": "CB_DEMO_SALESFORCE_SECURITY_TOKEN",
    "sf_secret": "CB_DEMO_SALESFORCE_CONSUMER_SECRET",
    "admin": "CB_DEMO_ADMIN_TOKEN",
    "amqp": "CB_DEMO_AMQP_PASSWORD",
}


@dataclass
class DemoOptions:
    size: str = "small"
    seed: int = 1
    config: Path | None = None  # default: the packaged copy of examples/demo.yaml
    broker: str | None = None  # e.g. amqp://guest:guest@127.0.0.1:5672//
    ledger: str | None = None  # e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test
    data_dir: Path | None = None  # default: a new temporary directory, removed at the end
    concurrency: int | None = None  # worker threads (default: worker.concurrency)


def default_config_path() -> Path:
    """``examples/demo.yaml`` in a source checkout, else the copy shipped in the package."""
    checkout = Path(__file__).resolve().parents[3] / "examples" / "demo.yaml"
    return checkout if checkout.is_file() else PACKAGED_CONFIG


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """Replace ``${NAME}``; an unknown name is a :class:`ConfigError` naming it."""
    template = string.Template(text)
    missing = sorted(
        {m.group("braced") or m.group("named") for m in template.pattern.finditer(text)}
        - set(values)
        - {None}
    )
    if missing:
        raise ConfigError(
            f"demo configuration: unknown placeholder(s) {', '.join('${' + m + '}' for m in missing)}"
        )
    return template.safe_substitute(values)


def split_password(url: str) -> tuple[str, str | None]:
    """``amqp://user:pw@host/vh`` → (``amqp://user@host/vh``, ``pw``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    netloc = f"{parts.username or ''}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), parts.password


def secret_environment(suite: Any, admin_token: str) -> dict[str, str]:
    """The environment variables the demo configuration reads its secrets from (the
    emulators' credentials), and AWS credentials for moto's SQS, which accepts any."""
    sf = suite["salesforce"].credentials
    values = {
        "canvas": suite["canvas"].credentials["token"],
        "fs": suite["fs"].credentials["password"],
        "cerebrum": suite["cerebrum"].credentials["api_key"],
        "sap": suite["sap"].credentials["api_key"],
        "sf_password": sf["password"],
        "sf_token": sf["security_token"],
        "sf_secret": sf["consumer_secret"],
        "admin": admin_token,
    }
    sqs = suite["sqs"].credentials
    return {
        **{SECRET_ENV[key]: value for key, value in values.items()},
        "AWS_ACCESS_KEY_ID": sqs["access_key"],
        "AWS_SECRET_ACCESS_KEY": sqs["secret_key"],
    }


def placeholders(suite: Any, data_dir: Path, webhook_port: int) -> dict[str, str]:
    """The values of the demo configuration's ``${…}`` placeholders for a running suite."""
    sqs = suite["sqs"].credentials
    sf = suite["salesforce"].credentials
    return {
        "DATA_DIR": str(data_dir),
        "WEBHOOK_PORT": str(webhook_port),
        "SQS_URL": suite["sqs"].url,
        "SQS_QUEUE_URL": sqs["queue"],
        "SQS_REGION": sqs["region"],
        "CANVAS_URL": suite["canvas"].url,
        "FS_URL": suite["fs"].url,
        "CEREBRUM_URL": suite["cerebrum"].url,
        "CEREBRUM_API_KEY_HEADER": suite["cerebrum"].credentials["header"],
        "SAP_URL": suite["sap"].url,
        "SALESFORCE_URL": suite["salesforce"].url,
        "SALESFORCE_USERNAME": sf["username"],
        "SALESFORCE_CONSUMER_KEY": sf["consumer_key"],
    }


class DemoStack:
    """The emulators, the engine (consumer, worker) and the admin API of one demo run."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.started_at = dt.datetime.now(dt.UTC)
        self.suite: Any = None
        self.runtime: Any = None
        self.config: AppConfig | None = None
        self.config_path: Path | None = None
        self.data_dir: Path | None = None
        self.admin_url = ""
        self.admin_error = ""
        self.admin_token = secrets.token_urlsafe(18)
        self.webhook_url = ""
        self.source_transport = "webhook (HTTP)"
        self._own_data_dir = False
        self._stop = threading.Event()
        self._consumer: threading.Thread | None = None
        self._consumer_error: BaseException | None = None
        self._exits = contextlib.ExitStack()
        self._admin_server: Any = None

    # -- start -------------------------------------------------------------------------

    def start(self) -> DemoStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        from canvasbridge_emulators.suite import start_suite

        opts = self.options
        if opts.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="canvasbridge-demo-"))
            self._own_data_dir = True
        else:
            self.data_dir = opts.data_dir
            self.data_dir.mkdir(parents=True, exist_ok=True)
        amqp = opts.broker if opts.broker and opts.broker.startswith(("amqp://", "amqps://")) else None
        port = free_port()
        self.webhook_url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        # With RabbitMQ, the source systems publish to it as in production (IntArk);
        # embedded, they POST to the webhook source.
        publish = amqp if amqp else self.webhook_url
        self.source_transport = "AMQP" if amqp else "webhook (HTTP)"
        self.suite = start_suite(opts.size, opts.seed, publish=publish)
        self._set_secrets()
        self.config = self._build_config(port, amqp)
        from canvasbridge.engine.runtime import Runtime

        self.runtime = Runtime(self.config)
        self.runtime.ledger()  # migrate before anything runs
        self._purge_queue_if_shared()
        self._start_consumer()
        self._exits.enter_context(
            self.runtime.in_process_worker(
                concurrency=opts.concurrency or self.config.worker.concurrency, pool="threads"
            )
        )
        self._start_admin_api()

    def _set_secrets(self) -> None:
        for name, value in secret_environment(self.suite, self.admin_token).items():
            if name.startswith("AWS_"):  # the SQS source takes them from the standard chain
                os.environ.setdefault(name, value)
            else:
                os.environ[name] = value

    def placeholders(self, webhook_port: int) -> dict[str, str]:
        assert self.data_dir is not None
        return placeholders(self.suite, self.data_dir, webhook_port)

    def _build_config(self, webhook_port: int, amqp: str | None) -> AppConfig:
        source = self.options.config or default_config_path()
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read configuration file: {exc.strerror}") from exc
        document = yaml.safe_load(fill_placeholders(text, self.placeholders(webhook_port))) or {}
        backends = document.setdefault("backends", {})
        # passwords in --broker / --ledger go to the environment, never into the file
        for option, key, env in (
            (self.options.broker, "broker", "CB_DEMO_BROKER_PASSWORD"),
            (self.options.ledger, "ledger", "CB_DEMO_LEDGER_PASSWORD"),
        ):
            if option:
                url, password = split_password(option)
                backends[f"{key}_url"] = url
                if password is not None:
                    os.environ[env] = password
                    backends[f"{key}_password"] = {"env": env}
        if amqp:
            password = use_amqp_source(document, amqp)
            if password is not None:
                os.environ[SECRET_ENV["amqp"]] = password
        config = parse_config(document, origin=str(source))
        assert self.data_dir is not None
        self.config_path = self.data_dir / "canvasbridge.yaml"
        header = f"# canvasbridge demo: {source} filled in for the run started {self.started_at:%Y-%m-%d %H:%M:%S} UTC\n"
        self.config_path.write_text(
            header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        return config

    def _purge_queue_if_shared(self) -> None:
        """On a real broker the queue outlives a run: drop what an earlier demo left."""
        assert self.config is not None
        if self.config.backends.embedded:
            return
        try:
            self.runtime.celery.control.purge()
        except Exception as exc:
            where = split_password(self.config.backends.broker_url or "")[0]
            raise RuntimeError(f"cannot reach the Celery broker at {where}: {exc}") from exc

    def _start_consumer(self) -> None:
        def run() -> None:
            try:
                self.runtime.consume(self._stop)
            except BaseException as exc:  # reported by check_consumer()
                self._consumer_error = exc

        self._consumer = threading.Thread(target=run, name="demo-consumer", daemon=True)
        self._consumer.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        health = self.webhook_url.rsplit("/hooks/", 1)[0] + "/healthz"
        while time.monotonic() < deadline:
            self.check_consumer()
            if self.source_transport == "AMQP":
                time.sleep(1.5)  # the AMQP source declares its exchanges and queue
                return
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(health, timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"the webhook source did not start listening at {self.webhook_url}")

    def check_consumer(self) -> None:
        if self._consumer_error is not None:
            raise RuntimeError(f"the consumer stopped: {self._consumer_error}") from self._consumer_error

    def _start_admin_api(self) -> None:
        from canvasbridge.engine.api import create_api
        from canvasbridge_emulators.common import ServerThread

        assert self.config is not None
        try:
            app = create_api(self.runtime)
            server = ServerThread(app, host=self.config.admin.host, port=self.config.admin.port).start()
        except Exception as exc:  # the demo goes on without it and says why
            self.admin_error = f"{type(exc).__name__}: {exc}"
            log.error("the admin API did not start: %s", self.admin_error)
            return
        self._admin_server = server
        self.admin_url = server.url

    # -- stop --------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()
        if self._admin_server is not None:
            with contextlib.suppress(Exception):
                self._admin_server.stop()
            self._admin_server = None
        with contextlib.suppress(Exception):
            self._exits.close()  # the worker
        if self._consumer is not None:
            self._consumer.join(timeout=30)
            self._consumer = None
        if self.suite is not None:
            with contextlib.suppress(Exception):
                self.suite.stop()
        if self._own_data_dir and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def use_amqp_source(document: dict[str, Any], amqp_url: str) -> str | None:
    """Replace the webhook source ``uio`` by an AMQP source bound to the emulators' exchanges.

    Returns the URL's password, which the source reads from ``SECRET_ENV["amqp"]``."""
    from canvasbridge_emulators.notify import DEFAULT_EXCHANGES

    url, password = split_password(amqp_url)
    source: dict[str, Any] = {
        "type": "amqp",
        "name": "uio",
        "url": url,
        "exchanges": [{"name": name, "type": "topic"} for name in DEFAULT_EXCHANGES.values()],
        "queues": [
            {
                "name": f"{AMQP_SOURCE_QUEUE}-{secrets.token_hex(4)}",
                "durable": False,
                "arguments": {"x-expires": AMQP_QUEUE_EXPIRES_MS},
                "bindings": [
                    {"exchange": name, "routing_keys": ["no.uio.#"]} for name in DEFAULT_EXCHANGES.values()
                ],
            }
        ],
    }
    if password is not None:
        source["password"] = {"env": SECRET_ENV["amqp"]}
    document["sources"] = [
        source if s.get("name") == "uio" else s for s in document.get("sources", []) if isinstance(s, dict)
    ]
    return password
