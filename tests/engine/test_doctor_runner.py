"""How ``canvasbridge doctor`` runs its checks: at once, each bounded, failures explained,
secrets never shown."""

from __future__ import annotations

import threading

import pytest

from canvasbridge.engine.doctor import run_checks
from canvasbridge.errors import CheckFailed
from canvasbridge.secrets import SecretRef


def test_a_check_that_does_not_answer_fails_and_the_others_still_report() -> None:
    release = threading.Event()

    def hangs() -> str:
        release.wait(30)
        return "late"

    def refuses() -> str:
        raise CheckFailed("the token is refused", "create a new token")

    def breaks() -> str:
        raise ValueError("unexpected answer")

    try:
        findings = run_checks(
            {"hangs": hangs, "fine": lambda: "all good", "refuses": refuses, "breaks": breaks}, timeout_s=0.2
        )
    finally:
        release.set()
    assert [(f.name, f.ok) for f in findings] == [
        ("hangs", False),
        ("fine", True),
        ("refuses", False),
        ("breaks", False),
    ]
    hung, fine, refused, broken = findings
    assert hung.detail == "no answer within 0.2s"
    assert hung.remedy.startswith("check that the system is up and reachable from this host")
    assert (fine.detail, fine.remedy) == ("all good", "")
    assert (refused.detail, refused.remedy) == ("the token is refused", "create a new token")
    assert broken.detail == "ValueError: unexpected answer"


def test_a_secret_in_an_error_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CB_DOCTOR_RUNNER_SECRET", "s3cret-value-4711")
    secret = SecretRef(env="CB_DOCTOR_RUNNER_SECRET").resolve().get_secret_value()

    def leaks() -> str:
        raise CheckFailed(f"refused {secret}", f"do not paste {secret}")

    [finding] = run_checks({"leaks": leaks}, timeout_s=1)
    assert not finding.ok
    assert secret not in finding.detail and secret not in finding.remedy
    assert finding.detail.startswith("refused ")
