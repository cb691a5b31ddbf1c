"""The Canvas → Salesforce side of the synthetic university (the Ambition Institute flow).

Deterministic from ``(size, seed, today)``: Canvas users and courses (with their quizzes,
assignments, discussions and pages), and the Salesforce org the activity flow writes to
(``reference/original-systems.md`` System A): ``TL_Programme__c`` whose LMS dates make it
active today, past or future and whose ``LMS_Course_Id__c`` is a Canvas course id,
``Contact`` and ``Programme_Participant__c`` keyed by ``Participant_UID__c`` (= the Canvas
user's ``sis_user_id``), ``FLIP_Event__c`` named after quizzes and assignments of the
programme's course, and ``Attendees__c`` linking participants to those events::

    from canvasbridge_emulators.university.activity import ActivityDataset
    ds = ActivityDataset.generate("tiny", seed=1, today=datetime.date(2026, 3, 2))
    ds.load_canvas(canvas_model)      # users, logins, courses, enrollments; binds real ids
    ds.load_salesforce(sf_model)      # programmes, contacts, participants, FLIP events, attendees
    ds.summary()

Call :meth:`ActivityDataset.load_canvas` first when Canvas holds other data too: Canvas
numbers its own objects, and loading records the ids it gave, which the Salesforce side
(``LMS_Course_Id__c``) and the live-event generator then use. On a fresh Canvas model the
planned ids (1, 2, 3, … in dataset order) are the ids Canvas gives.

Quizzes, assignments, discussion topics and pages are plain data here: the Canvas emulator
has no endpoints for them yet, so :meth:`load_canvas` loads them only if the model offers
``add_quiz`` / ``add_assignment`` / ``add_discussion_topic`` / ``add_page``.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any, Protocol

SIZES: dict[str, dict[str, int]] = {
    # programmes per status, participants per programme, extra Canvas-only students, teachers
    "tiny": {"active": 2, "past": 1, "future": 1, "per_programme": 4, "outsiders": 3, "teachers": 2},
    "small": {"active": 8, "past": 3, "future": 3, "per_programme": 12, "outsiders": 20, "teachers": 6},
    "university": {
        "active": 60,
        "past": 30,
        "future": 30,
        "per_programme": 40,
        "outsiders": 400,
        "teachers": 60,
    },
}
PROGRAMME_KINDS = (
    ("NPQH", "National Professional Qualification for Headship"),
    ("NPQSL", "National Professional Qualification for Senior Leadership"),
    ("NPQML", "National Professional Qualification for Middle Leadership"),
    ("NPQEL", "National Professional Qualification for Executive Leadership"),
    ("TLDP", "Teaching and Leadership Development Programme"),
    ("ECF", "Early Career Framework"),
)
TOPICS = (
    "Leading Change",
    "Curriculum and Assessment",
    "Behaviour and Culture",
    "Effective Feedback",
    "Managing Resources",
    "Professional Development",
    "Working with Families",
    "Implementation",
    "Instructional Coaching",
    "School Improvement",
)
FIRST_NAMES = (
    "Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Arthur", "Ivy", "Leo", "Grace", "Oscar",
    "Freya", "Harry", "Lily", "Jack", "Florence", "Charlie", "Evie", "Theo", "Rosie", "Alfie", "Sophia",
    "Henry", "Poppy", "Finley", "Ella", "Thomas", "Willow", "Jacob", "Aisha", "Mohammed", "Priya", "Kwame",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson",
    "Clarke", "Khan", "Hughes", "Edwards", "Lewis", "O'Brien", "Okafor", "Nowak", "Begum", "Murphy",
)  # fmt: skip
EMAIL_DOMAIN = "schools.example.org"
UID_PREFIX = "AMB"


@dataclass
class CanvasUser:
    key: str  # the login (unique_id); stable across id rebinding
    id: int  # Canvas user id (planned; rebound by load_canvas)
    name: str
    sis_user_id: str
    email: str
    role: str  # "participant", "outsider" (a Canvas student Salesforce does not know), "teacher"


@dataclass
class CourseItem:
    kind: str  # "quiz", "assignment", "discussion_topic", "wiki_page"
    id: int  # local id within the emulated Canvas (not loaded there; see the module docstring)
    course_key: str
    name: str
    points_possible: float | None = None


@dataclass
class CanvasCourse:
    key: str  # sis_course_id
    id: int
    name: str
    course_code: str
    items: list[CourseItem] = field(default_factory=list)


@dataclass
class Programme:
    key: str
    name: str
    status: str  # "active", "past", "future"
    start: dt.date
    end: dt.date
    course_key: str


@dataclass
class Participant:
    uid: str  # Participant_UID__c = Canvas sis_user_id
    first_name: str
    last_name: str
    email: str
    programme_keys: list[str]

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class FlipEvent:
    key: str
    name: str  # Name and Event_Name__c: equals a quiz or assignment name of the programme's course
    programme_key: str
    send_to_lms: bool


@dataclass
class Attendance:
    uid: str
    flip_event_key: str
    attended: bool = False


@dataclass
class Enrollment:
    user_key: str
    course_key: str
    type: str  # StudentEnrollment | TeacherEnrollment


class _SalesforceModelLike(Protocol):
    def insert(self, obj_name: str, values: dict[str, Any]) -> str: ...


@dataclass
class ActivityDataset:
    size: str
    seed: int
    today: dt.date
    users: list[CanvasUser] = field(default_factory=list)
    courses: list[CanvasCourse] = field(default_factory=list)
    programmes: list[Programme] = field(default_factory=list)
    participants: list[Participant] = field(default_factory=list)
    flip_events: list[FlipEvent] = field(default_factory=list)
    attendances: list[Attendance] = field(default_factory=list)
    enrollments: list[Enrollment] = field(default_factory=list)
    salesforce_ids: dict[str, str] = field(
        default_factory=dict
    )  # dataset key -> Salesforce id, after loading

    # ------------------------------------------------------------ generation

    @classmethod
    def generate(cls, size: str = "tiny", seed: int = 1, today: dt.date | None = None) -> ActivityDataset:
        if size not in SIZES:
            raise ValueError(f"unknown size {size!r}; choose one of {sorted(SIZES)}")
        spec = SIZES[size]
        rng = random.Random(f"activity:{size}:{seed}")
        ds = cls(size, seed, today or dt.date.today())
        item_id = {"quiz": 0, "assignment": 0, "discussion_topic": 0, "wiki_page": 0}

        def new_item(kind: str, course: CanvasCourse, name: str, points: float | None) -> CourseItem:
            item_id[kind] += 1
            item = CourseItem(kind, item_id[kind], course.key, name, points)
            course.items.append(item)
            return item

        statuses = ["active"] * spec["active"] + ["past"] * spec["past"] + ["future"] * spec["future"]
        for n, status in enumerate(statuses, start=1):
            code, title = PROGRAMME_KINDS[(n - 1) % len(PROGRAMME_KINDS)]
            cohort = f"{code} {ds.today.year - (1 if status == 'past' else 0)} C{n:03d}"
            course = CanvasCourse(f"{UID_PREFIX}-C{n:04d}", n, f"{title} ({cohort})", cohort)
            ds.courses.append(course)
            topics = rng.sample(TOPICS, 4)
            for unit, topic in enumerate(topics[:2], start=1):
                new_item("quiz", course, f"{code} Unit {unit} Quiz: {topic}", 10.0)
            for unit, topic in enumerate(topics[2:], start=3):
                new_item("assignment", course, f"{code} Unit {unit} Assignment: {topic}", 100.0)
            new_item("discussion_topic", course, f"{code} Discussion: {topics[0]}", None)
            new_item("wiki_page", course, f"{code} Handbook: {topics[1]}", None)
            start, end = _programme_dates(status, ds.today, rng)
            ds.programmes.append(
                Programme(f"{UID_PREFIX}-P{n:04d}", f"{cohort} {title}", status, start, end, course.key)
            )

        uid_counter = 0
        user_id = 0

        def person() -> tuple[str, str, str, str]:
            nonlocal uid_counter
            uid_counter += 1
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            uid = f"{UID_PREFIX}-{uid_counter:06d}"
            email = f"{first}.{last}.{uid_counter}@{EMAIL_DOMAIN}".lower().replace("'", "")
            return uid, first, last, email

        def add_user(uid: str, name: str, email: str, role: str) -> CanvasUser:
            nonlocal user_id
            user_id += 1
            user = CanvasUser(uid.lower(), user_id, name, uid, email, role)
            ds.users.append(user)
            return user

        active = [p for p in ds.programmes if p.status == "active"]
        for programme in ds.programmes:
            for _ in range(spec["per_programme"]):
                uid, first, last, email = person()
                keys = [programme.key]
                # some participants also sit on a second, active programme
                if programme.status != "active" and active and rng.random() < 0.3:
                    keys.append(rng.choice(active).key)
                participant = Participant(uid, first, last, email, keys)
                ds.participants.append(participant)
                user = add_user(uid, participant.name, email, "participant")
                for key in keys:
                    ds.enrollments.append(
                        Enrollment(user.key, ds.programme(key).course_key, "StudentEnrollment")
                    )
        for _ in range(spec["outsiders"]):
            uid, first, last, email = person()
            user = add_user(uid, f"{first} {last}", email, "outsider")
            ds.enrollments.append(Enrollment(user.key, rng.choice(ds.courses).key, "StudentEnrollment"))
        for t in range(spec["teachers"]):
            uid, first, last, email = person()
            user = add_user(uid, f"{first} {last}", email, "teacher")
            for course in ds.courses[t :: spec["teachers"]]:
                ds.enrollments.append(Enrollment(user.key, course.key, "TeacherEnrollment"))

        flip = 0
        for programme in ds.programmes:
            course = ds.course(programme.course_key)
            members = [p for p in ds.participants if programme.key in p.programme_keys]
            for item in course.items:
                if item.kind not in ("quiz", "assignment"):
                    continue
                flip += 1
                event = FlipEvent(f"{UID_PREFIX}-F{flip:05d}", item.name, programme.key, rng.random() < 0.9)
                ds.flip_events.append(event)
                for member in members:
                    ds.attendances.append(Attendance(member.uid, event.key))
        return ds

    # ------------------------------------------------------------ lookups

    def programme(self, key: str) -> Programme:
        return next(p for p in self.programmes if p.key == key)

    def course(self, key: str) -> CanvasCourse:
        return next(c for c in self.courses if c.key == key)

    def user(self, key: str) -> CanvasUser:
        return next(u for u in self.users if u.key == key)

    def course_of_programme(self, programme: Programme) -> CanvasCourse:
        return self.course(programme.course_key)

    def items(self, kind: str | None = None) -> list[CourseItem]:
        return [i for c in self.courses for i in c.items if kind is None or i.kind == kind]

    def students_of(self, course_key: str) -> list[CanvasUser]:
        keys = {
            e.user_key
            for e in self.enrollments
            if e.course_key == course_key and e.type == "StudentEnrollment"
        }
        return [u for u in self.users if u.key in keys]

    def summary(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "seed": self.seed,
            "today": self.today.isoformat(),
            "canvas_users": len(self.users),
            "canvas_courses": len(self.courses),
            "quizzes": len(self.items("quiz")),
            "assignments": len(self.items("assignment")),
            "programmes": {
                s: sum(1 for p in self.programmes if p.status == s) for s in ("active", "past", "future")
            },
            "participants": len(self.participants),
            "flip_events": len(self.flip_events),
            "attendees": len(self.attendances),
            "enrollments": len(self.enrollments),
        }

    # ------------------------------------------------------------ loaders

    def load_canvas(self, model: Any) -> dict[str, int]:  # a CanvasModel (add_user, add_course, enroll)
        """Create the users (with a login and SIS id), courses and enrollments in a CanvasModel.

        Records the ids Canvas gave on the dataset (users, courses) and returns a summary of
        what was created. Quizzes, assignments, discussions and pages are created only when
        the model has ``add_quiz``/``add_assignment``/``add_discussion_topic``/``add_page``.
        """

        for user in self.users:
            created = model.add_user(
                user.name, unique_id=user.key, sis_user_id=user.sis_user_id, email=user.email
            )
            user.id = int(created.id)
        for course in self.courses:
            created = model.add_course(
                course.name,
                course_code=course.course_code,
                sis_course_id=course.key,
                workflow_state="available",
            )
            course.id = int(created.id)
        by_user = {u.key: u.id for u in self.users}
        by_course = {c.key: c.id for c in self.courses}
        for enrollment in self.enrollments:
            model.enroll(
                by_user[enrollment.user_key], course_id=by_course[enrollment.course_key], type=enrollment.type
            )
        loaded_items = 0
        makers = {
            "quiz": "add_quiz",
            "assignment": "add_assignment",
            "discussion_topic": "add_discussion_topic",
            "wiki_page": "add_page",
        }
        for item in self.items():
            maker = getattr(model, makers[item.kind], None)
            if maker is None:
                continue
            created = maker(by_course[item.course_key], item.name, points_possible=item.points_possible)
            item.id = int(getattr(created, "id", item.id))
            loaded_items += 1
        return {
            "users": len(self.users),
            "courses": len(self.courses),
            "enrollments": len(self.enrollments),
            "items": loaded_items,
        }

    def load_salesforce(self, model: _SalesforceModelLike) -> dict[str, int]:
        """Insert the programmes, contacts, participants, FLIP events and attendees; returns counts."""

        ids = self.salesforce_ids
        for programme in self.programmes:
            ids[programme.key] = model.insert(
                "TL_Programme__c",
                {
                    "Name": programme.name,
                    "LMS_Start_Date__c": programme.start.isoformat(),
                    "LMS_End_Date__c": programme.end.isoformat(),
                    "LMS_Course_Id__c": self.course(programme.course_key).id,
                },
            )
        pp = 0
        for participant in self.participants:
            contact = model.insert(
                "Contact",
                {
                    "FirstName": participant.first_name,
                    "LastName": participant.last_name,
                    "Email": participant.email,
                    "Participant_UID__c": participant.uid,
                },
            )
            ids[f"contact:{participant.uid}"] = contact
            for key in participant.programme_keys:
                ids[f"pp:{participant.uid}:{key}"] = model.insert(
                    "Programme_Participant__c",
                    {
                        "Participant_UID__c": participant.uid,
                        "ParticipantName__c": participant.name,
                        "Programme__c": ids[key],
                        "Contact__c": contact,
                    },
                )
                pp += 1
        for event in self.flip_events:
            ids[event.key] = model.insert(
                "FLIP_Event__c",
                {
                    "Name": event.name,
                    "Event_Name__c": event.name,
                    "Event_Full_Name__c": f"{event.name} ({self.programme(event.programme_key).name})",
                    "Send_to_LMS__c": event.send_to_lms,
                    "Cohort_lkp__c": ids[event.programme_key],
                },
            )
        for attendance in self.attendances:
            ids[f"attendee:{attendance.uid}:{attendance.flip_event_key}"] = model.insert(
                "Attendees__c",
                {
                    "Contact__c": ids[f"contact:{attendance.uid}"],
                    "FLIP_Event__c": ids[attendance.flip_event_key],
                    "Event_Attended__c": attendance.attended,
                },
            )
        return {
            "TL_Programme__c": len(self.programmes),
            "Contact": len(self.participants),
            "Programme_Participant__c": pp,
            "FLIP_Event__c": len(self.flip_events),
            "Attendees__c": len(self.attendances),
        }


def _programme_dates(status: str, today: dt.date, rng: random.Random) -> tuple[dt.date, dt.date]:
    """LMS start and end dates that make a programme active today, past or future.

    An active programme has started on or before today and ends after today (the original
    query's ``LMS_End_Date__c > TODAY`` is strict).
    """

    day = dt.timedelta(days=1)
    if status == "active":
        start = today - rng.randint(0, 200) * day
        return start, today + rng.randint(1, 300) * day
    if status == "past":
        end = today - rng.randint(0, 120) * day  # ends today at the latest: not active (end > today fails)
        return end - rng.randint(90, 365) * day, end
    start = today + rng.randint(1, 120) * day
    return start, start + rng.randint(90, 365) * day
