"""Per-process objects the provisioning tasks share: settings, clients, caches.

Everything is built once per worker process through :meth:`TaskContext.resource`, from the
``provisioning:`` section and the ``systems.<name>`` sections it points at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from canvasbridge.clients.canvas.client import CanvasClient, CanvasSettings
from canvasbridge.clients.cerebrum import CerebrumClient, CerebrumSettings
from canvasbridge.clients.fs.client import FsClient, FsSettings
from canvasbridge.clients.sap import SapClient, SapSettings
from canvasbridge.engine import TaskContext, metrics
from canvasbridge.flowkit import call_stats
from canvasbridge.provisioning.canvas_state import Directory
from canvasbridge.provisioning.desired import PersonResolver
from canvasbridge.provisioning.plan import Ownership
from canvasbridge.provisioning.rest import RestExecutor
from canvasbridge.provisioning.settings import ProvisioningSettings


def settings(ctx: TaskContext) -> ProvisioningSettings:
    return ctx.section("provisioning", ProvisioningSettings)


def _client(ctx: TaskContext, system: str, model: type[Any]) -> Any:
    name = getattr(settings(ctx).systems, system)
    config = ctx.section(f"systems.{name}", model)
    stats = call_stats(ctx)
    return ctx.resource(f"provisioning:client:{name}", lambda: config.build(stats))


def canvas(ctx: TaskContext) -> CanvasClient:
    client: CanvasClient = _client(ctx, "canvas", CanvasSettings)
    if client.throttle.remaining is not None:  # what Canvas said last, for the metrics
        metrics.set_rate_limit_remaining("canvas", client.throttle.remaining)
    return client


def fs(ctx: TaskContext) -> FsClient:
    return _client(ctx, "fs", FsSettings)  # type: ignore[no-any-return]


def cerebrum(ctx: TaskContext) -> CerebrumClient:
    return _client(ctx, "cerebrum", CerebrumSettings)  # type: ignore[no-any-return]


def cerebrum_settings(ctx: TaskContext) -> CerebrumSettings:
    """What :func:`cerebrum` builds its client from (another process can build its own)."""
    return ctx.section(f"systems.{settings(ctx).systems.cerebrum}", CerebrumSettings)


def sap(ctx: TaskContext) -> SapClient:
    return _client(ctx, "sap", SapSettings)  # type: ignore[no-any-return]


# ``ctx.resource`` holds a lock while a factory runs: build what a factory needs first.


def directory(ctx: TaskContext) -> Directory:
    s, c = settings(ctx), canvas(ctx)
    return ctx.resource("provisioning:directory", lambda: Directory(c, s.root_account))


def resolver(ctx: TaskContext) -> PersonResolver:
    s, f = settings(ctx), fs(ctx)
    return ctx.resource("provisioning:resolver", lambda: PersonResolver(f, s))


@dataclass
class Kit:
    """What a task needs, gathered in one place."""

    settings: ProvisioningSettings
    ownership: Ownership
    canvas: CanvasClient
    directory: Directory
    executor: RestExecutor


def kit(ctx: TaskContext) -> Kit:
    s = settings(ctx)
    c = canvas(ctx)
    d = directory(ctx)
    ownership = ctx.resource("provisioning:ownership", lambda: Ownership(s))
    executor = ctx.resource("provisioning:executor", lambda: RestExecutor(c, d, s))
    return Kit(s, ownership, c, d, executor)
