"""The ``systems`` section of the configuration: one settings block per external system.

    systems:
      canvas: {base_url: https://canvas.example.edu, token: {env: CANVAS_TOKEN}}
      fs: {base_url: https://api.fellesstudentsystem.no/, username: uio, password: {env: FS_PASSWORD}}

In a task: ``ctx.resource("canvas", lambda: ctx.section("systems.canvas", CanvasSettings).build())``.
Unknown systems are allowed (other packages may read their own blocks).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from canvasbridge.clients.canvas import CanvasSettings
from canvasbridge.clients.cerebrum import CerebrumSettings
from canvasbridge.clients.fs import FsSettings
from canvasbridge.clients.salesforce import SalesforceSettings
from canvasbridge.clients.sap import SapSettings


class SystemsSettings(BaseModel):
    model_config = ConfigDict(extra="allow")

    fs: FsSettings | None = None
    cerebrum: CerebrumSettings | None = None
    sap: SapSettings | None = None
    canvas: CanvasSettings | None = None
    salesforce: SalesforceSettings | None = None
