import pytest

from canvasbridge.engine.config import RouteSpec
from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.routing import Router
from canvasbridge.errors import ConfigError

PARSER = "tests.engine.sample_tasks:parse_json"


def route(name, source="uio", routing_key=None, **attributes):
    match = {"routing_key": routing_key, "attributes": attributes} if routing_key or attributes else {}
    return RouteSpec.model_validate({"name": name, "source": source, "match": match, "parser": PARSER})


ROUTER = Router.from_specs(
    [
        route("cerebrum-accounts", routing_key=r"^no\.uio\.cerebrum\.scim\.accounts\."),
        route("cerebrum-any", routing_key=r"^no\.uio\.cerebrum\."),
        route("quiz", source="sqs", event_name="^quiz_submitted$"),
        route("sqs-all", source="sqs"),
    ]
)


@pytest.mark.parametrize(
    ("source", "routing_key", "attributes", "expected"),
    [
        ("uio", "no.uio.cerebrum.scim.accounts.modify", {}, "cerebrum-accounts"),
        ("uio", "no.uio.cerebrum.scim.persons.create", {}, "cerebrum-any"),
        ("uio", "no.uio.fs.FS-prod.personer.update", {}, None),
        ("uio", None, {}, None),
        ("sqs", None, {"event_name": "quiz_submitted"}, "quiz"),
        ("sqs", None, {"event_name": "quiz_submitted_v2"}, "sqs-all"),
        ("sqs", None, {}, "sqs-all"),
        ("other", "no.uio.cerebrum.scim.accounts.modify", {}, None),
    ],
)
def test_first_matching_route_in_config_order_wins(source, routing_key, attributes, expected):
    envelope = Envelope(b"{}", source=source, message_id="m", routing_key=routing_key, attributes=attributes)
    matched = ROUTER.match(envelope)
    assert (matched.name if matched else None) == expected


def test_a_parser_that_cannot_be_imported_fails_at_start_up():
    spec = RouteSpec.model_validate({"name": "r", "source": "s", "parser": "tests.engine.nowhere:parse"})
    with pytest.raises(ConfigError, match=r"routes\.0\.parser: cannot import module 'tests.engine.nowhere'"):
        Router.from_specs([spec])


def test_a_missing_parser_function_is_named():
    spec = RouteSpec.model_validate({"name": "r", "source": "s", "parser": "tests.engine.sample_tasks:nope"})
    with pytest.raises(ConfigError, match="has no attribute 'nope'"):
        Router.from_specs([spec])
