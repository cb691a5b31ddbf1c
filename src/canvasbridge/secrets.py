"""Secrets come from environment variables or files, never from the YAML itself.

In configuration a secret is written as ``{env: NAME}`` or ``{file: /path}``::

    canvas:
      token: {env: CANVAS_TOKEN}

:class:`SecretRef` resolves it to a :class:`pydantic.SecretStr`, whose ``repr`` and
``str`` never show the value, so a logged config cannot leak it.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator


class MissingSecretError(LookupError):
    """A secret the configuration names is not there; the message names the variable or
    file, never a value. The CLI answers it as a configuration error (exit 2)."""


class SecretRef(BaseModel):
    """Where to read a secret: exactly one of ``env`` (variable name) or ``file`` (path)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _refuse_inline_values(cls, data: object) -> object:
        if isinstance(data, str):
            raise ValueError(
                "secrets may not be written in the configuration file; "
                "use {env: VARIABLE_NAME} or {file: /path/to/secret}"
            )
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        return self

    def resolve(self) -> SecretStr:
        """The secret's value; raises :class:`MissingSecretError` naming the variable or file if missing."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise MissingSecretError(f"environment variable {self.env} is not set")
        else:
            assert self.file is not None
            try:
                value = self.file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise MissingSecretError(f"secret file {self.file} cannot be read: {exc.strerror}") from exc
        remember_for_redaction(value)
        return SecretStr(value)

    def describe(self) -> str:
        """Where the secret comes from, safe to print."""
        return f"env:{self.env}" if self.env is not None else f"file:{self.file}"


_revealed: set[str] = set()
MIN_REDACTED_LENGTH = 4  # shorter values would blank out ordinary words


def remember_for_redaction(value: str) -> None:
    """Note a secret value so :func:`redact` hides it wherever it appears in text."""
    if len(value) >= MIN_REDACTED_LENGTH:
        _revealed.add(value)


def redact(text: str) -> str:
    """``text`` with every secret resolved so far replaced by ``***``."""
    for value in _revealed:
        if value in text:
            text = text.replace(value, "***")
    return text
