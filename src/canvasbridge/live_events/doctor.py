"""What ``canvasbridge doctor`` checks for Live Events: the Salesforce login, that the org's
objects have every field the records are written with and read by (the External ID field
included), and, when configured, that the Canvas token is accepted."""

from __future__ import annotations

from collections.abc import Mapping

from canvasbridge.clients import checks
from canvasbridge.clients.canvas import CanvasSettings
from canvasbridge.clients.salesforce import SalesforceSettings
from canvasbridge.engine import DoctorCheck, DoctorInput
from canvasbridge.live_events.settings import LiveEventsSettings, SalesforceSchema


def doctor_checks(given: DoctorInput) -> Mapping[str, DoctorCheck]:
    settings = given.settings["live_events"]
    assert isinstance(settings, LiveEventsSettings)
    found: dict[str, DoctorCheck] = {}
    salesforce = given.systems.get("salesforce")
    if isinstance(salesforce, SalesforceSettings):
        probe = checks.SalesforceProbe(salesforce, "salesforce", given.timeout_s)
        schema = settings.salesforce
        external = {schema.activity_object: schema.event_id_field} if schema.event_id_field else {}
        found["salesforce login"] = probe.login
        needs = needed_fields(schema)
        creates = {schema.activity_object: needs[schema.activity_object]}
        updates = {schema.attendee_object: [schema.attendee_attended_field]}
        found["salesforce fields"] = lambda: probe.fields(needs, external, creates=creates, updates=updates)
    canvas = given.systems.get("canvas")
    if isinstance(canvas, CanvasSettings):
        found["canvas"] = lambda: checks.canvas_admin(
            canvas, entry="canvas", timeout_s=given.timeout_s, root=False
        )
    return found


def needed_fields(schema: SalesforceSchema) -> dict[str, list[str]]:
    """``object → [field or relationship path]`` the writer and the lookups use."""
    activity = [schema.activity_field, schema.detail_field, schema.date_field, schema.time_field]
    activity += [schema.participant_field, *([schema.event_id_field] if schema.event_id_field else [])]
    return {
        schema.activity_object: activity,
        schema.participant_object: [
            schema.participant_uid_field,
            schema.participant_name_field,
            schema.programme_start_path,
            schema.programme_end_path,
            schema.programme_course_path,
        ],
        schema.attendee_object: [
            schema.attendee_uid_path,
            schema.attendee_event_name_path,
            schema.attendee_start_path,
            schema.attendee_end_path,
            schema.attendee_attended_field,
            *schema.attendee_require_true,
            *schema.attendee_require_not_null,
        ],
    }
