"""Cerebrum REST API (v1) client: persons, accounts, quarantines, groups, external ids.

Auth is an API key in a header whose name depends on the deployment (``X-API-Key`` at UiO's
password service, ``X-Auth-Key`` in Cerebrum's default config), so it is a setting::

    cerebrum = CerebrumSettings(base_url="https://cerebrum-ws.uio.no/v1/",
                                api_key={"env": "CEREBRUM_API_KEY"}).build()
    account = cerebrum.primary_account(person_id=1234)      # the Feide-login account, or None
    if account and cerebrum.quarantines(account.name).locked:
        ...                                                  # suspend in Canvas

List answers are wrapped in an envelope named after their content (``{"accounts": […]}``);
the client unwraps them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from canvasbridge.clients.http import CallStats, ClientSettings, HttpClient, HttpPermanentError
from canvasbridge.secrets import SecretRef

#: Cerebrum external-id codes and their API names (Cerebrum ``ExternalIdType``).
EXTERNAL_ID_TYPES = {
    "NO_BIRTHNO": "norwegianNationalId",
    "PASSNR": "passportNumber",
    "NO_SAPNO": "employeeNumber",
    "NO_STUDNO": "studentNumber",
    "NO_FSNO": "fsPersonSerialNumber",
    "DFO_PID": "dfoPersonId",
    "PAGA_ANSATTNR": "pagaEmployeeNumber",
    "GREG_PID": "gregPersonId",
}


class CerebrumModel(BaseModel):
    model_config = ConfigDict(extra="allow")


class PersonName(CerebrumModel):
    source_system: str | None = None
    variant: str
    name: str


class CerebrumPerson(CerebrumModel):
    id: int
    href: str | None = None
    birth_date: str | None = None
    names: list[PersonName] = Field(default_factory=list)
    contexts: list[str] = Field(default_factory=list)

    def name(self, variant: str) -> str | None:
        """The first name of a variant (``FIRST``, ``LAST``, ``FULL``…), case-insensitive."""
        for n in self.names:
            if n.variant.upper() == variant.upper():
                return n.name
        return None


class AccountRef(CerebrumModel):
    """An entry of ``/persons/<id>/accounts``."""

    id: int
    name: str
    href: str | None = None
    primary: bool = False


class Owner(CerebrumModel):
    id: int
    type: str | None = None
    name: str | None = None
    href: str | None = None


class Account(CerebrumModel):
    id: int
    name: str
    href: str | None = None
    owner: Owner | None = None
    created_at: str | None = None
    expire_date: str | None = None
    contexts: list[str] = Field(default_factory=list)
    primary_email: str | None = None
    active: bool = True


class Quarantine(CerebrumModel):
    type: str
    start: str | None = None
    end: str | None = None
    disable_until: str | None = None
    comment: str | None = None
    active: bool = True


class Quarantines(CerebrumModel):
    """``locked`` is Cerebrum's own verdict: the account cannot authenticate."""

    locked: bool = False
    quarantines: list[Quarantine] = Field(default_factory=list)

    def blocking(self, accepted: Iterable[str] = ()) -> list[Quarantine]:
        """Active quarantines whose type is not in ``accepted``."""
        ok = set(accepted)
        return [q for q in self.quarantines if q.active and q.type not in ok]


class ExternalIdMatch(CerebrumModel):
    person_id: int
    href: str | None = None
    source_system: str | None = None
    id_type: str | None = None
    external_id: str | None = None


class Group(CerebrumModel):
    id: int
    name: str
    href: str | None = None
    visibility: str | None = None
    description: str | None = None
    created_at: str | None = None
    expire_date: str | None = None
    contexts: list[str] = Field(default_factory=list)


class GroupMember(CerebrumModel):
    id: int
    type: str | None = None
    name: str | None = None
    href: str | None = None


class CerebrumSettings(ClientSettings):
    """``systems.cerebrum`` in the configuration."""

    api_key: SecretRef
    api_key_header: str = Field(default="X-API-Key", description="X-API-Key, X-Auth-Key… per deployment")

    def build(
        self, stats: CallStats | None = None, transport: httpx.BaseTransport | None = None
    ) -> CerebrumClient:
        key = self.api_key.resolve().get_secret_value()
        http = HttpClient(
            self.base_url,
            system="cerebrum",
            stats=stats,
            headers={self.api_key_header: key},
            secrets=[key],
            timeout_s=self.timeout_s,
            retry=self.retry,
            max_connections=self.max_connections,
            transport=transport,
            lean_gets=True,  # a full resync asks tens of thousands of small questions
        )
        return CerebrumClient(http)


def _seg(value: str | int) -> str:
    return quote(str(value), safe="")


