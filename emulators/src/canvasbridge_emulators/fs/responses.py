"""FS-API requests → :class:`FsModel` → answers in FS's JSON shape.

Collections: ``{"href", "rel", "page", "limit", "size", "first", "previous", "next",
"last", "items"}`` where each link is ``{"href", "rel"}`` (``null`` when there is no such
page) and each item is ``{"href"}`` unless ``fields`` asks for more (``fields=*`` for the
whole object, ``fields=a,b`` for some top-level fields). ``limit`` (default 100, at most
1000; ``0`` = everything) and ``page`` (from 1) page the listing; every other parameter is
a filter on a dotted FS path (``undervisning.semester.termin=HØST``); an unknown filter
answers 400.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from canvasbridge_emulators.common import EmulatorControl
from canvasbridge_emulators.fs.exceptions import BASIC_CHALLENGE, BadRequest, FsError, Unauthorized
from canvasbridge_emulators.fs.models import DEFAULT_LIMIT, MAX_LIMIT, RESERVED_PARAMS, FsModel


class FsResponses:
    def __init__(self, model: FsModel, control: EmulatorControl) -> None:
        self.model = model
        self.control = control

    # ------------------------------------------------------------------ auth

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            username, password = _basic(value)
            self.model.check_basic(username, password)
            return
        if scheme.lower() == "bearer" and value:
            ttl = self.control.faults.extra.get("token_ttl_s")
            self.model.check_token(value.strip(), ttl_override_s=float(ttl) if ttl is not None else None)
            return
        raise Unauthorized("Mangler autentisering", challenge=BASIC_CHALLENGE)

    async def token(self, request: Request) -> Response:
        """``POST /token`` with Basic credentials → ``{"token": "<JWT>"}`` (path unverified)."""
        try:
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "basic":
                raise Unauthorized("Token krever Basic-autentisering", challenge=BASIC_CHALLENGE)
            username, password = _basic(value)
            self.model.check_basic(username, password)
        except FsError as exc:
            return exc.response()
        return JSONResponse({"token": self.model.issue_token(username)})

    # ------------------------------------------------------------------ resources

    async def collection(self, request: Request) -> Response:
        name = request.path_params["resource"]
        try:
            self._authenticate(request)
            params = dict(request.query_params)
            page = _int(params.get("page", "1"), "page", minimum=1)
            limit = _int(params.get("limit", str(DEFAULT_LIMIT)), "limit", minimum=0)
            if limit > MAX_LIMIT:
                raise BadRequest(f"limit kan ikke være større enn {MAX_LIMIT}")
            filters = {k: v for k, v in params.items() if k not in RESERVED_PARAMS}
            keys = self.model.listing(name, filters)
        except FsError as exc:
            return exc.response()
        base = str(request.base_url)
        size = len(keys)
        per_page = limit or max(size, 1)
        last = max(1, math.ceil(size / per_page))
        chunk = keys[(page - 1) * per_page : page * per_page]
        fields = params.get("fields")
        resource = self.model.resource(name)
        items: list[dict[str, Any]] = []
        with self.model.university.lock:
            for key in chunk:
                try:
                    record = resource.get(key)
                except (KeyError, ValueError):
                    continue  # removed since the listing was cached
                full = resource.render(record, base)
                items.append(_pick(full, fields))
        query = {k: v for k, v in params.items() if k != "page"}
        query["limit"] = str(limit)

        def link(number: int, rel: str) -> dict[str, str]:
            return {"href": f"{base}{name}?{urlencode({**query, 'page': number})}", "rel": rel}

        return JSONResponse(
            {
                "href": link(page, "self")["href"],
                "rel": "collection",
                "page": page,
                "limit": limit,
                "size": size,
                "first": link(1, "first"),
                "previous": link(page - 1, "previous") if page > 1 else None,
                "next": link(page + 1, "next") if page < last else None,
                "last": link(last, "last"),
                "items": items,
            }
        )

    async def item(self, request: Request) -> Response:
        name = request.path_params["resource"]
        key = request.path_params["key"]
        try:
            self._authenticate(request)
            with self.model.university.lock:
                record = self.model.item(name, key)
                body = self.model.resource(name).render(record, str(request.base_url))
        except FsError as exc:
            return exc.response()
        return JSONResponse(body)

    async def semester(self, request: Request) -> Response:
        try:
            self._authenticate(request)
            ar, _, termin = request.path_params["key"].partition(",")
            if not ar.isdigit() or not termin:
                raise BadRequest("semester må være <år>,<termin>")
        except FsError as exc:
            return exc.response()
        return JSONResponse({"href": str(request.url), "ar": int(ar), "termin": termin})

    async def version(self, request: Request) -> Response:
        return JSONResponse({"version": "canvasbridge-fs-emulator", "api": "FS-API 1.0 (emulated)"})

    async def expire_tokens(self, request: Request) -> Response:
        self.model.expire_tokens()
        return JSONResponse({"expired": True})


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("Ugyldig Basic-autentisering", challenge=BASIC_CHALLENGE) from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise Unauthorized("Ugyldig Basic-autentisering", challenge=BASIC_CHALLENGE)
    return username, password


def _int(text: str, name: str, *, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} må være et heltall") from None
    if value < minimum:
        raise BadRequest(f"{name} må være minst {minimum}")
    return value


def _pick(full: dict[str, Any], fields: str | None) -> dict[str, Any]:
    if not fields:
        return {"href": full["href"]}
    if fields.strip() in ("*", "all"):
        return full
    wanted = {f.strip() for f in fields.split(",") if f.strip()}
    return {"href": full["href"], **{k: v for k, v in full.items() if k in wanted}}
