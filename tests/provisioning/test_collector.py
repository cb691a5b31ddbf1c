"""The garbage collector is paused while a resync reads and plans, and comes back after."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from canvasbridge.provisioning import collector, runtime
from canvasbridge.provisioning import resync as resync_module
from canvasbridge.provisioning.resync import Sources, resync


@pytest.fixture(autouse=True)
def collecting() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_paused_turns_collection_off_for_the_block_and_back_on_after_it_even_on_an_error() -> None:
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector.paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_nested_and_concurrent_pauses_end_with_the_last_holder() -> None:
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with collector.paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with collector.paused():
        thread.start()
        assert inside.wait(10)
        with collector.paused():
            assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread still holds it
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_collector_turned_off_before_stays_off() -> None:
    gc.disable()
    with collector.paused():
        pass
    assert not gc.isenabled()


def test_a_resync_reads_and_plans_with_the_collector_paused(stack, monkeypatch) -> None:
    seen = []
    plan_snapshot, read_fs = resync_module.plan_snapshot, resync_module.read_fs

    def noting(real):
        def call(*args, **kwargs):
            seen.append((real.__name__, gc.isenabled()))
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(resync_module, "plan_snapshot", noting(plan_snapshot))
    monkeypatch.setattr(resync_module, "read_fs", noting(read_fs))
    ctx = stack.ctx()
    sources = Sources(runtime.canvas(ctx), runtime.fs(ctx), runtime.cerebrum(ctx), runtime.sap(ctx))
    result = resync(sources, runtime.settings(ctx), ("courses", "enrollments"), dry_run=True)
    assert result.plan.writes() > 0
    assert sorted(seen) == [("plan_snapshot", False), ("read_fs", False)]
    assert gc.isenabled()
