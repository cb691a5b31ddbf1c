"""Auth, User-Agent, throttle and fault switches in front of every Canvas API call."""

from __future__ import annotations

import httpx
import pytest
from canvasapi import Canvas
from canvasapi.exceptions import Forbidden, InvalidAccessToken, RateLimitExceeded

from canvasbridge_emulators.canvas import DEFAULT_TOKEN, CanvasEmulator
from canvasbridge_emulators.common import Faults

TIGHT = {"hwm": 10, "up_front_cost": 50, "cost": 20, "outflow": 0.001}


def test_missing_token_gives_401_with_www_authenticate(url: str) -> None:
    response = httpx.get(f"{url}/api/v1/users/1")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="canvas-lms"'
    assert response.json() == {
        "status": "unauthenticated",
        "errors": [{"message": "user authorization required"}],
    }


def test_bad_token_is_invalid_access_token_for_canvasapi(url: str) -> None:
    with pytest.raises(InvalidAccessToken):
        Canvas(url, "wrong-token").get_user(1)
    response = httpx.get(f"{url}/api/v1/users/1", headers={"Authorization": "Bearer wrong"})
    assert response.json() == {"errors": [{"message": "Invalid access token."}]}


def test_access_token_query_parameter_is_accepted(url: str) -> None:
    assert httpx.get(f"{url}/api/v1/users/1?access_token={DEFAULT_TOKEN}").status_code == 200


def test_expired_token_fault(canvas: Canvas, emu: CanvasEmulator) -> None:
    emu.control.set_faults(Faults(extra={"expired_tokens": [DEFAULT_TOKEN]}))
    with pytest.raises(InvalidAccessToken):
        canvas.get_user(1)


def test_successful_calls_carry_cost_headers(http: httpx.Client) -> None:
    response = http.get("/api/v1/users/1")
    assert float(response.headers["x-request-cost"]) > 0
    assert 0 < float(response.headers["x-rate-limit-remaining"]) <= 700


def test_throttle_answers_403_text_by_default_which_canvasapi_36_calls_forbidden(
    canvas: Canvas, http: httpx.Client, emu: CanvasEmulator, url: str
) -> None:
    emu.control.set_faults(Faults(extra={"throttle": TIGHT}))
    assert http.get("/api/v1/users/1").status_code == 200  # admitted below the high-water mark
    throttled = http.get("/api/v1/users/1")
    assert throttled.status_code == 403
    assert throttled.text == "403 Forbidden (Rate Limit Exceeded)\n"
    assert throttled.headers["content-type"].startswith("text/plain")
    assert throttled.headers["x-rate-limit-remaining"] == "0.0" and "x-request-cost" not in throttled.headers
    with pytest.raises(Forbidden) as caught:
        canvas.get_user(1)
    assert not isinstance(caught.value, RateLimitExceeded)
    other = httpx.get(f"{url}/api/v1/users/1", headers={"Authorization": "Bearer second-token"})
    assert other.status_code == 200  # one bucket per token
    counted = emu.control.stats()["requests"]["GET /api/v1/users/{id}"]
    assert counted.get("403", 0) >= 2  # the refusals are counted under their route


def test_throttle_can_answer_429_which_canvasapi_maps_to_rate_limit_exceeded(
    canvas: Canvas, emu: CanvasEmulator
) -> None:
    emu.control.set_faults(Faults(extra={"throttle": {**TIGHT, "status": 429}}))
    canvas.get_user(1)
    with pytest.raises(RateLimitExceeded):
        canvas.get_user(1)


def test_bucket_drains_over_time(emu: CanvasEmulator) -> None:
    from canvasbridge_emulators.canvas.throttle import Throttle, ThrottleSettings

    now = [0.0]
    throttle = Throttle(clock=lambda: now[0])
    settings = ThrottleSettings(hwm=100, up_front_cost=50, cost=100, outflow=10)
    assert throttle.begin("t", settings)
    assert throttle.end("t", settings, settings.cost) == 0.0
    assert not throttle.begin("t", settings)
    now[0] = 1.0  # 10 units drained
    assert throttle.begin("t", settings)


def test_user_agent_can_be_required(http: httpx.Client, emu: CanvasEmulator, canvas: Canvas) -> None:
    emu.control.set_faults(Faults(extra={"require_user_agent": True}))
    assert http.get("/api/v1/users/1", headers={"User-Agent": ""}).status_code == 403
    assert canvas.get_user(1).id == 1  # canvasapi >= 3.5 sends one


def test_sis_ids_with_slashes_are_url_decoded(http: httpx.Client, emu: CanvasEmulator) -> None:
    course = emu.model.add_course("Slashes", sis_course_id="UiO/IN1000/2026")
    response = http.get("/api/v1/courses/sis_course_id:UiO%2FIN1000%2F2026")
    assert response.status_code == 200 and response.json()["id"] == course.id


def test_not_found_body(http: httpx.Client) -> None:
    response = http.get("/api/v1/courses/999999")
    assert response.status_code == 404
    assert response.json() == {"errors": [{"message": "The specified resource does not exist."}]}


def test_control_surface_counts_requests_and_reports_state(http: httpx.Client, url: str) -> None:
    http.get("/api/v1/users/1")
    http.get("/api/v1/users/2")
    stats = httpx.get(f"{url}/_emulator/stats").json()
    assert stats["requests"]["GET /api/v1/users/{id}"]["200"] == 2
    state = httpx.get(f"{url}/_emulator/state").json()
    assert state["users"] == 25 and state["accounts"] == 3 and state["courses"] == 1
    httpx.post(f"{url}/_emulator/reset")
    assert httpx.get(f"{url}/_emulator/stats").json()["total"] == 0


def test_throttle_settings_through_the_faults_endpoint(url: str, http: httpx.Client) -> None:
    httpx.put(
        f"{url}/_emulator/faults", json={"extra": {"throttle": {**TIGHT, "status": 429}}}
    ).raise_for_status()
    http.get("/api/v1/users/1")
    assert http.get("/api/v1/users/1").status_code == 429


def test_unknown_api_paths_and_methods_get_the_canvas_404(http: httpx.Client) -> None:
    for method, path in [("GET", "/api/v1/widgets/1"), ("PATCH", "/api/v1/users/1")]:
        response = http.request(method, path)
        assert response.status_code == 404
        assert response.json() == {"errors": [{"message": "The specified resource does not exist."}]}
