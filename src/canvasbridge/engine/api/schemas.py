"""Request and response bodies of the admin API (they make up its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from canvasbridge.engine.ledger import AttemptRecord, CallRecord, CallState, ParkedRecord

from . import operations as ops

MAX_BODY_PREVIEW = 4096  # characters of a parked message's body shown


class FieldError(BaseModel):
    field: str = Field(description="the offending parameter, e.g. 'state' or 'since'")
    location: str = Field(description="where it was sent: query, path, header or body")
    message: str


class ErrorBody(BaseModel):
    """Every error answer has this shape."""

    error: str = Field(description="a stable code: unauthorized, forbidden, not_found, invalid, conflict, …")
    message: str
    fields: list[FieldError] = Field(default_factory=list)


class Origin(BaseModel):
    source: str | None
    message_id: str | None
    routing_key: str | None


class TaskSummary(BaseModel):
    id: int
    task: str
    params: dict[str, Any]
    state: CallState
    attempts: int
    folded: int = Field(description="identical calls folded into this one while it was pending")
    correlation_id: str | None
    origin: Origin
    requeued_from: int | None
    requeued_to: int | None = Field(
        description="once requeued (state requeued): the call that took over, new or folded into"
    )
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime | None

    @classmethod
    def of(cls, record: CallRecord) -> TaskSummary:
        return cls(
            id=record.id,
            task=record.task,
            params=record.params,
            state=record.state,
            attempts=record.attempts,
            folded=record.folded,
            correlation_id=record.correlation_id,
            origin=Origin(
                source=record.origin_source,
                message_id=record.origin_message_id,
                routing_key=record.origin_routing_key,
            ),
            requeued_from=record.requeued_from,
            requeued_to=record.requeued_to,
            last_error=record.last_error,
            created_at=record.created_at,
            updated_at=record.updated_at,
            started_at=record.started_at,
            finished_at=record.finished_at,
            next_attempt_at=record.next_attempt_at,
        )


class Attempt(BaseModel):
    number: int
    outcome: str = Field(description="retry, dead or lost (its worker never finished it)")
    error: str | None
    traceback: str | None
    started_at: datetime | None
    finished_at: datetime

    @classmethod
    def of(cls, record: AttemptRecord) -> Attempt:
        return cls(
            number=record.number,
            outcome=record.outcome,
            error=record.error,
            traceback=record.traceback,
            started_at=record.started_at,
            finished_at=record.finished_at,
        )


class TaskDetail(TaskSummary):
    result: Any = Field(default=None, description="the task's JSON summary when it succeeded")
    last_traceback: str | None
    origin_message: dict[str, Any] | None = Field(
        description="the source message that produced this call (body truncated)"
    )
    attempt_log: list[Attempt]

    @classmethod
    def of_detail(cls, detail: ops.CallDetail) -> TaskDetail:
        summary = TaskSummary.of(detail.record).model_dump()
        return cls(
            **summary,
            result=detail.record.result,
            last_traceback=detail.record.last_traceback,
            origin_message=detail.record.origin_message,
            attempt_log=[Attempt.of(a) for a in detail.attempts],
        )


class TaskPage(BaseModel):
    items: list[TaskSummary]
    total: int = Field(description="calls matching the filter, over all pages")
    limit: int
    offset: int


class RequeueResult(BaseModel):
    requeued_from: int
    id: int = Field(description="the new call")
    folded: bool = Field(description="true when an identical pending call absorbed it")


class BulkRequeueResult(BaseModel):
    dry_run: bool
    matched: int = Field(description="requeueable calls the filter selects")
    already_requeued: int = Field(description="matching calls left out because they were requeued before")
    requeued: list[RequeueResult]
    failed: dict[str, str] = Field(description="call id → why it was not requeued")
    not_attempted: int

    @classmethod
    def of(cls, outcome: ops.BulkRequeue) -> BulkRequeueResult:
        return cls(
            dry_run=outcome.dry_run,
            matched=outcome.matched,
            already_requeued=outcome.already_requeued,
            requeued=[
                RequeueResult(requeued_from=r.requeued_from, id=r.id, folded=r.folded)
                for r in outcome.requeued
            ],
            failed={str(k): v for k, v in outcome.failed.items()},
            not_attempted=outcome.not_attempted,
        )


class SyncResult(BaseModel):
    kind: str
    key: str
    task: str
    id: int = Field(description="the queued call (or the pending one it was folded into)")
    folded: bool


class SyncKind(BaseModel):
    kind: str
    task: str
    key_param: str


class Match(BaseModel):
    routing_key: str | None
    attributes: dict[str, str]


class RouteEntry(BaseModel):
    order: int = Field(description="routes are tried in this order; the first match wins")
    name: str
    source: str
    match: Match
    parser: str


class RoutingTable(BaseModel):
    routes: list[RouteEntry]
    unmatched_default: str
    unmatched_by_source: dict[str, str]

    @classmethod
    def of(cls, table: ops.RoutingTable) -> RoutingTable:
        return cls(
            routes=[
                RouteEntry(
                    order=index,
                    name=spec.name,
                    source=spec.source,
                    match=Match(routing_key=spec.match.routing_key, attributes=dict(spec.match.attributes)),
                    parser=spec.parser,
                )
                for index, spec in enumerate(table.routes)
            ],
            unmatched_default=table.unmatched.default.value,
            unmatched_by_source={k: v.value for k, v in table.unmatched.sources.items()},
        )


class FreshnessEntry(BaseModel):
    task: str
    last_success_at: datetime | None
    seconds_since: float | None


class StatsBody(BaseModel):
    by_state: dict[str, int]
    by_task: dict[str, dict[str, int]]
    folded: int
    parked: int
    oldest_pending_at: datetime | None
    oldest_pending_age_s: float | None
    queue_depth: int | None = Field(description="messages waiting on the broker, when it can tell cheaply")
    freshness: list[FreshnessEntry]

    @classmethod
    def of(cls, stats: ops.Stats) -> StatsBody:
        return cls(
            by_state=stats.by_state,
            by_task=stats.by_task,
            folded=stats.folded,
            parked=stats.parked,
            oldest_pending_at=stats.oldest_pending_at,
            oldest_pending_age_s=stats.oldest_pending_age_s,
            queue_depth=stats.queue_depth,
            freshness=[
                FreshnessEntry(task=f.task, last_success_at=f.last_success_at, seconds_since=f.seconds_since)
                for f in stats.freshness
            ],
        )


class ParkedMessage(BaseModel):
    id: int
    source: str
    message_id: str
    routing_key: str | None
    attributes: dict[str, str]
    route: str | None
    reason: str
    body: str = Field(description="the body as text (invalid UTF-8 replaced), truncated")
    body_bytes: int
    created_at: datetime

    @classmethod
    def of(cls, record: ParkedRecord) -> ParkedMessage:
        return cls(
            id=record.id,
            source=record.source,
            message_id=record.message_id,
            routing_key=record.routing_key,
            attributes=record.attributes,
            route=record.route,
            reason=record.reason,
            body=record.body.decode("utf-8", errors="replace")[:MAX_BODY_PREVIEW],
            body_bytes=len(record.body),
            created_at=record.created_at,
        )


class ParkedRequeueResult(BaseModel):
    id: int = Field(description="the parked message dispatched again; it is no longer parked under this id")
    outcome: str = Field(
        description="queued (calls queued), nothing (the parser asked for no work), "
        "unmatched (no route, acknowledged by policy) or parked (parked again)"
    )
    calls: list[int] = Field(description="the task calls it queued (or folded into)")
    parked_again_as: int | None = Field(description="the new id when it was parked again")
    reason: str | None = Field(description="why it was parked again, or left unmatched")


class ParkedPage(BaseModel):
    items: list[ParkedMessage]
    total: int
    limit: int
    offset: int


class Check(BaseModel):
    name: str
    ok: bool
    seconds: float
    detail: str | None = Field(description="shown only to callers with a valid token")


class Readiness(BaseModel):
    status: str = Field(description="ready or unready")
    checks: list[Check]


class Liveness(BaseModel):
    status: str
