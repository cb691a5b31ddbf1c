"""Configuration keys overridden from the environment, pydantic-settings style.

A variable ``CANVASBRIDGE__<KEY>__<KEY>…`` sets the key at that path, ``__`` separating the
levels and a number indexing a list::

    CANVASBRIDGE__WORKER__CONCURRENCY=8
    CANVASBRIDGE__BACKENDS__BROKER_URL=amqp://canvasbridge@mq.example.org:5672/canvasbridge
    CANVASBRIDGE__SOURCES__0__QUEUE=canvas-uio
    CANVASBRIDGE__LIVE_EVENTS__ENABLE='[asset_accessed]'
    CANVASBRIDGE__SYSTEMS__CANVAS__TOKEN='{env: CANVAS_TOKEN}'

The value is read as YAML (``8`` is a number, ``true`` a boolean, ``[a, b]`` a list,
``{env: NAME}`` a secret reference), so it means what it would in the file. Names are
matched to existing keys without regard to case; a new key is taken in lower case. The
overrides apply after the file is read and before it is validated, so a bad value is
reported like one in the file, followed by the variable that set it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import yaml

from canvasbridge.errors import ConfigError

PREFIX = "CANVASBRIDGE__"
SEPARATOR = "__"


def env_overrides(environ: Mapping[str, str]) -> list[tuple[str, list[str], str]]:
    """``(variable, path, raw value)`` for each override variable, shallow paths first."""
    found = []
    for name, value in environ.items():
        if name.upper().startswith(PREFIX):
            parts = name[len(PREFIX) :].split(SEPARATOR)
            found.append((name, parts, value))
    return sorted(found, key=lambda item: (len(item[1]), item[0]))


def apply_env_overrides(
    document: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """``document`` with every override applied, and ``dotted key → variable`` of what was set.

    Raises :class:`ConfigError` naming the variable when its path cannot be followed (an
    empty level, a list index out of range, a key below a plain value) or its value is
    not YAML.
    """
    result: dict[str, Any] = copy.deepcopy(dict(document))
    applied: dict[str, str] = {}
    for variable, parts, raw in env_overrides(environ):
        if not all(parts):
            raise ConfigError(f"{variable}: empty key between '__' separators")
        try:
            value = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError as exc:
            raise ConfigError(f"{variable}: the value is not valid YAML: {exc}") from None
        keys = _set(result, parts, value, variable)
        applied[".".join(keys)] = variable
    return result, applied


def _set(document: dict[str, Any], parts: list[str], value: Any, variable: str) -> list[str]:
    node: Any = document
    keys: list[str] = []
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                where = ".".join(keys)
                raise ConfigError(
                    f"{variable}: {where} is a list of {len(node)} item(s); {part!r} is not an index in it"
                )
            key: Any = int(part)
        elif isinstance(node, dict):
            key = next((k for k in node if str(k).lower() == part.lower()), part.lower())
        else:
            where = ".".join(keys)
            raise ConfigError(f"{variable}: {where} holds a single value, which has no key {part.lower()!r}")
        keys.append(str(key))
        if last:
            node[key] = value
        else:
            if isinstance(node, dict) and (key not in node or node[key] is None):
                node[key] = {}
            node = node[key]
    return keys


def blame(problems: list[str], applied: Mapping[str, str]) -> list[str]:
    """Each problem about a key an override set, or about something above or below it,
    followed by ``(set by VARIABLE)``."""
    if not applied:
        return problems
    named = []
    for problem in problems:
        key = problem.split(": ", 1)[0]
        variables = sorted(
            variable
            for path, variable in applied.items()
            if key == path or key.startswith(f"{path}.") or path.startswith(f"{key}.")
        )
        named.append(f"{problem} (set by {', '.join(variables)})" if variables else problem)
    return named
