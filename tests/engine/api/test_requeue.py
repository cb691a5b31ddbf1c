"""Requeueing a dead letter runs it again and links the new attempt chain to the old one."""

from __future__ import annotations

import pytest

from canvasbridge.engine import TaskCall
from canvasbridge.engine.ledger import CallState
from tests.engine.api.conftest import OPERATE, READ, Api
from tests.engine.helpers import wait_state


@pytest.mark.slow
def test_requeued_dead_letter_runs_again_and_records_the_chain(api: Api) -> None:
    effects = api.tmp / "effects"
    ledger = api.runtime.ledger()
    with api.runtime.in_process_worker():
        [first] = api.runtime.enqueue([TaskCall("mendable", {"key": "olan", "effects_dir": str(effects)})])
        assert wait_state(ledger, first.id, CallState.DEAD, CallState.SUCCEEDED) is CallState.DEAD
        assert (
            "missing its home account"
            in api.client.get(f"/tasks/{first.id}", headers=READ).json()["last_error"]
        )

        (effects / "olan.fixed").touch()  # the operator corrects the source data
        response = api.client.post(f"/tasks/{first.id}/requeue", headers=OPERATE)
        assert response.status_code == 200
        second = response.json()
        assert second["requeued_from"] == first.id and second["id"] != first.id and not second["folded"]
        assert wait_state(ledger, second["id"], CallState.DEAD, CallState.SUCCEEDED) is CallState.SUCCEEDED

    old = api.client.get(f"/tasks/{first.id}", headers=READ).json()
    new = api.client.get(f"/tasks/{second['id']}", headers=READ).json()
    assert old["state"] == "requeued" and old["requeued_to"] == second["id"]
    assert [a["outcome"] for a in old["attempt_log"]] == ["dead"]
    assert new["requeued_from"] == first.id
    assert new["attempts"] == 1 and new["attempt_log"] == []  # a fresh chain: succeeded at its first attempt
    assert new["result"] == {"key": "olan"}
    assert (effects / "runs.log").read_text().splitlines() == ["olan 1", "olan 1"]


def test_only_dead_or_discarded_calls_can_be_requeued(api: Api) -> None:
    [call] = api.runtime.enqueue([TaskCall("record", {"key": "x", "effects_dir": str(api.tmp)})])
    response = api.client.post(f"/tasks/{call.id}/requeue", headers=OPERATE)
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert "queued" in response.json()["message"]
    assert api.client.post(f"/tasks/{call.id}/discard", headers=OPERATE).status_code == 200
    assert api.client.post(f"/tasks/{call.id}/requeue", headers=OPERATE).status_code == 200


def test_a_broker_that_refuses_the_call_is_503_and_leaves_nothing_behind(api: Api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ledger = api.runtime.ledger()
    from tests.engine.api import seeding

    dead_id = seeding.dead(ledger, "record", key="x")

    def refuse(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(api.runtime.publisher, "publish_many", refuse)
    response = api.client.post(f"/tasks/{dead_id}/requeue", headers=OPERATE)
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
    assert ledger.count() == 1  # the new call was forgotten again
    restored = api.client.get(f"/tasks/{dead_id}", headers=READ).json()
    assert (restored["state"], restored["requeued_to"]) == ("dead", None)  # requeueable again
    sync = api.client.post("/sync/user/olan", headers=OPERATE)
    assert sync.status_code == 503
    assert ledger.count() == 1
