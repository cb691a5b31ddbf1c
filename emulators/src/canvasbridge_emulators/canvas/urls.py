"""The Canvas emulator's routes: ``/api/v1/...`` plus the file downloads."""

from __future__ import annotations

from starlette.routing import Route

from canvasbridge_emulators.canvas.activity_responses import ActivityResponses
from canvasbridge_emulators.canvas.responses import CanvasResponses

API = "/api/v1"
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def routes(r: CanvasResponses) -> list[Route]:
    def api(path: str, endpoint: object, *methods: str) -> Route:
        return Route(API + path, endpoint, methods=list(methods))  # type: ignore[arg-type]

    activity = ActivityResponses(r)

    return [
        # users first: GET /users/:id is the hottest path
        api("/users/{id}", r.get_user, "GET"),
        api("/users/{id}", r.update_user, "PUT"),
        api("/users/{id}/logins", r.list_user_logins, "GET"),
        api("/users/{user_id}/profile", r.get_profile, "GET"),
        api("/users/{user_id}/logins/{id}", r.delete_login, "DELETE"),
        api("/users/{user_id}/enrollments", r.list_user_enrollments, "GET"),
        api("/users/{user_id}/courses", r.list_user_courses, "GET"),
        api("/courses", r.list_user_courses, "GET"),
        # accounts
        api("/accounts", r.list_accounts, "GET"),
        api("/accounts/{id}", r.get_account, "GET"),
        api("/accounts/{id}", r.update_account, "PUT"),
        api("/accounts/{id}/sub_accounts", r.list_sub_accounts, "GET"),
        api("/accounts/{id}/sub_accounts", r.create_sub_account, "POST"),
        api("/accounts/{account_id}/sub_accounts/{id}", r.delete_sub_account, "DELETE"),
        api("/accounts/{id}/users", r.list_users, "GET"),
        api("/accounts/{id}/users", r.create_user, "POST"),
        api("/accounts/{account_id}/users/{id}", r.delete_user, "DELETE"),
        api("/accounts/{id}/logins", r.list_account_logins, "GET"),
        api("/accounts/{id}/logins", r.create_login, "POST"),
        api("/accounts/{account_id}/logins/{id}", r.update_login, "PUT"),
        api("/accounts/{id}/courses", r.list_account_courses, "GET"),
        api("/accounts/{id}/courses", r.create_course, "POST"),
        api("/accounts/{id}/terms", r.list_terms, "GET"),
        api("/accounts/{id}/terms", r.create_term, "POST"),
        api("/accounts/{account_id}/terms/{id}", r.get_term, "GET"),
        api("/accounts/{account_id}/terms/{id}", r.update_term, "PUT"),
        api("/accounts/{account_id}/terms/{id}", r.delete_term, "DELETE"),
        api("/accounts/{id}/roles", r.list_roles, "GET"),
        api("/accounts/{id}/roles", r.create_role, "POST"),
        api("/accounts/{account_id}/roles/{id}", r.get_role, "GET"),
        api("/accounts/{id}/admins", r.list_admins, "GET"),
        api("/accounts/{id}/admins", r.create_admin, "POST"),
        api("/accounts/{account_id}/admins/{user_id}", r.delete_admin, "DELETE"),
        api("/accounts/{account_id}/enrollments/{id}", r.get_account_enrollment, "GET"),
        api("/accounts/{id}/sis_imports", r.create_sis_import, "POST"),
        api("/accounts/{id}/sis_imports", r.list_sis_imports, "GET"),
        api("/accounts/{id}/sis_imports/importing", r.importing_sis_imports, "GET"),
        api("/accounts/{id}/sis_imports/abort_all_pending", r.abort_all_pending_sis_imports, "PUT"),
        api("/accounts/{account_id}/sis_imports/{id}", r.get_sis_import, "GET"),
        api("/accounts/{account_id}/sis_imports/{id}/abort", r.abort_sis_import, "PUT"),
        api("/accounts/{id}/reports", r.list_report_types, "GET"),
        api("/accounts/{account_id}/reports/{report}", r.start_report, "POST"),
        api("/accounts/{account_id}/reports/{report}", r.list_reports, "GET"),
        api("/accounts/{account_id}/reports/{report}/{id}", r.get_report, "GET"),
        # courses
        api("/courses/{id}", r.get_course, "GET"),
        api("/courses/{id}", r.update_course, "PUT"),
        api("/courses/{id}", r.delete_course, "DELETE"),
        api("/courses/{id}/users", r.list_course_users, "GET"),
        api("/courses/{id}/search_users", r.list_course_users, "GET"),
        api("/courses/{id}/sections", r.list_sections, "GET"),
        api("/courses/{id}/sections", r.create_section, "POST"),
        api("/courses/{course_id}/sections/{id}", r.get_section, "GET"),
        api("/courses/{course_id}/enrollments", r.list_course_enrollments, "GET"),
        api("/courses/{course_id}/enrollments", r.create_enrollment, "POST"),
        api("/courses/{course_id}/enrollments/{id}", r.end_enrollment, "DELETE"),
        api("/courses/{course_id}/enrollments/{id}/reactivate", r.reactivate_enrollment, "PUT"),
        # course content (read)
        api("/courses/{course_id}/assignments", r.list_assignments, "GET"),
        api("/courses/{course_id}/assignments/{id}", r.get_assignment, "GET"),
        api("/courses/{course_id}/assignments/{assignment_id}/submissions", r.list_submissions, "GET"),
        api(
            "/courses/{course_id}/assignments/{assignment_id}/submissions/{user_id}", r.get_submission, "GET"
        ),
        api("/courses/{course_id}/quizzes", r.list_quizzes, "GET"),
        api("/courses/{course_id}/quizzes/{id}", r.get_quiz, "GET"),
        api("/courses/{course_id}/quizzes/{quiz_id}/submissions", r.list_quiz_submissions, "GET"),
        api("/courses/{course_id}/quizzes/{quiz_id}/submissions/{id}", r.get_quiz_submission, "GET"),
        api("/courses/{course_id}/discussion_topics", r.list_discussion_topics, "GET"),
        api("/courses/{course_id}/discussion_topics/{id}", r.get_discussion_topic, "GET"),
        api("/courses/{course_id}/pages/{url}", r.get_page, "GET"),
        # what happened in a time window (a Live Events backfill reads these)
        api("/courses/{course_id}/students/submissions", activity.list_student_submissions, "GET"),
        api(
            "/courses/{course_id}/discussion_topics/{topic_id}/entries",
            activity.list_discussion_entries,
            "GET",
        ),
        api("/courses/{course_id}/discussion_topics/{topic_id}/view", activity.discussion_view, "GET"),
        api("/audit/authentication/accounts/{account_id}", activity.list_authentication_events, "GET"),
        api("/audit/grade_change/courses/{course_id}", activity.list_grade_change_events, "GET"),
        # sections
        api("/sections/{id}", r.get_section, "GET"),
        api("/sections/{id}", r.update_section, "PUT"),
        api("/sections/{id}", r.delete_section, "DELETE"),
        api("/sections/{id}/crosslist/{new_course_id}", r.crosslist, "POST"),
        api("/sections/{id}/crosslist", r.uncrosslist, "DELETE"),
        api("/sections/{section_id}/enrollments", r.list_section_enrollments, "GET"),
        api("/sections/{section_id}/enrollments", r.create_enrollment, "POST"),
        # files
        api("/files/{id}", r.get_file, "GET"),
        Route("/files/{id}/download", r.download_file, methods=["GET"]),
        Route("/accounts/{account_id}/files/{id}/download", r.download_file, methods=["GET"]),
        # anything else under /api/v1 (or a known path with another method): Canvas's 404
        Route(API + "/{rest:path}", r.not_found, methods=ALL_METHODS),
    ]
