"""Flows are plug-ins: what one declares, and how the engine finds the installed ones.

A flow (provisioning, live events, or one of your own) is an installed distribution that
names a :class:`Flow` in the entry point group ``canvasbridge.flows``::

    [project.entry-points."canvasbridge.flows"]
    attendance = "attendance_flow.flow:FLOW"

The engine, the CLI and ``config check`` learn everything about a flow from that object and
name none: the top-level configuration sections it owns (a section no installed flow and
not the engine owns is an error naming the key), the ``systems.<name>`` entries it reads,
its parsers, the default specs of its tasks (a ``tasks.<name>`` entry without ``path`` takes
the flow's), its CLI command groups, its admin API endpoints, its readiness and doctor checks
and its metrics.

The module the entry point names is imported by every process that loads a configuration,
so keep it light: settings models and strings; the commands module is imported only by
the CLI, the API module only by ``canvasbridge api``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel

from canvasbridge.errors import ConfigError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "canvasbridge.flows"


@dataclass(frozen=True)
class SystemNeed:
    """A ``systems.<name>`` entry a flow reads, validated with ``model`` when present.

    ``required``: the flow's tasks cannot run without it (the readiness check fails while
    it is missing); optional entries add something when given (Canvas names for Live Events).
    """

    model: type[BaseModel]
    required: bool = True


def _no_systems(settings: Mapping[str, BaseModel]) -> Mapping[str, SystemNeed]:
    return {}


#: ``check(settings) -> detail``; raise to report "not ready" (the message says why).
HealthCheck = Callable[[Mapping[str, BaseModel]], str]

#: ``check() -> detail`` when all is well; raise :class:`~canvasbridge.errors.CheckFailed`
#: (what is wrong, what to do) or any error otherwise.
DoctorCheck = Callable[[], str]


@dataclass(frozen=True)
class DoctorInput:
    """What a flow's doctor checks get: its validated sections, the validated settings of the
    ``systems.<entry>`` it declared that are configured, and how long one check may take."""

    settings: Mapping[str, BaseModel]
    systems: Mapping[str, BaseModel]
    timeout_s: float


def _no_doctor_checks(given: DoctorInput) -> Mapping[str, DoctorCheck]:
    return {}


@dataclass(frozen=True)
class Flow:
    """What a flow declares. Only ``name`` is required.

    ``sections``
        top-level configuration sections the flow owns → the pydantic model validating each
        (validated when the configuration is loaded; errors name the key).
    ``systems``
        ``settings → {entry: SystemNeed}``: the ``systems.<entry>`` entries the flow reads,
        given its validated sections (a flow may let the configuration rename them).
    ``parsers``
        name → import path of each parser it provides, for routes' ``parser:`` keys.
    ``tasks``
        task name → default spec (``path`` and optionally ``description``, ``sync``,
        ``retry``): a ``tasks.<name>`` entry in the configuration without ``path`` takes it.
    ``commands``
        import paths ``module:register`` of CLI command groups; ``register(app)`` receives
        the ``typer.Typer`` of the ``canvasbridge`` command.
    ``api``
        import paths ``module:install`` of admin API additions; ``install(app)`` receives the
        FastAPI application while the flow is in use (``app.state.runtime`` holds the
        configuration). Endpoints guard themselves with
        :data:`canvasbridge.engine.api.auth.require_read` or ``require_operate``.
    ``health_checks``
        name → :data:`HealthCheck`, run by ``/health/ready`` as ``flow:<flow>:<name>`` while
        the flow is in use.
    ``doctor_checks``
        ``DoctorInput → {name: check}``: what ``canvasbridge doctor`` checks for the flow
        (a token's rights, the fields a record needs), one line each.
    ``metrics``
        the Prometheus collectors the flow defines (served with the engine's at ``/metrics``).
    """

    name: str
    description: str = ""
    sections: Mapping[str, type[BaseModel]] = field(default_factory=dict)
    systems: Callable[[Mapping[str, BaseModel]], Mapping[str, SystemNeed]] = _no_systems
    parsers: Mapping[str, str] = field(default_factory=dict)
    tasks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    commands: Sequence[str] = ()
    api: Sequence[str] = ()
    health_checks: Mapping[str, HealthCheck] = field(default_factory=dict)
    doctor_checks: Callable[[DoctorInput], Mapping[str, DoctorCheck]] = _no_doctor_checks
    metrics: Sequence[Any] = ()

    def in_use(self, document: Mapping[str, Any]) -> bool:
        """Whether a configuration document uses this flow: it has one of the flow's sections,
        a route to one of its parsers, or a task at one of its tasks' paths."""
        if any(section in document for section in self.sections):
            return True
        parsers = set(self.parsers.values())
        routes = document.get("routes") or []
        if any(isinstance(r, Mapping) and r.get("parser") in parsers for r in routes):
            return True
        paths = {spec.get("path") for spec in self.tasks.values()}
        tasks = document.get("tasks") or {}
        return isinstance(tasks, Mapping) and any(
            isinstance(spec, Mapping)
            and (spec.get("path") in paths or (name in self.tasks and "path" not in spec))
            for name, spec in tasks.items()
        )

    def settings(self, document: Mapping[str, Any]) -> dict[str, BaseModel]:
        """The flow's sections of ``document``, validated (raises pydantic's ValidationError)."""
        return {name: model.model_validate(document.get(name) or {}) for name, model in self.sections.items()}


@functools.cache
def installed_flows() -> tuple[Flow, ...]:
    """Every flow registered in the ``canvasbridge.flows`` entry point group, by name."""
    return load_flows(entry_points(group=ENTRY_POINT_GROUP))


def load_flows(entries: Iterable[Any]) -> tuple[Flow, ...]:
    """Load each entry point; a broken or duplicate one is a :class:`ConfigError` naming it."""
    flows: dict[str, Flow] = {}
    owners: dict[str, str] = {}
    for entry in sorted(entries, key=lambda e: e.name):
        try:
            flow = entry.load()
        except Exception as exc:
            raise ConfigError(
                f"flow plug-in {entry.name!r} ({entry.value}) does not load: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(flow, Flow):
            raise ConfigError(f"flow plug-in {entry.name!r} ({entry.value}) is not a canvasbridge Flow")
        if flow.name in flows:
            continue  # the same distribution seen twice on the path
        for section in flow.sections:
            if section in owners:
                raise ConfigError(
                    f"flows {owners[section]!r} and {flow.name!r} both claim the configuration section {section!r}"
                )
            owners[section] = flow.name
        flows[flow.name] = flow
    return tuple(flows.values())


def flow_owning(section: str, flows: Sequence[Flow]) -> Flow | None:
    return next((flow for flow in flows if section in flow.sections), None)
