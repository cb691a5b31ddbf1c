"""The resync's phase display: overlapping phases each get their own spinner and line."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from canvasbridge.provisioning.phases import PhaseDisplay


@pytest.mark.parametrize("terminal", [True, False])
def test_phases_that_overlap_each_end_with_their_own_line(terminal):
    out = io.StringIO()
    with PhaseDisplay(Console(file=out, force_terminal=terminal, width=100)) as display:
        display.phase("reading Canvas", None)
        display.phase("reading the sources", None)
        display.phase("reading the sources", {"users": 3})
        display.phase("reading Canvas", {"users": 2, "courses": 1})
        display.phase("writing (rest)", None)
        display.writes(1, 2)
        display.phase("writing (rest)", {"done": 2, "failed": 0})
    text = out.getvalue()
    order = [
        text.index(f"{name}: {what} (")
        for name, what in (
            ("reading the sources", "3 users"),
            ("reading Canvas", "2 users, 1 courses"),
            ("writing (rest)", "2 done, 0 failed"),
        )
    ]
    assert order == sorted(order)
