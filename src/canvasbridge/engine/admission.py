"""Which envelopes may be routed: limits on the fields every source fills in.

A message whose id, routing key or attribute names and values the engine cannot carry is
parked on its first delivery with a reason naming the field, instead of failing its
dispatch and coming back for ever. Carrying means: the ledger stores the field (an id in a
200-character column, PostgreSQL refuses NUL in text) and the Celery message holds the id
as its AMQP correlation id (at most 255 bytes). The limits:

* ``message_id``: at most :data:`MAX_MESSAGE_ID_BYTES` bytes of UTF-8, not empty;
* ``routing_key``: at most :data:`MAX_ROUTING_KEY_BYTES` bytes of UTF-8;
* attribute names: at most :data:`MAX_ATTRIBUTE_NAME_BYTES` bytes, not empty;
  attribute values: at most :data:`MAX_ATTRIBUTE_VALUE_BYTES` bytes;
* all of them valid UTF-8 and without NUL characters.

Sources decode text they receive as UTF-8 with ``surrogateescape``, so bytes that are not
UTF-8 survive as lone surrogates: the check finds them, and the parked message keeps the
original bytes (``text.encode("utf-8", "surrogateescape")`` gives them back). The body is
not checked here: it is the parsers' to judge.
"""

from __future__ import annotations

from canvasbridge.engine.envelope import Envelope

MAX_MESSAGE_ID_BYTES = 200  # the ledger's column holds 200 characters; AMQP's correlation id 255 bytes
MAX_ROUTING_KEY_BYTES = 500  # the ledger's column; AMQP itself allows 255
MAX_ATTRIBUTE_NAME_BYTES = 255  # AMQP's limit for a header name (SQS allows 256 characters)
MAX_ATTRIBUTE_VALUE_BYTES = 65_536  # more than any route or parser needs from one attribute
DESCRIBED_CHARS = 40  # how much of a bad value a reason quotes


def problems(envelope: Envelope) -> list[str]:
    """What is wrong with ``envelope``'s fields, one sentence each; empty when nothing is."""
    found: list[str] = []
    _check(found, "message id", envelope.message_id, MAX_MESSAGE_ID_BYTES)
    if not envelope.message_id:
        found.append("message id is empty")
    if envelope.routing_key is not None:
        _check(found, "routing key", envelope.routing_key, MAX_ROUTING_KEY_BYTES)
    for name, value in envelope.attributes.items():
        if not name:
            found.append("an attribute has an empty name")
        _check(found, f"attribute name {_quote(name)}", name, MAX_ATTRIBUTE_NAME_BYTES)
        _check(found, f"attribute {_quote(name)}", value, MAX_ATTRIBUTE_VALUE_BYTES)
    return found


def _check(found: list[str], what: str, text: str, limit: int) -> None:
    if text.isascii():  # the usual case: one byte per character, UTF-8 by definition
        size = len(text)
    else:
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            found.append(f"{what} is not valid UTF-8 (at character {exc.start})")
            size = len(as_bytes(text))
    if "\x00" in text:
        found.append(f"{what} contains a NUL character (at character {text.index(chr(0))})")
    if size > limit:
        found.append(f"{what} is {size} bytes long (at most {limit})")


def _quote(text: str) -> str:
    """``text`` shortened and escaped for a reason (which the ledger and logs must hold)."""
    shown = safe_text(text[:DESCRIBED_CHARS])
    return repr(shown + ("…" if len(text) > DESCRIBED_CHARS else ""))


def safe_text(text: str) -> str:
    """``text`` with NUL and bytes that are not UTF-8 written as escapes (``\\x00``, ``\\xff``)."""
    if text.isascii() and "\x00" not in text:
        return text
    return as_bytes(text).decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def as_bytes(text: str) -> bytes:
    """The bytes ``text`` was decoded from (see the module's note on ``surrogateescape``)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that no decoding made: keep it as is
        return text.encode("utf-8", "surrogatepass")
