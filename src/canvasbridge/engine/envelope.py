"""One message from any source, in one shape."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from canvasbridge.errors import MessageError


@dataclass(frozen=True)
class Envelope:
    """A source message as parsers see it.

    ``routing_key`` is the AMQP routing key (``None`` for SQS and HTTP); ``attributes``
    holds SQS message attributes or AMQP headers as strings; ``delivery_count`` is how
    often the source has delivered this message (1 on first delivery, when known).
    """

    body: bytes
    source: str
    message_id: str
    routing_key: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    delivery_count: int = 1
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def text(self) -> str:
        """The body as UTF-8 text; :class:`MessageError` if it is not valid UTF-8."""
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MessageError(f"body is not valid UTF-8 (byte {exc.start})") from exc

    def json(self) -> Any:
        """The body parsed as JSON; :class:`MessageError` naming the position if it is not."""
        try:
            return json.loads(self.text())
        except json.JSONDecodeError as exc:
            raise MessageError(
                f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from exc

    def describe(self) -> dict[str, Any]:
        """A JSON-safe summary for logs and the ledger (body as text, truncated)."""
        preview = self.body[:4096].decode("utf-8", errors="replace")
        return {
            "source": self.source,
            "message_id": self.message_id,
            "routing_key": self.routing_key,
            "attributes": dict(self.attributes),
            "delivery_count": self.delivery_count,
            "body": preview,
        }
