"""Parking: a message that cannot be routed or parsed is kept in the ledger with its reason.

The ledger is a parked message's only copy, so parking commits durably. A parked message is
shown, dispatched again (``canvasbridge parked requeue``) or discarded.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from canvasbridge.engine.admission import safe_text
from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.ledger.records import ParkedRecord, parked_record, utc_now
from canvasbridge.engine.ledger.schema import parked_messages

PARKED_MESSAGE_ID_CHARS = 200  # the parked_messages columns' sizes (schema.py)
PARKED_ROUTING_KEY_CHARS = 500


class Parking:
    """The ledger's parked messages (a part of :class:`Ledger`)."""

    engine: sa.Engine

    def park(self, envelope: Envelope, *, reason: str, route: str | None = None) -> int:
        """Keep a message with the reason it cannot be handled; whatever its fields hold."""
        message_id = column_text(envelope.message_id, PARKED_MESSAGE_ID_CHARS)
        routing_key = (
            None
            if envelope.routing_key is None
            else column_text(envelope.routing_key, PARKED_ROUTING_KEY_CHARS)
        )
        raw_fields = None
        if (message_id, routing_key) != (envelope.message_id, envelope.routing_key):
            # JSON escapes NUL and lone surrogates, so the text column holds them exactly
            raw_fields = json.dumps({"message_id": envelope.message_id, "routing_key": envelope.routing_key})
        with self.engine.begin() as connection:
            if self.engine.dialect.name == "postgresql":
                connection.execute(sa.text("SET LOCAL synchronous_commit = on"))
            row = connection.execute(
                sa.insert(parked_messages)
                .values(
                    source=envelope.source,
                    message_id=message_id,
                    routing_key=routing_key,
                    attributes=json.dumps(envelope.attributes),
                    body=envelope.body,
                    route=route,
                    reason=safe_text(reason),
                    created_at=utc_now(),
                    raw_fields=raw_fields,
                )
                .returning(parked_messages.c.id)
            ).one()
        return int(row.id)

    def parked(self, *, limit: int = 100, offset: int = 0) -> list[ParkedRecord]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(parked_messages).order_by(parked_messages.c.id.desc()).limit(limit).offset(offset)
            ).all()
        return [parked_record(row) for row in rows]

    def parked_message(self, parked_id: int) -> ParkedRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(parked_messages).where(parked_messages.c.id == parked_id)
            ).one_or_none()
        return None if row is None else parked_record(row)

    def unpark(self, parked_id: int) -> bool:
        """Remove a parked message (dispatched again, or discarded); False if it was gone."""
        with self.engine.begin() as connection:
            removed = connection.execute(
                sa.delete(parked_messages).where(parked_messages.c.id == parked_id)
            ).rowcount
        return bool(removed)


def column_text(text: str, limit: int) -> str:
    """``text`` as a text column of ``limit`` characters holds it: escaped, then shortened."""
    shown = safe_text(text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
