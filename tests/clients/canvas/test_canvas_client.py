"""CanvasClient against the Canvas emulator over HTTP: calls through the shared HTTP base and
the token's throttle, SIS ids, errors and retries, throttling, SIS imports and the report."""

from __future__ import annotations

import csv
import io
import logging
import threading
import zipfile
from collections.abc import Iterator

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from canvasbridge.clients.canvas import SIS_IMPORT_FINAL_STATES, CanvasClient, Throttle, sis_course, sis_user
from canvasbridge.clients.canvas.client import parse_report_file
from canvasbridge.clients.http import AuthenticationError, CallStats, HttpPermanentError, RetryPolicy
from canvasbridge.errors import NotFoundError, PermanentError, RateLimitedError, TransientError
from canvasbridge_emulators.canvas import CanvasModel
from canvasbridge_emulators.canvas.app import DEFAULT_TOKEN, create_app
from canvasbridge_emulators.common import ServerThread
from tests.clients.conftest import FAST_RETRY, EmulatorHandle

pytestmark = pytest.mark.filterwarnings("ignore:Canvas may respond unexpectedly")

USERS = 25


def seed(model: CanvasModel) -> None:
    for i in range(USERS):
        model.add_user(f"User {i:02d}", unique_id=f"user{i:02d}", sis_user_id=f"P{i:02d}")
    model.add_user("Slash Person", unique_id="slash", sis_user_id="a/b c")
    model.add_course("Intro", course_code="IN1000", account_id=1, sis_course_id="IN1000-2026H")


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    emulator = create_app(seed=seed)
    with ServerThread(emulator.app) as server:
        yield server


@pytest.fixture
def emu(server: ServerThread) -> Iterator[EmulatorHandle]:
    handle = EmulatorHandle(server.url)
    handle.reset()
    yield handle
    handle.reset()


def make_client(server: ServerThread, token: str = DEFAULT_TOKEN, **options: object) -> CanvasClient:
    settings: dict[str, object] = {
        "stats": CallStats(),
        "retry": FAST_RETRY,
        "throttle": Throttle(max_concurrency=4, low_water=100, max_pause_s=0.2),
        "poll_s": 0.02,
        **options,
    }
    return CanvasClient(server.url, token, **settings)  # type: ignore[arg-type]


@pytest.fixture
def canvas(server: ServerThread, emu: EmulatorHandle) -> Iterator[CanvasClient]:
    client = make_client(server)
    yield client
    client.close()


# ---------------------------------------------------------------- objects, raw JSON, SIS ids


def test_calls_go_through_our_client_with_our_user_agent(canvas: CanvasClient, emu: EmulatorHandle) -> None:
    emu.faults(require_user_agent=True)
    response = canvas.http.request("GET", f"courses/{sis_course('IN1000-2026H')}")
    assert response.json()["course_code"] == "IN1000"
    sent = response.request.headers
    assert sent["User-Agent"].startswith("canvasbridge/")
    assert canvas.stats.calls("canvas", "GET courses/{id}") == 1


def test_sis_ids_are_url_escaped_and_resolve(canvas: CanvasClient) -> None:
    assert sis_user("a/b c") == "sis_user_id:a%2Fb%20c"
    user = canvas.get(f"users/{sis_user('a/b c')}")
    assert user["name"] == "Slash Person"


def test_paginate_follows_link_headers_across_several_pages(
    canvas: CanvasClient, emu: EmulatorHandle
) -> None:
    canvas.per_page = 10
    users = list(canvas.paginate("accounts/1/users"))
    assert len(users) == USERS + 1
    assert len({u["id"] for u in users}) == len(users)
    assert emu.count("GET /api/v1/accounts/{id}/users", 200) == 3
    assert canvas.stats.calls("canvas", "GET accounts/{id}/users") == 3


def test_a_per_page_parameter_is_passed_and_every_page_counted(canvas: CanvasClient) -> None:
    users = list(canvas.paginate("accounts/1/users", per_page=10))
    assert len(users) == USERS + 1
    assert canvas.stats.calls("canvas", "GET accounts/{id}/users") >= 1


def test_request_posts_canvas_style_form_fields(canvas: CanvasClient) -> None:
    created = canvas.request(
        "POST",
        "accounts/1/users",
        data={
            "user": {"name": "Kari Nordmann", "skip_registration": True},
            "pseudonym": {"unique_id": "karin"},
        },
    )
    assert created["name"] == "Kari Nordmann"
    assert canvas.get(f"users/{created['id']}/logins")[0]["unique_id"] == "karin"


