"""Reads the operators need that the ledger does not offer itself.

Kept here, next to their only users, so the ledger's public API stays what the engine
needs to run; they reuse its filter and row mapping so results read the same. All work on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import sqlalchemy as sa

from canvasbridge.engine.ledger import CallFilter, CallRecord, Ledger
from canvasbridge.engine.ledger.records import call_record, filtered
from canvasbridge.engine.ledger.schema import parked_messages, task_calls


def parked_count(ledger: Ledger) -> int:
    with ledger.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(parked_messages)).scalar_one())


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def param_condition(name: str, value: str) -> sa.ColumnElement[bool]:
    """Calls whose parameter ``name`` equals ``value`` (as a string, or as the number it spells).

    Parameters are stored as canonical JSON (sorted keys, no spaces), so the pair appears
    as ``"name":value`` followed by ``,`` or ``}``.
    """
    encoded = [json.dumps(value, ensure_ascii=False)]
    try:
        number = json.loads(value)
    except ValueError:
        number = None
    if isinstance(number, int | float) and not isinstance(number, bool):
        encoded.append(json.dumps(number))
    options = []
    for literal in encoded:
        pair = _like_escape(f"{json.dumps(name, ensure_ascii=False)}:{literal}")
        for end in (",", "}"):
            options.append(task_calls.c.params.like(f"%{pair}{end}%", escape="\\"))
    return sa.or_(*options)


def list_calls(
    ledger: Ledger, where: CallFilter, params: Mapping[str, str], *, limit: int, offset: int
) -> tuple[list[CallRecord], int]:
    """Like :meth:`Ledger.list` and :meth:`Ledger.count` together, also matching parameters."""
    conditions = [param_condition(name, value) for name, value in params.items()]
    rows_query = filtered(sa.select(task_calls), where).where(*conditions)
    count_query = filtered(sa.select(sa.func.count()).select_from(task_calls), where).where(*conditions)
    with ledger.engine.connect() as connection:
        rows = connection.execute(
            rows_query.order_by(task_calls.c.id.desc()).limit(limit).offset(offset)
        ).all()
        total = int(connection.execute(count_query).scalar_one())
    return [call_record(row) for row in rows], total
