"""What the dashboard's pages show, and its parked-message actions, over HTTP."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Gauge

from canvasbridge.engine import metrics
from canvasbridge.engine.dashboard import queries
from canvasbridge.engine.dashboard.systems import system_use
from canvasbridge.engine.ledger import CallState
from tests.engine.api import seeding
from tests.engine.api.conftest import Api
from tests.engine.dashboard.conftest import OPERATE_TOKEN, csrf_of, sign_in


def test_overview_shows_counts_activity_freshness_and_system_headroom(api: Api) -> None:
    ledger = api.runtime.ledger()
    seeding.dead(ledger, "record", seeding.message("fs", "m-1"), key="a")
    seeding.succeeded(ledger, "record", seeding.message("fs", "m-2"), key="b")
    seeding.queued(ledger, "flaky", key="c")
    ledger.park(seeding.message(routing_key="nowhere"), reason="no route matched")
    metrics.set_rate_limit_remaining("salesforce", 4000, limit=5000)
    sign_in(api.client, OPERATE_TOKEN)
    html = api.client.get("/").text
    cards = re.findall(r'<span class="count">(\d+)</span><span class="label">(\w+)</span>', html)
    assert {label: int(n) for n, label in cards} == {
        "dead": 1,
        "retrying": 0,
        "queued": 1,
        "running": 0,
        "succeeded": 1,
        "requeued": 0,
        "discarded": 0,
        "parked": 1,
    }
    assert html.count("<rect ") == 3  # this minute's bar: succeeded, waiting, dead
    assert re.search(r"<td>fs</td><td[^>]*>\d+s ago</td>", html)  # the source's last success
    assert re.search(r"<td>salesforce</td>\s*<td>4000.0</td>\s*<td>5000</td>", html)
    assert "20.0 %" in html


def test_activity_counts_calls_per_bucket_by_state_on_postgresql(api: Api) -> None:
    ledger = api.runtime.ledger()
    seeding.dead(ledger, "record", key="a")
    seeding.succeeded(ledger, "record", key="b")
    seeding.succeeded(ledger, "record", key="c")
    buckets = queries.activity(ledger)
    assert len(buckets) == queries.WINDOW.total_seconds() / queries.BUCKET_S
    assert buckets[-1].by_state == {"dead": 1, "succeeded": 2}
    assert sum(b.total for b in buckets[:-1]) == 0


def test_system_use_takes_the_least_headroom_of_several_processes() -> None:
    registry = CollectorRegistry()
    remaining = Gauge("canvasbridge_rate_limit_remaining", "", ["system", "pid"], registry=registry)
    limit = Gauge("canvasbridge_rate_limit", "", ["system"], registry=registry)
    calls = Counter("canvasbridge_external_calls", "", ["system", "endpoint", "status"], registry=registry)
    remaining.labels("salesforce", "1").set(4500)
    remaining.labels("salesforce", "2").set(4200)
    limit.labels("salesforce").set(5000)
    calls.labels("salesforce", "GET /x", "ok").inc(7)
    calls.labels("salesforce", "GET /x", "error").inc(2)
    calls.labels("canvas", "GET /y", "200").inc(3)
    found = {u.system: u for u in system_use(registry)}
    assert (found["salesforce"].remaining, found["salesforce"].used_percent) == (4200, 16.0)
    assert (found["salesforce"].calls, found["salesforce"].failed) == (9, 2)
    assert (found["canvas"].remaining, found["canvas"].used_percent, found["canvas"].calls) == (None, None, 3)


def test_calls_list_filters_by_state_and_task_and_rejects_an_unknown_state(api: Api) -> None:
    ledger = api.runtime.ledger()
    dead = seeding.dead(ledger, "record", key="a")
    done = seeding.succeeded(ledger, "record", key="b")
    sign_in(api.client, OPERATE_TOKEN)
    listed = api.client.get("/ui/calls", params={"state": "dead"}).text
    assert f'id="call-{dead}"' in listed and f'id="call-{done}"' not in listed
    assert f'id="call-{done}"' in api.client.get("/ui/calls", params={"state": "all", "task": "record"}).text
    assert 'id="call-' not in api.client.get("/ui/calls", params={"state": "all", "task": "other"}).text
    wrong = api.client.get("/ui/calls", params={"state": "gone"})
    assert wrong.status_code == 422 and "state: &#39;gone&#39; is not one of" in wrong.text
    assert api.client.get("/ui/calls/424242").status_code == 404


def test_a_requeued_call_reads_requeued_to_its_new_call(api: Api) -> None:
    ledger = api.runtime.ledger()
    dead = seeding.dead(ledger, "record", key="a", effects_dir="x")
    sign_in(api.client, OPERATE_TOKEN)
    token = csrf_of(api.client.get(f"/ui/calls/{dead}").text)
    moved = api.client.post(f"/ui/calls/{dead}/requeue", data={"csrf": token}, follow_redirects=False)
    new_id = int(moved.headers["location"].split("/")[-1].split("?")[0])
    page = api.client.get(f"/ui/calls/{dead}").text
    assert f'href="/ui/calls/{new_id}">requeued → #{new_id}</a>' in page
    assert f'id="call-{dead}"' in api.client.get("/ui/calls", params={"state": "requeued"}).text
    again = api.client.post(f"/ui/calls/{dead}/requeue", data={"csrf": token})
    assert again.status_code == 409 and "only dead or discarded" in again.text


def test_parked_messages_can_be_read_requeued_and_discarded(api: Api) -> None:
    ledger = api.runtime.ledger()
    body = b'{"task": "record", "params": {"key": "p", "effects_dir": "x"}}'
    fixed = ledger.park(seeding.Envelope(body, "replay", "m-9", "task.user"), reason="parser was broken")
    junk = ledger.park(seeding.message(routing_key="nowhere"), reason="no route matched")
    sign_in(api.client, OPERATE_TOKEN)
    listing = api.client.get("/ui/parked").text
    assert "parser was broken" in listing and "no route matched" in listing
    shown = api.client.get(f"/ui/parked/{fixed}").text
    assert "m-9" in shown and "task.user" in shown and "&#34;key&#34;: &#34;p&#34;" in shown
    token = csrf_of(shown)
    queued = api.client.post(f"/ui/parked/{fixed}/requeue", data={"csrf": token}, follow_redirects=False)
    assert queued.status_code == 303 and queued.headers["location"].startswith("/ui/calls/")
    [call] = [c for c in ledger.calls() if c.origin_message_id == "m-9"]
    assert call.state is CallState.QUEUED and queued.headers["location"].startswith(f"/ui/calls/{call.id}?")
    gone = api.client.post(f"/ui/parked/{junk}/discard", data={"csrf": token}, follow_redirects=False)
    assert gone.status_code == 303 and ledger.parked() == []
    assert api.client.get(f"/ui/parked/{junk}").status_code == 404


def test_requeue_all_requeues_the_dead_calls_of_the_filtered_task_only(api: Api) -> None:
    ledger = api.runtime.ledger()
    mine = [seeding.dead(ledger, "record", key=k, effects_dir="x") for k in ("a", "b")]
    other = seeding.dead(ledger, "broken", key="c")
    sign_in(api.client, OPERATE_TOKEN)
    listing = api.client.get("/ui/calls", params={"state": "dead", "task": "record"}).text
    assert "Requeue all 2 dead record call(s)" in listing
    done = api.client.post("/ui/calls/requeue", data={"csrf": csrf_of(listing), "task": "record"})
    assert done.status_code == 200 and "Requeued 2 dead call(s)" in done.text
    assert [ledger.get(i).state for i in mine] == [CallState.REQUEUED] * 2  # type: ignore[union-attr]
    assert ledger.get(other).state is CallState.DEAD  # type: ignore[union-attr]
    assert api.client.post("/ui/calls/requeue", data={"task": "record"}).status_code == 403  # no CSRF token


def test_the_originating_message_body_is_shown_as_json(api: Api) -> None:
    dead = seeding.dead(api.runtime.ledger(), "record", seeding.message("fs", "m-3"), key="a")
    sign_in(api.client, OPERATE_TOKEN)
    page = api.client.get(f"/ui/calls/{dead}").text
    assert "&#34;body&#34;: {\n    &#34;task&#34;: &#34;record&#34;" in page
