"""Redaction: secret values and credential-looking fragments removed from text, URLs and logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"

_SECRET_PARAM = re.compile(r"(token|key|secret|password|passwd|signature|auth|session)", re.I)
_SECRET_PATTERNS = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 ***"),
    (
        re.compile(
            r"(?i)((?:password|access_token|client_secret|session_?id|api_?key|token)\]?['\"]?\s*[:=,]\s*['\"]?)"
            r"[^'\"&,\s})\]]+"
        ),
        r"\1***",
    ),
]


class Redactor:
    """Removes secret values and credential-looking fragments from text and URLs."""

    def filter(self) -> logging.Filter:
        """A logging filter that redacts records (for libraries that log requests)."""
        return RedactingFilter(self)

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    def clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _SECRET_PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def url(self, url: str) -> str:
        """The URL without user info and with secret-looking query values masked."""
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        query = urlencode(
            [(k, REDACTED if _SECRET_PARAM.search(k) else v) for k, v in parse_qsl(parts.query, True)]
        )
        return self.clean(urlunsplit((parts.scheme, netloc, parts.path, query, "")))


class RedactingFilter(logging.Filter):
    """Rewrites each record's message through a :class:`Redactor` (never drops a record)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        record.msg, record.args = self.redactor.clean(message), None
        return True
