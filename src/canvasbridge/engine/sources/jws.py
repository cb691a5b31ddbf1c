"""Signed bodies for the HTTP source: a compact JWS verified with a key from a JWKS.

With ``jwt: {jwks_url: ...}`` on a source of ``type: http``, :class:`JwsVerifier` turns a
request body into the claims it carries, or refuses it with a :class:`Rejected` naming the
reason (the source answers 401, counts and logs it, and dispatches nothing):

* the body must be a compact JWS (``header.payload.signature``);
* its ``alg`` must be one of ``algorithms`` (default ``RS256``): ``none`` and HMAC
  (``HS256``, which would take the public key as its secret) are never accepted;
* its ``kid`` must name a key of the JWKS, whose own ``alg`` (when it has one) must match;
* the signature must verify; ``exp``, ``nbf`` and ``iat``, when present, must hold, with
  ``leeway_s`` of clock skew. The audience is not checked.

The verified claims, without the registered ones (``iss sub aud exp nbf iat jti``), are the
message body, so a route's parser gets exactly what an unsigned delivery carries.

:class:`JwksCache` keeps the keys: fetched on first use, fresh for ``cache_ttl_s``, fetched
again when stale or when a ``kid`` is unknown (key rotation), but at most once per
``refetch_interval_s`` whatever the senders do. While the JWKS endpoint is down the keys
already fetched keep serving. When no key can be had (nothing fetched yet, or an unknown
``kid`` while the endpoint is down) :class:`KeysUnavailable` is raised: the source answers
503 so the sender retries later, since the body may well be good.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from canvasbridge.engine.sources.config import JwtConfig

log = logging.getLogger(__name__)

REGISTERED_CLAIMS = ("iss", "sub", "aud", "exp", "nbf", "iat", "jti")  # RFC 7519, section 4.1
_COMPACT = re.compile(rb"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


class Rejected(Exception):
    """A body that is not a valid signed JWT; ``code`` is a short label for the metric."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


class KeysUnavailable(Exception):
    """No key to check the body with: the JWKS could not be fetched."""


@dataclass(frozen=True)
class JwksKey:
    """One signing key of the JWKS: as published, and parsed for its own (or default) alg."""

    entry: dict[str, Any]
    parsed: jwt.PyJWK

    @property
    def declared_alg(self) -> str | None:
        alg = self.entry.get("alg")
        return alg if isinstance(alg, str) else None

    def for_algorithm(self, alg: str) -> Any:
        """The public key to check an ``alg`` signature with; ValueError when it cannot."""
        if self.declared_alg is not None and self.declared_alg != alg:
            raise ValueError(f"it is a {self.declared_alg} key")
        if self.parsed.algorithm_name == alg:
            return self.parsed.key
        try:  # a key without "alg", used with another algorithm of its type (PS256 for RSA)
            return jwt.PyJWK(self.entry, algorithm=alg).key
        except (jwt.PyJWKError, jwt.InvalidKeyError) as exc:
            raise ValueError(f"its type cannot check {alg}: {exc}") from None


class JwksCache:
    """The keys of one JWKS by ``kid`` (see the module docstring for when it fetches)."""

    def __init__(
        self,
        config: JwtConfig,
        *,
        fetch: Callable[[str, float], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._fetch = fetch or _fetch_json
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, JwksKey] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._tried_at: float | None = None  # last attempt, successful or not
        self._last_error: str | None = None  # of the last attempt, None when it worked

    def key(self, kid: str) -> JwksKey | None:
        """The key named ``kid``; None when the JWKS (fetched just now or lately) lacks it."""
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self._config.cache_ttl_s
            if (kid not in self._keys or stale) and self._may_fetch(now):
                self._refresh(now)
            if kid in self._keys:
                return self._keys[kid]
            if self._last_error is not None:
                raise KeysUnavailable(f"JWKS {self._config.jwks_url} unavailable: {self._last_error}")
            return None

    def _may_fetch(self, now: float) -> bool:
        return self._tried_at is None or now - self._tried_at >= self._config.refetch_interval_s

    def _refresh(self, now: float) -> None:
        self._tried_at = now
        try:
            keys = _usable_keys(self._fetch(self._config.jwks_url, self._config.timeout_s))
        except (httpx.HTTPError, ValueError) as exc:
            self._last_error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "JWKS %s could not be fetched (%s); %d cached keys still serve",
                self._config.jwks_url,
                self._last_error,
                len(self._keys),
            )
            return
        self._keys, self._fetched_at, self._last_error = keys, now, None
        log.info("JWKS %s fetched: kids %s", self._config.jwks_url, sorted(keys))


def _fetch_json(url: str, timeout_s: float) -> Any:
    response = httpx.get(url, timeout=timeout_s, headers={"Accept": "application/json"})
    response.raise_for_status()
    return response.json()


def _usable_keys(document: Any) -> dict[str, JwksKey]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError('a JWKS is a JSON object with a "keys" list')
    keys: dict[str, JwksKey] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue  # a key without a kid can never be chosen
        if entry.get("use", "sig") != "sig":
            continue
        try:
            keys[entry["kid"]] = JwksKey(entry, jwt.PyJWK(entry))
        except (jwt.PyJWKError, jwt.InvalidKeyError) as exc:
            log.warning("JWKS key %r skipped: %s", entry["kid"], exc)
    if not keys:
        raise ValueError("the JWKS holds no usable signing key with a kid")
    return keys


class JwsVerifier:
    """Verifies compact JWS bodies against :class:`JwksCache` (see the module docstring)."""

    def __init__(self, config: JwtConfig, keys: JwksCache | None = None) -> None:
        self._config = config
        self._algorithms = frozenset(config.algorithms)
        self.keys = keys or JwksCache(config)

    def claims(self, body: bytes) -> dict[str, Any]:
        """The verified claims of ``body`` without the registered ones; raises
        :class:`Rejected` or :class:`KeysUnavailable`."""
        token = body.strip()
        if not _COMPACT.fullmatch(token):
            raise Rejected("not_jws", "the body is not a compact JWS (header.payload.signature)")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise Rejected("not_jws", f"the JWS header cannot be read: {exc}") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            allowed = ", ".join(sorted(self._algorithms))
            raise Rejected("algorithm", f"alg {alg!r} is not accepted (accepted: {allowed})")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Rejected("no_kid", "the JWS header names no key (kid)")
        key = self.keys.key(kid)
        if key is None:
            raise Rejected("unknown_kid", f"kid {kid!r} is not in the JWKS")
        try:
            public_key = key.for_algorithm(alg)
        except ValueError as exc:
            raise Rejected("algorithm", f"kid {kid!r} cannot check an {alg} signature: {exc}") from None
        try:
            claims = jwt.decode(
                token,
                public_key,
                algorithms=[alg],
                leeway=self._config.leeway_s,
                options={"verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise Rejected("expired", "the JWT has expired (exp)") from None
        except jwt.ImmatureSignatureError as exc:
            raise Rejected("not_yet_valid", f"the JWT is not valid yet: {exc}") from None
        except jwt.InvalidSignatureError:
            raise Rejected("signature", f"the signature does not verify with kid {kid!r}") from None
        except jwt.InvalidTokenError as exc:
            raise Rejected("invalid", f"the JWT is invalid: {exc}") from None
        return {name: value for name, value in claims.items() if name not in REGISTERED_CLAIMS}

    def body(self, body: bytes) -> bytes:
        """The verified claims as the JSON message body."""
        return json.dumps(self.claims(body), separators=(",", ":"), ensure_ascii=False).encode()
