"""HTTP request → model call → response in Canvas's exact shape.

Each handler reads Rails-style parameters (``params.py``), resolves ids (numeric or
SIS-prefixed), calls :class:`~canvasbridge_emulators.canvas.models.CanvasModel` and
renders with ``shapes.py``. Model rule violations are ``CanvasError`` exceptions,
turned into Canvas's error bodies by :func:`canvas_error_handler`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from canvasbridge_emulators.canvas import reports, shapes
from canvasbridge_emulators.canvas.exceptions import (
    BadRequest,
    CanvasError,
    ResourceNotFound,
    Unauthorized,
    ValidationFailed,
)
from canvasbridge_emulators.canvas.ids import local_ref
from canvasbridge_emulators.canvas.models import (
    BUILTIN_ROLE_IDS,
    ENROLLMENT_TYPES,
    ROOT_ACCOUNT_ID,
    Account,
    CanvasModel,
    Course,
    Enrollment,
    Role,
    User,
)
from canvasbridge_emulators.canvas.pagination import paginate, paginate_bookmark
from canvasbridge_emulators.canvas.params import as_bool, as_int, read_params, section, text
from canvasbridge_emulators.canvas.sis_import import SisImporter

JSON_TYPE = "application/json; charset=utf-8"
# Enrollment states hidden from course and section listings when no state[] is given
# (the caller is an admin, so inactive ones stay visible).
HIDDEN_BY_DEFAULT = {"completed", "deleted", "rejected"}
USER_LISTING_STATE_SETS = {
    "current_and_invited": {"active", "invited"},
    "current_and_future": {"active", "invited", "creation_pending"},
    "current_and_concluded": {"active", "completed"},
}
COURSE_STATE_FILTERS = {
    "created": "unpublished",
    "claimed": "unpublished",
    "unpublished": "unpublished",
    "available": "available",
    "completed": "completed",
    "deleted": "deleted",
}
USER_FIELDS = ("name", "short_name", "sortable_name", "time_zone", "email", "locale")
COURSE_FIELDS = (
    "name",
    "course_code",
    "time_zone",
    "default_view",
    "course_format",
    "sis_course_id",
    "integration_id",
)
SECTION_FIELDS = ("name", "sis_section_id", "integration_id", "start_at", "end_at")


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def ok(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(data), status_code=status, headers=headers, media_type=JSON_TYPE)


async def canvas_error_handler(request: Request, exc: Exception) -> Response:
    if isinstance(exc, CanvasError):
        if exc.body is None:
            return Response(b"null", status_code=exc.status, media_type=JSON_TYPE)
        return ok(exc.body, exc.status)
    raise exc


def ref(request: Request, name: str = "id") -> str:
    """A path id, with ``%2F`` kept by the gate turned back into ``/`` and a global id
    (``shard * 10^13 + id`` or ``shard~id``) made local, as Canvas accepts both everywhere."""
    return local_ref(str(request.path_params[name]).replace("%2F", "/"))


def base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


class CanvasResponses:
    """The route handlers, bound to one model."""

    def __init__(self, model: CanvasModel, sis: SisImporter) -> None:
        self.model = model
        self.sis = sis
        self._sorted_users: dict[tuple[tuple[int, int], int, str], list[User]] = {}

    # ------------------------------------------------------------------ helpers
    def listing(
        self,
        request: Request,
        items: Sequence[Any],
        render: Callable[[Any], Any],
        *,
        with_last: bool = True,
        bookmark: bool = False,
        wrap: str | None = None,
    ) -> Response:
        if bookmark:
            page, link = paginate_bookmark(request, items)
        else:
            page, link = paginate(request, items, with_last=with_last)
        with self.model.lock:
            body: Any = [render(item) for item in page]
        if wrap:
            body = {wrap: body}
        return ok(body, headers={"Link": link})

    def account(self, request: Request, name: str = "id") -> Account:
        """The account in the path; only its admins (or an admin of a parent) may use it."""
        account = self.model.resolve_account(ref(request, name))
        if not self.administers(request, account.id):
            raise Unauthorized()
        return account

    def administers(self, request: Request, account_id: int) -> bool:
        """Whether the token's user is an admin of the account or of one above it (a token
        with no user, the default, acts as an admin of everything)."""
        user_id = request.scope.get("state", {}).get("canvas_user_id")
        if user_id is None:
            return True
        chain = self.model.account_chain(account_id)
        return any(self.model.admins(account, user_ids={user_id}) for account in chain)

    def root_only(self, request: Request, name: str = "id") -> Account:
        account = self.account(request, name)
        if account.id != ROOT_ACCOUNT_ID:
            raise BadRequest("Action must be called on a root account.")
        return account

    def user(self, request: Request, value: str | None = None) -> User:
        return self.model.resolve_user(
            value if value is not None else ref(request, "id"),
            self_id=request.scope.get("state", {}).get("canvas_user_id"),
        )

    async def not_found(self, request: Request) -> Response:
        raise ResourceNotFound()

    # ------------------------------------------------------------------ accounts
    async def list_accounts(self, request: Request) -> Response:
        root = self.model.root_account
        return self.listing(request, [root] if self.administers(request, root.id) else [], shapes.account)

    async def get_account(self, request: Request) -> Response:
        return ok(shapes.account(self.account(request)))

    async def update_account(self, request: Request) -> Response:
        account = self.account(request)
        fields = section(await read_params(request), "account")
        changes: dict[str, Any] = {}
        for key in ("name", "sis_account_id", "integration_id", "default_time_zone"):
            if key in fields:
                changes[key] = text(fields[key])
        if fields.get("parent_account_id"):
            if account.id == ROOT_ACCOUNT_ID:
                raise BadRequest("cannot move a root account")
            changes["parent_account_id"] = self.model.resolve_account(str(fields["parent_account_id"])).id
        return ok(shapes.account(self.model.update_account(account.id, sticky=True, **changes)))

    async def list_sub_accounts(self, request: Request) -> Response:
        account = self.account(request)
        recursive = as_bool(request.query_params.get("recursive"))
        items = self.model.sub_accounts(account.id, recursive=recursive)
        return self.listing(request, items, shapes.account)

    async def create_sub_account(self, request: Request) -> Response:
        parent = self.account(request)
        fields = section(await read_params(request), "account")
        name = text(fields.get("name"))
        if not name:
            raise ValidationFailed("name", "blank", "can't be blank")
        account = self.model.add_account(
            name,
            parent_id=parent.id,
            sis_account_id=text(fields.get("sis_account_id")),
            integration_id=text(fields.get("integration_id")),
        )
        return ok(shapes.account(account))

    async def delete_sub_account(self, request: Request) -> Response:
        parent = self.account(request, "account_id")
        target = self.model.resolve_account(ref(request, "id"))
        return ok(shapes.account(self.model.delete_sub_account(parent.id, target.id)))

    # ------------------------------------------------------------------ terms and roles
    async def list_terms(self, request: Request) -> Response:
        self.account(request)
        state = request.query_params.get("workflow_state[]") or request.query_params.get("workflow_state")
        items = self.model.terms(include_deleted=state in ("all", "deleted"))
        if state == "deleted":
            items = [t for t in items if t.workflow_state == "deleted"]
        return self.listing(request, items, shapes.term, wrap="enrollment_terms")

    async def get_term(self, request: Request) -> Response:
        self.account(request, "account_id")
        return ok(shapes.term(self.model.resolve_term(ref(request))))

    async def create_term(self, request: Request) -> Response:
        self.root_only(request)
        fields = section(await read_params(request), "enrollment_term")
        term = self.model.add_term(
            text(fields.get("name")) or "New Term",
            sis_term_id=text(fields.get("sis_term_id")),
            integration_id=text(fields.get("integration_id")),
            start_at=text(fields.get("start_at")),
            end_at=text(fields.get("end_at")),
        )
        return ok(shapes.term(term))

    async def update_term(self, request: Request) -> Response:
        self.account(request, "account_id")
        term = self.model.resolve_term(ref(request))
        fields = section(await read_params(request), "enrollment_term")
        changes = {k: text(fields[k]) for k in ("name", "sis_term_id", "start_at", "end_at") if k in fields}
        return ok(shapes.term(self.model.update_term(term.id, sticky=True, **changes)))

    async def delete_term(self, request: Request) -> Response:
        self.account(request, "account_id")
        term = self.model.resolve_term(ref(request))
        if self.model.courses(term_id=term.id):
            raise BadRequest("Cannot delete a term with active courses")
        return ok(shapes.term(self.model.update_term(term.id, workflow_state="deleted")))

    async def list_roles(self, request: Request) -> Response:
        self.account(request)
        return self.listing(request, self.model.roles(), shapes.role)

    async def get_role(self, request: Request) -> Response:
        self.account(request, "account_id")
        return ok(shapes.role(self.model.resolve_role(ref(request))))

    async def create_role(self, request: Request) -> Response:
        self.account(request)
        params = await read_params(request)
        label = text(params.get("label")) or text(params.get("role"))
        if not label:
            raise BadRequest("missing required parameter 'role'")
        base = text(params.get("base_role_type")) or "AccountMembership"
        return ok(shapes.role(self.model.add_role(label, base)))

    # ------------------------------------------------------------------ account admins
    def _admin_role(self, params: dict[str, Any]) -> Role:
        """As Canvas: ``role_id``, else ``role`` by name, else AccountAdmin; an id or name
        Canvas does not know falls through to AccountAdmin too, silently."""
        role_id, name = text(params.get("role_id")), text(params.get("role"))
        if role_id and role_id.isdigit():
            with contextlib.suppress(ResourceNotFound):
                return self.model.get_role(int(role_id))
        if name:
            role = self.model.find_role(name)
            if role is not None and role.is_account_role:
                return role
        return self.model.get_role(BUILTIN_ROLE_IDS["AccountAdmin"])

    async def list_admins(self, request: Request) -> Response:
        account = self.account(request)
        params = await read_params(request)
        refs = params.get("user_id")
        user_ids: set[int] | None = None
        if refs is not None:
            user_ids = set()
            for value in refs if isinstance(refs, list) else [refs]:
                with contextlib.suppress(ResourceNotFound):  # Canvas drops unknown ids
                    user_ids.add(self.user(request, str(value)).id)
        items = self.model.admins(account.id, user_ids=user_ids)
        return self.listing(request, items, lambda a: shapes.admin(self.model, a))

    async def create_admin(self, request: Request) -> Response:
        account = self.account(request)
        params = await read_params(request)
        user = self.user(request, text(params.get("user_id")) or "")
        admin = self.model.add_admin(account.id, user.id, self._admin_role(params).id)
        return ok(shapes.admin(self.model, admin))

    async def delete_admin(self, request: Request) -> Response:
        account = self.account(request, "account_id")
        user = self.user(request, ref(request, "user_id"))
        params = await read_params(request)
        admin = self.model.remove_admin(account.id, user.id, self._admin_role(params).id)
        return ok(shapes.admin(self.model, admin))

    # ------------------------------------------------------------------ users
    async def list_users(self, request: Request) -> Response:
        account = self.account(request)
        query = request.query_params
        term = query.get("search_term")
        with self.model.lock:
            users = self.model.users()
            if account.id != ROOT_ACCOUNT_ID:
                courses = {c.id for c in self.model.courses(account.id)}
                members = {e.user_id for e in self.model.enrollments() if e.course_id in courses}
                users = [u for u in users if u.id in members]
            if term is not None:
                if len(term) < 3:
                    raise CanvasError(
                        {
                            "errors": [
                                {
                                    "field": "search_term",
                                    "message": "3 or more characters is required",
                                    "error_code": "invalid_length",
                                }
                            ]
                        }
                    )
                users = [u for u in users if self._user_matches(u, term)]
            sort = query.get("sort", "username")
            if term is None:
                key = (self.model.version, account.id, sort)
                cached = self._sorted_users.get(key)
                if cached is None:
                    cached = sorted(users, key=lambda u: self._user_sort_key(u, sort))
                    self._sorted_users = {key: cached}  # keep only the latest listing
                users = list(cached)
            else:
                users = sorted(users, key=lambda u: self._user_sort_key(u, sort))
            if query.get("order") == "desc":
                users.reverse()
        include = set(query.getlist("include[]"))

        def render(u: User) -> dict[str, Any]:
            body = shapes.user(self.model, u)
            if "email" in include:
                body["email"] = u.email
            if "time_zone" in include:
                body["time_zone"] = u.time_zone
            if "uuid" in include:
                body["uuid"] = u.uuid
            return body

        return self.listing(request, users, render, with_last=False)

    def _user_matches(self, u: User, term: str) -> bool:
        needle = term.lower()
        if term.isdigit() and u.id == int(term):
            return True
        haystack = [u.name, u.sortable_name, u.short_name, u.email or ""]
        for login in self.model.logins(u.id):
            haystack += [login.unique_id, login.sis_user_id or "", login.integration_id or ""]
        return any(needle in value.lower() for value in haystack)

    def _user_sort_key(self, u: User, sort: str) -> tuple[str, int]:
        if sort in ("sis_id", "email"):
            login = self.model.primary_login(u.id)
            value = (login.sis_user_id if login else None) if sort == "sis_id" else u.email
            return (value or "", u.id)
        return (u.sortable_name.lower(), u.id)

    async def create_user(self, request: Request) -> Response:
        account = self.account(request)
        params = await read_params(request)
        user_fields = section(params, "user")
        pseudonym = section(params, "pseudonym")
        channel = section(params, "communication_channel")
        unique_id = text(pseudonym.get("unique_id"))
        if not unique_id:
            raise ValidationFailed("unique_id", "blank", "can't be blank", nest="pseudonym")
        is_email = text(channel.get("type")) in (None, "email")
        email = text(channel.get("address")) if is_email else None
        with self.model.lock:
            user = self.model.add_user(
                text(user_fields.get("name")) or unique_id,
                unique_id=unique_id,
                sis_user_id=text(pseudonym.get("sis_user_id")),
                integration_id=text(pseudonym.get("integration_id")),
                email=email,
                short_name=text(user_fields.get("short_name")),
                sortable_name=text(user_fields.get("sortable_name")),
                registered=as_bool(user_fields.get("skip_registration")) or bool(pseudonym.get("password")),
            )
            login = self.model.primary_login(user.id)
            if login is not None and account.id != ROOT_ACCOUNT_ID:
                login.account_id = ROOT_ACCOUNT_ID
            if user_fields.get("time_zone"):
                user.time_zone = str(user_fields["time_zone"])
            if user_fields.get("locale"):
                user.locale = str(user_fields["locale"])
            return ok(shapes.user(self.model, user, full=True))

    async def get_user(self, request: Request) -> Response:
        user = self.user(request)
        body = shapes.user(self.model, user, full=True)
        return ok(body, 404 if user.workflow_state == "deleted" else 200)

    async def get_profile(self, request: Request) -> Response:
        user = self.user(request, ref(request, "user_id"))
        if user.workflow_state == "deleted":
            raise ResourceNotFound()
        return ok(shapes.profile(self.model, user, base_url(request)))

    async def update_user(self, request: Request) -> Response:
        user = self.user(request)
        fields = section(await read_params(request), "user")
        event = text(fields.get("event"))
        changes = {k: text(fields[k]) for k in USER_FIELDS if k in fields}
        with self.model.lock:
            self.model.update_user(user.id, sticky=True, **changes)
            if event == "suspend":
                self.model.suspend_user(user.id)
            elif event == "unsuspend":
                self.model.unsuspend_user(user.id)
            elif event is not None:
                raise BadRequest(f"invalid event {event}")
            return ok(shapes.user(self.model, user, full=True))

    async def delete_user(self, request: Request) -> Response:
        self.account(request, "account_id")
        user = self.user(request)
        with self.model.lock:
            body = shapes.user(self.model, user)
            self.model.delete_user(user.id)
        return ok(body)

    # ------------------------------------------------------------------ logins
    async def list_user_logins(self, request: Request) -> Response:
        user = self.user(request)
        return self.listing(request, self.model.logins(user.id), shapes.login)

    async def list_account_logins(self, request: Request) -> Response:
        self.root_only(request)
        params = await read_params(request)
        user_ref = text(params.get("user_id")) or text(section(params, "user").get("id"))
        user = self.user(request, user_ref or "self")
        return self.listing(request, self.model.logins(user.id), shapes.login)

    async def create_login(self, request: Request) -> Response:
        self.root_only(request)
        params = await read_params(request)
        user_ref = text(section(params, "user").get("id"))
        fields = section(params, "login")
        if not user_ref:
            raise BadRequest("user[id] is required")
        user = self.user(request, user_ref)
        unique_id = text(fields.get("unique_id"))
        if not unique_id:
            raise ValidationFailed("unique_id", "blank", "can't be blank")
        provider = fields.get("authentication_provider_id")
        login = self.model.add_login(
            user.id,
            unique_id,
            sis_user_id=text(fields.get("sis_user_id")),
            integration_id=text(fields.get("integration_id")),
            authentication_provider_id=as_int(provider, "authentication_provider_id")
            if provider and str(provider).isdigit()
            else None,
            declared_user_type=text(fields.get("declared_user_type")),
        )
        return ok(shapes.login(login))

    async def update_login(self, request: Request) -> Response:
        self.account(request, "account_id")
        login = self.model.resolve_login(ref(request))
        params = await read_params(request)
        fields = section(params, "login")
        if not fields:
            raise CanvasError(None, 400)
        changes: dict[str, Any] = {}
        for key in ("unique_id", "sis_user_id", "integration_id", "workflow_state", "declared_user_type"):
            if key in fields:
                changes[key] = text(fields[key])
        if changes.get("unique_id") == "":
            raise ValidationFailed("unique_id", "blank", "can't be blank")
        if changes.get("unique_id") is None:
            changes.pop("unique_id", None)
        return ok(shapes.login(self.model.update_login(login.id, **changes)))

    async def delete_login(self, request: Request) -> Response:
        user = self.user(request, ref(request, "user_id"))
        login = self.model.resolve_login(ref(request))
        return ok(shapes.login(self.model.delete_login(user.id, login.id)))

    # ------------------------------------------------------------------ courses
    async def list_account_courses(self, request: Request) -> Response:
        account = self.account(request)
        query = request.query_params
        states = {COURSE_STATE_FILTERS[s] for s in query.getlist("state[]") if s in COURSE_STATE_FILTERS}
        if "all" in query.getlist("state[]"):
            states = set(COURSE_STATE_FILTERS.values())
        term_ref = query.get("enrollment_term_id")
        term_id = self.model.resolve_term(term_ref).id if term_ref else None
        with self.model.lock:
            courses = self.model.courses(account.id, term_id=term_id, states=states or None)
            search = query.get("search_term")
            if search:
                needle = search.lower()
                courses = [
                    c
                    for c in courses
                    if needle in c.name.lower()
                    or needle in c.course_code.lower()
                    or needle in (c.sis_course_id or "").lower()
                ]
            if as_bool(query.get("with_enrollments")):
                enrolled = {e.course_id for e in self.model.enrollments(states=["active", "invited"])}
                courses = [c for c in courses if c.id in enrolled]
            courses.sort(
                key=lambda c: (c.name.lower(), c.id) if query.get("sort") == "course_name" else (0, c.id)
            )
        return self.listing(request, courses, lambda c: self._course_with_includes(request, c))

    async def create_course(self, request: Request) -> Response:
        account = self.account(request)
        params = await read_params(request)
        fields = section(params, "course")
        extra = self._course_changes(fields)
        if fields.get("account_id"):
            extra["account_id"] = self.model.resolve_account(str(fields["account_id"])).id
        term_id = extra.pop("term_id", None)
        with self.model.lock:
            course = self.model.add_course(
                extra.pop("name", None) or "Unnamed Course",
                account_id=extra.pop("account_id", account.id),
                term_id=term_id,
                workflow_state="available" if as_bool(params.get("offer")) else "unpublished",
                **extra,
            )
            if as_bool(params.get("enroll_me")):
                me = request.scope.get("state", {}).get("canvas_user_id")
                if me is not None:
                    self.model.enroll(me, course_id=course.id, type="TeacherEnrollment", state="active")
            return ok(shapes.course(course))

    def _course_changes(self, fields: dict[str, Any]) -> dict[str, Any]:
        changes: dict[str, Any] = {k: text(fields[k]) for k in COURSE_FIELDS if k in fields}
        if "term_id" in fields:
            value = text(fields["term_id"])
            changes["term_id"] = self.model.resolve_term(value).id if value else None
        if "enrollment_term_id" in fields:
            changes["term_id"] = self.model.resolve_term(str(fields["enrollment_term_id"])).id
        if "restrict_enrollments_to_course_dates" in fields:
            changes["restrict_enrollments_to_course_dates"] = as_bool(
                fields["restrict_enrollments_to_course_dates"]
            )
        if as_bool(fields.get("restrict_enrollments_to_course_dates")):
            for key in ("start_at", "end_at"):
                if key in fields:
                    changes[key] = text(fields[key]) or None
        return changes

    async def get_course(self, request: Request) -> Response:
        course = self.model.resolve_course(ref(request))
        if course.workflow_state == "deleted":
            raise ResourceNotFound()
        return ok(self._course_with_includes(request, course))

    def _course_with_includes(self, request: Request, course: Course) -> dict[str, Any]:
        body = shapes.course(course)
        include = set(request.query_params.getlist("include[]"))
        if "term" in include:
            body["term"] = shapes.term(self.model.get_term(course.enrollment_term_id))
        if "total_students" in include:
            body["total_students"] = len(
                {
                    e.user_id
                    for e in self.model.enrollments(
                        course_id=course.id, types=["StudentEnrollment"], states=["active", "invited"]
                    )
                }
            )
        if "sections" in include:
            body["sections"] = [
                {"id": s.id, "name": s.name, "start_at": s.start_at, "end_at": s.end_at}
                for s in self.model.sections(course.id)
            ]
        return body

    async def list_user_courses(self, request: Request) -> Response:
        """``GET /users/:user_id/courses`` and ``GET /courses`` (the caller's): courses with a
        current (active or invited) enrollment of the user."""
        if "user_id" in request.path_params:
            user = self.user(request, ref(request, "user_id"))
        else:
            user = self.user(request, "self")
        states = set(request.query_params.getlist("enrollment_state")) or {"active", "invited"}
        with self.model.lock:
            course_ids = sorted({e.course_id for e in self.model.enrollments(user_id=user.id, states=states)})
            courses = [self.model.get_course(i) for i in course_ids]
            courses = [c for c in courses if c.workflow_state != "deleted"]
        return self.listing(request, courses, lambda c: self._course_with_includes(request, c))

    async def update_course(self, request: Request) -> Response:
        course = self.model.resolve_course(ref(request))
        params = await read_params(request)
        fields = section(params, "course")
        changes = self._course_changes(fields)
        if fields.get("account_id"):
            changes["account_id"] = self.model.resolve_account(str(fields["account_id"])).id
        event = text(fields.get("event"))
        if as_bool(params.get("offer")):
            event = event or "offer"
        if event is not None:
            changes["event"] = event
        with self.model.lock:
            return ok(shapes.course(self.model.update_course(course.id, sticky=True, **changes)))

    async def delete_course(self, request: Request) -> Response:
        course = self.model.resolve_course(ref(request))
        params = await read_params(request)
        event = text(params.get("event"))
        if event not in ("delete", "conclude"):
            raise BadRequest('Only "delete" and "conclude" events are allowed.')
        self.model.course_event(course.id, event)
        course.sticky.add("workflow_state")
        return ok({event: "true"})

    # ------------------------------------------------------------------ sections
    async def list_sections(self, request: Request) -> Response:
        course = self.model.resolve_course(ref(request))
        include = set(request.query_params.getlist("include[]"))
        return self.listing(
            request,
            self.model.sections(course.id),
            lambda s: shapes.section(self.model, s, total_students="total_students" in include),
        )

    async def create_section(self, request: Request) -> Response:
        course = self.model.resolve_course(ref(request))
        fields = section(await read_params(request), "course_section")
        section_obj = self.model.add_section(
            course.id,
            text(fields.get("name")) or "Section",
            sis_section_id=text(fields.get("sis_section_id")),
            integration_id=text(fields.get("integration_id")),
            start_at=text(fields.get("start_at")),
            end_at=text(fields.get("end_at")),
            restrict_enrollments_to_section_dates=as_bool(
                fields.get("restrict_enrollments_to_section_dates")
            ),
        )
        return ok(shapes.section(self.model, section_obj))

    async def get_section(self, request: Request) -> Response:
        section_obj = self.model.resolve_section(ref(request))
        if "course_id" in request.path_params:
            course = self.model.resolve_course(ref(request, "course_id"))
            if section_obj.course_id != course.id:
                raise ResourceNotFound()
        return ok(shapes.section(self.model, section_obj))

    async def update_section(self, request: Request) -> Response:
        section_obj = self.model.resolve_section(ref(request))
        fields = section(await read_params(request), "course_section")
        changes: dict[str, Any] = {k: text(fields[k]) for k in SECTION_FIELDS if k in fields}
        if "restrict_enrollments_to_section_dates" in fields:
            changes["restrict_enrollments_to_section_dates"] = as_bool(
                fields["restrict_enrollments_to_section_dates"]
            )
        return ok(
            shapes.section(self.model, self.model.update_section(section_obj.id, sticky=True, **changes))
        )

    async def delete_section(self, request: Request) -> Response:
        section_obj = self.model.resolve_section(ref(request))
        with self.model.lock:
            body = shapes.section(self.model, section_obj)
            self.model.delete_section(section_obj.id)
        return ok(body)

    async def crosslist(self, request: Request) -> Response:
        section_obj = self.model.resolve_section(ref(request))
        target = self.model.resolve_course(ref(request, "new_course_id"))
        with self.model.lock:
            return ok(shapes.section(self.model, self.model.crosslist_section(section_obj.id, target.id)))

    async def uncrosslist(self, request: Request) -> Response:
        section_obj = self.model.resolve_section(ref(request))
        with self.model.lock:
            return ok(shapes.section(self.model, self.model.uncrosslist_section(section_obj.id)))

    # ------------------------------------------------------------------ enrollments
    async def create_enrollment(self, request: Request) -> Response:
        params = await read_params(request)
        fields = section(params, "enrollment")
        course_id: int | None = None
        section_id: int | None = None
        if "section_id" in request.path_params:
            section_id = self.model.resolve_section(ref(request, "section_id")).id
        else:
            course_id = self.model.resolve_course(ref(request, "course_id")).id
        user_ref = text(fields.get("user_id"))
        if not user_ref:
            raise BadRequest(
                "Can't create an enrollment without a user. Include enrollment[user_id] to create an enrollment"
            )
        user = self.user(request, user_ref)
        enrollment_type = text(fields.get("type")) or "StudentEnrollment"
        role_ref = text(fields.get("role_id"))
        role_id = self.model.resolve_role(role_ref).id if role_ref else None
        if role_id is None and enrollment_type not in ENROLLMENT_TYPES:
            raise BadRequest("Invalid type")
        if fields.get("course_section_id") and section_id is None:
            section_id = self.model.resolve_section(str(fields["course_section_id"])).id
        associated = text(fields.get("associated_user_id"))
        state = text(fields.get("enrollment_state")) or "invited"
        if state not in ("active", "invited", "inactive"):
            raise BadRequest("Invalid enrollment_state")
        with self.model.lock:
            enrollment = self.model.enroll(
                user.id,
                course_id=course_id,
                section_id=section_id,
                type=enrollment_type,
                state=state,
                role_id=role_id,
                limit_privileges_to_course_section=as_bool(fields.get("limit_privileges_to_course_section")),
                associated_user_id=self.user(request, associated).id if associated else None,
                start_at=text(fields.get("start_at")),
                end_at=text(fields.get("end_at")),
            )
            return ok(shapes.enrollment(self.model, enrollment, base_url(request)))

    def _enrollment_filters(self, request: Request, *, user_listing: bool) -> dict[str, Any]:
        query = request.query_params
        filters: dict[str, Any] = {}
        types = query.getlist("type[]") or query.getlist("type")
        if types:
            filters["types"] = types
        states: set[str] = set()
        for state in query.getlist("state[]") or query.getlist("state"):
            states |= USER_LISTING_STATE_SETS.get(state, {state})
        filters["states"] = states or None
        role_ids = [int(r) for r in query.getlist("role_id[]") if r.isdigit()]
        for role_name in query.getlist("role[]") or query.getlist("role"):
            role = self.model.find_role(role_name)
            role_ids.append(role.id if role else -1)
        if role_ids:
            filters["role_ids"] = role_ids
        if query.get("enrollment_term_id"):
            filters["term_id"] = self.model.resolve_term(query["enrollment_term_id"]).id
        if query.get("user_id") and not user_listing:
            filters["user_id"] = self.user(request, query["user_id"]).id
        return filters

    def _enrollment_listing(
        self, request: Request, items: list[Enrollment], explicit_states: bool
    ) -> Response:
        base = base_url(request)
        query = request.query_params
        sis_courses = set(query.getlist("sis_course_id[]"))
        sis_sections = set(query.getlist("sis_section_id[]"))
        sis_users = set(query.getlist("sis_user_id[]"))
        if sis_courses or sis_sections or sis_users:
            with self.model.lock:
                items = [e for e in items if self._sis_filter(e, sis_courses, sis_sections, sis_users)]
        return self.listing(request, items, lambda e: shapes.enrollment(self.model, e, base), bookmark=True)

    def _sis_filter(self, e: Enrollment, courses: set[str], sections: set[str], users: set[str]) -> bool:
        if courses and self.model.get_course(e.course_id).sis_course_id not in courses:
            return False
        if sections and self.model.get_section(e.course_section_id).sis_section_id not in sections:
            return False
        if users:
            return any(login.sis_user_id in users for login in self.model.logins(e.user_id))
        return True

    async def list_course_enrollments(self, request: Request) -> Response:
        course = self.model.resolve_course(ref(request, "course_id"))
        filters = self._enrollment_filters(request, user_listing=False)
        items = self.model.enrollments(course_id=course.id, **filters)
        if filters["states"] is None:
            items = [e for e in items if e.workflow_state not in HIDDEN_BY_DEFAULT]
        return self._enrollment_listing(request, items, filters["states"] is not None)

    async def list_section_enrollments(self, request: Request) -> Response:
        section_obj = self.model.resolve_section(ref(request, "section_id"))
        filters = self._enrollment_filters(request, user_listing=False)
        items = self.model.enrollments(section_id=section_obj.id, **filters)
        if filters["states"] is None:
            items = [e for e in items if e.workflow_state not in HIDDEN_BY_DEFAULT]
        return self._enrollment_listing(request, items, filters["states"] is not None)

    async def list_user_enrollments(self, request: Request) -> Response:
        user = self.user(request, ref(request, "user_id"))
        filters = self._enrollment_filters(request, user_listing=True)
        if filters["states"] is None:
            filters["states"] = USER_LISTING_STATE_SETS["current_and_invited"]
        items = self.model.enrollments(user_id=user.id, **filters)
        return self._enrollment_listing(request, items, True)

    async def get_account_enrollment(self, request: Request) -> Response:
        self.account(request, "account_id")
        enrollment = self.model.get_enrollment(as_int(ref(request), "id"))
        with self.model.lock:
            return ok(shapes.enrollment(self.model, enrollment, base_url(request)))

    def _course_enrollment(self, request: Request) -> Enrollment:
        course = self.model.resolve_course(ref(request, "course_id"))
        enrollment = self.model.get_enrollment(as_int(ref(request), "id"))
        if enrollment.course_id != course.id:
            raise ResourceNotFound()
        return enrollment

    async def end_enrollment(self, request: Request) -> Response:
        enrollment = self._course_enrollment(request)
        params = await read_params(request)
        task = text(params.get("task")) or "conclude"
        with self.model.lock:
            self.model.end_enrollment(enrollment.id, task)
            return ok(shapes.enrollment(self.model, enrollment, base_url(request)))

    async def reactivate_enrollment(self, request: Request) -> Response:
        enrollment = self._course_enrollment(request)
        with self.model.lock:
            self.model.reactivate_enrollment(enrollment.id)
            return ok(shapes.enrollment(self.model, enrollment, base_url(request)))

    async def list_course_users(self, request: Request) -> Response:
        course = self.model.resolve_course(ref(request))
        query = request.query_params
        types = [
            t if t.endswith("Enrollment") else f"{t.capitalize()}Enrollment"
            for t in query.getlist("enrollment_type[]")
        ]
        types = ["TaEnrollment" if t == "TaEnrollment" else t for t in types]
        with self.model.lock:
            enrollments = self.model.enrollments(
                course_id=course.id, types=types or None, states=["active", "invited", "inactive"]
            )
            seen: dict[int, User] = {}
            for e in enrollments:
                seen.setdefault(e.user_id, self.model.get_user(e.user_id))
            users = sorted(seen.values(), key=lambda u: (u.sortable_name.lower(), u.id))
            term = query.get("search_term")
            if term:
                users = [u for u in users if self._user_matches(u, term)]
        return self.listing(request, users, lambda u: shapes.user(self.model, u))

    # ------------------------------------------------------------------ SIS imports
    async def create_sis_import(self, request: Request) -> Response:
        account = self.account(request)
        if account.id != ROOT_ACCOUNT_ID:
            raise CanvasError({"errors": ["SIS imports can only be executed on root accounts"]}, 400)
        content_type = request.headers.get("content-type", "")
        params: dict[str, Any]
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            params = await read_params(request)
            attachment = params.get("attachment")
            if isinstance(attachment, UploadFile):
                data = await attachment.read()
                filename = attachment.filename or "upload.csv"
            else:
                raise BadRequest("Missing attachment")
        else:
            params = await read_params(request)
            data = await request.body()
            extension = text(params.get("extension")) or ("zip" if "zip" in content_type else "csv")
            filename = f"upload.{extension}"
        record = self.sis.submit(data, filename, params)
        return ok(record)

    async def list_sis_imports(self, request: Request) -> Response:
        self.root_only(request)
        states = set(request.query_params.getlist("workflow_state[]"))
        since = request.query_params.get("created_since")
        items = sorted(self.model.records("sis_import"), key=lambda r: -r["id"])
        if states:
            items = [r for r in items if r["workflow_state"] in states]
        if since:
            items = [r for r in items if r["created_at"] >= since]
        return self.listing(request, items, dict, wrap="sis_imports")

    async def importing_sis_imports(self, request: Request) -> Response:
        self.root_only(request)
        items = [
            r for r in self.model.records("sis_import") if r["workflow_state"] in ("created", "importing")
        ]
        return ok({"sis_imports": items})

    async def get_sis_import(self, request: Request) -> Response:
        self.root_only(request, "account_id")
        return ok(self.model.get_record("sis_import", as_int(ref(request), "id")))

    async def abort_sis_import(self, request: Request) -> Response:
        self.root_only(request, "account_id")
        record = self.model.get_record("sis_import", as_int(ref(request), "id"))
        if record["workflow_state"] in ("created", "importing"):
            record = self.model.update_record("sis_import", record["id"], workflow_state="aborted")
        return ok(record)

    async def abort_all_pending_sis_imports(self, request: Request) -> Response:
        """Abort every import created but not finished; Canvas answers ``{"aborted": true}``."""
        self.root_only(request)
        with self.model.lock:
            for record in self.model.records("sis_import"):
                if record["workflow_state"] in ("initializing", "created", "importing"):
                    self.model.update_record("sis_import", record["id"], workflow_state="aborted")
        return ok({"aborted": True})

    # ------------------------------------------------------------------ reports and files
    async def list_report_types(self, request: Request) -> Response:
        self.account(request)
        return ok(reports.available())

    async def start_report(self, request: Request) -> Response:
        account = self.account(request, "account_id")
        report_type = ref(request, "report")
        params = section(await read_params(request), "parameters")
        return ok(reports.start(self.model, account.id, report_type, params, base_url(request)))

    async def list_reports(self, request: Request) -> Response:
        self.account(request, "account_id")
        report_type = ref(request, "report")
        items = [r for r in self.model.records("report") if r["report"] == report_type]
        items.sort(key=lambda r: -r["id"])
        return self.listing(request, items, dict)

    async def get_report(self, request: Request) -> Response:
        self.account(request, "account_id")
        record = self.model.get_record("report", as_int(ref(request), "id"))
        if record["report"] != ref(request, "report"):
            raise ResourceNotFound()
        return ok(record)

    async def get_file(self, request: Request) -> Response:
        file_id = as_int(ref(request), "id")
        filename, content_type, data = self.model.get_file(file_id)
        return ok(reports.file_json(file_id, filename, content_type, len(data), base_url(request)))

    async def download_file(self, request: Request) -> Response:
        file_id = as_int(ref(request), "id")
        filename, content_type, data = self.model.get_file(file_id)
        verifier = request.query_params.get("verifier")
        if verifier is not None and verifier != reports.verifier(file_id):
            raise ResourceNotFound()
        return Response(
            data,
            media_type=content_type,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    # ------------------------------------------------------------------ course content (read)
    def _content_course(self, request: Request) -> int:
        return self.model.resolve_course(ref(request, "course_id")).id

    async def list_assignments(self, request: Request) -> Response:
        course_id = self._content_course(request)
        base = base_url(request)
        return self.listing(request, self.model.assignments(course_id), lambda a: shapes.assignment(a, base))

    async def get_assignment(self, request: Request) -> Response:
        course_id = self._content_course(request)
        assignment = self.model.get_assignment(as_int(ref(request), "id"), course_id)
        return ok(shapes.assignment(assignment, base_url(request)))

    async def list_submissions(self, request: Request) -> Response:
        course_id = self._content_course(request)
        assignment = self.model.get_assignment(as_int(ref(request, "assignment_id"), "id"), course_id)
        base = base_url(request)
        return self.listing(
            request, self.model.submissions(assignment.id), lambda s: shapes.submission(s, base, course_id)
        )

    async def get_submission(self, request: Request) -> Response:
        course_id = self._content_course(request)
        assignment = self.model.get_assignment(as_int(ref(request, "assignment_id"), "id"), course_id)
        user = self.user(request, ref(request, "user_id"))
        found = self.model.find_submission(assignment.id, user.id)
        base = base_url(request)
        if found is None:
            return ok(shapes.unsubmitted(assignment.id, user.id, base, course_id))
        return ok(shapes.submission(found, base, course_id))

    async def list_quizzes(self, request: Request) -> Response:
        course_id = self._content_course(request)
        base = base_url(request)
        return self.listing(request, self.model.quizzes(course_id), lambda q: shapes.quiz(q, base))

    async def get_quiz(self, request: Request) -> Response:
        course_id = self._content_course(request)
        return ok(shapes.quiz(self.model.get_quiz(as_int(ref(request), "id"), course_id), base_url(request)))

    def _quiz_submissions_body(self, request: Request, items: list[Any], quiz: Any) -> dict[str, Any]:
        include = set(request.query_params.getlist("include[]")) | set(
            request.query_params.getlist("include")
        )
        body: dict[str, Any] = {
            "quiz_submissions": [shapes.quiz_submission(qs, quiz.points_possible) for qs in items]
        }
        if "quiz" in include:
            body["quizzes"] = [shapes.quiz(quiz, base_url(request))]
        if "submission" in include:
            subs = [self.model.find_submission(quiz.assignment_id, qs.user_id) for qs in items]
            base = base_url(request)
            body["submissions"] = [shapes.submission(s, base, quiz.course_id) for s in subs if s is not None]
        if "user" in include:
            body["users"] = [shapes.user(self.model, self.model.get_user(qs.user_id)) for qs in items]
        return body

    async def list_quiz_submissions(self, request: Request) -> Response:
        course_id = self._content_course(request)
        quiz = self.model.get_quiz(as_int(ref(request, "quiz_id"), "id"), course_id)
        items, link = paginate(request, self.model.quiz_submissions(quiz.id))
        return ok(self._quiz_submissions_body(request, items, quiz), headers={"Link": link})

    async def get_quiz_submission(self, request: Request) -> Response:
        course_id = self._content_course(request)
        quiz = self.model.get_quiz(as_int(ref(request, "quiz_id"), "id"), course_id)
        item = self.model.get_quiz_submission(as_int(ref(request), "id"), quiz.id)
        return ok(self._quiz_submissions_body(request, [item], quiz))

    async def list_discussion_topics(self, request: Request) -> Response:
        course_id = self._content_course(request)
        base = base_url(request)
        items = self.model.discussion_topics(course_id)
        return self.listing(request, items, lambda t: shapes.discussion_topic(t, base))

    async def get_discussion_topic(self, request: Request) -> Response:
        course_id = self._content_course(request)
        topic = self.model.get_discussion_topic(as_int(ref(request), "id"), course_id)
        return ok(shapes.discussion_topic(topic, base_url(request)))

    async def get_page(self, request: Request) -> Response:
        course_id = self._content_course(request)
        return ok(shapes.page(self.model.get_page(ref(request, "url"), course_id), base_url(request)))
