"""The ``live_events`` configuration section, validated (errors name the key).

Everything Salesforce-specific is a name in :class:`SalesforceSchema`, defaulting to the
original Ambition org (the object really is ``Canvas_Activitiy__c``). Names are checked
against a strict pattern because they end up in SOQL; values never do (see rules.py).

Example::

    live_events:
      timezone: Europe/London
      enable: [asset_accessed]
      salesforce: {event_id_field: Caliper_Event_Id__c}
      writer: {batch_size: 200, flush_window_s: 1.0}
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from canvasbridge.live_events.handlers import HANDLERS

_FIELD_PATH = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


def _check_path(value: str) -> str:
    if not _FIELD_PATH.fullmatch(value):
        raise ValueError(f"{value!r} is not a Salesforce API name or dotted relationship path")
    return value


class SalesforceSchema(BaseModel):
    """Object and field API names (dotted paths follow relationships)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    activity_object: str = "Canvas_Activitiy__c"
    activity_field: str = "Canvas_Activity__c"
    detail_field: str = "Canvas_Activity_Detail__c"
    date_field: str = "Date__c"
    time_field: str = "Time__c"
    participant_field: str = "Programme_Participant__c"
    # An External ID (unique) text field holding "<event uuid>/<participant id>": a redelivered
    # event finds its records and creates no duplicate. None: only an in-process seen-set.
    event_id_field: str | None = "Caliper_Event_Id__c"
    # The field's length (≥ 64: a digest key takes 58): a longer key is stored as a digest (keys.py).
    event_id_length: int = Field(default=80, ge=64, le=255)

    participant_object: str = "Programme_Participant__c"
    participant_uid_field: str = "Participant_UID__c"
    participant_name_field: str = "ParticipantName__c"
    programme_start_path: str = "Programme__r.LMS_Start_Date__c"
    programme_end_path: str = "Programme__r.LMS_End_Date__c"
    programme_course_path: str = "Programme__r.LMS_Course_Id__c"

    attendee_object: str = "Attendees__c"
    attendee_uid_path: str = "Contact__r.Participant_UID__c"
    attendee_event_name_path: str = "FLIP_Event__r.Event_Name__c"
    attendee_start_path: str = "FLIP_Event__r.Cohort_lkp__r.LMS_Start_Date__c"
    attendee_end_path: str = "FLIP_Event__r.Cohort_lkp__r.LMS_End_Date__c"
    attendee_attended_field: str = "Event_Attended__c"
    attendee_require_true: list[str] = Field(default_factory=lambda: ["FLIP_Event__r.Send_to_LMS__c"])
    attendee_require_not_null: list[str] = Field(default_factory=lambda: ["Contact__r.Email"])

    @field_validator("*", mode="after")
    @classmethod
    def _names(cls, value: object) -> object:
        if isinstance(value, str):
            return _check_path(value)
        if isinstance(value, list):
            return [_check_path(item) for item in value]
        return value


class CacheSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    directory_refresh_s: float = Field(default=300.0, gt=0)  # programme/attendee bulk reload interval
    canvas_ttl_s: float = Field(default=3600.0, gt=0)  # how long a Canvas name or SIS id is trusted
    canvas_max_entries: int = Field(default=100_000, ge=100)


class WriterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(default=200, ge=1, le=200)  # sObject Collections take at most 200 records
    flush_window_s: float = Field(default=1.0, gt=0, le=60)  # longest a record waits for a full batch
    seen_ids_max: int = Field(default=200_000, ge=0)  # in-process memory of written records


class LiveEventsSettings(BaseModel):
    """The ``live_events`` section."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = "Europe/London"  # "today" for programme windows, and the detail's date
    enable: list[str] = Field(default_factory=list)  # handlers off by default to turn on
    disable: list[str] = Field(default_factory=list)  # handlers to turn off
    fetch_scores: bool = False  # one uncached Canvas call per quiz/submission event when on
    salesforce: SalesforceSchema = Field(default_factory=SalesforceSchema)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    writer: WriterSettings = Field(default_factory=WriterSettings)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("enable", "disable")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - HANDLERS.keys())
        if unknown:
            raise ValueError(f"no handler for {unknown}; handlers exist for {sorted(HANDLERS)}")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def handled(self, event_name: str) -> bool:
        spec = HANDLERS.get(event_name)
        if spec is None or event_name in self.disable:
            return False
        return spec.enabled or event_name in self.enable
