"""Canvas pagination: ``page``/``per_page`` and the ``Link`` header.

* ``per_page`` defaults to 10 and is clamped to 1..100; when the key repeats the last
  value wins (canvasapi sends its own ``per_page=100`` after the caller's).
* Link URLs are absolute, built from the request's own scheme, host and port, and
  carry the other query parameters (never ``access_token``).
* Ordinal pages give ``current``, ``next``, ``prev``, ``first`` and ``last``;
  ``last`` is left out where Canvas does not count (user lists). A page past the
  end is ``[]``.
* Bookmark pages (enrollments) use ``page=bookmark:<base64 JSON of the last id>``
  and give ``current``, ``next`` and ``first`` only.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.requests import Request

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
BOOKMARK_PREFIX = "bookmark:"

T = TypeVar("T")


def per_page_of(request: Request) -> int:
    values = request.query_params.getlist("per_page")
    try:
        wanted = int(values[-1]) if values else DEFAULT_PER_PAGE
    except ValueError:
        wanted = DEFAULT_PER_PAGE
    return max(1, min(MAX_PER_PAGE, wanted))


def paginate(request: Request, items: Sequence[T], *, with_last: bool = True) -> tuple[list[T], str]:
    """One ordinal page of ``items`` and its Link header value."""
    per_page = per_page_of(request)
    raw = request.query_params.getlist("page")
    try:
        page = max(1, int(raw[-1])) if raw else 1
    except ValueError:
        page = 1
    start = (page - 1) * per_page
    chunk = list(items[start : start + per_page])
    last_page = max(1, -(-len(items) // per_page))
    links = [("current", page)]
    if page < last_page:
        links.append(("next", page + 1))
    if page > 1:
        links.append(("prev", page - 1))
    links.append(("first", 1))
    if with_last:
        links.append(("last", last_page))
    return chunk, _link_header(request, per_page, links)


def paginate_bookmark(request: Request, items: Sequence[Any]) -> tuple[list[Any], str]:
    """A bookmark page of ``items`` (sorted by ``.id``) and its Link header value."""
    per_page = per_page_of(request)
    raw = request.query_params.getlist("page")
    after: int | None = None
    if raw and raw[-1].startswith(BOOKMARK_PREFIX):
        after = _decode_bookmark(raw[-1][len(BOOKMARK_PREFIX) :])
    start = 0
    if after is not None:
        start = next((i for i, item in enumerate(items) if item.id > after), len(items))
    chunk = list(items[start : start + per_page])
    current = raw[-1] if raw else "first"
    links: list[tuple[str, Any]] = [("current", current)]
    if start + per_page < len(items) and chunk:
        links.append(("next", BOOKMARK_PREFIX + _encode_bookmark(chunk[-1].id)))
    links.append(("first", "first"))
    return chunk, _link_header(request, per_page, links)


def _encode_bookmark(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([last_id]).encode()).decode().rstrip("=")


def _decode_bookmark(token: str) -> int | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return int(data[0])
    except (ValueError, TypeError, IndexError, binascii.Error):
        return None


def _link_header(request: Request, per_page: int, links: list[tuple[str, Any]]) -> str:
    url = request.url
    base = f"{url.scheme}://{url.netloc}{url.path}"
    kept = [
        (k, v) for k, v in request.query_params.multi_items() if k not in ("page", "per_page", "access_token")
    ]
    parts = []
    for rel, page in links:
        query = urlencode([*kept, ("page", page), ("per_page", per_page)])
        parts.append(f'<{base}?{query}>; rel="{rel}"')
    return ",".join(parts)
