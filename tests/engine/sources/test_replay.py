"""The JSONL file replay source: lines become envelopes, bad lines are dispatched raw,
failures are retried on the same line, progress is reported, and follow mode tails."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from canvasbridge.engine import Envelope
from canvasbridge.engine.sources import FileSourceConfig, build_source
from canvasbridge.engine.sources.replay import FileSource
from canvasbridge.errors import ConfigError
from tests.engine.sources.conftest import Recorder, running


def make_config(path: Path, **overrides: Any) -> FileSourceConfig:
    data: dict[str, Any] = {"type": "file", "name": "backfill", "path": str(path)}
    data.update(overrides)
    return FileSourceConfig.model_validate(data)


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_lines_become_envelopes(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "fs.jsonl",
        json.dumps(
            {
                "body": {"sub": "personer/56154", "operation": "update"},
                "routing_key": "no.uio.fs.FS-prod.personer.update",
                "attributes": {"event_name": "update", "n": 2},
                "message_id": "fs-1",
            }
        ),
        "",
        json.dumps({"body": "plain text body"}),
    )
    recorder = Recorder()
    progress: list[int] = []
    build_source(make_config(path), recorder, progress=progress.append).run(threading.Event())

    first, second = recorder.envelopes
    assert first.body == b'{"sub":"personer/56154","operation":"update"}'
    assert first.routing_key == "no.uio.fs.FS-prod.personer.update"
    assert first.attributes == {"event_name": "update", "n": "2"}
    assert first.message_id == "fs-1"
    assert first.source == "backfill"
    assert second.body == b"plain text body"
    assert second.routing_key is None
    assert second.message_id == "backfill:fs.jsonl:3"  # line number, stable across replays
    assert progress == [1, 2]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not an object"),
        ('{"routing_key": "a.b"}', "no 'body'"),
        ('{"body": 1, "routingkey": "a.b"}', "unknown keys"),
    ],
)
def test_a_bad_line_is_dispatched_raw_with_its_reason_and_the_replay_goes_on(
    tmp_path: Path, line: str, reason: str
) -> None:
    path = write_lines(tmp_path / "bad.jsonl", line, json.dumps({"body": "next"}))
    recorder = Recorder()
    build_source(make_config(path), recorder).run(threading.Event())
    bad, good = recorder.envelopes
    assert bad.body == line.encode()
    assert reason in bad.attributes["replay_error"]
    assert bad.attributes["replay_error"].startswith("line 1:")
    assert good.body == b"next"


def test_a_failing_dispatch_retries_the_same_line_before_going_on(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "r.jsonl", '{"body": "a"}', '{"body": "b"}')
    failures = {"left": 2}

    def flaky(envelope: Envelope) -> None:
        if envelope.body == b"a" and failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("queue down")

    recorder = Recorder(flaky)
    config = make_config(path, retry_backoff_base_s=0.01, retry_backoff_cap_s=0.02)
    build_source(config, recorder).run(threading.Event())
    assert recorder.calls == 4
    assert [e.body for e in recorder.envelopes] == [b"a", b"b"]


def test_stopping_during_retries_names_the_line_to_resume_from(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "s.jsonl", '{"body": "a"}', '{"body": "b"}', '{"body": "c"}')
    stop = threading.Event()

    def down_at_b(envelope: Envelope) -> None:
        if envelope.body == b"b":
            stop.set()
            raise ConnectionError("queue down")

    source = FileSource(make_config(path), Recorder(down_at_b))
    source.run(stop)
    assert (source.count, source.line) == (1, 1)

    resumed = Recorder()
    build_source(make_config(path, start_line=source.line + 1), resumed).run(threading.Event())
    assert [e.body for e in resumed.envelopes] == [b"b", b"c"]


def test_follow_mode_dispatches_appended_lines_until_stopped(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "f.jsonl", '{"body": "first"}')
    recorder = Recorder()
    source = build_source(make_config(path, follow=True, poll_interval_s=0.02), recorder)
    with running(source):
        recorder.wait_count(1)
        with path.open("a", encoding="utf-8") as handle:
            handle.write('{"body": "sec')
            handle.flush()
            handle.write('ond"}\n')
        recorder.wait_count(2)
    assert [e.body for e in recorder.envelopes] == [b"first", b"second"]


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="path"):
        build_source(make_config(tmp_path / "missing.jsonl"), Recorder()).run(threading.Event())
