"""The FS-API client: authentication, collections, references, typed reads and searches.

Authentication (``auth`` setting):

* ``jwt`` - the UiO design: Basic credentials buy a JWT at ``token_path``
  (answer ``{"token": "<JWT>"}``), then ``Authorization: Bearer`` on every call. The token
  is renewed shortly before its ``exp`` claim and whenever a call answers 401.
* ``basic`` - Basic credentials on every call (what the public FS clients do).
* ``auto`` (default) - try ``jwt``; if the token endpoint does not exist (404/405), use
  ``basic`` from then on.

Collections are ``{page, limit, items, next: {href}, last: {href}}``;
:meth:`FsClient.iter_collection` walks every page and, when an item carries only ``href``,
fetches it. Given a thread pool, it reads the pages after the first on it, a few ahead of
the one being consumed (their addresses follow from ``last``). Searches filter by
dotted paths into the item's JSON (``emne.kode=INF1000``), as FS does::

    fs = FsSettings.model_validate(config["systems"]["fs"]).build()
    for u in fs.undervisninger(EmneId.parse("185,INF1000,1"), ar=2024, termin="HØST"):
        print(u.id, u.lms_export)
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Executor, Future
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, Field

from canvasbridge.clients.fs.identifiers import (
    AktivitetId,
    EmneId,
    OrgenhetId,
    PersonrolleId,
    UndervisningId,
)
from canvasbridge.clients.fs.models import (
    Emne,
    Organisasjonsenhet,
    Person,
    Personrolle,
    Studentundervisning,
    Studentundervisningsaktivitet,
    Undervisning,
    Undervisningsaktivitet,
)
from canvasbridge.clients.http import (
    AuthenticationError,
    CallStats,
    ClientSettings,
    HttpClient,
    HttpErrorInfo,
    HttpPermanentError,
    decode_json,
)
from canvasbridge.errors import PermanentError
from canvasbridge.secrets import SecretRef

M = TypeVar("M", bound=BaseModel)

TOKEN_RENEW_MARGIN_S = 30.0  # renew a JWT up to this many seconds before it expires
DEFAULT_PAGE_SIZE = 100  # items per page asked of FS collections (FS allows up to 1000)
PAGES_AHEAD = 4  # pages of one collection read ahead on a pool, at most
_REF_KEYS = frozenset({"href", "rel"})  # an item with only these stands for an object to fetch


class FsSettings(ClientSettings):
    """``systems.fs`` in the configuration."""

    username: str
    password: SecretRef
    auth: Literal["auto", "jwt", "basic"] = "auto"
    token_path: str = Field(default="token", description="JWT endpoint, relative to base_url")
    token_method: Literal["GET", "POST"] = "POST"  # noqa: S105  (an HTTP method, not a secret)
    api_key: SecretRef | None = Field(default=None, description="gateway key, if FS is behind Gravitee")
    api_key_header: str = "X-Gravitee-Api-Key"
    page_size: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=1000)
    collection_fields: str | None = Field(
        default=None,
        description="sent as 'fields' on collection reads so items come inline (e.g. '*'); "
        "when unset each item is fetched through its href",
    )

    def build(self, stats: CallStats | None = None, transport: httpx.BaseTransport | None = None) -> FsClient:
        headers: dict[str, str] = {}
        secrets = [self.password.resolve().get_secret_value()]
        if self.api_key is not None:
            key = self.api_key.resolve().get_secret_value()
            headers[self.api_key_header] = key
            secrets.append(key)
        http = HttpClient(
            self.base_url,
            system="fs",
            stats=stats,
            headers=headers,
            secrets=secrets,
            timeout_s=self.timeout_s,
            retry=self.retry,
            max_connections=self.max_connections,
            transport=transport,
        )
        return FsClient(
            http,
            username=self.username,
            password=secrets[0],
            auth=self.auth,
            token_path=self.token_path,
            token_method=self.token_method,
            page_size=self.page_size,
            collection_fields=self.collection_fields,
        )


def _basic(username: str, password: str) -> str:
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim (epoch seconds) of a JWT, without checking its signature."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp")
        return float(exp) if isinstance(exp, int | float) else None
    except (IndexError, ValueError, AttributeError):
        return None


class FsClient:
    """Reads FS through its REST API. Build it with :meth:`FsSettings.build`."""

    def __init__(
        self,
        http: HttpClient,
        *,
        username: str,
        password: str,
        auth: Literal["auto", "jwt", "basic"] = "auto",
        token_path: str = "token",  # noqa: S107
        token_method: Literal["GET", "POST"] = "POST",  # noqa: S107
        page_size: int = DEFAULT_PAGE_SIZE,
        collection_fields: str | None = None,
    ) -> None:
        self.http = http
        self.page_size = page_size
        self.collection_fields = collection_fields
        self._basic = _basic(username, password)
        self.http.redactor.add(self._basic.split(" ", 1)[1])
        self._mode: str = auth
        self._token_path = token_path
        self._token_method = token_method
        self._token: str | None = None
        self._token_exp: float | None = None
        self._renew_at = 0.0
        self._lock = threading.RLock()
        self.http.auth = self._authorize
        self.http.on_unauthorized = self._renew_after_401

    @property
    def stats(self) -> CallStats:
        return self.http.stats

    @property
    def auth_mode(self) -> str:
        """``jwt`` or ``basic`` once decided; ``auto`` before the first call."""
        return self._mode

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ auth

    def _authorize(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = self._current_authorization()

    def _current_authorization(self) -> str:
        with self._lock:
            if self._mode == "basic":
                return self._basic
            if self._token is None or (self._token_exp is not None and time.time() > self._renew_at):
                self._fetch_token()
            if self._mode == "basic" or self._token is None:
                return self._basic
            return f"Bearer {self._token}"

    def _fetch_token(self) -> None:
        def basic(request: httpx.Request) -> None:
            request.headers["Authorization"] = self._basic

        try:
            response = self.http.request(
                self._token_method, self._token_path, auth=basic, endpoint="token", renew_on_401=False
            )
        except AuthenticationError as exc:
            error = AuthenticationError(
                f"fs: the username/password were refused by the token endpoint (HTTP {exc.status})"
            )
            error._attach("fs", self._token_method, "token", exc.status, None)
            raise error from None
        except PermanentError as exc:
            if self._mode == "auto" and isinstance(exc, HttpErrorInfo) and exc.status in (404, 405):
                self._mode = "basic"
                return
            raise
        body = decode_json(response, self.http)
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise HttpPermanentError("fs: the token endpoint answered without a 'token'")
        self._token = token
        self._token_exp = jwt_expiry(token)
        if self._token_exp is not None:
            # renew a little before expiry: 30 s, or a tenth of the lifetime if that is shorter
            margin = min(TOKEN_RENEW_MARGIN_S, max(0.0, self._token_exp - time.time()) / 10)
            self._renew_at = self._token_exp - margin
        self._mode = "jwt"
        self.http.redactor.add(token)

    def _renew_after_401(self) -> bool:
        with self._lock:
            if self._mode == "basic":
                return False
            self._token = None
        return True

    # ------------------------------------------------------------------ raw access

    def get(self, path: str, **params: Any) -> Any:
        """GET a path (relative to the API root) or an ``href``, returning its JSON."""
        self._check_origin(path)
        return self.http.get_json(path, params=params or None)

    def follow(self, ref: str | Mapping[str, Any] | BaseModel) -> Any:
        """Fetch what a reference points at: an ``href`` string, ``{"href": …}`` or a ``Ref``."""
        if isinstance(ref, BaseModel):
            href = getattr(ref, "href", None)
        elif isinstance(ref, Mapping):
            href = ref.get("href")
        else:
            href = ref
        if not isinstance(href, str) or not href:
            raise PermanentError(f"fs: not a reference: {ref!r}")
        return self.get(href)

    def iter_collection(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        expand: bool = True,
        pool: Executor | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a collection, page after page, following ``next.href``.

        Items that carry nothing but ``href`` are fetched when ``expand`` is true. With
        ``pool``, every page is read on it (so the pool's size bounds the calls at once), and
        when the first page's ``last.href`` gives the number of pages, up to
        :data:`PAGES_AHEAD` later pages are read while one is consumed.
        """
        first: dict[str, Any] = {"limit": self.page_size, **(params or {})}
        if self.collection_fields and "fields" not in first:
            first["fields"] = self.collection_fields

        def read(url: str, query: Mapping[str, Any] | None) -> dict[str, Any]:
            if pool is None:
                return self._page(path, url, query)
            return pool.submit(self._page, path, url, query).result()

        page = read(path, first)
        hrefs = _later_pages(page) if pool is not None else None
        if hrefs is not None and pool is not None:
            yield from self._items(page, expand)
            pending = iter(hrefs)
            window: deque[Future[dict[str, Any]]] = deque()
            for href in pending:
                window.append(pool.submit(self._page, path, href, None))
                if len(window) >= PAGES_AHEAD:
                    break
            while window:
                page = window.popleft().result()
                following = next(pending, None)
                if following is not None:
                    window.append(pool.submit(self._page, path, following, None))
                yield from self._items(page, expand)
            return
        seen: set[str] = set()
        while True:
            yield from self._items(page, expand)
            nxt = page.get("next")
            url = nxt.get("href") if isinstance(nxt, dict) else None
            if not url or url in seen or not page["items"]:
                break
            seen.add(url)
            page = read(url, None)  # the next href already carries every parameter

    def _page(self, path: str, url: str, query: Mapping[str, Any] | None) -> dict[str, Any]:
        self._check_origin(url)
        page = self.http.get_json(url, params=query)
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            raise HttpPermanentError(f"fs: {path} did not answer with a collection")
        return page

    def _items(self, page: dict[str, Any], expand: bool) -> Iterator[dict[str, Any]]:
        for item in page["items"]:
            # len first: most items are whole objects, and this runs for each of them
            if (
                expand
                and isinstance(item, dict)
                and len(item) <= 2
                and set(item) <= _REF_KEYS
                and "href" in item
            ):
                yield self.follow(item)
            else:
                yield item

    def _check_origin(self, url: str) -> None:
        self.http.check_origin(url)

    def _one(self, model: type[M], path: str) -> M:
        return model.model_validate(self.get(path))

    def _many(
        self, model: type[M], path: str, params: Mapping[str, Any], pool: Executor | None = None
    ) -> Iterator[M]:
        query = {k: v for k, v in params.items() if v is not None}
        for item in self.iter_collection(path, query, pool=pool):
            yield model.model_validate(item)

    def _participants(
        self,
        model: type[Studentundervisning] | type[Studentundervisningsaktivitet],
        path: str,
        params: Mapping[str, Any],
        pool: Executor | None,
    ) -> Iterator[tuple[int | None, str]]:
        # the participation's object: undervisning or undervisningsaktivitet
        target = "undervisning" if model is Studentundervisning else "undervisningsaktivitet"
        query = {k: v for k, v in params.items() if v is not None}
        for item in self.iter_collection(path, query, pool=pool):
            pair = _participant(item, target)
            if pair is None:  # not the plain shape: the model reads it, or says what is wrong
                full = model.model_validate(item)
                pair = (full.person.personlopenummer, full.target_href)
            yield pair

    # ------------------------------------------------------------------ objects

    def person(self, personlopenummer: int | str) -> Person:
        return self._one(Person, f"personer/{personlopenummer}")

    def emne(self, emne: EmneId | str) -> Emne:
        emne = EmneId.parse(emne) if isinstance(emne, str) else emne
        return self._one(Emne, emne.path)

    def undervisning(self, undervisning: UndervisningId | str) -> Undervisning:
        uid = UndervisningId.parse(undervisning) if isinstance(undervisning, str) else undervisning
        return self._one(Undervisning, uid.path)

    def undervisningsaktivitet(self, aktivitet: AktivitetId | str) -> Undervisningsaktivitet:
        aid = AktivitetId.parse(aktivitet) if isinstance(aktivitet, str) else aktivitet
        return self._one(Undervisningsaktivitet, aid.path)

    def personrolle(self, rolle: PersonrolleId | str) -> Personrolle:
        rid = PersonrolleId.parse(rolle) if isinstance(rolle, str) else rolle
        return self._one(Personrolle, rid.path)

    def organisasjonsenhet(self, enhet: OrgenhetId | str) -> Organisasjonsenhet:
        oid = OrgenhetId.parse(enhet) if isinstance(enhet, str) else enhet
        return self._one(Organisasjonsenhet, oid.path)

    # ------------------------------------------------------------------ searches

    # ``pool``: read the pages on this thread pool (see :meth:`iter_collection`)

    def personer(self, *, pool: Executor | None = None, **filters: Any) -> Iterator[Person]:
        """Persons matching FS filters (``fodselsdato0=…``, ``personnummer0=…``, ``brukernavn=…``)."""
        return self._many(Person, "personer", filters, pool)

    def emner(
        self,
        *,
        institusjon: int | None = None,
        kode: str | None = None,
        pool: Executor | None = None,
        **filters: Any,
    ) -> Iterator[Emne]:
        return self._many(Emne, "emner", {"institusjon": institusjon, "kode": kode, **filters}, pool)

    def undervisninger(
        self,
        emne: EmneId | None = None,
        *,
        ar: int | None = None,
        termin: str | None = None,
        pool: Executor | None = None,
        **filters: Any,
    ) -> Iterator[Undervisning]:
        """Every undervisning of an emne (optionally in one term), or matching other filters."""
        params = {**_emne_filter("emne.", emne), "semester.ar": ar, "semester.termin": termin, **filters}
        return self._many(Undervisning, "undervisning", params, pool)

    def undervisningsaktiviteter(
        self, undervisning: UndervisningId | None = None, *, pool: Executor | None = None, **filters: Any
    ) -> Iterator[Undervisningsaktivitet]:
        """Every activity of an undervisning (or matching other filters)."""
        params = {**_undervisning_filter("undervisning.", undervisning), **filters}
        return self._many(Undervisningsaktivitet, "undervisningsaktiviteter", params, pool)

    def personroller(
        self,
        undervisning: UndervisningId | None = None,
        *,
        personlopenummer: int | None = None,
        ar: int | None = None,
        pool: Executor | None = None,
        **filters: Any,
    ) -> Iterator[Personrolle]:
        """Roles on an undervisning, or of one person (optionally in one year)."""
        params = {
            **_undervisning_filter("undervisning.", undervisning),
            "person.personlopenummer": personlopenummer,
            "semester.ar": ar,
            **filters,
        }
        return self._many(Personrolle, "personroller", params, pool)

    def studentundervisning(
        self,
        undervisning: UndervisningId | None = None,
        *,
        personlopenummer: int | None = None,
        pool: Executor | None = None,
        **filters: Any,
    ) -> Iterator[Studentundervisning]:
        """Students taking part in an undervisning, or the participation of one person."""
        params = {
            **_undervisning_filter("undervisning.", undervisning),
            "person.personlopenummer": personlopenummer,
            **filters,
        }
        return self._many(Studentundervisning, "studentundervisning", params, pool)

    def studentundervisningsaktiviteter(
        self,
        aktivitet: AktivitetId | None = None,
        *,
        personlopenummer: int | None = None,
        pool: Executor | None = None,
        **filters: Any,
    ) -> Iterator[Studentundervisningsaktivitet]:
        """Students in one activity (group), or the activities of one person."""
        params: dict[str, Any] = {"person.personlopenummer": personlopenummer, **filters}
        if aktivitet is not None:
            params.update(
                _undervisning_filter("undervisningsaktivitet.undervisning.", aktivitet.undervisning)
            )
            params["undervisningsaktivitet.aktivitet"] = aktivitet.aktivitet
        return self._many(Studentundervisningsaktivitet, "studentundervisningsaktiviteter", params, pool)

    # A full resync reads some 300,000 participations: these give the two values it uses of
    # each, without building the models (whose nested undervisning it would not look at).

    def studentundervisning_refs(
        self, *, pool: Executor | None = None, **filters: Any
    ) -> Iterator[tuple[int | None, str]]:
        """``(person.personlopenummer, undervisning.href)`` of each item
        :meth:`studentundervisning` would give for ``filters``."""
        return self._participants(Studentundervisning, "studentundervisning", filters, pool)

    def studentundervisningsaktivitet_refs(
        self, *, pool: Executor | None = None, **filters: Any
    ) -> Iterator[tuple[int | None, str]]:
        """``(person.personlopenummer, undervisningsaktivitet.href)`` of each item
        :meth:`studentundervisningsaktiviteter` would give for ``filters``."""
        return self._participants(
            Studentundervisningsaktivitet, "studentundervisningsaktiviteter", filters, pool
        )


