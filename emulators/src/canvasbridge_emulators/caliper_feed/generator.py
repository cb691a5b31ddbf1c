"""Deterministic Canvas Live Events (Caliper 1.1) for the activity in an :class:`ActivityDataset`.

    gen = LiveEventGenerator(dataset, seed=1)
    for event in gen.events(100):           # a weighted mix, like a real day
        event.name, event.body, event.attributes, event.facts
    gen.one("quiz_submitted")               # one event of a given name
    gen.every_event()                       # one of each of the 32 events
    gen.variants()                          # every documented variant (asset types, SessionEvent/Event, ...)

``facts`` tells a test what the event is about in local Canvas ids (``user_id``,
``user_sis_id``, ``course_id``, ``quiz_id``, ``assignment_id``, ``submission_id``,
``topic_id``, ``item_name``, ``participant``, ``score``), so expected Salesforce effects can be
computed without parsing the envelope.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from canvasbridge_emulators.caliper_feed.caliper import (
    ASSET_TYPES,
    BUILDERS,
    EVENT_NAMES,
    Context,
    Person,
    Site,
    envelope,
)
from canvasbridge_emulators.university.activity import ActivityDataset, CanvasCourse, CanvasUser, CourseItem

# A day of Canvas activity: navigation dominates, then logins and submissions.
DEFAULT_MIX: dict[str, float] = {
    "asset_accessed": 40,
    "logged_in": 8,
    "logged_out": 4,
    "quiz_submitted": 7,
    "submission_created": 7,
    "submission_updated": 4,
    "grade_change": 5,
    "discussion_entry_created": 4,
    "discussion_topic_created": 1,
    "wiki_page_updated": 1,
    "enrollment_state_updated": 1,
    "enrollment_updated": 1,
}
RARE_WEIGHT = 0.4  # every other event

LEARNER_EVENTS = frozenset(
    {
        "quiz_submitted",
        "submission_created",
        "discussion_entry_created",
        "asset_accessed",
        "logged_in",
        "logged_out",
    }
)
ITEM_KIND = {
    "quiz_submitted": "quiz",
    "quiz_created": "quiz",
    "quiz_updated": "quiz",
    "submission_created": "assignment",
    "submission_updated": "assignment",
    "grade_change": "assignment",
    "assignment_created": "assignment",
    "assignment_updated": "assignment",
    "assignment_override_created": "assignment",
    "assignment_override_updated": "assignment",
    "discussion_entry_created": "discussion_topic",
    "discussion_topic_created": "discussion_topic",
    "wiki_page_created": "wiki_page",
    "wiki_page_updated": "wiki_page",
    "wiki_page_deleted": "wiki_page",
}
FIRST_GENERATED_ID = 5000  # submissions, entries, groups... get ids from here up
ENTRY_MESSAGE = "<p>Thank you, this was useful for my setting.</p>"


@dataclass
class GeneratedEvent:
    name: str
    body: dict[str, Any]
    attributes: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def json(self) -> str:
        return json.dumps(self.body, separators=(",", ":"))

    @property
    def event(self) -> dict[str, Any]:
        return dict(self.body["data"][0])

    def sqs_attributes(self) -> dict[str, dict[str, str]]:
        return {k: {"DataType": "String", "StringValue": v} for k, v in self.attributes.items()}


class LiveEventGenerator:
    """Caliper envelopes for activity in ``dataset``; the same arguments give the same events.

    ``local_id_rate``: share of events using local ids (``565``) instead of global ones;
    ``example_variant_rate``: share using the examples' ``SessionEvent``/``ThreadEvent``/``Posted``
    rather than the mapping table's ``Event``/``Created``; ``attribute_rate``: share carrying the
    SQS attributes ``event_name`` and ``event_time``; ``system_rate``: share emitted by a
    background job (SoftwareApplication actor, ``job_id``) where Canvas does that
    (grade_change, enrollment_state_*, asset_accessed calendar feeds); ``interval_ms``: the
    average time between events' ``eventTime``; ``canvas``: the Canvas emulator's model the dataset
    was loaded into: what an event is about is then recorded there as it is emitted, at the
    event's time (to the second, as Canvas's REST API shows it), so the ids in the events can be
    looked up and a backfill over REST finds the same activity: quiz submissions and submissions
    (with their attempts and scores), gradings (and the grade change log), discussion entries,
    logins and logouts (the authentication log), enrollment updates; ``mix``: relative weights by event name (only
    the names given are drawn; default :data:`DEFAULT_MIX` plus a little of every other event).
    """

    def __init__(
        self,
        dataset: ActivityDataset,
        *,
        seed: int = 1,
        site: Site | None = None,
        start: dt.datetime | None = None,
        mix: Mapping[str, float] | None = None,
        local_id_rate: float = 0.1,
        example_variant_rate: float = 0.5,
        attribute_rate: float = 1.0,
        system_rate: float = 0.05,
        interval_ms: float = 200.0,
        canvas: Any = None,
    ) -> None:
        self.dataset = dataset
        self.canvas = canvas
        self.site = site or Site()
        self.rng = random.Random(f"live-events:{seed}")
        self.when = start or dt.datetime.combine(dataset.today, dt.time(9, 0), dt.UTC)
        if mix is None:
            weights = {name: RARE_WEIGHT for name in EVENT_NAMES}
            weights.update(DEFAULT_MIX)
        else:
            weights = dict(mix)
        unknown = set(weights) - set(EVENT_NAMES)
        if unknown:
            raise ValueError(f"unknown event names in mix: {sorted(unknown)}")
        self._names = [n for n, w in weights.items() if w > 0]
        self._weights = [weights[n] for n in self._names]
        self.local_id_rate = local_id_rate
        self.example_variant_rate = example_variant_rate
        self.attribute_rate = attribute_rate
        self.system_rate = system_rate
        self.interval_ms = interval_ms
        self._counter = FIRST_GENERATED_ID
        self._students: dict[str, list[CanvasUser]] = {}
        self._teachers: dict[str, list[CanvasUser]] = {}
        users = {u.key: u for u in dataset.users}
        for e in dataset.enrollments:
            target = self._students if e.type == "StudentEnrollment" else self._teachers
            target.setdefault(e.course_key, []).append(users[e.user_key])
        self._courses = [c for c in dataset.courses if c.key in self._students]
        self.emitted = 0

    # ------------------------------------------------------------ public

    def events(self, count: int | None = None) -> Iterator[GeneratedEvent]:
        """``count`` events of the weighted mix (endless when ``None``)."""

        n = 0
        while count is None or n < count:
            name = self.rng.choices(self._names, self._weights)[0]
            yield self.one(name)
            n += 1

    def every_event(self) -> list[GeneratedEvent]:
        """One event of each of the 32 Canvas event names, in the mapping table's order."""

        return [self.one(name) for name in EVENT_NAMES]

    def variants(self) -> list[GeneratedEvent]:
        """Every documented variant: both type/action spellings, local and global ids, system
        actors, each asset_accessed asset type and subtype, and messages without attributes."""

        out: list[GeneratedEvent] = []
        for name in EVENT_NAMES:
            for example in (True, False):
                out.append(self.one(name, example_variant=example, local_ids=not example))
        for name in ("grade_change", "enrollment_state_updated"):
            out.append(self.one(name, system=True))
        for asset_type, (_t, _seg, subtypes) in ASSET_TYPES.items():
            for subtype in subtypes or (None,):
                system = subtype == "calendar_feed"
                out.append(
                    self.one("asset_accessed", asset_type=asset_type, asset_subtype=subtype, system=system)
                )
        out.append(self.one("quiz_submitted", attributes=False))
        out.append(self.one("logged_in", attributes=False, example_variant=False))
        return out

    def one(
        self,
        name: str,
        *,
        example_variant: bool | None = None,
        local_ids: bool | None = None,
        system: bool | None = None,
        attributes: bool | None = None,
        asset_type: str | None = None,
        asset_subtype: str | None = None,
        user: CanvasUser | None = None,
        course: CanvasCourse | None = None,
        subject: CanvasUser | None = None,
    ) -> GeneratedEvent:
        """One event named ``name``; the keyword arguments pin what is otherwise drawn at random."""

        if name not in BUILDERS:
            raise ValueError(f"unknown Canvas live event {name!r}")
        rng = self.rng
        self.when += dt.timedelta(
            milliseconds=rng.expovariate(1.0 / self.interval_ms) if self.interval_ms else 0
        )
        learner = name in LEARNER_EVENTS
        course = course or rng.choice(self._courses)
        if user is None:
            pool = self._students.get(course.key, []) if learner else self._teachers.get(course.key, [])
            pool = pool or self._students[course.key]
            user = rng.choice(pool)
        student = subject or rng.choice(self._students[course.key])
        can_be_system = name in ("grade_change", "enrollment_state_updated", "enrollment_state_created") or (
            name == "asset_accessed" and asset_subtype == "calendar_feed"
        )
        if system is None:
            system = can_be_system and rng.random() < self.system_rate
        ctx = Context(
            name=name,
            site=self.site,
            rng=rng,
            when=self.when,
            local_ids=rng.random() < self.local_id_rate if local_ids is None else local_ids,
            example_variant=rng.random() < self.example_variant_rate
            if example_variant is None
            else example_variant,
            system=system,
            actor=_person(user),
            subject=_person(student),
            course_id=course.id,
            course_name=course.name,
            section_id=course.id,
            role="Learner" if user.role != "teacher" else "Instructor",
        )
        facts: dict[str, Any] = {
            "user_id": user.id,
            "user_sis_id": user.sis_user_id,
            "participant": user.role == "participant",
            "course_id": course.id,
            "course_key": course.key,
        }
        item = self._item(course, ITEM_KIND.get(name))
        if item is not None:
            ctx.item_id, ctx.item_name, ctx.points = item.id, item.name, item.points_possible
            facts["item_name"] = item.name
            facts[
                {"discussion_topic": "topic_id", "wiki_page": "page_id"}.get(item.kind, f"{item.kind}_id")
            ] = item.id
        self._fill_ids(ctx, name, facts)
        if name in ("grade_change", "submission_updated"):
            facts.update(
                user_id=student.id, user_sis_id=student.sis_user_id, participant=student.role == "participant"
            )
        if self.canvas is not None and item is not None:
            self._record_in_canvas(ctx, name, item, user, student, facts)
        if self.canvas is not None and item is None:
            self._record_activity(ctx, name, user, student, course, facts)
        if name == "asset_accessed":
            self._asset(ctx, course, asset_type, asset_subtype, facts)
        if name.startswith("attachment_"):
            ctx.item_name = f"{course.course_code} reading list.pdf"
        event = BUILDERS[name](ctx)
        body = envelope(ctx, event, send_delay_ms=rng.randint(5, 900))
        with_attributes = rng.random() < self.attribute_rate if attributes is None else attributes
        attrs = {"event_name": name, "event_time": event["eventTime"]} if with_attributes else {}
        facts.update(system=ctx.system, local_ids=ctx.local_ids, example_variant=ctx.example_variant)
        self.emitted += 1
        return GeneratedEvent(name, body, attrs, facts)

    # ------------------------------------------------------------ helpers

    def _record_in_canvas(
        self,
        ctx: Context,
        name: str,
        item: CourseItem,
        user: CanvasUser,
        student: CanvasUser,
        facts: dict[str, Any],
    ) -> None:
        """Record the course item activity the event is about in the Canvas emulator, at its time."""

        canvas = self.canvas
        at = _canvas_time(ctx.when)
        points = item.points_possible or 10
        if name == "quiz_submitted" and hasattr(canvas, "add_quiz_submission"):
            quiz_score = float(round(self.rng.uniform(0.3, 1.0) * points))
            quiz_submission = canvas.add_quiz_submission(item.id, user.id, score=quiz_score, at=at)
            ctx.extra_ids["quiz_submission"] = int(quiz_submission.id)
            facts.update(submission_id=int(quiz_submission.id), score=quiz_score)
        elif name == "submission_created" and hasattr(canvas, "add_submission"):
            submission = canvas.add_submission(item.id, user.id, at=at)
            ctx.extra_ids.update(submission=int(submission.id), attempt=int(submission.attempt or 1))
            facts.update(submission_id=int(submission.id), score=None)
        elif name == "submission_updated" and hasattr(canvas, "ensure_submission"):
            # an update (a comment, a rubric...) makes no new attempt and no grading
            submission = canvas.ensure_submission(item.id, student.id)
            ctx.extra_ids.update(submission=int(submission.id), attempt=int(submission.attempt or 1))
            facts.update(submission_id=int(submission.id), score=submission.score)
        elif name == "grade_change" and hasattr(canvas, "grade_submission"):
            score = float(round(self.rng.uniform(0.4, 1.0) * points))
            grader = None if ctx.system else user.id
            submission = canvas.grade_submission(item.id, student.id, score=score, grader_id=grader, at=at)
            ctx.extra_ids["submission"] = int(submission.id)
            ctx.score = score
            facts.update(submission_id=int(submission.id), score=score)
        elif name == "discussion_entry_created" and hasattr(canvas, "add_discussion_entry"):
            entry = canvas.add_discussion_entry(item.id, user.id, ENTRY_MESSAGE, at=at)
            ctx.extra_ids["entry"] = int(entry.id)
            facts["entry_id"] = int(entry.id)

    def _record_activity(
        self,
        ctx: Context,
        name: str,
        user: CanvasUser,
        student: CanvasUser,
        course: CanvasCourse,
        facts: dict[str, Any],
    ) -> None:
        """Record a login, logout or enrollment update in the Canvas emulator, at the event's time."""

        canvas = self.canvas
        at = _canvas_time(ctx.when)
        if name in ("logged_in", "logged_out") and hasattr(canvas, "record_authentication"):
            canvas.record_authentication(user.id, "login" if name == "logged_in" else "logout", at=at)
        elif name == "enrollment_updated" and hasattr(canvas, "set_enrollment_state"):
            found = canvas.enrollments(course_id=course.id, user_id=student.id, types=["StudentEnrollment"])
            if found:
                enrollment = found[0]
                canvas.set_enrollment_state(enrollment.id, enrollment.workflow_state, at=at)
                ctx.extra_ids["enrollment"] = int(enrollment.id)
                ctx.enrollment_state = enrollment.workflow_state
                facts["enrollment_id"] = int(enrollment.id)

    def _next_id(self) -> int:
        self._counter += 1
        return self._counter

    def _item(self, course: CanvasCourse, kind: str | None) -> CourseItem | None:
        if kind is None:
            return None
        items = [i for i in course.items if i.kind == kind]
        return self.rng.choice(items) if items else None

    def _fill_ids(self, ctx: Context, name: str, facts: dict[str, Any]) -> None:
        wanted = {
            "quiz_submitted": ("quiz_submission",),
            "submission_created": ("submission",),
            "submission_updated": ("submission",),
            "grade_change": ("submission",),
            "discussion_entry_created": ("entry",),
            "enrollment_created": ("enrollment",),
            "enrollment_updated": ("enrollment",),
            "enrollment_state_created": ("enrollment",),
            "enrollment_state_updated": ("enrollment",),
            "attachment_created": ("attachment", "folder"),
            "attachment_updated": ("attachment", "folder"),
            "attachment_deleted": ("attachment", "folder"),
            "assignment_override_created": ("override",),
            "assignment_override_updated": ("override",),
            "group_category_created": ("group_category",),
            "group_created": ("group", "group_category"),
            "group_membership_created": ("group_membership", "group", "group_category"),
        }.get(name, ())
        for key in wanted:
            ctx.extra_ids[key] = self._next_id()
        if "quiz_submission" in ctx.extra_ids:
            facts["submission_id"] = ctx.extra_ids["quiz_submission"]
        if "submission" in ctx.extra_ids:
            facts["submission_id"] = ctx.extra_ids["submission"]

    def _asset(
        self,
        ctx: Context,
        course: CanvasCourse,
        asset_type: str | None,
        subtype: str | None,
        facts: dict[str, Any],
    ) -> None:
        rng = self.rng
        if asset_type is None:
            asset_type = rng.choice(
                ["course"] * 6 + ["wiki_page", "assignment", "discussion_topic", "quizzes:quiz", "attachment"]
            )
        if asset_type not in ASSET_TYPES:
            raise ValueError(f"unknown asset_type {asset_type!r}")
        subtypes = ASSET_TYPES[asset_type][2]
        if subtype is None and subtypes and asset_type in ("course", "group", "user", "account"):
            subtype = rng.choice(subtypes)
        ctx.asset_type, ctx.asset_subtype = asset_type, subtype
        by_kind = {
            "wiki_page": "wiki_page",
            "assignment": "assignment",
            "discussion_topic": "discussion_topic",
            "quiz": "quiz",
        }
        if asset_type == "quizzes:quiz":
            item = self._item(course, "quiz")
        else:
            item = self._item(course, by_kind.get(asset_type))
        if asset_type == "course":
            ctx.extra_ids["asset"] = course.id
            ctx.item_name = course.name
        elif item is not None:
            ctx.extra_ids["asset"] = item.id
            ctx.item_name = item.name
        elif asset_type == "user" and ctx.actor is not None:
            ctx.extra_ids["asset"] = ctx.actor.id
            ctx.item_name = ctx.actor.name
        elif asset_type == "account":
            ctx.extra_ids["asset"] = self.site.root_account_id
            ctx.item_name = "Emulated University"
        else:
            ctx.extra_ids["asset"] = self._next_id()
            ctx.item_name = f"{asset_type.replace('_', ' ').title()} {ctx.extra_ids['asset']}"
        if subtype == "calendar_feed":
            ctx.system = True
        facts.update(
            asset_type=asset_type,
            asset_subtype=subtype,
            asset_id=ctx.extra_ids["asset"],
            item_name=ctx.item_name,
        )


def _canvas_time(moment: dt.datetime) -> str:
    """``moment`` as Canvas's REST API writes times: UTC, to the second."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _person(user: CanvasUser) -> Person:
    return Person(user.id, user.name, user.key, user.sis_user_id)
