"""Builds a :class:`LiveEventProcessor` from configuration and clients (one per process).

The Lambda handler, the engine tasks and ``events explain --live`` all call
:func:`build_processor`; only how they get their settings differs.
"""

from __future__ import annotations

from typing import Any

from canvasbridge.clients.salesforce import soql
from canvasbridge.live_events.lookups import CachedCanvasLookups, CanvasLookups, OfflineLookups
from canvasbridge.live_events.processor import LiveEventProcessor
from canvasbridge.live_events.rules import ParticipantDirectoryCache, load_directory
from canvasbridge.live_events.settings import LiveEventsSettings
from canvasbridge.live_events.writer import ActivityWriter


def build_processor(
    settings: LiveEventsSettings,
    *,
    canvas: Any | None,
    salesforce: Any | None,
    background: bool = False,
) -> LiveEventProcessor:
    """Wire lookups (over ``canvas.get``), the directory and the writer (over ``salesforce``).

    ``canvas`` is a ``CanvasClient`` (or anything with ``get(path, **params)``); ``None``
    gives offline lookups. ``salesforce`` is a ``SalesforceClient``; ``None`` plans nothing.
    ``background`` starts the writer's flush thread (engine workers); the Lambda flushes
    once per batch instead.
    """
    lookups: CanvasLookups
    if canvas is not None:
        lookups = CachedCanvasLookups(
            canvas.get,
            paginate=getattr(canvas, "paginate", None),
            ttl_s=settings.cache.canvas_ttl_s,
            max_entries=settings.cache.canvas_max_entries,
        )
    else:
        lookups = OfflineLookups()
    processor = LiveEventProcessor(settings, lookups, None, None)
    if salesforce is None:
        return processor
    schema = settings.salesforce
    directory = ParticipantDirectoryCache(
        lambda today: load_directory(salesforce.query_all, schema, today),
        refresh_s=settings.cache.directory_refresh_s,
        today=processor.today,
    )
    writer = ActivityWriter(
        salesforce, schema, settings.writer, on_attended=directory.forget_attendees, quote=soql.quote
    )
    if background:
        writer.start()
    processor.directory = directory
    processor.writer = writer
    return processor
