"""The JSON shape of each Canvas object, as the API returns it (reference section 1)."""

from __future__ import annotations

from typing import Any

from canvasbridge_emulators.canvas.admins import AccountUser
from canvasbridge_emulators.canvas.content import (
    Assignment,
    DiscussionTopic,
    Page,
    Quiz,
    QuizSubmission,
    Submission,
)
from canvasbridge_emulators.canvas.models import (
    ROOT_ACCOUNT_ID,
    Account,
    CanvasModel,
    Course,
    Enrollment,
    Login,
    Role,
    Section,
    Term,
    User,
)

DEFAULT_STORAGE_QUOTA_MB = 500


def account(a: Account) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "uuid": a.uuid,
        "parent_account_id": a.parent_account_id,
        "root_account_id": a.root_account_id,
        "workflow_state": a.workflow_state,
        "default_storage_quota_mb": DEFAULT_STORAGE_QUOTA_MB,
        "default_user_storage_quota_mb": 50,
        "default_group_storage_quota_mb": 50,
        "default_time_zone": a.default_time_zone,
        "sis_account_id": a.sis_account_id,
        "integration_id": a.integration_id,
        "sis_import_id": a.sis_import_id,
        "lti_guid": f"{a.uuid}:canvas-lms",
    }


def term(t: Term) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "start_at": t.start_at,
        "end_at": t.end_at,
        "created_at": t.created_at,
        "workflow_state": t.workflow_state,
        "grading_period_group_id": None,
        "overrides": {},
        "sis_term_id": t.sis_term_id,
        "sis_import_id": t.sis_import_id,
        "integration_id": t.integration_id,
    }


def user(model: CanvasModel, u: User, *, full: bool = False) -> dict[str, Any]:
    login = model.primary_login(u.id)
    out: dict[str, Any] = {
        "id": u.id,
        "name": u.name,
        "created_at": u.created_at,
        "sortable_name": u.sortable_name,
        "short_name": u.short_name,
        "sis_user_id": login.sis_user_id if login else None,
        "integration_id": login.integration_id if login else None,
        "sis_import_id": login.sis_import_id if login else None,
        "root_account": "canvas.emulator",
        "login_id": login.unique_id if login else None,
    }
    if full:
        out["email"] = u.email
        out["locale"] = u.locale
        out["effective_locale"] = u.locale or "en"
        out["time_zone"] = u.time_zone
        out["avatar_url"] = None
    return out


def profile(model: CanvasModel, u: User, base: str) -> dict[str, Any]:
    """``GET /users/:id/profile``."""
    login = model.primary_login(u.id)
    return {
        "id": u.id,
        "name": u.name,
        "short_name": u.short_name,
        "sortable_name": u.sortable_name,
        "title": None,
        "bio": None,
        "primary_email": u.email,
        "login_id": login.unique_id if login else None,
        "sis_user_id": login.sis_user_id if login else None,
        "integration_id": login.integration_id if login else None,
        "lti_user_id": None,
        "avatar_url": None,
        "calendar": {"ics": f"{base}/feeds/calendars/user_{u.uuid}.ics"},
        "time_zone": u.time_zone,
        "locale": u.locale,
        "effective_locale": u.locale or "en",
    }


def user_summary(model: CanvasModel, u: User) -> dict[str, Any]:
    return user(model, u)


def login(lg: Login) -> dict[str, Any]:
    return {
        "id": lg.id,
        "user_id": lg.user_id,
        "account_id": lg.account_id,
        "unique_id": lg.unique_id,
        "sis_user_id": lg.sis_user_id,
        "integration_id": lg.integration_id,
        "authentication_provider_id": lg.authentication_provider_id,
        "authentication_provider_type": None,
        "workflow_state": lg.workflow_state,
        "declared_user_type": lg.declared_user_type,
        "created_at": lg.created_at,
    }


def course(c: Course) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "account_id": c.account_id,
        "uuid": c.uuid,
        "start_at": c.start_at,
        "end_at": c.end_at,
        "grading_standard_id": None,
        "is_public": False,
        "is_public_to_auth_users": False,
        "public_syllabus": False,
        "public_syllabus_to_auth": False,
        "created_at": c.created_at,
        "course_code": c.course_code,
        "original_name": None,
        "default_view": c.default_view,
        "root_account_id": ROOT_ACCOUNT_ID,
        "enrollment_term_id": c.enrollment_term_id,
        "license": "private",
        "storage_quota_mb": DEFAULT_STORAGE_QUOTA_MB,
        "hide_final_grades": False,
        "apply_assignment_group_weights": False,
        "time_zone": c.time_zone,
        "locale": None,
        "blueprint": False,
        "template": False,
        "homeroom_course": False,
        "sis_course_id": c.sis_course_id,
        "sis_import_id": c.sis_import_id,
        "integration_id": c.integration_id,
        "workflow_state": c.workflow_state,
        "restrict_enrollments_to_course_dates": c.restrict_enrollments_to_course_dates,
        "course_format": c.course_format,
    }


