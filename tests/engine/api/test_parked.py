"""``/parked/{id}``: show a parked message, dispatch it again, or discard it."""

from __future__ import annotations

import json

from canvasbridge.engine import Envelope
from canvasbridge.engine.ledger import CallState
from tests.engine.api.conftest import OPERATE, READ, Api


def _park(api: Api, routing_key: str, body: object, reason: str = "parser was broken") -> int:
    envelope = Envelope(json.dumps(body).encode(), "replay", "m-7", routing_key, {"event_name": "x"})
    return api.runtime.ledger().park(envelope, reason=reason, route="json-tasks")


def test_show_gives_the_whole_message_and_its_reason(api: Api) -> None:
    parked_id = _park(api, "task.user", {"task": "record"})
    shown = api.client.get(f"/parked/{parked_id}", headers=READ).json()
    assert (shown["source"], shown["message_id"], shown["routing_key"]) == ("replay", "m-7", "task.user")
    assert shown["reason"] == "parser was broken" and shown["attributes"] == {"event_name": "x"}
    assert json.loads(shown["body"]) == {"task": "record"}
    missing = api.client.get("/parked/424242", headers=READ)
    assert missing.status_code == 404 and "no parked message with id 424242" in missing.json()["message"]


def test_requeue_dispatches_it_again_and_its_calls_name_it_as_origin(api: Api) -> None:
    parked_id = _park(api, "task.user", {"task": "record", "params": {"key": "olan", "effects_dir": "x"}})
    response = api.client.post(f"/parked/{parked_id}/requeue", headers=OPERATE)
    assert response.status_code == 200
    done = response.json()
    assert (done["id"], done["outcome"], done["parked_again_as"]) == (parked_id, "queued", None)
    [call_id] = done["calls"]
    call = api.runtime.ledger().get(call_id)
    assert (
        call is not None
        and call.state is CallState.QUEUED
        and call.params == {"key": "olan", "effects_dir": "x"}
    )
    assert (call.origin_source, call.origin_message_id) == ("replay", "m-7")
    assert api.client.get(f"/parked/{parked_id}", headers=READ).status_code == 404
    assert api.client.get("/parked", headers=READ).json()["total"] == 0


def test_a_message_still_unroutable_is_parked_again_under_a_new_id_with_the_new_reason(api: Api) -> None:
    parked_id = _park(api, "nowhere.user", {"task": "record"})
    done = api.client.post(f"/parked/{parked_id}/requeue", headers=OPERATE).json()
    assert done["outcome"] == "parked" and done["calls"] == []
    again = done["parked_again_as"]
    assert again is not None and again != parked_id and "no route matched" in done["reason"]
    assert api.client.get(f"/parked/{parked_id}", headers=READ).status_code == 404
    shown = api.client.get(f"/parked/{again}", headers=READ).json()
    assert shown["message_id"] == "m-7" and "no route matched" in shown["reason"]


def test_discard_removes_it_and_answers_with_what_was_removed(api: Api) -> None:
    parked_id = _park(api, "task.user", {"task": "record"})
    response = api.client.post(f"/parked/{parked_id}/discard", headers=OPERATE)
    assert response.status_code == 200 and response.json()["message_id"] == "m-7"
    assert api.client.get("/parked", headers=READ).json()["total"] == 0
    assert api.client.post(f"/parked/{parked_id}/discard", headers=OPERATE).status_code == 404
    assert api.client.post(f"/parked/{parked_id}/requeue", headers=OPERATE).status_code == 404
