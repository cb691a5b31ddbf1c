"""Batched, idempotent writes of planned activity records to Salesforce.

:class:`ActivityWriter` buffers records and attendee updates and sends them as sObject
Collections of up to ``batch_size`` (≤ 200) records: one API call per batch instead of
one per record. It flushes when a batch is full, or when the oldest record has waited
``flush_window_s`` (background mode, for engine workers), or when asked (``flush()``; the
Lambda handler calls it once per SQS batch).

Each :meth:`submit` returns a :class:`Ticket` that resolves when every record and attendee
update of that event is written or failed; a caller acknowledges its message only then.

Idempotency (a redelivered event creates no duplicate), in three layers:

1. every record carries a key, ``<caliper event uuid>/<participant id>``, stored in the
   External ID field ``event_id_field``;
2. keys written by this process are remembered (a bounded seen-set) and skipped;
3. for events that may have been written before (the source says it is a redelivery, or a
   task retry), one query per batch asks Salesforce which keys already exist, and those are
   skipped. A ``DUPLICATE_VALUE`` answer (the field is unique) also counts as written.

Every key is checked, whatever characters it holds: keys are SOQL-quoted, never pasted, and
compared exactly (SOQL ``=`` ignores case, so a key differing only in case is not a match).
A query goes by GET, so a batch whose keys would make the URL too long is asked in several
queries (uuid keys: one per batch of 200).

So a first delivery costs one call per ≤ 200 records, and a redelivery at most one more.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote_plus

from canvasbridge.clients.salesforce import soql
from canvasbridge.errors import PermanentError, TransientError
from canvasbridge.live_events.rules import PlannedRecord, RecordPlan
from canvasbridge.live_events.settings import SalesforceSchema, WriterSettings

log = logging.getLogger(__name__)

ALREADY_WRITTEN = frozenset({"DUPLICATE_VALUE", "DUPLICATE_EXTERNAL_ID"})
# URL-encoded SOQL per existence query: Salesforce refuses a URI over 16,384 bytes (414).
MAX_QUERY_URL_BYTES = 14_000


class SalesforceWrites(Protocol):
    """The part of ``SalesforceClient`` the writer uses."""

    def query_all(self, soql: str) -> Any: ...
    def create_many(self, sobject: str, records: list[dict[str, Any]]) -> Any: ...
    def update_many(self, sobject: str, records: list[dict[str, Any]]) -> Any: ...


class Ticket:
    """Completion of one event's writes; :meth:`wait` raises the first failure."""

    def __init__(self, token: Any = None) -> None:
        self.token = token
        self._open = 0
        self._errors: list[Exception] = []
        self._done = threading.Event()
        self._lock = threading.Lock()
        self.written = 0
        self.skipped_as_duplicate = 0
        self.attendees_marked = 0

    def _expect(self, count: int) -> None:
        with self._lock:
            self._open += count
        if count == 0:
            self._check()

    def _resolve(
        self, error: Exception | None = None, *, duplicate: bool = False, attendee: bool = False
    ) -> None:
        with self._lock:
            self._open -= 1
            if error is not None:
                self._errors.append(error)
            elif attendee:
                self.attendees_marked += 1
            elif duplicate:
                self.skipped_as_duplicate += 1
            else:
                self.written += 1
        self._check()

    def _check(self) -> None:
        with self._lock:
            if self._open <= 0:
                self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def error(self) -> Exception | None:
        return self._errors[0] if self._errors else None

    def wait(self, timeout: float | None = None) -> None:
        if not self._done.wait(timeout):
            raise TransientError(f"Salesforce write not confirmed within {timeout} s")
        if self._errors:
            raise self._errors[0]


@dataclass
class _Pending:
    record: PlannedRecord
    ticket: Ticket
    maybe_written: bool
    since: float


@dataclass
class WriterStats:
    calls: int = 0  # Salesforce API calls made by the writer
    created: int = 0
    duplicates: int = 0
    failed: int = 0
    attendees_marked: int = 0
    by_call: dict[str, int] = field(default_factory=dict)


def _chunks(literals: list[str], fixed_bytes: int) -> Iterator[list[str]]:
    """``literals`` in runs whose URL-encoded IN list keeps the query URL under the limit."""
    run: list[str] = []
    size = fixed_bytes
    for literal in literals:
        cost = len(quote_plus(literal)) + 3  # with the encoded comma
        if run and size + cost > MAX_QUERY_URL_BYTES:
            yield run
            run, size = [], fixed_bytes
        run.append(literal)
        size += cost
    if run:
        yield run


