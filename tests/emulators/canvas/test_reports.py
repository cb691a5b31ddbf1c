"""The provisioning report: start, poll, download; Canvas's columns with Canvas ids and created_by_sis."""

from __future__ import annotations

import csv
import io
import threading
import time
import zipfile
from typing import Any

import httpx
import pytest
from canvasapi import Canvas

from canvasbridge_emulators.canvas import CanvasEmulator
from canvasbridge_emulators.canvas.reports import COLUMNS


def run_report(canvas: Canvas, **parameters: object) -> object:
    account = canvas.get_account(1)
    report = account.create_report("provisioning_csv", parameters=parameters)
    deadline = time.monotonic() + 10
    while report.status != "complete" and time.monotonic() < deadline:
        time.sleep(0.02)
        report = account.get_report("provisioning_csv", report.id)
    assert report.status == "complete"
    return report


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_provisioning_report_round_trip_gives_a_zip_of_csvs(canvas: Canvas, emu: CanvasEmulator) -> None:
    course = emu.model.find_course_by_sis("IN1000-2026H")
    section = emu.model.find_section_by_sis("IN1000-2026H-G1")
    teacher = emu.model.find_user_by_sis("P01")
    emu.model.enroll(teacher.id, section_id=section.id, type="TeacherEnrollment", state="active")
    emu.model.suspend_user(emu.model.find_user_by_sis("P02").id)
    report = run_report(
        canvas, users=True, accounts=True, terms=True, courses=True, sections=True, enrollments=True
    )
    download = httpx.get(report.attachment["url"])  # the verifier URL needs no token
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    assert set(files) == {
        "users.csv",
        "accounts.csv",
        "terms.csv",
        "courses.csv",
        "sections.csv",
        "enrollments.csv",
    }
    for name, data in files.items():
        assert tuple(next(csv.reader(io.StringIO(data.decode())))) == COLUMNS[name.removesuffix(".csv")]
    users = {r["user_id"]: r for r in rows(files["users.csv"])}
    assert len(users) == 25
    assert users["P01"]["canvas_user_id"] == str(teacher.id) and users["P01"]["login_id"] == "user01"
    assert users["P02"]["status"] == "suspended" and users["P01"]["created_by_sis"] == "false"
    courses = rows(files["courses.csv"])
    assert [(c["course_id"], c["status"], c["account_id"], c["term_id"]) for c in courses] == [
        ("IN1000-2026H", "active", "ORG-10", "2026H")
    ]
    assert courses[0]["canvas_course_id"] == str(course.id)
    enrollments = rows(files["enrollments.csv"])
    assert [(e["user_id"], e["role"], e["section_id"], e["status"]) for e in enrollments] == [
        ("P01", "teacher", "IN1000-2026H-G1", "active")
    ]
    accounts = {r["account_id"]: r["parent_account_id"] for r in rows(files["accounts.csv"])}
    assert accounts == {"ORG-10": "", "ORG-11": "ORG-10"}


def test_one_table_comes_as_a_plain_csv_and_file_url_works_with_a_token(
    canvas: Canvas, http: httpx.Client, emu: CanvasEmulator
) -> None:
    report = run_report(canvas, courses=True)
    response = http.get(report.file_url)
    assert response.headers["content-type"].startswith("text/csv")
    assert [r["course_id"] for r in rows(response.content)] == ["IN1000-2026H"]


def test_sis_created_objects_are_flagged_and_deleted_ones_hidden_unless_asked(
    canvas: Canvas, http: httpx.Client, emu: CanvasEmulator
) -> None:
    csv_body = "course_id,short_name,long_name,status\nSIS-1,S1,Sis One,active\nSIS-2,S2,Sis Two,active\n"
    record = http.post(
        "/api/v1/accounts/1/sis_imports?extension=csv", content=csv_body, headers={"Content-Type": "text/csv"}
    ).json()
    emu.sis.wait()
    emu.model.course_event(emu.model.find_course_by_sis("SIS-2").id, "delete")
    courses = {r["course_id"]: r for r in rows(http.get(run_report(canvas, courses=True).file_url).content)}
    assert set(courses) == {"IN1000-2026H", "SIS-1"} and courses["SIS-1"]["created_by_sis"] == "true"
    assert courses["SIS-1"]["status"] == "unpublished"
    with_deleted = rows(http.get(run_report(canvas, courses=True, include_deleted=True).file_url).content)
    assert {r["course_id"]: r["status"] for r in with_deleted}["SIS-2"] == "deleted"
    assert record["workflow_state"] == "created"


def test_term_filter_and_crosslistings(canvas: Canvas, http: httpx.Client, emu: CanvasEmulator) -> None:
    m = emu.model
    other_term = m.add_term("Spring 2027", sis_term_id="2027V")
    host = m.add_course("Host", sis_course_id="HOST-2027V", term_id=other_term.id)
    m.crosslist_section(m.find_section_by_sis("IN1000-2026H-G1").id, host.id)
    report = run_report(canvas, courses=True, xlist=True, enrollment_term_id="sis_term_id:2027V")
    with zipfile.ZipFile(io.BytesIO(http.get(report.file_url).content)) as archive:
        courses = rows(archive.read("courses.csv"))
        xlist = rows(archive.read("xlist.csv"))
    assert [c["course_id"] for c in courses] == ["HOST-2027V"]
    assert [(x["xlist_course_id"], x["section_id"], x["nonxlist_course_id"]) for x in xlist] == [
        ("HOST-2027V", "IN1000-2026H-G1", "IN1000-2026H")
    ]


def test_a_running_report_shows_its_progress_and_current_line(
    http: httpx.Client, emu: CanvasEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in Canvas: updated every 1000 lines while it runs; 100 and every line at the end."""
    for i in range(2475):  # with the seed's 25: 2500 users, 2501 lines
        emu.model.add_user(f"Many {i}", unique_id=f"many{i}", sis_user_id=f"M{i}")
    reached, release = threading.Event(), threading.Event()
    update_record = emu.model.update_record

    def held_at_first_step(kind: str, record_id: int, **changes: Any) -> dict[str, Any]:
        record = update_record(kind, record_id, **changes)
        if kind == "report" and 0 < changes.get("progress", 0) < 100 and not reached.is_set():
            reached.set()
            release.wait(10)
        return record

    monkeypatch.setattr(emu.model, "update_record", held_at_first_step)
    started = http.post("/api/v1/accounts/1/reports/provisioning_csv", data={"parameters[users]": "true"})
    report_id = started.json()["id"]
    assert reached.wait(10)
    running = http.get(f"/api/v1/accounts/1/reports/provisioning_csv/{report_id}").json()
    release.set()
    assert running["status"] == "running" and running["current_line"] == 1000
    assert running["progress"] == 1000 * 100 // 2501
    deadline = time.monotonic() + 10
    while (done := http.get(f"/api/v1/accounts/1/reports/provisioning_csv/{report_id}").json())[
        "status"
    ] != "complete" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (done["status"], done["progress"], done["current_line"]) == ("complete", 100, 2501)
