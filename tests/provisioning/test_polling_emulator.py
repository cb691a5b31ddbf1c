"""wait_until against the Canvas emulator's SIS import, in virtual time: the progress the
emulator reports lets the poller notice the end within one first wait (growing waits alone
notice a 9.9 s import at 13 s), in a handful of status calls."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from canvasbridge.provisioning.polling import wait_until
from canvasbridge_emulators.canvas import CanvasModel
from canvasbridge_emulators.canvas.sis_import import SisImporter

FINAL = {"imported", "imported_with_messages", "failed", "failed_with_messages", "aborted"}


class VirtualTime:
    """The poller's sleeps move the clock on; the import's pauses wait for the clock to pass them
    (the rows themselves take no virtual time)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.job_at = 0.0  # how far the import has got, in virtual time
        self.changed = threading.Condition()

    def job_sleep(self, seconds: float) -> None:
        with self.changed:
            self.job_at += seconds
            self.changed.notify_all()
            while self.now < self.job_at:
                self.changed.wait(0.005)

    def poller_sleep(self, seconds: float, ended: Callable[[], bool]) -> None:
        with self.changed:
            self.now += seconds
            self.changed.notify_all()
            while self.job_at <= self.now and not ended():  # let the import catch up with the clock
                self.changed.wait(0.005)


def test_the_poller_notices_an_emulated_import_within_one_first_wait_of_its_end() -> None:
    model = CanvasModel()
    time = VirtualTime()
    importer = SisImporter(model, pause=lambda: 0.1, sleep=time.job_sleep)  # 99 steps: ends at 9.9 s
    users = "user_id,login_id,first_name,last_name,status\n" + "".join(
        f"V{i},v{i},Vera,Virtual{i},active\n" for i in range(1000)
    )
    started = importer.submit(users.encode(), "users.csv", {})
    polls: list[tuple[float, Any]] = []

    def state() -> dict[str, Any]:
        return model.get_record("sis_import", started["id"])

    def fetch() -> dict[str, Any]:
        record = state()
        polls.append((time.now, record["progress"]))
        return record

    final = wait_until(
        fetch,
        lambda s: s["workflow_state"] in FINAL,
        what="SIS import",
        first_s=1.0,
        timeout_s=100,
        sleep=lambda s: time.poller_sleep(s, lambda: state()["workflow_state"] in FINAL),
        clock=lambda: time.now,
    )
    assert final["workflow_state"] == "imported" and final["progress"] == 100
    assert 9.8 < time.job_at < 10
    assert all(0 < progress < 100 for _at, progress in polls[:-1]), polls
    noticed = polls[-1][0]
    assert time.job_at <= noticed <= time.job_at + 1.0, polls
    assert len(polls) <= 5, polls
