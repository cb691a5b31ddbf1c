"""The demo: its configuration, the whole scenario without a terminal (checked by the end
state in the emulators), and the ``canvasbridge demo`` executable."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from canvasbridge.engine.config import parse_config
from canvasbridge.engine.ledger import CallState
from canvasbridge.errors import ConfigError
from canvasbridge_demo import DemoOptions, DemoResult, DemoStack, run_demo
from canvasbridge_demo.stack import PACKAGED_CONFIG, fill_placeholders
from canvasbridge_emulators.scenarios import TERM_START_PLANS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "demo.yaml"
PLACEHOLDERS = {
    "DATA_DIR": "/tmp/cb-demo",
    "WEBHOOK_PORT": "8099",
    "SQS_URL": "http://127.0.0.1:1",
    "SQS_QUEUE_URL": "http://127.0.0.1:1/123456789012/canvas-live-events",
    "SQS_REGION": "us-east-1",
    "CANVAS_URL": "http://127.0.0.1:2",
    "FS_URL": "http://127.0.0.1:3",
    "CEREBRUM_URL": "http://127.0.0.1:4",
    "CEREBRUM_API_KEY_HEADER": "X-API-Key",
    "SAP_URL": "http://127.0.0.1:5",
    "SALESFORCE_URL": "http://127.0.0.1:6",
    "SALESFORCE_USERNAME": "demo@example.org",
    "SALESFORCE_CONSUMER_KEY": "key",
}


@pytest.fixture
def restore_environ():
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_the_packaged_config_is_examples_demo_yaml():
    assert PACKAGED_CONFIG.read_text(encoding="utf-8") == EXAMPLE.read_text(encoding="utf-8")


def test_the_demo_config_validates_once_filled_in_and_routes_both_flows():
    import yaml

    config = parse_config(
        yaml.safe_load(fill_placeholders(EXAMPLE.read_text(encoding="utf-8"), PLACEHOLDERS))
    )
    assert {s.name: s.type for s in config.sources} == {"uio": "http", "live-events": "sqs"}
    assert {"ensure_user", "ensure_course", "ensure_enrollments", "record_live_event"} <= set(config.tasks)
    assert config.backends.embedded and config.systems["canvas"]["base_url"] == "http://127.0.0.1:2"


def test_an_unknown_placeholder_is_named():
    with pytest.raises(ConfigError, match=r"\$\{NOPE\}"):
        fill_placeholders("a: ${NOPE}\n", PLACEHOLDERS)


def check_end_state(stack: DemoStack, result: DemoResult) -> None:
    """Runs before the demo stops: the emulators hold what the scenario says."""
    from canvasbridge.engine import TaskContext
    from canvasbridge.provisioning import runtime as provisioning
    from canvasbridge.provisioning.resync import Sources, resync

    assert stack.config is not None
    facts = result.facts
    canvas = stack.suite["canvas"].model
    uni = stack.suite.university

    # Canvas is what the university says: a full dry-run resync finds nothing to change
    ctx = TaskContext(task_name="check", sections=stack.config.flow_sections())
    sources = Sources(
        canvas=provisioning.canvas(ctx),
        fs=provisioning.fs(ctx),
        cerebrum=provisioning.cerebrum(ctx),
        sap=provisioning.sap(ctx),
    )
    plan = resync(sources, provisioning.settings(ctx), ["all"], dry_run=True)
    assert plan.ok, plan.errors
    assert plan.plan.writes() == 0, [op.describe() for op in plan.plan.operations[:10]]
    assert plan.desired["users"] > 10 and plan.desired["enrollments"] > 30

    # the source changes
    student = canvas.find_user_by_sis(f"{facts['new_student']['username']}@uio.no")
    course = canvas.find_course_by_sis(facts["new_student"]["course"])
    assert any(
        e.type == "StudentEnrollment" for e in canvas.enrollments(course_id=course.id, user_id=student.id)
    )
    quarantined = facts["quarantined"]
    assert uni.is_locked(quarantined)
    assert canvas.is_suspended(canvas.find_user_by_sis(f"{quarantined}@uio.no").id)
    assert canvas.find_section_by_sis(facts["new_section"]) is not None
    teacher = canvas.find_user_by_sis(f"{facts['new_teacher']['username']}@uio.no")
    assert any(
        e.type == "TeacherEnrollment" for e in canvas.enrollments(course_id=course.id, user_id=teacher.id)
    )

    # live events in Salesforce
    salesforce = stack.suite["salesforce"].model
    activities = salesforce.records("Canvas_Activitiy__c")
    assert len(activities) == facts["live_events"]["activities"] > 0
    assert all(r["Programme_Participant__c"] for r in activities)
    assert facts["live_events"]["attended"] >= 1

    # the outage's users made it, and the dead letter's requeued call succeeded
    for username in facts["outage"]["users"]:
        assert canvas.find_user_by_sis(f"{username}@uio.no") is not None
    ledger = stack.runtime.ledger()
    dead, requeued = ledger.get(facts["dead_letter"]["id"]), ledger.get(facts["dead_letter"]["requeued_id"])
    assert dead.state == CallState.REQUEUED and requeued.state == CallState.SUCCEEDED
    assert requeued.requeued_from == dead.id and dead.requeued_to == requeued.id
    assert canvas.find_user_by_sis(f"{facts['dead_letter']['username']}@uio.no") is not None

    # the admin API is up and answers with the demo's token
    assert httpx.get(f"{stack.admin_url}/health/live", timeout=10).status_code == 200
    stats = httpx.get(
        f"{stack.admin_url}/stats", headers={"Authorization": f"Bearer {stack.admin_token}"}, timeout=10
    )
    assert stats.status_code == 200, stats.text
    result.facts["checked"] = True


def narrated_figures_reconcile(stack: DemoStack, result: DemoResult, text: str) -> None:
    """Each figure the narration prints is what the ledger and the emulators hold."""
    import re

    from canvasbridge.engine.ledger import CallFilter
    from canvasbridge_demo.narrate import Narrator
    from canvasbridge_demo.scenario import Scenario

    held = re.search(
        r"Canvas now holds (\d+) sub-accounts, (\d+) users, (\d+) courses, (\d+) sections and (\d+) enrollments",
        text,
    )
    assert held, "the initial sync's closing line is missing"
    plan = result.facts["initial_plan"]
    created = [
        plan.get(kind, {}).get("create", 0) for kind in ("account", "user", "course", "section", "enrollment")
    ]
    # Canvas was empty of our objects: what it holds after the initial sync is what was created
    assert [int(n) for n in held.groups()] == created
    written = re.search(r"written: (.*)", text)
    assert written and f"user create {created[1]}" in written.group(1)

    ledger = stack.runtime.ledger()
    outage = result.facts["outage"]
    retried = [
        c
        for c in ledger.calls(CallFilter(since=outage["since"]), limit=10_000)
        if c.state == CallState.SUCCEEDED and c.attempts > 1
    ]
    assert f"{outage['recovered']} task call(s) failed while Canvas was down" in text
    assert outage["recovered"] == len(retried) >= 1

    summary = result.summary
    calls = ledger.calls(CallFilter(since=stack.started_at), limit=10_000)
    assert summary["task_calls"] == len(calls)
    assert summary["recovered"] == sum(1 for c in calls if c.state == CallState.SUCCEEDED and c.attempts > 1)
    assert summary["recovered"] >= outage["recovered"]
    assert summary["canvas"] == Scenario(stack, Narrator(Console(file=io.StringIO()))).managed_counts()
    assert "ERROR" not in text  # the dead letter the demo provokes is narrated, not logged as an error


@pytest.mark.slow
def test_the_scenario_runs_without_a_terminal_and_leaves_the_expected_end_state(restore_environ):
    out = io.StringIO()
    started = time.monotonic()
    still_up: list[int] = []
    admin: list[str] = []

    def check(stack: DemoStack, result: DemoResult) -> None:
        check_end_state(stack, result)
        narrated_figures_reconcile(stack, result, out.getvalue())
        admin.append(stack.admin_url)

    try:
        result = run_demo(
            DemoOptions(size="small", seed=1),
            console=Console(file=out, width=120),
            burst_plan=TERM_START_PLANS["tiny"],  # a short burst keeps the test quick
            inspect=check,
            keep_running=True,
            wait=lambda: still_up.extend(
                httpx.get(f"{admin[0]}{path}", timeout=10, follow_redirects=True).status_code
                for path in ("/health/live", "/")
            ),
        )
    finally:
        print(out.getvalue())  # the narration, shown by pytest when the test fails
    assert still_up == [200, 200]  # --keep-running: still serving after the summary, dashboard included
    text = out.getvalue()
    assert result.ok, [(s.name, s.detail) for s in result.steps if not s.ok]
    assert [s.name for s in result.steps] == [
        "initial sync",
        "source changes",
        "term start",
        "live events",
        "canvas outage",
        "dead letter",
    ]
    assert result.facts.get("checked")
    assert max(result.facts["latency_s"].values()) < 30
    summary = result.summary
    assert summary["recovered"] >= 1 and summary["requeued"] == 1 and summary["dead"] == 1
    assert summary["api_calls"]["canvas"] > 100 and summary["api_calls"]["salesforce"] > 0
    assert "Summary" in text and "admin API" in text and "canvasbridge tasks requeue" in text
    assert text.count("Running") == 1  # the table of what still runs, shown with --keep-running only
    assert f"{admin[0]}/  (dashboard" in text and "/docs" not in text  # the API serves no /docs pages
    assert "GET /tasks?state=dead → 1 call(s)" in text
    # the dead letter's error, whole, down to Canvas's own message (the console wraps it)
    assert '"message": "Invalid login handle"}]}}}' in " ".join(text.split())
    assert "\x1b[" not in text  # no terminal, no escape codes
    assert time.monotonic() - started < 240


@pytest.mark.slow
def test_the_canvasbridge_demo_command_exits_0():
    executable = Path(sys.executable).with_name("canvasbridge")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CB_DEMO_")}
    done = subprocess.run(
        [str(executable), "demo", "--size", "tiny"],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "dead letter" in done.stdout and "Summary" in done.stdout
    assert "Running" not in done.stdout  # everything stopped: no table of URLs and a token for it
    assert "UserWarning" not in done.stderr + done.stdout


@pytest.mark.slow
@pytest.mark.rabbitmq
@pytest.mark.postgres
def test_the_same_scenario_runs_on_rabbitmq_and_postgresql(rabbitmq_url, postgres_url, restore_environ):
    seen: dict[str, str] = {}

    def backends(stack: DemoStack, result: DemoResult) -> None:
        assert stack.config is not None and stack.config_path is not None
        b = stack.config.backends
        seen.update(broker=str(b.broker_url), ledger=str(b.ledger_url), file=stack.config_path.read_text())
        assert stack.source_transport == "AMQP"
        assert stack.runtime.ledger().count() > 10

    result = run_demo(
        DemoOptions(size="tiny", seed=2, broker=rabbitmq_url, ledger=postgres_url),
        console=Console(file=io.StringIO(), width=120),
        inspect=backends,
    )
    assert result.ok, [(s.name, s.detail) for s in result.steps if not s.ok]
    assert seen["broker"].startswith("amqp://") and seen["ledger"].startswith("postgresql")
    assert "guest:guest" not in seen["file"]  # the password went to the environment


def test_config_check_accepts_the_filled_in_demo_config_and_validates_its_demo_section(tmp_path):
    from typer.testing import CliRunner

    from canvasbridge.cli.main import app

    text = fill_placeholders(EXAMPLE.read_text(encoding="utf-8"), PLACEHOLDERS)
    good = tmp_path / "demo.yaml"
    good.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "check", str(good)])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("outage_s: 6", "outage_s: -1"), encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "check", str(bad)])
    assert result.exit_code == 2 and "outage_s" in result.output


@pytest.mark.slow
def test_a_broker_that_cannot_be_reached_is_one_clear_line_and_exit_1(restore_environ, tmp_path):
    from typer.testing import CliRunner

    from canvasbridge.cli.main import app

    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--size",
            "tiny",
            "--broker",
            "amqp://guest:guest@127.0.0.1:1//",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1
    assert "cannot reach the Celery broker at amqp://guest@127.0.0.1:1//" in result.output
    assert "Connection refused" in result.output and "guest:guest" not in result.output
    assert "Traceback" not in result.output
