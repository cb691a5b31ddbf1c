"""Signed HTTPS delivery, as Canvas Data Services does it with "Sign Payload" on.

    keys = SigningKeys()                                   # previous, current and next RSA keys
    server = ServerThread(jwks_app(keys)).start()          # GET /jwks: the three public keys
    sink = WebhookSink(url, signer=keys)                   # each POST body: a signed JWT

Canvas signs each event as a JWT whose claims are the live event, with the key matched by the
JWT header's ``kid``; its JWKS endpoint publishes the previous, current and next (future)
keys and is rotated monthly. Here the claims are the event plus ``iat`` and ``exp``
(``ttl_s`` later: Canvas's own lifetime is not documented), signed RS256 with the current key.
:meth:`SigningKeys.rotate` moves on by one (previous ← current ← next ← a new key).

Control for tests: ``keys.available = False`` makes the JWKS endpoint answer 503, and
:meth:`SigningKeys.sign` takes a ``kid``, ``algorithm``, ``key`` or ``headers`` to forge
what a sender should never send.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEFAULT_TTL_S = 300  # lifetime of a signed event (exp - iat), seconds
KEY_BITS = 2048


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        jwk.update(kid=self.kid, use="sig", alg="RS256")
        return jwk


class SigningKeys:
    """The previous, current and next signing keys; events are signed with the current one."""

    def __init__(self, *, ttl_s: float = DEFAULT_TTL_S, kid_prefix: str = "canvas-live-events") -> None:
        self.ttl_s = ttl_s
        self.available = True  # False: the JWKS endpoint answers 503
        self.fetches = 0  # requests the JWKS endpoint answered with keys
        self._prefix = kid_prefix
        self._numbers = itertools.count(1)
        self.previous, self.current, self.next = (self._new() for _ in range(3))

    def _new(self) -> SigningKey:
        number = next(self._numbers)
        private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        return SigningKey(f"{self._prefix}-{number:04d}", private)

    def rotate(self) -> None:
        """A month on: the next key becomes current, and a new next key is published."""
        self.previous, self.current, self.next = self.current, self.next, self._new()

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in (self.previous, self.current, self.next)]}

    def sign(
        self,
        claims: dict[str, Any],
        *,
        now: float | None = None,
        kid: str | None = None,
        algorithm: str = "RS256",
        key: Any = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """A compact JWS of ``claims`` plus ``iat``/``exp``, by default with the current key."""
        issued = int(time.time() if now is None else now)
        payload = {**claims, "iat": issued, "exp": issued + int(self.ttl_s)}
        return jwt.encode(
            payload,
            self.current.private if key is None else key,
            algorithm=algorithm,
            headers={"kid": self.current.kid if kid is None else kid, **(headers or {})},
        )


def jwks_app(keys: SigningKeys, path: str = "/jwks") -> Starlette:
    """``GET <path>``: the public keys as a JWKS, or 503 while ``keys.available`` is False."""

    async def serve(request: Request) -> Response:
        if not keys.available:
            return JSONResponse({"message": "Service Unavailable"}, status_code=503)
        keys.fetches += 1
        return JSONResponse(keys.jwks())

    return Starlette(routes=[Route(path, serve, methods=["GET"])])
