"""A plan as a person reads it and as a script reads it.

:func:`plan_document` turns a resync's plan into the JSON document that
``canvasbridge resync --output json`` prints and ``GET /provisioning/plan`` answers
(schema :data:`SCHEMA`, described in docs/provisioning.md): one entry per change with its
kind, action, key and ``changes`` as ``{field: [old, new]}``.

:func:`print_plan` prints the same plan for a person: a summary table (actions down,
kinds across, so it fits 80 columns whatever the plan holds), then the changes grouped by
kind and action, each as ``field: old → new``. A group longer than ``limit`` shows its
first ``limit`` changes and how many more there are (``limit=None`` shows all).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from canvasbridge.provisioning.plan import ACTION_ORDER, KIND_ORDER, Operation

if TYPE_CHECKING:
    from canvasbridge.provisioning.resync import ResyncResult

#: the document's ``schema``; changes that break a reader of it get a new number
SCHEMA = "canvasbridge.plan/1"
#: changes shown per kind and action before "… and K more" (``--limit``)
DEFAULT_LIMIT = 10
PLURALS = {
    "account": "accounts",
    "user": "users",
    "course": "courses",
    "section": "sections",
    "enrollment": "enrollments",
}


def changed_fields(op: Operation) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for one operation (old is null for a create).

    A user's login fields, which the plan nests under ``login``, are listed flat. A field
    whose old value equals the new one is left out: a task may restate a value it did not
    read (a user's suspension alongside a new name), which is no change to show.
    """
    out: dict[str, list[Any]] = {}
    flat = dict(op.changes)
    login = flat.pop("login", None)
    if isinstance(login, Mapping):
        flat.update(login)
    for name, new in flat.items():
        old = None if op.action == "create" or op.current is None else getattr(op.current, name, None)
        if op.current is None or old != new:
            out[name] = [old, new]
    return out


def change_record(op: Operation) -> dict[str, Any]:
    return {"kind": op.kind, "action": op.action, "key": op.key, "changes": changed_fields(op)}


def plan_document(result: ResyncResult, *, safety_stop: str | None = None) -> dict[str, Any]:
    """The plan of ``result`` as :data:`SCHEMA` (plain JSON types only)."""
    summary = result.plan.summary()
    return {
        "schema": SCHEMA,
        "kinds": list(result.kinds),
        "summary": {
            PLURALS[kind]: {a: summary[kind][a] for a in ACTION_ORDER if a in summary[kind]}
            for kind in KIND_ORDER
            if kind in summary
        },
        "in_sources": {kind: result.desired.get(kind, 0) for kind in result.kinds},
        "in_canvas": {kind: result.current.get(kind, 0) for kind in result.kinds},
        "changes": [change_record(op) for op in result.plan.ordered()],
        "notes": list(result.plan.notes),
        "undecided": list(result.errors),
        "safety_stop": safety_stop,
    }


# ---------------------------------------------------------------------------- for a person


def summary_table(result: ResyncResult, title: str = "planned changes") -> Table:
    """Actions down, kinds across: at most 6 narrow columns, so 80 columns always suffice."""
    summary = result.plan.summary()
    kinds = [k for k in KIND_ORDER if PLURALS[k] in result.kinds]
    table = Table(
        title=f"resync {' '.join(result.kinds)}: {title}", box=box.SIMPLE_HEAD, title_justify="left"
    )
    table.add_column("", no_wrap=True)
    for kind in kinds:
        table.add_column(PLURALS[kind], justify="right", no_wrap=True)
    actions = [a for a in ACTION_ORDER if any(a in summary.get(k, {}) for k in kinds)]
    for action in actions:
        table.add_row(action, *[str(summary.get(k, {}).get(action, "")) for k in kinds])
    if not actions:
        table.add_row("no changes", *["" for _ in kinds])
    table.add_section()
    table.add_row("in sources", *[str(result.desired.get(PLURALS[k], 0)) for k in kinds])
    table.add_row("in Canvas", *[str(result.current.get(PLURALS[k], 0)) for k in kinds])
    return table


def describe_changes(record: Mapping[str, Any]) -> str:
    """A :func:`change_record`'s changes as ``name: "old" → "new", …`` (a create: new values)."""
    fields = record["changes"]
    if record["action"] == "create":
        return ", ".join(f"{name} {_value(new)}" for name, (_, new) in fields.items() if new is not None)
    return ", ".join(f"{name}: {_value(old)} → {_value(new)}" for name, (old, new) in fields.items())


def change_line(record: Mapping[str, Any], *, indent: str = "  ", with_kind: bool = False) -> Text:
    """One change on one line: action, (kind,) key, then what changes."""
    action = record["action"]
    line = Text(f"{indent}{action:<10} ", style=_STYLES.get(action, ""))
    line.append(f"{record['kind']} {record['key']}" if with_kind else record["key"])
    details = describe_changes(record)
    if details:
        line.append(f"  {details}", style="dim" if action == "create" else "")
    return line


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def print_plan(console: Console, result: ResyncResult, *, limit: int | None = DEFAULT_LIMIT) -> None:
    """The summary table, then every change (or the first ``limit`` per kind and action)."""
    console.print(summary_table(result))
    groups: dict[str, dict[str, list[Operation]]] = {}
    for op in result.plan.ordered():
        groups.setdefault(op.kind, {}).setdefault(op.action, []).append(op)
    cut = False
    for kind, by_action in groups.items():
        counts = ", ".join(f"{len(ops)} {action}" for action, ops in by_action.items())
        console.print(Text(f"{PLURALS[kind]} ({counts})", style="bold"))
        for action, ops in by_action.items():
            shown = ops if limit is None else ops[:limit]
            for op in shown:
                console.print(change_line(change_record(op)), soft_wrap=True)  # one line each, for grep
            if len(ops) > len(shown):
                cut = True
                console.print(Text(f"  … and {len(ops) - len(shown)} more {action}", style="italic"))
    if cut:
        console.print(
            Text(f"(at most {limit} per kind and action: --all lists every change, --output json too)")
        )
    for note in result.plan.notes:
        console.print(Text(f"note: {note}"))


_STYLES = {"suspend": "yellow", "conclude": "yellow", "create": "green"}
