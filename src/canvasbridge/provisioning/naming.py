"""Names and SIS ids of Canvas objects, as templates over source fields.

A template is a Python format string, ``"UE_{institusjon}_{emnekode}_{versjon}_{ar}_{termin}"``.
Each template may only name the fields of its *scope* (:data:`FIELDS`); naming any other
field, or using indexing, attributes or conversions, fails when the configuration is
validated (``canvasbridge config check``), never while a task runs.

Scopes and their fields:

* ``unit`` - a teaching unit (FS *undervisning*), merged over all its terms:
  ``institusjon, emnekode, versjon, ar`` (alias ``år``), ``termin``, ``terminnummer``
  (both of the *first* term of a multi-term unit), ``ar_slutt``, ``termin_slutt`` (the last
  term), ``emnenavn`` (Norwegian bokmål, else English), ``emnenavn_nb``, ``emnenavn_en``.
* ``activity`` - a teaching activity (FS *undervisningsaktivitet*): all ``unit`` fields
  plus ``aktivitet``, ``aktivitetsnavn``, ``aktivitetsnavn_nb``, ``aktivitetsnavn_en``.
* ``user`` - ``username`` (the primary account), ``person_id`` (Cerebrum).
* ``account`` - ``code`` (the stedkode ``FFIIGG``, known to both SAP and FS),
  ``location_id`` (SAP), ``name``, ``acronym``.
* ``account_sis`` - ``code`` only: a course's sub-account is found from FS data, which
  knows the stedkode but not SAP's location id.
* ``term`` - ``ar``/``år``, ``termin``.

Each template also yields an ownership pattern (:meth:`Template.owns`): a Canvas object whose
SIS id could have come from the template is one the service manages.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

UNIT_FIELDS = frozenset(
    {
        "institusjon",
        "emnekode",
        "versjon",
        "ar",
        "år",
        "termin",
        "terminnummer",
        "ar_slutt",
        "termin_slutt",
        "emnenavn",
        "emnenavn_nb",
        "emnenavn_en",
    }
)
ACTIVITY_FIELDS = UNIT_FIELDS | {"aktivitet", "aktivitetsnavn", "aktivitetsnavn_nb", "aktivitetsnavn_en"}

#: scope → the fields its templates may name
FIELDS: dict[str, frozenset[str]] = {
    "unit": UNIT_FIELDS,
    "activity": ACTIVITY_FIELDS,
    "user": frozenset({"username", "person_id"}),
    "account": frozenset({"location_id", "code", "name", "acronym"}),
    "account_sis": frozenset({"code"}),
    "term": frozenset({"ar", "år", "termin"}),
}

_FORMATTER = string.Formatter()


def template_fields(template: str) -> list[str]:
    """The field names a template uses; ``ValueError`` for bad syntax or complex fields."""
    return list(_template_fields(template))


@functools.lru_cache(maxsize=1024)  # a full resync renders a few templates 100,000s of times
def _template_fields(template: str) -> tuple[str, ...]:
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ValueError(f"template {template!r} is not a valid format string: {exc}") from exc
    names: list[str] = []
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field == "" or field.isdigit():
            raise ValueError(f"template {template!r} has a positional field {{{field}}}; name the field")
        if not re.fullmatch(r"\w+", field):
            raise ValueError(f"template {template!r}: field {{{field}}} may not use indexing or attributes")
        if conversion:
            raise ValueError(f"template {template!r}: field {{{field}}} may not use a !conversion")
        if spec and "{" in spec:
            raise ValueError(f"template {template!r}: field {{{field}}} has a nested format spec")
        names.append(field)
    return tuple(names)


def check_template(template: str, scope: str) -> str:
    """Return ``template`` if every field it names belongs to ``scope``; else ``ValueError``."""
    allowed = FIELDS[scope]
    unknown = [name for name in template_fields(template) if name not in allowed]
    if unknown:
        raise ValueError(
            f"template {template!r} names unknown field(s) {', '.join(sorted(set(unknown)))}; "
            f"{scope} templates may use: {', '.join(sorted(allowed))}"
        )
    return template


@dataclass(frozen=True)
class Template:
    """A checked template with its scope; render it, or ask whether it could have made an id."""

    text: str
    scope: str

    def __post_init__(self) -> None:
        check_template(self.text, self.scope)

    def render(self, values: Mapping[str, Any]) -> str:
        """Fill the template; a missing value renders as an empty string."""
        filled = {
            name: ("" if values.get(name) is None else values[name]) for name in _template_fields(self.text)
        }
        return self.text.format_map(filled).strip()

    @property
    def fields(self) -> list[str]:
        return template_fields(self.text)

    @property
    def has_fixed_text(self) -> bool:
        """Whether the template has literal text, so its shape sets its values apart from others'."""
        return any(literal for literal, _, _, _ in _FORMATTER.parse(self.text))

    def owns(self, value: str | None) -> bool:
        """Whether ``value`` has the shape this template produces (its literal parts in place)."""
        if not value:
            return False
        return _pattern(self.text).fullmatch(value) is not None


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _pattern(template: str) -> re.Pattern[str]:
    cached = _PATTERNS.get(template)
    if cached is None:
        pieces = []
        for literal, field, _, _ in _FORMATTER.parse(template):
            pieces.append(re.escape(literal))
            if field is not None:
                pieces.append(r".+?")
        cached = _PATTERNS[template] = re.compile("".join(pieces), re.DOTALL)
    return cached
