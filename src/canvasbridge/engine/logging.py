"""Logging set-up: text or JSON lines, ``LOG_LEVEL`` honoured, a correlation id on every line.

The correlation id is the source message id; :func:`correlation` sets it for the block of
code handling one message or one task, and every log line written inside carries it.
A filter replaces every secret value resolved through :mod:`canvasbridge.secrets`, and
``Authorization``/``token=``/``password=`` values, with ``***``.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

from canvasbridge.secrets import redact

_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)

_CREDENTIAL_PATTERN = re.compile(
    r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic)\s+|"
    r"(?:access_token|token|password|api[_-]?key|client_secret)[\"']?\s*[:=]\s*[\"']?)([^\s\"'&,}]+)"
)
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(correlation_id)s] %(message)s"


def current_correlation_id() -> str | None:
    return _correlation_id.get()


@contextlib.contextmanager
def correlation(correlation_id: str | None) -> Iterator[None]:
    token = _correlation_id.set(correlation_id)
    try:
        yield
    finally:
        _correlation_id.reset(token)


def scrub(text: str) -> str:
    """``text`` without known secrets and without credential-looking values."""
    return _CREDENTIAL_PATTERN.sub(lambda m: m.group(1) + "***", redact(text))


class ContextFilter(logging.Filter):
    """Adds ``correlation_id`` to each record and scrubs secrets from its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = _correlation_id.get() or "-"
        message = scrub(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, correlation_id, message, extras."""

    RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"correlation_id", "message"}

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "correlation_id": getattr(record, "correlation_id", None),
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in self.RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, default=str, ensure_ascii=False)


def setup_logging(fmt: str = "text", level: str | None = None) -> None:
    """Configure the root logger. ``LOG_LEVEL`` in the environment wins over ``level``."""
    chosen = (os.environ.get("LOG_LEVEL") or level or "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(chosen)
    for noisy in ("pika", "botocore", "urllib3", "httpx", "httpcore", "kombu", "amqp", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
