"""What ``canvasbridge doctor`` asks each system: one cheap call that proves it is reachable,
that the credentials are accepted and that they carry the rights the tasks need.

Each probe returns a line of detail when all is well and raises
:class:`~canvasbridge.errors.CheckFailed` (what is wrong, what to do) otherwise. ``entry`` is
the name of the ``systems.<entry>`` the settings came from, so the remedy names the key to
fix. A probe makes one attempt (no retries) bounded by ``timeout_s``; it never shows a
secret (errors are redacted by the clients).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from canvasbridge.backoff import RetryPolicy
from canvasbridge.clients.canvas import CanvasSettings
from canvasbridge.clients.cerebrum import CerebrumSettings
from canvasbridge.clients.fs import FsSettings
from canvasbridge.clients.http import AuthenticationError, HttpErrorInfo, HttpNotFoundError
from canvasbridge.clients.salesforce import SalesforceClient, SalesforceSettings
from canvasbridge.clients.sap import SapSettings
from canvasbridge.errors import CheckFailed, TransientError
from canvasbridge.secrets import MissingSecretError

S = TypeVar("S", bound=BaseModel)
ONE_TRY = RetryPolicy(max_attempts=1)
NEW_CANVAS_KEY = (
    "create a token for an admin of the root account (Canvas: Account → Settings → "
    "Approved Integrations, or the admin's Profile → Settings → New Access Token) and put it "
    "where systems.{entry}.token names"
)


def quick(settings: S, timeout_s: float) -> S:
    """``settings`` with one try per call and ``timeout_s`` per request."""
    return settings.model_copy(update={"retry": ONE_TRY, "timeout_s": timeout_s})


def failure(exc: Exception, *, system: str, entry: str, credentials: str) -> CheckFailed:
    """The :class:`CheckFailed` for an error of a probe's call; ``credentials`` names the keys."""
    if isinstance(exc, CheckFailed):
        return exc
    if isinstance(exc, MissingSecretError):
        return CheckFailed(f"secret missing: {exc}", f"provide it (systems.{entry}); see the secrets line")
    if isinstance(exc, AuthenticationError):
        return CheckFailed(f"credentials refused: {exc}", f"check {credentials} in systems.{entry}")
    status = exc.status if isinstance(exc, HttpErrorInfo) else None
    if isinstance(exc, TransientError | httpx.TransportError) and status is None:
        return CheckFailed(
            f"cannot reach {system}: {exc}",
            f"check systems.{entry}.base_url, and that {system} is up and reachable from this host",
        )
    if isinstance(exc, HttpNotFoundError):
        return CheckFailed(
            f"{system} has no such resource: {exc}", f"check systems.{entry}.base_url (the API's root)"
        )
    if status is not None and status >= 500:
        return CheckFailed(f"{system} is failing: {exc}", f"try again later, or ask {system}'s operators")
    return CheckFailed(f"{type(exc).__name__}: {exc}", f"check systems.{entry}")


# ----------------------------------------------------------------------------- Canvas


def canvas_admin(
    settings: CanvasSettings,
    *,
    entry: str,
    timeout_s: float,
    account: str | int | None = None,
    account_key: str | None = None,
    root: bool = True,
) -> str:
    """The token is accepted and its user administers ``account`` (default: the settings'
    ``account_id``, named in remedies as ``account_key``), a root account when ``root``.

    ``GET /api/v1/accounts/:id`` answers only an admin of the account: an unknown token gets
    401 with ``WWW-Authenticate``, a valid token of someone else 401 "unauthorized"."""
    account = str(settings.account_id if account is None else account)
    account_key = account_key or f"systems.{entry}.account_id"
    url = f"{settings.base_url.rstrip('/')}/api/v1/accounts/{quote(account, safe='')}"
    token = settings.token.resolve().get_secret_value()
    headers = {"Authorization": f"Bearer {token}", "User-Agent": settings.user_agent}
    try:
        response = httpx.get(url, headers=headers, timeout=timeout_s)
    except httpx.TransportError as exc:
        raise failure(exc, system="Canvas", entry=entry, credentials="token") from None
    status = response.status_code
    if status == 401 and "www-authenticate" in response.headers:
        raise CheckFailed(
            f"the token is refused ({_canvas_message(response) or 'HTTP 401'})",
            NEW_CANVAS_KEY.format(entry=entry),
        )
    if status in (401, 403) and not _rate_limited(response):
        raise CheckFailed(
            f"the token is accepted, but its user may not administer account {account} (HTTP {status})",
            "make the token's user an admin of the root account (Canvas: Admin → the account → "
            f"Admins), or put an admin's token where systems.{entry}.token names",
        )
    if status == 404:
        raise CheckFailed(
            f"no account {account} in Canvas",
            f"set {account_key} to the root account's id, or self",
        )
    if status >= 400:
        raise CheckFailed(
            f"Canvas answered HTTP {status} to GET accounts/{account}",
            "try again later" if status >= 500 or _rate_limited(response) else f"check systems.{entry}",
        )
    body = response.json()
    name, parent = body.get("name"), body.get("parent_account_id")
    if root and parent is not None:
        raise CheckFailed(
            f"account {account} ({name}) is a sub-account, not the root account",
            f"set {account_key} to the root account's id, or self",
        )
    return f"{settings.base_url}: the token administers {'root ' if root else ''}account {body.get('id')} ({name})"


