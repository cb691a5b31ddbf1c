"""The three parsers: the right task calls for good messages, a MessageError for anything else."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canvasbridge.engine import Envelope, TaskCall
from canvasbridge.errors import MessageError
from canvasbridge.provisioning.parsers import cerebrum, fs, sap


def envelope(body: object, routing_key: str | None = None) -> Envelope:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Envelope(body=raw, source="test", message_id="m1", routing_key=routing_key)


# ---------------------------------------------------------------- Cerebrum


@pytest.mark.parametrize(
    ("routing_key", "sub", "expected"),
    [
        (
            "no.uio.cerebrum.scim.accounts.modify",
            "https://cerebrum-ws.uio.no/v1/accounts/olan",
            [TaskCall("ensure_user", {"username": "olan"})],
        ),
        (
            "no.uio.cerebrum.scim.accounts.create",
            "https://x/v1/accounts/kari-n",
            [TaskCall("ensure_user", {"username": "kari-n"})],
        ),
        (
            "no.uio.cerebrum.scim.persons.modify",
            "https://cerebrum-ws.uio.no/v1/persons/1234",
            [TaskCall("ensure_user", {"person_id": "1234"})],
        ),
        ("no.uio.cerebrum.scim.accounts.password", "https://x/v1/accounts/olan", []),
        ("no.uio.cerebrum.scim.groups.add", "https://x/v1/groups/some-group", []),
        ("no.uio.cerebrum.scim.ous.modify", "https://x/v1/ous/77", []),
    ],
)
def test_cerebrum_messages_become_user_syncs_by_account_or_person(routing_key, sub, expected):
    body = {"jti": "1", "eventUris": ["urn:ietf:params:event:SCIM:modify"], "iat": 1, "sub": sub}
    assert cerebrum.parse(envelope(body, routing_key)) == expected


def test_cerebrum_message_without_routing_key_uses_event_uris_and_sub():
    body = {"eventUris": ["urn:ietf:params:event:SCIM:create"], "sub": "https://x/v1/accounts/olan"}
    assert cerebrum.parse(envelope(body)) == [TaskCall("ensure_user", {"username": "olan"})]


@pytest.mark.parametrize(
    ("routing_key", "body", "reason"),
    [
        ("no.uio.cerebrum.scim.accounts.modify", {"sub": 5}, "'sub' must be a string"),
        ("no.uio.cerebrum.scim.accounts.modify", {}, "no 'sub'"),
        ("no.uio.cerebrum.scim.persons.modify", {"sub": "https://x/v1/persons/olan"}, "not a valid person"),
        (
            "no.uio.cerebrum.scim.accounts.modify",
            {"sub": "https://x/v1/persons/12"},
            "names a 'persons' entity",
        ),
        (
            "no.uio.cerebrum.scim.widgets.modify",
            {"sub": "https://x/v1/widgets/1"},
            "unknown Cerebrum entity type",
        ),
        (
            "no.uio.cerebrum.scim.accounts.explode",
            {"sub": "https://x/v1/accounts/a"},
            "unknown Cerebrum event",
        ),
        ("no.uio.fs.accounts.modify", {"sub": "https://x/v1/accounts/a"}, "routing key"),
        ("no.uio.cerebrum.scim.accounts.modify", [1, 2], "JSON object"),
    ],
)
def test_bad_cerebrum_messages_are_rejected_with_the_reason(routing_key, body, reason):
    with pytest.raises(MessageError, match=reason):
        cerebrum.parse(envelope(body, routing_key))


# ---------------------------------------------------------------- FS


def fs_body(sub: str, **extra: object) -> dict[str, object]:
    return {"sub": sub, "iss": "FS-prod", "iat": "1582344412462", "operation": "update", "jti": "u", **extra}


@pytest.mark.parametrize(
    ("resource", "sub", "expected"),
    [
        (
            "undervisning",
            "undervisning/185,INF1000,1,2019,H%C3%98ST,1",
            [TaskCall("ensure_course", {"fs_id": "185,INF1000,1,2019,HØST,1"})],
        ),
        (
            "undervisningsaktiviteter",
            "undervisningsaktiviteter/185,IN1000,1,2026,V%C3%85R,1,2-1",
            [TaskCall("ensure_course", {"fs_id": "185,IN1000,1,2026,VÅR,1,2-1"})],
        ),
        ("emner", "emner/185,0-5,1", [TaskCall("ensure_emne", {"fs_id": "185,0-5,1"})]),
        (
            "studentundervisning",
            "studentundervisning/56154,185,IN1000,1,2026,H%C3%98ST,1",
            [TaskCall("ensure_enrollments", {"fs_id": "185,IN1000,1,2026,HØST,1"})],
        ),
        (
            "personroller",
            "personroller/56154,3",
            [TaskCall("ensure_person_role", {"personrolle": "56154,3"})],
        ),
        ("personer", "personer/56154", []),
    ],
)
def test_fs_messages_become_course_and_enrollment_syncs(resource, sub, expected):
    assert fs.parse(envelope(fs_body(sub), f"no.uio.fs.FS-prod.{resource}.update")) == expected


@pytest.mark.parametrize(
    ("routing_key", "body", "reason"),
    [
        (
            "no.uio.fs.FS-prod.undervisning.update",
            fs_body("undervisning/185,INF1000,1,0,2019,H%C3%98ST,1"),
            "has 7 parts, expected 6",
        ),
        ("no.uio.fs.FS-prod.emner.update", fs_body("emner/185,INF1000,1,0"), "has 4 parts, expected 3"),
        (
            "no.uio.fs.FS-prod.personer.update",
            fs_body("undervisning/185,A,1,2019,H%C3%98ST,1"),
            "routing key says",
        ),
        (
            "no.uio.fs.FS-prod.undervisning.update",
            fs_body("undervisning/185,,1,2019,H%C3%98ST,1"),
            "empty part",
        ),
        (
            "no.uio.fs.FS-prod.undervisning.update",
            fs_body("undervisning/185,A,1,2019,H%FF,1"),
            "URL-encoded UTF-8",
        ),
        (
            "no.uio.fs.FS-prod.undervisning.update",
            fs_body("undervisning/185,A,1,2019,H,1", iat=12.5),
            "'iat'",
        ),
        ("no.uio.fs.FS-prod.undervisning.update", fs_body("undervisning"), "<resource>/<id>"),
        (
            "no.uio.fs.FS-prod.undervisning.zap",
            fs_body("undervisning/185,A,1,2019,H,1"),
            "unknown FS operation",
        ),
    ],
)
def test_bad_fs_messages_are_rejected_with_the_reason(routing_key, body, reason):
    with pytest.raises(MessageError, match=reason):
        fs.parse(envelope(body, routing_key))


# ---------------------------------------------------------------- SAP


@pytest.mark.parametrize(
    ("sub", "expected"),
    [
        ("https://sap.example/api/employees(1234)", [TaskCall("ensure_user_roles", {"employee_id": "1234"})]),
        (
            "https://sap.example/api/locations(50000123)",
            [TaskCall("ensure_account", {"location_id": "50000123"})],
        ),
        ("locations('17')", [TaskCall("ensure_account", {"location_id": "17"})]),
    ],
)
def test_sap_messages_become_account_and_role_syncs(sub, expected):
    assert sap.parse(envelope({"sub": sub, "jti": "x"}, "no.uio.sap.scim.employees.modify")) == expected


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"sub": "https://sap/api/employees(abc)"}, "neither employees"),
        ({"sub": "https://sap/api/things(1)"}, "neither employees"),
        ({"sub": "https://sap/api/employees(1)", "nbf": [1]}, "'nbf'"),
        ({"sub": "https://sap/api/employees(1)", "jti": 7}, "'jti' must be a string"),
    ],
)
def test_bad_sap_messages_are_rejected_with_the_reason(body, reason):
    with pytest.raises(MessageError, match=reason):
        sap.parse(envelope(body))


# ---------------------------------------------------------------- fuzzing

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
sub_like = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda a, b: f"{a}/{b}",
        st.sampled_from(["undervisning", "emner", "personroller", "accounts", "https://x/v1/persons"]),
        st.text(max_size=40),
    ),
    st.builds(
        lambda a, b: f"https://x/{a}({b})", st.sampled_from(["employees", "locations"]), st.text(max_size=10)
    ),
)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(
        st.sampled_from(["sub", "iat", "jti", "nbf", "eventUris", "resourceType", "iss"]),
        st.one_of(sub_like, json_values),
        max_size=5,
    ).map(lambda v: json.dumps(v).encode()),
)
routing_keys = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.builds(
        ".".join,
        st.lists(
            st.sampled_from(
                [
                    "no",
                    "uio",
                    "cerebrum",
                    "scim",
                    "fs",
                    "accounts",
                    "persons",
                    "undervisning",
                    "modify",
                    "update",
                    "x",
                ]
            ),
            max_size=7,
        ),
    ),
)


@pytest.mark.parametrize("parser", [cerebrum.parse, fs.parse, sap.parse], ids=["cerebrum", "fs", "sap"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, routing_key=routing_keys)
def test_any_input_gives_task_calls_or_a_message_error(parser, body, routing_key):
    env = Envelope(body=body, source="fuzz", message_id="f", routing_key=routing_key)
    try:
        calls = parser(env)
    except MessageError as exc:
        assert str(exc)
        return
    for call in calls:
        assert isinstance(call, TaskCall)
        call.canonical_params()  # JSON-serialisable
