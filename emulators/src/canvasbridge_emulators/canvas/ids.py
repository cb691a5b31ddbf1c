"""Id resolution: numeric, global, ``self``/``default``, ``sis_*:`` and ``sis_login_id:`` references.

Canvas takes an object's global id wherever it takes its local id: ``shard * 10^13 + id``
(the form Live Events' ``entity_id`` carries) or ``shard~id``. The emulator has one shard
and accepts any shard number in front of a local id; :func:`local_ref` strips it.
"""

from __future__ import annotations

from canvasbridge_emulators.canvas.core import ModelCore
from canvasbridge_emulators.canvas.exceptions import ResourceNotFound
from canvasbridge_emulators.canvas.objects import (
    DEFAULT_TERM_ID,
    Account,
    Course,
    Login,
    Role,
    Section,
    Term,
    User,
)

GLOBAL_ID_FACTOR = 10**13  # global id = shard * 10^13 + local id


def local_ref(ref: str | int) -> str:
    """``ref`` with a global id (``13670000000000042`` or ``1367~42``) made local (``42``) and
    a ``hex:sis_*:<hex>`` id decoded; anything else (local ids, ``self``, ``sis_*:``) unchanged."""
    text = str(ref)
    if text.startswith("hex:"):  # the old form of a SIS id: hex:sis_user_id:<hex of the value>
        prefix, _, hex_value = text[4:].partition(":")
        try:
            return f"{prefix}:{bytes.fromhex(hex_value).decode()}"
        except ValueError:
            return text
    if text.isdigit():
        number = int(text)
        return str(number % GLOBAL_ID_FACTOR) if number >= GLOBAL_ID_FACTOR else text
    shard, sep, local = text.partition("~")
    if sep and shard.isdigit() and local.isdigit():
        return str(int(local))
    return text


class IdResolution(ModelCore):
    """Mixed into CanvasModel: turns the ids a URL carries into objects."""

    def resolve_account(self, ref: str | int) -> Account:
        with self._lock:
            text = local_ref(ref)
            if text in ("self", "default"):
                return self.root_account
            account_id = self._resolve(text, "account", "sis_account_id")
            account = self._get(self._s.accounts, account_id)
            if account.workflow_state == "deleted":
                raise ResourceNotFound()
            return account

    def resolve_term(self, ref: str | int) -> Term:
        with self._lock:
            text = local_ref(ref)
            if text in ("default", "current"):
                return self._s.terms[DEFAULT_TERM_ID]
            return self._get(self._s.terms, self._resolve(text, "term", "sis_term_id"))

    def resolve_course(self, ref: str | int) -> Course:
        with self._lock:
            return self._get(self._s.courses, self._resolve(local_ref(ref), "course", "sis_course_id"))

    def resolve_section(self, ref: str | int) -> Section:
        with self._lock:
            section_id = self._resolve(local_ref(ref), "section", "sis_section_id")
            return self.get_section(section_id) if section_id is not None else self.get_section(-1)

    def resolve_user(self, ref: str | int, *, self_id: int | None = None) -> User:
        """A user from ``123``, ``self``, ``sis_user_id:X``, ``sis_login_id:X`` or ``sis_integration_id:X``."""
        with self._lock:
            text = local_ref(ref)
            if text == "self":
                return self._get(self._s.users, self_id)
            if text.isdigit():
                return self._get(self._s.users, int(text))
            prefix, _, value = text.partition(":")
            login_id: int | None = None
            if prefix == "sis_user_id":
                login_id = self._s.sis["login"].get(value)
            elif prefix == "sis_login_id":
                login_id = self._s.unique_ids.get(value.lower())
            elif prefix == "sis_integration_id":
                login_id = self._s.integration["login"].get(value)
            if login_id is None:
                raise ResourceNotFound()
            return self._get(self._s.users, self._s.logins[login_id].user_id)

    def resolve_login(self, ref: str | int) -> Login:
        with self._lock:
            text = local_ref(ref)
            prefix, _, value = text.partition(":")
            if prefix == "sis_user_id":
                login_id = self._s.sis["login"].get(value)
            elif prefix == "sis_login_id":
                login_id = self._s.unique_ids.get(value.lower())
            else:
                login_id = int(text) if text.isdigit() else None
            return self.get_login(login_id) if login_id is not None else self.get_login(-1)

    def resolve_role(self, ref: str | int) -> Role:
        with self._lock:
            text = local_ref(ref)
            if text.isdigit():
                return self._get(self._s.roles, int(text))
            role = self.find_role(text)
            if role is None:
                raise ResourceNotFound()
            return role

    def _resolve(self, text: str, kind: str, sis_prefix: str) -> int | None:
        if text.isdigit():
            return int(text)
        prefix, _, value = text.partition(":")
        if prefix == sis_prefix:
            return self._s.sis[kind].get(value)
        if prefix == "sis_integration_id":
            return self._s.integration[kind].get(value)
        return None
