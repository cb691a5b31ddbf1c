"""``GET /provisioning/plan``: a resync's dry run through the admin API.

Answers the document ``canvasbridge resync KIND --dry-run --output json`` prints (schema
:data:`.plan_view.SCHEMA`): every change the resync would make, with old and new values.
It reads Canvas and the sources as that dry run does, so it takes as long (seconds for a
faculty, minutes for a university) and writes nothing but Canvas' provisioning report.
A read token suffices. One plan is made at a time: a second request meanwhile gets 409.
A plan the safety limits would stop is still answered (200), with ``safety_stop`` saying why.

Installed by the provisioning flow's ``api`` entry (:class:`canvasbridge.engine.Flow`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from canvasbridge.engine import TaskContext
from canvasbridge.engine.api.auth import Principal, require_read
from canvasbridge.engine.api.errors import responses
from canvasbridge.errors import CanvasbridgeError
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.plan import SafetyStop
from canvasbridge.provisioning.plan_view import SCHEMA, plan_document
from canvasbridge.provisioning.resync import ResyncResult, resync, sources_for

router = APIRouter(prefix="/provisioning", tags=["provisioning"])
Kind = Literal["users", "accounts", "courses", "enrollments", "all"]


class Change(BaseModel):
    kind: Literal["account", "user", "course", "section", "enrollment"]
    action: str = Field(description="create, move, update, unsuspend, reactivate, suspend or conclude")
    key: str = Field(description="SIS id; an enrollment: '<type> <user SIS id> in <section SIS id>'")
    changes: dict[str, list[Any]] = Field(description="field → [old, new]; old is null for a create")


class PlanDocument(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    schema_: str = Field(alias="schema", description=f"{SCHEMA}")
    kinds: list[str] = Field(description="the kinds planned: accounts, users, courses, sections, enrollments")
    summary: dict[str, dict[str, int]] = Field(description="kind → action → number of changes")
    in_sources: dict[str, int] = Field(description="kind → objects the sources want")
    in_canvas: dict[str, int] = Field(description="kind → objects in Canvas")
    changes: list[Change] = Field(description="every change, parents first")
    notes: list[str] = Field(description="what was seen and deliberately left alone")
    undecided: list[str] = Field(description="objects that could not be decided, and why")
    safety_stop: str | None = Field(description="why a resync would stop at the safety limits, else null")


def install(app: FastAPI) -> None:
    app.state.provisioning_plan_lock = threading.Lock()
    app.include_router(router)


@router.get(
    "/plan",
    response_model=PlanDocument,
    response_model_by_alias=True,
    responses=responses(401, 403, 409, 422, 503),
)
def get_plan(
    request: Request,
    _: Annotated[Principal, Depends(require_read)],
    kind: Annotated[list[Kind], Query(description="what to plan; repeat for several")] = ["all"],  # noqa: B006
) -> dict[str, Any]:
    """The changes a resync of ``kind`` would make now: a dry run, nothing is written."""
    lock: threading.Lock = request.app.state.provisioning_plan_lock
    if not lock.acquire(blocking=False):
        raise HTTPException(409, "a plan is being made; ask again when it is done")
    try:
        return _plan(request.app.state.runtime.config, kind)
    finally:
        lock.release()


def _plan(config: Any, kinds: Sequence[str]) -> dict[str, Any]:
    ctx = TaskContext(task_name="plan", sections=config.flow_sections(), dry_run=True)
    planned: list[ResyncResult] = []
    stop: str | None = None
    try:
        sources = sources_for(ctx)
        try:
            resync(sources, runtime.settings(ctx), kinds, dry_run=True, on_plan=planned.append)
        except SafetyStop as exc:
            stop = str(exc)
        finally:
            sources.close()
    except (CanvasbridgeError, LookupError) as exc:
        raise HTTPException(503, f"could not make the plan: {type(exc).__name__}: {exc}") from None
    return plan_document(planned[0], safety_stop=stop)
