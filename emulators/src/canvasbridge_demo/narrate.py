"""The demo's voice in the terminal (rich): step headings, outcomes with their timing,
progress bars and tables. Give it ``Console(file=io.StringIO())`` to run without a terminal."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.rule import Rule


class Narrator:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._expected: list[str] = []

    @contextlib.contextmanager
    def expecting(self, text: str) -> Iterator[None]:
        """While inside, engine log records containing ``text`` are not printed: the step
        narrates what they say (e.g. the dead letter it provokes on purpose)."""
        self._expected.append(text)
        try:
            yield
        finally:
            self._expected.remove(text)

    def shows(self, record: logging.LogRecord) -> bool:
        """A :class:`logging.Filter` for the engine's log handler."""
        message = record.getMessage()
        return not any(text in message for text in self._expected)

    def banner(self, text: str) -> None:
        self.console.print(Rule(f"[bold]{escape(text)}[/bold]"))

    def step(self, number: int, title: str, why: str = "") -> None:
        self.console.print()
        self.console.print(Rule(f"[bold cyan]{number}. {escape(title)}[/bold cyan]", align="left"))
        if why:
            self.console.print(f"[dim]{escape(why)}[/dim]")

    def say(self, text: str) -> None:
        self.console.print(f"  {escape(text)}", highlight=False)

    def ok(self, text: str, seconds: float | None = None) -> None:
        timing = f" [bold green]in {seconds:.1f} s[/bold green]" if seconds is not None else ""
        self.console.print(f"  [green]✓[/green] {escape(text)}{timing}", highlight=False)

    def failed(self, text: str) -> None:
        self.console.print(f"  [bold red]✗ {escape(text)}[/bold red]", highlight=False)

    def progress(self) -> Progress:
        return Progress(
            TextColumn("  {task.description:<38}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )
