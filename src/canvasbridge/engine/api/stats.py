"""``GET /stats``: counts per state and task, queue depth, oldest pending call, freshness.

Freshness is the time of the last success per task: a task whose last success is old
while its source keeps changing is the first sign of trouble.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from . import operations as ops
from .auth import Principal, require_read
from .errors import responses
from .schemas import StatsBody

router = APIRouter(tags=["stats"])


@router.get("/stats", response_model=StatsBody, responses=responses(401, 403))
def stats(request: Request, _: Annotated[Principal, Depends(require_read)]) -> StatsBody:
    """A summary of the ledger and the queue."""
    operations: ops.Operations = request.app.state.operations
    return StatsBody.of(operations.stats())
