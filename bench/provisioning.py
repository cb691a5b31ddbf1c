"""Provisioning: Canvas calls and wall time per scenario, counted by the Canvas emulator.

Scenarios (each on fresh emulators over the same synthetic university):

* ``user``: one user renamed in Canvas behind the service's back → ``ensure_user`` (calls
  must be ≤ 2), then the same user unchanged (writes must be 0), then the user's logins
  suspended behind its back (the User JSON cannot show that: 2 reads + 1 write).
* ``rest``: the initial full sync by the REST path, then a no-op full resync (writes must
  be 0: only the provisioning report's request).
* ``bulk``: the initial full sync by the bulk path (provisioning report + one SIS import;
  goal ≤ 10 Canvas calls in total), then a no-op full resync.

Canvas, FS, Cerebrum and SAP each run in a process of their own (the sources over the same
deterministic university), as they are deployed, so no emulator shares an interpreter lock or
a garbage collector with the service; the Canvas emulator's request counters are read through
its control surface. Each full
sync's note splits its wall time: Canvas read (the provisioning report) and sources read (FS,
Cerebrum and SAP in parallel), which run at the same time and are timed from the same start,
then plan and Canvas write; then the calls made to each source system
and the CPU seconds each process spent (``service``: the benchmark's own process, which is
the service; ``users process``: the process in which the resync decides the users; then the
Canvas emulator and each source emulator; from ``/proc``, so Linux only).
Wall times include the emulators' work, and the machine's two cores are shared by
everything: on a loaded machine compare the CPU seconds.

    .venv/bin/python -m bench.provisioning [--size small] [--scenarios user,rest,bulk] [--smoke]
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import os
import platform
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from canvasbridge.engine import TaskContext
from canvasbridge.flowkit import call_stats
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.resync import resync, sources_for
from canvasbridge.provisioning.tasks.users import ensure_user
from canvasbridge_emulators.canvas.app import DEFAULT_TOKEN, CanvasEmulator
from canvasbridge_emulators.canvas.app import create_app as create_canvas
from canvasbridge_emulators.cerebrum import create_app as create_cerebrum
from canvasbridge_emulators.common import ServerThread
from canvasbridge_emulators.fs import create_app as create_fs
from canvasbridge_emulators.sap import create_app as create_sap
from canvasbridge_emulators.university import University


@dataclass
class Row:
    scenario: str
    calls: int
    writes: int
    seconds: float
    note: str = ""
    failed: int = 0  # objects the sync could not bring in line
    usage: str = ""  # calls per source system, CPU seconds per process


SOURCE_APPS = {"fs": create_fs, "cerebrum": create_cerebrum, "sap": create_sap}
SOURCE_SECRETS = {
    "fs": {"password": "fs-secret"},
    "cerebrum": {"api_key": "cerebrum-key"},
    "sap": {"api_key": "sap-key"},
}


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from ``/proc/<pid>/stat``."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve_canvas(ports: Any) -> None:
    """Child process: the Canvas emulator, empty (a reset brings it back to that)."""
    # Its model is long-lived data that never forms garbage cycles: full collections over it
    # (nine during a university import, about 1 s of its 4-6 s) are pure overhead here.
    gc.set_threshold(700, 10, 1000)
    server = ServerThread(create_canvas().app).start()
    ports.put(("canvas", server.url))
    while True:
        time.sleep(3600)


def _serve_source(system: str, size: str, ports: Any) -> None:
    """Child process: one source emulator (FS, Cerebrum or SAP) over ``University.generate(size, 1)``."""
    university = University.generate(size, seed=1)
    app, _, _, _ = SOURCE_APPS[system](university, **SOURCE_SECRETS[system])
    server = ServerThread(app).start()
    ports.put((system, server.url))
    while True:
        time.sleep(3600)


class Bench:
    """The emulators and the service's settings. ``canvas_apart=False`` runs the Canvas
    emulator in this process instead, as ``emulator``, for benchmarks that read its model."""

    def __init__(self, size: str, *, canvas_apart: bool = True) -> None:
        os.environ.setdefault("CB_BENCH_CANVAS", DEFAULT_TOKEN)
        os.environ.setdefault("CB_BENCH_FS", "fs-secret")
        os.environ.setdefault("CB_BENCH_CEREBRUM", "cerebrum-key")
        os.environ.setdefault("CB_BENCH_SAP", "sap-key")
        started = time.monotonic()
        self.university = University.generate(size, seed=1)
        self.generate_s = time.monotonic() - started
        ports: Any = mp.Queue()
        # one process per system, as they are deployed: none shares an interpreter lock
        self.emulator: CanvasEmulator | None = None
        self.servers: list[ServerThread] = []
        self.canvas_process: mp.Process | None = None
        if canvas_apart:
            self.canvas_process = mp.Process(target=_serve_canvas, args=(ports,), daemon=True)
        else:
            self.emulator = create_canvas()
            self.servers.append(ServerThread(self.emulator.app).start())
            ports.put(("canvas", self.servers[0].url))
        self.sources = [
            mp.Process(target=_serve_source, args=(system, size, ports), daemon=True)
            for system in SOURCE_APPS
        ]
        self.children = [p for p in (self.canvas_process, *self.sources) if p is not None]
        for process in self.children:
            process.start()
        urls = dict(ports.get(timeout=300) for _ in range(1 + len(self.sources)))
        fs_url, cerebrum_url, sap_url = urls["fs"], urls["cerebrum"], urls["sap"]
        canvas_url = urls["canvas"]
        self.canvas = httpx.Client(
            base_url=canvas_url, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}, timeout=600
        )
        self.sections = {
            "systems": {
                "canvas": {
                    "base_url": canvas_url,
                    "token": {"env": "CB_BENCH_CANVAS"},
                    "account_id": 1,
                    "poll_s": 0.05,
                },
                "fs": {
                    "base_url": fs_url + "/",
                    "username": "fs",
                    "password": {"env": "CB_BENCH_FS"},
                    "page_size": 1000,
                },
                "cerebrum": {"base_url": cerebrum_url + "/v1/", "api_key": {"env": "CB_BENCH_CEREBRUM"}},
                "sap": {"base_url": sap_url + "/", "api_key": {"env": "CB_BENCH_SAP"}},
            },
            "provisioning": {"root_account": "1", "bulk": {"poll_interval_s": 1.0}},
        }
        self.resources: dict[str, Any] = {}

    def ctx(self) -> TaskContext:
        return TaskContext(task_name="bench", sections=self.sections, resources=self.resources)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far: this process (the service), the service's ended child processes
        (the resync's users process), then the Canvas emulator's and each source's."""
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = {"service": time.process_time(), "users process": children.ru_utime + children.ru_stime}
        if self.canvas_process is not None and self.canvas_process.pid is not None:
            cpu["canvas"] = _cpu_s(self.canvas_process.pid)
        for system, process in zip(SOURCE_APPS, self.sources, strict=True):
            cpu[system] = _cpu_s(process.pid) if process.pid is not None else 0.0
        return cpu

    def counted(self, name: str, work: Callable[[], Any], note: str = "") -> tuple[Row, Any]:
        time.sleep(0.05)  # the emulator counts a request after answering it: let the last land
        self.canvas.delete("/_emulator/stats").raise_for_status()
        calls_before = dict(call_stats(self.ctx()).by_system)
        cpu_before = self.cpu()
        started = time.monotonic()
        result = work()
        seconds = time.monotonic() - started
        cpu = {k: v - cpu_before[k] for k, v in self.cpu().items()}
        calls = {k: v - calls_before.get(k, 0) for k, v in call_stats(self.ctx()).by_system.items()}
        time.sleep(0.05)
        stats = self.canvas.get("/_emulator/stats").json()
        writes = sum(
            sum(by_status.values())
            for route, by_status in stats["requests"].items()
            if route.split(" ", 1)[0] in ("POST", "PUT", "DELETE")
        )
        row = Row(name, stats["total"], writes, seconds, note)
        row.usage = "calls " + ", ".join(f"{k} {v}" for k, v in sorted(calls.items()) if v and k != "canvas")
        row.usage += "; CPU s " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
        return row, result

    def full(self, **options: Any) -> Any:
        ctx = self.ctx()
        return resync(sources_for(ctx), runtime.settings(ctx), ("all",), force=True, **options)

    def reset_canvas(self) -> None:
        self.canvas.post("/_emulator/reset").raise_for_status()
        self.resources.clear()

    def close(self) -> None:
        self.canvas.close()
        for server in self.servers:
            server.stop()
        for process in self.children:
            process.terminate()
            process.join(timeout=10)


