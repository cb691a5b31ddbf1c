"""Account reports: the provisioning report, which reads all state in a few calls.

``POST /accounts/:id/reports/provisioning_csv`` with ``parameters[users]=true`` (and
``accounts``, ``terms``, ``courses``, ``sections``, ``enrollments``, ``xlist``;
``enrollment_term_id``; ``include_deleted``) answers a report in ``created``; a
background thread writes the CSVs (a zip when several were asked for) and sets
``status`` to ``complete`` with ``file_url`` and ``attachment.url`` pointing at the
download. Columns follow Canvas's provisioning report, with Canvas ids and
``created_by_sis`` (true when a SIS import created or last updated the object).

While it runs, ``current_line`` (lines written) and ``progress`` are updated every 1000 lines,
as Canvas does; ``progress`` is measured against the objects the report walks (so it is at most
99 until the report is complete, then 100).
"""

from __future__ import annotations

import csv
import hashlib
import io
import threading
import zipfile
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from canvasbridge_emulators.canvas.exceptions import BadRequest, ResourceNotFound
from canvasbridge_emulators.canvas.models import ROOT_ACCOUNT_ID, CanvasModel, now_iso
from canvasbridge_emulators.canvas.params import as_bool, text

PROVISIONING = "provisioning_csv"
COLUMNS: dict[str, tuple[str, ...]] = {
    "users": (
        "canvas_user_id", "user_id", "integration_id", "login_id", "first_name", "last_name",
        "full_name", "sortable_name", "short_name", "email", "status", "created_by_sis",
    ),
    "accounts": (
        "canvas_account_id", "account_id", "canvas_parent_id", "parent_account_id", "name", "status",
        "created_by_sis",
    ),
    "terms": ("canvas_term_id", "term_id", "name", "status", "start_date", "end_date", "created_by_sis"),
    "courses": (
        "canvas_course_id", "course_id", "integration_id", "short_name", "long_name", "canvas_account_id",
        "account_id", "canvas_term_id", "term_id", "status", "start_date", "end_date", "course_format",
        "created_by_sis",
    ),
    "sections": (
        "canvas_section_id", "section_id", "integration_id", "canvas_course_id", "course_id", "name",
        "status", "start_date", "end_date", "canvas_account_id", "account_id", "created_by_sis",
    ),
    "enrollments": (
        "canvas_course_id", "course_id", "canvas_user_id", "user_id", "role", "role_id",
        "canvas_section_id", "section_id", "status", "canvas_associated_user_id", "associated_user_id",
        "created_by_sis", "base_role_type", "limit_section_privileges",
    ),
    "xlist": (
        "canvas_xlist_course_id", "xlist_course_id", "canvas_section_id", "section_id", "status",
        "canvas_nonxlist_course_id", "nonxlist_course_id", "created_by_sis",
    ),
}  # fmt: skip
COURSE_STATUS = {
    "unpublished": "unpublished",
    "available": "active",
    "completed": "concluded",
    "deleted": "deleted",
}
# the model's objects each table walks (CanvasModel.sizes()), to size a report before writing it
WALKS = {
    "users": "logins",
    "accounts": "accounts",
    "terms": "terms",
    "courses": "courses",
    "sections": "sections",
    "enrollments": "enrollments",
    "xlist": "sections",
}
PROGRESS_LINES = 1000  # Canvas updates a running report's current_line every 1000 lines
ENROLLMENT_STATUS = {"completed": "concluded", "creation_pending": "invited"}
ROLE_NAMES = {
    "StudentEnrollment": "student",
    "TeacherEnrollment": "teacher",
    "TaEnrollment": "ta",
    "ObserverEnrollment": "observer",
    "DesignerEnrollment": "designer",
}


def available() -> list[dict[str, Any]]:
    params = {name: {"required": False, "description": f"Include {name}"} for name in COLUMNS}
    params["enrollment_term_id"] = {"required": False, "description": "Only this term"}
    params["include_deleted"] = {"required": False, "description": "Include deleted objects"}
    return [{"report": PROVISIONING, "title": "Provisioning", "parameters": params, "last_run": None}]


def verifier(file_id: int) -> str:
    return hashlib.sha256(f"canvas-emulator-file-{file_id}".encode()).hexdigest()[:24]


def file_json(file_id: int, filename: str, content_type: str, size: int, base: str) -> dict[str, Any]:
    return {
        "id": file_id,
        "display_name": filename,
        "filename": filename,
        "content-type": content_type,
        "size": size,
        "url": f"{base}/files/{file_id}/download?download_frd=1&verifier={verifier(file_id)}",
        "created_at": now_iso(),
        "locked": False,
        "hidden": False,
    }


