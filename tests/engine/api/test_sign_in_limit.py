"""Too many wrong tokens from one address: 429 with Retry-After, on the API and the dashboard."""

from __future__ import annotations

from canvasbridge.engine.api.sign_in_limit import SignInLimit
from tests.engine.api.conftest import OPERATE, READ, Api, bearer
from tests.engine.dashboard.conftest import OPERATE_TOKEN, sign_in


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_waits_once_its_failures_fill_the_window_and_others_do_not() -> None:
    clock = Clock()
    limit = SignInLimit(failures=3, window_s=60, clock=clock)
    for _ in range(2):
        limit.failed("10.0.0.1")
        clock.now += 10
    assert limit.retry_after("10.0.0.1") is None  # two of three
    limit.failed("10.0.0.1")
    assert limit.retry_after("10.0.0.1") == 40  # the first failure leaves the window at 1060
    assert limit.retry_after("10.0.0.2") is None
    clock.now += 40
    assert limit.retry_after("10.0.0.1") is None  # one failure dropped out: it may try again


def test_a_success_clears_the_count() -> None:
    limit = SignInLimit(failures=2, window_s=60, clock=Clock())
    limit.failed("a")
    limit.succeeded("a")
    limit.failed("a")
    assert limit.retry_after("a") is None


def test_the_api_answers_429_after_ten_wrong_bearer_tokens_even_to_the_right_one(api: Api) -> None:
    assert api.client.get("/tasks", headers=READ).status_code == 200
    for _ in range(10):
        assert api.client.get("/tasks", headers=bearer("wrong-token-0123456789")).status_code == 401
    refused = api.client.get("/tasks", headers=OPERATE)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 300
    assert "too many wrong tokens" in refused.json()["message"]
    assert api.client.get("/health/live").status_code == 200  # unauthenticated endpoints still answer


def test_the_sign_in_form_refuses_a_guesser_even_with_the_right_token(api: Api) -> None:
    for _ in range(10):
        assert sign_in(api.client, "wrong-token-0123456789").status_code == 401
    refused = sign_in(api.client, OPERATE_TOKEN)
    assert refused.status_code == 429 and "Too many wrong tokens" in refused.text
    assert "retry-after" in refused.headers
    assert "cb_session=" not in refused.headers.get("set-cookie", "")
