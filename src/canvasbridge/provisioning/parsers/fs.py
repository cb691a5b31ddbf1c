"""FS notifications (JWT-claims style) → course and enrolment task calls.

Routing key ``no.uio.fs.<iss>.<resource>.<operation>`` (for example
``no.uio.fs.FS-prod.personer.update``); body::

    {"sub": "undervisning/185,INF1000,1,2024,H%C3%98ST,1", "iss": "FS-prod",
     "iat": "1582344412462", "operation": "update", "jti": "<uuid>"}

``sub`` is ``<resource>/<comma-separated id>``; each id part is URL-encoded UTF-8
(``HØST`` travels as ``H%C3%98ST``). Parameters carry the decoded id joined by commas,
for example ``{"fs_id": "185,INF1000,1,2024,HØST,1"}``.

Identifier part counts follow the verified FS samples (3-part emne, 6-part undervisning,
7-part undervisningsaktivitet), not the design document's 4/7/8 (see docs/provisioning.md).
The table :data:`RESOURCES` says what each resource asks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from canvasbridge.engine import Envelope, TaskCall
from canvasbridge.errors import MessageError
from canvasbridge.provisioning.parsers._body import body_object, optional_str, required_str, routing_parts

ROUTING_PREFIX = ("no", "uio", "fs")

KNOWN_OPERATIONS = frozenset({"create", "insert", "update", "modify", "delete"})


@dataclass(frozen=True)
class Resource:
    """How to read one FS resource's id and which tasks it asks for.

    ``parts``: how many comma-separated parts the id has; ``key``: which of them (a slice)
    form the task parameter; ``tasks``: the tasks called with ``{param: key}``.
    """

    parts: tuple[int, ...]
    key: slice
    param: str
    tasks: tuple[str, ...]


#: FS resource → what it asks for; a resource not listed needs no work from provisioning.
RESOURCES: dict[str, Resource] = {
    # teaching unit (UE): inst, emnekode, versjon, år, termin, terminnummer
    "undervisning": Resource((6,), slice(0, 6), "fs_id", ("ensure_course",)),
    # teaching activity (UA): the unit's 6 parts + aktivitet
    "undervisningsaktiviteter": Resource((7,), slice(0, 7), "fs_id", ("ensure_course",)),
    # a subject (emne: inst, kode, versjon): its names feed the course names
    "emner": Resource((3,), slice(0, 3), "fs_id", ("ensure_emne",)),
    # a student's participation in a unit: personløpenummer + the unit's 6 parts
    "studentundervisning": Resource((7,), slice(1, 7), "fs_id", ("ensure_enrollments",)),
    # … in an activity: personløpenummer + the activity's 7 parts (+ parti, form, disiplin)
    "studentundervisningsaktiviteter": Resource((8, 11), slice(1, 8), "fs_id", ("ensure_enrollments",)),
    # a teaching role: personløpenummer, rollenummer; the task reads which unit it is for
    "personroller": Resource((2,), slice(0, 2), "personrolle", ("ensure_person_role",)),
    # persons, study rights, cohorts… change nothing provisioning writes (users come from Cerebrum)
}

_IAT = re.compile(r"[0-9]{1,16}")


def parse(envelope: Envelope) -> list[TaskCall]:
    """Turn one FS message into task calls (see the module docstring)."""
    body = body_object(envelope)
    sub = required_str(body, "sub")
    _check_claims(body)
    resource, raw_id = _split_sub(sub)
    parts = routing_parts(envelope, ROUTING_PREFIX, 6)
    if parts is not None:
        if parts[4] != resource:
            raise MessageError(f"'sub' is about {resource!r} but the routing key says {parts[4]!r}")
        operation = parts[5]
        if operation not in KNOWN_OPERATIONS:
            raise MessageError(f"unknown FS operation {operation!r}")
    rule = RESOURCES.get(resource)
    if rule is None:
        return []
    id_parts = split_fs_id(raw_id)
    if len(id_parts) not in rule.parts:
        wanted = " or ".join(str(n) for n in rule.parts)
        raise MessageError(f"{resource} id {raw_id!r} has {len(id_parts)} parts, expected {wanted}")
    key = ",".join(id_parts[rule.key])
    return [TaskCall(task, {rule.param: key}) for task in rule.tasks]


def split_fs_id(raw: str) -> list[str]:
    """Split an FS id on commas and URL-decode each part; empty parts are an error."""
    parts = _decode_parts(raw)
    for index, part in enumerate(parts):
        if not part.strip():
            raise MessageError(f"FS id {raw!r} has an empty part at position {index + 1}")
        if "," in part or "/" in part:
            raise MessageError(f"FS id {raw!r} has a part with a comma or slash after decoding")
    return parts


def _decode_parts(raw: str) -> list[str]:
    try:
        return [unquote(p, errors="strict") for p in raw.split(",")]
    except UnicodeDecodeError as exc:
        raise MessageError(f"FS id {raw!r} is not URL-encoded UTF-8") from exc


def _split_sub(sub: str) -> tuple[str, str]:
    resource, sep, raw_id = sub.strip("/").partition("/")
    if not sep or not resource or not raw_id or "/" in raw_id:
        raise MessageError(f"'sub' {sub!r} is not of the form <resource>/<id>")
    return resource, raw_id


def _check_claims(body: dict[str, object]) -> None:
    iat = body.get("iat")
    if iat is not None:
        text = (
            iat
            if isinstance(iat, str)
            else str(iat)
            if isinstance(iat, int) and not isinstance(iat, bool)
            else None
        )
        if text is None or not _IAT.fullmatch(text):
            raise MessageError(f"'iat' must be epoch milliseconds as a string, got {iat!r}")
    optional_str(body, "jti")
    optional_str(body, "iss")
