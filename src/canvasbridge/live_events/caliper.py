"""The Caliper 1.1 envelope Canvas puts in each SQS message body, validated.

``parse_envelope(body)`` accepts the envelope (``{"sensor", "sendTime", "dataVersion",
"data": [event, ...]}``), and, for replaying old samples, a bare list of events or one
event. It returns the events or raises :class:`CaliperError` (a ``MessageError``, so the
engine parks the message) whose text names the field that is wrong, e.g.
``data[0].actor.id: Field required``.

Only what the flow reads is declared; every other key is kept (``extra="allow"``), because
Canvas adds fields over time and a new field must never break the consumer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from canvasbridge.errors import MessageError
from canvasbridge.live_events.urns import CanvasUrn, local_id, try_parse_urn

CANVAS_EXTENSION = "com.instructure.canvas"
CALIPER_V1P1 = "http://purl.imsglobal.org/ctx/caliper/v1p1"


class CaliperError(MessageError):
    """The message body is not a Caliper envelope we can read; the text says why."""


def _check_extensions(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must be an object")
    canvas = value.get(CANVAS_EXTENSION)
    if canvas is not None and not isinstance(canvas, dict):
        raise ValueError(f"'{CANVAS_EXTENSION}' must be an object")
    return value


class Entity(BaseModel):
    """A Caliper entity (actor, object, group, membership...), with Canvas's extension."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    name: str | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)
    assignable: Entity | None = None
    assignee: Entity | None = None
    is_part_of: Entity | None = Field(default=None, alias="isPartOf")
    member: Entity | None = None
    organization: Entity | None = None

    _extensions = field_validator("extensions", mode="before")(_check_extensions)

    @property
    def canvas(self) -> dict[str, Any]:
        """``extensions["com.instructure.canvas"]`` (empty when absent)."""
        return self.extensions.get(CANVAS_EXTENSION) or {}

    @property
    def urn(self) -> CanvasUrn | None:
        """The parsed ``id`` when it is a Canvas URN (``None`` for e.g. a host URL)."""
        return try_parse_urn(self.id)

    @property
    def local_id(self) -> str | None:
        """Local Canvas id of this entity, from the URN or ``entity_id``."""
        urn = self.urn
        if urn is not None:
            return urn.local_id
        entity_id = self.canvas.get("entity_id")
        return local_id(entity_id) if entity_id not in (None, "") else None


class CaliperEvent(BaseModel):
    """One Caliper event (``data[i]``)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    context: str | None = Field(default=None, alias="@context")
    id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    actor: Entity
    action: str = Field(min_length=1)
    object: Entity
    event_time: datetime = Field(alias="eventTime")
    referrer: str | None = None
    ed_app: Entity | None = Field(default=None, alias="edApp")
    group: Entity | None = None
    membership: Entity | None = None
    session: Entity | None = None
    generated: dict[str, Any] | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)

    _extensions = field_validator("extensions", mode="before")(_check_extensions)

    @field_validator("event_time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    @property
    def canvas(self) -> dict[str, Any]:
        """Event-level ``extensions["com.instructure.canvas"]`` (request_url, hostname...)."""
        return self.extensions.get(CANVAS_EXTENSION) or {}

    @property
    def event_uuid(self) -> str:
        """The event id without its ``urn:uuid:`` prefix (the idempotency key)."""
        return self.id.removeprefix("urn:uuid:")

    def describe(self) -> dict[str, Any]:
        """What a person needs to add a mapping: type, action, object type, id segment, keys."""
        urn = self.object.urn
        return {
            "event_id": self.id,
            "type": self.type,
            "action": self.action,
            "object_type": self.object.type,
            "id_segment": urn.kind if urn else None,
            "object_extension_keys": sorted(self.object.canvas),
            "group_type": self.group.type if self.group else None,
        }


class CaliperEnvelope(BaseModel):
    """The SQS body: a Caliper envelope holding one or more events."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    sensor: str | None = None
    send_time: datetime | None = Field(default=None, alias="sendTime")
    data_version: str | None = Field(default=None, alias="dataVersion")
    data: list[CaliperEvent] = Field(min_length=1)


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def _explain(exc: ValidationError, limit: int = 5) -> str:
    problems = [f"{_location(err['loc'])}: {err['msg']}" for err in exc.errors()[:limit]]
    more = exc.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def parse_envelope(body: bytes | str | Any) -> list[CaliperEvent]:
    """The events in one message body; :class:`CaliperError` naming what is wrong."""
    if isinstance(body, bytes | bytearray):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CaliperError(f"body is not valid UTF-8 (byte {exc.start})") from exc
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except json.JSONDecodeError as exc:
            raise CaliperError(
                f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from exc
    if isinstance(body, list):
        body = {"data": body}
    elif isinstance(body, dict) and "data" not in body:
        if "metadata" in body and "body" in body:
            raise CaliperError(
                "body is in Canvas's raw live-event format (metadata/body), not Caliper; "
                "set the Canvas Data Services subscription to 'Caliper IMS'"
            )
        if "actor" in body and "action" in body:
            body = {"data": [body]}
    if not isinstance(body, dict):
        raise CaliperError(f"body must be a JSON object (a Caliper envelope), got {type(body).__name__}")
    try:
        envelope = CaliperEnvelope.model_validate(body)
    except ValidationError as exc:
        raise CaliperError(f"not a valid Caliper envelope: {_explain(exc)}") from exc
    return envelope.data
