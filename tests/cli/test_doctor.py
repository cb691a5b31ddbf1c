"""``canvasbridge doctor`` against the emulators, RabbitMQ and PostgreSQL: every check passes
on a good setup, and each common mistake is one ✗ line saying what is wrong and what to do."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from canvasbridge.cli.main import app
from canvasbridge.engine.ledger import Ledger
from canvasbridge_emulators.canvas import DEFAULT_TOKEN
from canvasbridge_emulators.common import ServerThread
from canvasbridge_emulators.salesforce import create_app as salesforce_app
from canvasbridge_emulators.salesforce.schema import AMBITION_SPEC, schema_from_spec
from canvasbridge_emulators.suite import Suite, start_suite
from tests.services import unique_name

PLAIN_USER_TOKEN = "doctor-plain-user-token"
ENV = {
    "CB_DOCTOR_CANVAS": DEFAULT_TOKEN,
    "CB_DOCTOR_AMQP": "guest",
    "CB_DOCTOR_FS": "",
    "CB_DOCTOR_CEREBRUM": "",
    "CB_DOCTOR_SAP": "",
    "CB_DOCTOR_SF_PASSWORD": "",
    "CB_DOCTOR_SF_TOKEN": "",
    "CB_DOCTOR_SF_SECRET": "",
}


@pytest.fixture(scope="module")
def suite() -> Iterator[Suite]:
    with start_suite("tiny", seed=3) as running:
        canvas = running["canvas"]
        user = canvas.model.add_user("Plain User", unique_id="plain-user")
        canvas.extra["emulator"].add_token(PLAIN_USER_TOKEN, user.id)
        yield running


@pytest.fixture
def env(suite: Suite) -> dict[str, str]:
    sf = suite["salesforce"].credentials
    return {
        **ENV,
        "CB_DOCTOR_FS": suite["fs"].credentials["password"],
        "CB_DOCTOR_CEREBRUM": suite["cerebrum"].credentials["api_key"],
        "CB_DOCTOR_SAP": suite["sap"].credentials["api_key"],
        "CB_DOCTOR_SF_PASSWORD": sf["password"],
        "CB_DOCTOR_SF_TOKEN": sf["security_token"],
        "CB_DOCTOR_SF_SECRET": sf["consumer_secret"],
    }


@pytest.fixture
def ledger_url(postgres_url: str) -> str:
    Ledger.open(postgres_url).close()  # migrated to the newest revision
    return postgres_url


@pytest.fixture
def document(suite: Suite, tmp_path: Path, rabbitmq_url: str, ledger_url: str) -> dict[str, Any]:
    broker = urlsplit(rabbitmq_url)
    sf = suite["salesforce"].credentials
    exchange, queue = unique_name("doctor-x"), unique_name("doctor-q")
    return {
        "backends": {
            "data_dir": str(tmp_path / "data"),
            "broker_url": f"amqp://{broker.username}@{broker.hostname}:{broker.port}//",
            "broker_password": {"env": "CB_DOCTOR_AMQP"},
            "ledger_url": ledger_url,
            "queue": unique_name("doctor-tasks"),
        },
        "log": {"level": "WARNING"},
        "sources": [
            {
                "type": "amqp",
                "name": "uio",
                "url": f"amqp://{broker.username}@{broker.hostname}:{broker.port}/%2F",
                "password": {"env": "CB_DOCTOR_AMQP"},
                "exchanges": [{"name": exchange}],
                "queues": [{"name": queue, "bindings": [{"exchange": exchange, "routing_keys": ["#"]}]}],
            }
        ],
        "routes": [{"name": "fs", "source": "uio", "parser": "canvasbridge.provisioning.parsers.fs:parse"}],
        "systems": {
            "canvas": {
                "base_url": suite["canvas"].url,
                "token": {"env": "CB_DOCTOR_CANVAS"},
                "account_id": 1,
            },
            "fs": {"base_url": suite["fs"].url + "/", "username": "fs", "password": {"env": "CB_DOCTOR_FS"}},
            "cerebrum": {
                "base_url": suite["cerebrum"].url + "/v1/",
                "api_key": {"env": "CB_DOCTOR_CEREBRUM"},
                "api_key_header": suite["cerebrum"].credentials["header"],
            },
            "sap": {"base_url": suite["sap"].url + "/", "api_key": {"env": "CB_DOCTOR_SAP"}},
            "salesforce": salesforce_settings(suite["salesforce"].url, sf),
        },
        "provisioning": {"root_account": "1"},
        "live_events": {"timezone": "UTC"},
    }


def salesforce_settings(url: str, credentials: dict[str, str]) -> dict[str, Any]:
    return {
        "login_url": url,
        "username": credentials["username"],
        "password": {"env": "CB_DOCTOR_SF_PASSWORD"},
        "security_token": {"env": "CB_DOCTOR_SF_TOKEN"},
        "consumer_key": credentials["consumer_key"],
        "consumer_secret": {"env": "CB_DOCTOR_SF_SECRET"},
        "plain_http": True,
    }


def doctor(tmp_path: Path, document: dict[str, Any], env: dict[str, str], *args: str) -> Any:
    path = tmp_path / "canvasbridge.yaml"
    path.write_text(yaml.safe_dump(document))
    return CliRunner().invoke(app, ["doctor", "--config", str(path), "--timeout", "5", *args], env=env)


def line(result: Any, name: str) -> str:
    """The report's line for the check ``name``."""
    found = [text for text in result.stdout.splitlines() if text[2:].startswith(f"{name}  ")]
    assert len(found) == 1, result.stdout
    return found[0]


