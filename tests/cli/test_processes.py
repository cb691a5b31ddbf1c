"""The installed ``canvasbridge`` executable as a subprocess: exit codes, clean stops on SIGTERM.

Each start of the executable costs a few seconds on a busy machine (Celery and the flows
are imported), so the longer ones are marked slow; they still run in the normal suite.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from canvasbridge.engine.config import load_config
from canvasbridge.engine.ledger import CallState, Ledger
from tests.cli.conftest import EXECUTABLE, REPO, child_env, run
from tests.engine.api import seeding
from tests.engine.helpers import wait_for, wait_state


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(EXECUTABLE), *args],
        cwd=REPO,
        env=child_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen[str], timeout: float = 20) -> tuple[int, str]:
    """SIGTERM, then the exit code and everything the process printed (stdout and stderr)."""
    process.send_signal(signal.SIGTERM)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        raise AssertionError(f"did not stop within {timeout}s after SIGTERM:\n{stderr}") from None
    return process.returncode, stdout + stderr


@pytest.mark.slow
def test_exit_codes_of_the_executable(config_file: Path, ledger: Ledger, tmp_path: Path) -> None:
    assert run("config", "check", str(config_file)).returncode == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text("routes: [{name: r, source: nowhere, parser: 'a:b'}]\n")
    invalid = run("config", "check", str(broken))
    assert invalid.returncode == 2
    assert "routes.0.source: unknown source 'nowhere'" in invalid.stderr and "Traceback" not in invalid.stderr
    assert run("tasks", "show", "12345", env={"CANVASBRIDGE_CONFIG": str(config_file)}).returncode == 1
    assert run("tasks", "frobnicate").returncode == 2
    listed = run("tasks", "list", "--json", env={"CANVASBRIDGE_CONFIG": str(config_file)})
    assert listed.returncode == 0 and json.loads(listed.stdout)["total"] == 0


@pytest.mark.slow
def test_consume_replays_into_the_ledger_and_stops_cleanly_on_sigterm(
    config_file: Path, tmp_path: Path
) -> None:
    document_ = yaml.safe_load(config_file.read_text())
    document_["sources"][0].update(follow=True, poll_interval_s=0.1)
    config_file.write_text(yaml.safe_dump(document_))
    (tmp_path / "in.jsonl").write_text(
        json.dumps(
            {"body": {"task": "record", "params": {"key": "k1", "effects_dir": "x"}}, "routing_key": "task.a"}
        )
        + "\n"
        + json.dumps({"body": "no route for me", "routing_key": "other"})
        + "\n"
    )
    process = start("consume", "--config", str(config_file), "--source", "replay")
    try:
        ledger = Ledger.open(load_config(config_file).backends.resolved_ledger_url())
        wait_for(
            lambda: ledger.count() == 1 and len(ledger.parked()) == 1, timeout=30, what="the replayed lines"
        )
    finally:
        code, stderr = stop(process)
    assert code == 0, stderr
    assert ledger.calls()[0].params == {"key": "k1", "effects_dir": "x"}


def test_consume_refuses_an_unknown_source(config_file: Path) -> None:
    result = run("consume", "-c", str(config_file), "--source", "nope")
    assert result.returncode == 2
    assert "--source: unknown source(s) ['nope'] (configured: ['replay'])" in result.stderr


@pytest.mark.slow
def test_worker_runs_queued_calls_and_stops_on_sigterm(
    config_file: Path, ledger: Ledger, tmp_path: Path
) -> None:
    from canvasbridge.engine import TaskCall
    from canvasbridge.engine.runtime import Runtime

    runtime = Runtime(load_config(config_file))
    [call] = runtime.enqueue([TaskCall("record", {"key": "w1", "effects_dir": str(tmp_path / "fx")})])
    process = start("worker", "--config", str(config_file), "-c", "1", "--pool", "solo")
    try:
        assert (
            wait_state(ledger, call.id, CallState.SUCCEEDED, CallState.DEAD, timeout=60)
            is CallState.SUCCEEDED
        )
    finally:
        code, stderr = stop(process, timeout=30)
    assert code == 0, stderr
    assert (tmp_path / "fx" / "effects.log").read_text() == "w1\n"
    # no Celery banner advising '-E', an option canvasbridge's worker does not have
    assert "-E" not in stderr


def test_worker_refuses_an_unknown_pool(config_file: Path) -> None:
    result = run("worker", "--config", str(config_file), "--pool", "gevent")
    assert result.returncode == 2
    assert "--pool" in result.stderr


@pytest.mark.slow
def test_api_serves_on_the_given_port_and_stops_on_sigterm(config_file: Path, ledger: Ledger) -> None:
    port = free_port()
    token = "cli-test-operator-token-123"
    dead = seeding.dead(ledger, "record", key="a", effects_dir="x")
    process = start("api", "-c", str(config_file), "--port", str(port), env={"CB_CLI_TEST_TOKEN": token})
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/health/live", timeout=1).status_code == 200
        except httpx.TransportError:
            return process.poll() is not None  # stop waiting if it died

    try:
        wait_for(up, timeout=30, what="the API to answer")
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert httpx.get(f"{base}/tasks").status_code == 401
        shown = httpx.get(f"{base}/tasks/{dead}", headers={"Authorization": f"Bearer {token}"})
        assert shown.status_code == 200 and shown.json()["state"] == "dead"
    finally:
        code, stderr = stop(process)
    assert code == 0, stderr
    assert token not in stderr


def test_api_exits_2_when_a_token_secret_is_missing(config_file: Path) -> None:
    result = run("api", "-c", str(config_file), "--port", str(free_port()))
    assert result.returncode == 2
    assert "admin.tokens.0.token: environment variable CB_CLI_TEST_TOKEN is not set" in result.stderr


def test_help_lists_the_engine_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("consume", "worker", "api", "tasks", "routes", "config"):
        assert command in result.stdout
