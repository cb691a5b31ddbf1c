"""Build SOQL from a template and values, never by pasting text.

    >>> format("SELECT Id FROM Contact WHERE Email = {email} AND Active__c = {on}",
    ...        email="o'brien@x.no", on=True)
    "SELECT Id FROM Contact WHERE Email = 'o\\\\'brien@x.no' AND Active__c = true"

Each ``{name}`` becomes a SOQL literal (:func:`quote`): strings in single quotes with
Salesforce's backslash escapes, ``true``/``false``, ``null``, numbers, dates, aware
datetimes in UTC, and lists as ``(a,b)`` for ``IN``. Two format specs exist:

* ``{name:like}`` - the value escaped for use *inside* a quoted ``LIKE`` pattern
  (``%`` and ``_`` are escaped too): ``Name LIKE '{prefix:like}%'``.
* ``{name:ident}`` - an object or field name from configuration (``Canvas_Activitiy__c``,
  ``FLIP_Event__r.Name``), checked to be a plain identifier path and inserted bare.

The escape table is simple-salesforce's (``simple_salesforce.format``), which matches the
Salesforce reference. Where its ``format_soql`` is unsafe or vague we differ: NaN and
infinities are refused (they would print as the bare words ``nan``/``inf``), naive datetimes
are refused (it silently takes them as local time), an empty list is refused (``IN ()`` is
not SOQL), ``Decimal`` is supported, and ``{x:literal}`` (which pastes raw text) is refused.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from simple_salesforce.format import soql_escapes, soql_like_escapes

from canvasbridge.errors import PermanentError

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


class SoqlError(PermanentError, ValueError):
    """A value or name cannot be put into SOQL safely."""


def escape(text: str) -> str:
    """The body of a SOQL string literal (without the quotes)."""
    return text.translate(soql_escapes)


def escape_like(text: str) -> str:
    """The body of a quoted ``LIKE`` pattern matching ``text`` literally."""
    return text.translate(soql_escapes).translate(soql_like_escapes)


def identifier(name: str) -> str:
    """``name`` if it is an object/field name or a dotted relationship path; else an error."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise SoqlError(f"not a SOQL identifier: {name!r}")
    return name


def quote(value: Any) -> str:
    """The SOQL literal for a Python value (see the module docstring for the types)."""
    if isinstance(value, str):
        return "'" + escape(value) + "'"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SoqlError(f"{value!r} has no SOQL literal")
        return f"{Decimal(repr(value)):f}"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise SoqlError(f"{value!r} has no SOQL literal")
        return f"{value:f}"
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise SoqlError(f"naive datetime {value.isoformat()} is ambiguous; give a time zone")
        return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Sequence | set | frozenset) and not isinstance(value, bytes | bytearray):
        items = list(value)
        if not items:
            raise SoqlError("an empty list has no SOQL literal (IN () is invalid)")
        return "(" + ",".join(quote(item) for item in items) + ")"
    raise SoqlError(f"cannot put a {type(value).__name__} into SOQL")


class _Formatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if not format_spec:
            return quote(value)
        if format_spec == "like":
            return escape_like(str(value))
        if format_spec == "ident":
            return identifier(value)
        raise SoqlError(f"unknown SOQL format spec {format_spec!r} (use none, 'like' or 'ident')")

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is not None:
            raise SoqlError("conversions (!r, !s) are not allowed in SOQL templates")
        return value

    def check_unused_args(self, used_args: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        unused = set(kwargs) - set(used_args)
        if unused:
            raise SoqlError(f"values not used by the SOQL template: {sorted(unused)}")


def format(template: str, /, **values: Any) -> str:
    """``template`` with each ``{name}`` replaced by the SOQL literal of ``values[name]``."""
    return _Formatter().vformat(template, (), values)
