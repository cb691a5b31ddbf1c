"""``canvasbridge demo``: every part of canvasbridge at work on local emulators, narrated.

    from canvasbridge_demo import DemoOptions, run_demo
    result = run_demo(DemoOptions(size="small", seed=1), console=Console(file=io.StringIO()))
    result.ok, result.facts, result.summary

:mod:`.stack` starts the emulators, the engine (consumer and an in-process worker) and
the admin API; :mod:`.scenario` plays the steps and checks their effect; :mod:`.narrate`
and :mod:`.summary` print. This package sits at the top of the layers, beside the CLI: it
may import every other canvasbridge package. See docs/demo.md.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console

from canvasbridge_demo.narrate import Narrator
from canvasbridge_demo.scenario import DemoResult, Scenario, StepResult
from canvasbridge_demo.stack import DemoOptions, DemoStack

__all__ = ["DemoOptions", "DemoResult", "DemoStack", "StepResult", "run_demo"]


def run_demo(
    options: DemoOptions,
    *,
    console: Console | None = None,
    keep_running: bool = False,
    wait: Callable[[], Any] | None = None,
    burst_plan: Any = None,
    inspect: Callable[[DemoStack, DemoResult], Any] | None = None,
) -> DemoResult:
    """Start everything, play the scenario, print the summary, stop (after ``wait`` when
    ``keep_running``). ``inspect`` sees the stack and the result before anything stops."""
    # canvasapi warns about http:// URLs; the emulators are plain http on loopback
    warnings.filterwarnings("ignore", message="Canvas may respond unexpectedly", category=UserWarning)
    narrator = Narrator(console)
    narrator.banner("canvasbridge demo")
    narrator.say(
        f"Starting the emulators ({options.size} university, seed {options.seed}), the consumer, "
        "a worker and the admin API…"
    )
    stack = DemoStack(options)
    with _engine_logs_on(narrator), contextlib.ExitStack() as stopping:
        with narrator.console.status("starting…"):
            stack.start()
        stopping.callback(stack.stop)
        return _play(
            stack, narrator, keep_running=keep_running, wait=wait, burst_plan=burst_plan, inspect=inspect
        )


def _play(
    stack: DemoStack,
    narrator: Narrator,
    *,
    keep_running: bool,
    wait: Callable[[], Any] | None,
    burst_plan: Any,
    inspect: Callable[[DemoStack, DemoResult], Any] | None,
) -> DemoResult:
    from canvasbridge_demo.summary import print_summary, print_urls

    assert stack.config is not None
    backends = stack.config.backends
    narrator.ok(
        f"up: ledger {'SQLite' if backends.ledger_url is None else backends.ledger_url.split(':', 1)[0]}, "
        f"broker {'SQLite' if backends.embedded else backends.broker_url.split(':', 1)[0] if backends.broker_url else '?'}, "
        f"source notifications over {stack.source_transport}, data in {stack.data_dir}"
    )
    result = Scenario(stack, narrator, burst_plan=burst_plan).play()
    print_summary(narrator, result, stack)
    if keep_running:
        print_urls(narrator, stack)
    if inspect is not None:
        inspect(stack, result)
    if keep_running:
        narrator.say("Everything keeps running; Ctrl-C to stop.")
        (wait or _wait_forever)()
    return result


@contextlib.contextmanager
def _engine_logs_on(narrator: Narrator) -> Iterator[None]:
    """While the demo runs, canvasbridge's unexpected errors (a stopped source, say) print
    through the narrator's console; warnings (each retry) and the errors a step provokes on
    purpose stay quiet: the steps tell them."""
    from rich.logging import RichHandler

    logger = logging.getLogger("canvasbridge")
    handler = RichHandler(console=narrator.console, level=logging.ERROR, show_path=False, show_time=False)
    handler.addFilter(narrator.shows)
    saved = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = saved


def _wait_forever() -> None:
    stop = threading.Event()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        return