def _emne_filter(prefix: str, emne: EmneId | None) -> dict[str, Any]:
    if emne is None:
        return {}
    return {
        f"{prefix}institusjon": emne.institusjon,
        f"{prefix}kode": emne.kode,
        f"{prefix}versjon": emne.versjon,
    }


def _undervisning_filter(prefix: str, undervisning: UndervisningId | None) -> dict[str, Any]:
    if undervisning is None:
        return {}
    return {
        **_emne_filter(f"{prefix}emne.", undervisning.emne),
        f"{prefix}semester.ar": undervisning.ar,
        f"{prefix}semester.termin": undervisning.termin,
        f"{prefix}terminnummer": undervisning.terminnummer,
    }


def _participant(item: Any, target: str) -> tuple[int | None, str] | None:
    """``(person.personlopenummer, <target>.href)`` of an item of the usual shape (both values
    of the types the model holds them as), else ``None``."""
    try:
        number = item["person"].get("personlopenummer")
        href = item[target]["href"]
    except (KeyError, TypeError, AttributeError):
        return None
    if type(number) is int and type(href) is str:
        return number, href
    return None  # a person named by href only, too: the model takes the number from it


def _later_pages(page: Mapping[str, Any]) -> list[str] | None:
    """The hrefs of pages 2..n of a collection from its first page (``None`` if it does not say)."""
    links = [page.get(k) for k in ("next", "last")]
    nxt, last = (link.get("href") if isinstance(link, dict) else None for link in links)
    if nxt is None:
        return []
    if not isinstance(nxt, str) or not isinstance(last, str):
        return None
    count = dict(parse_qsl(urlsplit(last).query)).get("page", "")
    if not count.isdigit():
        return None
    parts = urlsplit(nxt)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"]
    return [
        urlunsplit(parts._replace(query=urlencode([*query, ("page", str(n))])))
        for n in range(2, int(count) + 1)
    ]
