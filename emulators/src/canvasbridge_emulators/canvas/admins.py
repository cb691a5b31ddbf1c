"""Account admins (Canvas's ``AccountUser``): a user holding an account-level role in one account.

Mixed into :class:`~canvasbridge_emulators.canvas.models.CanvasModel`. Canvas keeps one
record per account, user and role: making an admin again reuses it (and revives it when
it was removed), removing one marks it ``deleted``. Only account roles qualify (the
built-in ``AccountAdmin`` or a custom role based on ``AccountMembership``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from canvasbridge_emulators.canvas.exceptions import ResourceNotFound, ValidationFailed


@dataclass
class AccountUser:
    id: int
    account_id: int
    user_id: int
    role_id: int
    workflow_state: str = "active"  # active | deleted


class AccountAdmins:
    """Mixed into :class:`CanvasModel`; uses its lock, id counters, ``_s.admins`` and lookups."""

    _lock: threading.RLock
    _s: Any

    def _new_id(self, kind: str) -> int:  # provided by CanvasModel
        raise NotImplementedError

    def get_account(self, account_id: int) -> Any:  # provided by CanvasModel
        raise NotImplementedError

    def get_user(self, user_id: int) -> Any:  # provided by CanvasModel
        raise NotImplementedError

    def get_role(self, role_id: int) -> Any:  # provided by CanvasModel
        raise NotImplementedError

    def logins(self, user_id: int | None = None, *, include_deleted: bool = False) -> list[Any]:
        raise NotImplementedError  # provided by CanvasModel

    def add_admin(self, account_id: int, user_id: int, role_id: int) -> AccountUser:
        """Make ``user_id`` an admin of the account in ``role_id`` (idempotent, as in Canvas)."""
        with self._lock:
            self.get_account(account_id)
            user = self.get_user(user_id)
            if user.workflow_state == "deleted" or not self.logins(user_id):
                raise ResourceNotFound()  # Canvas: the user needs a login in the root account
            if not self.get_role(role_id).is_account_role:
                raise ValidationFailed("role_id", "invalid", "is not a valid account role")
            table: dict[int, AccountUser] = self._s.admins
            for admin in table.values():
                if (admin.account_id, admin.user_id, admin.role_id) == (account_id, user_id, role_id):
                    admin.workflow_state = "active"
                    return admin
            admin = AccountUser(self._new_id("account_user"), account_id, user_id, role_id)
            table[admin.id] = admin
            return admin

    def admins(self, account_id: int, *, user_ids: set[int] | None = None) -> list[AccountUser]:
        """The account's active admins (its own, not its parents'), in id order."""
        with self._lock:
            return [
                a
                for a in sorted(self._s.admins.values(), key=lambda a: a.id)
                if a.account_id == account_id
                and a.workflow_state == "active"
                and (user_ids is None or a.user_id in user_ids)
            ]

    def remove_admin(self, account_id: int, user_id: int, role_id: int) -> AccountUser:
        with self._lock:
            table: dict[int, AccountUser] = self._s.admins
            for admin in table.values():
                if (admin.account_id, admin.user_id, admin.role_id) == (account_id, user_id, role_id):
                    admin.workflow_state = "deleted"
                    return admin
            raise ResourceNotFound()
