"""``GET /openapi.json``: the API's OpenAPI document, for token holders (any role).

FastAPI's public ``/openapi.json``, ``/docs`` and ``/redoc`` are turned off: every endpoint
but the two health checks needs a token. Load the document into a tool with the header,
e.g. ``curl -H "Authorization: Bearer $TOKEN" $CB/openapi.json``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from .auth import Principal, require_read
from .errors import responses

router = APIRouter(tags=["meta"])


@router.get("/openapi.json", include_in_schema=False, responses=responses(401, 403))
def openapi_document(request: Request, _: Annotated[Principal, Depends(require_read)]) -> dict[str, Any]:
    """The OpenAPI 3 document describing this API."""
    document: dict[str, Any] = request.app.openapi()
    return document
