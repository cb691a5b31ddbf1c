"""``canvasbridge emulate``: fixed ports, a written configuration, and Live Events and source
changes sent to the running emulators from another command."""

from __future__ import annotations

import http.server
import json
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import boto3
import pytest
import yaml

from canvasbridge.engine.config import parse_config
from canvasbridge_emulators.suite import PORT_OFFSETS
from tests.emulators.emulate_process import CLI, lines_until_ready, start_emulate

PORTS_USED = max(PORT_OFFSETS.values()) + 3  # the emulators, the webhook source and the admin API


def free_port_base() -> int:
    """A base port with the whole range free on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + PORTS_USED > 65535:
            continue
        sockets = []
        try:
            for offset in range(PORTS_USED):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return base
    raise RuntimeError("no free range of ports found")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, list[str]]]:
    base = free_port_base()
    config = tmp_path_factory.mktemp("emulate") / "emulated.yaml"
    proc = start_emulate("--size", "tiny", "--port-base", str(base), "--write-config", str(config))
    try:
        lines = lines_until_ready(proc)
        assert lines and lines[-1].startswith("Ctrl-C"), lines
        yield base, config, lines
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
def test_port_base_fixes_each_emulators_port(emulated) -> None:
    base, _, lines = emulated
    urls = {
        words[0]: words[1]
        for words in (line.split() for line in lines)
        if len(words) > 1 and words[1].startswith("http://")
    }
    assert urls == {name: f"http://127.0.0.1:{base + offset}" for name, offset in PORT_OFFSETS.items()}


@pytest.mark.rabbitmq
def test_source_emulators_publishing_to_amqp_name_their_exchange(rabbitmq_url) -> None:
    from canvasbridge_emulators.suite import start_suite

    with start_suite("tiny", seed=1, publish=rabbitmq_url, sqs=False) as suite:
        lines = {line.split()[0]: line for line in suite.lines()}
    for system in ("fs", "cerebrum", "sap"):
        assert f"exchange=outgoing_system-emulator-{system}" in lines[system]


@pytest.mark.rabbitmq
def test_a_configuration_written_for_amqp_notifications_reads_the_emulators_exchanges(
    rabbitmq_url, tmp_path: Path
) -> None:
    from canvasbridge_demo.config_file import write_config
    from canvasbridge_emulators.suite import start_suite

    config = tmp_path / "emulated.yaml"
    with start_suite("tiny", seed=1, publish=rabbitmq_url) as suite:
        published_to = {
            word.split("=", 1)[1]
            for line in suite.lines()
            for word in line.split()
            if word.startswith("exchange=")
        }
        env_file = write_config(suite, config, webhook_port=1, publish=rabbitmq_url)
    parsed = parse_config(yaml.safe_load(config.read_text(encoding="utf-8")))
    uio = next(s for s in parsed.sources if s.name == "uio")
    assert uio.type == "amqp"
    bound = {binding.exchange for queue in uio.queues for binding in queue.bindings}  # type: ignore[union-attr]
    assert len(published_to) == 3 and bound == published_to
    password = rabbitmq_url.split("//", 1)[1].split("@", 1)[0].partition(":")[2]
    assert f":{password}@" not in config.read_text(encoding="utf-8")
    secrets = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert secrets["CB_DEMO_AMQP_PASSWORD"] == password


@pytest.mark.slow
def test_the_written_configuration_points_at_the_emulators_and_keeps_secrets_apart(emulated) -> None:
    base, config, _ = emulated
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    parsed = parse_config(document)
    assert parsed.systems["canvas"]["base_url"] == f"http://127.0.0.1:{base}"
    assert "demo" not in document
    env_file = config.with_suffix(".env")
    secrets = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert "CB_DEMO_CANVAS_TOKEN" in secrets and "CB_DEMO_SALESFORCE_PASSWORD" in secrets
    text = config.read_text(encoding="utf-8")
    assert all(value.strip("'") not in text for value in secrets.values() if len(value) > 8)
    assert env_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    webhook = next(s for s in parsed.sources if s.type == "http")
    assert webhook.port == base + 6  # type: ignore[union-attr]


@pytest.mark.slow
def test_live_events_are_sent_to_the_running_suites_queue_from_another_command(emulated) -> None:
    base, config, _ = emulated
    done = run("emulate", "events", "--count", "7", "--port-base", str(base))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("7 Live Events → ")
    queue_url = yaml.safe_load(config.read_text())["sources"][1]["queue_url"]
    sqs = boto3.client(
        "sqs",
        endpoint_url=f"http://127.0.0.1:{base + PORT_OFFSETS['sqs']}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert int(attributes["Attributes"]["ApproximateNumberOfMessages"]) == 7


class _Webhook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append((self.headers.get("X-Routing-Key", ""), body))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.slow
def test_a_source_change_is_sent_to_the_running_emulator_and_bad_ones_are_named(emulated) -> None:
    base, _, _ = emulated
    # stands in for `canvasbridge consume` with the written configuration's webhook source
    webhook = http.server.ThreadingHTTPServer(("127.0.0.1", base + 6), _Webhook)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    try:
        done = run(
            "emulate",
            "change",
            "cerebrum",
            "person.create",
            "first_name=Ada",
            "last_name=Lovelace",
            "--port-base",
            str(base),
        )
    finally:
        webhook.shutdown()
        webhook.server_close()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["routing_key"].startswith("no.uio.")
    assert [key for key, _ in _Webhook.received] == [json.loads(done.stdout)["routing_key"]]
    unknown = run("emulate", "change", "cerebrum", "person.explode", "--port-base", str(base))
    assert unknown.returncode == 1 and "known:" in unknown.stderr and "person.create" in unknown.stderr
    bad = run("emulate", "change", "ldap", "person.create", "--port-base", str(base))
    assert bad.returncode == 2 and "fs, cerebrum, sap" in bad.stderr
    nowhere = run("emulate", "events", "--count", "1")
    assert nowhere.returncode == 2 and "--port-base" in nowhere.stderr
