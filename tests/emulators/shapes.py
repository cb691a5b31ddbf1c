"""Checking a JSON object against a documented shape: ``{field: type}``, where a type is
``int``, ``num`` (int or float), ``str``, ``bool``, ``list``, ``dict`` or ``any``, and a
trailing ``?`` allows ``null``."""

from __future__ import annotations

from typing import Any

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "num": (int, float),
    "str": (str,),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
    "any": (object,),
}


def shape_errors(obj: Any, shape: dict[str, str]) -> list[str]:
    """What in ``obj`` breaks ``shape`` (missing fields, nulls, wrong types); empty when none."""
    if not isinstance(obj, dict):
        return [f"not an object: {obj!r}"]
    errors = []
    for name, kind in shape.items():
        if name not in obj:
            errors.append(f"{name} missing")
            continue
        value, nullable = obj[name], kind.endswith("?")
        if value is None:
            if not nullable:
                errors.append(f"{name} is null")
            continue
        wanted = JSON_TYPES[kind.rstrip("?")]
        if (isinstance(value, bool) and bool not in wanted and object not in wanted) or not isinstance(
            value, wanted
        ):
            errors.append(f"{name} is {type(value).__name__}, not {kind}")
    return errors
