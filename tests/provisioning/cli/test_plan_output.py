"""``resync --dry-run`` and ``sync --dry-run`` show each planned change, for a person and as JSON.

Most tests provision the tiny university, change the emulated sources
(:mod:`tests.provisioning.changed_sources`) and read the plan.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from typer.testing import CliRunner

from canvasbridge.cli.main import app
from canvasbridge.provisioning.plan_view import SCHEMA
from tests.provisioning.changed_sources import (
    LEAVING,
    LEFT_SECTIONS,
    LEFT_UNIT,
    QUARANTINED,
    RENAMED,
    provision_then_change,
)

runner = CliRunner()


def config_file(stack, tmp_path, **provisioning) -> str:
    sections = stack.sections()
    sections["provisioning"].update(provisioning)
    path = tmp_path / "canvasbridge.yaml"
    path.write_text(yaml.safe_dump(sections, allow_unicode=True), encoding="utf-8")
    return str(path)


@pytest.fixture
def changed(stack):
    return provision_then_change(stack)


ENROLMENT_CREATE = re.compile(r"create (student|teacher|ta) \S+ in U")


def lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines()]


def test_a_dry_run_lists_each_change_with_its_old_and_new_values(stack, tmp_path, changed):
    old, new = changed
    result = runner.invoke(app, ["resync", "all", "--dry-run", "--config", config_file(stack, tmp_path)])
    assert result.exit_code == 0, result.output
    out = lines(result.stdout)
    assert f'update {RENAMED} name: "{old}" → "{new}"' in out
    assert f"suspend {QUARANTINED} suspended: false → true" in out
    for section in LEFT_SECTIONS:
        assert f'conclude student {LEAVING} in {section} state: "active" → "completed"' in out
    assert "users (1 update, 1 suspend)" in out and "enrollments (2 conclude)" in out
    # phases on stderr, honestly named; nothing about writing in a dry run
    err = lines(result.stderr)
    assert any(line.startswith("reading Canvas: 19 users") for line in err), err
    assert any(line.startswith("planning: 4 changes") for line in err), err
    assert not any("writing" in line for line in result.stderr.splitlines())
    assert stack.writes() == 1  # the provisioning report only


def test_the_summary_table_fits_80_columns_with_whole_headers(stack, tmp_path, changed):
    result = runner.invoke(
        app, ["resync", "all", "--dry-run", "--config", config_file(stack, tmp_path)], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    table = result.stdout.split("users (")[0].splitlines()
    assert max(len(line) for line in table) <= 80, table
    rows = {line.split()[0]: line.split()[1:] for line in table[1:] if line.strip()}
    assert rows["accounts"] == ["users", "courses", "sections", "enrollments"]  # the header, whole
    assert rows["update"] == ["1"] and rows["suspend"] == ["1"] and rows["conclude"] == ["2"]


def test_json_output_is_one_document_with_every_change(stack, tmp_path, changed):
    old, new = changed
    path = config_file(stack, tmp_path)
    result = runner.invoke(app, ["resync", "all", "--dry-run", "--output", "json", "--config", path])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)  # nothing else on stdout: no markup, no progress
    assert document["schema"] == SCHEMA and document["safety_stop"] is None
    assert document["summary"] == {"users": {"update": 1, "suspend": 1}, "enrollments": {"conclude": 2}}
    assert document["changes"] == [
        {"kind": "user", "action": "update", "key": RENAMED, "changes": {"name": [old, new]}},
        {"kind": "user", "action": "suspend", "key": QUARANTINED, "changes": {"suspended": [False, True]}},
        *(
            {
                "kind": "enrollment",
                "action": "conclude",
                "key": f"student {LEAVING} in {section}",
                "changes": {"state": ["active", "completed"]},
            }
            for section in LEFT_SECTIONS
        ),
    ]
    assert document["in_canvas"]["enrollments"] == document["in_sources"]["enrollments"] + 2


def test_a_large_plan_lists_the_first_changes_per_group_unless_all(stack, tmp_path):
    path = config_file(stack, tmp_path)
    short = runner.invoke(app, ["resync", "all", "--dry-run", "--limit", "2", "--config", path])
    assert short.exit_code == 0, short.output
    out = lines(short.stdout)
    creates = [line for line in out if ENROLMENT_CREATE.match(line)]
    assert len(creates) == 2 and "… and 67 more create" in out
    full = runner.invoke(app, ["resync", "all", "--dry-run", "--all", "--config", path])
    everything = [line for line in lines(full.stdout) if ENROLMENT_CREATE.match(line)]
    assert len(everything) == 69 and not any(line.startswith("… and") for line in lines(full.stdout))


def test_json_output_of_a_real_run_adds_what_was_done(stack, tmp_path):
    result = runner.invoke(
        app, ["resync", "accounts", "-o", "json", "--config", config_file(stack, tmp_path)]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["summary"] == {"accounts": {"create": 4}}
    done = document["result"]
    assert (done["path"], done["done"], done["failed"], done["dead_letters"]) == ("rest", 4, [], [])
    assert stack.canvas.model.find_account_by_sis("OU_111000") is not None


def test_a_safety_stop_still_prints_the_plan_document_and_exits_1(stack, tmp_path, changed):
    path = config_file(stack, tmp_path, safety={"max_destructive": 1, "max_destructive_share": 0.01})
    result = runner.invoke(app, ["resync", "enrollments", "--output", "json", "--config", path])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert "exceed the safety limits" in document["safety_stop"]
    assert [c["action"] for c in document["changes"]] == ["conclude", "conclude"]
    assert "error:" in result.stderr and f"conclude student {LEAVING}" in result.stderr
    assert stack.writes() == 1  # nothing concluded


def test_sync_dry_run_shows_old_and_new_values_and_json_has_the_same_changes(stack, tmp_path, changed):
    old, new = changed
    path = config_file(stack, tmp_path)
    result = runner.invoke(app, ["sync", "user", RENAMED, "--dry-run", "--config", path])
    assert result.exit_code == 0, result.output
    assert f'update user {RENAMED} name: "{old}" → "{new}"' in lines(result.stdout)
    as_json = runner.invoke(
        app, ["sync", "enrollments", LEFT_UNIT, "--dry-run", "-o", "json", "--config", path]
    )
    assert as_json.exit_code == 0, as_json.output
    changes = json.loads(as_json.stdout)["changes"]
    assert {c["key"] for c in changes} == {f"student {LEAVING} in {LEFT_SECTIONS[0]}"}
    assert changes[0]["changes"] == {"state": ["active", "completed"]}


def test_errors_go_to_stderr_and_leave_stdout_empty(stack, tmp_path):
    result = runner.invoke(app, ["sync", "widget", "x", "--config", config_file(stack, tmp_path)])
    assert result.exit_code == 2 and result.stdout == ""
    assert "unknown kind 'widget'" in result.stderr
    bad = runner.invoke(app, ["resync", "all", "--output", "yaml", "--config", config_file(stack, tmp_path)])
    assert bad.exit_code == 2 and bad.stdout == "" and "--output 'yaml'" in bad.stderr
    kind = runner.invoke(app, ["resync", "widgets", "--config", config_file(stack, tmp_path)])
    assert kind.exit_code == 2 and "unknown kind(s) 'widgets'" in kind.stderr
    assert "path" not in kind.stderr  # the path is fine: only the kind is named
    path = runner.invoke(app, ["resync", "all", "--path", "fast", "--config", config_file(stack, tmp_path)])
    assert path.exit_code == 2 and "unknown --path 'fast'; choose auto, rest or bulk" in path.stderr
