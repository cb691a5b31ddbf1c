"""``/sync``: queue a sync of one object by its natural key.

The kinds are the ``sync: {kind, key}`` declarations of the configured tasks: with
``tasks.ensure_user.sync = {kind: user, key: username}``, ``POST /sync/user/olan`` queues
``ensure_user(username="olan")``. An unknown kind is a 404; a caller can never name a task
or an import path. The call's origin is recorded as source ``admin`` with the token name.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from . import operations as ops
from .auth import Principal, require_operate, require_read
from .errors import responses
from .filters import PRINTABLE
from .schemas import SyncKind, SyncResult

router = APIRouter(prefix="/sync", tags=["sync"])


@router.get("", response_model=list[SyncKind], responses=responses(401, 403))
def list_kinds(request: Request, _: Annotated[Principal, Depends(require_read)]) -> list[SyncKind]:
    """The kinds of object a sync can be queued for, and the task each one runs."""
    operations: ops.Operations = request.app.state.operations
    return [
        SyncKind(kind=kind, task=task, key_param=key)
        for kind, (task, key) in sorted(operations.sync_kinds().items())
    ]


@router.post("/{kind}/{key:path}", response_model=SyncResult, responses=responses(401, 403, 404, 422, 503))
def queue_sync(
    request: Request,
    principal: Annotated[Principal, Depends(require_operate)],
    kind: Annotated[str, Path(max_length=100, description="a configured sync kind, e.g. user")],
    key: Annotated[
        str,
        Path(min_length=1, max_length=500, pattern=PRINTABLE, description="the object's natural key"),
    ],
) -> SyncResult:
    """Queue the task configured for ``kind`` with the key as its key parameter."""
    operations: ops.Operations = request.app.state.operations
    queued = operations.sync(kind, key, actor=principal.name)
    return SyncResult(kind=queued.kind, key=queued.key, task=queued.task, id=queued.id, folded=queued.folded)
