"""Dashboard sessions: a signed, HttpOnly, SameSite=Strict cookie, and CSRF tokens.

Signing in posts an admin token in a form (never in a URL). The cookie then holds the
token's *name*, an expiry and a random nonce, signed with HMAC-SHA256 keyed by that
token's own secret, so no server state is needed, every API process behind a balancer
accepts it, and removing a token from ``admin.tokens`` ends its sessions at the next
restart. The role is looked up in the current configuration on every request.

Every change (requeue, discard, sign-out) carries a CSRF token: HMAC of the session's
nonce under the same secret, in a hidden form field, compared in constant time. The
sign-in form, which has no session yet, uses a double-submit cookie instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from canvasbridge.engine.api.auth import Principal, TokenBook

SESSION_COOKIE = "cb_session"
LOGIN_COOKIE = "cb_signin"  # the sign-in form's double-submit CSRF value
SESSION_SECONDS = 8 * 3600  # a session lasts one working day, then sign in again
LOGIN_FORM_SECONDS = 600  # a sign-in form must be sent within this many seconds
MAX_COOKIE_CHARS = 1024  # longer cookies are not ours


@dataclass(frozen=True)
class Session:
    """A signed-in operator: who, until when, and the key their CSRF token derives from."""

    principal: Principal
    expires: int
    nonce: str
    secret: bytes

    def csrf_token(self) -> str:
        return _mac(self.secret, f"csrf:{self.nonce}")

    def csrf_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self.csrf_token().encode())


def _mac(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_in(tokens: TokenBook, presented: str) -> tuple[Session, str] | None:
    """A new session and its cookie value for ``presented``, or None if no token matches."""
    principal = tokens.identify(presented)
    if principal is None:
        return None
    secret = presented.encode("utf-8")
    expires = int(time.time()) + SESSION_SECONDS
    nonce = secrets.token_urlsafe(18)
    payload = _b64(json.dumps({"n": principal.name, "e": expires, "s": nonce}).encode())
    return Session(principal, expires, nonce, secret), f"{payload}.{_mac(secret, payload)}"


def read_session(tokens: TokenBook, cookie: str | None) -> Session | None:
    """The session a cookie stands for, if its signature holds and it has not expired."""
    if not cookie or len(cookie) > MAX_COOKIE_CHARS or "." not in cookie:
        return None
    payload, _, mac = cookie.rpartition(".")
    try:
        data = json.loads(_unb64(payload))
        name, expires, nonce = str(data["n"]), int(data["e"]), str(data["s"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if expires < time.time():
        return None
    for role, secret in tokens.secrets_of(name):
        if hmac.compare_digest(mac.encode(), _mac(secret, payload).encode()):
            return Session(Principal(name, role), expires, nonce, secret)
    return None


def current(request: Request) -> Session | None:
    tokens: TokenBook = request.app.state.tokens
    return read_session(tokens, request.cookies.get(SESSION_COOKIE))


def _secure(request: Request) -> bool:
    # behind a TLS proxy uvicorn takes the scheme from X-Forwarded-Proto (see operations.md)
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )


def set_login_csrf(response: Response, request: Request, value: str) -> None:
    """Set the sign-in form's double-submit value (``secrets.token_urlsafe``) as a cookie."""
    response.set_cookie(
        LOGIN_COOKIE,
        value,
        max_age=LOGIN_FORM_SECONDS,
        path="/ui/login",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def login_csrf_ok(request: Request, presented: str | None) -> bool:
    expected = request.cookies.get(LOGIN_COOKIE)
    if not expected or presented is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())
