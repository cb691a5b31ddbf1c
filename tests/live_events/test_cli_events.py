import datetime as dt
import json

import yaml
from typer.testing import CliRunner

from canvasbridge.cli.main import app
from tests.live_events.factories import FIXTURES, envelope
from tests.live_events.org import Org

runner = CliRunner()


def test_explain_prints_name_handler_result_and_planned_record_offline(tmp_path):
    path = tmp_path / "body.json"
    path.write_text(json.dumps(envelope("discussion_topic_created", sis="S9")))
    result = runner.invoke(app, ["events", "explain", str(path)])
    assert result.exit_code == 0, result.output
    assert "discussion_topic_created (Caliper table)" in result.output
    assert "participant_uid: S9" in result.output and "course_id: 565" in result.output
    assert "would create Canvas_Activitiy__c" in result.output


def test_explain_says_when_the_attribute_and_the_table_disagree(tmp_path):
    path = tmp_path / "body.json"
    path.write_text(json.dumps(envelope("logged_in")))
    result = runner.invoke(
        app, ["events", "explain", str(path), "--attribute", "event_name=logged_out", "--json"]
    )
    [data] = json.loads(result.output)
    assert data["event_name"] == "logged_out"
    assert data["named_by"] == "event_name attribute; the table says logged_in"


def test_explain_reads_examples_files_and_lambda_events(tmp_path):
    result = runner.invoke(app, ["events", "explain", str(FIXTURES / "grade_change.json"), "--json"])
    assert [d["event_name"] for d in json.loads(result.output)] == ["grade_change", "grade_change"]
    event = {
        "Records": [
            {
                "messageId": "m-1",
                "body": json.dumps(envelope("logged_out")),
                "messageAttributes": {"event_name": {"stringValue": "logged_out"}},
            }
        ]
    }
    path = tmp_path / "sqs.json"
    path.write_text(json.dumps(event))
    [data] = json.loads(runner.invoke(app, ["events", "explain", str(path), "--json"]).output)
    assert data["message"] == "m-1" and data["named_by"] == "event_name attribute"


def test_explain_rejects_a_bad_body_with_the_reason_and_exit_1(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"data": [{"type": "Event"}]}')
    result = runner.invoke(app, ["events", "explain", str(path)])
    assert result.exit_code == 1
    assert "data[0].actor: Field required" in result.output


def test_explain_live_reads_salesforce_and_writes_nothing(tmp_path, monkeypatch):
    org = Org(today=dt.datetime.now(dt.UTC).date())
    try:
        for name, value in org.env().items():
            monkeypatch.setenv(name, value)
        config = tmp_path / "c.yaml"
        config.write_text(
            yaml.safe_dump({"systems": {"salesforce": org.settings()}, "live_events": {"timezone": "UTC"}})
        )
        body = tmp_path / "body.json"
        body.write_text(json.dumps(envelope("logged_in", sis="S-OLD")))
        result = runner.invoke(
            app, ["events", "explain", str(body), "--live", "--config", str(config), "--json"]
        )
        [data] = json.loads(result.output)
        assert data["status"] == "skipped" and "active" in data["reason"]
        body.write_text(json.dumps(envelope("logged_in", sis="S-IN")))
        [data] = json.loads(
            runner.invoke(
                app, ["events", "explain", str(body), "--live", "--config", str(config), "--json"]
            ).output
        )
        assert data["salesforce"]["records"][0]["Programme_Participant__c"] == org.ids["participant:S-IN:0"]
        assert org.activities() == []
    finally:
        org.stop()
