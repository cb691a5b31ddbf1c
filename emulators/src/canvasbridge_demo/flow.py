"""The demo's configuration section as a plug-in (entry point ``canvasbridge.flows: demo``).

The demo runs no flow of its own: it owns the ``demo`` section (sizes and timings of its
steps), so a configuration with that section is valid wherever this distribution is
installed, and an error naming the key where it is not. Its commands come through
``canvasbridge.commands``.
"""

from __future__ import annotations

from canvasbridge.engine import Flow
from canvasbridge_demo.settings import DemoSettings

FLOW = Flow(name="demo", description="settings of `canvasbridge demo`", sections={"demo": DemoSettings})
