"""Every benchmark in bench/ still runs: its smoke size, end to end, with no failed call.

These never judge speed (figures on a shared CI machine mean nothing); they fail when a
benchmark crashes, stalls, or reports a failed call, so none can rot unnoticed.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import require_service

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = sorted(p.stem for p in (ROOT / "bench").glob("*.py") if "def main(" in p.read_text())

pytestmark = pytest.mark.slow


def run(name: str, *options: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--smoke", *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, (
        f"bench.{name} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done


def needs_rabbitmq_and_postgres() -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    require_service("PostgreSQL", "127.0.0.1", 5432)


def test_every_benchmark_has_a_smoke_run_in_ci():
    here = {"backfill", "burst", "emulators", "engine", "live_events", "provisioning"}
    ci_steps = {name for name in BENCHMARKS if f"bench.{name} --smoke" in (ROOT / ".ci" / "run").read_text()}
    assert ci_steps == {"soak"}  # 45 s: a step of its own after the tests
    assert set(BENCHMARKS) == here | ci_steps


def test_backfill():
    out = run("backfill").stdout
    rows = [
        line.split("|")[1:-1]
        for line in out.splitlines()
        if line.startswith("| first") or line.startswith("| again")
    ]
    first, again = ([cell.strip() for cell in row] for row in rows)
    assert int(first[2]) > 0 and first[5] == "0"  # records written, none failed
    assert again[2] == "0" and again[3] == first[2]  # the second run finds them all present


def test_emulators():
    out = run("emulators").stdout
    assert "| failed requests | 0 |" in out


def test_engine():
    needs_rabbitmq_and_postgres()
    out = run("engine").stdout
    assert out.count("ratio") == 2  # both topologies ran to the end


def test_provisioning():
    out = run("provisioning").stdout
    assert "failed: 0" in out
    assert out.count("full resync after") == 2


def test_burst():
    needs_rabbitmq_and_postgres()
    out = run("burst").stdout
    assert "same state: yes" in out and "failed: 0" in out
    rows = {line.split("|")[1].strip(): line.split("|") for line in out.splitlines() if line.startswith("| ")}
    sis_imports = 7  # the column of the table
    assert int(rows["per object"][sis_imports]) == 0
    assert int(rows["bulk (threshold 10)"][sis_imports]) >= 1


@pytest.mark.parametrize("backends", ["embedded", "production"])
def test_live_events(backends):
    options = ["--json"]
    if backends == "production":
        needs_rabbitmq_and_postgres()
        options.append("--production")
    results = {
        r["run"].split(",")[0]: r for r in json.loads(run("live_events", *options).stdout.splitlines()[-1])
    }
    engines = {"engine (batch)", "engine (per-event)"}
    assert set(results) == {"lambda (no SQS)", *engines, "lambda + SQS (moto)", "baseline (per-event calls)"}
    assert all(r["failed"] == 0 for r in results.values())
    # the engine path writes what the Lambda path writes for the same events, with either task
    for engine in engines:
        assert results[engine]["events"] == results["lambda (no SQS)"]["events"]
        assert results[engine]["written"] == results["lambda (no SQS)"]["written"] > 0
    assert results["engine (batch)"]["calls"] < results["engine (per-event)"]["calls"]


def test_live_events_leaves_out_a_run_of_zero_events():
    out = run("live_events", "--engine-events", "0", "--sqs-events", "0", "--json").stdout
    runs = [r["run"] for r in json.loads(out.splitlines()[-1])]
    assert runs == ["lambda (no SQS)", "baseline (per-event calls)"]