def _template(path: str) -> str:
    """``accounts/olan/groups`` → ``accounts/{name}/groups`` (names have no digits to spot)."""
    parts = path.split("/")
    if len(parts) >= 2 and parts[1] and parts[0] in ("accounts", "groups"):
        parts[1] = "{name}"
    elif len(parts) >= 2 and parts[0] == "persons":
        parts[1] = "{id}"
    return "/".join(parts)


class CerebrumClient:
    """Reads Cerebrum. Build it with :meth:`CerebrumSettings.build`."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    @property
    def stats(self) -> CallStats:
        return self.http.stats

    def close(self) -> None:
        self.http.close()

    def _get(self, path: str, endpoint: str, params: dict[str, Any] | None = None) -> Any:
        return self.http.get_json(path, params=params, endpoint=endpoint)

    def _envelope(self, path: str, key: str, params: dict[str, Any] | None = None) -> list[Any]:
        body = self._get(path, _template(path), params)
        items = body.get(key) if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise HttpPermanentError(f"cerebrum GET {path}: expected an envelope '{key}'")
        return items

    def follow(self, href: str) -> Any:
        """The JSON an ``href`` in an answer points at (an account's owner, a group's members…)."""
        return self.http.follow_json(href)

    # persons
    def person(self, person_id: int) -> CerebrumPerson:
        return CerebrumPerson.model_validate(self._get(f"persons/{int(person_id)}", "persons/{id}"))

    def person_accounts(self, person_id: int) -> list[AccountRef]:
        return [
            AccountRef.model_validate(a)
            for a in self._envelope(f"persons/{int(person_id)}/accounts", "accounts")
        ]

    def primary_account(self, person_id: int) -> Account | None:
        """The person's primary account (the one used for Feide login), or ``None``."""
        for ref in self.person_accounts(person_id):
            if ref.primary:
                return self.account(ref.name)
        return None

    def person_external_ids(self, person_id: int) -> list[dict[str, Any]]:
        return self._envelope(f"persons/{int(person_id)}/external-ids", "external_ids")

    def search_external_id(
        self,
        external_id: str,
        *,
        id_type: str | Iterable[str] | None = None,
        source_system: str | Iterable[str] | None = None,
    ) -> list[ExternalIdMatch]:
        """Persons with this external id. ``id_type`` takes API names (``studentNumber``)."""
        params: dict[str, Any] = {"external_id": external_id}
        if id_type is not None:
            params["id_type"] = [id_type] if isinstance(id_type, str) else list(id_type)
        if source_system is not None:
            params["source_system"] = (
                [source_system] if isinstance(source_system, str) else list(source_system)
            )
        return [
            ExternalIdMatch.model_validate(m)
            for m in self._envelope("search/persons/external-ids", "external_ids", params)
        ]

    # accounts
    def accounts(
        self,
        *,
        name: str | None = None,
        context: str | None = None,
        owner_id: int | None = None,
        owner_type: str | None = None,
        expire_start: str | None = None,
        expire_stop: str | None = None,
    ) -> list[Account]:
        """``/accounts/``: every account matching the filters, in one call (Cerebrum does not
        page it). ``name`` may hold Cerebrum's wildcards (``*``, ``?``)."""
        filters = {
            "name": name,
            "context": context,
            "owner_id": owner_id,
            "owner_type": owner_type,
            "expire_start": expire_start,
            "expire_stop": expire_stop,
        }
        params = {k: v for k, v in filters.items() if v is not None}
        return [Account.model_validate(a) for a in self._envelope("accounts/", "accounts", params or None)]

    def account(self, name: str) -> Account:
        return Account.model_validate(self._get(f"accounts/{_seg(name)}", "accounts/{name}"))

    def quarantines(self, name: str, *, context: str | None = None) -> Quarantines:
        params = {"context": context} if context else None
        return Quarantines.model_validate(
            self._get(f"accounts/{_seg(name)}/quarantines", "accounts/{name}/quarantines", params)
        )

    def locked(self, name: str) -> bool:
        """Whether the account is blocked (Cerebrum's ``locked``)."""
        return self.quarantines(name).locked

    def account_groups(self, name: str, *, indirect: bool = False) -> list[Group]:
        params = {"indirect_memberships": "true"} if indirect else None
        return [
            Group.model_validate(g) for g in self._envelope(f"accounts/{_seg(name)}/groups", "groups", params)
        ]

    # groups
    def group(self, name: str) -> Group:
        return Group.model_validate(self._get(f"groups/{_seg(name)}", "groups/{name}"))

    def group_members(self, name: str, *, type: str | None = None) -> list[GroupMember]:
        params = {"type": type} if type else None
        return [
            GroupMember.model_validate(m)
            for m in self._envelope(f"groups/{_seg(name)}/members/", "members", params)
        ]
