"""With ``pool: threads`` one process runs many calls; when a call kills it, the others die
with it. Their lost runs are not held against them: a run lost beside other calls is not
counted, and the call runs again alone, so a death during a run alone is the run's own.
A killing call still ends as a dead letter after its limit; the healthy ones all succeed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.config import parse_config
from canvasbridge.engine.ledger import CallState, Ledger
from canvasbridge.engine.run_gate import RunGate
from canvasbridge.engine.runtime import Runtime
from tests.engine.helpers import sample_tasks, wait_for
from tests.services import unique_name

REPO = Path(__file__).resolve().parents[2]
THREADS = 8  # as examples/uio.yaml runs
HEALTHY = 40
KILLER_MAX_ATTEMPTS = 3


class Supervisor:
    """Runs a worker process and starts a new one whenever it dies, until stopped."""

    def __init__(self, config_file: Path, log: Path) -> None:
        self.config_file = config_file
        self.log = log
        self.starts = 0
        self._stop = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Supervisor:
        self._thread.start()
        return self

    def _loop(self) -> None:
        code = (
            "from canvasbridge.engine.config import load_config;"
            "from canvasbridge.engine.runtime import Runtime;"
            f"Runtime(load_config({str(self.config_file)!r})).run_worker(concurrency={THREADS}, pool='threads')"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        while not self._stop.is_set():
            with self.log.open("a") as out:
                self._process = subprocess.Popen(
                    [sys.executable, "-c", code], env=env, stdout=out, stderr=out
                )
                self.starts += 1
                self._process.wait()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self._thread.join(timeout=30)


def test_a_run_lost_beside_others_is_not_counted_and_the_call_runs_alone_next(tmp_path: Path) -> None:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    (call,) = ledger.record([TaskCall("t", {})])
    first = ledger.claim(call.id, max_attempts=2, shares_process=True)
    assert (first.attempt, first.alone) == (1, False)
    # its process died beside other calls, twice (claimed again, never started)
    assert ledger.claim(call.id, max_attempts=2, shares_process=True).alone
    again = ledger.claim(call.id, max_attempts=2, shares_process=True)
    assert (again.proceed, again.attempt, again.alone) == (True, 1, True)
    assert ledger.get(call.id).attempts == 1
    # it ran alone and the process died: that counts, and it runs alone again
    ledger.mark_alone(call.id, again.attempt)
    second = ledger.claim(call.id, max_attempts=2, shares_process=True)
    assert (second.attempt, second.alone) == (2, True)
    ledger.mark_alone(call.id, second.attempt)
    third = ledger.claim(call.id, max_attempts=2, shares_process=True)
    assert not third.proceed and "exceed the limit of 2" in third.reason
    assert ledger.get(call.id).state is CallState.DEAD
    assert [(a.number, a.outcome) for a in ledger.attempts(call.id)] == [
        (1, "alone"),
        (1, "lost"),
        (2, "alone"),
        (2, "lost"),
        (3, "lost"),
    ]


def test_a_retry_after_a_failed_attempt_runs_as_usual_in_a_shared_process(tmp_path: Path) -> None:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    (call,) = ledger.record([TaskCall("t", {})])
    ledger.claim(call.id, max_attempts=3, shares_process=True)
    ledger.fail_attempt(call.id, attempt=1, error="boom", traceback=None, retry_in=0.1)
    retry = ledger.claim(call.id, max_attempts=3, shares_process=True)
    assert (retry.attempt, retry.alone) == (2, False)


def test_the_gate_lets_shared_runs_go_together_and_a_run_alone_wait_for_them() -> None:
    gate = RunGate()
    events: list[str] = []
    shared_started = threading.Event()
    release_shared = threading.Event()

    def shared() -> None:
        with gate.shared():
            events.append("shared start")
            shared_started.set()
            release_shared.wait(5)
            events.append("shared end")

    def alone() -> None:
        with gate.alone():
            events.append("alone")

    def late() -> None:
        with gate.shared():
            events.append("late shared")

    threads = [threading.Thread(target=shared)]
    threads[0].start()
    assert shared_started.wait(5)
    threads.append(threading.Thread(target=alone))
    threads[1].start()
    time.sleep(0.2)  # the run alone is waiting now; a new shared run queues behind it
    threads.append(threading.Thread(target=late))
    threads[2].start()
    time.sleep(0.2)
    assert events == ["shared start"]
    release_shared.set()
    for thread in threads:
        thread.join(5)
    assert events == ["shared start", "shared end", "alone", "late shared"]


@pytest.mark.rabbitmq
@pytest.mark.postgres
@pytest.mark.slow
def test_under_threads_a_killing_call_ends_dead_and_the_calls_beside_it_all_succeed(
    rabbitmq_url: str, postgres_url: str, tmp_path: Path
) -> None:
    tasks = sample_tasks()
    tasks["kill_worker"]["retry"]["max_attempts"] = KILLER_MAX_ATTEMPTS
    document = {
        "backends": {"broker_url": rabbitmq_url, "ledger_url": postgres_url, "queue": unique_name("cb-lost")},
        "worker": {"pool": "threads", "concurrency": THREADS},
        "log": {"level": "WARNING"},
        "tasks": tasks,
    }
    config_file = tmp_path / "canvasbridge.yaml"
    config_file.write_text(yaml.safe_dump(document))
    runtime = Runtime(parse_config(document))
    effects = str(tmp_path / "effects")
    # the killer first, so that every restart hands it out with the first healthy calls
    (killer,) = runtime.enqueue(
        [TaskCall("kill_worker", {"key": "killer", "effects_dir": effects, "times": -1})]
    )
    healthy = runtime.enqueue(
        [TaskCall("hold", {"key": f"h{i}", "effects_dir": effects, "seconds": 2.0}) for i in range(HEALTHY)]
    )
    ledger = Ledger.open(postgres_url)

    def finished() -> bool:
        states = [ledger.get(call.id).state for call in [killer, *healthy]]
        return all(state in (CallState.SUCCEEDED, CallState.DEAD) for state in states)

    with Supervisor(config_file, tmp_path / "worker.log") as supervisor:
        wait_for(finished, timeout=240, interval=0.5, what="every call to finish")
    outcomes = {call.id: ledger.get(call.id) for call in healthy}
    dead_healthy = [
        (r.params["key"], r.attempts, r.last_error)
        for r in outcomes.values()
        if r.state is not CallState.SUCCEEDED
    ]
    assert dead_healthy == []
    counted = {
        r.params["key"]: [(a.number, a.outcome) for a in ledger.attempts(r.id)]
        for r in outcomes.values()
        if r.attempts != 1
    }
    assert counted == {}  # lost beside the killer: not counted
    dead = ledger.get(killer.id)
    assert dead.state is CallState.DEAD and "did its worker die" in (dead.last_error or "")
    assert dead.attempts == KILLER_MAX_ATTEMPTS + 1  # the claim after the last allowed run gives up
    # its first run died beside others and was not counted; then it ran alone, each death its own
    runs = int((Path(effects) / "killer.count").read_text())
    assert runs == KILLER_MAX_ATTEMPTS + 1
    assert supervisor.starts == runs + 1
