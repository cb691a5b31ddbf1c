"""The dashboard's pages: overview, calls, one call's story, parked messages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from canvasbridge.engine.api import operations as ops
from canvasbridge.engine.api.filters import MAX_ID, PRINTABLE
from canvasbridge.engine.ledger import CallFilter, CallState

from . import queries
from .render import error_page, page, signed_in
from .session import Session
from .systems import system_use

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
# the order of the state tabs, the way an operator looks: what failed first
TABS = ["dead", "retrying", "queued", "running", "succeeded", "requeued", "discarded"]
PENDING = {CallState.QUEUED, CallState.RUNNING, CallState.RETRYING}
OVERVIEW_REFRESH_S = 15  # the overview reloads itself this often
PENDING_REFRESH_S = 2  # a call's page reloads this often until the call ends

SignedIn = Annotated[Session, Depends(signed_in)]
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


def _ops(request: Request) -> ops.Operations:
    operations: ops.Operations = request.app.state.operations
    return operations


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, session: SignedIn) -> HTMLResponse:
    operations = _ops(request)
    stats = operations.stats()
    ledger = operations.runtime.ledger()
    buckets = queries.activity(ledger)
    return page(
        request,
        "overview.html",
        session,
        stats=stats,
        tabs=TABS,
        buckets=buckets,
        peak=max([b.total for b in buckets] + [1]),
        sources=queries.source_freshness(ledger),
        systems=system_use(),
        refresh=OVERVIEW_REFRESH_S,
    )


@router.get("/ui/calls", response_class=HTMLResponse)
def calls(
    request: Request,
    session: SignedIn,
    state: Annotated[str, Query(max_length=20)] = "dead",
    task: Annotated[str | None, Query(max_length=200, pattern=PRINTABLE)] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> HTMLResponse:
    known = {s.value for s in CallState}
    if state != "all" and state not in known:
        return error_page(request, session, 422, f"state: {state!r} is not one of {sorted(known)} or all")
    where = CallFilter(states=() if state == "all" else (CallState(state),), task=task or None)
    listing = _ops(request).list_calls(where, limit=PAGE_SIZE, offset=offset)
    return page(
        request,
        "calls.html",
        session,
        listing=listing,
        state=state,
        task=task or "",
        tabs=TABS,
        page_size=PAGE_SIZE,
    )


@router.get("/ui/calls/{call_id}", response_class=HTMLResponse)
def call(request: Request, session: SignedIn, call_id: Id) -> HTMLResponse:
    try:
        detail = _ops(request).show(call_id)
    except ops.UnknownCall as exc:
        return error_page(request, session, 404, str(exc))
    pending = detail.record.state in PENDING
    return page(
        request,
        "call.html",
        session,
        call=detail.record,
        attempts=detail.attempts,
        refresh=PENDING_REFRESH_S if pending else None,
        requeueable=detail.record.state in ops.REQUEUEABLE_STATES,
        discardable=detail.record.state in ops.DISCARDABLE_STATES,
    )


@router.get("/ui/parked", response_class=HTMLResponse)
def parked(
    request: Request, session: SignedIn, offset: Annotated[int, Query(ge=0, le=10**9)] = 0
) -> HTMLResponse:
    items, total = _ops(request).parked(limit=PAGE_SIZE, offset=offset)
    return page(
        request, "parked_list.html", session, items=items, total=total, offset=offset, page_size=PAGE_SIZE
    )


@router.get("/ui/parked/{parked_id}", response_class=HTMLResponse)
def parked_message(request: Request, session: SignedIn, parked_id: Id) -> HTMLResponse:
    try:
        record = _ops(request).parked_message(parked_id)
    except ops.UnknownParked as exc:
        return error_page(request, session, 404, str(exc))
    body = record.body.decode("utf-8", errors="replace")
    return page(request, "parked.html", session, message=record, body=body)
