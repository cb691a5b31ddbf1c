"""SAPUiO HTTP API client: org units (locations) and their tree, employees.

The API is OData-style (reference B.5): a single object comes as ``{"d": {...}}``, a list as
``{"d": {"results": [...]}}``, and links are deferred, ``{"__deferred": {"uri": "…"}}``.
An answer without the header ``sap-server: true`` came from a proxy, not SAP, and is
refused (as a transient error: a proxy in the way usually goes away) - except the
gateway's own 401/403 (bad key: permanent) and 429 (throttled: rate-limited).

The org tree is walked one parent at a time::

    sap = SapSettings(base_url="https://gw.uio.no/sap/", api_key={"env": "SAP_KEY"}).build()
    chain = sap.path_to_root(50012345)     # [the unit, its parent, …, the root]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import Field

from canvasbridge.clients.http import (
    CallStats,
    ClientSettings,
    HttpClient,
    HttpErrorInfo,
    HttpPermanentError,
    HttpTransientError,
)
from canvasbridge.errors import NotFoundError
from canvasbridge.secrets import SecretRef

MAX_TREE_DEPTH = 64  # a longer parent chain than this is a loop in the data
GATEWAY_STATUSES = (401, 403, 429)  # answers the API gateway gives on its own, without sap-server


class NotFromSapError(HttpTransientError):
    """The answer lacks ``sap-server: true``: a proxy or gateway answered instead of SAP."""


class SapSettings(ClientSettings):
    """``systems.sap`` in the configuration."""

    api_key: SecretRef
    api_key_header: str = Field(default="X-Gravitee-Api-Key")
    require_sap_server_header: bool = Field(
        default=True, description="refuse answers without 'sap-server: true' (they come from a proxy)"
    )

    def build(
        self, stats: CallStats | None = None, transport: httpx.BaseTransport | None = None
    ) -> SapClient:
        key = self.api_key.resolve().get_secret_value()
        check = _require_sap_server if self.require_sap_server_header else None
        http = HttpClient(
            self.base_url,
            system="sap",
            stats=stats,
            headers={self.api_key_header: key, "Accept": "application/json"},
            secrets=[key],
            timeout_s=self.timeout_s,
            retry=self.retry,
            max_connections=self.max_connections,
            transport=transport,
            check_response=check,
        )
        return SapClient(http)


def _require_sap_server(response: httpx.Response) -> None:
    if response.status_code in GATEWAY_STATUSES:
        return  # the gateway itself refused us (key, quota): judged by status, not retried blindly
    if response.headers.get("sap-server", "").strip().lower() != "true":
        template = urlsplit(str(response.request.url)).path
        error = NotFromSapError(
            f"sap {response.request.method} {template}: HTTP {response.status_code} without "
            "'sap-server: true' - the answer came from a proxy, not SAP"
        )
        error._attach("sap", response.request.method, template, response.status_code, None)
        raise error


def unwrap(body: Any) -> Any:
    """The payload of an OData answer: ``d``, or ``d.results`` for a list."""
    if not isinstance(body, dict) or "d" not in body:
        raise HttpPermanentError("sap: answer is not OData (no 'd')")
    inner = body["d"]
    if isinstance(inner, dict) and isinstance(inner.get("results"), list):
        return inner["results"]
    return inner


def deferred_uri(value: Any) -> str | None:
    """The URI of a deferred link ``{"__deferred": {"uri": …}}``, else ``None``."""
    if isinstance(value, Mapping):
        deferred = value.get("__deferred")
        if isinstance(deferred, Mapping) and isinstance(deferred.get("uri"), str):
            return str(deferred["uri"])
    return None


#: Field names tried, in order, for a location's id.
LOCATION_ID_FIELDS = ("id", "locationId", "Id", "orgUnitId")


def location_id_of(location: Mapping[str, Any], id_field: str | None = None) -> int | str | None:
    """A location object's id (``id_field`` or the first of :data:`LOCATION_ID_FIELDS`)."""
    for name in (id_field,) if id_field else LOCATION_ID_FIELDS:
        value = location.get(name)
        if isinstance(value, int | str) and value != "":
            return value
    return None


