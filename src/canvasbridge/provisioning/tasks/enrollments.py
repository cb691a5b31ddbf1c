"""``ensure_enrollments`` and ``ensure_person_role``: who is in a course section.

Students come from FS participation (``studentundervisning`` for a unit's section,
``studentundervisningsaktiviteter`` for an activity's), teachers and TAs from FS roles
mapped by ``roles.enrollments``; all terms of a multi-term unit count. The diff adds the
missing, reactivates the inactive, and *concludes* (never deletes) the owned enrollments
that are no longer wanted. Enrollments the service does not own (other sections, users
without a SIS id of ours, types it does not manage) are never touched. A wanted user not
yet in Canvas is provisioned on the spot (``ensure_user``) and the enrollment retried.

A burst (``provisioning.bulk.burst_threshold`` calls or more waiting) is gathered and
applied as one SIS import instead (:mod:`.burst`).
"""

from __future__ import annotations

from typing import Any

from canvasbridge.engine import TaskContext
from canvasbridge.errors import NotFoundError, PermanentError
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.canvas_state import read_section
from canvasbridge.provisioning.desired import (
    FsView,
    decide_course,
)
from canvasbridge.provisioning.rules import Placement
from canvasbridge.provisioning.tasks.burst import run_burst, wants_burst
from canvasbridge.provisioning.tasks.courses import ensure_course
from canvasbridge.provisioning.tasks.sections import sync_section


def ensure_enrollments(ctx: TaskContext, fs_id: str) -> dict[str, Any]:
    if not wants_burst(ctx):
        return sync_enrollments(ctx, fs_id)
    burst = run_burst(ctx, fs_id)
    if burst.own_error is not None:
        raise PermanentError(burst.own_error)
    if burst.own is None:  # this call's section could not go in the burst: on its own, after it
        return {**sync_enrollments(ctx, fs_id), "burst": burst.summary}
    return {**burst.own, "burst": {**burst.own.get("burst", {}), **burst.summary}}


def sync_enrollments(ctx: TaskContext, fs_id: str) -> dict[str, Any]:
    """The per-object path: one unit's or activity's section, by REST."""
    k = runtime.kit(ctx)
    decision = decide_course(FsView(runtime.fs(ctx)), k.settings, fs_id)
    if decision.outcome is Placement.SKIP or decision.section is None:
        return {"fs_id": fs_id, "outcome": decision.outcome.value, "rule": decision.rule.reason, "planned": 0}
    if read_section(k.canvas, decision.section.sis_section_id) is None:
        # the section is not there yet: build the structure, which syncs new sections' enrollments
        return {"fs_id": fs_id, "structure": ensure_course(ctx, fs_id)}
    return {"fs_id": fs_id, **sync_section(ctx, k, decision)}


def ensure_person_role(ctx: TaskContext, personrolle: str) -> dict[str, Any]:
    """A teaching role changed: re-sync the section of the unit or activity it is on."""
    try:
        role = runtime.fs(ctx).personrolle(personrolle)
    except NotFoundError:
        return {
            "personrolle": personrolle,
            "planned": 0,
            "skipped": "role no longer in FS; the next resync concludes it",
        }
    from canvasbridge.clients.fs.identifiers import AktivitetId, UndervisningId

    if role.undervisningsaktivitet is not None:
        target = AktivitetId.parse(role.undervisningsaktivitet.href).display
    elif role.undervisning is not None:
        target = UndervisningId.parse(role.undervisning.href).display
    else:
        return {"personrolle": personrolle, "planned": 0, "skipped": "role is not on a unit or activity"}
    return {"personrolle": personrolle, **sync_enrollments(ctx, target)}
