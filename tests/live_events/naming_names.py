"""Every Canvas event name our fixtures cover (for parametrised and fuzz tests)."""

from canvasbridge.live_events.naming import KNOWN_EVENTS

NAMES = sorted(KNOWN_EVENTS)