def section(model: CanvasModel, s: Section, *, total_students: bool = False) -> dict[str, Any]:
    course_obj = model.get_course(s.course_id)
    out: dict[str, Any] = {
        "id": s.id,
        "course_id": s.course_id,
        "name": s.name,
        "start_at": s.start_at,
        "end_at": s.end_at,
        "created_at": s.created_at,
        "restrict_enrollments_to_section_dates": s.restrict_enrollments_to_section_dates,
        "nonxlist_course_id": s.nonxlist_course_id,
        "sis_section_id": s.sis_section_id,
        "sis_course_id": course_obj.sis_course_id,
        "integration_id": s.integration_id,
        "sis_import_id": s.sis_import_id,
    }
    if total_students:
        out["total_students"] = len(
            model.enrollments(section_id=s.id, types=["StudentEnrollment"], states=["active", "invited"])
        )
    return out


def enrollment(model: CanvasModel, e: Enrollment, base_url: str) -> dict[str, Any]:
    course_obj = model.get_course(e.course_id)
    section_obj = model.get_section(e.course_section_id) if _live_section(model, e) else None
    role_obj = model.get_role(e.role_id)
    user_obj = model.get_user(e.user_id)
    html_url = f"{base_url}/courses/{e.course_id}/users/{e.user_id}"
    out: dict[str, Any] = {
        "id": e.id,
        "user_id": e.user_id,
        "course_id": e.course_id,
        "type": e.type,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
        "associated_user_id": e.associated_user_id,
        "start_at": e.start_at,
        "end_at": e.end_at,
        "course_section_id": e.course_section_id,
        "root_account_id": ROOT_ACCOUNT_ID,
        "limit_privileges_to_course_section": e.limit_privileges_to_course_section,
        "enrollment_state": e.workflow_state,
        "role": role_obj.role,
        "role_id": e.role_id,
        "last_activity_at": None,
        "last_attended_at": None,
        "total_activity_time": 0,
        "sis_import_id": e.sis_import_id,
        "sis_account_id": None,
        "sis_course_id": course_obj.sis_course_id,
        "course_integration_id": course_obj.integration_id,
        "sis_section_id": section_obj.sis_section_id if section_obj else None,
        "section_integration_id": section_obj.integration_id if section_obj else None,
        "sis_user_id": None,
        "html_url": html_url,
        "user": user(model, user_obj),
    }
    login_obj = model.primary_login(e.user_id)
    out["sis_user_id"] = login_obj.sis_user_id if login_obj else None
    if e.type == "StudentEnrollment":
        out["grades"] = {
            "html_url": f"{base_url}/courses/{e.course_id}/grades/{e.user_id}",
            "current_grade": None,
            "current_score": None,
            "final_grade": None,
            "final_score": None,
            "unposted_current_score": None,
            "unposted_final_score": None,
        }
    return out


def _live_section(model: CanvasModel, e: Enrollment) -> bool:
    try:
        model.get_section(e.course_section_id)
    except Exception:
        return False
    return True


def role(r: Role) -> dict[str, Any]:
    return {
        "id": r.id,
        "role": r.role,
        "label": r.label,
        # Canvas shows every account role, the built-in AccountAdmin too, as AccountMembership
        "base_role_type": "AccountMembership" if r.is_account_role else r.base_role_type,
        "workflow_state": r.workflow_state,
        "is_account_role": r.is_account_role,
        "account": {"id": r.account_id},
        "permissions": {},
    }


def admin(model: CanvasModel, a: AccountUser) -> dict[str, Any]:
    return {
        "id": a.id,
        "role": model.get_role(a.role_id).role,
        "role_id": a.role_id,
        "user": user(model, model.get_user(a.user_id)),
        "workflow_state": a.workflow_state,
    }


def assignment(a: Assignment, base: str) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "description": None,
        "created_at": a.created_at,
        "updated_at": a.created_at,
        "due_at": a.due_at,
        "lock_at": None,
        "unlock_at": None,
        "course_id": a.course_id,
        "html_url": f"{base}/courses/{a.course_id}/assignments/{a.id}",
        "points_possible": a.points_possible,
        "grading_type": "points",
        "submission_types": list(a.submission_types),
        "published": a.published,
        "workflow_state": "published" if a.published else "unpublished",
        "quiz_id": a.quiz_id,
        "is_quiz_assignment": a.quiz_id is not None,
        "discussion_topic": {"id": a.discussion_topic_id} if a.discussion_topic_id else None,
        "muted": False,
        "omit_from_final_grade": False,
        "has_overrides": False,
        "submissions_download_url": f"{base}/courses/{a.course_id}/assignments/{a.id}/submissions?zip=1",
        "assignment_group_id": a.course_id,  # one assignment group per course, numbered as it
        "allowed_attempts": -1,
        "grading_standard_id": None,
        "position": a.id,
        "peer_reviews": False,
        "only_visible_to_overrides": False,
        "locked_for_user": False,
        "anonymous_grading": False,
    }


