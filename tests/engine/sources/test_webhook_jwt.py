"""The HTTP source with ``jwt: {jwks_url}``: signed bodies are verified with a key of the JWKS
(served over HTTP by the Live Events emulator's key set), their claims dispatched as the body;
anything else is refused with 401, counted and logged, and never dispatched."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import warnings
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from prometheus_client import REGISTRY

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from canvasbridge.engine.sources import WebhookSourceConfig, webhook_app
from canvasbridge_emulators.caliper_feed import SigningKeys, jwks_app
from canvasbridge_emulators.common import ServerThread
from tests.engine.sources.conftest import Recorder
from tests.services import unique_name

EVENT = {
    "sensor": "https://canvas.test.example/",
    "sendTime": "2026-03-04T10:11:13.000Z",
    "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1",
    "data": [
        {"id": "urn:uuid:3f0c0c3e-0000-4000-8000-000000000001", "type": "SessionEvent", "action": "LoggedIn"}
    ],
}


@pytest.fixture(scope="module")
def keys() -> Iterator[SigningKeys]:
    yield SigningKeys()


@pytest.fixture
def jwks(keys: SigningKeys) -> Iterator[str]:
    keys.available = True
    with ServerThread(jwks_app(keys)) as server:
        yield f"{server.url}/jwks"
    keys.available = True


def make_app(jwks_url: str, recorder: Recorder, **jwt_options: Any) -> tuple[TestClient, str]:
    name = unique_name("signed")
    config = WebhookSourceConfig.model_validate(
        {"type": "http", "name": name, "path": "/live-events", "jwt": {"jwks_url": jwks_url, **jwt_options}}
    )
    return TestClient(webhook_app([config], recorder)), name


def refused(source: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "canvasbridge_requests_refused_total", {"source": source, "reason": reason}
    )
    return value or 0.0


def post(client: TestClient, body: str | bytes) -> Any:
    return client.post("/live-events", content=body, headers={"Content-Type": "application/jwt"})


def test_a_signed_event_is_dispatched_with_its_claims_as_the_body(jwks, keys):
    recorder = Recorder()
    client, _ = make_app(jwks, recorder)
    response = post(client, keys.sign(EVENT))
    assert response.status_code == 202 and response.json()["queued"] is True
    (envelope,) = recorder.envelopes
    assert json.loads(envelope.body) == EVENT  # exactly the unsigned event: iat and exp removed
    assert envelope.attributes["content_type"] == "application/json"


def test_keys_are_cached_and_fetched_again_for_an_unknown_kid_after_rotation(jwks, keys):
    recorder = Recorder()
    client, _ = make_app(jwks, recorder, refetch_interval_s=0)
    before = keys.fetches
    for _ in range(3):
        assert post(client, keys.sign(EVENT)).status_code == 202
    assert keys.fetches == before + 1  # one fetch for three events
    keys.rotate()
    keys.rotate()  # two months on: the key now current was not published at the first fetch
    assert post(client, keys.sign(EVENT)).status_code == 202
    assert keys.fetches == before + 2
    assert len(recorder.envelopes) == 4


def test_keys_still_serve_from_the_cache_while_the_jwks_endpoint_is_down(jwks, keys):
    recorder = Recorder()
    client, _ = make_app(jwks, recorder, cache_ttl_s=0.01, refetch_interval_s=0)
    assert post(client, keys.sign(EVENT)).status_code == 202
    keys.available = False
    time.sleep(0.05)  # the cached keys are stale now, and the refetch fails
    assert post(client, keys.sign(EVENT)).status_code == 202
    assert post(client, keys.sign(EVENT, kid=keys.previous.kid, key=keys.previous.private)).status_code == 202
    assert len(recorder.envelopes) == 3


def test_without_any_key_the_sender_is_asked_to_retry_not_refused(jwks, keys):
    keys.available = False
    recorder = Recorder()
    client, _ = make_app(jwks, recorder)
    response = post(client, keys.sign(EVENT))
    assert response.status_code == 503 and "Retry-After" in response.headers
    keys.available = True
    assert post(client, keys.sign(EVENT)).status_code == 503  # the refetch is rate-limited (60 s)
    assert recorder.envelopes == []


def test_refetching_for_unknown_kids_is_rate_limited(jwks, keys):
    recorder = Recorder()
    client, source = make_app(jwks, recorder, refetch_interval_s=60)
    assert post(client, keys.sign(EVENT)).status_code == 202
    fetched = keys.fetches
    for i in range(5):
        assert post(client, keys.sign(EVENT, kid=f"made-up-{i}")).status_code == 401
    assert keys.fetches == fetched  # an attacker cannot make us hammer the JWKS endpoint
    assert refused(source, "unknown_kid") == 5


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _public_pem(keys: SigningKeys) -> bytes:
    return keys.current.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _hs256_with_the_public_key(keys: SigningKeys, payload: str) -> str:
    """The key-confusion attack: an HMAC whose secret is the published RSA public key."""
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": keys.current.kid})
    mac = hmac.new(_public_pem(keys), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{jwt.utils.base64url_encode(mac).decode()}"


@pytest.fixture(scope="module")
def forgeries(keys: SigningKeys) -> dict[str, tuple[str | bytes, str]]:
    good = keys.sign(EVENT)
    header, payload, signature = good.split(".")
    tampered_claims = {**EVENT, "data": [{**EVENT["data"][0], "action": "LoggedOut"}]}
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "unsigned JSON": (json.dumps(EVENT), "not_jws"),
        "tampered payload": (f"{header}.{_b64({**tampered_claims, 'iat': 0})}.{signature}", "signature"),
        "expired": (keys.sign(EVENT, now=time.time() - 3600), "expired"),
        "alg none": (f"{_b64({'alg': 'none', 'kid': keys.current.kid})}.{payload}.", "algorithm"),
        "HS256 with the public key": (_hs256_with_the_public_key(keys, payload), "algorithm"),
        "unknown kid": (keys.sign(EVENT, kid="not-in-the-jwks"), "unknown_kid"),
        "signed by a stranger under a known kid": (keys.sign(EVENT, key=stranger), "signature"),
        "no kid": (jwt.encode(EVENT, keys.current.private, algorithm="RS256"), "no_kid"),
        "empty body": (b"", "not_jws"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "unsigned JSON",
        "tampered payload",
        "expired",
        "alg none",
        "HS256 with the public key",
        "unknown kid",
        "signed by a stranger under a known kid",
        "no kid",
        "empty body",
    ],
)
def test_a_body_that_does_not_verify_gets_401_is_counted_logged_and_never_dispatched(
    jwks, forgeries, caplog, case
):
    body, reason = forgeries[case]
    recorder = Recorder()
    client, source = make_app(jwks, recorder)
    with caplog.at_level(logging.WARNING, logger="canvasbridge.engine.sources.webhook"):
        response = post(client, body)
    assert response.status_code == 401
    assert recorder.envelopes == [] and recorder.calls == 0
    assert refused(source, reason) == 1
    assert response.json()["error"] in caplog.text and f"401, {reason}" in caplog.text


def test_only_asymmetric_algorithms_can_be_configured():
    with pytest.raises(ValueError, match="HS256"):
        WebhookSourceConfig.model_validate(
            {
                "type": "http",
                "name": "x",
                "path": "/x",
                "jwt": {"jwks_url": "https://k.example/jwks", "algorithms": ["HS256"]},
            }
        )
