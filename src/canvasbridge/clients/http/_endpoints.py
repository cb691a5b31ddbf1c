"""Endpoint templates: a request path with its identifiers replaced, for statistics and errors."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_ID_SEGMENT = re.compile(r"^(?=.*[\d,%:@])[^/]+$")
_VERSION_SEGMENT = re.compile(r"^v\d+(\.\d+)?$")
_PAREN_ID = re.compile(r"\(([^)]*)\)")


def endpoint_template(path: str) -> str:
    """A path with its identifiers replaced: ``personer/123`` → ``personer/{id}``.

    A segment counts as an identifier if it holds a digit, a comma, ``%``, ``:`` or ``@``
    (but not a version such as ``v1``); OData keys in parentheses become ``({id})``. Names
    without digits (``accounts/olan``) cannot be told from words: pass ``endpoint=``.
    """
    path = urlsplit(path).path.strip("/")
    out = []
    for segment in path.split("/"):
        if "(" in segment:
            out.append(_PAREN_ID.sub("({id})", segment))
        elif _ID_SEGMENT.match(segment) and not _VERSION_SEGMENT.match(segment):
            out.append("{id}")
        else:
            out.append(segment)
    return "/".join(out)