def start(
    model: CanvasModel, account_id: int, report_type: str, params: dict[str, Any], base: str
) -> dict[str, Any]:
    if report_type != PROVISIONING:
        raise ResourceNotFound()
    wanted = [name for name in COLUMNS if as_bool(params.get(name))]
    if not wanted:
        raise BadRequest("Please select at least one of the report parameters")
    term_ref = text(params.get("enrollment_term_id"))
    term_id = model.resolve_term(term_ref).id if term_ref else None
    record = model.add_record(
        "report",
        {
            "report": report_type,
            "file_url": None,
            "attachment": None,
            "status": "created",
            "created_at": now_iso(),
            "started_at": None,
            "ended_at": None,
            "parameters": dict(params),
            "progress": 0,
            "current_line": None,
        },
    )
    thread = threading.Thread(
        target=_run,
        args=(model, record["id"], account_id, wanted, term_id, as_bool(params.get("include_deleted")), base),
        name=f"report-{record['id']}",
        daemon=True,
    )
    answer = dict(record)
    thread.start()
    return answer


def _run(*args: Any) -> None:
    try:
        _build(*args)
    except ResourceNotFound:  # the emulator was reset while the report was being written
        return


def _build(
    model: CanvasModel,
    report_id: int,
    account_id: int,
    wanted: list[str],
    term_id: int | None,
    include_deleted: bool,
    base: str,
) -> None:
    model.update_record("report", report_id, status="running", started_at=now_iso())
    sizes = model.sizes()
    bounds = {name: sizes[WALKS[name]] + 1 for name in wanted}  # + its header line
    progress = _Progress(model, report_id, sum(bounds.values()))
    # No model-wide lock: each model call copies what it returns under the lock, so API
    # requests keep being served while a big report is written (as in Canvas, a report is
    # not a point-in-time snapshot).
    tables: dict[str, bytes] = {}
    for name in wanted:
        rows = BUILDERS[name](model, account_id, term_id, include_deleted)
        tables[name] = _write(COLUMNS[name], rows, progress)
        progress.table_done(bounds[name])
    stamp = now_iso().replace(":", "").replace("-", "")
    if len(tables) == 1:
        ((name, data),) = tables.items()
        filename, content_type, payload = f"{name}_provisioning_{stamp}.csv", "text/csv", data
    else:
        buffer = io.BytesIO()
        # the fastest level: the report is ready sooner, and the file only 20% larger
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, data in tables.items():
                archive.writestr(f"{name}.csv", data)
        filename, content_type, payload = (
            f"provisioning_csv_{stamp}.zip",
            "application/zip",
            buffer.getvalue(),
        )
    file_id = model.add_file(filename, content_type, payload)
    attachment = file_json(file_id, filename, content_type, len(payload), base)
    model.update_record(
        "report",
        report_id,
        status="complete",
        progress=100,
        ended_at=now_iso(),
        attachment=attachment,
        file_url=f"{base}/accounts/{account_id}/files/{file_id}/download",
        current_line=progress.lines,
    )


class _Progress:
    """A running report's ``current_line`` and ``progress``, stored every 1000 lines."""

    def __init__(self, model: CanvasModel, report_id: int, total: int) -> None:
        self.model = model
        self.report_id = report_id
        self.total = total  # lines the report may write: what its tables walk
        self.lines = 0  # written so far
        self.counted = 0  # tables done count as their bound, lines skipped included
        self.in_table = 0
        self.progress = 0

    def wrote(self, lines: int) -> None:
        self.lines += lines
        self.in_table += lines
        if self.lines % PROGRESS_LINES == 0:
            share = (self.counted + self.in_table) * 100 // self.total
            self.progress = max(self.progress, min(99, share))  # objects added meanwhile: never back
            self.model.update_record(
                "report", self.report_id, current_line=self.lines, progress=self.progress
            )

    def table_done(self, bound: int) -> None:
        self.counted += bound
        self.in_table = 0


def _write(columns: tuple[str, ...], rows: Iterable[list[Any]], progress: _Progress) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    progress.wrote(1)
    source = iter(rows)
    while chunk := list(islice(source, PROGRESS_LINES - progress.lines % PROGRESS_LINES)):
        writer.writerows(chunk)  # the csv module writes None as an empty field
        progress.wrote(len(chunk))
    return out.getvalue().encode()


def _flag(value: Any) -> str:
    return "true" if value is not None else "false"


def _in_account(model: CanvasModel, account_id: int) -> Callable[[int], bool]:
    if account_id == ROOT_ACCOUNT_ID:
        return lambda _account: True
    inside = {account_id} | {a.id for a in model.sub_accounts(account_id, recursive=True)}
    return inside.__contains__


def _users(model: CanvasModel, account_id: int, term_id: int | None, deleted: bool) -> Iterable[list[Any]]:
    for login in model.logins(include_deleted=deleted):
        user = model.get_user(login.user_id)
        first, _, last = user.name.rpartition(" ")
        if ", " in user.sortable_name:
            last, first = user.sortable_name.split(", ", 1)
        yield [
            user.id, login.sis_user_id, login.integration_id, login.unique_id, first, last, user.name,
            user.sortable_name, user.short_name, user.email, login.workflow_state, _flag(login.sis_import_id),
        ]  # fmt: skip


