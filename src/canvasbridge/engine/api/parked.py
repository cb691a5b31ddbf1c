"""``/parked``: messages that no route matched or whose parser refused them.

List (newest first) and show them; ``operate`` may requeue one (dispatch it again
through the routes and parsers, once the route or parser is fixed) or discard it (it
needs no work; the log keeps who discarded what). Either way it leaves its id: a
message that is parked again gets a new id with the new reason.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from . import operations as ops
from .auth import Principal, require_operate, require_read
from .errors import responses
from .filters import MAX_ID
from .schemas import ParkedMessage, ParkedPage, ParkedRequeueResult

router = APIRouter(prefix="/parked", tags=["parked"])
MAX_PAGE = 500

ParkedId = Annotated[int, Path(ge=1, le=MAX_ID, description="a parked message's id")]


def _ops(request: Request) -> ops.Operations:
    operations: ops.Operations = request.app.state.operations
    return operations


@router.get("", response_model=ParkedPage, responses=responses(401, 403, 422))
def parked(
    request: Request,
    _: Annotated[Principal, Depends(require_read)],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> ParkedPage:
    """Parked messages with the reason each was parked and the start of its body."""
    items, total = _ops(request).parked(limit=limit, offset=offset)
    return ParkedPage(items=[ParkedMessage.of(p) for p in items], total=total, limit=limit, offset=offset)


@router.get("/{parked_id}", response_model=ParkedMessage, responses=responses(401, 403, 404, 422))
def show_parked(
    request: Request, _: Annotated[Principal, Depends(require_read)], parked_id: ParkedId
) -> ParkedMessage:
    """One parked message: source, message id, routing key, attributes, reason and body."""
    return ParkedMessage.of(_ops(request).parked_message(parked_id))


@router.post(
    "/{parked_id}/requeue", response_model=ParkedRequeueResult, responses=responses(401, 403, 404, 422, 503)
)
def requeue_parked(
    request: Request, principal: Annotated[Principal, Depends(require_operate)], parked_id: ParkedId
) -> ParkedRequeueResult:
    """Dispatch the message again as if it had just arrived; see ``outcome``."""
    done = _ops(request).requeue_parked(parked_id, actor=principal.name)
    return ParkedRequeueResult(
        id=done.id,
        outcome=done.outcome,
        calls=done.calls,
        parked_again_as=done.parked_again_as,
        reason=done.reason or None,
    )


@router.post("/{parked_id}/discard", response_model=ParkedMessage, responses=responses(401, 403, 404, 422))
def discard_parked(
    request: Request, principal: Annotated[Principal, Depends(require_operate)], parked_id: ParkedId
) -> ParkedMessage:
    """Remove the message: it needs no work. Answers with what was removed."""
    return ParkedMessage.of(_ops(request).discard_parked(parked_id, actor=principal.name))
