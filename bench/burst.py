"""Term-start burst: FS enrolment notifications on RabbitMQ + PostgreSQL, per object vs bulk.

Each run starts from the same Canvas: sub-accounts, users, courses and sections in place (a
bulk resync of accounts, users and courses), no enrollments yet, as before a term starts.
Then ``--notifications`` FS ``studentundervisning.create`` messages (one per student in a
unit, in random order) arrive over ``--seconds`` and go through the engine path: route →
FS parser → ledger (PostgreSQL) → Celery on RabbitMQ → a worker with ``--concurrency``
threads → ``ensure_enrollments``. The two runs differ only in
``provisioning.bulk.burst_threshold``: ``0`` (every call by REST, one section each) and
``--threshold`` (waiting calls gathered into SIS imports).

Reported per run: time to drain (first arrival → no call waiting or running), Canvas calls
(the Canvas emulator's own counters, by method, and SIS imports), calls recorded (after
the ledger folded repeats per section), calls gathered into bursts, dead letters. The two
runs must end with the same enrollments in Canvas (user, section, type, state); the
benchmark exits 1 when they do not, or when any call failed.

The Canvas emulator runs in this process; FS, Cerebrum and SAP each in a process of their
own (as in bench.provisioning). The machine's two cores are shared by all of it.

    .venv/bin/python -m bench.burst [--size university] [--notifications 50000] [--seconds 300]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import threading
import time
import uuid
from typing import Any

from bench.live_events import AMQP_URL, _scratch_database
from bench.provisioning import Bench
from canvasbridge.engine import Envelope
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.resync import Sources, resync
from canvasbridge_emulators.notify import fs_notification

STALL_S = 300.0  # no call finished for this long: the run is stuck
TASKS = "canvasbridge.provisioning.tasks"


def notifications(bench: Bench, count: int, seed: int = 1) -> list[Envelope]:
    """``count`` FS ``studentundervisning.create`` messages, in random order."""
    participations = list(bench.university.unit_participations())
    random.Random(seed).shuffle(participations)
    chosen = participations[:count]
    if len(chosen) < count:
        raise SystemExit(f"the university has only {len(chosen)} unit enrolments; ask for fewer")
    envelopes = []
    for index, record in enumerate(chosen):
        note = fs_notification("studentundervisning", "create", record.key, iss="FS-prod")
        envelopes.append(
            Envelope(body=note.payload(), source="fs", message_id=f"n{index}", routing_key=note.routing_key)
        )
    return envelopes


def prepare(bench: Bench) -> float:
    """A fresh Canvas with the structure and users but no enrollments; seconds it took."""
    bench.reset_canvas()
    started = time.monotonic()
    ctx = bench.ctx()
    sources = Sources(runtime.canvas(ctx), runtime.fs(ctx), runtime.cerebrum(ctx), runtime.sap(ctx))
    result = resync(sources, runtime.settings(ctx), ("accounts", "users", "courses"), force=True, path="bulk")
    if result.failures:
        raise SystemExit(f"preparing Canvas failed: {result.failures[:3]}")
    bench.resources.clear()
    return time.monotonic() - started


def canvas_enrollments(bench: Bench) -> set[tuple[str, str, str, str]]:
    """Every enrollment in Canvas as (user SIS id, section SIS id, type, state)."""
    assert bench.emulator is not None
    m = bench.emulator.model
    found = set()
    with m.lock:
        for e in m.enrollments(states=None):
            login = m.primary_login(e.user_id)
            section = m.get_section(e.course_section_id) if e.course_section_id else None
            found.add(
                (
                    login.sis_user_id if login else str(e.user_id),
                    section.sis_section_id if section else "",
                    e.type,
                    e.workflow_state,
                )
            )
    return found


def run(
    bench: Bench, envelopes: list[Envelope], *, threshold: int, seconds: float, concurrency: int
) -> dict[str, Any]:
    from canvasbridge.engine.config import parse_config
    from canvasbridge.engine.ledger import CallFilter, CallState
    from canvasbridge.engine.runtime import Runtime

    ledger_url, drop = _scratch_database()
    provisioning = dict(bench.sections["provisioning"])
    provisioning["bulk"] = {"poll_interval_s": 0.5, "burst_threshold": threshold}
    config = parse_config(
        {
            "backends": {
                "data_dir": tempfile.mkdtemp(prefix="bench-burst-"),
                "broker_url": AMQP_URL,
                "ledger_url": ledger_url,
                "queue": f"bench-burst-{uuid.uuid4().hex[:10]}",
            },
            "worker": {"pool": "threads", "concurrency": concurrency, "prefetch_multiplier": 1},
            "log": {"level": "WARNING"},
            "sources": [{"type": "file", "name": "fs", "path": "unused.jsonl"}],
            "routes": [
                {"name": "fs", "source": "fs", "parser": "canvasbridge.provisioning.parsers.fs:parse"}
            ],
            "tasks": {
                "ensure_enrollments": {"path": f"{TASKS}.enrollments:ensure_enrollments"},
                "ensure_course": {"path": f"{TASKS}.courses:ensure_course"},
            },
            "systems": bench.sections["systems"],
            "provisioning": provisioning,
        }
    )
    runtime_ = Runtime(config)
    dispatch = runtime_.dispatcher()
    ledger = runtime_.ledger()
    recorded: set[int] = set()
    errors: list[str] = []

    def feed() -> None:
        begin = time.monotonic()
        chunk = 100
        for start in range(0, len(envelopes), chunk):
            due = begin + seconds * start / len(envelopes)
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                results = dispatch.dispatch_many(envelopes[start : start + chunk])
            except Exception as exc:  # counted as failed, and the run goes on
                errors.append(f"{envelopes[start].message_id}..: {exc!r}")
                continue
            recorded.update(c.id for r in results for c in r.calls)

    assert bench.emulator is not None
    control = bench.emulator.control
    time.sleep(0.1)
    control.clear_stats()
    waiting = (CallState.QUEUED, CallState.RETRYING, CallState.RUNNING)
    try:
        with runtime_.in_process_worker(concurrency=concurrency):
            started = time.monotonic()
            feeder = threading.Thread(target=feed, daemon=True)
            feeder.start()
            progress, last_change, shown = -1, time.monotonic(), time.monotonic()
            while True:
                time.sleep(0.5)
                left = ledger.count(CallFilter(states=waiting))
                if not feeder.is_alive() and left == 0:
                    break
                done = ledger.count(CallFilter(states=(CallState.SUCCEEDED, CallState.DEAD)))
                if time.monotonic() - shown > 30:
                    shown = time.monotonic()
                    print(
                        f"  {shown - started:.0f}s: {len(recorded)} calls recorded, {done} finished, "
                        f"{left} waiting or running; {control.count()} Canvas calls",
                        file=sys.stderr,
                        flush=True,
                    )
                if done != progress:
                    progress, last_change = done, time.monotonic()
                elif time.monotonic() - last_change > STALL_S:
                    raise RuntimeError(f"stalled: {done} calls finished, {left} waiting or running")
            drained = time.monotonic() - started
        time.sleep(0.2)
        succeeded = ledger.calls(CallFilter(states=(CallState.SUCCEEDED,)), limit=1_000_000)
        dead = ledger.calls(CallFilter(states=(CallState.DEAD,)), limit=1_000_000)
    finally:
        ledger.close()
        drop()
    gathered = sum(1 for r in succeeded if r.requeued_to is not None)
    for line in errors[:5] + [f"#{r.id} {r.params}: {r.last_error}" for r in dead[:5]]:
        print("failure:", line)
    return {
        "seconds": drained,
        "calls": control.count(),
        "reads": control.count("GET"),
        "writes": sum(control.count(m) for m in ("POST", "PUT", "DELETE")),
        "enrollment_posts": control.count("POST", "enrollments"),
        "sis_imports": control.count("POST", "sis_imports"),
        "recorded": len(recorded),
        "gathered": gathered,
        "failed": len(dead) + len(errors),
        "state": canvas_enrollments(bench),
    }


# --smoke: a small burst, to show the benchmark still runs end to end (CI runs it)
SMOKE = {"size": "small", "notifications": 600, "seconds": 5.0, "threshold": 10, "concurrency": 2}


def main(argv: list[str] | None = None) -> int:
    """Prints the table; exit status 1 when a call failed or the two runs' Canvas differs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="university", choices=["tiny", "small", "university"])
    parser.add_argument("--notifications", type=int, default=50_000)
    parser.add_argument(
        "--seconds", type=float, default=300.0, help="the notifications arrive over this long"
    )
    parser.add_argument("--threshold", type=int, default=100, help="bulk.burst_threshold of the bulk run")
    parser.add_argument("--concurrency", type=int, default=4, help="worker threads")
    parser.add_argument("--smoke", action="store_true", help=f"smoke sizes (CI runs it): {SMOKE}")
    args = parser.parse_args(argv)
    if args.smoke:  # smoke sizes as defaults: options given still win
        parser.set_defaults(**SMOKE)
        args = parser.parse_args(argv)
    bench = Bench(args.size, canvas_apart=False)  # its model is read to compare the runs
    results: dict[str, dict[str, Any]] = {}
    try:
        envelopes = notifications(bench, args.notifications)
        for name, threshold in (("per object", 0), ("bulk", args.threshold)):
            prepared = prepare(bench)
            print(f"{name}: Canvas prepared in {prepared:.0f}s; {len(envelopes)} notifications", flush=True)
            results[name] = run(
                bench, envelopes, threshold=threshold, seconds=args.seconds, concurrency=args.concurrency
            )
    finally:
        bench.close()
    summary = bench.university.summary()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(
        f"university '{args.size}': {summary['persons']} persons, {summary['undervisning']} units, "
        f"{summary['student_undervisning']} unit enrolments; {args.notifications} notifications over "
        f"{args.seconds:g} s, {args.concurrency} worker threads, RabbitMQ + PostgreSQL"
    )
    header = "| run | drain s | Canvas calls | reads | writes | enrollment POSTs | SIS imports | calls | gathered | failed |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name, r in results.items():
        label = name if name == "per object" else f"bulk (threshold {args.threshold})"
        print(
            f"| {label} | {r['seconds']:.1f} | {r['calls']} | {r['reads']} | {r['writes']} | "
            f"{r['enrollment_posts']} | {r['sis_imports']} | {r['recorded']} | {r['gathered']} | {r['failed']} |"
        )
    rest, bulk = results["per object"], results["bulk"]
    same = rest["state"] == bulk["state"]
    print(
        f"enrollments in Canvas: {len(rest['state'])} per object, {len(bulk['state'])} bulk; "
        f"same state: {'yes' if same else 'NO'}"
    )
    if not same:
        print("only per object:", sorted(rest["state"] - bulk["state"])[:5])
        print("only bulk:", sorted(bulk["state"] - rest["state"])[:5])
    failed = rest["failed"] + bulk["failed"]
    print(f"failed: {failed}")
    return 1 if failed or not same else 0


if __name__ == "__main__":
    raise SystemExit(main())
