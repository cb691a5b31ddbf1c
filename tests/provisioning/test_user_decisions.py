"""The users of a full resync, decided in a second process or on threads: same users either way."""

from __future__ import annotations

import logging
import os
import signal
import time

import pytest

from canvasbridge.clients.http import AuthenticationError, CallStats, EndpointStats
from canvasbridge.errors import TransientError
from canvasbridge.provisioning import runtime, user_decisions
from canvasbridge.provisioning.resync import resync, sources_for
from canvasbridge.provisioning.user_decisions import ProcessDecider, ThreadDecider, start_decider


def cerebrum_calls(stats: CallStats) -> dict[str, int]:
    return {k: e.calls for k, e in stats.by_endpoint.items() if k.startswith("cerebrum ")}


def users_resync(stack, *, users_process: bool):
    stack.configure(resync={"users_process": users_process})
    ctx = stack.ctx()
    sources = sources_for(ctx)
    result = resync(sources, runtime.settings(ctx), ("users",), dry_run=True)
    return result, sources.cerebrum.stats


def test_a_second_process_decides_the_same_users_as_threads_and_its_calls_are_counted_here(
    stack, monkeypatch
):
    by_threads, thread_stats = users_resync(stack, users_process=False)
    assert by_threads.ok and by_threads.desired["users"] > 0
    # from here on, deciding users in this process fails: the second process must do it all
    monkeypatch.setattr(user_decisions, "decide_user", lambda *a, **k: pytest.fail("decided here"))
    by_process, process_stats = users_resync(stack, users_process=True)
    assert by_process.ok, by_process.errors
    assert by_process.plan.operations == by_threads.plan.operations
    assert by_process.desired == by_threads.desired
    assert cerebrum_calls(process_stats) == cerebrum_calls(thread_stats)
    assert process_stats.calls("cerebrum", "accounts/") >= 1


def test_a_cerebrum_refusal_in_the_users_process_arrives_as_the_same_error(stack, monkeypatch):
    stack.configure()
    ctx = stack.ctx()
    sources = sources_for(ctx)
    monkeypatch.setenv("CB_TEST_CEREBRUM_KEY", "wrong-key")  # the spawned process reads it
    with pytest.raises(AuthenticationError, match="cerebrum") as refused:
        resync(sources, runtime.settings(ctx), ("users",), dry_run=True)
    assert "wrong-key" not in str(refused.value)
    assert sources.cerebrum.stats.calls("cerebrum", "accounts/") == 1  # the refused listing, counted


def test_a_users_process_that_dies_is_a_transient_error_naming_it(stack):
    stack.configure()
    ctx = stack.ctx()
    decider = ProcessDecider(runtime.cerebrum_settings(ctx), runtime.settings(ctx), CallStats())
    try:
        deadline = time.monotonic() + 30
        while not decider._pool._processes and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in list(decider._pool._processes):
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(TransientError, match="users process ended"):
            decider.decide(["anyone"])
    finally:
        decider.close()


def test_threads_decide_when_the_setting_is_off_or_the_client_has_no_settings(stack):
    ctx = stack.ctx()
    client, config = runtime.cerebrum(ctx), runtime.cerebrum_settings(ctx)
    chosen = []
    for config_given, setting in ((config, False), (None, True)):
        settings = runtime.settings(ctx).model_copy(deep=True)
        settings.resync.users_process = setting
        decider = start_decider(client, config_given, settings)
        chosen.append(type(decider))
        decider.close()
    assert chosen == [ThreadDecider, ThreadDecider]
    decider = start_decider(client, config, runtime.settings(ctx))
    try:
        assert isinstance(decider, ProcessDecider)
    finally:
        decider.close()


def test_counts_taken_in_one_process_add_up_in_another():
    theirs = CallStats()
    theirs.record("cerebrum", "GET", "accounts/", 0.5, 200)
    theirs.record("cerebrum", "GET", "accounts/", 0.25, 503)
    hooked: list[str] = []
    ours = CallStats(hooks=[lambda *call: hooked.append(call[2])])
    ours.record("cerebrum", "GET", "accounts/", 1.0, 200)
    ours.absorb(theirs.take())
    assert theirs.total == 0 and theirs.by_endpoint == {}
    assert ours.total == 3
    assert ours.by_endpoint["cerebrum GET accounts/"] == EndpointStats(calls=3, errors=1, seconds=1.75)
    assert hooked == ["accounts/"]  # the other process fed its own metrics


def test_the_users_process_logs_through_this_processs_handlers(stack, caplog):
    caplog.set_level(logging.INFO)
    result, _ = users_resync(stack, users_process=True)
    assert result.ok, result.errors
    relayed = [r for r in caplog.records if r.name == user_decisions.__name__]
    assert relayed, "no record of the users process arrived"
    assert all(r.process != os.getpid() for r in relayed)
    assert relayed[0].getMessage().startswith("deciding ")
