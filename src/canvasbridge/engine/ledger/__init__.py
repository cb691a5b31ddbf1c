"""The task ledger: every task call, its state and attempts, parked messages.

It is also the outbox that makes coalescing safe: a call is recorded before it is queued,
identical calls still waiting are folded into the one already recorded, and a worker
claims a call in the ledger before running it. SQLite (embedded) or PostgreSQL; the
schema is managed with Alembic migrations, applied on open.
"""

from canvasbridge.engine.ledger.gathering import PendingCall
from canvasbridge.engine.ledger.records import (
    AttemptRecord,
    CallFilter,
    CallRecord,
    Claim,
    ParkedRecord,
    RecordedCall,
    Recording,
)
from canvasbridge.engine.ledger.schema import CallState
from canvasbridge.engine.ledger.store import Ledger

__all__ = [
    "AttemptRecord",
    "CallFilter",
    "CallRecord",
    "CallState",
    "Claim",
    "Ledger",
    "ParkedRecord",
    "PendingCall",
    "RecordedCall",
    "Recording",
]
