"""The packaged zip, unpacked alone on sys.path of a fresh interpreter, handles a batch."""

import datetime as dt
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from canvasbridge_emulators.canvas import DEFAULT_TOKEN
from canvasbridge_emulators.canvas import create_app as canvas_app
from canvasbridge_emulators.common import ServerThread
from tests.live_events.factories import envelope
from tests.live_events.org import Org

ROOT = Path(__file__).resolve().parents[2]

RUNNER = """
import json, sys
sys.path[:] = [sys.argv[1]] + [p for p in sys.path if 'site-packages' not in p and 'dist-packages' not in p]
import canvasbridge.live_events.lambda_handler as h
assert h.__file__.startswith(sys.argv[1]), h.__file__
import pydantic, simple_salesforce
assert pydantic.__file__.startswith(sys.argv[1])
print(json.dumps(h.lambda_handler(json.load(sys.stdin), None)))
"""


@pytest.mark.slow
def test_packaged_zip_runs_alone_in_a_fresh_interpreter(tmp_path):
    zip_path = tmp_path / "function.zip"
    subprocess.run(
        [sys.executable, str(ROOT / "deploy/lambda/package.py"), "--output", str(zip_path)],
        check=True,
        capture_output=True,
    )
    unpacked = tmp_path / "function"
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        archive.extractall(unpacked)
    assert "canvasbridge/live_events/lambda_handler.py" in names
    assert not any(
        name.startswith(
            ("canvasbridge/engine/", "canvasbridge_emulators/", "canvasbridge_demo/", "celery/", "moto/")
        )
        for name in names
    )

    org = Org(today=dt.datetime.now(dt.UTC).date())  # the child's "today" is the real one
    canvas = canvas_app()
    user = canvas.model.add_user("Ada Lovelace", unique_id="ada", sis_user_id="S-IN")
    canvas_server = ServerThread(canvas.app).start()
    try:
        c = org.model.credentials
        env = {
            "SALESFORCE_LOGIN_URL": org.url,
            "SALESFORCE_USER": c.username,
            "SALESFORCE_PASSWORD": c.password,
            "SALESFORCE_SECURITY_TOKEN": c.security_token,
            "SALESFORCE_CONSUMER_KEY": c.consumer_key,
            "SALESFORCE_CONSUMER_SECRET": c.consumer_secret,
            "SALESFORCE_PLAIN_HTTP": "true",
            "LOG_LEVEL": "INFO",
            "LIVE_EVENTS_TIMEZONE": "UTC",
            "CANVAS_URL": canvas_server.url + "/api/v1",
            "CANVAS_TOKEN": DEFAULT_TOKEN,
        }
        batch = {
            "Records": [
                {
                    "messageId": "m1",
                    "body": json.dumps(envelope("logged_in", sis="S-IN")),
                    "attributes": {},
                    "messageAttributes": {"event_name": {"stringValue": "logged_in", "dataType": "String"}},
                },
                {"messageId": "m2", "body": "not json", "attributes": {}, "messageAttributes": {}},
                {
                    "messageId": "m3",
                    "body": json.dumps(envelope("logged_out", sis=None, user=user.id)),
                    "attributes": {},
                    "messageAttributes": {},
                },  # the SIS id comes from the Canvas emulator
            ]
        }
        result = subprocess.run(
            [sys._base_executable, "-I", "-S", "-c", RUNNER, str(unpacked)],
            input=json.dumps(batch),
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert json.loads(result.stdout.strip().splitlines()[-1]) == {
            "batchItemFailures": [{"itemIdentifier": "m2"}]
        }
        assert sorted(r["Canvas_Activity__c"] for r in org.activities()) == ["Logged In", "Logged Out"], (
            result.stderr[-3000:]
        )
    finally:
        org.stop()
        canvas_server.stop()