EXPECTED = {
    "secrets",
    "ledger",
    "ledger migrations",
    "broker",
    "source uio",
    "provisioning: systems",
    "provisioning: canvas",
    "provisioning: fs",
    "provisioning: cerebrum",
    "provisioning: sap",
    "live_events: systems",
    "live_events: salesforce login",
    "live_events: salesforce fields",
    "live_events: canvas",
}


def test_a_good_setup_passes_every_check(
    tmp_path: Path, document: dict[str, Any], env: dict[str, str]
) -> None:
    result = doctor(tmp_path, document, env)
    assert result.exit_code == 0, result.stdout
    lines = result.stdout.splitlines()
    assert all(text.startswith("✓ ") for text in lines[:-1]), result.stdout
    assert lines[-1].startswith(f"{len(lines) - 1} checks, all passed")
    names = {text[2:].split("  ")[0].strip() for text in lines[:-1]}
    assert names >= EXPECTED | {f"broker queue {document['backends']['queue']}"}
    assert "the token administers root account 1 (" in line(result, "provisioning: canvas")
    assert "at 0005, the newest migration" in line(result, "ledger migrations")
    queue = document["sources"][0]["queues"][0]["name"]
    assert "does not exist yet: the consumer declares the queue" in line(result, f"source uio queue {queue}")


