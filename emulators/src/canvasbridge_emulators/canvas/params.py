"""Rails/Rack-style request parameters: ``user[name]=x``, ``type[]=a&type[]=b``.

Canvas reads the query string and the form body (also for DELETE) into one nested
hash; a repeated scalar key keeps its last value (which is why canvasapi's doubled
``per_page`` ends as the last one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from canvasbridge_emulators.canvas.exceptions import BadRequest

_TOKEN = re.compile(r"\[([^\]]*)\]")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def nest(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Fold flat ``(key, value)`` pairs with bracketed keys into nested dicts and lists."""
    out: dict[str, Any] = {}
    for key, value in items:
        head, bracket, rest = key.partition("[")
        if not bracket:
            out[key] = value
            continue
        parts = [head, *_TOKEN.findall("[" + rest)]
        node: Any = out
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            following = None if last else parts[index + 1]
            if isinstance(node, list):  # a[][b]=... is rare; treat as a list of values
                node.append(value)
                break
            if last:
                node[part] = value
            elif following == "":
                existing = node.get(part)
                if not isinstance(existing, list):
                    existing = node[part] = []
                existing.append(value)
                break
            else:
                existing = node.get(part)
                if not isinstance(existing, dict):
                    existing = node[part] = {}
                node = existing
    return out


async def read_params(request: Request) -> dict[str, Any]:
    """Query string and form body (url-encoded or multipart) as one nested dict."""
    items: list[tuple[str, Any]] = list(request.query_params.multi_items())
    if request.method != "GET":
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(FORM_TYPES):
            form = await request.form()
            items.extend(form.multi_items())
        elif content_type.startswith("application/json"):
            body = await request.body()
            if body:
                try:
                    data = await request.json()
                except ValueError as exc:
                    raise BadRequest("invalid JSON body") from exc
                if isinstance(data, dict):
                    return {**nest(items), **data}
    return nest(items)


def section(params: dict[str, Any], name: str) -> dict[str, Any]:
    """The ``name[...]`` hash, or an empty one."""
    value = params.get(name)
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v for v in str(value).split(",") if v]


def as_bool(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "t", "yes", "on")


def as_int(value: Any, what: str) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"invalid {what}: {value!r}") from exc


def text(value: Any) -> str | None:
    """A string parameter, ``None`` when absent; an UploadFile is not text."""
    if value is None or isinstance(value, UploadFile | dict | list):
        return None
    return str(value)
