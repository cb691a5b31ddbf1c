"""One JSON shape for every error answer: ``{"error": code, "message": …, "fields": […]}``.

Validation errors (422) list each offending parameter by name in ``fields`` and in the
message, so ``GET /tasks?state=gone`` answers ``state: Input should be 'queued', …``.
Operator actions map :mod:`.operations` errors onto 404, 409 and 503; a ledger database
that cannot be reached is a 503 too (never a 500 with a stack trace).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import operations as ops
from .schemas import ErrorBody, FieldError

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid",
    429: "too_many_requests",
    503: "unavailable",
}


class FieldInvalid(Exception):
    """A parameter that passed type checks but makes no sense (e.g. ``until`` before ``since``)."""

    def __init__(self, field: str, location: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.location = location
        self.message = message


def error_response(
    status: int, message: str, *, fields: Sequence[FieldError] = (), headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(error=CODES.get(status, "error"), message=message, fields=list(fields))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _field_errors(errors: Sequence[Any]) -> list[FieldError]:
    found = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        where = location[0] if location else "request"
        name = ".".join(part for part in location[1:] if not part.isdigit()) or where
        found.append(FieldError(field=name, location=where, message=str(error.get("msg", "invalid"))))
    return found


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}"
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = _field_errors(exc.errors())
        message = "; ".join(f"{f.field}: {f.message}" for f in fields) or "invalid request"
        return error_response(422, message, fields=fields)

    @app.exception_handler(FieldInvalid)
    async def _field(request: Request, exc: FieldInvalid) -> JSONResponse:
        field = FieldError(field=exc.field, location=exc.location, message=exc.message)
        return error_response(422, f"{exc.field}: {exc.message}", fields=[field])

    @app.exception_handler(ops.UnknownCall)
    @app.exception_handler(ops.UnknownParked)
    @app.exception_handler(ops.UnknownKind)
    async def _unknown(request: Request, exc: ops.OperationError) -> JSONResponse:
        return error_response(404, str(exc))

    @app.exception_handler(ops.InvalidState)
    async def _conflict(request: Request, exc: ops.InvalidState) -> JSONResponse:
        return error_response(409, str(exc))

    @app.exception_handler(sa_exc.OperationalError)
    @app.exception_handler(sa_exc.InterfaceError)
    @app.exception_handler(sa_exc.TimeoutError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        log.error("admin API: the ledger database is unavailable: %s", type(exc).__name__)
        return error_response(
            503, f"the ledger database is unavailable ({type(exc).__name__})", headers={"Retry-After": "30"}
        )

    @app.exception_handler(ops.QueueUnavailable)
    async def _unavailable(request: Request, exc: ops.QueueUnavailable) -> JSONResponse:
        log.error("admin API: %s", exc)
        return error_response(503, str(exc), headers={"Retry-After": "30"})


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses an endpoint can answer."""
    descriptions = {
        401: "no token, or not a valid one",
        403: "the token's role does not allow this",
        404: "no such object",
        409: "the object's state does not allow this",
        422: "a parameter is malformed; `fields` names it",
        429: "too many wrong tokens from this address; wait `Retry-After` seconds",
        503: "the task queue or a backend is unavailable",
    }
    if 401 in statuses:  # whatever takes a token may refuse a client that guessed too often
        statuses = (*statuses, 429)
    return {code: {"model": ErrorBody, "description": descriptions[code]} for code in statuses}
