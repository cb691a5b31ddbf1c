"""A small university behind real emulators over HTTP, and a TaskContext wired to them.

``stack`` gives the tiny university, the Canvas and FS emulators (and Cerebrum and SAP when
their packages exist), each on its own loopback port, plus ``stack.ctx()`` for tasks and
``stack.writes()`` / ``stack.calls()`` read from the Canvas emulator's request counters.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from canvasbridge.engine import TaskContext
from canvasbridge_emulators.canvas.app import DEFAULT_TOKEN, CanvasEmulator
from canvasbridge_emulators.canvas.app import create_app as create_canvas
from canvasbridge_emulators.common import ServerThread
from canvasbridge_emulators.university import University

FS_PASSWORD = "fs-secret"


@dataclass
class Stack:
    university: University
    canvas: CanvasEmulator
    urls: dict[str, str]
    fs: Any = None
    cerebrum: Any = None
    sap: Any = None
    provisioning: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)

    def sections(self) -> dict[str, Any]:
        systems: dict[str, Any] = {
            "canvas": {
                "base_url": self.urls["canvas"],
                "token": {"env": "CB_TEST_CANVAS_TOKEN"},
                "account_id": 1,
                "poll_s": 0.05,
            },
            "fs": {
                "base_url": self.urls["fs"] + "/",
                "username": "fs",
                "password": {"env": "CB_TEST_FS_PASSWORD"},
            },
        }
        if "cerebrum" in self.urls:
            systems["cerebrum"] = {
                "base_url": self.urls["cerebrum"] + "/v1/",
                "api_key": {"env": "CB_TEST_CEREBRUM_KEY"},
            }
        if "sap" in self.urls:
            systems["sap"] = {"base_url": self.urls["sap"] + "/", "api_key": {"env": "CB_TEST_SAP_KEY"}}
        provisioning = {"root_account": "1", "bulk": {"poll_interval_s": 0.05}, **self.provisioning}
        return {"systems": systems, "provisioning": provisioning}

    def ctx(self, task: str = "test", *, dry_run: bool = False) -> TaskContext:
        """A task context sharing clients and caches with every other ``ctx()`` of this stack."""
        return TaskContext(
            task_name=task, sections=self.sections(), resources=self.resources, dry_run=dry_run
        )

    def configure(self, **provisioning: Any) -> None:
        """Replace the ``provisioning:`` section; cached settings and clients are dropped."""
        self.provisioning = provisioning
        self.close_clients()
        self.resources.clear()

    def close_clients(self) -> None:
        for value in list(self.resources.values()):
            close = getattr(value, "close", None)
            if callable(close) and type(value).__name__.endswith("Client"):
                close()

    def settle(self) -> None:
        """The emulator counts a request after sending its answer: wait until the counters
        stop moving, so the last request of what just ran is in (or out of) the count."""
        control = self.canvas.control
        deadline = time.monotonic() + 2.0
        before = control.count()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            after = control.count()
            if after == before:
                return
            before = after

    def calls(self) -> int:
        self.settle()
        return self.canvas.control.count()

    def writes(self) -> int:
        self.settle()
        return sum(self.canvas.control.count(m) for m in ("POST", "PUT", "DELETE"))

    def reads(self) -> int:
        self.settle()
        return self.canvas.control.count("GET")

    def clear_stats(self) -> None:
        self.settle()
        self.canvas.control.clear_stats()


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    from canvasbridge_emulators.cerebrum import create_app as create_cerebrum
    from canvasbridge_emulators.fs import create_app as create_fs
    from canvasbridge_emulators.sap import create_app as create_sap

    monkeypatch.setenv("CB_TEST_CANVAS_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("CB_TEST_FS_PASSWORD", FS_PASSWORD)
    monkeypatch.setenv("CB_TEST_CEREBRUM_KEY", "cerebrum-key")
    monkeypatch.setenv("CB_TEST_SAP_KEY", "sap-key")
    university = University.generate("tiny", seed=1)
    canvas = create_canvas()
    servers = [ServerThread(canvas.app).start()]
    urls = {"canvas": servers[0].url}
    fs_app, _, _, fs_changes = create_fs(university, password=FS_PASSWORD)
    servers.append(ServerThread(fs_app).start())
    urls["fs"] = servers[-1].url
    cerebrum_app, _, _, cerebrum_changes = create_cerebrum(university, api_key="cerebrum-key")
    servers.append(ServerThread(cerebrum_app).start())
    urls["cerebrum"] = servers[-1].url
    sap_app, _, _, sap_changes = create_sap(university, api_key="sap-key")
    servers.append(ServerThread(sap_app).start())
    urls["sap"] = servers[-1].url
    s = Stack(university, canvas, urls, fs=fs_changes, cerebrum=cerebrum_changes, sap=sap_changes)
    try:
        yield s
    finally:
        s.close_clients()
        for server in servers:
            server.stop()
