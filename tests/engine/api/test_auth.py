"""Every endpoint but the health checks needs a token; operator endpoints need role operate."""

from __future__ import annotations

import hmac
from pathlib import Path

import pytest

from canvasbridge.engine.api.auth import TokenBook
from canvasbridge.engine.api.sign_in_limit import SignInLimit
from canvasbridge.engine.config import AdminToken, Role
from canvasbridge.errors import ConfigError
from tests.engine.api import seeding
from tests.engine.api.conftest import OPERATE, READ, Api, bearer

# (method, path, role needed); {dead} is replaced by the id of a dead call, {parked} by a parked message's
ENDPOINTS = [
    ("GET", "/tasks", "read"),
    ("GET", "/tasks/{dead}", "read"),
    ("POST", "/tasks/{dead}/requeue", "operate"),
    ("POST", "/tasks/{dead}/discard", "operate"),
    ("POST", "/tasks/requeue?dry_run=true", "operate"),
    ("GET", "/sync", "read"),
    ("POST", "/sync/user/olan", "operate"),
    ("GET", "/routes", "read"),
    ("GET", "/stats", "read"),
    ("GET", "/parked", "read"),
    ("GET", "/parked/{parked}", "read"),
    ("POST", "/parked/{parked}/requeue", "operate"),
    ("POST", "/parked/{parked}/discard", "operate"),
    ("GET", "/metrics", "read"),
    ("GET", "/openapi.json", "read"),
    ("GET", "/health/live", None),
    ("GET", "/health/ready", None),
]


def test_auth_matrix_for_every_endpoint(api: Api) -> None:
    # wrong tokens for every endpoint from one client: more than the sign-in limit lets through
    api.client.app.state.sign_in_limit = SignInLimit(failures=10_000, window_s=1)
    credentials = {
        "none": {},
        "wrong": bearer("not-a-token-not-a-token"),
        "malformed": {"Authorization": "Basic " + "x" * 20},
        "read": READ,
        "operate": OPERATE,
    }
    mismatches = []
    for method, template, role in ENDPOINTS:
        for who, headers in credentials.items():
            # a fresh dead call each time, so a requeue or discard by an earlier row cannot mask this one
            ledger = api.runtime.ledger()
            path = template.format(
                dead=seeding.dead(ledger, "record", key=f"{who}{template}"),
                parked=ledger.park(seeding.message(routing_key="nowhere"), reason="no route matched"),
            )
            response = api.client.request(method, path, headers=headers)
            if role is None:
                expected = {200}
            elif who in ("none", "wrong", "malformed"):
                expected = {401}
            elif role == "operate" and who == "read":
                expected = {403}
            else:
                expected = {200}
            if response.status_code not in expected:
                mismatches.append(f"{method} {path} as {who}: {response.status_code} {response.text[:200]}")
            if response.status_code == 401:
                assert response.headers["WWW-Authenticate"] == "Bearer"
                assert response.json()["error"] == "unauthorized"
            if response.status_code == 403:
                assert response.json()["error"] == "forbidden"
    assert not mismatches, "\n".join(mismatches)


def test_openapi_document_declares_bearer_auth(api: Api) -> None:
    assert api.client.get("/docs").status_code == 404  # no public documentation pages
    document = api.client.get("/openapi.json", headers=READ).json()
    schemes = document["components"]["securitySchemes"]
    assert any(scheme.get("scheme") == "bearer" for scheme in schemes.values())
    assert "security" not in document["paths"]["/health/live"]["get"]
    assert document["paths"]["/tasks"]["get"]["security"]


def test_a_missing_token_secret_is_a_config_error_naming_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CB_NOT_SET", raising=False)
    tokens = [AdminToken(name="ops", role=Role.OPERATE, token={"env": "CB_NOT_SET"})]  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"admin\.tokens\.0\.token: environment variable CB_NOT_SET"):
        TokenBook.from_config(tokens)


def test_short_or_duplicate_tokens_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CB_SHORT", "abc123")
    with pytest.raises(ConfigError, match=r"admin\.tokens\.0\.token: .* 6 characters"):
        TokenBook.from_config([AdminToken(name="a", token={"env": "CB_SHORT"})])  # type: ignore[arg-type]
    secret = tmp_path / "token"
    secret.write_text("same-value-0123456789\n")
    monkeypatch.setenv("CB_SAME", "same-value-0123456789")
    pair = [
        AdminToken(name="a", token={"env": "CB_SAME"}),  # type: ignore[arg-type]
        AdminToken(name="b", role=Role.OPERATE, token={"file": str(secret)}),  # type: ignore[arg-type]
    ]
    with pytest.raises(ConfigError, match=r"admin\.tokens\.1\.token: .*same as another"):
        TokenBook.from_config(pair)


def test_every_configured_token_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    book = TokenBook(
        [("a", Role.READ, b"a" * 20), ("b", Role.OPERATE, b"b" * 20), ("c", Role.READ, b"c" * 20)]
    )
    compared = []
    real = hmac.compare_digest

    def spy(left: bytes, right: bytes) -> bool:
        compared.append(right)
        return real(left, right)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    principal = book.identify("a" * 20)
    assert principal is not None and principal.name == "a"
    assert compared == [b"a" * 20, b"b" * 20, b"c" * 20]  # no early exit on the first match
    assert book.identify("a" * 19) is None
