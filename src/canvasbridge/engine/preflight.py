"""Before a long-running process starts: is every secret it will need there?

A worker that starts without ``CANVAS_TOKEN`` would take every call and dead-letter it; a
consumer without its broker password would fail at the first message. :func:`missing_secrets`
resolves, before anything starts, the secrets the configuration names for what the process
runs, and lists each one that is missing (``key: what is wrong``, never a value):

* ``worker`` - the backends' passwords and every ``systems.<entry>`` that the installed flows
  the configuration uses read;
* ``consume`` - the backends' passwords and the secrets of the sources it runs.

A secret is found wherever it is written as ``{env: NAME}`` or ``{file: PATH}``, in a
validated section (a :class:`~canvasbridge.secrets.SecretRef`) or a raw one (a mapping with
just that key), so the engine needs to know nothing of a system's settings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from canvasbridge.engine.config import AppConfig
from canvasbridge.engine.flows import Flow
from canvasbridge.secrets import MissingSecretError, SecretRef

Process = Literal["worker", "consume"]


def missing_secrets(
    config: AppConfig, process: Process, flows: Sequence[Flow], *, sources: Sequence[str] | None = None
) -> list[str]:
    """``key: problem`` for each secret ``process`` needs that cannot be read (``sources``:
    only these sources, for ``consume --source``)."""
    places: dict[str, Any] = {"backends": config.backends}
    if process == "worker":
        for entry in sorted(systems_in_use(config, flows)):
            places[f"systems.{entry}"] = config.systems.get(entry)
    else:
        for index, source in enumerate(config.sources):
            if sources is None or source.name in sources:
                places[f"sources.{index}"] = source
    problems = []
    for prefix, value in places.items():
        for key, ref in _secret_refs(value, prefix):
            try:
                ref.resolve()
            except MissingSecretError as exc:
                problems.append(f"{key}: {exc}")
    return problems


def systems_in_use(config: AppConfig, flows: Sequence[Flow]) -> set[str]:
    """The ``systems`` entries read by the installed flows ``config`` uses (configured ones only)."""
    document = {
        "routes": [{"parser": route.parser} for route in config.routes],
        "tasks": {name: {"path": spec.path} for name, spec in config.tasks.items()},
        **config.flow_sections(),
    }
    entries: set[str] = set()
    for flow in flows:
        if flow.in_use(document):
            try:
                needs = flow.systems(flow.settings(document))
            except ValidationError:  # reported by the configuration check, not here
                continue
            entries.update(entry for entry in needs if entry in config.systems)
    return entries


def _secret_refs(value: Any, key: str) -> Iterator[tuple[str, SecretRef]]:
    if isinstance(value, SecretRef):
        yield key, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secret_refs(getattr(value, name), f"{key}.{name}")
    elif isinstance(value, Mapping):
        if set(value) in ({"env"}, {"file"}):
            try:
                yield key, SecretRef.model_validate(value)
            except ValidationError:
                return
            return
        for name, item in value.items():
            yield from _secret_refs(item, f"{key}.{name}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _secret_refs(item, f"{key}.{index}")
