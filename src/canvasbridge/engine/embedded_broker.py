"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file, polled more often.

kombu's virtual transports poll an empty queue once a second by default, which would add
up to a second of latency per hop in the embedded default. The polling interval cannot go
through ``broker_transport_options`` here (kombu hands those to ``create_engine``), so this
subclass sets it and is registered under its own URL scheme, ``cbsqla+``.
"""

from __future__ import annotations

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Transport as SqlAlchemyTransport

POLLING_INTERVAL_S = 0.05  # seconds between polls of an empty queue
SCHEME = "cbsqla"


class Transport(SqlAlchemyTransport):
    polling_interval = POLLING_INTERVAL_S


TRANSPORT_ALIASES.setdefault(SCHEME, f"{__name__}:Transport")


def kombu_url(url: str) -> str:
    """Our transport's URL for a ``sqla+…`` broker URL; other URLs unchanged."""
    return f"{SCHEME}+{url[len('sqla+') :]}" if url.startswith("sqla+") else url
