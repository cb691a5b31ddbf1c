"""``canvasbridge sync`` and ``canvasbridge resync`` against the emulators."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from canvasbridge.cli.main import app

runner = CliRunner()


def config_file(stack, tmp_path, **provisioning):
    sections = stack.sections()
    sections["provisioning"].update(provisioning)
    path = tmp_path / "canvasbridge.yaml"
    path.write_text(yaml.safe_dump(sections, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_sync_dry_run_prints_the_planned_calls_and_writes_nothing(stack, tmp_path):
    result = runner.invoke(
        app, ["sync", "user", "geirm", "--dry-run", "--config", config_file(stack, tmp_path)]
    )
    assert result.exit_code == 0, result.output
    created = [" ".join(line.split()) for line in result.stdout.splitlines() if "create" in line]
    assert created == ['create user geirm name "Geir Myhre", email "geirm@uni.example.org", login_id "geirm"']
    assert stack.writes() == 0


def test_sync_writes_one_object(stack, tmp_path):
    result = runner.invoke(app, ["sync", "person", "10015", "--config", config_file(stack, tmp_path)])
    assert result.exit_code == 0, result.output
    assert stack.canvas.model.find_user_by_sis("geirm") is not None


def test_resync_dry_run_prints_a_summary_table(stack, tmp_path):
    result = runner.invoke(app, ["resync", "all", "--dry-run", "--config", config_file(stack, tmp_path)])
    assert result.exit_code == 0, result.output
    assert "enrollments" in result.output and "create" in result.output
    assert stack.writes() == 1  # the provisioning report only
    # the stack's users.sis_user_id is the bare default, which claims every SIS user
    assert "warning: provisioning.users.sis_user_id: '{username}' has no fixed text" in " ".join(
        result.output.split()
    )


def test_resync_writes_and_reports(stack, tmp_path):
    result = runner.invoke(app, ["resync", "accounts", "users", "--config", config_file(stack, tmp_path)])
    assert result.exit_code == 0, result.output
    assert "path: rest" in result.output and "failed: 0" in result.output
    assert stack.canvas.model.find_account_by_sis("OU_111000") is not None


def test_resync_stopped_by_the_safety_limit_exits_1(stack, tmp_path):
    m = stack.canvas.model
    for i in range(5):
        m.add_user(f"Gone {i}", unique_id=f"gone{i}", sis_user_id=f"gone{i}")
    path = config_file(stack, tmp_path, safety={"max_destructive": 1, "max_destructive_share": 0.01})
    result = runner.invoke(app, ["resync", "users", "--config", path])
    assert result.exit_code == 1
    assert "safety limits" in result.output
    assert not any(m.is_suspended(m.find_user_by_sis(f"gone{i}").id) for i in range(5))


def test_usage_and_config_errors_exit_2(stack, tmp_path):
    assert (
        runner.invoke(app, ["sync", "widget", "x", "--config", config_file(stack, tmp_path)]).exit_code == 2
    )
    assert (
        runner.invoke(app, ["resync", "everything", "--config", config_file(stack, tmp_path)]).exit_code == 2
    )
    bad = config_file(stack, tmp_path, courses={"course_name": "{nope}"})
    result = runner.invoke(app, ["sync", "course", "185,INF1001,1,2026,HØST,1", "--config", bad])
    assert result.exit_code == 2 and "nope" in result.output
