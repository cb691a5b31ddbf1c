"""What parsers and tasks get besides their input: the configuration sections of the flows.

A task gets a :class:`TaskContext` as its first argument; a parser that takes a second
argument gets a :class:`ParseContext`. Both validate a section against the flow's model
with ``section(name, model)`` (cached), so a parser and its tasks read one setting from
one place.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from canvasbridge.errors import ConfigError, ObjectBusy

if TYPE_CHECKING:
    from canvasbridge.engine.ledger.gathering import PendingCall

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

_resource_lock = threading.Lock()


class ObjectHolds(Protocol):
    def acquire(self, key: str, call_id: int) -> int | None: ...


class Waiting(Protocol):
    """Pending calls a running call may take over (the ledger; see ``ledger/gathering.py``)."""

    def pending(self, task: str, *, exclude: int, limit: int) -> list[PendingCall]: ...
    def gather(self, into: int, call_ids: Sequence[int]) -> list[PendingCall]: ...
    def gathered(self, task: str, into: int) -> list[PendingCall]: ...
    def settle(self, into: int, *, succeeded: Mapping[int, Any], failed: Mapping[int, str]) -> None: ...


@dataclass
class TaskContext:
    """Per-call context handed to every task.

    ``sections`` holds the configuration sections the engine does not own (``systems``,
    ``provisioning``, ``live_events``…); :meth:`section` validates one against a model.
    ``resources`` is shared by every task in the worker process: use :meth:`resource` to
    build a client once and reuse it. ``dry_run`` asks the task to plan without writing.
    ``holds`` (set by the worker) lets the task :meth:`hold` the object it changes;
    ``waiting`` (likewise) lets it take over pending calls of its own task (:meth:`gather`).
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
    waiting: Waiting | None = None

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

    def try_hold(self, key: str) -> bool:
        """Like :meth:`hold`, but ``False`` instead of :class:`ObjectBusy` (for an object of a
        call this one may gather, see :meth:`gather`); ``True`` outside a worker."""
        try:
            self.hold(key)
        except ObjectBusy:
            return False
        return True

    # -- gathering (see the engine's ledger/gathering.py) --

    def pending_calls(self, limit: int) -> list[PendingCall]:
        """Other calls of this task waiting to run, oldest first, at most ``limit``
        (:class:`~canvasbridge.engine.ledger.PendingCall`: ``id`` and ``params``). Empty
        outside a worker."""
        if not self.holds_objects or self.waiting is None:
            return []
        assert self.ledger_id is not None
        return self.waiting.pending(self.task_name, exclude=self.ledger_id, limit=limit)

    def gather(self, call_ids: Sequence[int]) -> list[PendingCall]:
        """Take over those of ``call_ids`` (from :meth:`pending_calls`) still pending: this
        call does their work and settles each with :meth:`settle`. Hold their objects first
        (:meth:`try_hold`). Returns the calls taken."""
        if not self.holds_objects or self.waiting is None:
            return []
        assert self.ledger_id is not None
        return self.waiting.gather(self.ledger_id, call_ids)

    def gathered(self) -> list[PendingCall]:
        """The calls an earlier run of this call gathered and did not settle (its worker was
        lost): ask when :attr:`attempt` is above 1, and settle them too."""
        if not self.holds_objects or self.waiting is None:
            return []
        assert self.ledger_id is not None
        return self.waiting.gathered(self.task_name, self.ledger_id)

    def settle(self, *, succeeded: Mapping[int, Any], failed: Mapping[int, str]) -> None:
        """The outcome of each gathered call: its summary, or its error (its own dead letter)."""
        if self.waiting is None or self.ledger_id is None:
            return
        self.waiting.settle(self.ledger_id, succeeded=succeeded, failed=failed)

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
