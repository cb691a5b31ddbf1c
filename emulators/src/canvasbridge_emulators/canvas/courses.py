"""Courses and sections: course events, default sections, cross-listing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from canvasbridge_emulators.canvas.core import ModelCore
from canvasbridge_emulators.canvas.exceptions import BadRequest, ResourceNotFound
from canvasbridge_emulators.canvas.objects import (
    COURSE_EVENTS,
    COURSE_STATES,
    DEFAULT_TERM_ID,
    ROOT_ACCOUNT_ID,
    Course,
    Section,
    assign_fields,
)


class CoursesAndSections(ModelCore):
    """Mixed into CanvasModel: courses and sections."""

    # ------------------------------------------------------------------ courses
    def add_course(
        self,
        name: str = "Unnamed Course",
        *,
        course_code: str | None = None,
        account_id: int = ROOT_ACCOUNT_ID,
        term_id: int | None = None,
        sis_course_id: str | None = None,
        integration_id: str | None = None,
        workflow_state: str = "unpublished",
        start_at: str | None = None,
        end_at: str | None = None,
        sis_import_id: int | None = None,
        **extra: Any,
    ) -> Course:
        with self._lock:
            self._get(self._s.accounts, account_id)
            self._get(self._s.terms, term_id or DEFAULT_TERM_ID)
            if workflow_state not in COURSE_STATES:
                raise BadRequest(f"invalid workflow_state {workflow_state!r}")
            self._claim("sis", "course", sis_course_id, -1, "sis_source_id")
            self._claim("integration", "course", integration_id, -1, "integration_id")
            course = Course(
                self._new_id("course"),
                name,
                course_code or name,
                account_id,
                term_id or DEFAULT_TERM_ID,
                sis_course_id=sis_course_id or None,
                integration_id=integration_id or None,
                workflow_state=workflow_state,
                start_at=start_at,
                end_at=end_at,
                sis_import_id=sis_import_id,
                created_by_sis=sis_import_id is not None,
            )
            assign_fields(course, extra)
            self._s.courses[course.id] = course
            self._s.course_sections[course.id] = []
            self._reindex("sis", "course", None, course.sis_course_id, course.id)
            self._reindex("integration", "course", None, course.integration_id, course.id)
            return course

    def get_course(self, course_id: int) -> Course:
        with self._lock:
            return self._get(self._s.courses, course_id)

    def find_course_by_sis(self, sis_course_id: str) -> Course | None:
        with self._lock:
            course_id = self._s.sis["course"].get(sis_course_id)
            return self._s.courses.get(course_id) if course_id else None

    def courses(
        self,
        account_id: int | None = None,
        *,
        recursive: bool = True,
        term_id: int | None = None,
        states: Iterable[str] | None = None,
    ) -> list[Course]:
        """Courses (not deleted unless ``states`` says so), in an account and its sub-accounts."""
        with self._lock:
            wanted = set(states) if states else {"unpublished", "available", "completed"}
            accounts: set[int] | None = None
            if account_id is not None and account_id != ROOT_ACCOUNT_ID:
                accounts = {account_id}
                if recursive:
                    accounts |= {a.id for a in self.sub_accounts(account_id, recursive=True)}
            return [
                c
                for c in self._s.courses.values()
                if c.workflow_state in wanted
                and (accounts is None or c.account_id in accounts)
                and (term_id is None or c.enrollment_term_id == term_id)
            ]

    def update_course(self, course_id: int, *, sticky: bool = False, **changes: Any) -> Course:
        """Change any Course field; ``event`` applies a ``course[event]`` (claim, offer,
        conclude, delete, undelete); ``term_id`` moves it to a term."""
        with self._lock:
            course = self._get(self._s.courses, course_id)
            event = changes.pop("event", None)
            if "term_id" in changes:
                changes["enrollment_term_id"] = changes.pop("term_id")
            if changes.get("enrollment_term_id") is not None:
                self._get(self._s.terms, changes["enrollment_term_id"])
            if changes.get("account_id") is not None:
                self._get(self._s.accounts, changes["account_id"])
            if "sis_course_id" in changes:
                new = changes.pop("sis_course_id") or None
                self._claim("sis", "course", new, course.id, "sis_source_id")
                self._reindex("sis", "course", course.sis_course_id, new, course.id)
                course.sis_course_id = new
            if "integration_id" in changes:
                new = changes.pop("integration_id") or None
                self._claim("integration", "course", new, course.id, "integration_id")
                self._reindex("integration", "course", course.integration_id, new, course.id)
                course.integration_id = new
            assign_fields(course, changes, sticky)
            if event is not None:
                self.course_event(course.id, event)
                if sticky:
                    course.sticky.add("workflow_state")
            return course

    def course_event(self, course_id: int, event: str) -> Course:
        with self._lock:
            course = self._get(self._s.courses, course_id)
            if event not in COURSE_EVENTS:
                raise BadRequest(f"invalid event {event!r}")
            course.workflow_state = COURSE_EVENTS[event]
            if event == "delete":
                for section_id in self._s.course_sections.get(course.id, []):
                    for enrollment_id in self._s.section_enrollments.get(section_id, []):
                        self._s.enrollments[enrollment_id].workflow_state = "deleted"
                self._reindex("sis", "course", course.sis_course_id, None, course.id)
            elif event == "undelete" and course.sis_course_id:
                self._reindex("sis", "course", None, course.sis_course_id, course.id)
            return course

    # ------------------------------------------------------------------ sections
    def add_section(
        self,
        course_id: int,
        name: str | None = None,
        *,
        sis_section_id: str | None = None,
        integration_id: str | None = None,
        start_at: str | None = None,
        end_at: str | None = None,
        restrict_enrollments_to_section_dates: bool = False,
        sis_import_id: int | None = None,
        default_section: bool = False,
    ) -> Section:
        with self._lock:
            course = self._get(self._s.courses, course_id)
            self._claim("sis", "section", sis_section_id, -1, "sis_source_id")
            self._claim("integration", "section", integration_id, -1, "integration_id")
            section = Section(
                self._new_id("section"),
                course.id,
                name or course.name,
                sis_section_id=sis_section_id or None,
                integration_id=integration_id or None,
                start_at=start_at,
                end_at=end_at,
                restrict_enrollments_to_section_dates=restrict_enrollments_to_section_dates,
                default_section=default_section,
                sis_import_id=sis_import_id,
                created_by_sis=sis_import_id is not None,
            )
            self._s.sections[section.id] = section
            self._s.course_sections.setdefault(course.id, []).append(section.id)
            self._s.section_enrollments[section.id] = []
            self._reindex("sis", "section", None, section.sis_section_id, section.id)
            self._reindex("integration", "section", None, section.integration_id, section.id)
            return section

    def get_section(self, section_id: int) -> Section:
        with self._lock:
            section = self._get(self._s.sections, section_id)
            if section.workflow_state == "deleted":
                raise ResourceNotFound()
            return section

    def find_section_by_sis(self, sis_section_id: str) -> Section | None:
        with self._lock:
            section_id = self._s.sis["section"].get(sis_section_id)
            return self._s.sections.get(section_id) if section_id else None

    def sections(self, course_id: int | None = None, *, include_deleted: bool = False) -> list[Section]:
        """Sections of a course (cross-listed ones count under the course they now sit in)."""
        with self._lock:
            ids = (
                self._s.course_sections.get(course_id, [])
                if course_id is not None
                else list(self._s.sections)
            )
            return [
                self._s.sections[i]
                for i in sorted(ids)
                if include_deleted or self._s.sections[i].workflow_state != "deleted"
            ]

    def default_section(self, course_id: int) -> Section:
        """The course's default section, made on first use as Canvas does."""
        with self._lock:
            for section in self.sections(course_id):
                if section.default_section:
                    return section
            course = self._get(self._s.courses, course_id)
            return self.add_section(course.id, course.name, default_section=True)

    def update_section(self, section_id: int, *, sticky: bool = False, **changes: Any) -> Section:
        with self._lock:
            section = self.get_section(section_id)
            if "sis_section_id" in changes:
                new = changes.pop("sis_section_id") or None
                self._claim("sis", "section", new, section.id, "sis_source_id")
                self._reindex("sis", "section", section.sis_section_id, new, section.id)
                section.sis_section_id = new
            if "integration_id" in changes:
                new = changes.pop("integration_id") or None
                self._claim("integration", "section", new, section.id, "integration_id")
                self._reindex("integration", "section", section.integration_id, new, section.id)
                section.integration_id = new
            assign_fields(section, changes, sticky)
            return section

    def delete_section(self, section_id: int, *, force: bool = False) -> Section:
        """Canvas refuses while the section has (non-deleted) enrollments, unless ``force``."""
        with self._lock:
            section = self.get_section(section_id)
            live = [
                self._s.enrollments[i]
                for i in self._s.section_enrollments.get(section.id, [])
                if self._s.enrollments[i].workflow_state != "deleted"
            ]
            if live and not force:
                raise BadRequest("You can't delete a section that has enrollments")
            for enrollment in live:
                enrollment.workflow_state = "deleted"
            section.workflow_state = "deleted"
            self._reindex("sis", "section", section.sis_section_id, None, section.id)
            return section

    def crosslist_section(self, section_id: int, new_course_id: int) -> Section:
        with self._lock:
            section = self.get_section(section_id)
            target = self._get(self._s.courses, new_course_id)
            if target.workflow_state == "deleted":
                raise ResourceNotFound()
            if section.course_id == target.id:
                return section
            if section.nonxlist_course_id is None:
                section.nonxlist_course_id = section.course_id
            if section.nonxlist_course_id == target.id:
                section.nonxlist_course_id = None
            self._move_section(section, target.id)
            return section

    def uncrosslist_section(self, section_id: int) -> Section:
        with self._lock:
            section = self.get_section(section_id)
            if section.nonxlist_course_id is None:
                raise BadRequest("section is not cross-listed")
            original = section.nonxlist_course_id
            section.nonxlist_course_id = None
            self._move_section(section, original)
            return section

    def move_section(self, section_id: int, course_id: int) -> Section:
        """Put a section in another course (as a SIS import does), enrollments and all."""
        with self._lock:
            section = self.get_section(section_id)
            self._get(self._s.courses, course_id)
            self._move_section(section, course_id)
            return section

    def _move_section(self, section: Section, course_id: int) -> None:
        self._s.course_sections[section.course_id].remove(section.id)
        self._s.course_sections.setdefault(course_id, []).append(section.id)
        section.course_id = course_id
        for enrollment_id in self._s.section_enrollments.get(section.id, []):
            self._s.enrollments[enrollment_id].course_id = course_id
