"""The admin API's FastAPI application, built from one :class:`Runtime`."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from canvasbridge.engine.flows import installed_flows
from canvasbridge.engine.health import Readiness, flow_checks, flows_in_use
from canvasbridge.engine.loading import load_callable
from canvasbridge.engine.runtime import Runtime

from . import errors, health, metrics, openapi, parked, routing, stats, sync, tasks
from .auth import TokenBook
from .operations import Operations
from .sign_in_limit import SignInLimit

log = logging.getLogger(__name__)
API_VERSION = "1"

DESCRIPTION = """\
Look into the task ledger and the queue, requeue or discard task calls, queue a sync of
one object, and check health. The operator's dashboard (HTML, signed in with a token
through a form) is at `/`. Every endpoint except `/health/live` and `/health/ready`
(this document included) needs `Authorization: Bearer <token>`, with a token from `admin.tokens` in the
configuration: role `read` may read, role `operate` may also change things.
Errors are JSON: `{"error": code, "message": ..., "fields": [...]}`.
"""


def create_api(runtime: Runtime, *, readiness: Readiness | None = None) -> FastAPI:
    """The admin API for ``runtime``. Tokens are resolved now: a missing one is a ConfigError."""
    tokens = TokenBook.from_config(runtime.config.admin.tokens)
    if not len(tokens):
        log.warning("admin.tokens is empty: every endpoint but /health/* will answer 401")
    # the document is served by openapi.py behind a token; no public /docs or /redoc pages
    app = FastAPI(
        title="canvasbridge admin API",
        version=API_VERSION,
        description=DESCRIPTION,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    operations = Operations(runtime)
    app.state.runtime = runtime
    app.state.operations = operations
    app.state.tokens = tokens
    limit = runtime.config.admin.sign_in_limit
    app.state.sign_in_limit = SignInLimit(failures=limit.failures, window_s=limit.window_s)
    app.state.readiness = readiness or Readiness(
        ledger=runtime.ledger,
        celery=runtime.celery,
        queue=runtime.config.backends.queue,
        systems=runtime.config.systems,
        extra_checks=flow_checks(runtime.config, installed_flows()),
    )
    app.state.metrics_registry = metrics.ledger_registry(operations)
    errors.install(app)
    for module in (tasks, sync, routing, stats, parked, health, metrics, openapi):
        app.include_router(module.router)
    for flow in flows_in_use(runtime.config, installed_flows()):
        for path in flow.api:
            load_callable(path, what=f"flow {flow.name!r} api")(app)
    from canvasbridge.engine import dashboard  # it builds on this package's operations and auth

    dashboard.install(app)
    return app