def _accounts(model: CanvasModel, account_id: int, term_id: int | None, deleted: bool) -> Iterable[list[Any]]:
    inside = _in_account(model, account_id)
    by_id = {a.id: a for a in model.accounts(include_deleted=True)}
    for a in model.accounts(include_deleted=deleted):
        if a.id == ROOT_ACCOUNT_ID or not inside(a.id):
            continue
        parent = by_id.get(a.parent_account_id or 0)
        parent_sis = parent.sis_account_id if parent is not None and parent.id != ROOT_ACCOUNT_ID else None
        yield [
            a.id, a.sis_account_id, a.parent_account_id, parent_sis, a.name, a.workflow_state,
            _flag(a.sis_import_id),
        ]  # fmt: skip


def _terms(model: CanvasModel, account_id: int, term_id: int | None, deleted: bool) -> Iterable[list[Any]]:
    for t in model.terms(include_deleted=deleted):
        if term_id is not None and t.id != term_id:
            continue
        yield [t.id, t.sis_term_id, t.name, t.workflow_state, t.start_at, t.end_at, _flag(t.sis_import_id)]


def _courses(model: CanvasModel, account_id: int, term_id: int | None, deleted: bool) -> Iterable[list[Any]]:
    states = ["unpublished", "available", "completed"] + (["deleted"] if deleted else [])
    accounts = {a.id: a for a in model.accounts(include_deleted=True)}
    terms = {t.id: t for t in model.terms(include_deleted=True)}
    for c in model.courses(account_id, term_id=term_id, states=states):
        account = accounts[c.account_id]
        term = terms[c.enrollment_term_id]
        yield [
            c.id, c.sis_course_id, c.integration_id, c.course_code, c.name, c.account_id,
            account.sis_account_id, c.enrollment_term_id, term.sis_term_id, COURSE_STATUS[c.workflow_state],
            c.start_at, c.end_at, c.course_format, _flag(c.sis_import_id),
        ]  # fmt: skip


def _course_index(model: CanvasModel, account_id: int, term_id: int | None) -> dict[int, Any]:
    states = ["unpublished", "available", "completed", "deleted"]
    return {c.id: c for c in model.courses(account_id, term_id=term_id, states=states)}


def _sections(model: CanvasModel, account_id: int, term_id: int | None, deleted: bool) -> Iterable[list[Any]]:
    courses = _course_index(model, ROOT_ACCOUNT_ID, None)
    wanted = _course_index(model, account_id, term_id)
    accounts = {a.id: a for a in model.accounts(include_deleted=True)}
    for s in model.sections(include_deleted=deleted):
        home = s.nonxlist_course_id or s.course_id
        if home not in wanted:
            continue
        course = courses[home]
        yield [
            s.id, s.sis_section_id, s.integration_id, course.id, course.sis_course_id, s.name,
            s.workflow_state, s.start_at, s.end_at, course.account_id,
            accounts[course.account_id].sis_account_id, _flag(s.sis_import_id),
        ]  # fmt: skip


def _enrollments(
    model: CanvasModel, account_id: int, term_id: int | None, deleted: bool
) -> Iterable[list[Any]]:
    courses = {c.id: (c.id, c.sis_course_id) for c in _course_index(model, account_id, term_id).values()}
    roles = {r.id: ROLE_NAMES.get(r.role, r.label) for r in model.roles()}
    sections = {s.id: s.sis_section_id for s in model.sections(include_deleted=True)}
    user_sis: dict[int, str | None] = {}

    def sis_of(user_id: int) -> str | None:
        if user_id not in user_sis:
            login = model.primary_login(user_id)
            user_sis[user_id] = login.sis_user_id if login else None
        return user_sis[user_id]

    for e in model.enrollments():
        course = courses.get(e.course_id)
        if course is None or (e.workflow_state == "deleted" and not deleted):
            continue
        associated = e.associated_user_id
        yield [
            course[0], course[1], e.user_id, sis_of(e.user_id), roles.get(e.role_id) or ROLE_NAMES[e.type],
            e.role_id, e.course_section_id, sections.get(e.course_section_id),
            ENROLLMENT_STATUS.get(e.workflow_state, e.workflow_state), associated,
            sis_of(associated) if associated else None, _flag(e.sis_import_id), e.type,
            "true" if e.limit_privileges_to_course_section else "false",
        ]  # fmt: skip


def _xlist(model: CanvasModel, account_id: int, term_id: int | None, deleted: bool) -> Iterable[list[Any]]:
    courses = _course_index(model, ROOT_ACCOUNT_ID, None)
    wanted = _course_index(model, account_id, term_id)
    for s in model.sections(include_deleted=deleted):
        if s.nonxlist_course_id is None or s.course_id not in wanted:
            continue
        xlist_course = courses[s.course_id]
        original = courses[s.nonxlist_course_id]
        yield [
            xlist_course.id, xlist_course.sis_course_id, s.id, s.sis_section_id, "active",
            original.id, original.sis_course_id, _flag(s.sis_import_id),
        ]  # fmt: skip


BUILDERS: dict[str, Callable[[CanvasModel, int, int | None, bool], Iterable[list[Any]]]] = {
    "users": _users,
    "accounts": _accounts,
    "terms": _terms,
    "courses": _courses,
    "sections": _sections,
    "enrollments": _enrollments,
    "xlist": _xlist,
}