def _key(value: int | str) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + quote(str(value).replace("'", "''"), safe="") + "'"


class SapClient:
    """Reads SAP. Build it with :meth:`SapSettings.build`."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    @property
    def stats(self) -> CallStats:
        return self.http.stats

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **params: Any) -> Any:
        """GET a path or an absolute URI on the SAP host, unwrapped from ``d``."""
        self._check_origin(path)
        return unwrap(self.http.get_json(path, params=params or None))

    def follow(self, link: Any) -> Any:
        """Resolve a deferred link (or return the value itself if it was expanded inline)."""
        uri = deferred_uri(link)
        if uri is None:
            return link
        return self.get(uri)

    def _check_origin(self, url: str) -> None:
        self.http.check_origin(url)

    def get_list(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """A list answer, following OData's ``d.__next`` links when the server pages."""
        self._check_origin(path)
        items: list[dict[str, Any]] = []
        url: str | None = path
        query: dict[str, Any] | None = params or None
        seen: set[str] = set()
        while url:
            body = self.http.get_json(url, params=query)
            query = None
            result = unwrap(body)
            if not isinstance(result, list):
                raise HttpPermanentError(f"sap GET {path}: expected a list")
            items.extend(r for r in result if isinstance(r, dict))
            nxt = body["d"].get("__next") if isinstance(body.get("d"), dict) else None
            url = nxt if isinstance(nxt, str) and nxt not in seen else None
            if url:
                self._check_origin(url)
                seen.add(url)
        return items

    # locations (org units)
    def locations(self, **params: Any) -> list[dict[str, Any]]:
        return self.get_list("locations", **params)

    def location(self, location_id: int | str) -> dict[str, Any]:
        result = self.get(f"locations({_key(location_id)})")
        if not isinstance(result, dict):
            raise HttpPermanentError(f"sap: location {location_id} is not an object")
        return result

    def parent(self, location_id: int | str) -> dict[str, Any] | None:
        """The parent unit, or ``None`` at the root (empty answer or 404 on ``/parent``)."""
        try:
            result = self.get(f"locations({_key(location_id)})/parent")
        except NotFoundError as exc:
            if isinstance(exc, HttpErrorInfo) and exc.status == 404:
                return None
            raise
        return result if isinstance(result, dict) and result else None

    def path_to_root(self, location_id: int | str, *, id_field: str | None = None) -> list[dict[str, Any]]:
        """The unit, its parent, … up to the root. Raises on a loop in the tree.

        ``id_field`` names the id in a location object; by default the first present of
        :data:`LOCATION_ID_FIELDS` (SAP's location field names are not verified).
        """
        chain = [self.location(location_id)]
        seen = {str(location_id)}
        current: int | str = location_id
        while True:
            parent = self.parent(current)
            if parent is None:
                return chain
            parent_id = location_id_of(parent, id_field)
            if parent_id is None:
                raise HttpPermanentError(f"sap: the parent of {current} has no id field")
            if str(parent_id) in seen or len(chain) >= MAX_TREE_DEPTH:
                raise HttpPermanentError(f"sap: the org tree loops at {parent_id}")
            seen.add(str(parent_id))
            chain.append(parent)
            current = parent_id

    # employees
    def employee(self, employee_id: int | str) -> dict[str, Any]:
        result = self.get(f"employees({_key(employee_id)})")
        if not isinstance(result, dict):
            raise HttpPermanentError(f"sap: employee {employee_id} is not an object")
        return result

    def assignments(self, employee_id: int | str) -> list[dict[str, Any]]:
        return self.get_list(f"employees({_key(employee_id)})/assignments")

    def roles(self, employee_id: int | str) -> list[dict[str, Any]]:
        return self.get_list(f"employees({_key(employee_id)})/roles")
