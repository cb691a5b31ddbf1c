"""A local Canvas LMS: the REST API under ``/api/v1``, SIS imports and the provisioning report.

Factory (``app.py``)::

    from canvasbridge_emulators.canvas import create_app, CanvasModel, DEFAULT_TOKEN
    emu = create_app(model=None, tokens=None, seed=None)   # -> CanvasEmulator
    emu.app        # the Starlette ASGI app (serve it with ServerThread(emu.app).start())
    emu.model      # the CanvasModel behind it
    emu.control    # the EmulatorControl: faults, stats, reset, state

``tokens`` maps bearer tokens to the user id they act as (``None``: an account admin with
no user record), or is an iterable of tokens; default ``{DEFAULT_TOKEN: None}``.
``seed(model)`` loads data; ``/_emulator/reset`` (and ``control.reset()``) clears the model
and calls it again (without a seed, reset restores the state the model had at creation).

The model (``models.py``, plain Python, thread-safe, no HTTP) is for seeding data,
making drift behind the service's back and asserting end states::

    m = emu.model                                         # root account id 1, "Default Term" id 1
    a = m.add_account("Faculty", parent_id=1, sis_account_id="ORG-1")
    t = m.add_term("Autumn 2026", sis_term_id="2026H")
    u = m.add_user("Ola Nordmann", unique_id="olan", sis_user_id="P1", email="o@x.no")
    m.add_login(u.id, "olan2", sis_user_id=None, workflow_state="active")
    c = m.add_course("Intro", course_code="IN1000", account_id=a.id, term_id=t.id,
                     sis_course_id="IN1000-2026H", workflow_state="available")
    s = m.add_section(c.id, "Group 1", sis_section_id="IN1000-G1")
    e = m.enroll(u.id, section_id=s.id, type="TeacherEnrollment", state="active")
    m.enroll(u.id, course_id=c.id)                        # default section, StudentEnrollment
    r = m.add_role("Sensor", "TaEnrollment");  m.enroll(u.id, course_id=c.id, role_id=r.id)
    admin = m.add_role("Studieadmin", "AccountMembership"); m.add_admin(a.id, u.id, admin.id)
    m.admins(a.id, user_ids={u.id}); m.remove_admin(a.id, u.id, admin.id)   # account admins

    m.find_user_by_sis("P1"); m.find_user_by_login("olan"); m.find_course_by_sis("IN1000-2026H")
    m.find_section_by_sis("IN1000-G1"); m.find_account_by_sis("ORG-1"); m.find_term_by_sis("2026H")
    m.get_user(id) / get_course / get_section / get_account / get_term / get_login / get_enrollment
    m.users(); m.logins(user_id); m.primary_login(user_id); m.courses(account_id, term_id=, states=)
    m.sections(course_id); m.sub_accounts(1, recursive=True); m.terms(); m.roles()
    m.enrollments(course_id=, section_id=, user_id=, types=, states=, role_ids=, term_id=)

    # drift / changes (the HTTP layer uses the same methods and rules)
    m.update_user(id, name=...); m.suspend_user(id); m.unsuspend_user(id); m.is_suspended(id)
    m.update_login(id, workflow_state="suspended", sis_user_id=...); m.delete_login(user_id, id)
    m.update_course(id, name=..., event="offer|claim|conclude|delete|undelete")
    m.update_course(id, name=..., sticky=True)   # as a person in the UI: SIS imports keep it
    m.update_section(id, ...); m.delete_section(id, force=False); m.crosslist_section(id, course_id)
    m.set_enrollment_state(id, "completed"); m.end_enrollment(id, task="conclude|delete|inactivate")
    m.update_account(id, ...); m.delete_sub_account(parent_id, id); m.delete_user(id)

    # course content the activity flow reads (GET endpoints only)
    a = m.add_assignment(c.id, "Essay 1", points_possible=10); m.add_submission(a.id, u.id, score=8)
    q = m.add_quiz(c.id, "Check 1", points_possible=5); m.add_quiz_submission(q.id, u.id, score=4)
    m.add_discussion_topic(c.id, "Introductions"); m.add_page(c.id, "Reading List")

    m.counts()      # {"users": n, "courses_by_state": {...}, "enrollments_by_state": {...}, ...}
    snap = m.snapshot(); m.restore(snap); m.clear(); m.transaction(lambda m: ...)

Objects are dataclasses (``Account``, ``Term``, ``User``, ``Login``, ``Course``, ``Section``,
``Enrollment``, ``Role``) returned by reference: read them, change them through the model.
Rule violations raise the errors in ``exceptions.py`` (``ResourceNotFound``, ``BadRequest``,
``ValidationFailed``...), each carrying Canvas's status and JSON body.
"""

from canvasbridge_emulators.canvas.app import DEFAULT_TOKEN, CanvasEmulator, create_app
from canvasbridge_emulators.canvas.models import (
    DEFAULT_TERM_ID,
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

__all__ = [
    "DEFAULT_TERM_ID",
    "DEFAULT_TOKEN",
    "ROOT_ACCOUNT_ID",
    "Account",
    "CanvasEmulator",
    "CanvasModel",
    "Course",
    "Enrollment",
    "Login",
    "Role",
    "Section",
    "Term",
    "User",
    "create_app",
]
