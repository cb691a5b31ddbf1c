"""``/health/live`` and ``/health/ready``: the two endpoints that need no token.

``live`` answers 200 while the process can serve requests. ``ready`` runs the checks of
:mod:`canvasbridge.engine.health` (ledger, broker, each configured target system) and
answers 200 when all pass, else 503. Failure details (error text, which may name hosts)
are shown only to callers who send a valid token; others see names and outcomes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from canvasbridge.engine.health import Readiness as ReadinessChecks

from .auth import TokenBook
from .schemas import Check, Liveness, Readiness

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", response_model=Liveness)
def live() -> Liveness:
    """The process is up."""
    return Liveness(status="ok")


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "a check failed"}},
)
def ready(request: Request) -> JSONResponse:
    """Ledger, broker and every configured target system are reachable."""
    checks: ReadinessChecks = request.app.state.readiness
    report = checks.report()
    tokens: TokenBook = request.app.state.tokens
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    trusted = scheme.lower() == "bearer" and tokens.identify(presented.strip()) is not None
    body = Readiness(
        status="ready" if report.ok else "unready",
        checks=[
            Check(name=c.name, ok=c.ok, seconds=c.seconds, detail=c.detail if trusted else None)
            for c in report.checks
        ],
    )
    return JSONResponse(body.model_dump(), status_code=200 if report.ok else 503)
