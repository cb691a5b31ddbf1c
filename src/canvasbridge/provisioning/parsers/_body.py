"""Checks shared by the parsers: the body must be a JSON object with a usable ``sub``."""

from __future__ import annotations

from typing import Any

from canvasbridge.engine import Envelope
from canvasbridge.errors import MessageError

#: Longest ``sub`` we accept; real ones are short URLs or ``resource/id`` paths.
MAX_SUB_LENGTH = 2048


def body_object(envelope: Envelope) -> dict[str, Any]:
    """The JSON body as a dict; :class:`MessageError` if it is not a JSON object."""
    body = envelope.json()
    if not isinstance(body, dict):
        raise MessageError(f"body must be a JSON object, got {type(body).__name__}")
    return body


def required_str(body: dict[str, Any], field: str) -> str:
    """``body[field]`` as a non-empty string, or a :class:`MessageError` naming the field."""
    if field not in body:
        raise MessageError(f"body has no '{field}' field")
    value = body[field]
    if not isinstance(value, str):
        raise MessageError(f"'{field}' must be a string, got {type(value).__name__}")
    value = value.strip()
    if not value:
        raise MessageError(f"'{field}' is empty")
    if len(value) > MAX_SUB_LENGTH:
        raise MessageError(f"'{field}' is longer than {MAX_SUB_LENGTH} characters")
    return value


def optional_str(body: dict[str, Any], field: str) -> str | None:
    """``body[field]`` if present and a string; :class:`MessageError` if present but not a string."""
    if body.get(field) is None:
        return None
    value = body[field]
    if not isinstance(value, str):
        raise MessageError(f"'{field}' must be a string, got {type(value).__name__}")
    return value


def routing_parts(envelope: Envelope, prefix: tuple[str, ...], count: int) -> list[str] | None:
    """The routing key split on dots if it starts with ``prefix`` and has ``count`` parts.

    ``None`` when the envelope has no routing key (file replay, HTTP); a
    :class:`MessageError` when it has one of the wrong shape.
    """
    if envelope.routing_key is None:
        return None
    parts = envelope.routing_key.split(".")
    if tuple(parts[: len(prefix)]) != prefix or len(parts) != count or not all(parts):
        expected = ".".join(prefix) + "." + ".".join(["<…>"] * (count - len(prefix)))
        raise MessageError(f"routing key {envelope.routing_key!r} is not of the form {expected}")
    return parts
