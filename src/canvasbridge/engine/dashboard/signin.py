"""``/ui/login`` and ``/ui/logout``: an admin token in, a session cookie out.

The token is posted in a form body (never a URL); a sign-in form carries a double-submit
CSRF value, sign-out the session's CSRF token.
"""

from __future__ import annotations

import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from canvasbridge.engine.api.auth import TokenBook
from canvasbridge.engine.api.sign_in_limit import SignInLimit, client_address

from .actions import Csrf, changes_allowed
from .render import page, safe_next
from .session import (
    LOGIN_COOKIE,
    clear_session_cookie,
    current,
    login_csrf_ok,
    set_login_csrf,
    set_session_cookie,
    sign_in,
)

router = APIRouter(prefix="/ui", include_in_schema=False)
log = logging.getLogger(__name__)
MAX_TOKEN_CHARS = 500  # a longer "token" is not one of ours


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    if current(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, safe_next(next))


def _login_page(
    request: Request, next_path: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    tokens: TokenBook = request.app.state.tokens
    value = secrets.token_urlsafe(24)
    response = page(
        request,
        "login.html",
        None,
        status_code=status_code,
        next=next_path,
        error=error,
        login_csrf=value,
        no_tokens=not len(tokens),
    )
    set_login_csrf(response, request, value)
    return response


@router.post("/login")
def login(
    request: Request,
    token: Annotated[str, Form(max_length=MAX_TOKEN_CHARS)] = "",
    csrf: Csrf = None,
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    target = safe_next(next)
    if request.headers.get("sec-fetch-site") == "cross-site" or not login_csrf_ok(request, csrf):
        return _login_page(request, target, error="The form expired; please sign in again.", status_code=403)
    limit: SignInLimit = request.app.state.sign_in_limit
    client = client_address(request)
    wait = limit.retry_after(client)
    if wait is not None:
        log.warning("dashboard: a sign-in from %s was refused: too many wrong tokens", client)
        response = _login_page(
            request, target, error=f"Too many wrong tokens; try again in {wait} s.", status_code=429
        )
        response.headers["Retry-After"] = str(wait)
        return response
    tokens: TokenBook = request.app.state.tokens
    signed = sign_in(tokens, token.strip())
    if signed is None:
        limit.failed(client)
        log.info("dashboard: a sign-in with an unknown token was refused")
        return _login_page(request, target, error="That token is not one of admin.tokens.", status_code=401)
    limit.succeeded(client)
    session, cookie = signed
    log.info("dashboard: %s signed in (%s)", session.principal.name, session.principal.role.value)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, cookie)
    response.delete_cookie(LOGIN_COOKIE, path="/ui/login")
    return response


@router.post("/logout")
def logout(request: Request, csrf: Csrf = None) -> Response:
    session = current(request)
    if session is not None:
        changes_allowed(request, session, csrf)
    response = RedirectResponse("/ui/login?notice=signed-out", status_code=303)
    clear_session_cookie(response, request)
    return response
