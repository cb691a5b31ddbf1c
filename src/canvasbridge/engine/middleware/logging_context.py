"""Logging context: every log line written while a call is handled carries its correlation id.

The correlation id is the originating message's id (or the operator's request id for a
call queued through the API), carried in the Celery message; from :meth:`before_claim` to
:meth:`after_call` it is the ``correlation_id`` of each log record (see
:mod:`canvasbridge.engine.logging`), so one message's story can be followed from the
consumer through every attempt of its calls.

Turn it off only if another middleware sets the logging context. No parameters.
"""

from __future__ import annotations

from canvasbridge.engine.logging import correlation
from canvasbridge.engine.middleware.base import Middleware, Run

_SCOPE = "logging_context"


class LoggingContext(Middleware):
    def before_claim(self, run: Run) -> None:
        scope = correlation(run.correlation_id)
        scope.__enter__()
        run.state[_SCOPE] = scope

    def after_call(self, run: Run) -> None:
        scope = run.state.pop(_SCOPE, None)
        if scope is not None:
            scope.__exit__(None, None, None)