def test_json_output(tmp_path: Path, document: dict[str, Any], env: dict[str, str]) -> None:
    result = doctor(tmp_path, document, {**env, "CB_DOCTOR_CANVAS": "not-a-token"}, "--output", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    failed = {c["name"]: c for c in report["checks"] if not c["ok"]}
    assert set(failed) == {"provisioning: canvas", "live_events: canvas"}
    assert failed["provisioning: canvas"]["remedy"].startswith(
        "create a token for an admin of the root account"
    )


def test_wrong_canvas_token(tmp_path: Path, document: dict[str, Any], env: dict[str, str]) -> None:
    result = doctor(tmp_path, document, {**env, "CB_DOCTOR_CANVAS": "not-a-token"})
    assert result.exit_code == 1
    assert line(result, "provisioning: canvas").startswith("✗ ")
    assert (
        "the token is refused (Invalid access token.) → create a token for an admin of the root account"
    ) in line(result, "provisioning: canvas")
    assert "not-a-token" not in result.stdout
    assert result.stdout.splitlines()[-1].startswith(
        f"{len(result.stdout.splitlines()) - 1} checks, 2 failed"
    )


def test_canvas_token_without_admin_rights(
    tmp_path: Path, document: dict[str, Any], env: dict[str, str]
) -> None:
    result = doctor(tmp_path, document, {**env, "CB_DOCTOR_CANVAS": PLAIN_USER_TOKEN})
    assert result.exit_code == 1
    text = line(result, "provisioning: canvas")
    assert text.startswith("✗ ")
    assert "the token is accepted, but its user may not administer account 1 (HTTP 401)" in text
    assert "→ make the token's user an admin of the root account" in text


def test_canvas_account_that_is_not_the_root(
    suite: Suite, tmp_path: Path, document: dict[str, Any], env: dict[str, str]
) -> None:
    sub = suite["canvas"].model.add_account("Faculty", parent_id=1)
    document["provisioning"]["root_account"] = str(sub.id)
    result = doctor(tmp_path, document, env)
    assert result.exit_code == 1
    assert f"account {sub.id} (Faculty) is a sub-account, not the root account" in line(
        result, "provisioning: canvas"
    )
    assert "→ set provisioning.root_account to the root account's id, or self" in line(
        result, "provisioning: canvas"
    )


def org_with_event_id_field(field: dict[str, Any] | None) -> Iterator[ServerThread]:
    """A Salesforce org whose Canvas_Activitiy__c.Caliper_Event_Id__c is ``field`` (absent: None)."""
    spec = {name: dict(fields) for name, fields in AMBITION_SPEC.items()}
    if field is None:
        del spec["Canvas_Activitiy__c"]["Caliper_Event_Id__c"]
    else:
        spec["Canvas_Activitiy__c"]["Caliper_Event_Id__c"] = field
    asgi, _model, _control = salesforce_app(schema=schema_from_spec(spec))
    with ServerThread(asgi) as server:
        yield server


@pytest.fixture
def org_without_event_id() -> Iterator[ServerThread]:
    """A Salesforce org as the original one: no External ID field for the event id."""
    yield from org_with_event_id_field(None)


def test_salesforce_missing_the_external_id_field(
    suite: Suite,
    org_without_event_id: ServerThread,
    tmp_path: Path,
    document: dict[str, Any],
    env: dict[str, str],
) -> None:
    document["systems"]["salesforce"]["login_url"] = org_without_event_id.url
    result = doctor(tmp_path, document, env)
    assert result.exit_code == 1
    assert line(result, "live_events: salesforce login").startswith("✓ ")
    text = line(result, "live_events: salesforce fields")
    assert text.startswith("✗ ")
    assert "Canvas_Activitiy__c has no Caliper_Event_Id__c → add the fields in Salesforce Setup" in text


@pytest.fixture
def org_with_event_id_not_unique() -> Iterator[ServerThread]:
    """An org whose event id field is an External ID but not Unique: duplicates slip in."""
    yield from org_with_event_id_field({"type": "string", "external_id": True})


def test_salesforce_external_id_field_that_is_not_unique(
    suite: Suite,
    org_with_event_id_not_unique: ServerThread,
    tmp_path: Path,
    document: dict[str, Any],
    env: dict[str, str],
) -> None:
    document["systems"]["salesforce"]["login_url"] = org_with_event_id_not_unique.url
    result = doctor(tmp_path, document, env)
    assert result.exit_code == 1
    text = line(result, "live_events: salesforce fields")
    assert text.startswith("✗ ")
    assert "Canvas_Activitiy__c.Caliper_Event_Id__c is not Unique → mark it Unique (case-sensitive)" in text


def test_salesforce_field_that_is_no_external_id(
    tmp_path: Path, document: dict[str, Any], env: dict[str, str]
) -> None:
    document["live_events"]["salesforce"] = {"event_id_field": "Time__c"}
    result = doctor(tmp_path, document, env)
    assert result.exit_code == 1
    assert "Canvas_Activitiy__c.Time__c is not an External ID field" in line(
        result, "live_events: salesforce fields"
    )


def test_ledger_behind_on_migrations(
    tmp_path: Path, document: dict[str, Any], env: dict[str, str], ledger_url: str
) -> None:
    engine = sa.create_engine(ledger_url, poolclass=sa.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0003'"))
    result = doctor(tmp_path, document, env)
    assert result.exit_code == 1
    assert line(result, "ledger").startswith("✓ ")
    text = line(result, "ledger migrations")
    assert text.startswith("✗ ")
    assert (
        "the ledger is at 0003; this version needs 0005 → start one canvasbridge process of this version"
        in text
    )


def test_broker_vhost_that_does_not_exist(
    tmp_path: Path, document: dict[str, Any], env: dict[str, str]
) -> None:
    vhost = unique_name("doctor-no-vhost")
    document["backends"]["broker_url"] = document["backends"]["broker_url"][:-1] + vhost
    result = doctor(tmp_path, document, env)
    assert result.exit_code == 1
    text = line(result, "broker")
    assert f"the vhost '{vhost}' does not exist" in text
    assert f"→ create it (rabbitmqctl add_vhost {vhost};" in text
    assert line(result, "source uio").startswith("✓ ")


def test_broker_down(tmp_path: Path, document: dict[str, Any], env: dict[str, str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    document["backends"]["broker_url"] = f"amqp://guest@127.0.0.1:{port}//"
    result = doctor(tmp_path, document, env)
    assert result.exit_code == 1
    text = line(result, "broker")
    assert f"127.0.0.1:{port}//: cannot connect" in text
    assert "→ check the host and port in backends.broker_url" in text


def test_exchange_the_source_may_not_declare(
    tmp_path: Path, document: dict[str, Any], env: dict[str, str]
) -> None:
    exchange = document["sources"][0]["exchanges"][0]
    exchange["declare"] = False
    result = doctor(tmp_path, document, env)
    assert result.exit_code == 1
    assert (
        "the exchange does not exist, and the source may not declare it (declare: false) → ask the broker's"
        in line(result, f"source uio exchange {exchange['name']}")
    )


def test_missing_secret(tmp_path: Path, document: dict[str, Any], env: dict[str, str]) -> None:
    del env["CB_DOCTOR_SAP"]
    result = doctor(tmp_path, document, env)
    assert result.exit_code == 1
    text = line(result, "secrets")
    assert text.startswith("✗ secrets ")
    assert text.endswith(
        "  systems.sap.api_key (environment variable CB_DOCTOR_SAP is not set) → set each variable, "
        "or create each file, the configuration names (values are never shown)"
    )
    assert "secret missing: environment variable CB_DOCTOR_SAP is not set" in line(
        result, "provisioning: sap"
    )


def test_source_system_refusing_its_credentials(
    tmp_path: Path, document: dict[str, Any], env: dict[str, str]
) -> None:
    result = doctor(tmp_path, document, {**env, "CB_DOCTOR_FS": "wrong-password"})
    assert result.exit_code == 1
    text = line(result, "provisioning: fs")
    assert "credentials refused" in text and "HTTP 401" in text
    assert "→ check username and password in systems.fs" in text
    assert "wrong-password" not in result.stdout


def test_sqs_source(suite: Suite, tmp_path: Path, document: dict[str, Any], env: dict[str, str]) -> None:
    sqs = suite["sqs"].credentials
    aws = {"AWS_ACCESS_KEY_ID": sqs["access_key"], "AWS_SECRET_ACCESS_KEY": sqs["secret_key"]}
    source = {
        "type": "sqs",
        "queue_url": sqs["queue"],
        "endpoint_url": suite["sqs"].url,
        "region": sqs["region"],
    }
    document["sources"] += [
        {**source, "name": "live-events"},
        {**source, "name": "gone", "queue_url": sqs["queue"] + "-gone"},
    ]
    result = doctor(tmp_path, document, {**env, **aws})
    assert result.exit_code == 1
    good = line(result, "source live-events")
    assert good.startswith("✓ ")
    assert good.endswith(f"  {sqs['queue']}: readable, about 0 message(s) waiting")
    text = line(result, "source gone")
    assert (
        f"no queue at {sqs['queue']}-gone → create it, or fix sources.gone.queue_url and sources.gone.region"
        in text
    )


def test_redis_as_broker(
    tmp_path: Path, document: dict[str, Any], env: dict[str, str], redis_url: str
) -> None:
    document["backends"].pop("broker_password")
    document["backends"]["broker_url"] = redis_url
    result = doctor(tmp_path, document, env)
    assert result.exit_code == 0, result.stdout
    assert line(result, "broker").endswith(f"  {redis_url}: logged in")
    assert "broker queue" not in result.stdout  # a passive declare is RabbitMQ's


def test_ledger_down(tmp_path: Path, document: dict[str, Any], env: dict[str, str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    document["backends"]["ledger_url"] = f"postgresql+psycopg://postgres@127.0.0.1:{port}/ledger"
    result = doctor(tmp_path, document, env)
    assert result.exit_code == 1
    text = line(result, "ledger")
    assert f"postgres@127.0.0.1:{port}/ledger: cannot connect (" in text
    assert "→ check backends.ledger_url and backends.ledger_password" in text
    assert line(result, "ledger migrations").endswith(
        "not checked: the ledger does not answer → see the ledger line"
    )


def test_salesforce_field_the_user_may_not_write(
    tmp_path: Path, document: dict[str, Any], env: dict[str, str]
) -> None:
    document["live_events"]["salesforce"] = {"detail_field": "Name"}  # an auto-number: Salesforce sets it
    result = doctor(tmp_path, document, env)
    assert result.exit_code == 1
    assert (
        "Canvas_Activitiy__c.Name is not createable for this user → give the integration user edit access"
        in line(result, "live_events: salesforce fields")
    )
