"""Canvas URNs (``urn:instructure:canvas:<type>:<id>``) and Canvas global ids.

A URN is not split naively on ``:``: type names may contain a colon (``quizzes:quiz``) or a
slash (``lti/tool_proxy``), and sections and memberships are compound
(``course:565:section:4811``, ``course:565:Learner:987``). We walk the segments and give
every run of non-numeric segments to the id that follows it, so the last segment is always
the id (session ids are hex, not numbers).

Canvas ids in live events are usually *global* ids: ``shard * 10**13 + local id``. Global
ids change when an account moves shard, so everything we store or compare uses the local
id (:func:`local_id`).
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "urn:instructure:canvas:"
SHARD_FACTOR = 10**13  # global id = shard * SHARD_FACTOR + local id


@dataclass(frozen=True)
class CanvasUrn:
    """A parsed Canvas URN: ``pairs`` of (type, id), outermost first."""

    raw: str
    pairs: tuple[tuple[str, str], ...]

    @property
    def kind(self) -> str:
        """The type of the innermost entity, e.g. ``quiz``, ``quizzes:quiz``, ``section``."""
        return self.pairs[-1][0]

    @property
    def id(self) -> str:
        """The id of the innermost entity, as written (global or local)."""
        return self.pairs[-1][1]

    @property
    def local_id(self) -> str:
        return local_id(self.id) or self.id

    def get(self, kind: str) -> str | None:
        """The id given for ``kind`` anywhere in a compound URN, e.g. ``get("course")``."""
        for pair_kind, value in self.pairs:
            if pair_kind == kind:
                return value
        return None


def parse_urn(value: str) -> CanvasUrn:
    """Parse a Canvas URN; ``ValueError`` saying what is wrong when it is not one."""
    if not isinstance(value, str):
        raise ValueError(f"expected a Canvas URN string, got {type(value).__name__}")
    if not value.startswith(PREFIX):
        raise ValueError(f"not a Canvas URN (no '{PREFIX}' prefix): {value[:80]!r}")
    segments = value[len(PREFIX) :].split(":")
    if len(segments) < 2 or any(segment == "" for segment in segments):
        raise ValueError(f"Canvas URN needs '<type>:<id>' after the prefix: {value[:80]!r}")
    pairs: list[tuple[str, str]] = []
    pending: list[str] = []
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if index == last or (segment.isdigit() and pending):
            if not pending:
                raise ValueError(f"Canvas URN has an id without a type: {value[:80]!r}")
            pairs.append((":".join(pending), segment))
            pending = []
        else:
            pending.append(segment)
    return CanvasUrn(raw=value, pairs=tuple(pairs))


def try_parse_urn(value: object) -> CanvasUrn | None:
    """:func:`parse_urn`, or ``None`` when ``value`` is not a Canvas URN (e.g. a host URL)."""
    if not isinstance(value, str):
        return None
    try:
        return parse_urn(value)
    except ValueError:
        return None


def local_id(value: str | int | None) -> str | None:
    """The local id of a Canvas id: ``21070000000000565`` → ``565``; local ids pass through.

    Non-numeric values (SIS ids, hex session ids) are returned unchanged; a URN gives the
    local id of its innermost entity, a malformed URN ``None``.
    """
    if value is None:
        return None
    text = str(value).strip()
    if text.startswith(PREFIX):
        urn = try_parse_urn(text)
        if urn is None:
            return None
        text = urn.id
    if text.isdigit():
        number = int(text)
        return str(number % SHARD_FACTOR) if number >= SHARD_FACTOR else str(number)
    return text


def shard_of(value: str | int) -> int | None:
    """The shard of a global id (``2107`` for ``21070000000000565``); ``None`` for a local id."""
    text = str(value)
    if not text.isdigit() or int(text) < SHARD_FACTOR:
        return None
    return int(text) // SHARD_FACTOR
