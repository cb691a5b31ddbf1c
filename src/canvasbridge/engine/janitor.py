"""The consumer's ledger janitor: now and then it deletes calls past their retention.

``backends.keep_finished_days`` says how long a finished call stays (see
:mod:`canvasbridge.engine.ledger.retention` for what goes and what stays). The janitor runs in
a daemon thread of ``canvasbridge consume``, the one process every deployment has: the first
pass a minute after start, then one an hour. Several consumers may each run one; they only
find less to delete. ``canvasbridge ledger prune`` does the same by hand.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from canvasbridge.engine.ledger import Ledger

log = logging.getLogger(__name__)

FIRST_PASS_AFTER_S = 60.0
PASS_EVERY_S = 3600.0


class LedgerJanitor:
    def __init__(
        self,
        ledger: Ledger,
        keep_days: float,
        *,
        first_after_s: float = FIRST_PASS_AFTER_S,
        every_s: float = PASS_EVERY_S,
    ) -> None:
        self._ledger = ledger
        self._keep = timedelta(days=keep_days)
        self._first_after_s = first_after_s
        self._every_s = every_s

    def prune_once(self) -> int:
        """Delete what is past retention now; the number of calls deleted."""
        before = datetime.now(UTC) - self._keep
        deleted = sum(self._ledger.prune(before))
        if deleted:
            log.info("ledger retention: deleted %d calls finished before %s", deleted, before.isoformat())
        return deleted

    def start(self, stop: threading.Event) -> threading.Thread:
        """Prune in a daemon thread until ``stop`` is set."""
        thread = threading.Thread(target=self._run, args=(stop,), name="ledger-janitor", daemon=True)
        thread.start()
        return thread

    def _run(self, stop: threading.Event) -> None:
        wait = self._first_after_s
        while not stop.wait(wait):
            wait = self._every_s
            try:
                self.prune_once()
            except Exception as exc:  # the database may be away for a while: try at the next pass
                log.warning("ledger retention: this pass failed, the next is in %.0f s: %s", wait, exc)
