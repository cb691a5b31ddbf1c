"""Readiness checks: can this process do its work right now?

Three kinds of check, run in parallel, each bounded by ``timeout_s`` seconds:

* ``ledger`` - a ``SELECT 1`` on the ledger database;
* ``broker`` - a connection to the Celery broker, and the depth of the task queue when
  the broker can tell it cheaply (a passive declare);
* ``system:<name>`` - one ``GET`` to each configured target system's URL. The engine knows
  nothing of what those systems are: it looks in each entry of the ``systems`` section for
  the first of :data:`URL_KEYS` and calls it reachable when *any* HTTP answer below 500
  comes back (a 401 or 404 still proves the network path and the server are up).

* ``flow:<name>`` - for each installed flow the configuration uses, that every
  ``systems.<entry>`` it requires is configured; and ``flow:<name>:<check>`` for each
  readiness check the flow declares (:attr:`Flow.health_checks`).

Results are cached for ``cache_s`` seconds, so a load balancer polling the unauthenticated
``/health/ready`` endpoint cannot turn it into a flood of requests to Canvas or FS.

Turn a system's check off by giving it no URL key the engine recognises; there is no
separate switch (the flows own the ``systems`` entries and forbid unknown keys in them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
from celery import Celery
from kombu import connection as kombu_connection

from canvasbridge.engine.config import AppConfig
from canvasbridge.engine.flows import Flow
from canvasbridge.engine.ledger import Ledger
from canvasbridge.engine.logging import scrub

URL_KEYS = ("base_url", "url", "instance_url")  # looked up in this order in systems.<name>
DEFAULT_TIMEOUT_S = 3.0  # seconds each check may take before it counts as failed
DEFAULT_CACHE_S = 5.0  # seconds a readiness report is reused
MAX_DETAIL_CHARS = 200  # error text kept per check (the endpoint needs no token)
_Connection: Any = kombu_connection.Connection  # kombu has no type hints
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float


@dataclass(frozen=True)
class ReadinessReport:
    ok: bool
    checks: list[CheckResult]
    checked_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class BrokerProbe:
    ok: bool
    depth: int | None
    detail: str


def target_urls(systems: Mapping[str, Any]) -> dict[str, str]:
    """``name → URL`` for each entry of the ``systems`` section that has one of :data:`URL_KEYS`."""
    found: dict[str, str] = {}
    for name, settings in systems.items():
        if not isinstance(settings, Mapping):
            continue
        for key in URL_KEYS:
            value = settings.get(key)
            if isinstance(value, str) and value.startswith(("http://", "https://")):
                found[str(name)] = value
                break
    return found


def _usage(config: AppConfig) -> dict[str, Any]:
    """What :meth:`Flow.in_use` looks at, from a loaded configuration."""
    return {
        "routes": [{"parser": route.parser} for route in config.routes],
        "tasks": {name: {"path": spec.path} for name, spec in config.tasks.items()},
        **config.flow_sections(),
    }


def flows_in_use(config: AppConfig, flows: Sequence[Flow]) -> list[Flow]:
    """The installed flows ``config`` uses: a section, a route to a parser or a task of theirs."""
    document = _usage(config)
    return [flow for flow in flows if flow.in_use(document)]


def flow_checks(config: AppConfig, flows: Sequence[Flow]) -> dict[str, Callable[[], str]]:
    """Readiness checks of the installed flows ``config`` uses (see the module's docstring)."""
    document = _usage(config)
    checks: dict[str, Callable[[], str]] = {}
    for flow in flows_in_use(config, flows):
        settings = flow.settings(document)
        checks[f"flow:{flow.name}"] = lambda flow=flow, settings=settings: _systems_present(  # type: ignore[misc]
            flow, settings, config.systems
        )
        for name, check in flow.health_checks.items():
            checks[f"flow:{flow.name}:{name}"] = lambda check=check, settings=settings: check(settings)  # type: ignore[misc]
    return checks


def _systems_present(flow: Flow, settings: Mapping[str, Any], systems: Mapping[str, Any]) -> str:
    needs = flow.systems(settings)
    missing = sorted(entry for entry, need in needs.items() if need.required and not systems.get(entry))
    if missing:
        raise RuntimeError(f"{flow.name} needs {', '.join(f'systems.{m}' for m in missing)}, not configured")
    present = sorted(entry for entry in needs if systems.get(entry))
    return f"systems: {', '.join(present) or 'none needed'}"


def check_ledger(ledger: Callable[[], Ledger]) -> str:
    with ledger().engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
    return "reachable"


def probe_broker(celery: Celery, queue: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> BrokerProbe:
    """Connect to the broker; report the queue's depth when a passive declare gives it."""
    connection = _Connection(
        celery.conf.broker_url,
        connect_timeout=timeout_s,
        transport_options=dict(celery.conf.broker_transport_options or {}),
    )
    try:
        connection.ensure_connection(max_retries=1, timeout=timeout_s)
        depth: int | None = None
        try:
            declared = connection.default_channel.queue_declare(queue=queue, passive=True)
            depth = int(declared.message_count)
        except Exception:  # the queue may not exist yet; the broker itself answered
            depth = None
        return BrokerProbe(True, depth, "reachable")
    except Exception as exc:
        return BrokerProbe(False, None, _short(exc))
    finally:
        connection.release()


def check_http(url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
    response = httpx.get(url, timeout=timeout_s, follow_redirects=False)
    if response.status_code >= 500:
        raise RuntimeError(f"HTTP {response.status_code}")
    return f"HTTP {response.status_code}"


class Readiness:
    """Runs the checks for one runtime; :meth:`report` is cached for ``cache_s`` seconds.

    ``ledger`` opens the ledger; ``celery``/``queue`` name the broker; ``systems`` is the
    raw ``systems`` section.
    """

    def __init__(
        self,
        *,
        ledger: Callable[[], Ledger],
        celery: Celery,
        queue: str,
        systems: Mapping[str, Any],
        extra_checks: Mapping[str, Callable[[], str]] | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        cache_s: float = DEFAULT_CACHE_S,
    ) -> None:
        self._ledger = ledger
        self._celery = celery
        self._queue = queue
        self.targets = target_urls(systems)
        self.extra_checks = dict(extra_checks or {})
        self.timeout_s = timeout_s
        self.cache_s = cache_s
        self._lock = threading.Lock()
        self._cached: ReadinessReport | None = None

    def report(self) -> ReadinessReport:
        with self._lock:
            if self._cached is not None and time.time() - self._cached.checked_at < self.cache_s:
                return self._cached
            checks: dict[str, Callable[[], str]] = {
                "ledger": lambda: check_ledger(self._ledger),
                "broker": self._broker_check,
            }
            for name, url in self.targets.items():
                checks[f"system:{name}"] = lambda url=url: check_http(url, timeout_s=self.timeout_s)  # type: ignore[misc]
            checks.update(self.extra_checks)
            results = run_checks(checks, timeout_s=self.timeout_s + 1.0)
            self._cached = ReadinessReport(all(r.ok for r in results), results)
            return self._cached

    def _broker_check(self) -> str:
        probe = probe_broker(self._celery, self._queue, timeout_s=self.timeout_s)
        if not probe.ok:
            raise RuntimeError(probe.detail)
        return probe.detail


def run_checks(checks: Mapping[str, Callable[[], str]], *, timeout_s: float) -> list[CheckResult]:
    """Run every check in parallel; a check that raises or overruns ``timeout_s`` fails."""
    started = time.perf_counter()
    futures = {name: _POOL.submit(_timed, check) for name, check in checks.items()}
    results: list[CheckResult] = []
    for name, future in futures.items():
        remaining = max(0.0, timeout_s - (time.perf_counter() - started))
        try:
            ok, detail, seconds = future.result(timeout=remaining)
        except FutureTimeout:
            ok, detail, seconds = False, f"no answer within {timeout_s:.1f}s", timeout_s
        results.append(CheckResult(name, ok, detail, round(seconds, 4)))
    return results


def _timed(check: Callable[[], str]) -> tuple[bool, str, float]:
    clock = time.perf_counter()
    try:
        detail = check()
        return True, detail, time.perf_counter() - clock
    except Exception as exc:
        return False, _short(exc), time.perf_counter() - clock


def _short(exc: BaseException) -> str:
    """The error class and first line, without credentials (host names stay visible)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return scrub(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:MAX_DETAIL_CHARS]
