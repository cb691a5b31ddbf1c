"""Dispatcher rules, on the embedded default (SQLite ledger and broker, no servers)."""

from canvasbridge.engine.dispatch import DispatchOutcome
from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.runtime import Runtime
from tests.engine.helpers import embedded_config

PARSER = "tests.engine.sample_tasks:parse_json"


def runtime_for(tmp_path, unmatched="park"):
    config = embedded_config(
        tmp_path,
        sources=[{"type": "file", "name": "replay", "path": str(tmp_path / "in.jsonl")}],
        routes=[
            {"name": "json", "source": "replay", "match": {"routing_key": "^job\\."}, "parser": PARSER},
            {
                "name": "noop",
                "source": "replay",
                "match": {"routing_key": "^noop$"},
                "parser": "tests.engine.sample_tasks:parse_nothing",
            },
        ],
        unmatched={"default": unmatched},
    )
    return Runtime(config)


def envelope(body, routing_key="job.x", message_id="m1"):
    return Envelope(
        body if isinstance(body, bytes) else body.encode(),
        source="replay",
        message_id=message_id,
        routing_key=routing_key,
    )


def test_a_malformed_body_is_parked_with_its_reason_and_the_next_message_is_handled(tmp_path):
    runtime = runtime_for(tmp_path)
    dispatch = runtime.dispatcher()
    bad = dispatch(envelope("{not json", message_id="bad"))
    assert bad.outcome is DispatchOutcome.PARKED
    assert "body is not valid JSON" in bad.reason and "parse_json" in bad.reason
    good = dispatch(
        envelope('{"task": "record", "params": {"key": "a", "effects_dir": "/tmp/x"}}', message_id="good")
    )
    assert good.outcome is DispatchOutcome.QUEUED and len(good.calls) == 1
    (parked,) = runtime.ledger().parked()
    assert parked.message_id == "bad" and parked.body == b"{not json"


def test_a_parser_naming_an_unconfigured_task_parks_the_message(tmp_path):
    result = runtime_for(tmp_path).dispatcher()(envelope('{"task": "no_such_task"}'))
    assert (
        result.outcome is DispatchOutcome.PARKED
        and "'no_such_task', which is not configured" in result.reason
    )


def test_unmatched_messages_are_parked_or_acknowledged_by_policy(tmp_path):
    parked = runtime_for(tmp_path / "a", unmatched="park").dispatcher()(envelope("{}", routing_key="other"))
    assert parked.outcome is DispatchOutcome.PARKED and "no route matched" in parked.reason
    acked_runtime = runtime_for(tmp_path / "b", unmatched="ack")
    acked = acked_runtime.dispatcher()(envelope("{}", routing_key="other"))
    assert acked.outcome is DispatchOutcome.UNMATCHED
    assert acked_runtime.ledger().parked() == []


def test_a_parser_may_ask_for_no_work(tmp_path):
    runtime = runtime_for(tmp_path)
    assert runtime.dispatcher()(envelope("{}", routing_key="noop")).outcome is DispatchOutcome.NOTHING
    assert runtime.ledger().count() == 0


def test_the_originating_message_is_kept_with_each_call(tmp_path):
    runtime = runtime_for(tmp_path)
    result = runtime.dispatcher()(
        envelope('{"task": "record", "params": {"key": "a", "effects_dir": "/x"}}', message_id="orig-7")
    )
    record = runtime.ledger().get(result.calls[0].id)
    assert record.origin_message_id == "orig-7" and record.correlation_id == "orig-7"
    assert record.origin_routing_key == "job.x" and '"task": "record"' in record.origin_message["body"]


def test_a_batch_parks_its_bad_messages_alone_and_records_the_others_with_their_own_origin(tmp_path):
    runtime = runtime_for(tmp_path)
    job = '{"task": "record", "params": {"key": "%s", "effects_dir": "/tmp/x"}}'
    results = runtime.dispatcher().dispatch_many(
        [
            envelope(job % "a", message_id="m-a"),
            envelope("{not json", message_id="m-bad"),
            envelope("{}", routing_key="noop", message_id="m-noop"),
            envelope(job % "b", message_id="m-b"),
            envelope(job % "a", message_id="m-a2"),  # the same call as m-a: folded
        ]
    )
    assert [r.outcome for r in results] == [
        DispatchOutcome.QUEUED,
        DispatchOutcome.PARKED,
        DispatchOutcome.NOTHING,
        DispatchOutcome.QUEUED,
        DispatchOutcome.QUEUED,
    ]
    ledger = runtime.ledger()
    a, b, a2 = results[0].calls[0], results[3].calls[0], results[4].calls[0]
    assert a2.folded and a2.id == a.id and not b.folded
    assert ledger.get(a.id).origin_message_id == "m-a" and ledger.get(b.id).origin_message_id == "m-b"
    assert ledger.get(b.id).correlation_id == "m-b"
    assert [p.message_id for p in ledger.parked()] == ["m-bad"]
