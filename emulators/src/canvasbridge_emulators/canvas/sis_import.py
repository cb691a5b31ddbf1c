"""SIS imports: Canvas's CSV format (one CSV or a zip of several) applied to the model.

``SisImporter.submit`` stores a ``SisImport`` record in state ``created`` and hands the
upload to a background thread, which moves it to ``importing`` and then to
``imported``, ``imported_with_messages`` (row problems, listed in
``processing_warnings`` / ``processing_errors`` as ``[file, message]``) or
``failed_with_messages`` (a file it cannot read at all). Imports run one at a time,
as Canvas runs them per account.

Files are recognised by their header row, as Canvas does: users, accounts, terms,
courses, sections, xlists and enrollments, applied in that order. Objects an import
creates or updates get its id as ``sis_import_id`` (Canvas's SIS batch).

* ``batch_mode`` + ``batch_mode_term_id``: afterwards, SIS-managed courses, sections and
  enrollments of that term that this import did not mention are deleted (not with
  ``skip_deletes``; ``change_threshold`` (percent) stops deletions that would remove more).
* ``multi_term_batch_mode`` (needs ``change_threshold``): batch mode for every term in the
  upload's terms.csv.
* ``diffing_data_set_identifier``: only rows that changed since the last import of the
  same data set are applied; rows that disappeared are applied with status
  ``deleted`` (enrollments: ``diffing_drop_status``). ``diffing_remaster_data_set``
  applies the full set once.

``progress`` grows while the rows are applied, as in Canvas: the share of the upload's rows
done (0 while the files are read, at most 99 until the import ends, then 100).

* ``Faults.extra["sis_import_delay_s"]`` (read through ``delay``) holds each import in
  ``created`` and ``importing`` for that long, so pollers can be tested.
* ``Faults.extra["sis_import_pause_s"]`` (read through ``pause``) sleeps that long at every
  step of progress (Canvas's ``sis_batch_pause_duration``), to stretch an import.
"""

from __future__ import annotations

import copy
import csv
import io
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from typing import Any

from canvasbridge_emulators.canvas.exceptions import BadRequest, CanvasError
from canvasbridge_emulators.canvas.models import (
    FIRST_CUSTOM_ROLE_ID,
    STICKY_FIELDS,
    CanvasModel,
    Enrollment,
    now_iso,
)
from canvasbridge_emulators.canvas.params import as_bool, text

COUNT_KEYS = (
    "accounts",
    "terms",
    "abstract_courses",
    "courses",
    "sections",
    "xlists",
    "users",
    "enrollments",
    "groups",
    "group_memberships",
    "grade_publishing_results",
    "batch_courses_deleted",
    "batch_sections_deleted",
    "batch_enrollments_deleted",
    "error_count",
    "warning_count",
)
# file kind → (columns that identify it, key columns for diffing); checked in this order
FILE_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "xlists": (("xlist_course_id", "section_id"), ("section_id",)),
    "enrollments": (
        ("user_id",),
        ("course_id", "section_id", "user_id", "role", "role_id", "associated_user_id"),
    ),
    "users": (("user_id", "login_id"), ("user_id",)),
    "sections": (("section_id", "course_id", "name"), ("section_id",)),
    "courses": (("course_id", "short_name", "long_name"), ("course_id",)),
    "accounts": (("account_id", "parent_account_id"), ("account_id",)),
    "terms": (("term_id", "name"), ("term_id",)),
}
APPLY_ORDER = ("users", "accounts", "terms", "courses", "sections", "xlists", "enrollments")
ROLE_TYPES = {
    "student": "StudentEnrollment",
    "teacher": "TeacherEnrollment",
    "ta": "TaEnrollment",
    "observer": "ObserverEnrollment",
    "designer": "DesignerEnrollment",
}
ENROLLMENT_STATUSES = {
    "active": "active",
    "deleted": "deleted",
    "completed": "completed",
    "inactive": "inactive",
}
DIFF_DROP_STATUSES = ("deleted", "completed", "inactive")

Rows = dict[tuple[str, ...], dict[str, str]]


class RowProblem(Exception):
    """A row that cannot be applied; ``level`` is ``warning`` or ``error``."""

    def __init__(self, message: str, level: str = "warning") -> None:
        super().__init__(message)
        self.level = level


