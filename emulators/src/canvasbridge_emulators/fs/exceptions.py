"""FS-API error answers.

The real FS-API's error bodies are not public; these follow the usual JAX-RS shape of a
status, a short reason and a message (Norwegian, as FS speaks), and 401s carry a
``WWW-Authenticate`` challenge.
"""

from __future__ import annotations

from starlette.responses import JSONResponse


class FsError(Exception):
    status = 400
    reason = "Bad Request"

    def __init__(self, message: str, *, challenge: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.challenge = challenge

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": self.challenge} if self.challenge else None
        return JSONResponse(
            {"status": self.status, "error": self.reason, "message": self.message},
            status_code=self.status,
            headers=headers,
        )


class BadRequest(FsError):
    pass


class Unauthorized(FsError):
    status = 401
    reason = "Unauthorized"


class NotFound(FsError):
    status = 404
    reason = "Not Found"


BASIC_CHALLENGE = 'Basic realm="FS-API"'
BEARER_EXPIRED = 'Bearer realm="FS-API", error="invalid_token", error_description="The token has expired"'
BEARER_INVALID = 'Bearer realm="FS-API", error="invalid_token"'
