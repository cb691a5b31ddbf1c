"""Cerebrum REST v1 requests → :class:`CerebrumModel` → JSON answers.

Every route needs the API key in the configured header; the base of every ``href`` is
the request's own ``…/v1/``.

Each route's endpoint is a plain ASGI app (:class:`CerebrumEndpoint`): no Starlette
``Response`` per request, JSON by orjson (the same bytes as Starlette's ``JSONResponse``
for these answers), the base worked out once per distinct host. A full sync asks for
~100,000 answers, so the emulator's CPU per request counts. The unfiltered account list
(~35,000 items at university size) is rendered once per data version and base.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from canvasbridge_emulators.cerebrum.exceptions import BadRequest, CerebrumError, invalid_key, missing_key
from canvasbridge_emulators.cerebrum.models import CerebrumModel
from canvasbridge_emulators.university import Account, Group, Person

#: builds one answer from the request and its base, under the university lock: a JSON
#: object, or one already rendered
Build = Callable[[Request, str], "dict[str, Any] | bytes"]

JSON_TYPE = (b"content-type", b"application/json")


class CerebrumEndpoint:
    """The ASGI app of one route (a class, so Starlette passes it requests as they come)."""

    __slots__ = ("build", "responses")

    def __init__(self, responses: CerebrumResponses, build: Build) -> None:
        self.responses = responses
        self.build = build

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, body = self.responses.answer(Request(scope, receive), self.build)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-length", str(len(body)).encode()), JSON_TYPE],
            }
        )
        await send({"type": "http.response.body", "body": body})


class CerebrumResponses:
    def __init__(self, model: CerebrumModel) -> None:
        self.model = model
        self._header = model.header.lower().encode("latin-1")
        self._keys = [k.encode() for k in model.api_keys]
        self._listing: tuple[tuple[int, str], bytes] | None = None  # (version, base), body

    def _check_key(self, scope: Scope) -> None:
        # as Starlette's request.headers.get(header): the first such header, latin-1
        for name, value in scope["headers"]:
            if name == self._header:
                given = value.decode("latin-1").encode()
                break
        else:
            raise missing_key(self.model.header)
        if not any(hmac.compare_digest(given, k) for k in self._keys):
            raise invalid_key(self.model.header)

    def answer(self, request: Request, build: Build) -> tuple[int, bytes]:
        """The status and JSON body answering ``request``."""
        try:
            self._check_key(request.scope)
            base = request_base(request.scope)
            with self.model.university.lock:
                body = build(request, base)
        except CerebrumError as exc:
            return exc.status, exc.body()
        return 200, body if isinstance(body, bytes) else orjson.dumps(body)

    def endpoints(self) -> dict[str, CerebrumEndpoint]:
        m = self.model

        def p(r: Request) -> Person:
            return m.person(r.path_params["id"])

        def a(r: Request) -> Account:
            return m.account(r.path_params["name"])

        def g(r: Request) -> Group:
            return m.group(r.path_params["name"])

        builds: dict[str, Build] = {
            "person": lambda r, base: m.render_person(p(r), base),
            "person_accounts": lambda r, base: m.render_person_accounts(p(r), base),
            "person_external_ids": lambda r, base: m.render_external_ids(p(r)),
            "person_affiliations": lambda r, base: m.render_affiliations(p(r)),
            "accounts": self._accounts,
            "account": lambda r, base: m.render_account(a(r), base),
            "account_quarantines": lambda r, base: m.render_quarantines(a(r)),
            "account_groups": lambda r, base: m.render_account_groups(a(r), base),
            "group": lambda r, base: m.render_group(g(r), base),
            "group_members": lambda r, base: m.render_members(g(r), base, r.query_params.get("type")),
            "ou": lambda r, base: m.render_ou(m.ou(r.path_params["id"]), base),
            "search_external_ids": self._search,
        }
        return {name: CerebrumEndpoint(self, build) for name, build in builds.items()}

    def _accounts(self, request: Request, base: str) -> dict[str, Any] | bytes:
        if request.scope["query_string"]:
            return self.model.list_accounts(dict(request.query_params), base)
        # every change to the university bumps its version (reset included), so the
        # rendered list stays right until then
        key = (self.model.university.version, base)
        if self._listing is None or self._listing[0] != key:
            self._listing = (key, orjson.dumps(self.model.list_accounts({}, base)))
        return self._listing[1]

    def _search(self, request: Request, base: str) -> dict[str, Any]:
        external_id = request.query_params.get("external_id")
        if not external_id:
            raise BadRequest(
                "Input payload validation failed", errors="external_id: Missing required parameter"
            )
        return self.model.search_external_ids(
            external_id,
            request.query_params.getlist("id_type"),
            request.query_params.getlist("source_system"),
            base,
        )


def request_base(scope: Scope) -> str:
    """``<request's base URL>/v1/``, as Starlette's ``request.base_url`` gives it."""
    host = next((value for key, value in scope["headers"] if key == b"host"), None)
    server = scope.get("server")
    return _base(
        scope.get("scheme", "http"),
        tuple(server) if server is not None else None,
        host,
        scope.get("root_path", ""),
        scope.get("app_root_path"),
    )


@lru_cache(maxsize=64)  # a client sends one Host; bounded as the Host is the client's to choose
def _base(
    scheme: str, server: tuple[str, int] | None, host: bytes | None, root_path: str, app_root_path: str | None
) -> str:
    scope: dict[str, Any] = {
        "type": "http",
        "scheme": scheme,
        "server": server,
        "path": "/",
        "root_path": root_path,
        "headers": [] if host is None else [(b"host", host)],
    }
    if app_root_path is not None:
        scope["app_root_path"] = app_root_path
    return f"{str(Request(scope).base_url).rstrip('/')}/v1/"
