"""An acknowledged message's call record survives a crash of PostgreSQL.

The consumer acks a source message once its calls are recorded and queued, so that record
must be on disk by then: a private PostgreSQL server is SIGKILLed (every process at once,
as in a crash) in the middle of 2,000 messages and restarted, and afterwards every message,
all acked, has its call record with its origin.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pika
import pytest
import sqlalchemy as sa
import yaml

from canvasbridge.engine.ledger import Ledger
from tests.cli.conftest import EXECUTABLE, REPO, child_env
from tests.engine.helpers import wait_for
from tests.services import unique_name
from tests.services.private_postgres import PrivatePostgres

MESSAGES = 2000
KILL_AFTER = 800  # records written when PostgreSQL is killed


@pytest.fixture
def private_postgres():
    # A long WAL writer pause keeps asynchronously committed records in memory for up to
    # 10 s (the default is 0.2 s), so a record the consumer did not flush is sure to be
    # lost in the crash rather than lost by chance.
    server = PrivatePostgres(settings={"wal_writer_delay": "10s", "wal_writer_flush_after": "1GB"})
    try:
        server.start()
        yield server
    finally:
        server.close()


def start_process(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(EXECUTABLE), *args], cwd=REPO, env=child_env(env), stdout=out, stderr=subprocess.STDOUT
        )


def stop_process(process: subprocess.Popen[bytes], timeout: float = 60) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"did not stop within {timeout}s after SIGTERM") from None


def _origins(engine: sa.Engine, source: str) -> set[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT DISTINCT origin_message_id FROM task_calls WHERE origin_source = :source"),
            {"source": source},
        ).scalars()
        return set(rows)


def _ready(channel, queue: str) -> int:
    return channel.queue_declare(queue, passive=True).method.message_count


@pytest.mark.slow
def test_every_acknowledged_message_keeps_its_call_record_through_a_postgres_crash(
    tmp_path: Path, rabbitmq_url: str, private_postgres: PrivatePostgres
) -> None:
    names = {"source": unique_name("cb-crash-in"), "celery": unique_name("cb-crash-celery")}
    document = {
        "backends": {
            "broker_url": rabbitmq_url,
            "ledger_url": private_postgres.url,
            "queue": names["celery"],
        },
        "log": {"level": "WARNING"},
        "sources": [
            {
                "type": "amqp",
                "name": "crash",
                "url": "amqp://guest@127.0.0.1:5672/%2F",
                "password": {"env": "CB_TEST_AMQP_PASSWORD"},
                "queues": [{"name": names["source"]}],
                "nack_delay_s": 0.2,
                "nack_delay_cap_s": 1.0,
            }
        ],
        "routes": [{"name": "all", "source": "crash", "parser": "tests.engine.sample_tasks:parse_json"}],
        "tasks": {"record": {"path": "tests.engine.sample_tasks:record"}},
    }
    config_file = tmp_path / "canvasbridge.yaml"
    config_file.write_text(yaml.safe_dump(document))
    Ledger.open(private_postgres.url).close()  # the schema, before the consumer starts
    connection = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.queue_declare(names["source"], durable=True)
    for i in range(MESSAGES):
        body = {"task": "record", "params": {"key": f"k{i}", "effects_dir": str(tmp_path / "fx")}}
        channel.basic_publish(
            "", names["source"], json.dumps(body).encode(), pika.BasicProperties(message_id=f"m{i}")
        )
    ledger = sa.create_engine(private_postgres.url, pool_pre_ping=True)
    log = tmp_path / "consume.log"  # a file, not a pipe: the outage's tracebacks would fill a pipe
    consumer = start_process(
        ["consume", "--config", str(config_file)], log, env={"CB_TEST_AMQP_PASSWORD": "guest"}
    )
    try:
        wait_for(
            lambda: len(_origins(ledger, "crash")) >= KILL_AFTER, timeout=120, what=f"{KILL_AFTER} records"
        )
        private_postgres.kill()
        ledger.dispose()
        time.sleep(2.0)  # the consumer's dispatches fail meanwhile and are handed back
        private_postgres.start()  # crash recovery

        previous = {"count": -1}

        def drained() -> bool:
            # nothing left to deliver, and no record added since the last look
            count = len(_origins(ledger, "crash"))
            settled = _ready(channel, names["source"]) == 0 and count == previous["count"]
            previous["count"] = count
            return settled

        wait_for(drained, timeout=180, interval=2.0, what="the source queue to drain")
    finally:
        code = stop_process(consumer)
    try:
        assert code == 0, log.read_text()[-3000:]
        assert _ready(channel, names["source"]) == 0  # every message was acknowledged
        recorded = _origins(ledger, "crash")
        lost = {f"m{i}" for i in range(MESSAGES)} - recorded
        assert not lost, f"{len(lost)} acknowledged messages lost their call record, e.g. {sorted(lost)[:5]}"
        with ledger.connect() as conn:
            calls = conn.execute(sa.text("SELECT count(*) FROM task_calls")).scalar_one()
        assert calls == MESSAGES  # each message recorded once: nothing recreated without its origin
    finally:
        channel.queue_delete(names["source"])
        channel.queue_delete(names["celery"])
        connection.close()
        ledger.dispose()
