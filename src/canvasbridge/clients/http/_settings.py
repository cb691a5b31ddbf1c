"""What every system's client settings share (``systems.<name>`` in the YAML)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from canvasbridge.backoff import RetryPolicy

DEFAULT_TIMEOUT_S = 30.0  # seconds for connect, read and write of one request


class ClientSettings(BaseModel):
    """What every system's settings share (``systems.<name>`` in the YAML)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="the API's base URL, e.g. https://api.fellesstudentsystem.no/")
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0, description="per request, seconds")
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    max_connections: int = Field(default=20, ge=1, description="pooled connections to the host")
