"""The engine's task retry policy; the rule itself is tested once, in tests/test_backoff.py."""

from canvasbridge.engine.retries import TaskRetryPolicy, is_transient
from canvasbridge.errors import PermanentError, TransientError


def test_attempts_left():
    policy = TaskRetryPolicy(max_attempts=3)
    assert policy.has_attempts_left(2) and not policy.has_attempts_left(3)


def test_the_worker_sees_the_shared_transient_rule():
    assert is_transient(TransientError("503")) and not is_transient(PermanentError("400"))