def _result_fields(result: Any) -> tuple[bool, list[str], str]:
    """(success, error codes, message) of one Collections result, dict or object."""
    get = (
        result.get if isinstance(result, dict) else (lambda key, default=None: getattr(result, key, default))
    )
    success = bool(get("success", False))
    errors = get("errors", None) or []
    codes, messages = [], []
    for err in errors:
        err_get = (
            err.get if isinstance(err, dict) else (lambda key, default=None, e=err: getattr(e, key, default))
        )
        codes.append(str(err_get("statusCode", None) or err_get("errorCode", None) or "UNKNOWN"))
        messages.append(str(err_get("message", "")))
    return success, codes, "; ".join(messages)


class ActivityWriter:
    """Buffers planned records and attendee updates; writes them in sObject Collections."""

    def __init__(
        self,
        salesforce: SalesforceWrites,
        schema: SalesforceSchema,
        settings: WriterSettings | None = None,
        *,
        on_attended: Callable[[Iterable[str]], None] | None = None,
        quote: Callable[[str], str] = soql.quote,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sf = salesforce
        self._schema = schema
        self._settings = settings or WriterSettings()
        self._on_attended = on_attended
        self._quote = quote
        self._clock = clock
        self._lock = threading.Condition()
        self._flush_lock = threading.Lock()
        self._records: list[_Pending] = []
        self._attendees: list[tuple[str, Ticket]] = []
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.stats = WriterStats()

    # -- submitting -------------------------------------------------------------------
    def submit(self, plan: RecordPlan, *, maybe_written: bool = False, token: Any = None) -> Ticket:
        """Queue one event's records and attendee updates; the ticket resolves when written."""
        ticket = Ticket(token)
        ticket._expect(len(plan.records) + len(plan.attendee_ids))
        now = self._clock()
        with self._lock:
            self._records.extend(_Pending(record, ticket, maybe_written, now) for record in plan.records)
            self._attendees.extend((attendee_id, ticket) for attendee_id in plan.attendee_ids)
            full = (
                len(self._records) >= self._settings.batch_size
                or len(self._attendees) >= self._settings.batch_size
            )
            if full and self._thread is not None:
                self._lock.notify_all()
        if full and self._thread is None:
            self.flush()
        return ticket

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._records) + len(self._attendees)

    # -- background mode -------------------------------------------------------------
    def start(self) -> ActivityWriter:
        """Flush in a background thread (by size, or after ``flush_window_s``)."""
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="activity-writer", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        thread = self._thread
        if thread is not None:
            with self._lock:
                self._stopping = True
                self._lock.notify_all()
            thread.join(timeout=30)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        window = self._settings.flush_window_s
        while True:
            with self._lock:
                while not self._stopping:
                    size = max(len(self._records), len(self._attendees))
                    oldest = self._records[0].since if self._records else None
                    if size >= self._settings.batch_size:
                        break
                    if oldest is not None and self._clock() - oldest >= window:
                        break
                    if self._attendees and not self._records:
                        break
                    wait = window if oldest is None else max(0.005, window - (self._clock() - oldest))
                    self._lock.wait(wait)
                if self._stopping:
                    return
            try:
                self.flush()
            except Exception:  # pragma: no cover - flush resolves tickets itself
                log.exception("activity writer flush failed")

    # -- flushing --------------------------------------------------------------------
    def flush(self) -> int:
        """Write everything pending now, in batches; returns the number of API calls made."""
        before = self.stats.calls
        with self._flush_lock:
            while True:
                with self._lock:
                    size = self._settings.batch_size
                    records, self._records = self._records[:size], self._records[size:]
                    attendees, self._attendees = self._attendees[:size], self._attendees[size:]
                if not records and not attendees:
                    break
                if records:
                    self._write_records(records)
                if attendees:
                    self._mark_attendees(attendees)
        return self.stats.calls - before

    def _call(self, name: str, func: Callable[..., Any], *args: Any) -> Any:
        self.stats.calls += 1
        self.stats.by_call[name] = self.stats.by_call.get(name, 0) + 1
        return func(*args)

    def _remember(self, key: str) -> None:
        if self._settings.seen_ids_max <= 0:
            return
        self._seen[key] = None
        self._seen.move_to_end(key)
        while len(self._seen) > self._settings.seen_ids_max:
            self._seen.popitem(last=False)

    def existing_keys(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` Salesforce already holds (one query per URL-sized run); writes nothing."""
        return set(keys) & self._existing(keys)  # exact: SOQL's = ignores case

    def _existing(self, keys: list[str]) -> set[str]:
        field_name = self._schema.event_id_field
        if not field_name or not keys:
            return set()
        head = f"SELECT {field_name} FROM {self._schema.activity_object} WHERE {field_name} IN ("  # noqa: S608 (names validated)
        found: set[str] = set()
        for literals in _chunks([self._quote(key) for key in keys], len(quote_plus(head)) + 3):
            result = self._call("query", self._sf.query_all, head + ",".join(literals) + ")")
            rows = result.get("records", []) if isinstance(result, dict) else result
            found.update(str(row.get(field_name)) for row in rows if isinstance(row, dict))
        return found

    def _write_records(self, batch: list[_Pending]) -> None:
        fresh: list[_Pending] = []
        followers: dict[str, list[_Pending]] = {}
        for item in batch:
            key = item.record.key
            if key is not None and key in self._seen:
                self.stats.duplicates += 1
                item.ticket._resolve(duplicate=True)
            elif key is not None and key in followers:
                followers[key].append(item)
            else:
                followers[key or f"#{id(item)}"] = []
                fresh.append(item)
        maybe = [item.record.key for item in fresh if item.maybe_written and item.record.key]
        try:
            existing = self._existing(maybe) if maybe else set()
        except Exception as exc:
            self._fail(fresh, followers, exc)
            return
        to_create = []
        for item in fresh:
            if item.record.key in existing:  # exact match: SOQL's = ignored case
                self._done(item, followers, duplicate=True)
            else:
                to_create.append(item)
        if not to_create:
            return
        try:
            results = self._call(
                "create_many",
                self._sf.create_many,
                self._schema.activity_object,
                [dict(item.record.fields) for item in to_create],
            )
        except Exception as exc:
            self._fail(to_create, followers, exc)
            return
        results = list(results or [])
        for index, item in enumerate(to_create):
            if index >= len(results):
                self._done(
                    item, followers, error=TransientError("Salesforce returned fewer results than records")
                )
                continue
            success, codes, message = _result_fields(results[index])
            if success:
                self._done(item, followers)
            elif ALREADY_WRITTEN & set(codes):
                self._done(item, followers, duplicate=True)
            else:
                text = (
                    f"Salesforce refused {self._schema.activity_object} {item.record.key}: "
                    f"{', '.join(codes)} {message}".strip()
                )
                retryable = "UNABLE_TO_LOCK_ROW" in codes
                error: Exception = TransientError(text) if retryable else PermanentError(text)
                self._done(item, followers, error=error)

    def _fail(self, items: list[_Pending], followers: dict[str, list[_Pending]], exc: Exception) -> None:
        error = exc if isinstance(exc, TransientError | PermanentError) else TransientError(str(exc))
        log.warning("writing %d activity records failed: %s", len(items), exc)
        for item in items:
            self._done(item, followers, error=error)

    def _done(
        self,
        item: _Pending,
        followers: dict[str, list[_Pending]],
        *,
        error: Exception | None = None,
        duplicate: bool = False,
    ) -> None:
        group = [item, *followers.get(item.record.key or f"#{id(item)}", [])]
        for member in group:
            if error is None and member is item and item.record.key:
                self._remember(item.record.key)
            if error is not None:
                self.stats.failed += 1
            elif duplicate or member is not item:
                self.stats.duplicates += 1
            else:
                self.stats.created += 1
            member.ticket._resolve(error, duplicate=duplicate or member is not item)

    def _mark_attendees(self, batch: list[tuple[str, Ticket]]) -> None:
        unique = list(dict.fromkeys(attendee_id for attendee_id, _ in batch))
        field_name = self._schema.attendee_attended_field
        try:
            results = list(
                self._call(
                    "update_many",
                    self._sf.update_many,
                    self._schema.attendee_object,
                    [{"Id": attendee_id, field_name: True} for attendee_id in unique],
                )
                or []
            )
        except Exception as exc:
            error = exc if isinstance(exc, TransientError | PermanentError) else TransientError(str(exc))
            for _, ticket in batch:
                ticket._resolve(error, attendee=True)
            return
        outcome: dict[str, Exception | None] = {}
        for index, attendee_id in enumerate(unique):
            if index < len(results):
                success, codes, message = _result_fields(results[index])
                outcome[attendee_id] = (
                    None
                    if success
                    else PermanentError(
                        f"Salesforce refused to mark {attendee_id} attended: {', '.join(codes)} {message}".strip()
                    )
                )
            else:
                outcome[attendee_id] = TransientError("Salesforce returned fewer results than records")
        marked = [attendee_id for attendee_id, error in outcome.items() if error is None]
        self.stats.attendees_marked += len(marked)
        if marked and self._on_attended is not None:
            self._on_attended(marked)
        for attendee_id, ticket in batch:
            ticket._resolve(outcome[attendee_id], attendee=True)
