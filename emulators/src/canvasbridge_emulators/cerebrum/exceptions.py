"""Cerebrum REST API error bodies (flask-restx style: a JSON object with ``message``).

Cerebrum's ``HeaderAuth`` answers **403** both when the API-key header is missing
(``"Missing API key in header"``) and when the key is wrong (``"Invalid API key in
header"``), with the header's name under ``api-key-header`` (CRB
``Cerebrum/rest/api/auth.py``). Lookups that find nothing answer 404 with a message.
"""

from __future__ import annotations

import orjson


class CerebrumError(Exception):
    status = 400

    def __init__(self, message: str, **data: str) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    def body(self) -> bytes:
        return orjson.dumps({"message": self.message, **self.data})


class BadRequest(CerebrumError):
    status = 400


class Forbidden(CerebrumError):
    status = 403


class NotFound(CerebrumError):
    status = 404


def missing_key(header: str) -> Forbidden:
    return Forbidden("Missing API key in header", **{"api-key-header": header})


def invalid_key(header: str) -> Forbidden:
    return Forbidden("Invalid API key in header", **{"api-key-header": header})
