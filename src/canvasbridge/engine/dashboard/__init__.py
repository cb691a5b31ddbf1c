"""The operator's dashboard, served by ``canvasbridge api`` at ``/``.

Server-rendered HTML (Jinja2 templates shipped in the package, plain forms, no
JavaScript): the overview (calls by state, activity over the last hour, freshness per
task and per source, external systems' rate-limit headroom), calls by state with one
call's whole story, parked messages, and for role ``operate`` requeue and discard.

Security: sign-in with an admin token through a form into a signed HttpOnly,
SameSite=Strict session cookie (:mod:`.session`); never a token in a URL; a CSRF token
on every change; a strict content security policy and no inline script or style on
every response (:func:`install`). The JSON API keeps its bearer tokens and never
accepts the cookie, so the cookie cannot be used against it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import RequestResponseEndpoint

from . import actions, pages, signin
from .render import SignInNeeded, error_page, login_url

# nothing but this site's own stylesheet and forms: no script at all, no framing
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
HTML_NO_STORE = "no-store"  # pages show operational data: keep them out of shared caches


def install(app: FastAPI) -> None:
    """Add the dashboard's pages, its stylesheet and the security headers to ``app``."""
    for module in (pages, actions, signin):
        app.include_router(module.router)
    app.mount("/ui/static", StaticFiles(directory=str(Path(__file__).with_name("static"))), name="static")

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        return RedirectResponse(login_url(exc.path), status_code=303)

    @app.exception_handler(actions.Refused)
    async def _refused(request: Request, exc: actions.Refused) -> Response:
        return error_page(request, exc.session, 403, exc.message)

    @app.middleware("http")
    async def _headers(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers["cache-control"] = HTML_NO_STORE
        return response


__all__ = ["CONTENT_SECURITY_POLICY", "install"]
