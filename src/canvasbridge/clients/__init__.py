"""One client per external system, on a shared HTTP base.

==============================  ===============================================
``clients.http``                ``HttpClient``, ``CallStats``, ``RetryPolicy``, typed errors
``clients.fs``                  ``FsClient`` / ``FsSettings``, ``EmneId``, ``UndervisningId``, ``AktivitetId``
``clients.cerebrum``            ``CerebrumClient`` / ``CerebrumSettings``
``clients.sap``                 ``SapClient`` / ``SapSettings``
``clients.canvas``              ``CanvasClient`` / ``CanvasSettings``, ``sis_user()``…
``clients.salesforce``          ``SalesforceClient`` / ``SalesforceSettings``, ``soql``
``clients.systems``             ``SystemsSettings`` (the ``systems:`` config section)
==============================  ===============================================

Each settings model is what appears under ``systems.<name>`` in the YAML and has
``.build(stats=None)`` returning its client. Every error raised is from
:mod:`canvasbridge.errors` (transient or permanent), never a library's own. Names are
imported lazily, so ``import canvasbridge.clients`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CallStats": "http",
    "HttpClient": "http",
    "RetryPolicy": "http",
    "AuthenticationError": "http",
    "FsClient": "fs",
    "FsSettings": "fs",
    "EmneId": "fs",
    "UndervisningId": "fs",
    "AktivitetId": "fs",
    "CerebrumClient": "cerebrum",
    "CerebrumSettings": "cerebrum",
    "SapClient": "sap",
    "SapSettings": "sap",
    "CanvasClient": "canvas",
    "CanvasSettings": "canvas",
    "SalesforceClient": "salesforce",
    "SalesforceSettings": "salesforce",
    "SystemsSettings": "systems",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'canvasbridge.clients' has no attribute {name!r}")
    return getattr(importlib.import_module(f"canvasbridge.clients.{module}"), name)
