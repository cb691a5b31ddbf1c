"""What parsers and tasks get besides their input: the configuration sections of the flows.

A task gets a :class:`TaskContext` as its first argument; a parser that takes a second
argument gets a :class:`ParseContext`. Both validate a section against the flow's model
with ``section(name, model)`` (cached), so a parser and its tasks read one setting from
one place.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from canvasbridge.errors import ConfigError, ObjectBusy

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

_resource_lock = threading.Lock()


class ObjectHolds(Protocol):
    def acquire(self, key: str, call_id: int) -> int | None: ...


@dataclass
class TaskContext:
    """Per-call context handed to every task.

    ``sections`` holds the configuration sections the engine does not own (``systems``,
    ``provisioning``, ``live_events``…); :meth:`section` validates one against a model.
    ``resources`` is shared by every task in the worker process: use :meth:`resource` to
    build a client once and reuse it. ``dry_run`` asks the task to plan without writing.
    ``holds`` (set by the worker) lets the task :meth:`hold` the object it changes.
    """

    task_name: str
    sections: Mapping[str, Any]
    resources: dict[str, Any] = field(default_factory=dict)
    ledger_id: int | None = None
    correlation_id: str | None = None
    attempt: int = 1
    dry_run: bool = False
    log: logging.Logger = field(default=logging.getLogger("canvasbridge.task"))
    holds: ObjectHolds | None = None

    @property
    def holds_objects(self) -> bool:
        """Whether :meth:`hold` means anything here (a worker running a recorded call)."""
        return self.holds is not None and self.ledger_id is not None and not self.dry_run

    def hold(self, key: str) -> None:
        """Hold the object ``key`` (e.g. ``user:olan``) for this call before reading what it
        decides from: one writer per object. Raises :class:`ObjectBusy` while another
        running call holds it (the worker then tries this call again later, no attempt
        charged). A no-op outside a worker, e.g. ``canvasbridge sync`` or a dry run."""
        if not self.holds_objects:
            return
        assert self.holds is not None and self.ledger_id is not None
        holder = self.holds.acquire(key, self.ledger_id)
        if holder is not None:
            raise ObjectBusy(key, holder)

    def section(self, name: str, model: type[M]) -> M:
        """Validate and return config section ``name`` (dotted for nesting) as ``model``.

        Validated sections are cached in :attr:`resources`, so this is cheap to call.
        """
        return validated_section(self.sections, name, model, self.resources)

    def resource(self, key: str, factory: Callable[[], T]) -> T:
        """The process-wide object under ``key``, built by ``factory`` on first use."""
        with _resource_lock:
            if key not in self.resources:
                self.resources[key] = factory()
            return self.resources[key]  # type: ignore[no-any-return]


@dataclass
class ParseContext:
    """What a parser gets as its second argument (if it takes one).

    ``route`` is the name of the route that chose the parser; ``sections`` the flows'
    configuration sections, as :class:`TaskContext` has them. One context serves every
    message of its route, so :meth:`section` validates a section once.
    """

    route: str
    sections: Mapping[str, Any]
    cache: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str, model: type[M]) -> M:
        """Validate and return config section ``name`` (dotted for nesting) as ``model``."""
        return validated_section(self.sections, name, model, self.cache)


def validated_section(sections: Mapping[str, Any], name: str, model: type[M], cache: dict[str, Any]) -> M:
    """Section ``name`` of ``sections`` validated as ``model``, kept in ``cache``; a
    :class:`ConfigError` naming the section if it is invalid."""
    key = f"section:{name}:{model.__module__}.{model.__qualname__}"
    cached = cache.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    raw: Any = sections
    for part in name.split("."):
        raw = raw.get(part, {}) if isinstance(raw, Mapping) else {}
    try:
        value = model.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join((name, *map(str, error['loc'])))}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigError(f"configuration section '{name}' is invalid: {problems}") from exc
    cache[key] = value
    return value
