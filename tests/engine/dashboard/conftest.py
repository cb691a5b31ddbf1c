"""A dashboard on a real PostgreSQL ledger (the admin API's test app), and signing in to it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.api.conftest import OPERATE_TOKEN, READ_TOKEN, Api, _tokens, build_api

__all__ = ["OPERATE_TOKEN", "READ_TOKEN", "_tokens", "csrf_of", "sign_in"]

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def api(tmp_path: Path, postgres_url: str) -> Iterator[Api]:
    built = build_api(tmp_path, postgres_url)
    try:
        yield built
    finally:
        built.client.close()
        built.runtime.ledger().close()


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: Any, token: str, next_path: str = "/") -> Any:
    """Sign in through the form as a browser would; the answer to the form's POST."""
    form = client.get("/ui/login", params={"next": next_path})
    assert form.status_code == 200
    return client.post(
        "/ui/login",
        data={"token": token, "csrf": csrf_of(form.text), "next": next_path},
        follow_redirects=False,
    )