class SisImporter:
    def __init__(
        self,
        model: CanvasModel,
        delay: Callable[[], float] = lambda: 0.0,
        pause: Callable[[], float] = lambda: 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.model = model
        self.delay = delay
        self.pause = pause
        self.sleep = sleep
        self._serial = threading.Lock()
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ submission
    def submit(self, data: bytes, filename: str, params: dict[str, Any]) -> dict[str, Any]:
        """Validate the options, store a ``created`` record and start processing."""
        batch_mode = as_bool(params.get("batch_mode"))
        term_ref = text(params.get("batch_mode_term_id"))
        diffing = text(params.get("diffing_data_set_identifier"))
        batch_term_id: int | None = None
        if batch_mode:
            try:
                batch_term_id = self.model.resolve_term(term_ref).id if term_ref else None
            except CanvasError:
                batch_term_id = None
            if batch_term_id is None:
                raise BadRequest("Batch mode specified, but the given batch_mode_term_id cannot be found.")
        if diffing is not None:
            if len(diffing.encode()) > 128:
                raise BadRequest("diffing_data_set_identifier is too long (at most 128 bytes)")
            if batch_mode:
                raise BadRequest("diffing_data_set_identifier cannot be used with batch_mode")
        drop_status = text(params.get("diffing_drop_status"))
        if drop_status is not None and drop_status not in DIFF_DROP_STATUSES:
            raise BadRequest("Invalid diffing_drop_status")
        threshold = text(params.get("change_threshold"))
        multi_term = as_bool(params.get("multi_term_batch_mode"))
        if multi_term and not threshold:
            raise BadRequest("change_threshold is required to use multi term_batch mode.")
        now = now_iso()
        record = self.model.add_record(
            "sis_import",
            {
                "created_at": now,
                "updated_at": now,
                "ended_at": None,
                "workflow_state": "created",
                "data": {"import_type": "instructure_csv", "supplied_batches": [], "counts": {}},
                "statistics": {},
                "progress": 0,
                "errors_attachment": None,
                "user": None,
                "processing_warnings": [],
                "processing_errors": [],
                "batch_mode": batch_mode or None,
                "batch_mode_term_id": batch_term_id,
                "multi_term_batch_mode": multi_term,
                "skip_deletes": as_bool(params.get("skip_deletes")),
                "override_sis_stickiness": as_bool(params.get("override_sis_stickiness")) or None,
                "add_sis_stickiness": as_bool(params.get("add_sis_stickiness")) or None,
                "clear_sis_stickiness": as_bool(params.get("clear_sis_stickiness")) or None,
                "diffing_data_set_identifier": diffing,
                "diffing_remaster": as_bool(params.get("diffing_remaster_data_set")),
                "diffed_against_import_id": None,
                "change_threshold": float(threshold) if threshold else None,
                "csv_attachments": [{"display_name": filename, "size": len(data)}],
            },
        )
        options = {"drop_status": drop_status or "deleted"}
        thread = threading.Thread(
            target=self._run, args=(record["id"], data, filename, options), name=f"sis-import-{record['id']}"
        )
        thread.daemon = True
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        answer = copy.deepcopy(record)  # as it stands before the worker touches it
        thread.start()
        return answer

    def wait(self, timeout: float = 10.0) -> None:
        """Wait for every running import (used by tests and the benchmark)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ processing
    def _run(self, import_id: int, data: bytes, filename: str, options: dict[str, str]) -> None:
        with self._serial:
            pause = self.delay()
            if pause:
                self.sleep(pause)
            record = self.model.get_record("sis_import", import_id)
            if record["workflow_state"] == "aborted":
                return
            self.model.update_record(
                "sis_import", import_id, workflow_state="importing", updated_at=now_iso()
            )
            if pause:
                self.sleep(pause)
            run = _ImportRun(self.model, import_id, record, options, self._progressed)
            try:
                run.execute(data, filename)
            except Exception as exc:  # an emulator bug must still end the import
                run.errors.append([filename, f"Error while importing CSV. Please contact support. ({exc})"])
                run.fatal = True
            run.finish()

    def _progressed(self, import_id: int, progress: int) -> None:
        self.model.update_record("sis_import", import_id, progress=progress)
        pause = self.pause()
        if pause:
            self.sleep(pause)


class _ImportRun:
    """One import: parse, apply in order, batch-mode deletes, counts."""

    def __init__(
        self,
        model: CanvasModel,
        import_id: int,
        record: dict[str, Any],
        options: dict[str, str],
        progressed: Callable[[int, int], None] = lambda _id, _progress: None,
    ):
        self.model = model
        self.import_id = import_id
        self.record = record
        self.options = options
        self.progressed = progressed
        self.progress = 0
        self.counts: Counter[str] = Counter()
        self.warnings: list[list[str]] = []
        self.errors: list[list[str]] = []
        self.fatal = False
        self.touched: dict[str, set[int]] = {"courses": set(), "sections": set(), "enrollments": set()}
        self.diffed_against: int | None = None

    # -------------------------------------------------------------- reading files
    def _files(self, data: bytes, filename: str) -> list[tuple[str, bytes]]:
        if data[:2] == b"PK" or filename.lower().endswith(".zip"):
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    return [
                        (info.filename, archive.read(info))
                        for info in archive.infolist()
                        if not info.is_dir() and info.filename.lower().endswith(".csv")
                    ]
            except zipfile.BadZipFile:
                self.errors.append([filename, "The file is not a valid zip archive"])
                self.fatal = True
                return []
        return [(filename, data)]

    def _parse(self, name: str, content: bytes) -> tuple[str, list[dict[str, str]]] | None:
        try:
            reader = csv.reader(io.StringIO(content.decode("utf-8-sig")))
            header = [h.strip().lower() for h in next(reader, [])]
            # as csv.DictReader: blank lines skipped, missing cells empty, extra cells dropped
            padding = [""] * len(header)
            rows = [
                dict(zip(header, [v.strip() for v in row] + padding, strict=False)) for row in reader if row
            ]
        except (UnicodeDecodeError, csv.Error) as exc:
            self.errors.append([name, f"Error parsing CSV: {exc}"])
            self.fatal = True
            return None
        columns = set(header)
        for kind, (needed, _keys) in FILE_KINDS.items():
            if set(needed) <= columns and (kind != "enrollments" or columns & {"course_id", "section_id"}):
                if kind == "terms" and "course_id" in columns:
                    continue
                return kind, rows
        self.errors.append([name, "Couldn't find Canvas CSV import headers"])
        self.fatal = True
        return None

    # -------------------------------------------------------------- the run
    def execute(self, data: bytes, filename: str) -> None:
        by_kind: dict[str, list[tuple[str, dict[str, str]]]] = {k: [] for k in APPLY_ORDER}
        for name, content in self._files(data, filename):
            parsed = self._parse(name, content)
            if parsed is not None:
                kind, rows = parsed
                by_kind[kind].extend((name, row) for row in rows)
        if self.fatal:
            return
        identifier = self.record.get("diffing_data_set_identifier")
        if identifier:
            by_kind = self._diff(identifier, by_kind)
        total, done = sum(len(rows) for rows in by_kind.values()), 0
        for kind in APPLY_ORDER:
            apply = getattr(self, f"_apply_{kind}")
            for name, row in by_kind[kind]:
                try:
                    with self.model.lock:
                        apply(row)
                    self.counts[kind] += 1
                except RowProblem as problem:
                    (self.errors if problem.level == "error" else self.warnings).append([name, str(problem)])
                except CanvasError as exc:
                    self.warnings.append([name, _message(exc)])
                done += 1
                if done * 100 // total > self.progress and done < total:
                    self.progress = done * 100 // total
                    self.progressed(self.import_id, self.progress)
        if self.fatal:
            return
        if self.record.get("multi_term_batch_mode"):
            terms = [self.model.find_term_by_sis(row.get("term_id", "")) for _name, row in by_kind["terms"]]
            self._batch_deletes([t.id for t in terms if t is not None])
        elif self.record.get("batch_mode"):
            self._batch_deletes([self.record["batch_mode_term_id"]])

    def _diff(
        self, identifier: str, by_kind: dict[str, list[tuple[str, dict[str, str]]]]
    ) -> dict[str, list[tuple[str, dict[str, str]]]]:
        current: dict[str, Rows] = {}
        names: dict[str, str] = {}
        for kind, rows in by_kind.items():
            keys = FILE_KINDS[kind][1]
            current[kind] = {tuple(row.get(k, "") for k in keys): row for _name, row in rows}
            if rows:
                names[kind] = rows[0][0]
        previous = self.model.diffing_set(identifier)
        self.model.store_diffing_set(identifier, self.import_id, current)
        if previous is None or self.record.get("diffing_remaster"):
            return by_kind
        previous_id, previous_rows = previous
        self.diffed_against = previous_id
        out: dict[str, list[tuple[str, dict[str, str]]]] = {}
        for kind in APPLY_ORDER:
            name = names.get(kind, f"{kind}.csv")
            now_rows = current.get(kind, {})
            then_rows = previous_rows.get(kind, {})
            changed = [(name, row) for key, row in now_rows.items() if then_rows.get(key) != row]
            dropped_status = self.options["drop_status"] if kind == "enrollments" else "deleted"
            dropped = [
                (name, {**row, "status": dropped_status})
                for key, row in then_rows.items()
                if key not in now_rows and kind != "xlists"
            ]
            out[kind] = changed + dropped
        return out

    def finish(self) -> None:
        counts = {key: self.counts.get(key, 0) for key in COUNT_KEYS}
        counts["error_count"] = len(self.errors)
        counts["warning_count"] = len(self.warnings)
        if self.fatal:
            state = "failed_with_messages"
        elif self.errors or self.warnings:
            state = "imported_with_messages"
        else:
            state = "imported"
        current = self.model.get_record("sis_import", self.import_id)
        if current["workflow_state"] == "aborted":
            return
        now = now_iso()
        self.model.update_record(
            "sis_import",
            self.import_id,
            workflow_state=state,
            progress=100,
            ended_at=now,
            updated_at=now,
            data={
                "import_type": "instructure_csv",
                "supplied_batches": [k for k in APPLY_ORDER if self.counts.get(k)],
                "counts": counts,
            },
            statistics={k: {"created": v} for k, v in self.counts.items()},
            processing_warnings=self.warnings,
            processing_errors=self.errors,
            diffed_against_import_id=self.diffed_against,
        )

    # -------------------------------------------------------------- stickiness
    def _update(self, update: Callable[..., Any], obj: Any, **changes: Any) -> None:
        """Apply an update, leaving sticky fields alone unless the import overrides stickiness."""
        override = bool(self.record.get("override_sis_stickiness"))
        if not override:
            changes = {k: v for k, v in changes.items() if k not in obj.sticky}
        update(obj.id, **changes)
        if override:
            fields = {k for k in changes if k in STICKY_FIELDS}
            if self.record.get("clear_sis_stickiness"):
                obj.sticky -= fields
            elif self.record.get("add_sis_stickiness"):
                obj.sticky |= fields

    def _course_event(self, course: Any, event: str) -> None:
        if "workflow_state" in course.sticky and not self.record.get("override_sis_stickiness"):
            return
        self.model.course_event(course.id, event)

    # -------------------------------------------------------------- rows
    def _need(self, row: dict[str, str], *columns: str, what: str) -> None:
        for column in columns:
            if not row.get(column):
                raise RowProblem(f"No {column} given for {what}", "error")

    def _apply_users(self, row: dict[str, str]) -> None:
        self._need(row, "user_id", "login_id", what="a user")
        status = row.get("status", "active").lower() or "active"
        if status not in ("active", "deleted", "suspended"):
            raise RowProblem(f'Improper status "{status}" for user {row["user_id"]}', "error")
        first, last = row.get("first_name", ""), row.get("last_name", "")
        full = row.get("full_name") or " ".join(p for p in (first, last) if p) or row["login_id"]
        sortable = row.get("sortable_name") or (f"{last}, {first}" if last and first else None)
        existing_login = self.model.find_login_by_sis(row["user_id"])
        if existing_login is None:
            if status == "deleted":
                return
            user = self.model.add_user(
                full,
                unique_id=row["login_id"],
                sis_user_id=row["user_id"],
                integration_id=row.get("integration_id") or None,
                email=row.get("email") or None,
                short_name=row.get("short_name") or None,
                sortable_name=sortable,
                login_state="suspended" if status == "suspended" else "active",
                sis_import_id=self.import_id,
            )
            return
        login = existing_login
        user = self.model.get_user(login.user_id)
        if status == "deleted":
            if len(self.model.logins(user.id)) <= 1:
                self.model.delete_user(user.id)
            else:
                self.model.delete_login(user.id, login.id)
            return
        changes: dict[str, Any] = {"name": full}
        if row.get("short_name"):
            changes["short_name"] = row["short_name"]
        if sortable:
            changes["sortable_name"] = sortable
        if row.get("email"):
            changes["email"] = row["email"]
        self._update(self.model.update_user, user, **changes)
        login_changes: dict[str, Any] = {
            "workflow_state": "suspended" if status == "suspended" else "active",
            "sis_import_id": self.import_id,
        }
        if row["login_id"].lower() != login.unique_id.lower() or row["login_id"] != login.unique_id:
            login_changes["unique_id"] = row["login_id"]
        if "integration_id" in row:
            login_changes["integration_id"] = row.get("integration_id") or None
        self.model.update_login(login.id, **login_changes)

    def _apply_accounts(self, row: dict[str, str]) -> None:
        self._need(row, "account_id", what="an account")
        status = row.get("status", "active").lower() or "active"
        parent_id = 1
        if row.get("parent_account_id"):
            parent = self.model.find_account_by_sis(row["parent_account_id"])
            if parent is None:
                raise RowProblem(f"Parent account didn't exist for {row['account_id']}")
            parent_id = parent.id
        account = self.model.find_account_by_sis(row["account_id"])
        if status == "deleted":
            if account is not None:
                self.model.delete_sub_account(account.parent_account_id or 1, account.id)
            return
        if account is None:
            self._need(row, "name", what=f"account {row['account_id']}")
            self.model.add_account(
                row["name"],
                parent_id=parent_id,
                sis_account_id=row["account_id"],
                sis_import_id=self.import_id,
            )
            return
        self._update(
            self.model.update_account,
            account,
            name=row.get("name") or account.name,
            parent_account_id=parent_id,
            sis_import_id=self.import_id,
        )

    def _apply_terms(self, row: dict[str, str]) -> None:
        self._need(row, "term_id", what="a term")
        status = row.get("status", "active").lower() or "active"
        term = self.model.find_term_by_sis(row["term_id"])
        if term is None:
            if status == "deleted":
                return
            self._need(row, "name", what=f"term {row['term_id']}")
            self.model.add_term(
                row["name"],
                sis_term_id=row["term_id"],
                start_at=row.get("start_date") or None,
                end_at=row.get("end_date") or None,
                sis_import_id=self.import_id,
            )
            return
        self._update(
            self.model.update_term,
            term,
            name=row.get("name") or term.name,
            start_at=row.get("start_date") or term.start_at,
            end_at=row.get("end_date") or term.end_at,
            workflow_state="deleted" if status == "deleted" else "active",
            sis_import_id=self.import_id,
        )

    def _apply_courses(self, row: dict[str, str]) -> None:
        self._need(row, "course_id", what="a course")
        course_sis = row["course_id"]
        status = row.get("status", "active").lower() or "active"
        if status not in ("active", "deleted", "completed", "published", "unpublished"):
            raise RowProblem(f'Improper status "{status}" for course {course_sis}', "error")
        account_id = 1
        if row.get("account_id"):
            account = self.model.find_account_by_sis(row["account_id"])
            if account is None:
                self.warnings.append(
                    ["courses.csv", f'Account not found "{row["account_id"]}" for course {course_sis}']
                )
            else:
                account_id = account.id
        term_id = 1
        if row.get("term_id"):
            term = self.model.find_term_by_sis(row["term_id"])
            if term is None:
                self.warnings.append(
                    ["courses.csv", f'Term not found "{row["term_id"]}" for course {course_sis}']
                )
            else:
                term_id = term.id
        course = self.model.find_course_by_sis(course_sis)
        if course is None:
            if status == "deleted":
                return
            self._need(row, "short_name", "long_name", what=f"course {course_sis}")
            course = self.model.add_course(
                row["long_name"],
                course_code=row["short_name"],
                account_id=account_id,
                term_id=term_id,
                sis_course_id=course_sis,
                start_at=row.get("start_date") or None,
                end_at=row.get("end_date") or None,
                course_format=row.get("course_format") or None,
                sis_import_id=self.import_id,
            )
        else:
            self._update(
                self.model.update_course,
                course,
                name=row.get("long_name") or course.name,
                course_code=row.get("short_name") or course.course_code,
                account_id=account_id,
                enrollment_term_id=term_id,
                start_at=row.get("start_date") or course.start_at,
                end_at=row.get("end_date") or course.end_at,
                sis_import_id=self.import_id,
            )
        state = course.workflow_state
        if status == "deleted":
            self._course_event(course, "delete")
        elif status == "completed":
            self._course_event(course, "conclude")
        elif status == "published":
            self._course_event(course, "offer")
        elif status == "unpublished":
            self._course_event(course, "claim")
        elif state in ("completed", "deleted"):
            self._course_event(course, "undelete")
        self.touched["courses"].add(course.id)

    def _apply_sections(self, row: dict[str, str]) -> None:
        self._need(row, "section_id", "course_id", what="a section")
        status = row.get("status", "active").lower() or "active"
        course = self.model.find_course_by_sis(row["course_id"])
        if course is None:
            raise RowProblem(
                f"Section {row['section_id']} references course {row['course_id']} which doesn't exist"
            )
        section = self.model.find_section_by_sis(row["section_id"])
        if section is None:
            if status == "deleted":
                return
            self._need(row, "name", what=f"section {row['section_id']}")
            section = self.model.add_section(
                course.id,
                row["name"],
                sis_section_id=row["section_id"],
                start_at=row.get("start_date") or None,
                end_at=row.get("end_date") or None,
                sis_import_id=self.import_id,
            )
        else:
            if status == "deleted":
                self.model.delete_section(section.id, force=True)
                return
            if section.nonxlist_course_id is None and section.course_id != course.id:
                self.model.move_section(section.id, course.id)
            self._update(
                self.model.update_section,
                section,
                name=row.get("name") or section.name,
                sis_import_id=self.import_id,
            )
        self.touched["sections"].add(section.id)

    def _apply_xlists(self, row: dict[str, str]) -> None:
        self._need(row, "xlist_course_id", "section_id", what="a cross-listing")
        section = self.model.find_section_by_sis(row["section_id"])
        if section is None:
            raise RowProblem(f"A section did not exist for section_id {row['section_id']}")
        status = row.get("status", "active").lower() or "active"
        if status == "deleted":
            if section.nonxlist_course_id is not None:
                self.model.uncrosslist_section(section.id)
            return
        course = self.model.find_course_by_sis(row["xlist_course_id"])
        if course is None:
            raise RowProblem(f"Course {row['xlist_course_id']} does not exist for cross-listing")
        self.model.crosslist_section(section.id, course.id)

    def _apply_enrollments(self, row: dict[str, str]) -> None:
        self._need(row, "user_id", what="an enrollment")
        if not row.get("course_id") and not row.get("section_id"):
            raise RowProblem("No course_id or section_id given for an enrollment", "error")
        status = row.get("status", "active").lower() or "active"
        if status not in ENROLLMENT_STATUSES:
            raise RowProblem(f'Improper status "{status}" for an enrollment', "error")
        user = self.model.find_user_by_sis(row["user_id"])
        where = f"(User ID: {row['user_id']}, Course ID: {row.get('course_id', '')}, Section ID: {row.get('section_id', '')})"
        if user is None:
            raise RowProblem(f"User not found for enrollment {where}")
        section_id = None
        course_id = None
        if row.get("section_id"):
            section = self.model.find_section_by_sis(row["section_id"])
            if section is None:
                raise RowProblem(f"An enrollment referenced a non-existent section {row['section_id']}")
            section_id = section.id
        else:
            course = self.model.find_course_by_sis(row["course_id"])
            if course is None:
                raise RowProblem(f"An enrollment referenced a non-existent course {row['course_id']}")
            course_id = course.id
        role_id = None
        enrollment_type = "StudentEnrollment"
        if row.get("role_id"):
            role_id = self.model.resolve_role(row["role_id"]).id
        elif row.get("role"):
            base = ROLE_TYPES.get(row["role"].lower())
            if base is not None:
                enrollment_type = base
            else:
                role = self.model.find_role(row["role"])
                if role is None:
                    raise RowProblem(f'Improper role "{row["role"]}" for an enrollment {where}')
                role_id = role.id
        else:
            raise RowProblem(f"No role given for an enrollment {where}", "error")
        associated = None
        if row.get("associated_user_id"):
            observed = self.model.find_user_by_sis(row["associated_user_id"])
            associated = observed.id if observed else None
        existing = self._find_enrollment(user.id, section_id, course_id, enrollment_type, role_id, associated)
        if existing is None and status == "deleted":
            return
        if existing is not None and status in ("deleted", "completed", "inactive"):
            self.model.set_enrollment_state(existing.id, ENROLLMENT_STATUSES[status])
            existing.sis_import_id = self.import_id
            self.touched["enrollments"].add(existing.id)
            return
        enrollment = self.model.enroll(
            user.id,
            course_id=course_id,
            section_id=section_id,
            type=enrollment_type,
            role_id=role_id,
            state=ENROLLMENT_STATUSES[status],
            associated_user_id=associated,
            limit_privileges_to_course_section=as_bool(row.get("limit_section_privileges")),
            sis_import_id=self.import_id,
        )
        self.touched["enrollments"].add(enrollment.id)

    def _find_enrollment(
        self,
        user_id: int,
        section_id: int | None,
        course_id: int | None,
        enrollment_type: str,
        role_id: int | None,
        associated: int | None,
    ) -> Enrollment | None:
        if section_id is None and course_id is not None:
            section_id = self.model.default_section(course_id).id
        for e in self.model.enrollments(section_id=section_id, user_id=user_id):
            builtin = role_id is None and e.type == enrollment_type and e.role_id < FIRST_CUSTOM_ROLE_ID
            if (builtin or e.role_id == role_id) and e.associated_user_id == associated:
                return e
        return None

    # -------------------------------------------------------------- batch mode
    def _batch_deletes(self, term_ids: list[int]) -> None:
        live = ["active", "invited", "inactive", "completed"]
        with self.model.lock:
            term_courses = [c for t in term_ids for c in self.model.courses(term_id=t)]
            term_enrollments = [e for t in term_ids for e in self.model.enrollments(term_id=t, states=live)]
            courses = [
                c for c in term_courses if c.sis_import_id is not None and c.id not in self.touched["courses"]
            ]
            sections = [
                s
                for c in term_courses
                for s in self.model.sections(c.id)
                if s.sis_import_id is not None and s.id not in self.touched["sections"]
            ]
            enrollments = [
                e
                for e in term_enrollments
                if e.sis_import_id is not None and e.id not in self.touched["enrollments"]
            ]
            if self.record.get("skip_deletes"):
                return
            threshold = self.record.get("change_threshold")
            if threshold is not None:
                managed = sum(1 for c in term_courses if c.sis_import_id is not None)
                managed += sum(1 for e in term_enrollments if e.sis_import_id is not None)
                share = 100.0 * (len(courses) + len(enrollments)) / max(1, managed)
                if share > threshold:
                    self.errors.append(
                        [
                            "",
                            f"{len(courses) + len(enrollments)} items would be deleted and change_threshold "
                            f"is set to {threshold}%; no deletions were made",
                        ]
                    )
                    self.fatal = True
                    return
            for e in enrollments:
                self.model.set_enrollment_state(e.id, "deleted")
            for s in sections:
                self.model.delete_section(s.id, force=True)
            for c in courses:
                self.model.course_event(c.id, "delete")
            self.counts["batch_enrollments_deleted"] += len(enrollments)
            self.counts["batch_sections_deleted"] += len(sections)
            self.counts["batch_courses_deleted"] += len(courses)


def _message(exc: CanvasError) -> str:
    body = exc.body
    if isinstance(body, dict):
        if "message" in body:
            return str(body["message"])
        errors = body.get("errors")
        if isinstance(errors, dict):
            for value in errors.values():
                if isinstance(value, list) and value and isinstance(value[0], dict):
                    return str(value[0].get("message"))
                if isinstance(value, dict):
                    for inner in value.values():
                        if isinstance(inner, list) and inner:
                            return str(inner[0].get("message"))
        if isinstance(errors, list) and errors:
            first = errors[0]
            return str(first.get("message") if isinstance(first, dict) else first)
    return str(body)
