"""SIS imports: CSV or zip, background processing, batch mode, diffing, row messages."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
from canvasapi import Canvas

from canvasbridge_emulators.canvas import CanvasEmulator
from canvasbridge_emulators.common import Faults

DONE = {"imported", "imported_with_messages", "failed", "failed_with_messages", "aborted"}

FILES = {
    "accounts.csv": "account_id,parent_account_id,name,status\nORG-20,,Faculty of Law,active\nORG-21,ORG-20,Private Law,active\n",
    "terms.csv": "term_id,name,status,start_date,end_date\n2027V,Spring 2027,active,2027-01-01T00:00:00Z,2027-06-30T00:00:00Z\n",
    "users.csv": (
        "user_id,login_id,first_name,last_name,email,status\n"
        "U1,anna,Anna,Berg,anna@uni.test,active\nU2,bo,Bo,Dahl,bo@uni.test,active\nU3,cy,Cy,Eng,cy@uni.test,active\n"
    ),
    "courses.csv": (
        "course_id,short_name,long_name,account_id,term_id,status\n"
        "JUS1000-2027V,JUS1000,Law One,ORG-21,2027V,active\nJUS2000-2027V,JUS2000,Law Two,ORG-21,2027V,active\n"
    ),
    "sections.csv": "section_id,course_id,name,status\nJUS1000-S1,JUS1000-2027V,Seminar 1,active\n",
    "enrollments.csv": (
        "course_id,user_id,role,section_id,status\n"
        "JUS1000-2027V,U1,student,JUS1000-S1,active\nJUS1000-2027V,U2,teacher,,active\n"
        "JUS2000-2027V,U3,student,,active\n"
    ),
}


def make_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def wait_for(http: httpx.Client, import_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        record = http.get(f"/api/v1/accounts/1/sis_imports/{import_id}").json()
        if record["workflow_state"] in DONE or time.monotonic() > deadline:
            return record
        time.sleep(0.02)


def post_zip(http: httpx.Client, files: dict[str, str], **params: str) -> dict[str, Any]:
    response = http.post(
        "/api/v1/accounts/1/sis_imports",
        files={"attachment": ("import.zip", make_zip(files), "application/zip")},
        data=params,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_canvasapi_create_sis_import_of_a_zip_reaches_imported_and_objects_show_in_the_api(
    canvas: Canvas, http: httpx.Client, tmp_path: Path, emu: CanvasEmulator
) -> None:
    path = tmp_path / "import.zip"
    path.write_bytes(make_zip(FILES))
    sis_import = canvas.get_account(1).create_sis_import(str(path))
    assert sis_import.workflow_state in ("created", "importing", "imported")
    record = wait_for(http, sis_import.id)
    assert record["workflow_state"] == "imported", record
    counts = record["data"]["counts"]
    assert (counts["accounts"], counts["terms"], counts["users"], counts["courses"]) == (2, 1, 3, 2)
    assert (counts["sections"], counts["enrollments"]) == (1, 3)
    course = canvas.get_course("JUS1000-2027V", use_sis_id=True)
    assert course.name == "Law One" and course.sis_import_id == sis_import.id
    assert canvas.get_account(course.account_id).sis_account_id == "ORG-21"
    roles = sorted((e.type, e.sis_user_id) for e in course.get_enrollments())
    assert roles == [("StudentEnrollment", "U1"), ("TeacherEnrollment", "U2")]
    assert canvas.get_user("U1", "sis_user_id").name == "Anna Berg"
    listed = http.get("/api/v1/accounts/1/sis_imports").json()
    assert [r["id"] for r in listed["sis_imports"]] == [sis_import.id]
    assert [s.id for s in canvas.get_account(1).get_sis_imports()] == [sis_import.id]


def test_import_passes_through_created_and_importing(http: httpx.Client, emu: CanvasEmulator) -> None:
    emu.control.set_faults(Faults(extra={"sis_import_delay_s": 0.15}))
    record = post_zip(http, {"users.csv": FILES["users.csv"]})
    assert record["workflow_state"] == "created"
    seen = {record["workflow_state"]}
    while record["workflow_state"] not in DONE:
        record = http.get(f"/api/v1/accounts/1/sis_imports/{record['id']}").json()
        seen.add(record["workflow_state"])
        time.sleep(0.02)
    assert seen == {"created", "importing", "imported"}


def test_progress_grows_while_the_rows_are_applied(http: httpx.Client, emu: CanvasEmulator) -> None:
    """As in Canvas: the share of rows done while importing (never 100 before the end)."""
    emu.control.set_faults(Faults(extra={"sis_import_pause_s": 0.01}))  # about 1 s in all
    users = "user_id,login_id,first_name,last_name,status\n" + "".join(
        f"PG{i},pg{i},Per,Gynt{i},active\n" for i in range(400)
    )
    record = post_zip(http, {"users.csv": users})
    seen = []
    while record["workflow_state"] not in DONE:
        record = http.get(f"/api/v1/accounts/1/sis_imports/{record['id']}").json()
        seen.append((record["workflow_state"], record["progress"]))
        time.sleep(0.01)
    assert record["workflow_state"] == "imported" and record["progress"] == 100
    running = [progress for state, progress in seen if state == "importing"]
    assert any(0 < progress < 100 for progress in running), seen
    assert running == sorted(running) and max(running) <= 99
    assert len(set(running)) >= 5  # polled all along, each poll sees how far it has come


def test_raw_csv_body_with_extension(http: httpx.Client, emu: CanvasEmulator) -> None:
    response = http.post(
        "/api/v1/accounts/1/sis_imports?extension=csv",
        content=FILES["users.csv"].encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert wait_for(http, response.json()["id"])["workflow_state"] == "imported"
    assert emu.model.find_user_by_sis("U3") is not None


def test_bad_rows_give_imported_with_messages(http: httpx.Client, emu: CanvasEmulator) -> None:
    files = {
        "users.csv": "user_id,login_id,first_name,last_name,status\nU7,gus,Gus,Hall,active\n,nologin,No,Id,active\n",
        "enrollments.csv": "course_id,user_id,role,status\nIN1000-2026H,GHOST,student,active\nIN1000-2026H,U7,student,active\n",
    }
    record = wait_for(http, post_zip(http, files)["id"])
    assert record["workflow_state"] == "imported_with_messages"
    assert record["data"]["counts"]["users"] == 1 and record["data"]["counts"]["enrollments"] == 1
    messages = [m for _file, m in record["processing_warnings"] + record["processing_errors"]]
    assert any("User not found for enrollment" in m for m in messages)
    assert any("No user_id given" in m for m in messages)
    assert all(isinstance(entry, list) and len(entry) == 2 for entry in record["processing_warnings"])


def test_rows_are_read_as_csv_dict_reader_reads_them(http: httpx.Client, emu: CanvasEmulator) -> None:
    """Headers trimmed and lower-cased, cells trimmed, blank lines skipped, missing cells empty,
    extra cells dropped."""
    users = (
        " User_ID , Login_ID ,first_name,last_name,email,status\n"
        "U8, hal ,Hal,Ito\n"
        "\n"
        "U9,ida,Ida,Jul,ida@uni.test,active,surplus\n"
    )
    record = wait_for(http, post_zip(http, {"users.csv": users})["id"])
    assert record["workflow_state"] == "imported", record
    assert record["data"]["counts"]["users"] == 2
    hal = emu.model.find_login_by_sis("U8")
    assert hal is not None and hal.unique_id == "hal" and hal.workflow_state == "active"
    assert emu.model.get_user(hal.user_id).email is None
    assert emu.model.get_user(emu.model.find_user_by_sis("U9").id).email == "ida@uni.test"


def test_unreadable_upload_fails_with_messages(http: httpx.Client) -> None:
    record = wait_for(http, post_zip(http, {"mystery.csv": "foo,bar\n1,2\n"})["id"])
    assert record["workflow_state"] == "failed_with_messages" and record["processing_errors"]


def test_batch_mode_deletes_sis_objects_of_the_term_missing_from_the_upload(
    http: httpx.Client, emu: CanvasEmulator
) -> None:
    assert wait_for(http, post_zip(http, FILES)["id"])["workflow_state"] == "imported"
    second = {
        "courses.csv": "course_id,short_name,long_name,account_id,term_id,status\nJUS1000-2027V,JUS1000,Law One,ORG-21,2027V,active\n",
        "sections.csv": FILES["sections.csv"],
        "enrollments.csv": "course_id,user_id,role,section_id,status\nJUS1000-2027V,U1,student,JUS1000-S1,active\n",
    }
    record = wait_for(
        http, post_zip(http, second, batch_mode="true", batch_mode_term_id="sis_term_id:2027V")["id"]
    )
    assert record["workflow_state"] == "imported", record
    counts = record["data"]["counts"]
    assert (counts["batch_courses_deleted"], counts["batch_sections_deleted"]) == (1, 0)
    assert counts["batch_enrollments_deleted"] == 2  # the teacher in JUS1000 and the student in JUS2000
    assert emu.model.find_course_by_sis("JUS2000-2027V") is None
    kept = emu.model.find_course_by_sis("JUS1000-2027V")
    assert kept is not None and kept.workflow_state != "deleted"
    states = {e.type: e.workflow_state for e in emu.model.enrollments(course_id=kept.id)}
    assert states == {"StudentEnrollment": "active", "TeacherEnrollment": "deleted"}
    # an object made outside SIS in the same term is left alone
    assert emu.model.find_course_by_sis("IN1000-2026H").workflow_state == "available"


def test_batch_mode_with_an_unknown_term_is_refused(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/accounts/1/sis_imports",
        files={"attachment": ("a.zip", make_zip(FILES), "application/zip")},
        data={"batch_mode": "true", "batch_mode_term_id": "sis_term_id:NOPE"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "Batch mode specified, but the given batch_mode_term_id cannot be found."
    }


def test_sis_import_on_a_sub_account_is_refused(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/accounts/sis_account_id:ORG-10/sis_imports",
        files={"attachment": ("a.zip", make_zip(FILES), "application/zip")},
    )
    assert response.status_code == 400
    assert response.json() == {"errors": ["SIS imports can only be executed on root accounts"]}


def test_diffing_applies_only_changes_and_drops_missing_rows(http: httpx.Client, emu: CanvasEmulator) -> None:
    first = wait_for(
        http, post_zip(http, {"users.csv": FILES["users.csv"]}, diffing_data_set_identifier="people")["id"]
    )
    assert first["data"]["counts"]["users"] == 3
    emu.model.update_user(emu.model.find_user_by_sis("U1").id, name="Changed Outside")  # not in the diff
    changed = (
        "user_id,login_id,first_name,last_name,email,status\n"
        "U1,anna,Anna,Berg,anna@uni.test,active\nU2,bo,Bo,Dahl-Ny,bo@uni.test,active\n"
    )
    second = wait_for(
        http, post_zip(http, {"users.csv": changed}, diffing_data_set_identifier="people")["id"]
    )
    assert second["diffed_against_import_id"] == first["id"]
    assert second["data"]["counts"]["users"] == 2  # U2 changed, U3 dropped
    assert emu.model.find_user_by_sis("U2").name == "Bo Dahl-Ny"
    assert emu.model.find_user_by_sis("U3") is None
    assert emu.model.find_user_by_sis("U1").name == "Changed Outside"


def test_change_threshold_stops_batch_deletions(http: httpx.Client, emu: CanvasEmulator) -> None:
    assert wait_for(http, post_zip(http, FILES)["id"])["workflow_state"] == "imported"
    empty_term = {"courses.csv": "course_id,short_name,long_name,account_id,term_id,status\n"}
    record = wait_for(
        http,
        post_zip(
            http, empty_term, batch_mode="true", batch_mode_term_id="sis_term_id:2027V", change_threshold="10"
        )["id"],
    )
    assert record["workflow_state"] == "failed_with_messages"
    assert "change_threshold" in record["processing_errors"][0][1]
    assert emu.model.find_course_by_sis("JUS2000-2027V") is not None  # nothing was deleted


def test_fields_edited_through_the_api_are_sticky_until_an_import_overrides(
    canvas: Canvas, http: httpx.Client, emu: CanvasEmulator
) -> None:
    courses = {"courses.csv": "course_id,short_name,long_name,status\nSTICKY-1,ST1,Original Name,active\n"}
    assert wait_for(http, post_zip(http, courses)["id"])["workflow_state"] == "imported"
    course = canvas.get_course("STICKY-1", use_sis_id=True)
    course.update(course={"name": "Renamed By Hand"})
    assert wait_for(http, post_zip(http, courses)["id"])["workflow_state"] == "imported"
    assert emu.model.find_course_by_sis("STICKY-1").name == "Renamed By Hand"
    record = wait_for(
        http, post_zip(http, courses, override_sis_stickiness="true", clear_sis_stickiness="true")["id"]
    )
    assert record["workflow_state"] == "imported"
    restored = emu.model.find_course_by_sis("STICKY-1")
    assert restored.name == "Original Name" and "name" not in restored.sticky
    emu.model.update_course(restored.id, name="Drifted", sticky=True)  # drift as a person would make it
    wait_for(http, post_zip(http, courses)["id"])
    assert emu.model.find_course_by_sis("STICKY-1").name == "Drifted"


def test_multi_term_batch_mode_covers_the_terms_in_the_upload(
    http: httpx.Client, emu: CanvasEmulator
) -> None:
    assert wait_for(http, post_zip(http, FILES)["id"])["workflow_state"] == "imported"
    refused = http.post(
        "/api/v1/accounts/1/sis_imports",
        files={"attachment": ("a.zip", make_zip(FILES), "application/zip")},
        data={"multi_term_batch_mode": "true"},
    )
    assert refused.status_code == 400
    only_terms = {"terms.csv": FILES["terms.csv"], "courses.csv": FILES["courses.csv"].split("\n")[0] + "\n"}
    record = wait_for(
        http, post_zip(http, only_terms, multi_term_batch_mode="true", change_threshold="100")["id"]
    )
    assert record["data"]["counts"]["batch_courses_deleted"] == 2
    assert emu.model.find_course_by_sis("JUS1000-2027V") is None
