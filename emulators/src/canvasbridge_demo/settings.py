"""The ``demo:`` configuration section: how big and how long the demo's steps are.

    demo:
      live_events: 150          # Caliper events sent into SQS
      outage_s: 6               # seconds Canvas answers 503 to everything
      wait_timeout_s: 60        # longest wait for one change to show in Canvas
      burst: {new_students: 15, units_per_student: 3, returning_changes: 30, new_groups: 3, export_flips: 2}

``burst`` replaces the term-start plan (the fields of
:class:`canvasbridge_emulators.scenarios.TermStartPlan`); without it the demo uses its own
plan for ``small`` and the emulators' plan for other sizes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BurstSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_students: int = Field(ge=0, le=5000)
    units_per_student: int = Field(ge=1, le=20)
    returning_changes: int = Field(ge=0, le=50_000)
    new_groups: int = Field(ge=0, le=1000)
    export_flips: int = Field(ge=0, le=1000)


class DemoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    live_events: int = Field(default=150, ge=1, le=100_000)
    outage_s: float = Field(default=6.0, gt=0, le=600)
    wait_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    burst: BurstSettings | None = None
