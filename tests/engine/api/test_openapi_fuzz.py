"""schemathesis over the OpenAPI document: no input makes the API fail with a server error.

Every operation is called as an operator, against a ledger holding calls in several
states, with generated parameters: schema-valid ones must get a documented answer in its
documented shape (every schemathesis check), and schema-violating ones must never cause
a 5xx. (FastAPI is lenient with some invalid input - a number as a time, a repeated
scalar parameter - so "invalid input is rejected" is not asserted for those.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection

from tests.engine.api import seeding
from tests.engine.api.conftest import OPERATE, Api

EXAMPLES_PER_OPERATION = 20  # per generation mode; about 30 s in all on two busy cores


@pytest.mark.slow
def test_no_generated_request_causes_a_server_error(api: Api) -> None:
    ledger = api.runtime.ledger()
    for i in range(3):
        seeding.dead(ledger, "record", seeding.message(message_id=f"m{i}"), key=f"d{i}")
        seeding.succeeded(ledger, "record", key=f"s{i}")
        seeding.queued(ledger, "flaky", key=f"q{i}")
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app, headers=OPERATE)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13
    for operation in operations:
        fuzz(operation, GenerationMode.POSITIVE, excluded=[])
        fuzz(operation, GenerationMode.NEGATIVE, excluded=[negative_data_rejection])


def fuzz(operation: schemathesis.APIOperation, mode: GenerationMode, *, excluded: list[Any]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=OPERATE, excluded_checks=excluded)

    try:
        run()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE  # nothing to get wrong: the operation takes no input
