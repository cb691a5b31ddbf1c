"""Course content the activity flow looks up: assignments, quizzes, discussions, pages, submissions.

Read-mostly: seeded through the model (``add_assignment``, ``add_quiz``,
``add_discussion_topic``, ``add_page``, ``add_submission``, ``grade_submission``,
``add_quiz_submission``, ``add_discussion_entry``) and served by GET endpoints, which is what
a Live Events consumer needs to fill in names, scores and grades that a Caliper payload lacks,
and what a backfill reads. A quiz gets its assignment, as in Canvas, so its submissions also
show under ``assignments/:id/submissions/:user_id``.

``at`` (Canvas's ISO form, to the second) is when the activity happened: the Live Events
generator passes its event's ``eventTime`` so that the REST objects carry the same moment
(``submitted_at``, ``graded_at``, ``created_at``). Each submission keeps one history entry
per attempt (its latest state), as Canvas's ``submission_history`` does; every grading is
also written to the grade change log (``audit.py``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any

from canvasbridge_emulators.canvas.audit import AuditState
from canvasbridge_emulators.canvas.exceptions import ResourceNotFound
from canvasbridge_emulators.canvas.objects import now_iso


def _now() -> str:
    return now_iso()


@dataclass
class Assignment:
    id: int
    course_id: int
    name: str
    points_possible: float | None = None
    quiz_id: int | None = None
    discussion_topic_id: int | None = None
    due_at: str | None = None
    published: bool = True
    submission_types: tuple[str, ...] = ("online_upload",)
    created_at: str = field(default_factory=_now)


@dataclass
class Quiz:
    id: int
    course_id: int
    title: str
    assignment_id: int
    points_possible: float | None = None
    quiz_type: str = "assignment"
    published: bool = True
    created_at: str = field(default_factory=_now)


@dataclass
class DiscussionTopic:
    id: int
    course_id: int
    title: str
    message: str = ""
    assignment_id: int | None = None
    posted_at: str = field(default_factory=_now)


@dataclass
class Page:
    id: int
    course_id: int
    title: str
    url: str
    body: str = ""
    published: bool = True
    created_at: str = field(default_factory=_now)


@dataclass
class Submission:
    id: int
    assignment_id: int
    user_id: int
    score: float | None = None
    grade: str | None = None
    workflow_state: str = "submitted"  # submitted | graded | pending_review | unsubmitted
    attempt: int | None = 1
    submitted_at: str | None = field(default_factory=_now)
    graded_at: str | None = None
    # who graded it: a user id, a negative id for a process (the quiz autograder uses
    # -quiz_id), None while ungraded. Canvas always sends the key.
    grader_id: int | None = None
    history: list[Submission] = field(default_factory=list)  # one per attempt: its latest state

    def keep_version(self) -> None:
        """Record the current state as the latest of its attempt in ``history``."""
        version = replace(self, history=[])
        if self.history and self.history[-1].attempt == self.attempt:
            self.history[-1] = version
        else:
            self.history.append(version)


@dataclass
class DiscussionEntry:
    id: int
    topic_id: int
    user_id: int
    message: str
    created_at: str = field(default_factory=_now)
    parent_id: int | None = None


@dataclass
class QuizSubmission:
    id: int
    quiz_id: int
    user_id: int
    submission_id: int
    score: float | None = None
    attempt: int = 1
    workflow_state: str = "complete"
    started_at: str = field(default_factory=_now)
    finished_at: str | None = field(default_factory=_now)


class ContentState:
    def __init__(self) -> None:
        self.assignments: dict[int, Assignment] = {}
        self.quizzes: dict[int, Quiz] = {}
        self.discussion_topics: dict[int, DiscussionTopic] = {}
        self.pages: dict[int, Page] = {}
        self.submissions: dict[int, Submission] = {}
        self.by_assignment_user: dict[tuple[int, int], int] = {}
        self.quiz_submissions: dict[int, QuizSubmission] = {}
        self.discussion_entries: dict[int, DiscussionEntry] = {}
        self.audit = AuditState()


class CourseContent:
    """Mixed into :class:`CanvasModel`; uses its lock, id counters and ``_s.content``."""

    _lock: threading.RLock
    _s: Any

    def _new_id(self, kind: str) -> int:  # provided by CanvasModel
        raise NotImplementedError

    def get_course(self, course_id: int) -> Any:  # provided by CanvasModel
        raise NotImplementedError

    def get_user(self, user_id: int) -> Any:  # provided by CanvasModel
        raise NotImplementedError

    def record_grade_change(self, submission: Submission, course_id: int, grade_before: str | None) -> Any:
        raise NotImplementedError  # provided by AuditLogs

    @property
    def _c(self) -> ContentState:
        content: ContentState = self._s.content
        return content

    # ------------------------------------------------------------------ creation
    def add_assignment(
        self,
        course_id: int,
        name: str,
        *,
        points_possible: float | None = None,
        due_at: str | None = None,
        submission_types: tuple[str, ...] = ("online_upload",),
    ) -> Assignment:
        with self._lock:
            self.get_course(course_id)
            assignment = Assignment(
                self._new_id("assignment"),
                course_id,
                name,
                points_possible=points_possible,
                due_at=due_at,
                submission_types=submission_types,
            )
            self._c.assignments[assignment.id] = assignment
            return assignment

    def add_quiz(self, course_id: int, title: str, *, points_possible: float | None = None) -> Quiz:
        with self._lock:
            assignment = self.add_assignment(
                course_id, title, points_possible=points_possible, submission_types=("online_quiz",)
            )
            quiz = Quiz(
                self._new_id("quiz"), course_id, title, assignment.id, points_possible=points_possible
            )
            assignment.quiz_id = quiz.id
            self._c.quizzes[quiz.id] = quiz
            return quiz

    def add_discussion_topic(
        self, course_id: int, title: str, *, message: str = "", points_possible: float | None = None
    ) -> DiscussionTopic:
        with self._lock:
            self.get_course(course_id)
            topic = DiscussionTopic(self._new_id("discussion_topic"), course_id, title, message=message)
            if points_possible is not None:
                assignment = self.add_assignment(
                    course_id, title, points_possible=points_possible, submission_types=("discussion_topic",)
                )
                assignment.discussion_topic_id = topic.id
                topic.assignment_id = assignment.id
            self._c.discussion_topics[topic.id] = topic
            return topic

    def add_page(
        self, course_id: int, title: str, *, body: str = "", points_possible: float | None = None
    ) -> Page:
        with self._lock:
            self.get_course(course_id)
            slug = "-".join("".join(ch if ch.isalnum() else " " for ch in title.lower()).split())
            page = Page(self._new_id("page"), course_id, title, slug or "page", body=body)
            self._c.pages[page.id] = page
            return page

    def add_submission(
        self,
        assignment_id: int,
        user_id: int,
        *,
        score: float | None = None,
        grade: str | None = None,
        workflow_state: str | None = None,
        grader_id: int | None = None,
        at: str | None = None,
    ) -> Submission:
        """Submit (again) at ``at`` (default now): one submission per user and assignment,
        its attempt counting up.

        A graded submission's ``grader_id`` is ``grader_id``, else the course's first active
        teacher (``None`` when it has none)."""
        when = at or _now()
        with self._lock:
            assignment = self.get_assignment(assignment_id)
            self.get_user(user_id)
            state = workflow_state or ("graded" if score is not None or grade is not None else "submitted")
            if grade is None and score is not None:
                grade = f"{score:g}"
            existing_id = self._c.by_assignment_user.get((assignment.id, user_id))
            grade_before = None
            if existing_id is not None:
                submission = self._c.submissions[existing_id]
                grade_before = submission.grade
                submission.attempt = (submission.attempt or 0) + 1
                submission.score, submission.grade, submission.workflow_state = score, grade, state
                submission.submitted_at = when
            else:
                submission = Submission(
                    self._new_id("submission"),
                    assignment.id,
                    user_id,
                    score=score,
                    grade=grade,
                    workflow_state=state,
                    submitted_at=when,
                )
                self._c.submissions[submission.id] = submission
                self._c.by_assignment_user[(assignment.id, user_id)] = submission.id
            if state == "graded":
                submission.graded_at = when
                submission.grader_id = grader_id if grader_id is not None else self._a_teacher(assignment)
            else:
                submission.grader_id = None
            submission.keep_version()
            if state == "graded":
                self.record_grade_change(submission, assignment.course_id, grade_before)
            return submission

    def ensure_submission(self, assignment_id: int, user_id: int) -> Submission:
        """The user's submission, or the unsubmitted placeholder Canvas keeps for every student."""
        with self._lock:
            assignment = self.get_assignment(assignment_id)
            self.get_user(user_id)
            existing_id = self._c.by_assignment_user.get((assignment.id, user_id))
            if existing_id is not None:
                return self._c.submissions[existing_id]
            submission = Submission(
                self._new_id("submission"),
                assignment.id,
                user_id,
                workflow_state="unsubmitted",
                attempt=None,
                submitted_at=None,
            )
            self._c.submissions[submission.id] = submission
            self._c.by_assignment_user[(assignment.id, user_id)] = submission.id
            return submission

    def grade_submission(
        self,
        assignment_id: int,
        user_id: int,
        *,
        score: float | None,
        grade: str | None = None,
        grader_id: int | None = None,
        at: str | None = None,
    ) -> Submission:
        """Grade (or regrade) the user's current attempt at ``at``; as in Canvas, grading a
        user who has not submitted creates a graded submission without an attempt."""
        when = at or _now()
        with self._lock:
            assignment = self.get_assignment(assignment_id)
            self.get_user(user_id)
            if grade is None and score is not None:
                grade = f"{score:g}"
            existing_id = self._c.by_assignment_user.get((assignment.id, user_id))
            if existing_id is None:
                submission = Submission(
                    self._new_id("submission"), assignment.id, user_id, attempt=None, submitted_at=None
                )
                self._c.submissions[submission.id] = submission
                self._c.by_assignment_user[(assignment.id, user_id)] = submission.id
            else:
                submission = self._c.submissions[existing_id]
            grade_before = submission.grade
            submission.score, submission.grade, submission.workflow_state = score, grade, "graded"
            submission.graded_at = when
            submission.grader_id = grader_id if grader_id is not None else self._a_teacher(assignment)
            submission.keep_version()
            self.record_grade_change(submission, assignment.course_id, grade_before)
            return submission

    def _a_teacher(self, assignment: Assignment) -> int | None:
        teachers = self.enrollments(  # type: ignore[attr-defined]  # provided by CanvasModel
            course_id=assignment.course_id, types=["TeacherEnrollment"], states=["active"]
        )
        return int(teachers[0].user_id) if teachers else None

    def add_quiz_submission(
        self, quiz_id: int, user_id: int, *, score: float | None = None, at: str | None = None
    ) -> QuizSubmission:
        """Turn in a quiz at ``at`` (default now); its assignment's submission gets the attempt."""
        with self._lock:
            quiz = self.get_quiz(quiz_id)
            # the quiz autograder grades it: Canvas records the grader as -quiz_id
            grader = -quiz.id if score is not None else None
            submission = self.add_submission(
                quiz.assignment_id, user_id, score=score, grader_id=grader, at=at
            )
            quiz_submission = QuizSubmission(
                self._new_id("quiz_submission"),
                quiz.id,
                user_id,
                submission.id,
                score=score,
                attempt=submission.attempt or 1,
                started_at=submission.submitted_at or _now(),
                finished_at=submission.submitted_at,
            )
            self._c.quiz_submissions[quiz_submission.id] = quiz_submission
            return quiz_submission

    def add_discussion_entry(
        self,
        topic_id: int,
        user_id: int,
        message: str = "",
        *,
        at: str | None = None,
        parent_id: int | None = None,
    ) -> DiscussionEntry:
        """A reply to a topic (or, with ``parent_id``, to one of its entries), posted at ``at``."""
        with self._lock:
            topic = self.get_discussion_topic(topic_id)
            self.get_user(user_id)
            parent = self._c.discussion_entries.get(parent_id) if parent_id is not None else None
            if parent_id is not None and (parent is None or parent.topic_id != topic.id):
                raise ResourceNotFound()
            entry = DiscussionEntry(
                self._new_id("discussion_entry"),
                topic.id,
                user_id,
                message,
                created_at=at or _now(),
                parent_id=parent_id,
            )
            self._c.discussion_entries[entry.id] = entry
            return entry

    # ------------------------------------------------------------------ reading
    def _in_course(self, table: dict[int, Any], item_id: int, course_id: int | None) -> Any:
        with self._lock:
            item = table.get(item_id)
            if item is None or (course_id is not None and item.course_id != course_id):
                raise ResourceNotFound()
            return item

    def get_assignment(self, assignment_id: int, course_id: int | None = None) -> Assignment:
        result: Assignment = self._in_course(self._c.assignments, assignment_id, course_id)
        return result

    def get_quiz(self, quiz_id: int, course_id: int | None = None) -> Quiz:
        result: Quiz = self._in_course(self._c.quizzes, quiz_id, course_id)
        return result

    def get_discussion_topic(self, topic_id: int, course_id: int | None = None) -> DiscussionTopic:
        result: DiscussionTopic = self._in_course(self._c.discussion_topics, topic_id, course_id)
        return result

    def get_page(self, ref: str, course_id: int) -> Page:
        with self._lock:
            for page in self._c.pages.values():
                if page.course_id == course_id and (page.url == ref or str(page.id) == ref):
                    return page
            raise ResourceNotFound()

    def assignments(self, course_id: int) -> list[Assignment]:
        with self._lock:
            return [a for a in self._c.assignments.values() if a.course_id == course_id]

    def quizzes(self, course_id: int) -> list[Quiz]:
        with self._lock:
            return [q for q in self._c.quizzes.values() if q.course_id == course_id]

    def discussion_topics(self, course_id: int) -> list[DiscussionTopic]:
        with self._lock:
            return [t for t in self._c.discussion_topics.values() if t.course_id == course_id]

    def find_submission(self, assignment_id: int, user_id: int) -> Submission | None:
        with self._lock:
            submission_id = self._c.by_assignment_user.get((assignment_id, user_id))
            return self._c.submissions.get(submission_id) if submission_id else None

    def submissions(self, assignment_id: int) -> list[Submission]:
        with self._lock:
            return [s for s in self._c.submissions.values() if s.assignment_id == assignment_id]

    def get_quiz_submission(self, quiz_submission_id: int, quiz_id: int | None = None) -> QuizSubmission:
        with self._lock:
            item = self._c.quiz_submissions.get(quiz_submission_id)
            if item is None or (quiz_id is not None and item.quiz_id != quiz_id):
                raise ResourceNotFound()
            return item

    def quiz_submissions(self, quiz_id: int) -> list[QuizSubmission]:
        with self._lock:
            return [s for s in self._c.quiz_submissions.values() if s.quiz_id == quiz_id]

    def discussion_entries(self, topic_id: int) -> list[DiscussionEntry]:
        """The topic's entries, newest first (as Canvas lists them)."""
        with self._lock:
            found = [e for e in self._c.discussion_entries.values() if e.topic_id == topic_id]
        return sorted(found, key=lambda e: (e.created_at, e.id), reverse=True)

    def course_submissions(self, course_id: int) -> list[Submission]:
        with self._lock:
            assignments = {a.id for a in self._c.assignments.values() if a.course_id == course_id}
            return [s for s in self._c.submissions.values() if s.assignment_id in assignments]
