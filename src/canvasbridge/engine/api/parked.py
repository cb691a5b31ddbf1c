"""``GET /parked``: messages that no route matched or whose parser refused them, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from . import operations as ops
from .auth import Principal, require_read
from .errors import responses
from .schemas import ParkedMessage, ParkedPage

router = APIRouter(tags=["parked"])
MAX_PAGE = 500


@router.get("/parked", response_model=ParkedPage, responses=responses(401, 403, 422))
def parked(
    request: Request,
    _: Annotated[Principal, Depends(require_read)],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> ParkedPage:
    """Parked messages with the reason each was parked and the start of its body."""
    operations: ops.Operations = request.app.state.operations
    items, total = operations.parked(limit=limit, offset=offset)
    return ParkedPage(items=[ParkedMessage.of(p) for p in items], total=total, limit=limit, offset=offset)
