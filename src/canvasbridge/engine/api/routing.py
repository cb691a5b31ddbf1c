"""``GET /routes``: the routing table - which parser handles which messages, in match order."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from . import operations as ops
from .auth import Principal, require_read
from .errors import responses
from .schemas import RoutingTable

router = APIRouter(tags=["routing"])


@router.get("/routes", response_model=RoutingTable, responses=responses(401, 403))
def routing_table(request: Request, _: Annotated[Principal, Depends(require_read)]) -> RoutingTable:
    """Routes in the order they are tried, and what happens to messages none matches."""
    operations: ops.Operations = request.app.state.operations
    return RoutingTable.of(operations.routing_table())
