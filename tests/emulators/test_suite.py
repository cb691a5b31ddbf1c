"""The emulator suite starts every emulator with one university, serves it, and stops."""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import time
from collections.abc import Iterator

import boto3
import pytest
import requests

from canvasbridge_emulators.suite import Suite, start_suite
from tests.emulators.emulate_process import lines_until_ready, start_emulate

TODAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def suite() -> Iterator[Suite]:
    with start_suite("tiny", seed=1, today=TODAY) as running:
        yield running


def test_every_emulator_is_up_with_one_line_of_url_and_credentials(suite: Suite) -> None:
    assert list(suite.emulators) == ["canvas", "salesforce", "fs", "cerebrum", "sap", "sqs"]
    for line in suite.lines():
        assert re.match(r"^[a-z]+ +http://127\.0\.0\.1:\d+  \w+=", line), line
    for name in ("canvas", "salesforce", "fs", "cerebrum", "sap"):
        state = requests.get(f"{suite[name].url}/_emulator/state", timeout=5)
        assert state.status_code == 200, name


def test_canvas_and_salesforce_share_the_activity_dataset(suite: Suite) -> None:
    participant = suite.activity.participants[0]
    canvas = suite["canvas"]
    user = requests.get(
        f"{canvas.url}/api/v1/users/sis_user_id:{participant.uid}",
        headers={"Authorization": f"Bearer {canvas.credentials['token']}"},
        timeout=5,
    )
    assert user.status_code == 200 and user.json()["name"] == participant.name
    sf = suite["salesforce"]
    token = requests.post(
        f"{sf.url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": sf.credentials["consumer_key"],
            "client_secret": sf.credentials["consumer_secret"],
            "username": sf.credentials["username"],
            "password": sf.credentials["password"],
        },
        timeout=5,
    ).json()["access_token"]
    uid = participant.uid
    soql = f"SELECT Programme__r.LMS_Course_Id__c FROM Programme_Participant__c WHERE Participant_UID__c = '{uid}'"  # noqa: S608
    rows = requests.get(
        f"{sf.url}/services/data/v59.0/query",
        params={"q": soql},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    ).json()["records"]
    course_ids = {int(r["Programme__r"]["LMS_Course_Id__c"]) for r in rows}
    canvas_course_ids = {c.id for c in suite.activity.courses}
    assert course_ids and course_ids <= canvas_course_ids


def test_live_events_go_to_the_sqs_queue(suite: Suite) -> None:
    assert suite.send_live_events(15) == 15
    sqs = boto3.client(
        "sqs",
        endpoint_url=suite["sqs"].url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    got = 0
    deadline = time.monotonic() + 10
    while got < 15 and time.monotonic() < deadline:
        answer = sqs.receive_message(
            QueueUrl=suite.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        for m in answer.get("Messages", []):
            assert "event_name" in m["MessageAttributes"]
            sqs.delete_message(QueueUrl=suite.queue_url, ReceiptHandle=m["ReceiptHandle"])
            got += 1
    assert got == 15


def test_a_message_received_too_often_moves_to_the_dead_letter_queue(suite: Suite) -> None:
    from canvasbridge_emulators.suite import MAX_RECEIVE_COUNT

    sqs = boto3.client(
        "sqs",
        endpoint_url=suite["sqs"].url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    dlq_url = suite["sqs"].credentials["dead_letter_queue"]
    policy = sqs.get_queue_attributes(QueueUrl=suite.queue_url, AttributeNames=["RedrivePolicy"])
    redrive = json.loads(policy["Attributes"]["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == MAX_RECEIVE_COUNT
    assert redrive["deadLetterTargetArn"].endswith(":canvas-live-events-dead-letters")
    sqs.send_message(QueueUrl=suite.queue_url, MessageBody="poison")
    receives = 0
    for _ in range(MAX_RECEIVE_COUNT * 3):  # never deleted, visible again at once
        got = sqs.receive_message(QueueUrl=suite.queue_url, VisibilityTimeout=0, WaitTimeSeconds=0)
        receives += sum(1 for m in got.get("Messages", []) if m["Body"] == "poison")
    assert receives == MAX_RECEIVE_COUNT
    moved = sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"], AttributeNames=["All"])
    assert [m["Body"] for m in moved["Messages"]] == ["poison"]


def test_stop_closes_every_port() -> None:
    running = start_suite("tiny", seed=2, today=TODAY, sources=False, sqs=False)
    urls = running.urls()
    running.stop()
    for url in urls.values():
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/_emulator/state", timeout=2)


@pytest.mark.slow
def test_cli_prints_one_line_per_emulator_and_stops_on_ctrl_c() -> None:
    proc = start_emulate("--size", "tiny", "--no-sources", "--today", "2026-03-02")
    try:
        lines = lines_until_ready(proc, timeout=60)
        names = [line.split()[0] for line in lines if "http://127.0.0.1:" in line]
        assert names == ["canvas", "salesforce", "sqs"], lines
        assert re.match(r"^canvas +http://127\.0\.0\.1:\d+  token=\S+$", lines[0])
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
