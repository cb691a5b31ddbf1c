"""The org's schema: which sObjects exist, their fields, types, lookups and key prefixes.

The default schema is the Ambition Institute org the original Lambda wrote to (see
``reference/original-systems.md`` System A), plus the standard Account and Contact.
A schema is data: :func:`schema_from_spec` builds one from a plain dict, so a test or a
deployment with other object names can describe its own org.

Field types follow Salesforce's names: ``id``, ``string``, ``textarea``, ``email``,
``boolean``, ``double`` (every Number field; the REST API answers ``1480.0`` even for
Number(10,0)), ``int``, ``date``, ``datetime`` and ``reference`` (a lookup; traversed in
SOQL as ``Foo__r`` for a custom ``Foo__c`` and as ``Account`` for ``AccountId``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

STRING_TYPES = frozenset({"id", "string", "textarea", "email", "phone", "url", "picklist", "reference"})
NUMBER_TYPES = frozenset({"double", "int", "currency", "percent"})
ALL_TYPES = STRING_TYPES | NUMBER_TYPES | {"boolean", "date", "datetime"}

# Fields every object has; not createable or updateable by a client.
SYSTEM_FIELDS: tuple[tuple[str, str], ...] = (
    ("Id", "id"),
    ("IsDeleted", "boolean"),
    ("CreatedDate", "datetime"),
    ("LastModifiedDate", "datetime"),
    ("SystemModstamp", "datetime"),
)

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
ID_RE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    reference_to: str | None = None
    relationship_name: str | None = None
    external_id: bool = False
    required: bool = False
    autonumber: str | None = None  # e.g. "CA-{000000}": the Name of some custom objects
    system: bool = False
    values: tuple[str, ...] = ()  # a picklist's values, in order (the first is the default)
    length: int | None = None  # a text field's maximum length; a default per type when None
    unique: bool = False  # no two live records may hold the same value
    case_sensitive: bool = False  # only with unique: Salesforce's default is case-insensitive

    @property
    def writable(self) -> bool:
        return not self.system and self.autonumber is None


@dataclass
class ObjectDef:
    name: str
    key_prefix: str
    custom: bool
    fields: dict[str, FieldDef] = field(default_factory=dict)  # keyed by lower-case name
    relationships: dict[str, FieldDef] = field(default_factory=dict)  # lower-case rel name -> lookup
    # lookups from other objects to this one: (child object, lookup field, relationship name)
    children: list[tuple[str, str, str]] = field(default_factory=list)

    def child(self, relationship_name: str) -> tuple[str, str, str] | None:
        for child in self.children:
            if child[2].lower() == relationship_name.lower():
                return child
        return None

    def add(self, fdef: FieldDef) -> None:
        self.fields[fdef.name.lower()] = fdef
        if fdef.type == "reference" and fdef.relationship_name:
            self.relationships[fdef.relationship_name.lower()] = fdef

    def field(self, name: str) -> FieldDef | None:
        return self.fields.get(name.lower())


@dataclass
class Schema:
    objects: dict[str, ObjectDef] = field(default_factory=dict)  # keyed by lower-case name

    def get(self, name: str) -> ObjectDef | None:
        return self.objects.get(name.lower())

    def by_prefix(self, record_id: str) -> ObjectDef | None:
        prefix = record_id[:3]
        for obj in self.objects.values():
            if obj.key_prefix == prefix:
                return obj
        return None


STANDARD_PREFIXES = {"account": "001", "contact": "003", "user": "005", "opportunity": "006", "lead": "00Q"}


def relationship_name_for(field_name: str) -> str:
    """``Programme__c`` → ``Programme__r``; ``AccountId`` → ``Account``."""

    if field_name.endswith("__c"):
        return field_name[:-3] + "__r"
    if field_name.endswith("Id") and len(field_name) > 2:
        return field_name[:-2]
    return field_name


def child_relationship_name(child_object: str) -> str:
    """What a parent calls its children: ``Contact`` → ``Contacts``,
    ``Programme_Participant__c`` → ``Programme_Participants__r`` (Salesforce's defaults)."""

    if child_object.endswith("__c"):
        return child_object[:-3] + "s__r"
    return child_object + "s"


def schema_from_spec(spec: dict[str, dict[str, Any]]) -> Schema:
    """Build a :class:`Schema` from ``{object: {field: type | {type, to, external_id, ...}}}``.

    Custom objects (``__c``) get key prefixes ``a00``, ``a01``, … in the order given;
    standard objects use Salesforce's (001 Account, 003 Contact, …).
    """

    schema = Schema()
    custom_index = 0
    for obj_name, fields in spec.items():
        custom = obj_name.endswith("__c")
        if custom:
            prefix = "a0" + BASE62[custom_index % 62]
            custom_index += 1
        else:
            prefix = STANDARD_PREFIXES.get(
                obj_name.lower(), "0" + BASE62[10 + len(schema.objects) % 52] + "0"
            )
        obj = ObjectDef(obj_name, prefix, custom)
        for fname, ftype in SYSTEM_FIELDS:
            obj.add(FieldDef(fname, ftype, system=True))
        for fname, raw in fields.items():
            opts: dict[str, Any] = {"type": raw} if isinstance(raw, str) else dict(raw)
            ftype = opts.pop("type")
            if ftype not in ALL_TYPES:
                raise ValueError(f"{obj_name}.{fname}: unknown field type {ftype!r}")
            to = opts.pop("to", None)
            rel = relationship_name_for(fname) if ftype == "reference" else None
            obj.add(
                FieldDef(
                    fname,
                    ftype,
                    reference_to=to,
                    relationship_name=rel,
                    external_id=bool(opts.pop("external_id", False)),
                    required=bool(opts.pop("required", False)),
                    autonumber=opts.pop("autonumber", None),
                    values=tuple(opts.pop("values", ())),
                    length=opts.pop("length", None),
                    unique=bool(opts.pop("unique", False)),
                    case_sensitive=bool(opts.pop("case_sensitive", False)),
                )
            )
            if opts:
                raise ValueError(f"{obj_name}.{fname}: unknown options {sorted(opts)}")
        schema.objects[obj_name.lower()] = obj
    for obj in schema.objects.values():
        for fdef in obj.fields.values():
            if fdef.type == "reference" and (
                fdef.reference_to is None or schema.get(fdef.reference_to) is None
            ):
                raise ValueError(f"{obj.name}.{fdef.name}: lookup to unknown object {fdef.reference_to!r}")
            if fdef.type == "reference" and not fdef.system:
                parent = schema.get(str(fdef.reference_to))
                assert parent is not None
                taken = {c[2] for c in parent.children}
                name = child_relationship_name(obj.name)
                if name in taken:  # two lookups from one object to the same parent
                    name = child_relationship_name(fdef.name.removesuffix("__c").removesuffix("Id"))
                parent.children.append((obj.name, fdef.name, name))
    return schema


# The Ambition org (System A), as the original Lambda and our live_events writer use it.
AMBITION_SPEC: dict[str, dict[str, Any]] = {
    "Account": {"Name": {"type": "string", "required": True}},
    "Contact": {
        "FirstName": "string",
        "LastName": {"type": "string", "required": True},
        "Name": {"type": "string", "autonumber": "{name}"},
        "Email": "email",
        "AccountId": {"type": "reference", "to": "Account"},
        "Participant_UID__c": {"type": "string", "external_id": True},
    },
    "TL_Programme__c": {
        "Name": {"type": "string", "required": True},
        "LMS_Start_Date__c": "date",
        "LMS_End_Date__c": "date",
        "LMS_Course_Id__c": "double",
    },
    "Programme_Participant__c": {
        "Name": {"type": "string", "autonumber": "PP-{000000}"},
        "Participant_UID__c": {"type": "string", "external_id": True},
        "ParticipantName__c": "string",
        "Qualification__c": "string",
        "Programme__c": {"type": "reference", "to": "TL_Programme__c"},
        "Contact__c": {"type": "reference", "to": "Contact"},
    },
    "FLIP_Event__c": {
        "Name": {"type": "string", "required": True},
        "Event_Name__c": "string",
        "Event_Full_Name__c": "string",
        "Send_to_LMS__c": "boolean",
        "Cohort_lkp__c": {"type": "reference", "to": "TL_Programme__c"},
    },
    "Attendees__c": {
        "Name": {"type": "string", "autonumber": "AT-{000000}"},
        "Contact__c": {"type": "reference", "to": "Contact"},
        "FLIP_Event__c": {"type": "reference", "to": "FLIP_Event__c"},
        "Event_Attended__c": "boolean",
    },
    "Canvas_Activitiy__c": {
        "Name": {"type": "string", "autonumber": "CA-{000000}"},
        "Canvas_Activity__c": "string",
        "Canvas_Activity_Detail__c": "textarea",
        "Date__c": "datetime",
        "Time__c": "string",
        "Programme_Participant__c": {"type": "reference", "to": "Programme_Participant__c"},
        # Not in the original org: the External ID field docs/live-events.md asks administrators
        # to add, so a redelivered live event finds its record instead of creating another.
        "Caliper_Event_Id__c": {
            "type": "string",
            "external_id": True,
            "unique": True,
            "case_sensitive": True,
        },
    },
}


def default_schema() -> Schema:
    return schema_from_spec(AMBITION_SPEC)


# ---------------------------------------------------------------- ids


def id_checksum(id15: str) -> str:
    """The three characters Salesforce appends to make a 15-character id case-insensitive."""

    out = []
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_CHECKSUM_CHARS[bits])
    return "".join(out)


