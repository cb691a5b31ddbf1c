"""The dashboard's changes: requeue and discard a call or a parked message (role operate).

Each is a POST from a form carrying the session's CSRF token; a read-only session, a
missing or wrong CSRF token, or a request from another site gets 403 and changes nothing.
After the change the browser is redirected to the page that shows its result.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from canvasbridge.engine.api import operations as ops
from canvasbridge.engine.api.filters import MAX_ID, PRINTABLE
from canvasbridge.engine.config import Role
from canvasbridge.engine.ledger import CallFilter, CallState

from .render import error_page, signed_in
from .session import Session

router = APIRouter(prefix="/ui", include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Csrf = Annotated[str | None, Form(max_length=200)]
BULK_LIMIT = 1000  # calls one "Requeue all" requeues; press again for more


class Refused(Exception):
    def __init__(self, session: Session, message: str) -> None:
        super().__init__(message)
        self.session = session
        self.message = message


def changes_allowed(request: Request, session: Session, csrf: str | None) -> None:
    """403 unless the form came from this site with the session's CSRF token."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise Refused(session, "a change must come from the dashboard itself, not another site")
    if not session.csrf_ok(csrf):
        raise Refused(session, "the form's CSRF token is missing or wrong; reload the page and try again")


def operator(request: Request, session: Annotated[Session, Depends(signed_in)], csrf: Csrf = None) -> Session:
    changes_allowed(request, session, csrf)
    if session.principal.role is not Role.OPERATE:
        raise Refused(
            session, f"the token {session.principal.name!r} has role read; requeue and discard need operate"
        )
    return session


Operator = Annotated[Session, Depends(operator)]


def _ops(request: Request) -> ops.Operations:
    operations: ops.Operations = request.app.state.operations
    return operations


def _see(path: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?notice={notice}", status_code=303)


def _failed(request: Request, session: Session, exc: ops.OperationError) -> Response:
    status = 404 if isinstance(exc, ops.UnknownCall | ops.UnknownParked) else 409
    if isinstance(exc, ops.QueueUnavailable):
        status = 503
    return error_page(request, session, status, str(exc))


@router.post("/calls/requeue")
def requeue_dead(
    request: Request,
    session: Operator,
    task: Annotated[str | None, Form(max_length=200, pattern=PRINTABLE)] = None,
) -> Response:
    """Sidekiq's "Retry all": every dead call (of one task, when the list is filtered)."""
    where = CallFilter(states=(CallState.DEAD,), task=task or None)
    outcome = _ops(request).bulk_requeue(where, dry_run=False, limit=BULK_LIMIT, actor=session.principal.name)
    if outcome.failed:
        call_id, reason = next(iter(outcome.failed.items()))
        message = (
            f"requeued {len(outcome.requeued)}; {len(outcome.failed)} could not be (#{call_id}: {reason})"
        )
        return error_page(request, session, 503, message)
    back = "/ui/calls?state=dead" + (f"&task={quote(task)}" if task else "")
    return RedirectResponse(f"{back}&notice=bulk-requeued&count={len(outcome.requeued)}", status_code=303)


@router.post("/calls/{call_id}/requeue")
def requeue_call(request: Request, session: Operator, call_id: Id) -> Response:
    try:
        done = _ops(request).requeue(call_id, actor=session.principal.name)
    except ops.OperationError as exc:
        return _failed(request, session, exc)
    return _see(f"/ui/calls/{done.id}", "folded" if done.folded else "requeued")


@router.post("/calls/{call_id}/discard")
def discard_call(request: Request, session: Operator, call_id: Id) -> Response:
    try:
        _ops(request).discard(call_id, actor=session.principal.name)
    except ops.OperationError as exc:
        return _failed(request, session, exc)
    return _see(f"/ui/calls/{call_id}", "discarded")


@router.post("/parked/{parked_id}/requeue")
def requeue_parked(request: Request, session: Operator, parked_id: Id) -> Response:
    try:
        done = _ops(request).requeue_parked(parked_id, actor=session.principal.name)
    except ops.OperationError as exc:
        return _failed(request, session, exc)
    if done.calls:
        return _see(f"/ui/calls/{done.calls[0]}", "parked-queued")
    if done.parked_again_as is not None:
        return _see(f"/ui/parked/{done.parked_again_as}", "parked-again")
    return _see("/ui/parked", "parked-nothing")


@router.post("/parked/{parked_id}/discard")
def discard_parked(request: Request, session: Operator, parked_id: Id) -> Response:
    try:
        _ops(request).discard_parked(parked_id, actor=session.principal.name)
    except ops.OperationError as exc:
        return _failed(request, session, exc)
    return _see("/ui/parked", "parked-discarded")
