"""How fast the emulators are, so they never limit another benchmark.

Runs the Canvas emulator in its own process (uvicorn, as ``canvasbridge emulate`` would),
hammers ``GET /api/v1/users/:id`` with httpx keep-alive clients for a few seconds and
prints requests per second. The load generator is Python too, so on a small machine it
can be the bottleneck: the clients run in several processes (each with a few threads),
and the table also shows the server's own CPU time per request and the rate that
implies for one core (server capacity). Then it times the synthetic university build of
each size and loading a university-sized population into the Canvas model.

    .venv/bin/python -m bench.emulators [--seconds 4] [--procs 2] [--threads 2] [--smoke]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import socket
import subprocess
import sys
import time
from typing import Any

import httpx

USERS = 1000  # users seeded into the emulator; requests cycle over them
TOKEN = "bench-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SERVER_CODE = f"""
import sys, uvicorn
from canvasbridge_emulators.canvas import create_app
emu = create_app(tokens={{"{TOKEN}": None}})
for i in range({USERS}):
    emu.model.add_user(f"User {{i}}", unique_id=f"user{{i}}", sis_user_id=f"S{{i}}", email=f"u{{i}}@example.edu")
uvicorn.run(emu.app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, lifespan="off")
"""


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def _client(url: str, seconds: float, threads: int, start_at: float, out: Any) -> None:
    import threading

    counts: list[tuple[int, int]] = []  # (requests, failed) per thread

    def hammer() -> None:
        n = failed = 0
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            while time.time() < start_at:
                time.sleep(0.001)
            stop = start_at + seconds
            while time.time() < stop:
                try:
                    ok = client.get(f"/api/v1/users/{n % USERS + 1}").status_code == 200
                except httpx.HTTPError:
                    ok = False
                failed += not ok
                n += 1
        counts.append((n, failed))

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put((sum(n for n, _ in counts), sum(f for _, f in counts)))


def bench_canvas_gets(seconds: float, procs: int, threads: int) -> dict[str, float]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-c", SERVER_CODE, str(port)])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/_emulator/state", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the Canvas emulator did not start") from None
                time.sleep(0.1)
        # throttle off: this measures the emulator, not Canvas's rate limit
        httpx.put(
            f"{url}/_emulator/faults", json={"extra": {"throttle": {"enabled": False}}}
        ).raise_for_status()
        queue: Any = mp.get_context("spawn").Queue()
        start_at = time.time() + 1.5
        clients = [
            mp.get_context("spawn").Process(target=_client, args=(url, seconds, threads, start_at, queue))
            for _ in range(procs)
        ]
        for client in clients:
            client.start()
        while time.time() < start_at:
            time.sleep(0.005)
        cpu_before = _cpu_seconds(server.pid)
        answers = [queue.get(timeout=seconds + 60) for _ in clients]
        total, failed = sum(n for n, _ in answers), sum(f for _, f in answers)
        cpu_used = _cpu_seconds(server.pid) - cpu_before
        for client in clients:
            client.join()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {
        "requests": total,
        "failed": failed,
        "rps": total / seconds,
        "server_cpu_ms_per_request": 1000.0 * cpu_used / max(1, total),
        "server_capacity_rps_one_core": total / cpu_used if cpu_used else float("nan"),
    }


def bench_university(
    sizes: tuple[str, ...] = ("tiny", "small", "university"),
) -> list[tuple[str, float, str]]:
    from canvasbridge_emulators.university import University

    rows = []
    for size in sizes:
        started = time.perf_counter()
        uni = University.generate(size=size, seed=1)
        elapsed = time.perf_counter() - started
        summary = uni.summary()
        short = (
            ", ".join(f"{k}={v}" for k, v in list(summary.items())[:4]) if isinstance(summary, dict) else ""
        )
        rows.append((size, elapsed, short))
    return rows


def bench_canvas_model_load(scale: float = 1.0) -> tuple[float, dict[str, Any]]:
    """30,000 users, 4,000 courses with a section each, 150,000 enrollments (times ``scale``)
    into CanvasModel."""
    from canvasbridge_emulators.canvas import CanvasModel

    n_users, n_courses, n_enrollments = (int(n * scale) for n in (30_000, 4_000, 150_000))
    model = CanvasModel()
    started = time.perf_counter()
    term = model.add_term("Autumn", sis_term_id="T1")
    users = [
        model.add_user(f"Student {i}", unique_id=f"s{i}", sis_user_id=f"P{i}").id for i in range(n_users)
    ]
    sections = []
    for i in range(n_courses):
        course = model.add_course(f"Course {i}", sis_course_id=f"C{i}", term_id=term.id)
        sections.append(model.add_section(course.id, f"Course {i}", sis_section_id=f"SEC{i}").id)
    for i in range(n_enrollments):
        model.enroll(
            users[i % n_users], section_id=sections[(i * 7 + i // n_users) % n_courses], state="active"
        )
    return time.perf_counter() - started, model.counts()


def machine() -> str:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"nproc={os.cpu_count()}, CPU={cpu}, Python {platform.python_version()}, {platform.system()}, "
        f"load average before the run {load}"
    )


# --smoke: a few seconds, to show the benchmark still runs end to end (CI runs it)
SMOKE = {"seconds": 0.5, "procs": 1, "threads": 1, "sizes": "tiny", "scale": 0.01}


def main(argv: list[str] | None = None) -> int:
    """Prints the tables; exit status 1 when any request failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per client process")
    parser.add_argument("--sizes", default="tiny,small,university", help="universities to build")
    parser.add_argument("--scale", type=float, default=1.0, help="of the CanvasModel load (1: university)")
    parser.add_argument("--smoke", action="store_true", help=f"smoke sizes (seconds; CI runs it): {SMOKE}")
    args = parser.parse_args(argv)
    if args.smoke:  # smoke sizes as defaults: options given still win
        parser.set_defaults(**SMOKE)
        args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    result = bench_canvas_gets(args.seconds, args.procs, args.threads)
    print()
    print("| Canvas emulator, GET /api/v1/users/:id | value |")
    print("|---|---|")
    print(
        f"| clients | {args.procs} processes x {args.threads} threads, httpx keep-alive, {args.seconds:g} s |"
    )
    print(f"| requests/s (measured end to end) | {result['rps']:.0f} |")
    print(f"| failed requests | {result['failed']} |")
    print(f"| server CPU per request | {result['server_cpu_ms_per_request']:.3f} ms |")
    print(
        f"| server capacity, one core (requests / server CPU s) | {result['server_capacity_rps_one_core']:.0f} |"
    )
    print(f"| goal | >= 1000 requests/s: {'met' if result['rps'] >= 1000 else 'NOT met end to end'} |")
    load_s, counts = bench_canvas_model_load(args.scale)
    print()
    print("| Build | seconds | notes |")
    print("|---|---|---|")
    for size, elapsed, short in bench_university(tuple(args.sizes.split(","))):
        print(f"| University.generate({size!r}) | {elapsed:.2f} | {short} |")
    print(
        f"| CanvasModel load ({args.scale:g} × 30k users, 4k courses, 150k enrollments) | {load_s:.2f} | "
        f"users={counts['users']}, enrollments={counts['enrollments']} |"
    )
    return 1 if result["failed"] or not result["requests"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