def submission(s: Submission, base: str, course_id: int) -> dict[str, Any]:
    path = f"/courses/{course_id}/assignments/{s.assignment_id}/submissions/{s.user_id}"
    submitted = s.workflow_state != "unsubmitted"
    return {
        "id": s.id,
        "assignment_id": s.assignment_id,
        "user_id": s.user_id,
        "attempt": s.attempt,
        "body": None,
        "url": None,
        "score": s.score,
        "grade": s.grade,
        "entered_score": s.score,
        "entered_grade": s.grade,
        "submitted_at": s.submitted_at,
        "graded_at": s.graded_at,
        "grader_id": s.grader_id,
        "workflow_state": s.workflow_state,
        "grade_matches_current_submission": True,
        "html_url": f"{base}{path}",
        "preview_url": f"{base}{path}?preview=1&version={max((s.attempt or 1) - 1, 0)}",
        "late": False,
        "missing": False,
        "excused": False,
        "late_policy_status": None,
        "points_deducted": None,
        "seconds_late": 0,
        "extra_attempts": None,
        "posted_at": s.graded_at,
        "submission_type": "online_upload" if submitted else None,
    }


def unsubmitted(assignment_id: int, user_id: int, base: str, course_id: int) -> dict[str, Any]:
    """What Canvas answers for a user who has not submitted: a placeholder submission."""
    placeholder = Submission(0, assignment_id, user_id, workflow_state="unsubmitted", attempt=None)
    placeholder.submitted_at = None
    body = submission(placeholder, base, course_id)
    body["id"] = None
    return body


def quiz(q: Quiz, base: str) -> dict[str, Any]:
    return {
        "id": q.id,
        "title": q.title,
        "html_url": f"{base}/courses/{q.course_id}/quizzes/{q.id}",
        "mobile_url": f"{base}/courses/{q.course_id}/quizzes/{q.id}?persist_headless=1&force_user=1",
        "quiz_type": q.quiz_type,
        "assignment_group_id": q.course_id,  # as the quiz's assignment
        "shuffle_answers": False,
        "hide_results": None,
        "show_correct_answers": True,
        "scoring_policy": "keep_highest",
        "one_question_at_a_time": False,
        "cant_go_back": False,
        "access_code": None,
        "ip_filter": None,
        "lock_at": None,
        "unlock_at": None,
        "locked_for_user": False,
        "assignment_id": q.assignment_id,
        "points_possible": q.points_possible,
        "published": q.published,
        "description": "",
        "time_limit": None,
        "allowed_attempts": 1,
        "question_count": 0,
        "due_at": None,
    }


def quiz_submission(qs: QuizSubmission, points_possible: float | None) -> dict[str, Any]:
    return {
        "id": qs.id,
        "quiz_id": qs.quiz_id,
        "user_id": qs.user_id,
        "submission_id": qs.submission_id,
        "started_at": qs.started_at,
        "finished_at": qs.finished_at,
        "end_at": None,
        "attempt": qs.attempt,
        "extra_attempts": None,
        "extra_time": None,
        "time_spent": 60,
        "score": qs.score,
        "score_before_regrade": None,
        "kept_score": qs.score,
        "fudge_points": None,
        "quiz_points_possible": points_possible,
        "manually_unlocked": None,
        "has_seen_results": None,
        "overdue_and_needs_submission": False,
        "workflow_state": qs.workflow_state,
    }


def discussion_topic(t: DiscussionTopic, base: str) -> dict[str, Any]:
    return {
        "id": t.id,
        "title": t.title,
        "message": t.message,
        "html_url": f"{base}/courses/{t.course_id}/discussion_topics/{t.id}",
        "posted_at": t.posted_at,
        "last_reply_at": t.posted_at,
        "require_initial_post": False,
        "discussion_subentry_count": 0,
        "read_state": "read",
        "unread_count": 0,
        "delayed_post_at": None,
        "lock_at": None,
        "user_name": None,
        "attachments": [],
        "permissions": {"attach": False, "update": False, "reply": True, "delete": False},
        "discussion_type": "threaded",
        "assignment_id": t.assignment_id,
        "published": True,
        "locked": False,
        "pinned": False,
    }


def page(p: Page, base: str) -> dict[str, Any]:
    return {
        "page_id": p.id,
        "url": p.url,
        "title": p.title,
        "body": p.body,
        "created_at": p.created_at,
        "updated_at": p.created_at,
        "published": p.published,
        "front_page": False,
        "locked_for_user": False,
        "html_url": f"{base}/courses/{p.course_id}/pages/{p.url}",
        "editing_roles": "teachers",
    }
