"""Query parameters that select task calls, shared by ``GET /tasks`` and ``POST /tasks/requeue``.

``state`` may be repeated (``?state=dead&state=retrying``); ``since``/``until`` are ISO 8601
times (a time without a zone is taken as UTC) bounding when a call was created, ``since``
inclusive and ``until`` exclusive; ``origin`` is a source name or a source message id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import Query

from canvasbridge.engine.ledger import CallFilter, CallState

from .errors import FieldInvalid

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no control characters (PostgreSQL refuses NUL in text)
MAX_ID = 2**63 - 1  # call ids are 64-bit


def _utc(name: str, value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise FieldInvalid(name, "query", "time is out of range") from None


class RequeueableState(StrEnum):
    """The states a bulk requeue may select."""

    DEAD = CallState.DEAD.value
    DISCARDED = CallState.DISCARDED.value


TaskName = Annotated[str | None, Query(max_length=200, pattern=PRINTABLE, description="a task name")]
OriginName = Annotated[
    str | None, Query(max_length=200, pattern=PRINTABLE, description="a source name or message id")
]
Since = Annotated[datetime | None, Query(description="created at or after (ISO 8601)")]
Until = Annotated[datetime | None, Query(description="created before (ISO 8601)")]


def call_filter(
    state: Annotated[list[CallState] | None, Query(description="repeat for several states")] = None,
    task: TaskName = None,
    origin: OriginName = None,
    since: Since = None,
    until: Until = None,
) -> CallFilter:
    return _build(tuple(state or ()), task, origin, since, until)


def requeue_filter(
    state: Annotated[
        list[RequeueableState] | None, Query(description="dead (the default) and/or discarded")
    ] = None,
    task: TaskName = None,
    origin: OriginName = None,
    since: Since = None,
    until: Until = None,
) -> CallFilter:
    states = tuple(CallState(s.value) for s in state or ())
    return _build(states, task, origin, since, until)


def _build(
    states: tuple[CallState, ...],
    task: str | None,
    origin: str | None,
    since: datetime | None,
    until: datetime | None,
) -> CallFilter:
    start, end = _utc("since", since), _utc("until", until)  # until before since selects nothing
    return CallFilter(states=states, task=task, origin=origin, since=start, until=end)


PARAM_PATTERN = r"^[^=\x00-\x1f\x7f]+=[^\x00-\x1f\x7f]*$"


def param_filter(
    param: Annotated[
        list[Annotated[str, Query(max_length=300, pattern=PARAM_PATTERN)]] | None,
        Query(description="NAME=VALUE: a task parameter's value, e.g. username=olan (repeatable)"),
    ] = None,
) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for pair in param or ():
        name, _, value = pair.partition("=")
        chosen[name] = value
    return chosen
