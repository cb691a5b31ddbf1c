"""The duplicate key of an activity record: ``<event id>/<participant id>``.

The key goes into the External ID field ``event_id_field`` and, on a redelivery, into the
SOQL that asks which keys exist (quoted there, never pasted). A Caliper id is normally
``urn:uuid:<uuid>`` (the prefix is dropped), but the writer takes whatever the event says.
An id that a Text External ID field cannot hold as it is — longer than the field allows, or
holding characters that are not printable (control characters, lone surrogates, non-ASCII
spaces), or starting with whitespace (Salesforce trims text) — is stored as
``sha256:<32 hex digits of its SHA-256>`` instead: still one key per event id, and the same
key in every process.
"""

from __future__ import annotations

import hashlib

URN_PREFIX = "urn:uuid:"
DIGEST_PREFIX = "sha256:"
DIGEST_HEX_DIGITS = 32  # 128 bits: collisions are out of reach, and the key fits Text(80)


def event_part(event_id: str, room: int) -> str:
    """The event id as it appears in a key, in at most ``room`` characters."""
    text = event_id.removeprefix(URN_PREFIX)
    verbatim = (
        0 < len(text) <= room
        and text.isprintable()
        and not text[0].isspace()
        and not text.startswith(DIGEST_PREFIX)  # so no verbatim id can equal another's digest
    )
    if verbatim:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return DIGEST_PREFIX + digest[:DIGEST_HEX_DIGITS]


def record_key(event_id: str, participant_id: str, max_length: int) -> str:
    """The key of the record of ``participant_id`` for event ``event_id``."""
    return f"{event_part(event_id, max_length - len(participant_id) - 1)}/{participant_id}"
