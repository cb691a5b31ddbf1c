"""Templates, the signed-in check, and the filters the pages share."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from canvasbridge.engine.config import Role

from .session import Session, current

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
MAX_CELL = 80  # characters of parameters and errors in a table cell

# what a redirect after an action may ask a page to say (the query names a key, never text)
NOTICES = {
    "requeued": "Requeued: this is the new call. A worker runs it next; this page refreshes until it ends.",
    "folded": "Requeued into this identical call, which was already waiting to run.",
    "discarded": "Discarded: this call needs no further work.",
    "parked-queued": "The parked message was dispatched again and queued this call.",
    "parked-again": "Dispatched again, and parked again: see the new reason.",
    "parked-nothing": "The parked message was dispatched again; it asked for no work.",
    "parked-discarded": "The parked message was discarded.",
    "signed-out": "Signed out.",
    "bulk-requeued": "Requeued {count} dead call(s) (at most 1,000 at once); they wait under Queued now.",
}


class SignInNeeded(Exception):
    """Raised by :func:`signed_in`; answered with a redirect to the sign-in form."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def signed_in(request: Request) -> Session:
    """The request's session; otherwise off to the sign-in form, coming back here after."""
    session = current(request)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInNeeded(target)
    return session


def login_url(next_path: str) -> str:
    return "/ui/login?next=" + quote(next_path, safe="/")


def safe_next(value: str | None) -> str:
    """A local path to go to after signing in (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def page(
    request: Request,
    template: str,
    session: Session | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    notice = NOTICES.get(request.query_params.get("notice", ""))
    if notice is not None:
        count = request.query_params.get("count", "")
        notice = notice.format(count=int(count) if count.isdigit() else "the")
    values = {
        "session": session,
        "operate": session is not None and session.principal.role is Role.OPERATE,
        "csrf": session.csrf_token() if session is not None else "",
        "notice": notice,
        **context,
    }
    return TEMPLATES.TemplateResponse(request, template, values, status_code=status_code)


def error_page(request: Request, session: Session | None, status_code: int, message: str) -> HTMLResponse:
    return page(request, "error.html", session, status_code=status_code, status=status_code, message=message)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _ago(value: datetime | None) -> str:
    if value is None:
        return "never"
    return duration((datetime.now(UTC) - value).total_seconds()) + " ago"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"


def _short(text: str | None, limit: int = MAX_CELL) -> str:
    if not text:
        return ""
    line = text.splitlines()[0] if text.splitlines() else text
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _params(params: dict[str, Any]) -> str:
    return _short(", ".join(f"{k}={v}" for k, v in params.items()))


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _origin(message: dict[str, Any]) -> str:
    """An originating message with its body shown as JSON when it is JSON."""
    body = message.get("body")
    if isinstance(body, str):
        with contextlib.suppress(ValueError):
            message = {**message, "body": json.loads(body)}
    return _pretty(message)


TEMPLATES.env.filters.update(
    when=_when, ago=_ago, short=_short, params=_params, pretty=_pretty, origin=_origin, duration=duration
)