# ---------------------------------------------------------------- errors and retries


def test_a_bad_token_is_a_clear_permanent_error_without_the_token(
    server: ServerThread, emu: EmulatorHandle
) -> None:
    client = make_client(server, token="not-a-valid-token-123")
    with pytest.raises(AuthenticationError) as info:
        client.get(f"users/{sis_user('P00')}")
    assert isinstance(info.value, PermanentError)
    assert "HTTP 401" in str(info.value)
    assert "not-a-valid-token-123" not in str(info.value)
    assert emu.count("GET", 401) == 1


def test_a_transient_503_is_retried_then_succeeds(canvas: CanvasClient, emu: EmulatorHandle) -> None:
    emu.faults(errors=[{"path": "/courses/", "status": 503, "count": 1}])
    assert canvas.get(f"courses/{sis_course('IN1000-2026H')}")["course_code"] == "IN1000"
    assert emu.count("GET", 503) == 1
    assert emu.count("GET /api/v1/courses/{id}", 200) == 1


def test_a_timeout_is_retried_and_ends_as_a_transient_error(
    server: ServerThread, emu: EmulatorHandle
) -> None:
    client = make_client(server, timeout_s=0.1)
    emu.faults(latency_ms=300)
    with pytest.raises(TransientError) as info:
        client.get(f"users/{sis_user('P00')}")
    assert "Timeout" in str(info.value)
    assert client.stats.by_endpoint["canvas GET users/{id}"].errors == FAST_RETRY.max_attempts


def test_a_post_whose_answer_timed_out_is_not_sent_twice(server: ServerThread, emu: EmulatorHandle) -> None:
    client = make_client(server, timeout_s=0.1)
    emu.faults(latency_ms=300)
    with pytest.raises(TransientError, match="Timeout"):
        client.request("POST", "accounts/1/users", data={"user": {"name": "Once Only"}})
    assert client.stats.by_endpoint["canvas POST accounts/{id}/users"].calls == 1


def test_not_found_is_typed_and_not_retried(canvas: CanvasClient, emu: EmulatorHandle) -> None:
    with pytest.raises(NotFoundError):
        canvas.get("courses/987654")
    with pytest.raises(NotFoundError):
        canvas.get(f"users/{sis_user('nobody')}")
    assert emu.count("GET", 404) == 2


def test_a_bad_request_is_permanent_and_not_retried(canvas: CanvasClient, emu: EmulatorHandle) -> None:
    course = canvas.get(f"courses/{sis_course('IN1000-2026H')}")
    with pytest.raises(HttpPermanentError) as info:
        canvas.request(
            "POST", f"courses/{course['id']}/enrollments", data={"enrollment": {"type": "StudentEnrollment"}}
        )
    assert info.value.status == 400
    assert "enrollment" in str(info.value)
    assert emu.count("POST", 400) == 1


# ---------------------------------------------------------------- throttling