def make_id(prefix: str, number: int) -> str:
    """An 18-character id: key prefix, a fixed pod part, a base62 counter and the checksum."""

    digits = []
    n = number
    for _ in range(8):
        digits.append(BASE62[n % 62])
        n //= 62
    id15 = prefix + "Dn0" + "0" + "".join(reversed(digits))
    return id15 + id_checksum(id15)


def normalize_id(value: str) -> str | None:
    """An 18-character id for a 15- or 18-character one; ``None`` when it is not an id."""

    if not ID_RE.match(value):
        return None
    if len(value) == 15:
        return value + id_checksum(value)
    return value


# ---------------------------------------------------------------- values


class ValueError_(ValueError):
    """A JSON value that does not fit a field's type."""


def coerce(fdef: FieldDef, value: Any) -> Any:
    """A JSON value from a client → the stored Python value, or :class:`ValueError_`."""

    if value is None:
        return None
    t = fdef.type
    if t in STRING_TYPES:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError_(f"cannot deserialize {type(value).__name__} into a {t} field")
        return str(value)
    if t == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError_("cannot deserialize into a boolean field")
    if t in NUMBER_TYPES:
        if isinstance(value, bool):
            raise ValueError_("cannot deserialize a boolean into a number field")
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise ValueError_(f"cannot deserialize {value!r} into a number field") from exc
    if t == "date":
        if not isinstance(value, str):
            raise ValueError_("a date must be a string YYYY-MM-DD")
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError as exc:
            raise ValueError_(f"cannot deserialize {value!r} into a date") from exc
    if t == "datetime":
        if not isinstance(value, str):
            raise ValueError_("a dateTime must be an ISO-8601 string")
        return parse_datetime(value)
    raise ValueError_(f"unsupported type {t}")


def parse_datetime(value: str) -> dt.datetime:
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    m = re.match(r"^(.*[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)([+-]\d{2})(\d{2})$", text)
    if m:
        text = f"{m.group(1)}{m.group(2)}:{m.group(3)}"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError_(f"cannot deserialize {value!r} into a dateTime") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def render(fdef: FieldDef, value: Any) -> Any:
    """A stored value → its JSON form in API answers."""

    if value is None:
        return None
    if fdef.type == "date":
        return value.isoformat()
    if fdef.type == "datetime":
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
    if fdef.type == "int":
        return int(value)
    return value
