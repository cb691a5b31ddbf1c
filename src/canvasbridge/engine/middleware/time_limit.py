"""Time limit: a task function running longer than its limit is interrupted.

When a task's limit passes, :class:`~canvasbridge.errors.TimeLimitExceeded` is raised in the
thread running it (through ``PyThreadState_SetAsyncExc``, as Dramatiq does), and the call
fails like any other: the error is transient, so :mod:`.retries` runs it again while it has
attempts left, then it becomes a dead letter. A task keeps its limit per run: each attempt
gets the whole limit again.

Best effort: the exception arrives when the thread next runs Python code, so a task blocked
in C (a socket read with no timeout, ``time.sleep``) is interrupted only once that call
returns. Give clients their own timeouts; the limit catches what they miss (a loop that
never ends, an endless pagination).

Turn it off by setting no limit (the default), or drop the middleware to save a timer per
call. Parameters, per task: ``tasks.<name>.time_limit_s`` or ``task_defaults.time_limit_s``
(float, seconds of one run; unset or null: no limit).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
from collections.abc import Callable, Iterator

from canvasbridge.engine.middleware.base import Middleware, Run
from canvasbridge.errors import TimeLimitExceeded

log = logging.getLogger(__name__)


class _Interrupt(TimeLimitExceeded):
    """What the timer raises (asynchronous exceptions are raised from a class, without
    arguments); :meth:`TimeLimit.task_scope` turns it into one that names the limit."""

    def __init__(self) -> None:
        super().__init__("the task ran past its time limit")


class TimeLimit(Middleware):
    """``limit_for(task_name)`` is the limit in seconds, or None for none."""

    def __init__(self, limit_for: Callable[[str], float | None]) -> None:
        self._limit_for = limit_for

    @contextlib.contextmanager
    def task_scope(self, run: Run) -> Iterator[None]:
        limit = self._limit_for(run.task_name)
        if limit is None:
            yield
            return
        watch = _Watch(threading.get_ident())
        timer = threading.Timer(limit, watch.interrupt)
        timer.daemon = True
        timer.start()
        try:
            yield
        except _Interrupt as exc:
            log.warning("task %s#%d ran past its time limit of %g s", run.task_name, run.call_id, limit)
            raise TimeLimitExceeded(f"the task ran past its time limit of {limit:g} s") from exc
        finally:
            timer.cancel()
            watch.disarm()


class _Watch:
    """Raises :class:`_Interrupt` in one thread unless disarmed first; disarming also takes
    back an interrupt sent but not yet delivered, so none escapes the task's scope."""

    def __init__(self, thread_id: int) -> None:
        self._thread_id = thread_id
        self._lock = threading.Lock()
        self._armed = True
        self._sent = False

    def interrupt(self) -> None:
        with self._lock:
            if self._armed:
                self._sent = True
                _set_async_exc(self._thread_id, _Interrupt)

    def disarm(self) -> None:
        with self._lock:
            self._armed = False
            if self._sent:
                _set_async_exc(self._thread_id, None)  # clears an undelivered one


def _set_async_exc(thread_id: int, exception: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception is not None else None
    )
