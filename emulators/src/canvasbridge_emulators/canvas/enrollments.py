"""Roles (built-in and custom) and enrollments, with Canvas's enrollment state machine."""

from __future__ import annotations

from collections.abc import Iterable

from canvasbridge_emulators.canvas.core import ModelCore
from canvasbridge_emulators.canvas.exceptions import BadRequest, ReactivateError, ResourceNotFound
from canvasbridge_emulators.canvas.objects import (
    BUILTIN_ROLE_IDS,
    ENROLLMENT_STATES,
    ENROLLMENT_TYPES,
    Enrollment,
    Role,
    now_iso,
)


class RolesAndEnrollments(ModelCore):
    """Mixed into CanvasModel: roles and enrollments."""

    # ------------------------------------------------------------------ roles
    def add_role(self, label: str, base_role_type: str = "StudentEnrollment") -> Role:
        with self._lock:
            if base_role_type not in ENROLLMENT_TYPES and base_role_type != "AccountMembership":
                raise BadRequest("Base role type is invalid")
            if any(r.label == label and r.workflow_state == "active" for r in self._s.roles.values()):
                raise BadRequest("Label is already taken")
            role = Role(
                self._new_id("role"),
                label,
                base_role_type,
                is_account_role=base_role_type == "AccountMembership",
            )
            self._s.roles[role.id] = role
            return role

    def get_role(self, role_id: int) -> Role:
        with self._lock:
            return self._get(self._s.roles, role_id)

    def roles(self) -> list[Role]:
        with self._lock:
            return [r for r in self._s.roles.values() if r.workflow_state == "active"]

    def find_role(self, name: str) -> Role | None:
        """A role by label or built-in type name (``StudentEnrollment``, ``student``, ``Sensor``)."""
        simple = {"student": "StudentEnrollment", "teacher": "TeacherEnrollment", "ta": "TaEnrollment"}
        simple |= {"observer": "ObserverEnrollment", "designer": "DesignerEnrollment"}
        name = simple.get(name.lower(), name)
        with self._lock:
            if name in BUILTIN_ROLE_IDS:
                return self._s.roles[BUILTIN_ROLE_IDS[name]]
            for role in self._s.roles.values():
                if role.label == name and role.workflow_state == "active":
                    return role
            return None

    # ------------------------------------------------------------------ enrollments
    def enroll(
        self,
        user_id: int,
        *,
        course_id: int | None = None,
        section_id: int | None = None,
        type: str = "StudentEnrollment",
        state: str = "active",
        role_id: int | None = None,
        limit_privileges_to_course_section: bool = False,
        associated_user_id: int | None = None,
        start_at: str | None = None,
        end_at: str | None = None,
        sis_import_id: int | None = None,
    ) -> Enrollment:
        """Enroll a user in a section (or the course's default section).

        As in Canvas, enrolling again with the same user, section, type and role reuses
        the existing enrollment and sets its state.
        """
        with self._lock:
            s = self._s
            self._get(s.users, user_id)
            if s.users[user_id].workflow_state == "deleted":
                raise ResourceNotFound()
            role: Role | None = None
            if role_id is not None:
                role = self._get(s.roles, role_id)
                type = role.base_role_type
            if type not in ENROLLMENT_TYPES:
                raise BadRequest("Invalid type")
            if role is None:
                role = s.roles[BUILTIN_ROLE_IDS[type]]
            if state not in ENROLLMENT_STATES:
                raise BadRequest(f"Invalid enrollment_state {state!r}")
            if section_id is not None:
                section = self.get_section(section_id)
                if course_id is not None and section.course_id != course_id:
                    raise BadRequest("The specified section does not belong to this course")
            elif course_id is not None:
                section = self.default_section(course_id)
            else:
                raise BadRequest("a course or a section is needed")
            course = s.courses[section.course_id]
            if course.workflow_state == "deleted":
                raise ResourceNotFound()
            if course.workflow_state == "completed":
                raise BadRequest("Can't add an enrollment to a concluded course.")
            for enrollment_id in s.section_user.get((section.id, user_id), ()):
                existing = s.enrollments[enrollment_id]
                if (
                    existing.user_id == user_id
                    and existing.role_id == role.id
                    and existing.associated_user_id == associated_user_id
                ):
                    existing.workflow_state = state
                    existing.limit_privileges_to_course_section = limit_privileges_to_course_section
                    existing.updated_at = now_iso()
                    if sis_import_id is not None:
                        existing.sis_import_id = sis_import_id
                    return existing
            enrollment = Enrollment(
                self._new_id("enrollment"),
                user_id,
                course.id,
                section.id,
                type,
                role.id,
                workflow_state=state,
                limit_privileges_to_course_section=limit_privileges_to_course_section,
                associated_user_id=associated_user_id,
                start_at=start_at,
                end_at=end_at,
                sis_import_id=sis_import_id,
                created_by_sis=sis_import_id is not None,
            )
            s.enrollments[enrollment.id] = enrollment
            s.section_enrollments.setdefault(section.id, []).append(enrollment.id)
            s.user_enrollments.setdefault(user_id, []).append(enrollment.id)
            key = (section.id, user_id)
            s.section_user[key] = (*s.section_user.get(key, ()), enrollment.id)
            return enrollment

    def get_enrollment(self, enrollment_id: int) -> Enrollment:
        with self._lock:
            return self._get(self._s.enrollments, enrollment_id)

    def enrollments(
        self,
        *,
        course_id: int | None = None,
        section_id: int | None = None,
        user_id: int | None = None,
        types: Iterable[str] | None = None,
        states: Iterable[str] | None = None,
        role_ids: Iterable[int] | None = None,
        term_id: int | None = None,
    ) -> list[Enrollment]:
        """Enrollments matching every given filter, by id. ``states=None`` means all states."""
        with self._lock:
            s = self._s
            if section_id is not None and user_id is not None:
                ids: Iterable[int] = s.section_user.get((section_id, user_id), ())
            elif section_id is not None:
                ids = s.section_enrollments.get(section_id, [])
            elif user_id is not None:
                ids = s.user_enrollments.get(user_id, [])
            elif course_id is not None:
                ids = [
                    i
                    for sec in s.course_sections.get(course_id, [])
                    for i in s.section_enrollments.get(sec, [])
                ]
            else:
                ids = list(s.enrollments)
            type_set = set(types) if types else None
            state_set = set(states) if states else None
            role_set = set(role_ids) if role_ids else None
            out = []
            for i in sorted(ids):
                e = s.enrollments[i]
                if course_id is not None and e.course_id != course_id:
                    continue
                if user_id is not None and e.user_id != user_id:
                    continue
                if type_set is not None and e.type not in type_set:
                    continue
                if state_set is not None and e.workflow_state not in state_set:
                    continue
                if role_set is not None and e.role_id not in role_set:
                    continue
                if term_id is not None and s.courses[e.course_id].enrollment_term_id != term_id:
                    continue
                out.append(e)
            return out

    def set_enrollment_state(self, enrollment_id: int, state: str, *, at: str | None = None) -> Enrollment:
        """Put an enrollment in any state (``active``, ``inactive``, ``completed``, ``deleted``...),
        updated at ``at`` (default now)."""
        with self._lock:
            enrollment = self._get(self._s.enrollments, enrollment_id)
            if state not in ENROLLMENT_STATES:
                raise BadRequest(f"Invalid enrollment_state {state!r}")
            enrollment.workflow_state = state
            enrollment.updated_at = at or now_iso()
            return enrollment

    def end_enrollment(self, enrollment_id: int, task: str = "conclude") -> Enrollment:
        """``DELETE .../enrollments/:id`` with ``task=conclude|delete|inactivate|deactivate``."""
        states = {
            "conclude": "completed",
            "delete": "deleted",
            "inactivate": "inactive",
            "deactivate": "inactive",
        }
        if task not in states:
            raise BadRequest(f"{task} is not a valid task")
        with self._lock:
            enrollment = self._get(self._s.enrollments, enrollment_id)
            if enrollment.workflow_state == "deleted":
                raise ResourceNotFound()
            return self.set_enrollment_state(enrollment_id, states[task])

    def reactivate_enrollment(self, enrollment_id: int) -> Enrollment:
        with self._lock:
            enrollment = self._get(self._s.enrollments, enrollment_id)
            if enrollment.workflow_state != "inactive":
                raise ReactivateError("enrollment not inactive")
            return self.set_enrollment_state(enrollment_id, "active")
