"""What a running task gets as its first argument."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from canvasbridge.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

_resource_lock = threading.Lock()


@dataclass
class TaskContext:
    """Per-call context handed to every task.

    ``sections`` holds the configuration sections the engine does not own (``systems``,
    ``provisioning``, ``live_events``…); :meth:`section` validates one against a model.
    ``resources`` is shared by every task in the worker process: use :meth:`resource` to
    build a client once and reuse it. ``dry_run`` asks the task to plan without writing.
    """

    task_name: str
    sections: Mapping[str, Any]
    resources: dict[str, Any] = field(default_factory=dict)
    ledger_id: int | None = None
    correlation_id: str | None = None
    attempt: int = 1
    dry_run: bool = False
    log: logging.Logger = field(default=logging.getLogger("canvasbridge.task"))

    def section(self, name: str, model: type[M]) -> M:
        """Validate and return config section ``name`` (dotted for nesting) as ``model``.

        Validated sections are cached in :attr:`resources`, so this is cheap to call.
        """
        key = f"section:{name}:{model.__module__}.{model.__qualname__}"
        cached = self.resources.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        raw: Any = self.sections
        for part in name.split("."):
            raw = raw.get(part, {}) if isinstance(raw, Mapping) else {}
        try:
            value = model.model_validate(raw or {})
        except ValidationError as exc:
            raise ConfigError(f"configuration section '{name}' is invalid: {exc}") from exc
        self.resources[key] = value
        return value

    def resource(self, key: str, factory: Callable[[], T]) -> T:
        """The process-wide object under ``key``, built by ``factory`` on first use."""
        with _resource_lock:
            if key not in self.resources:
                self.resources[key] = factory()
            return self.resources[key]  # type: ignore[no-any-return]
