"""Canvas's own error answers, raised by the model and rendered by the responses.

Each exception carries the HTTP status and the exact JSON body Canvas sends for that
case (see the reference, section 2.4). ``CanvasError.body`` is what goes on the wire.
"""

from __future__ import annotations

from typing import Any


class CanvasError(Exception):
    """An error answer: ``status`` and the JSON ``body`` Canvas sends."""

    status = 400

    def __init__(self, body: Any, status: int | None = None) -> None:
        super().__init__(body)
        self.body = body
        if status is not None:
            self.status = status


class ResourceNotFound(CanvasError):
    """404 for a missing record or an unknown SIS id."""

    status = 404

    def __init__(self) -> None:
        super().__init__({"errors": [{"message": "The specified resource does not exist."}]})


class BadRequest(CanvasError):
    """An ad-hoc controller error: ``{"message": ...}`` (400 unless told otherwise)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__({"message": message}, status)


class ReactivateError(CanvasError):
    """The reactivate/accept endpoints answer ``{"error": ...}``."""

    def __init__(self, message: str) -> None:
        super().__init__({"error": message}, 400)


class ValidationFailed(CanvasError):
    """A model validation error: ``{"errors": {attr: [{attribute, type, message}]}}``.

    ``nest`` wraps the attribute errors under an object name, as user creation does
    (``{"errors": {"user": {}, "pseudonym": {...}, ...}}``).
    """

    def __init__(self, attribute: str, kind: str, message: str, *, nest: str | None = None) -> None:
        errors: dict[str, Any] = {attribute: [{"attribute": attribute, "type": kind, "message": message}]}
        if nest == "pseudonym":
            body: dict[str, Any] = {
                "errors": {
                    "user": {},
                    "pseudonym": errors,
                    "observee": {},
                    "pairing_code": {},
                    "recaptcha": None,
                }
            }
        elif nest is not None:
            body = {"errors": {nest: errors}}
        else:
            body = {"errors": errors}
        super().__init__(body, 400)
        self.attribute = attribute
        self.kind = kind
        self.message = message


class Unauthorized(CanvasError):
    """401 for an authenticated caller who may not do this (no ``WWW-Authenticate``)."""

    status = 401

    def __init__(self, message: str = "user not authorized to perform that action") -> None:
        super().__init__({"status": "unauthorized", "errors": [{"message": message}]})


UNAUTHENTICATED_BODY = {"status": "unauthenticated", "errors": [{"message": "user authorization required"}]}
INVALID_TOKEN_BODY = {"errors": [{"message": "Invalid access token."}]}
THROTTLED_TEXT = "403 Forbidden (Rate Limit Exceeded)\n"
WWW_AUTHENTICATE = 'Bearer realm="canvas-lms"'
