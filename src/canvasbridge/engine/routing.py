"""Routes: which parser handles a message.

Match order: routes are tried in the order the configuration lists them, and the first
route whose ``source`` is the message's source and whose every pattern matches wins.
Patterns are regular expressions *searched* (use ``^…$`` to anchor) in the routing key
and in the named attributes; a pattern on a key the message does not have fails.
A route without patterns matches every message of its source (a catch-all: list it last).

A parser is called as ``parser(envelope)``, or as ``parser(envelope, ctx)`` when it takes a
second positional argument: ``ctx`` is the route's :class:`ParseContext`, with the flows'
configuration sections.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.config import RouteSpec
from canvasbridge.engine.context import ParseContext
from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.loading import load_callable

Parser = Callable[..., Sequence[TaskCall]]  # (envelope) or (envelope, ParseContext)


@dataclass(frozen=True)
class Route:
    name: str
    source: str
    routing_key: re.Pattern[str] | None
    attributes: tuple[tuple[str, re.Pattern[str]], ...]
    parser_path: str
    parser: Parser
    context: ParseContext | None = None  # set when the parser takes one

    def parse(self, envelope: Envelope) -> Sequence[TaskCall] | Any:
        if self.context is None:
            return self.parser(envelope)
        return self.parser(envelope, self.context)

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
    def from_specs(cls, specs: Sequence[RouteSpec], sections: Mapping[str, Any] | None = None) -> Router:
        """Compile patterns and import every parser now, so mistakes fail at start-up.
        ``sections`` are the flows' configuration sections, for parsers that take a context."""
        routes = []
        for index, spec in enumerate(specs):
            parser = load_callable(spec.parser, what=f"routes.{index}.parser")
            context = ParseContext(spec.name, sections or {}) if takes_context(parser) else None
            routes.append(
                Route(
                    name=spec.name,
                    source=spec.source,
                    routing_key=re.compile(spec.match.routing_key) if spec.match.routing_key else None,
                    attributes=tuple((k, re.compile(v)) for k, v in spec.match.attributes.items()),
                    parser_path=spec.parser,
                    parser=parser,
                    context=context,
                )
            )
        return cls(routes)

    def match(self, envelope: Envelope) -> Route | None:
        for route in self.routes:
            if route.matches(envelope):
                return route
        return None


def takes_context(parser: Callable[..., Any]) -> bool:
    """Whether ``parser`` accepts a second positional argument (the :class:`ParseContext`)."""
    try:
        parameters = inspect.signature(parser).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: call it the old way
        return False
    positional = [
        p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in positional)
