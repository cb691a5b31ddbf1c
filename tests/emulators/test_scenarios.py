"""Scenarios: the term-start burst (every notification arrives in RabbitMQ) and drift in
Canvas behind the service's back."""

from __future__ import annotations

import json
import time
from collections import Counter

import pika
import pytest

from canvasbridge_emulators.canvas import CanvasModel
from canvasbridge_emulators.cerebrum import CerebrumChanges
from canvasbridge_emulators.fs import FsChanges
from canvasbridge_emulators.notify import AmqpPublisher, MemoryPublisher, pika_parameters
from canvasbridge_emulators.scenarios import TermStartPlan, drift, term_start
from canvasbridge_emulators.university import University
from tests.services import unique_name


@pytest.mark.rabbitmq
def test_every_term_start_notification_arrives(rabbitmq_url: str) -> None:
    exchange = unique_name("test-term-start")
    connection = pika.BlockingConnection(pika_parameters(rabbitmq_url))
    channel = connection.channel()
    channel.exchange_declare(exchange, exchange_type="topic", auto_delete=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, routing_key="no.uio.#")
    uni = University.generate("small", seed=1)
    fs_pub = AmqpPublisher(rabbitmq_url, exchange, declare=False)
    cerebrum_pub = AmqpPublisher(rabbitmq_url, exchange, declare=False)
    try:
        report = term_start(
            uni, fs=FsChanges(uni, fs_pub), cerebrum=CerebrumChanges(uni, cerebrum_pub), seed=1
        )
        assert report.notifications >= 200, "small should give a burst of hundreds"
        arrived: Counter[str] = Counter()
        deadline = time.monotonic() + 20
        while sum(arrived.values()) < report.notifications and time.monotonic() < deadline:
            method, _props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                time.sleep(0.02)
                continue
            json.loads(body)
            arrived[method.routing_key] += 1
        assert arrived == report.by_routing_key
        assert channel.basic_get(queue, auto_ack=True)[0] is None
    finally:
        fs_pub.close()
        cerebrum_pub.close()
        connection.close()


def test_term_start_enrols_new_students_in_units_and_groups() -> None:
    uni = University.generate("tiny", seed=1)
    before = len(uni.persons)
    publisher = MemoryPublisher()
    plan = TermStartPlan(
        new_students=2, units_per_student=2, returning_changes=0, new_groups=1, export_flips=0
    )
    report = term_start(
        uni, fs=FsChanges(uni, publisher), cerebrum=CerebrumChanges(uni, publisher), plan=plan
    )
    assert report.notifications == len(publisher.messages)
    assert report.by_kind["cerebrum:person.create"] == 2
    new = list(uni.persons.values())[before:]
    for person in new:
        units = uni.units_of_student(person.fs_lopenummer)  # type: ignore[arg-type]
        assert units
        groups = uni.activities_of_student(person.fs_lopenummer)  # type: ignore[arg-type]
        assert sorted(g.rsplit(",", 1)[0] for g in groups) == sorted(units)
    assert report.by_routing_key["no.uio.cerebrum.scim.persons.create"] == 2


def test_term_start_is_deterministic() -> None:
    def run() -> list[str]:
        uni = University.generate("small", seed=1)
        publisher = MemoryPublisher()
        term_start(uni, fs=FsChanges(uni, publisher), cerebrum=CerebrumChanges(uni, publisher), seed=3)
        return [m.body["sub"].rsplit("/", 1)[1] for m in publisher.messages if m.system == "fs"]

    assert run() == run()


@pytest.mark.slow
def test_university_term_start_is_a_burst_of_thousands() -> None:
    uni = University.generate("university", seed=1)
    publisher = MemoryPublisher()
    report = term_start(uni, fs=FsChanges(uni, publisher), cerebrum=CerebrumChanges(uni, publisher))
    print(f"university term start: {report.notifications} notifications in {report.elapsed_s:.1f} s")
    assert report.by_kind["fs:participation.add"] >= 5000


def _provisioned_canvas() -> CanvasModel:
    m = CanvasModel()
    account = m.add_account("MN", sis_account_id="ORG-1")
    users = [m.add_user(f"Student {i}", unique_id=f"s{i}", sis_user_id=f"P{i}") for i in range(6)]
    for n in range(2):
        course = m.add_course(
            f"Course {n}", account_id=account.id, sis_course_id=f"C{n}", workflow_state="available"
        )
        section = m.add_section(course.id, f"Group {n}", sis_section_id=f"C{n}-G1")
        for user in users[:3]:
            m.enroll(user.id, section_id=section.id)
    return m


def test_drift_changes_canvas_behind_the_services_back() -> None:
    canvas = _provisioned_canvas()
    changes = drift(canvas, seed=1)
    actions = Counter(c.action for c in changes)
    assert actions == Counter(
        {
            "rename_course": 1,
            "delete_section": 1,
            "add_unmanaged_course": 1,
            "add_enrollment": 2,
            "delete_enrollment": 1,
        }
    )
    renamed = next(c for c in changes if c.action == "rename_course")
    assert canvas.get_course(renamed.object_id).name.endswith("(renamed by hand)")
    deleted = next(c for c in changes if c.action == "delete_section")
    assert canvas.find_section_by_sis(deleted.detail) is None
    assert deleted.object_id not in [s.id for c in canvas.courses() for s in canvas.sections(c.id)]
    sandbox = next(c for c in changes if c.action == "add_unmanaged_course")
    assert canvas.get_course(sandbox.object_id).sis_course_id is None
    gone = next(c for c in changes if c.action == "delete_enrollment")
    assert canvas.get_enrollment(gone.object_id).workflow_state == "deleted"


def test_drift_needs_managed_courses() -> None:
    with pytest.raises(ValueError, match="provision"):
        drift(CanvasModel())
