"""The bulk path: a whole plan as one SIS import (zip of CSVs), polled to its end.

Used by the resync when the diff is large (initial load, term start, drift repair). The
import carries exactly the planned rows with explicit statuses - ``completed`` for a
concluded enrollment, ``suspended`` for a suspended user - and is sent **without**
``batch_mode`` and without diffing: batch mode would *delete* every SIS object of the term
missing from the upload (including other feeds' objects and their grades), and a diff
upload is by nature incomplete. Sending only our own rows is what keeps unmanaged objects
untouched.

Per-row problems Canvas reports (``processing_errors`` / ``processing_warnings``, each
``[file, message]``) are matched back to the operation whose SIS id the message names and
reported as requeueable failures of that operation (the resync records them as dead letters
of ``apply_operation``); a failed import fails every operation, not requeueably.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any

from canvasbridge.clients.canvas.client import SIS_IMPORT_FINAL_STATES, CanvasClient
from canvasbridge.errors import PermanentError
from canvasbridge.provisioning.model import (
    AccountState,
    CourseState,
    EnrollmentState,
    SectionState,
    UserState,
)
from canvasbridge.provisioning.plan import Operation, Plan
from canvasbridge.provisioning.polling import wait_until
from canvasbridge.provisioning.rest import ApplyReport, Failure
from canvasbridge.provisioning.rules import ENROLLMENT_TYPES
from canvasbridge.provisioning.settings import ProvisioningSettings

#: CSV files in the order Canvas must apply them, with their columns
COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts.csv": ("account_id", "parent_account_id", "name", "status"),
    "terms.csv": ("term_id", "name", "status"),
    "users.csv": ("user_id", "integration_id", "login_id", "full_name", "sortable_name", "email", "status"),
    "courses.csv": ("course_id", "short_name", "long_name", "account_id", "term_id", "status"),
    "sections.csv": ("section_id", "course_id", "name", "status"),
    "enrollments.csv": ("course_id", "section_id", "user_id", "role", "status"),
}
FILE_OF_KIND = {
    "account": "accounts.csv",
    "user": "users.csv",
    "course": "courses.csv",
    "section": "sections.csv",
    "enrollment": "enrollments.csv",
}
FAILED_STATES = frozenset({"failed", "failed_with_messages", "aborted"})


def _row(op: Operation, known_terms: set[str]) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """(file, row, extra term rows) for one operation."""
    obj = op.desired if op.desired is not None else op.current
    extra: list[dict[str, Any]] = []
    if isinstance(obj, UserState):
        suspended = op.changes.get("suspended", obj.suspended) if op.action != "create" else obj.suspended
        if op.action == "suspend" and op.desired is None:
            suspended = True
        row = {
            "user_id": obj.sis_user_id,
            "integration_id": obj.integration_id or "",
            "login_id": obj.login_id,
            "full_name": obj.name,
            "sortable_name": obj.sortable_name or "",
            "email": obj.email or "",
            "status": "suspended" if suspended else "active",
        }
        return "users.csv", row, extra
    if isinstance(obj, AccountState):
        return (
            "accounts.csv",
            {
                "account_id": obj.sis_account_id,
                "parent_account_id": obj.parent_sis_id or "",
                "name": obj.name,
                "status": "active",
            },
            extra,
        )
    if isinstance(obj, CourseState):
        if obj.term_sis_id and obj.term_sis_id not in known_terms:
            known_terms.add(obj.term_sis_id)
            extra.append(
                {"term_id": obj.term_sis_id, "name": obj.term_sis_id.replace("-", " "), "status": "active"}
            )
        status = "active"
        if op.action == "create" and obj.workflow_state == "available":
            status = "published"
        row = {
            "course_id": obj.sis_course_id,
            "short_name": obj.course_code,
            "long_name": obj.name,
            "account_id": obj.account_sis_id or "",
            "term_id": obj.term_sis_id or "",
            "status": status,
        }
        return "courses.csv", row, extra
    if isinstance(obj, SectionState):
        return (
            "sections.csv",
            {
                "section_id": obj.sis_section_id,
                "course_id": obj.course_sis_id,
                "name": obj.name,
                "status": "active",
            },
            extra,
        )
    if isinstance(obj, EnrollmentState):
        status = {"conclude": "completed"}.get(op.action, "active")
        row = {
            "course_id": obj.course_sis_id,
            "section_id": obj.section_sis_id,
            "user_id": obj.user_sis_id,
            "role": ENROLLMENT_TYPES[obj.type].sis,
            "status": status,
        }
        return "enrollments.csv", row, extra
    raise PermanentError(f"no SIS CSV row for {op.describe()}")


def build_import(ops: Iterable[Operation], known_terms: Iterable[str] = ()) -> tuple[bytes, dict[str, int]]:
    """The zip to upload and the number of rows per file. One row per object: several
    operations on the same object (an update and a suspension) fold into its last row."""
    terms = set(known_terms)
    rows: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in COLUMNS}
    for op in ops:
        name, row, extra = _row(op, terms)
        key = "|".join(str(row.get(c, "")) for c in COLUMNS[name][:3])
        if name == "users.csv":
            previous = rows[name].get(key)
            if previous is not None and previous["status"] == "suspended" and op.action != "unsuspend":
                row["status"] = "suspended"
        rows[name][key] = row
        for term in extra:
            rows["terms.csv"][term["term_id"]] = term
    buffer = io.BytesIO()
    counts: dict[str, int] = {}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, columns in COLUMNS.items():
            if not rows[name]:
                continue
            text = io.StringIO()
            writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows[name].values())
            archive.writestr(name, text.getvalue())
            counts[name] = len(rows[name])
    return buffer.getvalue(), counts


def apply_bulk(
    canvas: CanvasClient, settings: ProvisioningSettings, plan: Plan, facts: Mapping[str, Any] | None = None
) -> ApplyReport:
    """Upload ``plan`` as one SIS import, wait for it, and report failures per operation."""
    ops = plan.ordered()
    data, _counts = build_import(ops, (facts or {}).get("terms", ()))
    started = canvas.create_sis_import(data, filename="canvasbridge.zip", account_id=settings.root_account)
    final = wait_until(
        lambda: canvas.sis_import(int(started["id"]), account_id=settings.root_account),
        lambda state: state.get("workflow_state") in SIS_IMPORT_FINAL_STATES,
        what=f"SIS import {started['id']}",
        first_s=settings.bulk.poll_interval_s,
        timeout_s=settings.bulk.timeout_s,
    )
    return report_from_import(final, ops)


def report_from_import(final: Mapping[str, Any], ops: list[Operation]) -> ApplyReport:
    """Failures per operation. Only a row message matched to an operation is requeueable: a
    failed import is not the fault of its rows (run the resync again), and a message naming
    no planned object has nothing to re-apply."""
    state = str(final.get("workflow_state"))
    report = ApplyReport(origin=f"sis_import:{final.get('id')}")
    if state in FAILED_STATES:
        messages = "; ".join(str(m[1]) for m in (final.get("processing_errors") or [])[:3])
        error = f"SIS import {final.get('id')} ended {state}" + (f": {messages}" if messages else "")
        report.failures = [Failure(op, error, False, requeueable=False) for op in ops]
        return report
    failed: dict[int, Failure] = {}
    for level, entries in (
        ("error", final.get("processing_errors")),
        ("warning", final.get("processing_warnings")),
    ):
        for entry in entries or []:
            file, message = (str(entry[0]), str(entry[1])) if len(entry) >= 2 else ("", str(entry))
            index = _match(ops, file, message)
            if index is None:
                synthetic = Operation("import", level, file or "SIS import", {"message": message})
                report.failures.append(
                    Failure(synthetic, f"SIS import {level}: {message}", False, requeueable=False)
                )
            elif index not in failed:
                failed[index] = Failure(ops[index], f"SIS import {level}: {message}", False)
    report.failures = list(failed.values()) + report.failures
    report.done = len(ops) - len(failed)
    return report


def _match(ops: list[Operation], file: str, message: str) -> int | None:
    """The operation a row message is about: the longest SIS id of the file's kind it names."""
    best: tuple[int, int] | None = None
    for index, op in enumerate(ops):
        if file and FILE_OF_KIND.get(op.kind) != file.rsplit("/", 1)[-1]:
            continue
        obj = op.desired if op.desired is not None else op.current
        keys = [op.key]
        if isinstance(obj, EnrollmentState):
            keys = [obj.user_sis_id, obj.section_sis_id]
        if all(k and k in message for k in keys):
            length = sum(len(k) for k in keys)
            if best is None or length > best[1]:
                best = (index, length)
    return None if best is None else best[0]
