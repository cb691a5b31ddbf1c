"""Cerebrum notifications (SCIM-style) → ``ensure_user`` calls.

Routing key ``no.uio.cerebrum.scim.<entity_type>.<event>``; the body's ``sub`` is the
entity's URL, ending with the account *name* for accounts and groups and with the numeric
entity id for persons and OUs, for example ``https://cerebrum-ws.uio.no/v1/accounts/olan``.

What each entity type asks for (the table is :data:`ENTITY_TASKS`):

* ``accounts`` → ``ensure_user(username=…)``: name, email, primary flag or quarantine changed.
* ``persons`` → ``ensure_user(person_id=…)``: the person's primary account may have changed.
* ``groups``, ``ous``, ``entities`` → nothing: the org tree comes from SAP, groups are unused.
* the ``password`` event never changes what Canvas holds, so it asks for nothing.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from canvasbridge.engine import Envelope, TaskCall
from canvasbridge.errors import MessageError
from canvasbridge.provisioning.parsers._body import body_object, optional_str, required_str, routing_parts

ROUTING_PREFIX = ("no", "uio", "cerebrum", "scim")

#: Event verbs Cerebrum's publisher sends (``Cerebrum/modules/event_publisher/event.py``).
KNOWN_EVENTS = frozenset(
    {"create", "modify", "delete", "activate", "deactivate", "add", "remove", "password", "join"}
)
#: Events that never change anything Canvas holds.
IGNORED_EVENTS = frozenset({"password"})

#: entity type → (task, parameter name, pattern the last ``sub`` segment must match); ``None``: no work.
ENTITY_TASKS: dict[str, tuple[str, str, re.Pattern[str]] | None] = {
    "accounts": ("ensure_user", "username", re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")),
    "persons": ("ensure_user", "person_id", re.compile(r"[0-9]{1,18}")),
    "groups": None,
    "ous": None,
    "entities": None,
}

_SCIM_URI = re.compile(r"^urn:ietf:params:event:SCIM:([a-z]+)$")


def parse(envelope: Envelope) -> list[TaskCall]:
    """Turn one Cerebrum message into task calls (see the module docstring)."""
    body = body_object(envelope)
    parts = routing_parts(envelope, ROUTING_PREFIX, 6)
    if parts is not None:
        entity_type, event = parts[4], parts[5]
    else:
        entity_type, event = _from_body(body)
    if entity_type not in ENTITY_TASKS:
        raise MessageError(
            f"unknown Cerebrum entity type {entity_type!r}; expected one of {', '.join(sorted(ENTITY_TASKS))}"
        )
    if event not in KNOWN_EVENTS:
        raise MessageError(
            f"unknown Cerebrum event {event!r}; expected one of {', '.join(sorted(KNOWN_EVENTS))}"
        )
    sub_type, ident = _split_sub(required_str(body, "sub"))
    if sub_type is not None and sub_type != entity_type:
        raise MessageError(f"'sub' names a {sub_type!r} entity but the message is about {entity_type!r}")
    rule = ENTITY_TASKS[entity_type]
    if rule is None or event in IGNORED_EVENTS:
        return []
    task, param, pattern = rule
    if not pattern.fullmatch(ident):
        raise MessageError(f"'sub' ends with {ident!r}, which is not a valid {entity_type[:-1]} {param}")
    return [TaskCall(task, {param: ident})]


def _from_body(body: dict[str, object]) -> tuple[str, str]:
    """Entity type and event from the body, for messages that came without a routing key."""
    uris = body.get("eventUris")
    if not isinstance(uris, list) or not uris or not isinstance(uris[0], str):
        raise MessageError("no routing key and no 'eventUris' list to tell the event")
    match = _SCIM_URI.match(uris[0])
    if match is None:
        raise MessageError(f"'eventUris' holds {uris[0]!r}, not urn:ietf:params:event:SCIM:<event>")
    resource = optional_str(body, "resourceType")
    if resource is None:
        sub_type, _ = _split_sub(required_str(body, "sub"))
        if sub_type is None:
            raise MessageError("no routing key, no 'resourceType' and 'sub' does not name the entity type")
        resource = sub_type
    return resource, match.group(1)


def _split_sub(sub: str) -> tuple[str | None, str]:
    """(entity type segment or ``None``, last segment) of a ``sub`` URL or path."""
    try:
        path = urlsplit(sub).path if "://" in sub else sub
    except ValueError as exc:
        raise MessageError(f"'sub' {sub!r} is not a valid URL: {exc}") from exc
    segments = [unquote(s) for s in path.split("/") if s]
    if not segments:
        raise MessageError(f"'sub' {sub!r} has no path to take the entity from")
    kind = segments[-2] if len(segments) >= 2 and segments[-2] in ENTITY_TASKS else None
    return kind, segments[-1]
