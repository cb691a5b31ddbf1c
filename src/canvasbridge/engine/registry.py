"""Task registry: task name → the function at its configured import path, loaded once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from canvasbridge.engine.config import TaskSpec
from canvasbridge.engine.loading import load_callable
from canvasbridge.errors import ConfigError

TaskFunction = Callable[..., Any]


class TaskRegistry:
    def __init__(self, specs: Mapping[str, TaskSpec]) -> None:
        self._specs = dict(specs)
        self._loaded: dict[str, TaskFunction] = {}
        self._lock = threading.Lock()

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    @property
    def names(self) -> list[str]:
        return sorted(self._specs)

    def spec(self, name: str) -> TaskSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise ConfigError(f"tasks: no task named {name!r} is configured (known: {self.names})") from None

    def get(self, name: str) -> TaskFunction:
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = load_callable(self.spec(name).path, what=f"tasks.{name}.path")
            return self._loaded[name]

    def load_all(self) -> None:
        """Import every task now, so a bad path fails at start-up rather than on first use."""
        for name in self._specs:
            self.get(name)

    def by_sync_kind(self) -> dict[str, tuple[str, str]]:
        """``kind → (task name, key parameter)`` for tasks that declare ``sync``."""
        return {spec.sync.kind: (name, spec.sync.key) for name, spec in self._specs.items() if spec.sync}