def _canvas_message(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors")
        return str(errors[0]["message"]) if isinstance(errors, list) and errors else ""
    except (ValueError, AttributeError, KeyError, TypeError):
        return ""


def _rate_limited(response: httpx.Response) -> bool:
    return response.status_code == 403 and "rate limit" in response.text.lower()


# ----------------------------------------------------------------------------- sources


def fs_access(settings: FsSettings, *, entry: str, timeout_s: float) -> str:
    """One page of one ``emner`` (course) from FS, with the configured credentials."""
    client = quick(settings, timeout_s).build()
    try:
        client.get("emner", limit=1)
    except Exception as exc:
        raise failure(exc, system="FS", entry=entry, credentials="username and password") from None
    finally:
        client.close()
    return f"{settings.base_url}: logged in as {settings.username}, emner readable"


def cerebrum_access(settings: CerebrumSettings, *, entry: str, timeout_s: float) -> str:
    """An account search in Cerebrum (by a name that matches nothing: one small answer)."""
    client = quick(settings, timeout_s).build()
    try:
        client.accounts(name="canvasbridge-doctor")
    except Exception as exc:
        raise failure(
            exc, system="Cerebrum", entry=entry, credentials="api_key (and api_key_header)"
        ) from None
    finally:
        client.close()
    return f"{settings.base_url}: API key accepted, accounts readable"


def sap_access(settings: SapSettings, *, entry: str, timeout_s: float) -> str:
    """The first location (org unit) from SAP."""
    client = quick(settings, timeout_s).build()
    try:
        client.get("locations", **{"$top": 1})
    except Exception as exc:
        raise failure(exc, system="SAP", entry=entry, credentials="api_key (and api_key_header)") from None
    finally:
        client.close()
    return f"{settings.base_url}: API key accepted, locations readable"


# ----------------------------------------------------------------------------- Salesforce


@dataclass
class SalesforceProbe:
    """One login shared by the Salesforce checks of a doctor run, whichever asks first."""

    settings: SalesforceSettings
    entry: str
    timeout_s: float
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _client: SalesforceClient | None = None
    _error: CheckFailed | None = None
    _described: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def login(self) -> str:
        """Log in (or open the fixed session) and read the org's limits."""
        self._logged_in()
        who = self.settings.username or "the fixed session"
        return f"{self.settings.login_url}: logged in as {who}"

    def _logged_in(self) -> SalesforceClient:
        with self._lock:
            if self._client is None and self._error is None:
                try:
                    client = quick(self.settings, self.timeout_s).build()
                    client.limits()
                    self._client = client
                except Exception as exc:
                    self._error = failure(
                        exc,
                        system="Salesforce",
                        entry=self.entry,
                        credentials="username, password, security_token, consumer_key and "
                        "consumer_secret (or instance_url and session_id)",
                    )
            if self._error is not None:
                raise self._error
            assert self._client is not None
            return self._client

    def fields(
        self,
        needs: Mapping[str, Sequence[str]],
        external_ids: Mapping[str, str],
        *,
        creates: Mapping[str, Sequence[str]] | None = None,
        updates: Mapping[str, Sequence[str]] | None = None,
    ) -> str:
        """Every ``object → [field or relationship path]`` of ``needs`` exists; each
        ``object → field`` of ``external_ids`` is a Unique External ID field; the user may set the
        fields of ``creates`` on new records and change those of ``updates``."""
        try:
            self._logged_in()
        except CheckFailed as exc:
            raise CheckFailed(f"not checked: the login failed ({exc})", "see the login line") from None
        missing: list[str] = []
        for sobject, paths in needs.items():
            if self._describe(sobject) is None:
                missing.append(f"no object {sobject}")
                continue
            missing += [f"{sobject} has no {path}" for path in paths if self._field(sobject, path) is None]
        not_unique: list[str] = []
        for sobject, name in external_ids.items():
            found = self._field(sobject, name)
            if found is not None and not found.get("externalId"):
                missing.append(f"{sobject}.{name} is not an External ID field")
            elif found is not None and not found.get("unique"):
                not_unique.append(f"{sobject}.{name} is not Unique")
        locked = [
            f"{sobject}.{name} is not {flag} for this user"
            for flag, fields in (("createable", creates or {}), ("updateable", updates or {}))
            for sobject, names in fields.items()
            for name in names
            if (found := self._field(sobject, name)) is not None and not found.get(flag)
        ]
        if missing or not_unique or locked:
            remedies = []
            if missing:
                remedies.append(
                    "add the fields in Salesforce Setup → Object Manager (an External ID field is Text, "
                    "External ID, Unique), or name the org's fields in live_events.salesforce"
                )
            if not_unique:  # a shared key then creates a second record instead of resolving
                remedies.append("mark it Unique (case-sensitive)")
            if locked:
                remedies.append(
                    "give the integration user edit access to those fields (field-level security)"
                )
            raise CheckFailed("; ".join(missing + not_unique + locked), "; ".join(remedies))
        count = sum(len(paths) for paths in needs.values())
        return f"{', '.join(needs)}: all {count} fields the records need are there"

    def _describe(self, sobject: str) -> dict[str, Any] | None:
        if sobject not in self._described:
            try:
                self._described[sobject] = self._logged_in().describe(sobject)
            except HttpNotFoundError:
                self._described[sobject] = None
        return self._described[sobject]

    def _field(self, sobject: str, path: str) -> dict[str, Any] | None:
        """The describe of the field a dotted path ends at (``Programme__r.LMS_Start_Date__c``)."""
        *relations, name = path.split(".")
        for relation in relations:
            link = next(_matching(self._describe(sobject), "relationshipName", relation), None)
            targets = (link or {}).get("referenceTo") or []
            if not targets:
                return None
            sobject = str(targets[0])
        return next(_matching(self._describe(sobject), "name", name), None)


def _matching(described: dict[str, Any] | None, key: str, value: str) -> Iterator[dict[str, Any]]:
    for item in (described or {}).get("fields", []):
        if str(item.get(key) or "").lower() == value.lower():
            yield item
