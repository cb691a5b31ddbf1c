"""``/tasks``: the task ledger - list, inspect, requeue, discard.

A requeue makes a *new* call whose ``requeued_from`` points to the old one; the old one
stays as history in state ``requeued`` (no longer dead) with ``requeued_to`` naming the new
call (or the identical pending call it was folded into).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from canvasbridge.engine.ledger import CallFilter

from . import operations as ops
from .auth import Principal, require_operate, require_read
from .errors import responses
from .filters import MAX_ID, call_filter, param_filter, requeue_filter
from .schemas import BulkRequeueResult, RequeueResult, TaskDetail, TaskPage, TaskSummary

router = APIRouter(prefix="/tasks", tags=["tasks"])

CallId = Annotated[int, Path(ge=1, le=MAX_ID, description="a task call's id")]
MAX_PAGE = 500  # calls per page


def _ops(request: Request) -> ops.Operations:
    operations: ops.Operations = request.app.state.operations
    return operations


@router.get("", response_model=TaskPage, responses=responses(401, 403, 422))
def list_tasks(
    request: Request,
    _: Annotated[Principal, Depends(require_read)],
    where: Annotated[CallFilter, Depends(call_filter)],
    params: Annotated[dict[str, str], Depends(param_filter)],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> TaskPage:
    """Task calls, newest first, with the total matching the filter.

    ``param=username=olan`` finds the calls for one object: every call that had that
    parameter value, whatever its state, including the requeued ones.
    """
    page = _ops(request).list_calls(where, limit=limit, offset=offset, params=params)
    return TaskPage(
        items=[TaskSummary.of(r) for r in page.items], total=page.total, limit=page.limit, offset=page.offset
    )


@router.post("/requeue", response_model=BulkRequeueResult, responses=responses(401, 403, 409, 422))
def requeue_many(
    request: Request,
    principal: Annotated[Principal, Depends(require_operate)],
    where: Annotated[CallFilter, Depends(requeue_filter)],
    dry_run: Annotated[bool, Query(description="only count what would be requeued")] = False,
    limit: Annotated[int, Query(ge=1, le=ops.BULK_REQUEUE_MAX)] = 1000,
) -> BulkRequeueResult:
    """Requeue every dead call the filter selects (``state`` may also name ``discarded``).

    Calls requeued before are left out. With ``dry_run=true`` nothing changes and only the
    counts come back.
    """
    outcome = _ops(request).bulk_requeue(where, dry_run=dry_run, limit=limit, actor=principal.name)
    return BulkRequeueResult.of(outcome)


@router.get("/{call_id}", response_model=TaskDetail, responses=responses(401, 403, 404, 422))
def show_task(
    request: Request, _: Annotated[Principal, Depends(require_read)], call_id: CallId
) -> TaskDetail:
    """One call with its attempts, errors, tracebacks and the message that caused it."""
    return TaskDetail.of_detail(_ops(request).show(call_id))


@router.post(
    "/{call_id}/requeue", response_model=RequeueResult, responses=responses(401, 403, 404, 409, 422, 503)
)
def requeue_one(
    request: Request, principal: Annotated[Principal, Depends(require_operate)], call_id: CallId
) -> RequeueResult:
    """Queue a dead or discarded call again, as a new call that points back to it."""
    done = _ops(request).requeue(call_id, actor=principal.name)
    return RequeueResult(requeued_from=done.requeued_from, id=done.id, folded=done.folded)


@router.post("/{call_id}/discard", response_model=TaskSummary, responses=responses(401, 403, 404, 409, 422))
def discard_one(
    request: Request, principal: Annotated[Principal, Depends(require_operate)], call_id: CallId
) -> TaskSummary:
    """Mark a call as needing no further work: a dead letter someone dealt with, or a
    queued call that must not run."""
    return TaskSummary.of(_ops(request).discard(call_id, actor=principal.name))