def scenario_user(bench: Bench) -> list[Row]:
    person = next(
        p
        for p in bench.university.persons.values()
        if p.primary_account and not bench.university.is_locked(p.primary_account)
    )
    name = person.primary_account
    ensure_user(bench.ctx(), username=name)
    user = f"/api/v1/users/sis_user_id:{name}"
    bench.canvas.put(user, data={"user[name]": "Changed Behind Our Back"}).raise_for_status()
    changed, _ = bench.counted(
        "changed user (ensure_user)", lambda: ensure_user(bench.ctx(), username=name), "goal: calls <= 2"
    )
    same, _ = bench.counted(
        "unchanged user (ensure_user)", lambda: ensure_user(bench.ctx(), username=name), "goal: writes = 0"
    )
    bench.canvas.put(user, data={"user[event]": "suspend"}).raise_for_status()
    suspended, _ = bench.counted(
        "suspended by hand (ensure_user)",
        lambda: ensure_user(bench.ctx(), username=name),
        "only the logins show it: 2 reads + 1 write",
    )
    return [changed, same, suspended]


def scenario_full(bench: Bench, path: str) -> list[Row]:
    bench.reset_canvas()
    initial, result = bench.counted(f"initial full sync ({path})", lambda: bench.full(path=path))
    summary = result.plan.summary()
    initial.failed = len(result.failures)
    initial.note = f"{result.plan.writes()} planned, {len(result.failures)} failed; " + ", ".join(
        f"{k} {sum(v.values())}" for k, v in summary.items()
    )
    initial.note += "; " + _timings(result)
    if path == "bulk":
        initial.note += "; goal: calls <= 10"
    noop, again = bench.counted(
        f"no-op full resync after {path}", lambda: bench.full(), "goal: writes = 0 (1 = the report)"
    )
    noop.failed = len(again.failures)
    noop.note = f"{again.plan.writes()} planned; {_timings(again)}; " + noop.note
    return [initial, noop]


