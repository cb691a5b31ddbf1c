"""Query parameters that select task calls, shared by ``GET /tasks`` and ``POST /tasks/requeue``.

``state`` may be repeated (``?state=dead&state=retrying``); ``since``/``until`` are ISO 8601
times (a time without a zone is taken as UTC) bounding when a call was created, ``since``
inclusive and ``until`` exclusive; ``origin`` is a source name or a source message id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

from canvasbridge.engine.ledger import CallFilter, CallState

from .errors import FieldInvalid

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no control characters (PostgreSQL refuses NUL in text)
MAX_ID = 2**63 - 1  # call ids are 64-bit

Text = Annotated[str | None, Query(max_length=200, pattern=PRINTABLE)]


def _utc(name: str, value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise FieldInvalid(name, "query", "time is out of range") from None


def call_filter(
    state: Annotated[list[CallState] | None, Query(description="repeat for several states")] = None,
    task: Annotated[str | None, Query(max_length=200, pattern=PRINTABLE, description="a task name")] = None,
    origin: Annotated[
        str | None, Query(max_length=200, pattern=PRINTABLE, description="a source name or message id")
    ] = None,
    since: Annotated[datetime | None, Query(description="created at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="created before (ISO 8601)")] = None,
) -> CallFilter:
    start, end = _utc("since", since), _utc("until", until)
    if start is not None and end is not None and end < start:
        raise FieldInvalid("until", "query", "must not be earlier than since")
    return CallFilter(states=tuple(state or ()), task=task, origin=origin, since=start, until=end)
