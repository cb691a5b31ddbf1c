"""Users and their logins (pseudonyms): uniqueness, suspension, deletion."""

from __future__ import annotations

from typing import Any

from canvasbridge_emulators.canvas.core import ModelCore
from canvasbridge_emulators.canvas.exceptions import BadRequest, ResourceNotFound, ValidationFailed
from canvasbridge_emulators.canvas.objects import LOGIN_STATES, Login, User, assign_fields, sortable_name_of


class UsersAndLogins(ModelCore):
    """Mixed into CanvasModel: users and logins."""

    # ------------------------------------------------------------------ users and logins
    def add_user(
        self,
        name: str,
        *,
        unique_id: str | None = None,
        sis_user_id: str | None = None,
        integration_id: str | None = None,
        email: str | None = None,
        short_name: str | None = None,
        sortable_name: str | None = None,
        login_state: str = "active",
        registered: bool = True,
        sis_import_id: int | None = None,
    ) -> User:
        """A user, with a first login when ``unique_id`` is given (Canvas requires one over HTTP)."""
        with self._lock:
            if unique_id is not None:
                self._check_login_free(unique_id, sis_user_id, integration_id, -1, nest="pseudonym")
            user = User(
                self._new_id("user"),
                name,
                short_name or name,
                sortable_name or sortable_name_of(name),
                email=email,
                workflow_state="registered" if registered else "pre_registered",
                created_by_sis=sis_import_id is not None,
            )
            self._s.users[user.id] = user
            self._s.user_logins[user.id] = []
            if unique_id is not None:
                self.add_login(
                    user.id,
                    unique_id,
                    sis_user_id=sis_user_id,
                    integration_id=integration_id,
                    workflow_state=login_state,
                    sis_import_id=sis_import_id,
                )
            return user

    def _check_login_free(
        self,
        unique_id: str | None,
        sis_user_id: str | None,
        integration_id: str | None,
        login_id: int,
        nest: str | None = None,
    ) -> None:
        s = self._s
        if unique_id is not None:
            if not unique_id.strip():
                raise ValidationFailed("unique_id", "blank", "can't be blank", nest=nest)
            owner = s.unique_ids.get(unique_id.lower())
            if owner is not None and owner != login_id:
                raise ValidationFailed(
                    "unique_id",
                    "taken",
                    "ID already in use for this account and authentication provider",
                    nest=nest,
                )
        if sis_user_id:
            owner = s.sis["login"].get(sis_user_id)
            if owner is not None and owner != login_id:
                raise ValidationFailed(
                    "sis_user_id",
                    "taken",
                    f'SIS ID "{sis_user_id}" is already in use by another login',
                    nest=nest,
                )
        if integration_id:
            owner = s.integration["login"].get(integration_id)
            if owner is not None and owner != login_id:
                raise ValidationFailed(
                    "integration_id",
                    "taken",
                    f'Integration ID "{integration_id}" is already in use',
                    nest=nest,
                )

    def get_user(self, user_id: int) -> User:
        with self._lock:
            return self._get(self._s.users, user_id)

    def users(self, *, include_deleted: bool = False) -> list[User]:
        with self._lock:
            return [u for u in self._s.users.values() if include_deleted or u.workflow_state != "deleted"]

    def find_user_by_sis(self, sis_user_id: str) -> User | None:
        with self._lock:
            login_id = self._s.sis["login"].get(sis_user_id)
            return self._s.users.get(self._s.logins[login_id].user_id) if login_id else None

    def find_user_by_login(self, unique_id: str) -> User | None:
        with self._lock:
            login_id = self._s.unique_ids.get(unique_id.lower())
            return self._s.users.get(self._s.logins[login_id].user_id) if login_id else None

    def find_login_by_sis(self, sis_user_id: str) -> Login | None:
        with self._lock:
            login_id = self._s.sis["login"].get(sis_user_id)
            return self._s.logins.get(login_id) if login_id else None

    def find_user_by_integration_id(self, integration_id: str) -> User | None:
        with self._lock:
            login_id = self._s.integration["login"].get(integration_id)
            return self._s.users.get(self._s.logins[login_id].user_id) if login_id else None

    def update_user(self, user_id: int, *, sticky: bool = False, **changes: Any) -> User:
        """Change ``name``, ``short_name``, ``sortable_name``, ``email``, ``locale``, ``time_zone``."""
        self._s.version += 1
        with self._lock:
            user = self._get(self._s.users, user_id)
            assign_fields(user, changes, sticky)
            return user

    def suspend_user(self, user_id: int) -> list[Login]:
        """Canvas's ``user[event]=suspend``: every active login becomes suspended."""
        return self._set_all_logins(user_id, "active", "suspended")

    def unsuspend_user(self, user_id: int) -> list[Login]:
        return self._set_all_logins(user_id, "suspended", "active")

    def _set_all_logins(self, user_id: int, from_state: str, to_state: str) -> list[Login]:
        with self._lock:
            self._get(self._s.users, user_id)
            changed = []
            for login in self.logins(user_id):
                if login.workflow_state == from_state:
                    login.workflow_state = to_state
                    changed.append(login)
            return changed

    def is_suspended(self, user_id: int) -> bool:
        """True when the user has logins and none of them is active."""
        logins = self.logins(user_id)
        return bool(logins) and all(login.workflow_state == "suspended" for login in logins)

    def delete_user(self, user_id: int) -> User:
        self._s.version += 1
        with self._lock:
            user = self._get(self._s.users, user_id)
            user.workflow_state = "deleted"
            for login in self.logins(user_id):
                self._drop_login(login)
            for enrollment_id in self._s.user_enrollments.get(user_id, []):
                self._s.enrollments[enrollment_id].workflow_state = "deleted"
            return user

    def add_login(
        self,
        user_id: int,
        unique_id: str,
        *,
        sis_user_id: str | None = None,
        integration_id: str | None = None,
        workflow_state: str = "active",
        authentication_provider_id: int | None = None,
        declared_user_type: str | None = None,
        sis_import_id: int | None = None,
    ) -> Login:
        with self._lock:
            self._get(self._s.users, user_id)
            sis_user_id = sis_user_id or None
            integration_id = integration_id or None
            self._check_login_free(unique_id, sis_user_id, integration_id, -1)
            if workflow_state not in LOGIN_STATES:
                raise BadRequest("invalid workflow_state")
            login = Login(
                self._new_id("login"),
                user_id,
                unique_id,
                sis_user_id=sis_user_id,
                integration_id=integration_id,
                workflow_state=workflow_state,
                authentication_provider_id=authentication_provider_id,
                declared_user_type=declared_user_type,
                sis_import_id=sis_import_id,
                created_by_sis=sis_import_id is not None,
            )
            self._s.logins[login.id] = login
            self._s.user_logins.setdefault(user_id, []).append(login.id)
            self._s.unique_ids[unique_id.lower()] = login.id
            self._reindex("sis", "login", None, sis_user_id, login.id)
            self._reindex("integration", "login", None, integration_id, login.id)
            return login

    def get_login(self, login_id: int) -> Login:
        with self._lock:
            login = self._get(self._s.logins, login_id)
            if login.workflow_state == "deleted":
                raise ResourceNotFound()
            return login

    def logins(self, user_id: int | None = None, *, include_deleted: bool = False) -> list[Login]:
        with self._lock:
            ids = self._s.user_logins.get(user_id, []) if user_id is not None else list(self._s.logins)
            return [
                self._s.logins[i]
                for i in ids
                if include_deleted or self._s.logins[i].workflow_state != "deleted"
            ]

    def primary_login(self, user_id: int) -> Login | None:
        """The login whose ids the User JSON shows: the first with a SIS id, else the first."""
        logins = self.logins(user_id)
        for login in logins:
            if login.sis_user_id:
                return login
        return logins[0] if logins else None

    def update_login(self, login_id: int, **changes: Any) -> Login:
        """Change ``unique_id``, ``sis_user_id`` (``""`` clears), ``integration_id``,
        ``workflow_state`` (active|suspended), ``authentication_provider_id``, ``declared_user_type``."""
        self._s.version += 1
        with self._lock:
            login = self.get_login(login_id)
            if "workflow_state" in changes and changes["workflow_state"] not in LOGIN_STATES:
                raise BadRequest("invalid workflow_state")
            new_unique = changes.pop("unique_id", None)
            new_sis = changes.pop("sis_user_id", login.sis_user_id)
            new_integration = changes.pop("integration_id", login.integration_id)
            new_sis = new_sis or None
            new_integration = new_integration or None
            self._check_login_free(new_unique, new_sis, new_integration, login.id)
            if new_unique is not None:
                self._s.unique_ids.pop(login.unique_id.lower(), None)
                login.unique_id = new_unique
                self._s.unique_ids[new_unique.lower()] = login.id
            self._reindex("sis", "login", login.sis_user_id, new_sis, login.id)
            login.sis_user_id = new_sis
            self._reindex("integration", "login", login.integration_id, new_integration, login.id)
            login.integration_id = new_integration
            assign_fields(login, changes)
            return login

    def delete_login(self, user_id: int, login_id: int) -> Login:
        with self._lock:
            login = self.get_login(login_id)
            if login.user_id != user_id:
                raise ResourceNotFound()
            if len(self.logins(user_id)) <= 1:
                raise BadRequest("Users must have at least one login")
            self._drop_login(login)
            return login

    def _drop_login(self, login: Login) -> None:
        self._s.version += 1
        login.workflow_state = "deleted"
        if self._s.unique_ids.get(login.unique_id.lower()) == login.id:
            del self._s.unique_ids[login.unique_id.lower()]
        self._reindex("sis", "login", login.sis_user_id, None, login.id)
        self._reindex("integration", "login", login.integration_id, None, login.id)
