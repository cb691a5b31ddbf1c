"""The one retry policy (canvasbridge.backoff): the wait rule, both Retry-After forms, what is
retried, and tenacity following the policy. Clients and the engine use only this."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
import tenacity

from canvasbridge.backoff import (
    RetryPolicy,
    backoff_s,
    is_transient,
    parse_retry_after,
    retry_after_hint,
)
from canvasbridge.engine.retries import TaskRetryPolicy
from canvasbridge.errors import NotFoundError, PermanentError, RateLimitedError, TransientError

NOW = datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC).timestamp()


def test_backoff_doubles_up_to_the_cap_without_jitter() -> None:
    policy = RetryPolicy(backoff_base_s=1, backoff_cap_s=5, jitter=False)
    assert [policy.delay(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]
    assert backoff_s(10_000, 1, 300, jitter=False) == 300  # no overflow for absurd attempt numbers


def test_jitter_stays_between_half_and_all_of_the_backoff() -> None:
    policy = RetryPolicy(backoff_base_s=4, backoff_cap_s=100, jitter=True)
    rng = random.Random(7)
    delays = [policy.delay(3, rng=rng) for _ in range(200)]
    assert all(8 <= d <= 16 for d in delays)
    assert len({round(d, 3) for d in delays}) > 50


def test_retry_after_is_a_floor_under_the_backoff_never_past_the_cap() -> None:
    policy = RetryPolicy(backoff_base_s=1, backoff_cap_s=30, jitter=False)
    assert policy.delay(1, retry_after=12) == 12  # the server asked for longer: wait that long
    assert policy.delay(1, retry_after=600) == 30  # but never past the cap
    assert policy.delay(4, retry_after=0.5) == 8  # and never sooner than our own backoff
    jittered = RetryPolicy(backoff_base_s=1, backoff_cap_s=30, jitter=True)
    assert all(jittered.delay(1, retry_after=3) == 3 for _ in range(50))


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("Wed, 21 Oct 2026 07:28:30 GMT", 30.0),  # IMF-fixdate, 30 s after NOW
        ("Wednesday, 21-Oct-26 07:29:00 GMT", 60.0),  # obsolete RFC 850 form
        ("Wed Oct 21 07:28:10 2026", None),  # asctime has no zone: cannot be trusted
        ("Wed, 21 Oct 2026 07:00:00 GMT", 0.0),  # a date in the past: retry now
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_in_both_forms(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_an_http_date_is_measured_from_the_clock_by_default() -> None:
    in_a_minute = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 60, UTC)
    waited = parse_retry_after(format_datetime(in_a_minute, usegmt=True))
    assert waited is not None and 58 <= waited <= 60


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (TransientError("503"), True),
        (RateLimitedError("429"), True),
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (PermanentError("400"), False),
        (NotFoundError("gone"), False),
        (KeyError("bug"), False),
        (TypeError("bad params"), False),
    ],
)
def test_transient_and_permanent_errors_are_told_apart(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def test_run_retries_only_transient_errors_up_to_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3, backoff_base_s=0.0, backoff_cap_s=0.01, jitter=False)
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise TransientError("blip")
        return "ok"

    assert policy.run(flaky) == "ok" and len(attempts) == 3
    attempts.clear()

    def always() -> None:
        attempts.append(1)
        raise TransientError("down")

    with pytest.raises(TransientError, match="down"):
        policy.run(always)
    assert len(attempts) == 3
    attempts.clear()

    def broken() -> None:
        attempts.append(1)
        raise PermanentError("no")

    with pytest.raises(PermanentError):
        policy.run(broken)
    assert len(attempts) == 1


def test_tenacity_waits_by_the_rule_with_the_servers_hint() -> None:
    policy = RetryPolicy(max_attempts=3, backoff_base_s=0.001, backoff_cap_s=0.05, jitter=False)
    slept: list[float] = []
    retrying = policy.retrying(sleep=slept.append)
    calls = iter([RateLimitedError("429", retry_after=0.03), TransientError("503"), None])

    def call() -> str:
        error = next(calls)
        if error is not None:
            raise error
        return "done"

    assert retrying(call) == "done"
    assert slept == [0.03, 0.002]  # the hint, then plain backoff for attempt 2
    assert retry_after_hint(RateLimitedError("x", retry_after=4)) == 4
    assert retry_after_hint(KeyError("x")) is None


def test_tenacity_can_retry_on_answers_and_hand_back_the_last_one() -> None:
    policy = RetryPolicy(max_attempts=3, backoff_base_s=0.0, jitter=False)
    answers: list[int] = []

    def call() -> int:
        answers.append(503)
        return 503

    retrying = policy.retrying(
        retry=tenacity.retry_if_result(lambda status: status == 503),
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
    )
    assert retrying(call) == 503
    assert len(answers) == 3


def test_the_engine_uses_the_same_policy_with_longer_defaults() -> None:
    task, client = TaskRetryPolicy(), RetryPolicy()
    assert isinstance(task, RetryPolicy)
    assert (task.max_attempts, task.backoff_base_s, task.backoff_cap_s) == (6, 1.0, 300.0)
    assert (client.max_attempts, client.backoff_base_s, client.backoff_cap_s) == (4, 0.5, 10.0)
    assert TaskRetryPolicy(max_attempts=2).backoff_cap_s == 300.0  # a partial block keeps the engine's
    with pytest.raises(ValueError, match="extra"):
        RetryPolicy.model_validate({"max_attempt": 3})
