"""The plan as a person reads it: a summary table that fits 80 columns whatever the plan holds."""

from __future__ import annotations

import io

from rich.console import Console

from canvasbridge.provisioning.model import UserState
from canvasbridge.provisioning.plan import ACTION_ORDER, KIND_ORDER, Operation, Plan
from canvasbridge.provisioning.plan_view import PLURALS, changed_fields, summary_table
from canvasbridge.provisioning.resync import ResyncResult, expand


def test_every_kind_and_action_with_six_digit_counts_fits_80_columns_with_whole_headers():
    ops = [
        Operation(kind, action, f"{kind}-{action}-{n}")
        for kind in KIND_ORDER
        for action in ACTION_ORDER
        for n in range(3)
    ]
    sizes = {plural: 123_456 for plural in PLURALS.values()}
    result = ResyncResult(expand(["all"]), Plan(ops), desired=sizes, current=sizes, managed={})
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(summary_table(result))
    text = console.file.getvalue()
    rows = [line.split() for line in text.splitlines()]
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert ["accounts", "users", "courses", "sections", "enrollments"] in rows, text
    for action in ACTION_ORDER:
        assert [action, "3", "3", "3", "3", "3"] in rows, text
    assert ["in", "sources", *["123456"] * 5] in rows and ["in", "Canvas", *["123456"] * 5] in rows


def test_a_restated_value_is_not_shown_as_a_change():
    current = UserState("olan", "olan", "Ola", suspended=False)
    op = Operation("user", "update", "olan", {"name": "Ola N.", "suspended": False}, current)
    assert changed_fields(op) == {"name": ["Ola", "Ola N."]}
    login = Operation("user", "update", "olan", {"login": {"login_id": "ola.n"}}, current)
    assert changed_fields(login) == {"login_id": ["olan", "ola.n"]}
