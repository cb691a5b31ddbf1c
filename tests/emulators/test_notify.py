"""Change notifications: every change kind of FS, Cerebrum and SAP publishes exactly one
message, with the system's routing key and body, into a real RabbitMQ queue; plus the
HTTP and in-memory publishers and the change endpoint's errors."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pika
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from canvasbridge_emulators import cerebrum, fs, sap
from canvasbridge_emulators.common import ServerThread
from canvasbridge_emulators.notify import (
    AmqpPublisher,
    HttpPublisher,
    MemoryPublisher,
    fs_notification,
    pika_parameters,
    publisher_for,
)
from canvasbridge_emulators.university import University
from tests.services import unique_name

FS_ISS = "FS-emulator"


@dataclass(frozen=True)
class Case:
    system: str
    kind: str
    params: Callable[[University], dict[str, Any]]
    routing_key: str
    sub: Callable[[University, dict[str, Any]], str]  # expected end of ``sub``


def _unit(uni: University) -> str:
    return max(uni.undervisning, key=lambda k: len(uni.participants(k)))


def _group(uni: University) -> str:
    return next(a.key for a in uni.activities_of(_unit(uni)) if a.aktivitet == "2-1")


def _outsider(uni: University) -> int:
    unit = _unit(uni)
    return next(
        p.fs_lopenummer
        for p in uni.students()
        if p.fs_lopenummer and not uni.is_participant(p.fs_lopenummer, unit)
    )


def _insider(uni: University) -> int:
    return uni.activity_participants(_group(uni))[0]


def _teacher(uni: University) -> int:
    return next(p.fs_lopenummer for p in uni.staff() if p.fs_lopenummer)


def _enc(key: str) -> str:
    return key.replace("HØST", "H%C3%98ST").replace("VÅR", "V%C3%85R")


def _institute(uni: University) -> int:
    return next(u.location_id for u in uni.org_units.values() if u.institutt and not u.gruppe)


def _two_accounts(uni: University) -> Any:
    return next(p for p in uni.persons.values() if len(p.account_names) > 1)


def _first_sap_role(uni: University) -> Any:
    """A role of the first employee (the generator gives them one)."""
    return uni.sap_roles_of(next(uni.staff()).sap_employee_id)[0]


def _last_person(uni: University) -> Any:
    return list(uni.persons.values())[-1]


def _fs(resource: str, op: str) -> str:
    return f"no.uio.fs.{FS_ISS}.{resource}.{op}"


CASES = [
    # FS
    Case("fs", "person.create", lambda u: {"first_name": "Kari", "last_name": "Nordmann"}, _fs("personer", "create"),
         lambda u, p: f"personer/{_last_person(u).fs_lopenummer}"),
    Case("fs", "emne.create", lambda u: {"kode": "TST1000", "name_nb": "Test", "location_id": _institute(u)},
         _fs("emner", "create"), lambda u, p: "emner/185,TST1000,1"),
    Case("fs", "unit.create", lambda u: {"emne": next(iter(u.emner)), "year": 2028, "term": "HØST"},
         _fs("undervisning", "create"), lambda u, p: f"undervisning/{_enc(p['emne'])},2028,H%C3%98ST,1"),
    Case("fs", "unit.modify", lambda u: {"key": _unit(u), "lukket": True}, _fs("undervisning", "update"),
         lambda u, p: f"undervisning/{_enc(p['key'])}"),
    Case("fs", "unit.export", lambda u: {"key": _unit(u), "flag": False}, _fs("undervisning", "update"),
         lambda u, p: f"undervisning/{_enc(p['key'])}"),
    Case("fs", "activity.create", lambda u: {"unit": _unit(u), "aktivitet": "3-1", "own_course": True},
         _fs("undervisningsaktiviteter", "create"), lambda u, p: f"undervisningsaktiviteter/{_enc(p['unit'])},3-1"),
    Case("fs", "activity.modify", lambda u: {"key": _group(u), "name": "Ny gruppe"},
         _fs("undervisningsaktiviteter", "update"), lambda u, p: f"undervisningsaktiviteter/{_enc(p['key'])}"),
    Case("fs", "activity.export", lambda u: {"key": _group(u), "flag": False},
         _fs("undervisningsaktiviteter", "update"), lambda u, p: f"undervisningsaktiviteter/{_enc(p['key'])}"),
    Case("fs", "activity.own_course", lambda u: {"key": _group(u), "flag": True},
         _fs("undervisningsaktiviteter", "update"), lambda u, p: f"undervisningsaktiviteter/{_enc(p['key'])}"),
    Case("fs", "participation.add", lambda u: {"lopenummer": _outsider(u), "unit": _unit(u)},
         _fs("studentundervisning", "create"), lambda u, p: f"studentundervisning/{p['lopenummer']},{_enc(p['unit'])}"),
    Case("fs", "participation.remove", lambda u: {"lopenummer": _insider(u), "unit": _unit(u)},
         _fs("studentundervisning", "delete"), lambda u, p: f"studentundervisning/{p['lopenummer']},{_enc(p['unit'])}"),
    Case("fs", "activity_participation.add", lambda u: {"lopenummer": _outsider(u), "activity": _group(u)},
         _fs("studentundervisningsaktiviteter", "create"),
         lambda u, p: f"studentundervisningsaktiviteter/{p['lopenummer']},{_enc(p['activity'])}"),
    Case("fs", "activity_participation.remove", lambda u: {"lopenummer": _insider(u), "activity": _group(u)},
         _fs("studentundervisningsaktiviteter", "delete"),
         lambda u, p: f"studentundervisningsaktiviteter/{p['lopenummer']},{_enc(p['activity'])}"),
    Case("fs", "role.add", lambda u: {"lopenummer": _teacher(u), "rolle": "FAGLÆRER", "unit": _unit(u)},
         _fs("personroller", "create"), lambda u, p: f"personroller/{u.roles_of_person(p['lopenummer'])[-1].key}"),
    Case("fs", "role.remove", lambda u: {"key": next(iter(u.personroller))}, _fs("personroller", "delete"),
         lambda u, p: f"personroller/{p['key']}"),
    # Cerebrum
    Case("cerebrum", "person.create", lambda u: {"first_name": "Ola", "last_name": "Nordmann"},
         "no.uio.cerebrum.scim.persons.create", lambda u, p: f"/v1/persons/{_last_person(u).person_id}"),
    Case("cerebrum", "person.modify", lambda u: {"person_id": next(iter(u.persons)), "last_name": "Berg"},
         "no.uio.cerebrum.scim.persons.modify", lambda u, p: f"/v1/persons/{p['person_id']}"),
    Case("cerebrum", "account.create", lambda u: {"person_id": next(iter(u.persons)), "name": "nyttkonto"},
         "no.uio.cerebrum.scim.accounts.create", lambda u, p: "/v1/accounts/nyttkonto"),
    Case("cerebrum", "account.quarantine", lambda u: {"name": next(iter(u.accounts)), "type": "generell"},
         "no.uio.cerebrum.scim.accounts.deactivate", lambda u, p: f"/v1/accounts/{p['name']}"),
    Case("cerebrum", "account.release", lambda u: {"name": next(n for n in u.accounts if u.is_locked(n))},
         "no.uio.cerebrum.scim.accounts.activate", lambda u, p: f"/v1/accounts/{p['name']}"),
    Case("cerebrum", "account.set_primary",
         lambda u: {"person_id": _two_accounts(u).person_id,
                    "name": next(n for n in _two_accounts(u).account_names if n != _two_accounts(u).primary_account)},
         "no.uio.cerebrum.scim.accounts.modify", lambda u, p: f"/v1/accounts/{p['name']}"),
    Case("cerebrum", "group.add_member", lambda u: {"group": "lms-admin", "account": list(u.accounts)[-1]},
         "no.uio.cerebrum.scim.groups.add", lambda u, p: "/v1/groups/lms-admin"),
    Case("cerebrum", "group.remove_member", lambda u: {"group": "lms-admin", "account": u.group("lms-admin").members[0]},
         "no.uio.cerebrum.scim.groups.remove", lambda u, p: "/v1/groups/lms-admin"),
    # SAP
    Case("sap", "location.create", lambda u: {"parent_id": _institute(u), "name_nb": "Ny seksjon"},
         "no.uio.sap.scim.locations.create", lambda u, p: f"locations({max(u.org_units)})"),
    Case("sap", "location.move",
         lambda u: {"location_id": _institute(u), "parent_id": u.root_location_id},
         "no.uio.sap.scim.locations.modify", lambda u, p: f"locations({p['location_id']})"),
    Case("sap", "location.rename", lambda u: {"location_id": _institute(u), "name_nb": "Nytt navn"},
         "no.uio.sap.scim.locations.modify", lambda u, p: f"locations({p['location_id']})"),
    Case("sap", "employee.create", lambda u: {"first_name": "Per", "last_name": "Lund", "location_id": _institute(u)},
         "no.uio.sap.scim.employees.create", lambda u, p: f"employees({_last_person(u).sap_employee_id})"),
    Case("sap", "employee.move",
         lambda u: {"employee_id": next(u.staff()).sap_employee_id, "location_id": u.root_location_id},
         "no.uio.sap.scim.employees.modify", lambda u, p: f"employees({p['employee_id']})"),
    Case("sap", "role.grant",
         lambda u: {"employee_id": next(u.staff()).sap_employee_id, "role_name": "LEDER", "location_id": _institute(u)},
         "no.uio.sap.scim.employees.modify", lambda u, p: f"employees({p['employee_id']})"),
    Case("sap", "role.end", lambda u: {"role_id": _first_sap_role(u).role_id},
         "no.uio.sap.scim.employees.modify", lambda u, p: f"employees({u.sap_roles[p['role_id']].employee_id})"),
    Case("sap", "role.remove", lambda u: {"role_id": _first_sap_role(u).role_id},
         "no.uio.sap.scim.employees.modify", lambda u, p: f"employees({next(u.staff()).sap_employee_id})"),
]  # fmt: skip

APPS = {"fs": fs.create_app, "cerebrum": cerebrum.create_app, "sap": sap.create_app}


@dataclass
class Bus:
    url: str
    exchange: str
    channel: Any
    queue: str

    def drain(self, expected: int, timeout_s: float = 10.0) -> list[tuple[str, dict[str, Any]]]:
        """Wait for ``expected`` messages, then make sure no more are there."""
        got: list[tuple[str, dict[str, Any]]] = []
        deadline = time.monotonic() + timeout_s
        while len(got) < expected and time.monotonic() < deadline:
            method, _props, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                time.sleep(0.02)
                continue
            got.append((method.routing_key, json.loads(body)))
        time.sleep(0.05)
        method, _props, body = self.channel.basic_get(self.queue, auto_ack=True)
        if method is not None:
            got.append((method.routing_key, json.loads(body)))
        return got


@pytest.fixture
def bus(rabbitmq_url: str) -> Iterator[Bus]:
    exchange = unique_name("test-emulator-changes")
    connection = pika.BlockingConnection(pika_parameters(rabbitmq_url))
    channel = connection.channel()
    channel.exchange_declare(exchange, exchange_type="topic", durable=False, auto_delete=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, routing_key="#")
    try:
        yield Bus(rabbitmq_url, exchange, channel, queue)
    finally:
        connection.close()


def _amqp(bus: Bus) -> AmqpPublisher:
    return AmqpPublisher(bus.url, bus.exchange, declare=False)


@pytest.mark.rabbitmq
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.system}:{c.kind}")
def test_each_change_publishes_exactly_one_notification(bus: Bus, case: Case) -> None:
    uni = University.generate("tiny", seed=1)
    publisher = _amqp(bus)
    app, _model, _control, _changes = APPS[case.system](uni, publisher=publisher)
    params = case.params(uni)
    version = uni.version
    with ServerThread(app) as server:
        answer = httpx.post(f"{server.url}/_emulator/changes", json={"kind": case.kind, "params": params})
        assert answer.status_code == 200, answer.text
        messages = bus.drain(1)
    publisher.close()
    assert uni.version > version, "the change must reach the university"
    assert len(messages) == 1, messages
    routing_key, body = messages[0]
    assert routing_key == case.routing_key
    assert body == answer.json()["notification"]["body"]
    assert body["sub"].endswith(case.sub(uni, params)), (body["sub"], case.sub(uni, params))
    assert re.fullmatch(r"[0-9a-f-]{36}", body["jti"])
    if case.system == "fs":
        assert set(body) - {"person_id"} == {"sub", "iss", "iat", "operation", "jti"}
        assert body["iss"] == FS_ISS and body["operation"] == routing_key.rsplit(".", 1)[1]
        assert isinstance(body["iat"], str) and len(body["iat"]) == 13 and body["iat"].isdigit()
        assert body["sub"].split("/", 1)[0] == routing_key.split(".")[4]
    else:
        event = routing_key.rsplit(".", 1)[1]
        assert body["eventUris"] == [f"urn:ietf:params:event:SCIM:{event}"]
        assert isinstance(body["iat"], int)
        assert body["sub"].startswith(server.url)
    if case.system == "cerebrum":
        assert body["resourceType"] == routing_key.split(".")[4]
        assert isinstance(body["aud"], list) and body["iss"] == "cerebrum"
        if case.kind == "account.set_primary":
            assert body["urn:ietf:params:event:SCIM:modify"] == {"attributes": ["accountType"]}


def test_every_change_kind_is_covered() -> None:
    covered = {(c.system, c.kind) for c in CASES}
    uni = University.generate("tiny", seed=1)
    for system, factory in APPS.items():
        _app, _model, _control, changes = factory(uni)
        assert {(system, k) for k in changes.kinds()} <= covered


def test_failed_changes_publish_nothing_and_say_why() -> None:
    uni = University.generate("tiny", seed=1)
    publisher = MemoryPublisher()
    app, *_ = fs.create_app(uni, publisher=publisher)
    with ServerThread(app) as server:
        url = f"{server.url}/_emulator/changes"
        assert httpx.post(url, json={"kind": "nonsense"}).status_code == 400
        missing = httpx.post(
            url, json={"kind": "unit.export", "params": {"key": "185,X,1,2026,HØST,1", "flag": 1}}
        )
        assert missing.status_code == 404 and "185,X,1" in missing.json()["error"]
        assert httpx.post(url, json={"kind": "unit.export", "params": {"nope": 1}}).status_code == 422
        assert httpx.post(url, content=b"not json").status_code == 400
        kinds = httpx.get(url).json()
        assert "participation.add" in kinds["kinds"] and kinds["published"] == 0
    assert publisher.messages == []


def test_flat_change_bodies_are_accepted_and_memory_keeps_them() -> None:
    uni = University.generate("tiny", seed=1)
    publisher = MemoryPublisher()
    app, *_ = sap.create_app(uni, publisher=publisher)
    with ServerThread(app) as server:
        body = {
            "kind": "location.rename",
            "location_id": uni.root_location_id,
            "name_nb": "Universitetet i X",
        }
        httpx.post(f"{server.url}/_emulator/changes", json=body).raise_for_status()
    (message,) = publisher.take()
    assert message.routing_key == "no.uio.sap.scim.locations.modify"
    assert uni.org_unit(uni.root_location_id).name_nb == "Universitetet i X"


def test_http_publisher_posts_json_with_the_routing_key_header() -> None:
    received: list[tuple[str, dict[str, Any]]] = []

    async def hook(request: Request) -> JSONResponse:
        received.append((request.headers["x-routing-key"], await request.json()))
        return JSONResponse({"ok": True})

    with ServerThread(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as server:
        publisher = publisher_for(f"{server.url}/hook", "fs")
        assert isinstance(publisher, HttpPublisher)
        publisher.publish(fs_notification("undervisning", "update", "185,INF1000,1,2026,HØST,1"))
        publisher.close()
    ((key, body),) = received
    assert key == "no.uio.fs.FS-emulator.undervisning.update"
    assert body["sub"] == "undervisning/185,INF1000,1,2026,H%C3%98ST,1"


def test_the_kombu_default_vhost_spelling_means_slash() -> None:
    assert pika_parameters("amqp://guest:guest@127.0.0.1:5672//").virtual_host == "/"
    assert pika_parameters("amqp://guest:guest@127.0.0.1:5672/%2F").virtual_host == "/"
    assert pika_parameters("amqp://guest:guest@127.0.0.1:5672/app").virtual_host == "app"


def test_publisher_targets() -> None:
    assert isinstance(publisher_for(None, "fs"), MemoryPublisher)
    amqp = publisher_for("amqp://guest:guest@127.0.0.1:5672/%2F", "cerebrum")
    assert isinstance(amqp, AmqpPublisher) and amqp.exchange == "outgoing_system-emulator-cerebrum"
    with pytest.raises(ValueError, match="cannot publish"):
        publisher_for("ftp://x", "fs")


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.system}:{c.kind}")
def test_provisioning_parsers_read_every_notification(case: Case) -> None:
    """The contract with the consumer: canvasbridge's own parsers accept every message."""
    from canvasbridge.engine import Envelope
    from canvasbridge.provisioning.parsers import cerebrum as cerebrum_parser
    from canvasbridge.provisioning.parsers import fs as fs_parser
    from canvasbridge.provisioning.parsers import sap as sap_parser

    uni = University.generate("tiny", seed=1)
    _app, _model, _control, changes = APPS[case.system](uni)
    note = changes.apply(case.kind, case.params(uni), base_url="http://127.0.0.1:8000")
    envelope = Envelope(
        body=note.payload(), source="uio", message_id=note.body["jti"], routing_key=note.routing_key
    )
    parse = {"fs": fs_parser, "cerebrum": cerebrum_parser, "sap": sap_parser}[case.system].parse
    calls = parse(envelope)
    needs_no_work = {
        ("fs", "person.create"),
        ("cerebrum", "group.add_member"),
        ("cerebrum", "group.remove_member"),
    }
    assert bool(calls) is ((case.system, case.kind) not in needs_no_work), calls


def test_a_publish_failure_answers_502_and_says_the_change_was_applied() -> None:
    class Broken(MemoryPublisher):
        def publish(self, notification: Any) -> None:
            raise ConnectionError("broker down")

    uni = University.generate("tiny", seed=1)
    app, *_ = sap.create_app(uni, publisher=Broken())
    with ServerThread(app) as server:
        answer = httpx.post(
            f"{server.url}/_emulator/changes",
            json={"kind": "location.rename", "params": {"location_id": uni.root_location_id, "name_nb": "X"}},
        )
    assert answer.status_code == 502 and answer.json()["applied"] is True
    assert "broker down" in answer.json()["error"]
