"""The admin HTTP API: insight into the task ledger and queue, and the operator's levers.

    from canvasbridge.engine.api import create_api
    app = create_api(Runtime(load_config()))        # serve with uvicorn (``canvasbridge api``)

One module per job: :mod:`.auth` (bearer tokens, roles), :mod:`.tasks` (list, show,
requeue, discard), :mod:`.sync` (queue one object's sync), :mod:`.routing`, :mod:`.stats`,
:mod:`.parked`, :mod:`.health`, :mod:`.metrics`; :mod:`.operations` holds the actions
themselves, shared with the CLI; :mod:`.schemas` the bodies; :mod:`.errors` the one JSON
error shape. The OpenAPI document is at ``/openapi.json``.
"""

from canvasbridge.engine.api.app import create_api
from canvasbridge.engine.api.operations import Operations

__all__ = ["Operations", "create_api"]
