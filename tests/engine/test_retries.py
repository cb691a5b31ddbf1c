import random

import pytest

from canvasbridge.engine.retries import RetryPolicy, is_transient
from canvasbridge.errors import NotFoundError, PermanentError, RateLimitedError, TransientError


def test_backoff_doubles_up_to_the_cap_without_jitter():
    policy = RetryPolicy(backoff_base_s=1, backoff_cap_s=5, jitter=False)
    assert [policy.delay(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]


def test_jitter_stays_between_half_and_all_of_the_delay():
    policy = RetryPolicy(backoff_base_s=4, backoff_cap_s=100, jitter=True)
    rng = random.Random(7)
    delays = [policy.delay(3, rng=rng) for _ in range(200)]
    assert all(8 <= d <= 16 for d in delays)
    assert len({round(d, 3) for d in delays}) > 50


def test_server_retry_after_hint_wins_when_longer_but_not_past_the_cap():
    policy = RetryPolicy(backoff_base_s=1, backoff_cap_s=30, jitter=False)
    assert policy.delay(1, retry_after=12) == 12
    assert policy.delay(1, retry_after=600) == 30
    assert policy.delay(4, retry_after=0.5) == 8


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
def test_transient_and_permanent_errors_are_told_apart(error, transient):
    assert is_transient(error) is transient


def test_attempts_left():
    policy = RetryPolicy(max_attempts=3)
    assert policy.has_attempts_left(2) and not policy.has_attempts_left(3)
