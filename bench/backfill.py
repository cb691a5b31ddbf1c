"""Backfill: a day of Canvas activity rebuilt from REST and written to Salesforce, against the emulators.

    .venv/bin/python -m bench.backfill [--events 5000] [--size small] [--smoke] [--json]

The emulators run in a child process (so the measured process has the other core). There the
Live Events generator records ``--events`` events of the kinds a backfill recovers (plus
``asset_accessed``) in the Canvas emulator over one day; none is delivered live. Two runs of
``run_backfill`` over that day (what ``canvasbridge events backfill`` does, without the
progress bar):

* ``first``   everything is missing: every due record is written;
* ``again``   everything is there: nothing is written (every batch asks which keys exist).

Calls are counted by our clients (``CallStats``): Canvas requests (pages of every list,
look-ups of names and SIS ids) and Salesforce requests (logins, directory loads, existence
queries, collections).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import platform
import time
from typing import Any

MIX = {
    "quiz_submitted": 7,
    "submission_created": 7,
    "grade_change": 5,
    "discussion_entry_created": 4,
    "enrollment_updated": 1,
    "logged_in": 8,
    "logged_out": 4,
    "asset_accessed": 10,
}
DAY = dt.date(2026, 3, 4)


def _serve(size: str, events: int, conn: Any) -> None:  # child process
    from canvasbridge_emulators.caliper_feed import LiveEventGenerator
    from canvasbridge_emulators.canvas import create_app as canvas_app
    from canvasbridge_emulators.common import ServerThread
    from canvasbridge_emulators.salesforce import create_app as salesforce_app
    from canvasbridge_emulators.salesforce.schema import default_schema
    from canvasbridge_emulators.university.activity import ActivityDataset

    dataset = ActivityDataset.generate(size, seed=1, today=DAY)
    canvas = canvas_app()
    dataset.load_canvas(canvas.model)
    sf_app, sf_model, _ = salesforce_app(schema=default_schema(), today=DAY, api_max=10_000_000)
    dataset.load_salesforce(sf_model)
    start = dt.datetime.combine(DAY, dt.time(), dt.UTC)
    generator = LiveEventGenerator(
        dataset,
        seed=7,
        canvas=canvas.model,
        mix=MIX,
        start=start,
        interval_ms=0.9 * 86_400_000 / max(events, 1),
    )
    for _ in generator.events(events):
        pass
    canvas_server = ServerThread(canvas.app).start()
    sf_server = ServerThread(sf_app).start()
    conn.send(
        {
            "canvas": canvas_server.url,
            "salesforce": sf_server.url,
            "credentials": sf_model.credentials.as_dict(),
            "courses": len(dataset.courses),
            "users": len(dataset.users),
        }
    )
    conn.recv()  # wait until the parent is done


def _clients(urls: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    from canvasbridge.clients.canvas import CanvasSettings
    from canvasbridge.clients.http import CallStats
    from canvasbridge.clients.salesforce import SalesforceSettings
    from canvasbridge_emulators.canvas import DEFAULT_TOKEN

    c = urls["credentials"]
    os.environ.update(
        BENCH_CANVAS_TOKEN=DEFAULT_TOKEN,
        BENCH_SF_PASSWORD=c["password"],
        BENCH_SF_TOKEN=c["security_token"],
        BENCH_SF_SECRET=c["consumer_secret"],
    )
    canvas_stats, sf_stats = CallStats(), CallStats()
    canvas = CanvasSettings.model_validate(
        {"base_url": urls["canvas"], "token": {"env": "BENCH_CANVAS_TOKEN"}}
    ).build(stats=canvas_stats)
    salesforce = SalesforceSettings.model_validate(
        {
            "login_url": urls["salesforce"],
            "username": c["username"],
            "password": {"env": "BENCH_SF_PASSWORD"},
            "security_token": {"env": "BENCH_SF_TOKEN"},
            "consumer_key": c["consumer_key"],
            "consumer_secret": {"env": "BENCH_SF_SECRET"},
            "plain_http": True,
        }
    ).build(stats=sf_stats)
    return canvas, canvas_stats, salesforce, sf_stats


def run(urls: dict[str, Any], label: str) -> dict[str, Any]:
    from canvasbridge.live_events.backfill import Window
    from canvasbridge.live_events.backfill_command import run_backfill
    from canvasbridge.live_events.settings import LiveEventsSettings

    canvas, canvas_stats, salesforce, sf_stats = _clients(urls)
    start = dt.datetime.combine(DAY, dt.time(), dt.UTC)
    began = time.perf_counter()
    result = run_backfill(
        LiveEventsSettings(timezone="UTC"),
        canvas,
        salesforce,
        Window(start, start + dt.timedelta(days=1)),
        show_progress=False,
    )
    seconds = time.perf_counter() - began
    found = result.total("found")
    return {
        "run": label,
        "events found": found,
        "records written": result.total("written"),
        "already present": result.total("present"),
        "skipped": result.total("skipped"),
        "failed": result.total("failed"),
        "seconds": round(seconds, 2),
        "events/s": round(found / seconds, 1) if seconds else 0.0,
        "Canvas requests": canvas_stats.total,
        "Salesforce requests": sf_stats.total,
    }


SMOKE = {"size": "tiny", "events": 200}


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark and prints its table; exit status 1 when a record failed."""
    import warnings

    warnings.filterwarnings("ignore", message="Canvas may respond unexpectedly")
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5000, help="events generated over the day")
    parser.add_argument("--size", default="small", help="activity dataset size (tiny, small, university)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--smoke", action="store_true", help=f"smoke sizes (seconds; CI runs it): {SMOKE}")
    args = parser.parse_args(argv)
    if args.smoke:
        parser.set_defaults(**SMOKE)
        args = parser.parse_args(argv)

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(args.size, args.events, child), daemon=True)
    server.start()
    urls = parent.recv()
    try:
        rows = [run(urls, "first"), run(urls, "again")]
    finally:
        parent.send("done")
        server.join(timeout=10)
    if args.json:
        print(json.dumps(rows))
    else:
        print(
            f"backfill of one day: {args.events} generated events, {urls['courses']} courses, "
            f"{urls['users']} users ({args.size}); {platform.python_version()}, {os.cpu_count()} cores"
        )
        columns = list(rows[0])
        print("| " + " | ".join(columns) + " |")
        print("|" + "---|" * len(columns))
        for row in rows:
            print("| " + " | ".join(str(row[c]) for c in columns) + " |")
    return 1 if any(row["failed"] for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
