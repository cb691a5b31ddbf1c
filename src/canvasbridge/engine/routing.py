"""Routes: which parser handles a message.

Match order: routes are tried in the order the configuration lists them, and the first
route whose ``source`` is the message's source and whose every pattern matches wins.
Patterns are regular expressions *searched* (use ``^…$`` to anchor) in the routing key
and in the named attributes; a pattern on a key the message does not have fails.
A route without patterns matches every message of its source (a catch-all: list it last).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.config import RouteSpec
from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.loading import load_callable

Parser = Callable[[Envelope], Sequence[TaskCall]]


@dataclass(frozen=True)
class Route:
    name: str
    source: str
    routing_key: re.Pattern[str] | None
    attributes: tuple[tuple[str, re.Pattern[str]], ...]
    parser_path: str
    parser: Parser

    def matches(self, envelope: Envelope) -> bool:
        if envelope.source != self.source:
            return False
        if self.routing_key is not None and (
            envelope.routing_key is None or not self.routing_key.search(envelope.routing_key)
        ):
            return False
        for name, pattern in self.attributes:
            value = envelope.attributes.get(name)
            if value is None or not pattern.search(value):
                return False
        return True


class Router:
    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = list(routes)

    @classmethod
    def from_specs(cls, specs: Sequence[RouteSpec]) -> Router:
        """Compile patterns and import every parser now, so mistakes fail at start-up."""
        routes = []
        for index, spec in enumerate(specs):
            routes.append(
                Route(
                    name=spec.name,
                    source=spec.source,
                    routing_key=re.compile(spec.match.routing_key) if spec.match.routing_key else None,
                    attributes=tuple((k, re.compile(v)) for k, v in spec.match.attributes.items()),
                    parser_path=spec.parser,
                    parser=load_callable(spec.parser, what=f"routes.{index}.parser"),
                )
            )
        return cls(routes)

    def match(self, envelope: Envelope) -> Route | None:
        for route in self.routes:
            if route.matches(envelope):
                return route
        return None
