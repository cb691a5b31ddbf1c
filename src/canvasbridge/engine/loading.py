"""Load parsers and tasks from ``"package.module:function"`` import paths in config."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from canvasbridge.errors import ConfigError


def load_callable(path: str, *, what: str) -> Callable[..., Any]:
    """Import ``module:attribute`` and return it; :class:`ConfigError` naming ``what`` if not."""
    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigError(f"{what}: import path {path!r} must look like 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{what}: cannot import module {module_name!r}: {exc}") from exc
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ConfigError(f"{what}: module {module_name!r} has no attribute {attribute!r}") from None
    if not callable(target):
        raise ConfigError(f"{what}: {path!r} is not callable")
    return target  # type: ignore[no-any-return]
