"""Bearer tokens for the admin API, with two roles.

Tokens come from ``admin.tokens`` in config, each ``{name, role, token: {env|file}}``;
they are read once when the app is built. ``read`` tokens may look at everything;
``operate`` tokens may also requeue, discard and queue syncs. A request presents one as
``Authorization: Bearer <token>``; it is compared with every configured token in constant
time (:func:`hmac.compare_digest`), so the answer's timing does not tell how much of a
guess was right, nor which token it was close to.

No token, or a wrong one: 401 with ``WWW-Authenticate: Bearer``. A read token on an
operator endpoint: 403. With no tokens configured every protected endpoint answers 401.
Too many wrong tokens from one address: 429 for a while (:mod:`.sign_in_limit`).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from canvasbridge.engine.api.sign_in_limit import SignInLimit, client_address
from canvasbridge.engine.config import AdminToken, Role
from canvasbridge.errors import ConfigError

MIN_TOKEN_CHARS = 16  # shorter tokens are refused at start-up: they can be guessed

bearer = HTTPBearer(auto_error=False, description="a token from admin.tokens in the configuration")


@dataclass(frozen=True)
class Principal:
    """Who made a request: the configured token's name and role."""

    name: str
    role: Role

    def may(self, role: Role) -> bool:
        return self.role is Role.OPERATE or role is Role.READ


class TokenBook:
    """The configured tokens, resolved from their secret references."""

    def __init__(self, entries: Sequence[tuple[str, Role, bytes]]) -> None:
        self._entries = list(entries)

    @classmethod
    def from_config(cls, tokens: Sequence[AdminToken]) -> TokenBook:
        entries: list[tuple[str, Role, bytes]] = []
        seen: set[bytes] = set()
        for index, item in enumerate(tokens):
            where = f"admin.tokens.{index}.token"
            try:
                value = item.token.resolve().get_secret_value()
            except LookupError as exc:
                raise ConfigError(f"{where}: {exc}") from None
            if len(value) < MIN_TOKEN_CHARS:
                raise ConfigError(
                    f"{where}: the token of {item.name!r} has {len(value)} characters; "
                    f"use at least {MIN_TOKEN_CHARS} (e.g. `openssl rand -hex 32`)"
                )
            secret = value.encode("utf-8")
            if secret in seen:
                raise ConfigError(f"{where}: the token of {item.name!r} is the same as another token's")
            seen.add(secret)
            entries.append((item.name, item.role, secret))
        return cls(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def secrets_of(self, name: str) -> list[tuple[Role, bytes]]:
        """The role and secret of each token called ``name`` (the dashboard signs sessions with it)."""
        return [(role, secret) for entry_name, role, secret in self._entries if entry_name == name]

    def identify(self, presented: str) -> Principal | None:
        """The principal whose token equals ``presented``; every token is compared."""
        candidate = presented.encode("utf-8", errors="replace")
        found: Principal | None = None
        for name, role, secret in self._entries:
            if hmac.compare_digest(candidate, secret):
                found = Principal(name, role)
        return found


def optional_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Principal | None:
    """The caller if a valid token came with the request, else None (never an error)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        return None
    limit: SignInLimit = request.app.state.sign_in_limit
    client = client_address(request)
    wait = limit.retry_after(client)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"too many wrong tokens from this address; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    book: TokenBook = request.app.state.tokens
    principal = book.identify(credentials.credentials)
    if principal is None:
        limit.failed(client)
    return principal


def require(role: Role) -> Callable[..., Principal]:
    """A dependency that lets the request through only with a token of ``role`` (or above)."""

    def dependency(principal: Principal | None = Depends(optional_principal)) -> Principal:
        if principal is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="a valid bearer token is required (Authorization: Bearer <token>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not principal.may(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"the token {principal.name!r} has role {principal.role.value}; this needs {role.value}",
            )
        return principal

    return dependency


require_read = require(Role.READ)
require_operate = require(Role.OPERATE)
