"""A resync's progress as the phases it goes through, for a person watching a terminal.

Each phase ("reading Canvas", "reading the sources", "planning", "writing (rest)") shows a
spinner with its elapsed time while it runs, and leaves one line when it ends, with what it
read, planned or wrote and how long it took. Phases may overlap (Canvas and the sources are
read at the same time): each has its own spinner. Only the writing phase has a bar and a count,
since only there is the total known. Give it the stderr console, so stdout holds only the
plan (or the JSON document); on a console that is not a terminal only the lines are printed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text


class _WhenCounted(ProgressColumn):
    """Renders ``column`` only for a task whose total is known (the writes)."""

    def __init__(self, column: ProgressColumn) -> None:
        super().__init__()
        self.column = column

    def render(self, task: Task) -> Text:
        return self.column.render(task) if task.total is not None else Text("")  # type: ignore[return-value]


class PhaseDisplay:
    """``on_phase`` and ``progress`` callbacks for :func:`canvasbridge.provisioning.resync.resync`."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            _WhenCounted(BarColumn()),
            _WhenCounted(MofNCompleteColumn()),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._running: dict[str, tuple[TaskID, float]] = {}  # phase → its spinner, when it started
        self._lock = threading.Lock()  # phases start and end on different threads
        self._live = console.is_terminal  # elsewhere (a log file, a pipe) only the lines

    def __enter__(self) -> PhaseDisplay:
        if self._live:
            self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live:
            self._progress.stop()

    def phase(self, name: str, counts: Mapping[str, int] | None) -> None:
        with self._lock:
            if counts is None:
                task = self._progress.add_task(f"{name}…", total=None)
                self._running[name] = (task, time.monotonic())
                return
            task, started = self._running.pop(name)
            self._progress.remove_task(task)
        elapsed = time.monotonic() - started
        what = ", ".join(f"{n} {label}" for label, n in counts.items()) or "nothing"
        self.console.print(Text(f"{name}: {what} ({elapsed:.1f} s)", style="dim"), soft_wrap=True)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop redrawing while something else writes to the terminal (the plan, on stdout)."""
        if not self._live:
            yield
            return
        self._progress.stop()
        try:
            yield
        finally:
            self._progress.start()

    def writes(self, done: int, total: int) -> None:
        with self._lock:
            writing = [task for name, (task, _) in self._running.items() if name.startswith("writing")]
        for task in writing:
            self._progress.update(task, completed=done, total=total)
