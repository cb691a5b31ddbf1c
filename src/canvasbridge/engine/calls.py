"""A request to run one task with parameters: what parsers return."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TaskCall:
    """Run ``task`` (a name from the ``tasks`` config) with JSON-serialisable ``params``.

    The parameters are not to be changed once the call exists: their canonical JSON is
    computed once (the dispatcher's check, the ledger's record and its fold key share it).
    """

    task: str
    params: dict[str, Any] = field(default_factory=dict)
    _canonical: str | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def with_canonical(cls, task: str, params: dict[str, Any], canonical: str) -> TaskCall:
        """A call whose canonical JSON the caller already built (it must be exactly
        :meth:`canonical_params`'s; a batch flush joins its items' texts)."""
        call = cls(task, params)
        object.__setattr__(call, "_canonical", canonical)
        return call

    def canonical_params(self) -> str:
        """Parameters as canonical JSON (sorted keys, no spaces); raises if not serialisable."""
        if self._canonical is None:
            text = json.dumps(self.params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            object.__setattr__(self, "_canonical", text)
            return text
        return self._canonical

    def coalesce_key(self) -> str:
        """Same task and same parameters give the same key (used to fold pending duplicates)."""
        digest = hashlib.sha256(f"{self.task}\x00{self.canonical_params()}".encode()).hexdigest()
        return digest[:40]
