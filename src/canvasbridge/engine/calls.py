"""A request to run one task with parameters: what parsers return."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TaskCall:
    """Run ``task`` (a name from the ``tasks`` config) with JSON-serialisable ``params``."""

    task: str
    params: dict[str, Any] = field(default_factory=dict)

    def canonical_params(self) -> str:
        """Parameters as canonical JSON (sorted keys, no spaces); raises if not serialisable."""
        return json.dumps(self.params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def coalesce_key(self) -> str:
        """Same task and same parameters give the same key (used to fold pending duplicates)."""
        digest = hashlib.sha256(f"{self.task}\x00{self.canonical_params()}".encode()).hexdigest()
        return digest[:40]
