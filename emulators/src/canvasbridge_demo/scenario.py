"""The demo's script: each step drives the emulators, waits for the effect in Canvas or
Salesforce, and says how long it took. A step that fails says what failed and the others
go on; :class:`DemoResult` collects the outcomes and the facts a test can check.

Steps: initial sync (resync by kind, progress bars) → source changes (a new student, a
quarantined account, a new teaching activity, a new teacher) → term-start burst → live
events into Salesforce → a Canvas outage ridden out by retries → a dead letter requeued
from the CLI → the summary.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from rich.progress import TaskID

from canvasbridge.engine.ledger import CallFilter, CallState, Ledger
from canvasbridge_demo.narrate import Narrator
from canvasbridge_demo.settings import DemoSettings
from canvasbridge_demo.stack import DemoStack
from canvasbridge_emulators.scenarios import TermStartPlan

BURST_TIMEOUT_S = 240.0  # the term-start burst draining
PENDING = (CallState.QUEUED, CallState.RUNNING, CallState.RETRYING)
#: the term-start burst per size: about half of the emulators' own "small" plan, so the
#: demo stays near a minute and a half (sizes not listed use the emulators' plan)
DEMO_BURSTS = {
    "small": TermStartPlan(
        new_students=15, units_per_student=3, returning_changes=30, new_groups=3, export_flips=2
    )
}
DEAD_LETTER_BODY = {
    "errors": {
        "pseudonym": {
            "unique_id": [{"attribute": "unique_id", "type": "invalid", "message": "Invalid login handle"}]
        }
    }
}


class StepFailed(Exception):
    """A step could not show what it set out to show; the message says what is missing."""


@dataclass
class StepResult:
    name: str
    ok: bool
    seconds: float
    detail: str = ""


@dataclass
class DemoResult:
    steps: list[StepResult] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # what was changed, for checks
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    def step(self, name: str) -> StepResult | None:
        return next((s for s in self.steps if s.name == name), None)


def wait_for(check: Callable[[], Any], timeout: float, what: str, *, stack: DemoStack | None = None) -> float:
    """Poll ``check`` until it is truthy; the seconds it took, or :class:`StepFailed`."""
    started = time.monotonic()
    while True:
        if check():
            return time.monotonic() - started
        if stack is not None:
            stack.check_consumer()
        if time.monotonic() - started > timeout:
            raise StepFailed(f"{what}: not seen within {timeout:.0f} s")
        time.sleep(0.1)


class Scenario:
    """Plays the demo against a started :class:`DemoStack`."""

    def __init__(self, stack: DemoStack, narrator: Narrator, *, burst_plan: Any = None) -> None:
        self.stack = stack
        self.say = narrator
        self.result = DemoResult()
        self.suite = stack.suite
        self.uni = stack.suite.university
        self.canvas = stack.suite["canvas"].model
        self.salesforce = stack.suite["salesforce"].model
        self.ledger: Ledger = stack.runtime.ledger()
        self.rng = random.Random(f"demo:{stack.options.seed}")
        self.burst_plan = burst_plan
        from canvasbridge.engine import TaskContext
        from canvasbridge.provisioning import runtime as provisioning

        assert stack.config is not None
        self.ctx = TaskContext(task_name="demo", sections=stack.config.flow_sections())
        self.settings = provisioning.settings(self.ctx)
        self.demo = self.ctx.section("demo", DemoSettings)
        if self.demo.burst is not None and self.burst_plan is None:
            self.burst_plan = TermStartPlan(**self.demo.burst.model_dump())
        self.timeout = self.demo.wait_timeout_s

    # -- the play ------------------------------------------------------------------------

    def play(self) -> DemoResult:
        stack = self.stack
        steps: list[tuple[str, str, str, Callable[[], str]]] = [
            (
                "initial sync",
                "Initial sync: org tree, users, courses and enrollments into Canvas",
                "canvasbridge resync reads SAP, Cerebrum and FS once, diffs against Canvas, and writes "
                "the difference (by REST, or as one SIS import when it is big).",
                self.initial_sync,
            ),
            (
                "source changes",
                "Source changes reach Canvas in seconds",
                f"Each change in FS or Cerebrum publishes a notification → {stack.source_transport} source → "
                "route → parser → task queue → worker → ensure_* task → Canvas.",
                self.source_changes,
            ),
            (
                "term start",
                "Term start: a burst of changes",
                "New students enrol, returning students add and drop units, big units open groups.",
                self.term_start,
            ),
            (
                "live events",
                "Canvas Live Events reach Salesforce",
                "Caliper events in SQS → SQS source → live-events parser → record_live_event → "
                "Canvas_Activitiy__c records and FLIP attendance in Salesforce.",
                self.live_events,
            ),
            (
                "canvas outage",
                "A Canvas outage, ridden out",
                f"Canvas answers 503 to every API call for {self.demo.outage_s:g} s while changes arrive; "
                "tasks retry with backoff and finish once Canvas is back.",
                self.outage,
            ),
            (
                "dead letter",
                "A dead letter, requeued from the CLI",
                "Canvas refuses a new user (HTTP 400): a permanent error, no retries, a dead letter. "
                "Once the cause is fixed, an operator requeues it with `canvasbridge tasks requeue`.",
                self.dead_letter,
            ),
        ]
        for number, (name, title, why, run) in enumerate(steps, start=1):
            self.say.step(number, title, why)
            started = time.monotonic()
            try:
                detail = run()
                ok = True
            except StepFailed as exc:
                detail, ok = str(exc), False
            except Exception as exc:  # a broken flow: say what and where, then go on
                where = traceback.extract_tb(exc.__traceback__)[-1]
                detail = f"{type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})"
                ok = False
            if not ok:
                self.say.failed(f"{name} failed: {detail}")
            self.result.steps.append(StepResult(name, ok, time.monotonic() - started, detail))
        self.result.summary = self.collect_summary()
        return self.result

    # -- helpers -------------------------------------------------------------------------

    def change(self, system: str, kind: str, params: dict[str, Any]) -> Any:
        return self.suite[system].extra["changes"].apply(kind, params)

    def pending(self, since: dt.datetime, task: str | None = None) -> int:
        return self.ledger.count(CallFilter(states=PENDING, since=since, task=task))

    def calls(
        self, since: dt.datetime, task: str | None = None, states: tuple[CallState, ...] = ()
    ) -> list[Any]:
        where = CallFilter(states=states, since=since, task=task)
        return self.ledger.calls(where, limit=max(1, self.ledger.count(where)))

    def user_sis(self, username: str, person_id: int | None = None) -> str:
        from canvasbridge.provisioning.naming import Template

        return Template(self.settings.users.sis_user_id, "user").render(
            {"username": username, "person_id": person_id}
        )

    def _unit_values(self, unit_key: str, aktivitet: str | None = None) -> dict[str, Any]:
        institusjon, emnekode, versjon, ar, termin, _ = unit_key.split(",")
        values = {
            "institusjon": institusjon,
            "emnekode": emnekode,
            "versjon": versjon,
            "ar": ar,
            "termin": termin,
        }
        if aktivitet is not None:
            values["aktivitet"] = aktivitet
        return values

    def course_sis(self, unit_key: str) -> str:
        from canvasbridge.provisioning.naming import Template

        return Template(self.settings.courses.course_sis_id, "unit").render(self._unit_values(unit_key))

    def activity_section_sis(self, unit_key: str, aktivitet: str) -> str:
        from canvasbridge.provisioning.naming import Template

        return Template(self.settings.courses.activity_section_sis_id, "activity").render(
            self._unit_values(unit_key, aktivitet)
        )

    def canvas_user(self, username: str) -> Any:
        return self.canvas.find_user_by_sis(self.user_sis(username))

    def enrolled(self, user: Any, course: Any, kind: str) -> bool:
        return any(
            e.type == kind and e.workflow_state == "active"
            for e in self.canvas.enrollments(course_id=course.id, user_id=user.id)
        )

    def set_canvas_faults(self, faults: dict[str, Any]) -> None:
        url = self.suite["canvas"].url + "/_emulator/faults"
        httpx.put(url, json=faults, timeout=10).raise_for_status()

    # -- 1. initial sync -----------------------------------------------------------------

    def initial_sync(self) -> str:
        from canvasbridge.provisioning import runtime as provisioning
        from canvasbridge.provisioning.resync import Sources, resync

        ctx = self.ctx
        sources = Sources(
            canvas=provisioning.canvas(ctx),
            fs=provisioning.fs(ctx),
            cerebrum=provisioning.cerebrum(ctx),
            sap=provisioning.sap(ctx),
        )
        kinds = [
            ("accounts", "org tree (SAP → sub-accounts)"),
            ("users", "users (Cerebrum)"),
            ("courses", "courses and sections (FS)"),
            ("enrollments", "enrollments (FS)"),
        ]
        planned: dict[str, dict[str, int]] = {}
        failures: list[str] = []
        with self.say.progress() as bars:
            for kind, label in kinds:
                job = bars.add_task(f"{label}: writes", total=None)

                def on_plan(planned: Any, job: TaskID = job) -> None:
                    bars.update(job, total=max(planned.plan.writes(), 1), completed=0)

                def progress(done: int, total: int, job: TaskID = job) -> None:
                    bars.update(job, completed=done, total=max(total, 1))

                result = resync(sources, self.settings, [kind], progress=progress, on_plan=on_plan)
                total = result.plan.writes()
                bars.update(job, completed=max(total, 1), total=max(total, 1))
                for object_kind, actions in result.plan.summary().items():
                    counts = planned.setdefault(object_kind, {})
                    for action, count in actions.items():
                        counts[action] = counts.get(action, 0) + count
                failures += [f.describe() for f in result.failures[:3]]
                failures += result.errors[:3]
        counts = self.managed_counts()
        self.result.facts["initial"] = counts
        self.result.facts["initial_plan"] = planned
        writes = "; ".join(
            f"{kind} " + ", ".join(f"{action} {n}" for action, n in actions.items())
            for kind, actions in planned.items()
        )
        self.say.say(f"written: {writes}")
        self.say.ok(
            f"Canvas now holds {counts['accounts']} sub-accounts, {counts['users']} users, "
            f"{counts['courses']} courses, {counts['sections']} sections and {counts['enrollments']} enrollments"
        )
        if failures:
            raise StepFailed("some writes failed: " + "; ".join(failures[:5]))
        return writes

    def managed_counts(self) -> dict[str, int]:
        """Objects in the Canvas emulator with SIS ids of the shapes the service makes."""
        from canvasbridge.provisioning.naming import Template

        c = self.settings.courses
        user_t = Template(self.settings.users.sis_user_id, "user")
        account_t = Template(self.settings.accounts.sis_account_id, "account_sis")
        course_ts = [Template(c.course_sis_id, "unit"), Template(c.activity_course_sis_id, "activity")]
        section_ts = [
            Template(c.unit_section_sis_id, "unit"),
            Template(c.activity_section_sis_id, "activity"),
        ]
        m = self.canvas
        courses = [x for x in m.courses() if any(t.owns(x.sis_course_id) for t in course_ts)]
        course_ids = {x.id for x in courses}
        users = [u for u in m.users() if user_t.owns(_sis_of(m, u))]
        return {
            "accounts": sum(1 for a in m.accounts() if account_t.owns(a.sis_account_id)),
            "users": len(users),
            "courses": len(courses),
            "sections": sum(1 for x in m.sections() if any(t.owns(x.sis_section_id) for t in section_ts)),
            "enrollments": sum(
                1 for cid in course_ids for e in m.enrollments(course_id=cid) if e.workflow_state == "active"
            ),
        }

    # -- 2. source changes ---------------------------------------------------------------

    def pick_unit(self) -> tuple[str, Any]:
        """An exported teaching unit (first term) whose course is in Canvas, with students."""
        uni = self.uni
        candidates = []
        for unit in sorted(uni.undervisning.values(), key=lambda u: u.key):
            if not unit.lms_eksport or unit.lukket or unit.terminnummer != 1:
                continue
            course = self.canvas.find_course_by_sis(self.course_sis(unit.key))
            if course is not None and uni.participants(unit.key):
                candidates.append((unit.key, course))
        if not candidates:
            raise StepFailed("no exported teaching unit with a Canvas course: did the initial sync run?")
        return candidates[self.rng.randrange(len(candidates))]

    def source_changes(self) -> str:
        unit_key, course = self.pick_unit()
        self.result.facts["unit"] = unit_key
        self.say.say(f"teaching unit {unit_key} → Canvas course {course.sis_course_id}")
        timings: dict[str, float] = {}
        problems: list[str] = []
        actions: list[tuple[str, Callable[[], float]]] = [
            ("new student", lambda: self.new_student(unit_key, course)),
            ("quarantined account", lambda: self.quarantine(unit_key)),
            ("new teaching activity", lambda: self.new_activity(unit_key)),
            ("new teacher", lambda: self.new_teacher(unit_key, course)),
        ]
        for name, action in actions:
            try:
                timings[name] = action()
            except StepFailed as exc:
                problems.append(f"{name}: {exc}")
                self.say.failed(f"{name}: {exc}")
        self.result.facts["latency_s"] = timings
        if problems:
            raise StepFailed("; ".join(problems))
        return ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())

    def new_student(self, unit_key: str, course: Any) -> float:
        started = time.monotonic()
        note = self.change(
            "cerebrum", "person.create", {"first_name": "Ingrid", "last_name": "Demo", "student": True}
        )
        person_id = int(note.body["sub"].rsplit("/", 1)[1])
        person = self.uni.person(person_id)
        username = person.primary_account
        if username is None or person.fs_lopenummer is None:
            raise StepFailed(f"the new person {person_id} has no primary account or FS number")
        wait_for(
            lambda: self.canvas_user(username), self.timeout, f"Canvas user {username}", stack=self.stack
        )
        self.say.ok(
            f"new student {person.full_name} ({username}) is a Canvas user", time.monotonic() - started
        )
        self.change("fs", "participation.add", {"lopenummer": person.fs_lopenummer, "unit": unit_key})
        user = self.canvas_user(username)
        wait_for(
            lambda: self.enrolled(user, course, "StudentEnrollment"),
            self.timeout,
            f"{username}'s enrollment in {course.sis_course_id}",
            stack=self.stack,
        )
        seconds = time.monotonic() - started
        self.say.ok(f"… and enrolled as a student in {course.sis_course_id}", seconds)
        self.result.facts["new_student"] = {"username": username, "course": course.sis_course_id}
        return seconds

    def quarantine(self, unit_key: str) -> float:
        candidates = []
        for lopenummer in self.uni.participants(unit_key):
            person = self.uni.person_by_fs(lopenummer)
            name = person.primary_account
            if name and not self.uni.is_locked(name):
                user = self.canvas_user(name)
                if user is not None and not self.canvas.is_suspended(user.id):
                    candidates.append((name, user))
        if not candidates:
            raise StepFailed(f"no active student of {unit_key} in Canvas to quarantine")
        name, user = candidates[self.rng.randrange(len(candidates))]
        started = time.monotonic()
        self.change("cerebrum", "account.quarantine", {"name": name})
        seconds = wait_for(
            lambda: self.canvas.is_suspended(user.id),
            self.timeout,
            f"{name}'s logins suspended",
            stack=self.stack,
        )
        self.say.ok(f"quarantined account {name}: its Canvas logins are suspended", seconds)
        self.result.facts["quarantined"] = name
        return time.monotonic() - started

    def new_activity(self, unit_key: str) -> float:
        groups = [a.aktivitet for a in self.uni.activities_of(unit_key) if a.aktivitet.startswith("2-")]
        number = 1 + max((int(g.split("-")[1]) for g in groups), default=0)
        aktivitet = f"2-{number}"
        sis = self.activity_section_sis(unit_key, aktivitet)
        self.change(
            "fs",
            "activity.create",
            {
                "unit": unit_key,
                "aktivitet": aktivitet,
                "name": f"Seminargruppe {number}",
                "lms_eksport": True,
                "own_course": False,
            },
        )
        seconds = wait_for(
            lambda: self.canvas.find_section_by_sis(sis), self.timeout, f"section {sis}", stack=self.stack
        )
        self.say.ok(f"new teaching activity {aktivitet} is Canvas section {sis}", seconds)
        self.result.facts["new_section"] = sis
        return seconds

    def new_teacher(self, unit_key: str, course: Any) -> float:
        holders = {r.fs_lopenummer for r in self.uni.roles_of_unit(unit_key)}
        candidates = []
        for person in sorted(self.uni.staff(), key=lambda p: p.person_id):
            if not person.fs_lopenummer or person.fs_lopenummer in holders or not person.primary_account:
                continue
            user = self.canvas_user(person.primary_account)
            if (
                user is not None
                and not self.canvas.is_suspended(user.id)
                and not self.enrolled(user, course, "TeacherEnrollment")
            ):
                candidates.append((person, user))
        if not candidates:
            raise StepFailed("no staff member in Canvas who could become a teacher")
        person, user = candidates[self.rng.randrange(len(candidates))]
        self.change(
            "fs", "role.add", {"lopenummer": person.fs_lopenummer, "rolle": "FAGLÆRER", "unit": unit_key}
        )
        seconds = wait_for(
            lambda: self.enrolled(user, course, "TeacherEnrollment"),
            self.timeout,
            f"{person.primary_account} as teacher in {course.sis_course_id}",
            stack=self.stack,
        )
        self.say.ok(
            f"new teacher {person.full_name} ({person.primary_account}) in {course.sis_course_id}", seconds
        )
        self.result.facts["new_teacher"] = {
            "username": person.primary_account,
            "course": course.sis_course_id,
        }
        return seconds

    # -- 3. term start -------------------------------------------------------------------

    def term_start(self) -> str:
        from canvasbridge_emulators.scenarios import term_start

        since = dt.datetime.now(dt.UTC)
        started = time.monotonic()
        report = term_start(
            self.uni,
            fs=self.suite["fs"].extra["changes"],
            cerebrum=self.suite["cerebrum"].extra["changes"],
            plan=self.burst_plan or DEMO_BURSTS.get(self.uni.size),
            seed=self.stack.options.seed,
        )
        sent_s = time.monotonic() - started
        self.say.ok(f"{report.notifications} notifications published and queued", sent_s)
        with self.say.progress() as bars:
            job = bars.add_task("task calls finished", total=None)

            def drained() -> bool:
                total = self.ledger.count(CallFilter(since=since))
                left = self.pending(since)
                bars.update(job, total=max(total, 1), completed=total - left)
                return left == 0

            wait_for(drained, BURST_TIMEOUT_S, "the burst's task calls to finish", stack=self.stack)
        seconds = time.monotonic() - started
        calls = self.calls(since)
        succeeded = sum(1 for c in calls if c.state == CallState.SUCCEEDED)
        folded = sum(c.folded for c in calls)
        dead = [c for c in calls if c.state == CallState.DEAD]
        self.say.ok(
            f"{report.notifications} notifications → {len(calls)} task calls ({folded} duplicates folded), "
            f"{succeeded} succeeded",
            seconds,
        )
        self.result.facts["burst"] = {
            "notifications": report.notifications,
            "calls": len(calls),
            "dead": len(dead),
        }
        if dead:
            raise StepFailed(
                f"{len(dead)} dead letter(s), e.g. {dead[0].task}({dead[0].params}): {(dead[0].last_error or '')[:200]}"
            )
        return f"{report.notifications} notifications, {len(calls)} calls in {seconds:.1f} s"

    # -- 4. live events ------------------------------------------------------------------

    def live_events(self) -> str:
        since = dt.datetime.now(dt.UTC)
        activities_before = len(self.salesforce.records("Canvas_Activitiy__c"))
        started = time.monotonic()
        sent = self.suite.send_live_events(self.demo.live_events, seed=self.stack.options.seed)
        self.say.ok(f"{sent} Caliper events put in the SQS queue", time.monotonic() - started)
        sqs = self.suite["sqs"].extra["client"]
        queue_url = self.suite.queue_url

        def queue_empty() -> bool:
            attrs = sqs.get_queue_attributes(
                QueueUrl=queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            return (
                int(attrs["ApproximateNumberOfMessages"])
                + int(attrs["ApproximateNumberOfMessagesNotVisible"])
                == 0
            )

        with self.say.progress() as bars:
            job = bars.add_task("events recorded", total=sent)

            def done() -> bool:
                calls = self.ledger.count(CallFilter(since=since, task="record_live_event"))
                left = self.pending(since, "record_live_event")
                bars.update(job, completed=min(sent, calls - left))
                return left == 0 and queue_empty()

            wait_for(done, self.timeout * 2, "the live events to be consumed and recorded", stack=self.stack)
            bars.update(job, completed=sent)
        seconds = time.monotonic() - started
        calls = self.calls(since, "record_live_event")
        activities = len(self.salesforce.records("Canvas_Activitiy__c")) - activities_before
        attended = sum(1 for r in self.salesforce.records("Attendees__c") if r.get("Event_Attended__c"))
        dead = [c for c in calls if c.state == CallState.DEAD]
        self.say.ok(
            f"{sent} events consumed; {len(calls)} called for a Salesforce write (the others are kinds "
            f"the configuration leaves off, e.g. asset_accessed) → {activities} Canvas_Activitiy__c "
            f"records (participants on an active programme), {attended} FLIP attendances marked",
            seconds,
        )
        self.result.facts["live_events"] = {
            "sent": sent,
            "calls": len(calls),
            "activities": activities,
            "attended": attended,
            "dead": len(dead),
        }
        if activities == 0:
            raise StepFailed("no Canvas_Activitiy__c record reached Salesforce")
        if dead:
            raise StepFailed(f"{len(dead)} live event(s) dead: {(dead[0].last_error or '')[:200]}")
        return f"{sent} events → {activities} activities, {attended} attendances"

    # -- 5. outage -----------------------------------------------------------------------

    def outage(self) -> str:
        since = dt.datetime.now(dt.UTC)
        canvas_control = self.suite["canvas"].control
        errors_before = _status_count(canvas_control, "503")
        self.set_canvas_faults(
            {
                "errors": [
                    {
                        "path": "^/api/v1/",
                        "status": 503,
                        "body": {"errors": [{"message": "Service Unavailable"}]},
                    }
                ]
            }
        )
        started = time.monotonic()
        self.say.say("Canvas is down (every /api/v1/ call answers 503)")
        names = []
        try:
            for first, last in (("Nora", "Outage"), ("Emil", "Outage"), ("Sofie", "Outage")):
                note = self.change(
                    "cerebrum", "person.create", {"first_name": first, "last_name": last, "student": True}
                )
                person = self.uni.person(int(note.body["sub"].rsplit("/", 1)[1]))
                names.append(person.primary_account)
            wait_for(
                lambda: self.ledger.count(CallFilter(states=(CallState.RETRYING,), since=since)) > 0,
                self.timeout,
                "a task to fail and wait for its retry",
                stack=self.stack,
            )
            self.say.say("task calls fail and wait for their retry; nothing is lost")
            time.sleep(max(0.0, self.demo.outage_s - (time.monotonic() - started)))
        finally:
            self.set_canvas_faults({"errors": []})
        self.say.say("Canvas is back")
        wait_for(
            lambda: self.pending(since) == 0, self.timeout, "the retried calls to finish", stack=self.stack
        )
        seconds = time.monotonic() - started
        calls = self.calls(since)
        recovered = [c for c in calls if c.state == CallState.SUCCEEDED and c.attempts > 1]
        dead = [c for c in calls if c.state == CallState.DEAD]
        refused = _status_count(canvas_control, "503") - errors_before
        missing = [n for n in names if n and self.canvas_user(n) is None]
        self.result.facts["outage"] = {
            "recovered": len(recovered),
            "refused": refused,
            "users": names,
            "since": since,
        }
        self.say.ok(
            f"{len(recovered)} task call(s) failed while Canvas was down and succeeded after retrying; "
            f"Canvas refused {refused} requests meanwhile",
            seconds,
        )
        if dead or missing or not recovered:
            raise StepFailed(
                f"after the outage: {len(dead)} dead, missing users {missing}, {len(recovered)} recovered"
            )
        return f"{len(recovered)} recovered, {refused} requests refused"

    # -- 6. dead letter ------------------------------------------------------------------

    def dead_letter(self) -> str:
        with self.say.expecting("is a dead letter"):  # the step tells it: no ERROR log block
            return self._dead_letter()

    def _dead_letter(self) -> str:
        since = dt.datetime.now(dt.UTC)
        self.set_canvas_faults(
            {
                "errors": [
                    {
                        "path": "^/api/v1/accounts/[^/]+/users$",
                        "method": "POST",
                        "status": 400,
                        "body": DEAD_LETTER_BODY,
                    }
                ]
            }
        )
        try:
            note = self.change(
                "cerebrum",
                "person.create",
                {"first_name": "Lars", "last_name": "Deadletter", "student": True},
            )
            person = self.uni.person(int(note.body["sub"].rsplit("/", 1)[1]))
            username = person.primary_account
            assert username is not None
            wait_for(
                lambda: self.calls(since, "ensure_user", (CallState.DEAD,)),
                self.timeout,
                f"ensure_user for {username} to become a dead letter",
                stack=self.stack,
            )
        finally:
            self.set_canvas_faults({"errors": []})
        [dead] = self.calls(since, "ensure_user", (CallState.DEAD,))[:1]
        self.say.ok(f"dead letter #{dead.id}: {dead.task} {dead.params} after {dead.attempts} attempt(s)")
        error = (dead.last_error or "").partition("\n")[0]
        self.say.say(f"  last error: {error if len(error) <= 300 else error[:299] + '…'}")
        if self.stack.admin_url:
            answer = httpx.get(
                f"{self.stack.admin_url}/tasks",
                params={"state": "dead"},
                headers={"Authorization": f"Bearer {self.stack.admin_token}"},
                timeout=10,
            )
            if answer.status_code == 200:
                ids = [item.get("id") for item in answer.json().get("items", [])]
                self.say.say(
                    f"the admin API lists it too: GET /tasks?state=dead → {answer.json().get('total')} call(s) {ids}"
                )
            else:
                self.say.failed(f"the admin API answered GET /tasks?state=dead with {answer.status_code}")
        self.say.say("the cause is fixed in Canvas; now the operator requeues it:")
        self.say.say(f"$ canvasbridge tasks requeue {dead.id} --config {self.stack.config_path}")
        from canvasbridge.engine.api.operations import OperationError, Operations

        try:
            done = Operations(self.stack.runtime).requeue(dead.id, actor="demo")
        except OperationError as exc:
            raise StepFailed(f"requeueing #{dead.id} failed: {exc}") from exc
        self.say.say(f"  {dead.id}: requeued as {done.id}")
        started = time.monotonic()

        def requeued() -> Any:
            for call in self.calls(since, "ensure_user"):
                if call.requeued_from == dead.id and call.state == CallState.SUCCEEDED:
                    return call
            return None

        wait_for(requeued, self.timeout, f"the requeued call of #{dead.id} to succeed", stack=self.stack)
        call = requeued()
        seconds = time.monotonic() - started
        user = self.canvas_user(username)
        self.result.facts["dead_letter"] = {"id": dead.id, "requeued_id": call.id, "username": username}
        if user is None:
            raise StepFailed(f"the requeued call succeeded but {username} is not in Canvas")
        self.say.ok(f"requeued as #{call.id}: succeeded; {username} is a Canvas user", seconds)
        return f"#{dead.id} → #{call.id}"

    # -- summary -------------------------------------------------------------------------

    def collect_summary(self) -> dict[str, Any]:
        since = self.stack.started_at
        calls = self.calls(since)
        by_state: dict[str, int] = {}
        for call in calls:
            by_state[call.state.value] = by_state.get(call.state.value, 0) + 1
        api_calls = {
            name: emulator.control.stats()["total"]
            for name, emulator in self.suite.emulators.items()
            if emulator.control is not None
        }
        return {
            "canvas": self.managed_counts(),
            "salesforce": {
                "activities": len(self.salesforce.records("Canvas_Activitiy__c")),
                "attended": sum(
                    1 for r in self.salesforce.records("Attendees__c") if r.get("Event_Attended__c")
                ),
            },
            "tasks": by_state,
            "task_calls": len(calls),
            "folded": sum(c.folded for c in calls),
            "recovered": sum(1 for c in calls if c.state == CallState.SUCCEEDED and c.attempts > 1),
            "requeued": sum(1 for c in calls if c.requeued_from is not None),
            # dead letters, whether still dead or since requeued
            "dead": by_state.get(CallState.DEAD.value, 0) + by_state.get(CallState.REQUEUED.value, 0),
            "parked": len(self.ledger.parked(limit=1000)),
            "api_calls": api_calls,
        }


def _sis_of(model: Any, user: Any) -> str | None:
    login = model.primary_login(user.id)
    return getattr(login, "sis_user_id", None) if login is not None else None


def _status_count(control: Any, status: str) -> int:
    return sum(codes.get(status, 0) for codes in control.stats()["requests"].values())
