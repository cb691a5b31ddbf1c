"""Counters in files (``metrics_files``): processes that died, cleanly or by SIGKILL, are
counted once, their files folded into the archive; a broken or foreign file breaks nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from canvasbridge.engine import metrics_files

ROOT = Path(__file__).resolve().parents[2]

# A process as the ``canvasbridge`` command makes it: files first, then the engine's metrics.
COUNTING = """
import os, signal, sys
from canvasbridge.engine import metrics_files
metrics_files.enable()
from canvasbridge.engine import metrics
for _ in range(int(sys.argv[1])):
    metrics.TASKS_SUCCEEDED.labels("t").inc()
    metrics.TASK_DURATION.labels("t").observe(0.2)
metrics.TASK_LAST_SUCCESS.labels("t").set(float(sys.argv[2]))
metrics.RATE_LIMIT_REMAINING.labels("canvas").set(float(sys.argv[3]))
if sys.argv[4] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _count(directory: Path, successes: int, last: float, remaining: float, *, end: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env[metrics_files.ENV] = str(directory)
    process = subprocess.Popen(
        [sys.executable, "-c", COUNTING, str(successes), str(last), str(remaining), end],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, errors = process.communicate(timeout=60)  # reaped: a zombie would still look alive
    assert process.returncode == (-signal.SIGKILL if end == "kill" else 0), errors
    return process.pid


def _values(directory: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for metric in metrics_files.collect(directory)
        for sample in metric.samples
    }


def _owners(directory: Path) -> set[str]:
    return {path.stem.rpartition("_")[2] for path in directory.glob("*.db")}


SUCCEEDED = ("canvasbridge_tasks_succeeded_total", (("task", "t"),))
DURATIONS = ("canvasbridge_task_duration_seconds_count", (("task", "t"),))
LAST = ("canvasbridge_task_last_success_timestamp_seconds", (("task", "t"),))
REMAINING = ("canvasbridge_rate_limit_remaining", (("system", "canvas"),))


def test_a_killed_process_is_counted_once_and_its_files_folded(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    killed = _count(directory, 3, last=2000.0, remaining=100.0, end="kill")
    # SIGKILL: no exit handler ran, its files are still there under its own name
    assert any(f"-{killed}-" in owner for owner in _owners(directory))

    first = _values(directory)  # the collector sees it dead: folded, then read
    assert (first[SUCCEEDED], first[DURATIONS], first[LAST], first[REMAINING]) == (3, 3, 2000.0, 100.0)
    assert _owners(directory) == {"archive"}
    assert _values(directory) == first  # read again: not counted twice

    _count(directory, 2, last=1000.0, remaining=40.0, end="exit")  # exits cleanly: folds itself
    assert _owners(directory) == {"archive"}
    after = _values(directory)
    # counters add up; the last success is the latest; the remaining allowance the most recent
    assert (after[SUCCEEDED], after[DURATIONS], after[LAST], after[REMAINING]) == (5, 5, 2000.0, 40.0)


def test_an_empty_or_foreign_file_breaks_no_scrape(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    _count(directory, 2, last=1.0, remaining=1.0, end="exit")
    # a process killed while creating its file leaves it empty; another host's live process
    # (a container on a shared volume) or a plain PROMETHEUS_MULTIPROC_DIR process is not ours
    finished = subprocess.Popen(["true"])
    finished.wait()
    (directory / f"counter_{metrics_files.identifier(pid=finished.pid)}.db").touch()
    (directory / "counter_elsewhere-7-abcdef.db").touch()
    (directory / "histogram_12345.db").touch()
    assert _values(directory)[SUCCEEDED] == 2
    # the empty file of a dead process of this host went; the others stay (not known dead)
    assert _owners(directory) == {"archive", "elsewhere-7-abcdef", "12345"}


def test_a_directory_of_another_user_is_refused_by_default(tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir()
    (runtime / "canvasbridge-metrics").symlink_to(tmp_path)  # planted: not a directory of ours
    env = {k: v for k, v in os.environ.items() if k not in (metrics_files.ENV, "PROMETHEUS_MULTIPROC_DIR")}
    env["XDG_RUNTIME_DIR"] = str(runtime)
    result = subprocess.run(
        [str(Path(sys.executable).with_name("canvasbridge")), "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"configuration error: metrics directory {runtime / 'canvasbridge-metrics'}: not a directory of "
        f"this user; set {metrics_files.ENV} to one that is"
    )


def test_a_default_directory_that_cannot_be_made_says_which_variable_chooses_another(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in (metrics_files.ENV, "PROMETHEUS_MULTIPROC_DIR")}
    env["XDG_RUNTIME_DIR"] = str(not_a_directory)
    result = subprocess.run(
        [str(Path(sys.executable).with_name("canvasbridge")), "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr.strip()) == (
        2,
        f"configuration error: metrics directory {not_a_directory / 'canvasbridge-metrics'} (the default; "
        f"{metrics_files.ENV} chooses another): Not a directory",
    )
