"""``canvasbridge parked list|show|requeue|discard`` through typer's runner, exit codes included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from canvasbridge.engine import Envelope
from canvasbridge.engine.ledger import CallState, Ledger
from tests.cli.conftest import invoke


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


def _park(ledger: Ledger, routing_key: str, body: object, message_id: str = "m-1") -> int:
    envelope = Envelope(json.dumps(body).encode(), "replay", message_id, routing_key)
    return ledger.park(envelope, reason=f"no route matched (routing key {routing_key!r})")


def test_list_and_show_give_the_reason_and_the_body(config_file: Path, ledger: Ledger) -> None:
    first = _park(ledger, "elsewhere.a", {"task": "record"}, "m-1")
    _park(ledger, "elsewhere.b", {"task": "record"}, "m-2")
    listed = invoke("parked", "list", "-c", str(config_file))
    assert listed.exit_code == 0
    assert "parked messages 1-2 of 2" in listed.stdout and "no route matched" in listed.stdout
    as_json = json.loads(invoke("parked", "list", "-c", str(config_file), "--json").stdout)
    assert [item["message_id"] for item in as_json["items"]] == ["m-2", "m-1"]
    shown = invoke("parked", "show", str(first), "-c", str(config_file))
    assert shown.exit_code == 0
    for text in ("m-1", "elsewhere.a", "no route matched (routing key 'elsewhere.a')", '{"task": "record"}'):
        assert text in shown.stdout, text
    unknown = invoke("parked", "show", "999", "-c", str(config_file))
    assert unknown.exit_code == 1 and "no parked message with id 999" in unknown.stderr


def test_requeue_queues_a_now_routable_message_and_exits_1_for_one_parked_again(
    config_file: Path, ledger: Ledger
) -> None:
    # the route matches ^task\. : the first would have been parked by a route since fixed
    fixed = _park(ledger, "task.user", {"task": "record", "params": {"key": "olan"}}, "m-1")
    still_bad = _park(ledger, "elsewhere.user", {"task": "record"}, "m-2")
    result = invoke("parked", "requeue", str(fixed), str(still_bad), "-c", str(config_file))
    assert result.exit_code == 1
    [call] = [c for c in ledger.calls() if c.origin_message_id == "m-1"]
    assert call.state is CallState.QUEUED and call.params == {"key": "olan"}
    assert f"{fixed}: queued as call(s) #{call.id}" in result.stdout
    [again] = [p for p in ledger.parked() if p.message_id == "m-2"]
    assert f"{still_bad}: parked again as {again.id}: no route matched" in result.stderr
    assert {p.id for p in ledger.parked()} == {again.id}


def test_discard_removes_and_exits_1_for_an_unknown_id(config_file: Path, ledger: Ledger) -> None:
    parked_id = _park(ledger, "elsewhere.a", {})
    result = invoke("parked", "discard", str(parked_id), "4242", "-c", str(config_file))
    assert result.exit_code == 1
    assert (
        f"{parked_id}: discarded" in result.stdout and "4242: no parked message with id 4242" in result.stderr
    )
    assert ledger.parked() == []
