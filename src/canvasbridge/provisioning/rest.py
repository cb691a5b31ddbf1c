"""Carry out a :class:`~.plan.Plan` through the Canvas REST API, one call per change.

Objects are addressed by SIS id (``sis_course_id:…``), so an operation needs no id from an
earlier one. A changed user costs at most two calls (``PUT /users/:id`` carries name, email
and suspend/unsuspend together; ``PUT …/logins/:id`` only if the login itself changed).

Errors: with ``stop_on_transient`` (what tasks want) a :class:`TransientError` propagates so
the engine retries the whole idempotent task; otherwise every failure is recorded in the
:class:`ApplyReport` and the run goes on (what a resync wants).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from canvasbridge.clients.canvas.client import (
    CanvasClient,
    sis_account,
    sis_course,
    sis_section,
    sis_user,
)
from canvasbridge.errors import CanvasbridgeError, NotFoundError, PermanentError, TransientError
from canvasbridge.provisioning.canvas_state import Directory
from canvasbridge.provisioning.model import EnrollmentState
from canvasbridge.provisioning.plan import Operation, Plan
from canvasbridge.provisioning.rules import ENROLLMENT_TYPES
from canvasbridge.provisioning.settings import ProvisioningSettings


@dataclass
class Failure:
    """An operation that was not carried out. ``requeueable`` is False when there is no single
    operation to run again (a SIS import message naming no planned object, a failed import)."""

    operation: Operation
    error: str
    transient: bool
    exception: Exception | None = None
    requeueable: bool = True
    dead_letter: int | None = None  # the ledger call it was recorded as

    def describe(self) -> str:
        text = f"{self.operation.describe()}: {self.error}"
        return text if self.dead_letter is None else f"{text} (dead letter {self.dead_letter})"


@dataclass
class ApplyReport:
    done: int = 0
    failures: list[Failure] = field(default_factory=list)
    calls: int = 0
    origin: str | None = None  # where the writes went when it was one job (``sis_import:<id>``)

    @property
    def ok(self) -> bool:
        return not self.failures


def _taken(exc: Exception) -> bool:
    """Canvas refused a create because the SIS id or login is in use (``"type": "taken"``)."""
    body = getattr(exc, "body", None)
    return isinstance(body, dict) and '"taken"' in json.dumps(body)


def body_ref(prefix: str, value: str) -> str:
    """A SIS reference inside a form body: not URL-escaped (the form encoding does that)."""
    return f"{prefix}:{value}"


class RestExecutor:
    """Runs operations against Canvas (see the module docstring)."""

    def __init__(self, canvas: CanvasClient, directory: Directory, settings: ProvisioningSettings) -> None:
        self.canvas = canvas
        self.directory = directory
        self.settings = settings

    def apply(
        self,
        plan: Plan | list[Operation],
        *,
        stop_on_transient: bool = True,
        progress: Callable[[Operation], None] | None = None,
    ) -> ApplyReport:
        ops = plan.ordered() if isinstance(plan, Plan) else plan
        report = ApplyReport()
        for op in ops:
            try:
                try:
                    self.run(op)
                except PermanentError as exc:
                    if op.action == "create" and _taken(exc):  # a concurrent task created it first
                        raise TransientError(
                            f"{op.describe()}: created meanwhile; a retry re-reads Canvas"
                        ) from exc
                    raise
                report.done += 1
            except TransientError as exc:
                if stop_on_transient:
                    raise
                report.failures.append(Failure(op, str(exc), True, exc))
            except CanvasbridgeError as exc:
                report.failures.append(Failure(op, str(exc), False, exc))
            finally:
                if progress is not None:
                    progress(op)
        return report

    # ------------------------------------------------------------------ dispatch

    def run(self, op: Operation) -> None:
        handler = getattr(self, f"_{op.kind}_{op.action}", None)
        if handler is None:
            raise PermanentError(f"no REST implementation for {op.action} {op.kind}")
        handler(op)

    def _call(self, method: str, path: str, data: dict[str, Any] | None = None) -> Any:
        return self.canvas.request(method, path, data=data)

    @property
    def root(self) -> str:
        return str(self.directory.root())

    # ------------------------------------------------------------------ users

    def _user_create(self, op: Operation) -> None:
        u = op.desired
        pseudonym: dict[str, Any] = {"unique_id": u.login_id, "sis_user_id": u.sis_user_id}
        if u.integration_id:
            pseudonym["integration_id"] = u.integration_id
        if self.settings.users.authentication_provider_id:
            pseudonym["authentication_provider_id"] = self.settings.users.authentication_provider_id
        data: dict[str, Any] = {
            "user": {"name": u.name, "skip_registration": True},
            "pseudonym": pseudonym,
            "enable_sis_reactivation": True,
        }
        if u.sortable_name:
            data["user"]["sortable_name"] = u.sortable_name
        if u.email:
            data["communication_channel"] = {"type": "email", "address": u.email, "skip_confirmation": True}
        self._call("POST", f"accounts/{self.root}/users", data)

    def _user_ref(self, op: Operation) -> str:
        current = op.current
        if current is not None and current.canvas_id is not None:
            return str(current.canvas_id)
        return sis_user(op.key)

    def _user_put(self, op: Operation) -> None:
        changes = dict(op.changes)
        if "login" in changes:
            self._login_put(op, changes.pop("login"))
            return
        fields: dict[str, Any] = {
            k: changes[k] for k in ("name", "email") if k in changes and changes[k] is not None
        }
        if "suspended" in changes:
            fields["event"] = "suspend" if changes["suspended"] else "unsuspend"
        if fields:
            self._call("PUT", f"users/{self._user_ref(op)}", {"user": fields})

    _user_update = _user_put
    _user_suspend = _user_put
    _user_unsuspend = _user_put

    def _login_put(self, op: Operation, changes: dict[str, Any]) -> None:
        login_id = op.current.login_canvas_id if op.current is not None else None
        if login_id is None:
            logins = list(self.canvas.paginate(f"users/{self._user_ref(op)}/logins"))
            login = next((lg for lg in logins if lg.get("sis_user_id") == op.key), None)
            if login is None:
                raise NotFoundError(f"user {op.key} has no login carrying its SIS id")
            login_id = int(login["id"])
        fields = {"unique_id" if k == "login_id" else k: v for k, v in changes.items()}
        self._call("PUT", f"accounts/{self.root}/logins/{login_id}", {"login": fields})

    # ------------------------------------------------------------------ accounts

    def _account_ref(self, sis_id: str | None) -> str:
        return self.root if sis_id is None else sis_account(sis_id)

    def _account_create(self, op: Operation) -> None:
        a = op.desired
        created = self._call(
            "POST",
            f"accounts/{self._account_ref(a.parent_sis_id)}/sub_accounts",
            {"account": {"name": a.name, "sis_account_id": a.sis_account_id}},
        )
        if isinstance(created, dict) and "id" in created:
            self.directory.note_account(
                int(created["id"]), a.sis_account_id, created.get("parent_account_id")
            )

    def _account_move(self, op: Operation) -> None:
        parent = op.changes["parent_sis_id"]
        moved = self._call(
            "PUT",
            f"accounts/{sis_account(op.key)}",
            {"account": {"parent_account_id": self._account_ref(parent)}},
        )
        if isinstance(moved, dict) and "id" in moved:
            self.directory.note_account(int(moved["id"]), op.key, moved.get("parent_account_id"))

    def _account_update(self, op: Operation) -> None:
        self._call("PUT", f"accounts/{sis_account(op.key)}", {"account": {"name": op.changes["name"]}})

    # ------------------------------------------------------------------ courses

    def _term_ref(self, sis_term_id: str | None) -> str | None:
        """``sis_term_id:…`` for the term, creating the term first if Canvas lacks it."""
        if sis_term_id is None:
            return None
        if not self.directory.has_term(sis_term_id):
            created = self._call(
                "POST",
                f"accounts/{self.root}/terms",
                {"enrollment_term": {"name": sis_term_id.replace("-", " "), "sis_term_id": sis_term_id}},
            )
            if isinstance(created, dict) and "id" in created:
                self.directory.note_term(int(created["id"]), sis_term_id)
        return body_ref("sis_term_id", sis_term_id)

    def _course_account(self, sis_id: str | None) -> str:
        """The account reference for a course; transient if the sub-account is not there yet
        (its ``ensure_account`` may still be queued), so the engine retries later."""
        if sis_id is not None and not self.directory.has_account(sis_id):
            raise TransientError(
                f"sub-account {sis_id} is not in Canvas yet (waiting for its ensure_account)"
            )
        return self._account_ref(sis_id)

    def _course_create(self, op: Operation) -> None:
        c = op.desired
        course: dict[str, Any] = {
            "name": c.name,
            "course_code": c.course_code,
            "sis_course_id": c.sis_course_id,
        }
        term = self._term_ref(c.term_sis_id)
        if term is not None:
            course["term_id"] = term
        data: dict[str, Any] = {"course": course, "enable_sis_reactivation": True}
        if c.workflow_state == "available":
            data["offer"] = True
        self._call("POST", f"accounts/{self._course_account(c.account_sis_id)}/courses", data)

    def _course_move(self, op: Operation) -> None:
        sis_id = op.changes["account_sis_id"]
        self._course_account(sis_id)
        target = self.root if sis_id is None else body_ref("sis_account_id", sis_id)
        self._call("PUT", f"courses/{sis_course(op.key)}", {"course": {"account_id": target}})

    def _course_update(self, op: Operation) -> None:
        fields = {k: v for k, v in op.changes.items() if k in ("name", "course_code")}
        if "term_sis_id" in op.changes:
            fields["term_id"] = self._term_ref(op.changes["term_sis_id"]) or ""
        self._call("PUT", f"courses/{sis_course(op.key)}", {"course": fields})

    # ------------------------------------------------------------------ sections

    def _section_create(self, op: Operation) -> None:
        s = op.desired
        self._call(
            "POST",
            f"courses/{sis_course(s.course_sis_id)}/sections",
            {
                "course_section": {"name": s.name, "sis_section_id": s.sis_section_id},
                "enable_sis_reactivation": True,
            },
        )

    def _section_update(self, op: Operation) -> None:
        self._call("PUT", f"sections/{sis_section(op.key)}", {"course_section": {"name": op.changes["name"]}})

    # ------------------------------------------------------------------ enrollments

    def _enrollment_create(self, op: Operation) -> None:
        e: EnrollmentState = op.desired
        self._call(
            "POST",
            f"sections/{sis_section(e.section_sis_id)}/enrollments",
            {
                "enrollment": {
                    "user_id": body_ref("sis_user_id", e.user_sis_id),
                    "type": ENROLLMENT_TYPES[e.type].rest,
                    "enrollment_state": "active",
                    "notify": False,
                }
            },
        )

    def _located(self, e: EnrollmentState) -> tuple[int, int]:
        """(course id, enrollment id), looked up when the state came from a report."""
        if e.canvas_id is not None and e.canvas_course_id is not None:
            return e.canvas_course_id, e.canvas_id
        items = self.canvas.paginate(
            f"sections/{sis_section(e.section_sis_id)}/enrollments",
            **{
                "user_id": body_ref("sis_user_id", e.user_sis_id),
                "state[]": ["active", "invited", "inactive"],
            },
        )
        for item in items:
            if item.get("type") == ENROLLMENT_TYPES[e.type].rest:
                return int(item["course_id"]), int(item["id"])
        raise NotFoundError(f"enrollment {e.type} {e.user_sis_id} in {e.section_sis_id} not found")

    def _enrollment_conclude(self, op: Operation) -> None:
        course_id, enrollment_id = self._located(op.current)
        self._call("DELETE", f"courses/{course_id}/enrollments/{enrollment_id}", {"task": "conclude"})

    def _enrollment_reactivate(self, op: Operation) -> None:
        course_id, enrollment_id = self._located(op.current)
        self._call("PUT", f"courses/{course_id}/enrollments/{enrollment_id}/reactivate")
