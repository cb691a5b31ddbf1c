"""SAP (SAPUiO) notifications → ``ensure_account`` and ``ensure_user_roles`` calls.

The body is SCIM-like; ``sub`` is a URL ending ``employees(<id>)`` or ``locations(<id>)``
(UiO's own consumer took the id with ``employees\\((\\d+)\\)``). ``jti`` and ``nbf`` may
be present. The table :data:`ENTITIES` maps each entity to its task.
"""

from __future__ import annotations

import re

from canvasbridge.engine import Envelope, TaskCall
from canvasbridge.errors import MessageError
from canvasbridge.provisioning.parsers._body import body_object, optional_str, required_str

#: ``sub`` entity → (task, parameter name)
ENTITIES: dict[str, tuple[str, str]] = {
    "locations": ("ensure_account", "location_id"),
    "employees": ("ensure_user_roles", "employee_id"),
}

_ENTITY = re.compile(r"(?:^|/)(employees|locations)\(\s*'?([0-9]{1,18})'?\s*\)/?$")


def parse(envelope: Envelope) -> list[TaskCall]:
    """Turn one SAP message into a task call (see the module docstring)."""
    body = body_object(envelope)
    sub = required_str(body, "sub")
    optional_str(body, "jti")
    nbf = body.get("nbf")
    if nbf is not None and (isinstance(nbf, bool) or not isinstance(nbf, int | float | str)):
        raise MessageError(f"'nbf' must be a timestamp, got {type(nbf).__name__}")
    match = _ENTITY.search(sub)
    if match is None:
        raise MessageError(f"'sub' {sub!r} ends with neither employees(<id>) nor locations(<id>)")
    task, param = ENTITIES[match.group(1)]
    return [TaskCall(task, {param: match.group(2)})]
