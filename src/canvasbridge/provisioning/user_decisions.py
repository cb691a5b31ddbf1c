"""Deciding every candidate user of a full resync, in a second process when it can.

A university's 33,000 users cost about 100,000 small Cerebrum reads (:mod:`.reads`). Their
HTTP and JSON work needs the CPU, and inside the resync's own process it competes for the
interpreter lock with the FS pages and the course decisions, so the whole resync ran on one
core. :class:`ProcessDecider` runs the users' reads in a spawned process of their own, with
a Cerebrum client built there from the same settings; the resync's process gets back
:class:`~.desired.UserDecision` objects and the call counts, and logs the process's records
through its own handlers. :class:`ThreadDecider` does the
same work on threads in the calling process. Both read Cerebrum's account list as soon as
they start, so the listing overlaps the Canvas read.

:func:`start_decider` picks the process unless ``provisioning.resync.users_process`` is off,
the Cerebrum client was not built from settings (a test's client), or this process may not
have children (a daemonic one).
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import os
import pickle
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from canvasbridge.clients.cerebrum import Account, CerebrumClient, CerebrumSettings
from canvasbridge.clients.http import CallStats, EndpointStats
from canvasbridge.engine import metrics
from canvasbridge.errors import CanvasbridgeError, TransientError
from canvasbridge.provisioning.desired import CerebrumReads, UserDecision, decide_user
from canvasbridge.provisioning.reads import ListedCerebrum
from canvasbridge.provisioning.settings import ProvisioningSettings

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class Decided:
    """Every candidate's decision, and a line for each candidate that could not be decided."""

    decisions: list[UserDecision] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def decide_all(
    cerebrum: CerebrumReads, settings: ProvisioningSettings, candidates: list[str], pool: ThreadPoolExecutor
) -> Decided:
    """Decide each candidate username on ``pool`` (its size bounds the reads in flight)."""

    def one(username: str) -> UserDecision | CanvasbridgeError:
        try:
            return decide_user(cerebrum, settings, username=username)
        except CanvasbridgeError as exc:
            return exc

    decided = Decided()
    for username, decision in zip(candidates, pool.map(one, candidates), strict=True):
        if isinstance(decision, CanvasbridgeError):
            decided.errors.append(f"user {username}: {decision}")
        else:
            decided.decisions.append(decision)
    return decided


class UserDecider(Protocol):
    def decide(self, candidates: list[str]) -> Decided: ...

    def close(self) -> None: ...


class ThreadDecider:
    """The users decided on threads of this process (``resync.concurrency.cerebrum`` of them)."""

    def __init__(self, client: CerebrumClient, settings: ProvisioningSettings) -> None:
        self.client, self._settings = client, settings
        self._pool = ThreadPoolExecutor(
            settings.resync.concurrency.cerebrum, thread_name_prefix="resync-cerebrum"
        )
        self._listing: Future[list[Account]] = self._pool.submit(client.accounts)
        self._view: ListedCerebrum | None = None

    def view(self) -> ListedCerebrum:
        """Cerebrum as its account list (read once, from the start) answers it."""
        if self._view is None:
            self._view = ListedCerebrum(self.client, self._listing.result())
        return self._view

    def decide(self, candidates: list[str]) -> Decided:
        return decide_all(self.view(), self._settings, candidates, self._pool)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class ProcessDecider:
    """The users decided in a spawned process; its calls are added to ``stats``, its log
    records are logged here (through this process's handlers, at this process's level)."""

    def __init__(self, config: CerebrumSettings, settings: ProvisioningSettings, stats: CallStats) -> None:
        self._stats = stats
        # spawn, not fork: the resync's process has threads (pools, an API server, a worker)
        context = multiprocessing.get_context("spawn")
        self._log_records: Any = context.Queue()
        self._relay = logging.handlers.QueueListener(self._log_records, _Relog())
        self._relay.start()
        self._pool = ProcessPoolExecutor(
            1,
            mp_context=context,
            initializer=_child_start,
            initargs=(config, settings, self._log_records, logging.getLogger().getEffectiveLevel()),
        )
        self._listing: Future[_Answer] | None = self._pool.submit(_in_child, _child_read_listing)

    def decide(self, candidates: list[str]) -> Decided:
        if self._listing is not None:  # its errors and counts arrive once
            listing, self._listing = self._listing, None
            self._result(listing)
        decided: Decided = self._result(self._pool.submit(_in_child, _child_decide, candidates))
        return decided

    def _result(self, future: Future[_Answer]) -> Any:
        try:
            answer = future.result()
        except BrokenProcessPool as exc:
            raise TransientError(f"the resync's users process ended before it answered ({exc})") from exc
        self._stats.absorb(answer.counts)
        if answer.error is not None:
            raise answer.error
        return answer.value

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._relay.stop()  # after the process ended: every record it sent is logged
        self._log_records.close()


class _Relog(logging.Handler):
    """Logs a record from the users process through the logger of its name here."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)


def start_decider(
    client: CerebrumClient,
    config: CerebrumSettings | None,
    settings: ProvisioningSettings,
) -> UserDecider:
    """A :class:`ProcessDecider` where one can run (see the module docstring), else a :class:`ThreadDecider`."""
    if config is not None and settings.resync.users_process and not multiprocessing.current_process().daemon:
        return ProcessDecider(config, settings, client.stats)
    return ThreadDecider(client, settings)


# ---------------------------------------------------------------------------- in the child


@dataclass
class _Answer:
    """What the child sends back: a value or an error, and the calls it made meanwhile."""

    value: Any = None
    error: Exception | None = None
    counts: dict[str, EndpointStats] = field(default_factory=dict)


_child: ThreadDecider | None = None  # the users process's own deciding, on its threads


def _child_start(
    config: CerebrumSettings, settings: ProvisioningSettings, log_records: Any, level: int
) -> None:
    global _child
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(log_records)]
    root.setLevel(level)
    _child = ThreadDecider(config.build(CallStats(hooks=[metrics.external_call_hook])), settings)


def _in_child(work: Callable[..., T], *args: Any) -> _Answer:
    assert _child is not None, "the users process was not started"
    answer = _Answer()
    try:
        answer.value = work(_child, *args)
    except Exception as exc:  # sent back and raised there, as if the call had been local
        answer.error = _portable(exc)
    answer.counts = _child.client.stats.take()
    return answer


def _portable(exc: Exception) -> Exception:
    """``exc``, or a plain error with its text if it would not arrive whole in the other process."""
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes, just made
    except Exception:
        return CanvasbridgeError(f"{type(exc).__name__}: {exc}")
    return exc


def _child_read_listing(child: ThreadDecider) -> int:
    return len(child.view())


def _child_decide(child: ThreadDecider, candidates: list[str]) -> Decided:
    log.info("deciding %d users in process %d", len(candidates), os.getpid())
    return child.decide(candidates)