def _timings(result: Any) -> str:
    names = {
        "read_canvas_s": "Canvas read",
        "read_sources_s": "sources read",
        "plan_s": "plan",
        "write_s": "Canvas write",
    }
    return ", ".join(f"{names.get(k, k)} {v:.1f}s" for k, v in result.timings.items())


# --smoke: a few seconds, to show the benchmark still runs end to end (CI runs it)
SMOKE = {"size": "tiny", "scenarios": "user,rest,bulk"}
SCENARIOS = ("user", "rest", "bulk")


def main(argv: list[str] | None = None) -> int:
    """Prints the table; exit status 1 when any object failed to sync."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="small", choices=["tiny", "small", "university"])
    parser.add_argument("--scenarios", default="user,rest,bulk")
    parser.add_argument("--smoke", action="store_true", help=f"smoke sizes (seconds; CI runs it): {SMOKE}")
    args = parser.parse_args(argv)
    if args.smoke:  # smoke sizes as defaults: options given still win
        parser.set_defaults(**SMOKE)
        args = parser.parse_args(argv)
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {list(SCENARIOS)}")
    bench = Bench(args.size)
    rows: list[Row] = []
    try:
        for scenario in args.scenarios.split(","):
            if scenario == "user":
                rows += scenario_user(bench)
            elif scenario in ("rest", "bulk"):
                rows += scenario_full(bench, scenario)
    finally:
        bench.close()
    summary = bench.university.summary()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(
        f"university '{args.size}': {summary['persons']} persons, {summary['undervisning']} units, "
        f"{summary['aktiviteter']} activities, {summary['student_undervisning']} unit enrolments (built in {bench.generate_s:.1f}s)"
    )
    print(f"| {'scenario':<34} | {'Canvas calls':>12} | {'writes':>7} | {'wall s':>8} | note")
    print(f"|{'-' * 36}|{'-' * 14}|{'-' * 9}|{'-' * 10}|------")
    for row in rows:
        note = "; ".join(n for n in (row.note, row.usage) if n)
        print(f"| {row.scenario:<34} | {row.calls:>12} | {row.writes:>7} | {row.seconds:>8.2f} | {note}")
    failed = sum(row.failed for row in rows)
    print(f"failed: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
