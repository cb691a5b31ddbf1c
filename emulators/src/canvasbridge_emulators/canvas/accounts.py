"""Accounts (the root and its sub-accounts) and enrollment terms."""

from __future__ import annotations

from typing import Any

from canvasbridge_emulators.canvas.core import ModelCore
from canvasbridge_emulators.canvas.exceptions import BadRequest, ResourceNotFound, Unauthorized
from canvasbridge_emulators.canvas.objects import ROOT_ACCOUNT_ID, Account, Term, assign_fields


class AccountsAndTerms(ModelCore):
    """Mixed into CanvasModel: accounts, sub-accounts and terms."""

    # ------------------------------------------------------------------ accounts
    @property
    def root_account(self) -> Account:
        return self._s.accounts[ROOT_ACCOUNT_ID]

    def add_account(
        self,
        name: str,
        *,
        parent_id: int = ROOT_ACCOUNT_ID,
        sis_account_id: str | None = None,
        integration_id: str | None = None,
        sis_import_id: int | None = None,
    ) -> Account:
        with self._lock:
            self._get(self._s.accounts, parent_id)
            self._claim("sis", "account", sis_account_id, -1, "sis_account_id")
            self._claim("integration", "account", integration_id, -1, "integration_id")
            account = Account(
                self._new_id("account"),
                name,
                parent_id,
                ROOT_ACCOUNT_ID,
                sis_account_id=sis_account_id or None,
                integration_id=integration_id or None,
                sis_import_id=sis_import_id,
                created_by_sis=sis_import_id is not None,
            )
            self._s.accounts[account.id] = account
            self._reindex("sis", "account", None, account.sis_account_id, account.id)
            self._reindex("integration", "account", None, account.integration_id, account.id)
            return account

    def get_account(self, account_id: int) -> Account:
        with self._lock:
            return self._get(self._s.accounts, account_id)

    def find_account_by_sis(self, sis_account_id: str) -> Account | None:
        with self._lock:
            account_id = self._s.sis["account"].get(sis_account_id)
            return self._s.accounts.get(account_id) if account_id else None

    def accounts(self, *, include_deleted: bool = False) -> list[Account]:
        with self._lock:
            return [a for a in self._s.accounts.values() if include_deleted or a.workflow_state != "deleted"]

    def sub_accounts(self, account_id: int, *, recursive: bool = False) -> list[Account]:
        with self._lock:
            children: dict[int | None, list[Account]] = {}
            for account in self._s.accounts.values():
                if account.workflow_state != "deleted":
                    children.setdefault(account.parent_account_id, []).append(account)
            out: list[Account] = []
            queue = [account_id]
            while queue:
                current = queue.pop(0)
                for child in children.get(current, []):
                    out.append(child)
                    if recursive:
                        queue.append(child.id)
            return out

    def update_account(self, account_id: int, *, sticky: bool = False, **changes: Any) -> Account:
        """Change ``name``, ``sis_account_id``, ``integration_id``, ``parent_account_id``,
        ``default_time_zone``, ``workflow_state`` or ``sis_import_id``."""
        with self._lock:
            account = self._get(self._s.accounts, account_id)
            if "sis_account_id" in changes:
                new = changes.pop("sis_account_id") or None
                self._claim("sis", "account", new, account.id, "sis_account_id")
                self._reindex("sis", "account", account.sis_account_id, new, account.id)
                account.sis_account_id = new
            if "integration_id" in changes:
                new = changes.pop("integration_id") or None
                self._claim("integration", "account", new, account.id, "integration_id")
                self._reindex("integration", "account", account.integration_id, new, account.id)
                account.integration_id = new
            if changes.get("parent_account_id") is not None:
                self._get(self._s.accounts, changes["parent_account_id"])
            assign_fields(account, changes, sticky)
            return account

    def delete_sub_account(self, parent_id: int, account_id: int) -> Account:
        with self._lock:
            account = self._get(self._s.accounts, account_id)
            if account.id == ROOT_ACCOUNT_ID:
                raise Unauthorized()
            if account.parent_account_id != parent_id or account.workflow_state == "deleted":
                raise ResourceNotFound()
            if self.sub_accounts(account.id):
                raise BadRequest("You can't delete a sub-account that has sub-accounts", 409)
            if any(
                c.account_id == account.id and c.workflow_state != "deleted" for c in self._s.courses.values()
            ):
                raise BadRequest("You can't delete a sub-account that has courses", 409)
            account.workflow_state = "deleted"
            self._reindex("sis", "account", account.sis_account_id, None, account.id)
            return account

    def account_chain(self, account_id: int) -> list[int]:
        """The account and its ancestors, nearest first."""
        with self._lock:
            chain: list[int] = []
            current: int | None = account_id
            while current is not None and current not in chain:
                chain.append(current)
                current = self._s.accounts[current].parent_account_id if current in self._s.accounts else None
            return chain

    # ------------------------------------------------------------------ terms
    def add_term(
        self,
        name: str,
        *,
        sis_term_id: str | None = None,
        integration_id: str | None = None,
        start_at: str | None = None,
        end_at: str | None = None,
        sis_import_id: int | None = None,
    ) -> Term:
        with self._lock:
            self._claim("sis", "term", sis_term_id, -1, "sis_term_id")
            term = Term(
                self._new_id("term"),
                name,
                sis_term_id=sis_term_id or None,
                integration_id=integration_id or None,
                start_at=start_at,
                end_at=end_at,
                sis_import_id=sis_import_id,
                created_by_sis=sis_import_id is not None,
            )
            self._s.terms[term.id] = term
            self._reindex("sis", "term", None, term.sis_term_id, term.id)
            self._reindex("integration", "term", None, term.integration_id, term.id)
            return term

    def get_term(self, term_id: int) -> Term:
        with self._lock:
            return self._get(self._s.terms, term_id)

    def find_term_by_sis(self, sis_term_id: str) -> Term | None:
        with self._lock:
            term_id = self._s.sis["term"].get(sis_term_id)
            return self._s.terms.get(term_id) if term_id else None

    def terms(self, *, include_deleted: bool = False) -> list[Term]:
        with self._lock:
            return [t for t in self._s.terms.values() if include_deleted or t.workflow_state != "deleted"]

    def update_term(self, term_id: int, *, sticky: bool = False, **changes: Any) -> Term:
        with self._lock:
            term = self._get(self._s.terms, term_id)
            if "sis_term_id" in changes:
                new = changes.pop("sis_term_id") or None
                self._claim("sis", "term", new, term.id, "sis_term_id")
                self._reindex("sis", "term", term.sis_term_id, new, term.id)
                term.sis_term_id = new
            assign_fields(term, changes, sticky)
            return term