def _hammer(client: CanvasClient, threads: int, calls: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def work() -> None:
        for _ in range(calls):
            try:
                client.get(f"users/{sis_user('P00')}")
            except BaseException as exc:
                errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return errors


@pytest.mark.slow
@pytest.mark.parametrize("status", [403, 429])
def test_throttling_backs_off_and_stays_within_the_bucket(
    server: ServerThread, emu: EmulatorHandle, status: int
) -> None:
    # a small bucket: four requests in flight (4 x 50 up front) already reach the high-water mark
    emu.faults(
        throttle={
            "enabled": True,
            "status": status,
            "hwm": 180,
            "maximum": 250,
            "outflow": 200,
            "up_front_cost": 50,
            "cost": 5,
        }
    )
    throttle = Throttle(max_concurrency=4, low_water=120, max_pause_s=0.05)
    retry = RetryPolicy(max_attempts=8, backoff_base_s=0.02, backoff_cap_s=0.2, jitter=True)
    client = make_client(server, throttle=throttle, retry=retry)
    errors = _hammer(client, threads=8, calls=10)
    assert errors == []
    ok = emu.count("GET /api/v1/users/{id}", 200)
    refused = emu.count("GET", status)
    assert ok == 80
    assert throttle.max_in_flight <= 4
    assert throttle.paused_s > 0  # it slowed down when the bucket ran low
    assert refused == throttle.throttled
    assert refused <= 16, f"{refused} throttled answers for 80 calls: not backing off"

    # the same load without the throttle: many more refusals
    emu.clear_stats()
    naive = requests.Session()
    naive_refused = 0

    def naive_work() -> None:
        nonlocal naive_refused
        for _ in range(10):
            r = naive.get(
                f"{server.url}/api/v1/users/sis_user_id:P00",
                headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
            )
            naive_refused += r.status_code == status

    pool = [threading.Thread(target=naive_work) for _ in range(8)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert naive_refused > refused


def test_a_throttle_that_never_lifts_ends_as_a_rate_limited_error(
    server: ServerThread, emu: EmulatorHandle
) -> None:
    emu.faults(
        errors=[
            {"path": "/users/", "status": 429, "body": "Rate Limit Exceeded", "content_type": "text/plain"}
        ]
    )
    client = make_client(server)
    with pytest.raises(RateLimitedError):
        client.get(f"users/{sis_user('P00')}")
    assert emu.count("GET", 429) == FAST_RETRY.max_attempts


# ---------------------------------------------------------------- SIS imports and reports


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_sis_import_is_uploaded_and_polled_to_a_final_state(
    canvas: CanvasClient, emu: EmulatorHandle
) -> None:
    emu.faults(sis_import_delay_s=0.1)
    data = _zip(
        {
            "users.csv": "user_id,login_id,first_name,last_name,email,status\n"
            "S1,sisone,Siri,Solberg,siri@x.no,active\nS2,sistwo,Per,Ås,per@x.no,active\n"
        }
    )
    started = canvas.create_sis_import(data, diffing_data_set_identifier="users")
    final = canvas.wait_for_sis_import(started["id"])
    assert final["workflow_state"] == "imported"
    assert canvas.get(f"users/{sis_user('S2')}")["name"] == "Per Ås"
    assert emu.count("GET /api/v1/accounts/{account_id}/sis_imports/{id}") >= 2


def test_provisioning_report_comes_back_as_rows_per_csv(canvas: CanvasClient) -> None:
    report = canvas.provisioning_report(users=True, courses=True)
    assert set(report) == {"users.csv", "courses.csv"}
    sis_ids = {row["user_id"] for row in report["users.csv"]}
    assert {"P00", "P24", "a/b c"} <= sis_ids
    assert [row["course_id"] for row in report["courses.csv"]] == ["IN1000-2026H"]


def test_a_failed_sis_import_is_returned_with_its_errors(canvas: CanvasClient) -> None:
    data = _zip({"users.csv": "user_id,status\nS9,active\n"})  # login_id is required
    final = canvas.wait_for_sis_import(canvas.create_sis_import(data)["id"])
    assert final["workflow_state"] in SIS_IMPORT_FINAL_STATES
    assert final["workflow_state"] != "imported"
    assert final.get("processing_errors") or final.get("processing_warnings")


def test_waiting_too_long_for_a_sis_import_is_a_transient_error(
    canvas: CanvasClient, emu: EmulatorHandle
) -> None:
    emu.faults(sis_import_delay_s=0.5)
    started = canvas.create_sis_import(_zip({"users.csv": "user_id,login_id,status\nS8,s8,active\n"}))
    with pytest.raises(TransientError, match="still"):
        canvas.wait_for_sis_import(started["id"], timeout_s=0.05)


def test_debug_logs_carry_neither_the_token_nor_passwords(
    canvas: CanvasClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    canvas.request(
        "POST",
        "accounts/1/users",
        data={
            "pseudonym": {"unique_id": "logged", "password": "hunter22-secret"},
            "user": {"name": "Logged Person"},
        },
    )
    assert "Logged Person" in caplog.text or "accounts/1/users" in caplog.text
    assert "hunter22-secret" not in caplog.text
    assert DEFAULT_TOKEN not in caplog.text


_cell = st.text(alphabet=st.sampled_from('ab,"\n\r é'), max_size=4)


@given(rows=st.lists(st.lists(_cell, max_size=5), max_size=6), bom=st.booleans())
def test_report_csv_rows_are_what_csv_dict_reader_reads(rows: list[list[str]], bom: bool) -> None:
    """Quoted commas and newlines, empty lines, and rows shorter or longer than the header."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    data = ("\ufeff" if bom else "").encode() + out.getvalue().encode()
    expected = [dict(r) for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))]
    assert parse_report_file("x.csv", data) == {"x.csv": expected}
