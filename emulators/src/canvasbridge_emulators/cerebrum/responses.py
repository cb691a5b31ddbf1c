"""Cerebrum REST v1 requests → :class:`CerebrumModel` → JSON answers.

Every route needs the API key in the configured header; the base of every ``href`` is
the request's own ``…/v1/``.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from canvasbridge_emulators.cerebrum.exceptions import BadRequest, CerebrumError, invalid_key, missing_key
from canvasbridge_emulators.cerebrum.models import CerebrumModel
from canvasbridge_emulators.university import Account, Group, Person

Handler = Callable[[Request], Awaitable[Response]]


class CerebrumResponses:
    def __init__(self, model: CerebrumModel) -> None:
        self.model = model

    def _check_key(self, request: Request) -> None:
        key = request.headers.get(self.model.header)
        if key is None:
            raise missing_key(self.model.header)
        if not any(hmac.compare_digest(key.encode(), k.encode()) for k in self.model.api_keys):
            raise invalid_key(self.model.header)

    def _guarded(self, build: Callable[[Request, str], dict]) -> Handler:  # type: ignore[type-arg]
        async def handler(request: Request) -> Response:
            try:
                self._check_key(request)
                base = f"{str(request.base_url).rstrip('/')}/v1/"
                with self.model.university.lock:
                    body = build(request, base)
            except CerebrumError as exc:
                return exc.response()
            return JSONResponse(body)

        return handler

    def handlers(self) -> dict[str, Handler]:
        m = self.model

        def p(r: Request) -> Person:
            return m.person(r.path_params["id"])

        def a(r: Request) -> Account:
            return m.account(r.path_params["name"])

        def g(r: Request) -> Group:
            return m.group(r.path_params["name"])

        return {
            "person": self._guarded(lambda r, base: m.render_person(p(r), base)),
            "person_accounts": self._guarded(lambda r, base: m.render_person_accounts(p(r), base)),
            "person_external_ids": self._guarded(lambda r, base: m.render_external_ids(p(r))),
            "person_affiliations": self._guarded(lambda r, base: m.render_affiliations(p(r))),
            "accounts": self._guarded(lambda r, base: m.list_accounts(dict(r.query_params), base)),
            "account": self._guarded(lambda r, base: m.render_account(a(r), base)),
            "account_quarantines": self._guarded(lambda r, base: m.render_quarantines(a(r))),
            "account_groups": self._guarded(lambda r, base: m.render_account_groups(a(r), base)),
            "group": self._guarded(lambda r, base: m.render_group(g(r), base)),
            "group_members": self._guarded(
                lambda r, base: m.render_members(g(r), base, r.query_params.get("type"))
            ),
            "ou": self._guarded(lambda r, base: m.render_ou(m.ou(r.path_params["id"]), base)),
            "search_external_ids": self._guarded(self._search),
        }

    def _search(self, request: Request, base: str) -> dict:  # type: ignore[type-arg]
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
