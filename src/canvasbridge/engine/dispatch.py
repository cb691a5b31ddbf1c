"""From one source message to durably queued task calls: route → parse → record → publish.

:class:`Dispatcher` is what every source calls for each message. It returns once the
message needs nothing more from the source — its calls are confirmed on the queue, or it
was parked with a reason, or it matched no route and the policy says acknowledge — so
the source may then ack or delete it. If it raises, nothing was made durable and the
source must leave the message for redelivery.

A message whose envelope fields the engine cannot carry (see :mod:`.admission`: an id too
long, a NUL, bytes that are not UTF-8) is parked before routing, on its first delivery.
A parser that raises, returns something that is not a list of :class:`TaskCall`, names a
task that is not configured, or gives parameters that are not JSON parks the message
with that reason; the source acks it and goes on with the next.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from canvasbridge.engine import admission, metrics
from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.config import UnmatchedConfig, UnmatchedPolicy
from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.ledger import Ledger, RecordedCall, Recording
from canvasbridge.engine.logging import correlation
from canvasbridge.engine.routing import Route, Router

log = logging.getLogger(__name__)


class DispatchOutcome(StrEnum):
    QUEUED = "queued"  # at least one call recorded and queued (or folded into a pending one)
    NOTHING = "nothing"  # the parser said no work is needed
    UNMATCHED = "unmatched"  # no route matched; acknowledged by policy
    PARKED = "parked"  # kept in the ledger with a reason


@dataclass(frozen=True)
class DispatchResult:
    outcome: DispatchOutcome
    calls: list[RecordedCall] = field(default_factory=list)
    reason: str = ""
    parked_id: int | None = None  # the parked message's id when the outcome is PARKED


Enqueue = Callable[[Sequence[Recording]], list[list[RecordedCall]]]


class Dispatcher:
    def __init__(
        self,
        router: Router,
        *,
        ledger: Callable[[], Ledger],
        enqueue: Enqueue,
        known_tasks: Callable[[str], bool],
        unmatched: UnmatchedConfig,
    ) -> None:
        self.router = router
        self._ledger = ledger
        self._enqueue = enqueue
        self._known_tasks = known_tasks
        self._unmatched = unmatched

    def __call__(self, envelope: Envelope) -> DispatchResult:
        return self.dispatch_many([envelope])[0]

    def dispatch_many(self, envelopes: Sequence[Envelope]) -> list[DispatchResult]:
        """Dispatch a batch: each message routed and parsed on its own (a bad one is parked
        alone), the calls of all of them recorded and published together. Raises if that
        fails, and then none of the batch's calls is queued: the source redelivers them all."""
        results: list[DispatchResult] = []
        wanted: list[tuple[int, Route, Envelope, list[TaskCall]]] = []
        for envelope in envelopes:
            with correlation(admission.safe_text(envelope.message_id)):
                result, route, calls = self._route_and_parse(envelope)
            if route is not None and calls:
                wanted.append((len(results), route, envelope, calls))
            results.append(result)
        if not wanted:
            return results
        recorded = self._enqueue([Recording(calls, envelope) for _, _, envelope, calls in wanted])
        for (index, route, envelope, _), queued in zip(wanted, recorded, strict=True):
            with correlation(envelope.message_id):  # admitted: printable
                log.info(
                    "route %s queued %s",
                    route.name,
                    ", ".join(f"{c.task}#{c.id}{' (folded)' if c.folded else ''}" for c in queued),
                )
            results[index] = DispatchResult(DispatchOutcome.QUEUED, queued)
        return results

    def _route_and_parse(self, envelope: Envelope) -> tuple[DispatchResult, Route | None, list[TaskCall]]:
        """The message's outcome unless it has calls to queue, its route, and its calls."""
        metrics.MESSAGES_RECEIVED.labels(envelope.source).inc()
        refused = admission.problems(envelope)
        if refused:
            reason = "the message's envelope cannot be handled: " + "; ".join(refused)
            return self._park(envelope, reason, route=None, cause="envelope"), None, []
        route = self.router.match(envelope)
        if route is None:
            return self._unmatched_message(envelope), None, []
        metrics.MESSAGES_ROUTED.labels(envelope.source, route.name).inc()
        try:
            calls = self._parse(route, envelope)
        except Exception as exc:  # a bad message must never stop the consumer
            reason = f"parser {route.parser_path} rejected the message: {type(exc).__name__}: {exc}"
            return self._park(envelope, reason, route=route.name, cause="parse"), route, []
        if not calls:
            log.debug("route %s: parser asked for no work", route.name)
        return DispatchResult(DispatchOutcome.NOTHING), route, calls

    def _parse(self, route: Route, envelope: Envelope) -> list[TaskCall]:
        produced = route.parse(envelope)
        if produced is None:
            return []
        if isinstance(produced, TaskCall):
            produced = [produced]
        calls = list(produced)
        for call in calls:
            if not isinstance(call, TaskCall):
                raise TypeError(f"parser returned {type(call).__name__}, expected TaskCall")
            if not self._known_tasks(call.task):
                raise LookupError(f"parser asked for task {call.task!r}, which is not configured")
            try:
                call.canonical_params()
            except (TypeError, ValueError) as exc:
                raise TypeError(f"parameters of {call.task!r} are not JSON-serialisable: {exc}") from exc
        return calls

    def _unmatched_message(self, envelope: Envelope) -> DispatchResult:
        metrics.MESSAGES_UNMATCHED.labels(envelope.source).inc()
        reason = f"no route matched (routing key {envelope.routing_key!r}, attributes {sorted(envelope.attributes)})"
        if self._unmatched.policy_for(envelope.source) is UnmatchedPolicy.ACK:
            log.info("acknowledged unmatched message: %s", reason)
            return DispatchResult(DispatchOutcome.UNMATCHED, reason=reason)
        return self._park(envelope, reason, route=None, cause="unmatched")

    def _park(self, envelope: Envelope, reason: str, *, route: str | None, cause: str) -> DispatchResult:
        parked_id = self._ledger().park(envelope, reason=reason, route=route)
        metrics.MESSAGES_PARKED.labels(envelope.source, route or "-", cause).inc()
        log.warning("parked message as #%d: %s", parked_id, reason)
        return DispatchResult(DispatchOutcome.PARKED, reason=reason, parked_id=parked_id)
