import pytest

from canvasbridge.live_events.urns import local_id, parse_urn, shard_of, try_parse_urn


def test_simple_urn_gives_kind_and_id():
    urn = parse_urn("urn:instructure:canvas:course:21070000000000565")
    assert (urn.kind, urn.id, urn.local_id) == ("course", "21070000000000565", "565")


@pytest.mark.parametrize(
    ("raw", "kind", "ident"),
    [
        ("urn:instructure:canvas:quizzes:quiz:21070000000000007", "quizzes:quiz", "21070000000000007"),
        ("urn:instructure:canvas:lti/tool_proxy:21070000000000003", "lti/tool_proxy", "21070000000000003"),
        (
            "urn:instructure:canvas:session:dc29809b38908fe0890a8098b8982211",
            "session",
            "dc29809b38908fe0890a8098b8982211",
        ),
        ("urn:instructure:canvas:discussionEntry:2134567", "discussionEntry", "2134567"),
    ],
)
def test_type_names_with_colons_and_slashes_survive(raw, kind, ident):
    urn = parse_urn(raw)
    assert (urn.kind, urn.id) == (kind, ident)


def test_compound_section_and_membership_ids_split_into_pairs():
    section = parse_urn("urn:instructure:canvas:course:21070000000000565:section:21070000000004811")
    assert section.get("course") == "21070000000000565"
    assert (section.kind, section.local_id) == ("section", "4811")
    member = parse_urn("urn:instructure:canvas:course:565:section:48:Instructor:21070000000000987")
    assert member.pairs == (("course", "565"), ("section", "48"), ("Instructor", "21070000000000987"))
    assert parse_urn("urn:instructure:canvas:course:565:user:1").get("user") == "1"


@pytest.mark.parametrize(
    "bad",
    [
        "http://canvas.example/",
        "urn:instructure:canvas:",
        "urn:instructure:canvas:123",
        "urn:instructure:canvas:course:",
        "urn:instructure:canvas:course::5",
    ],
)
def test_non_urns_are_refused_with_a_reason(bad):
    with pytest.raises(ValueError, match="URN"):
        parse_urn(bad)
    assert try_parse_urn(bad) is None


def test_global_and_local_ids():
    assert local_id("21070000000000565") == "565"
    assert local_id("565") == "565"
    assert local_id(13670000000001480) == "1480"
    assert local_id("urn:instructure:canvas:user:42420000000000101") == "101"
    assert local_id("SIS-77") == "SIS-77"
    assert local_id(None) is None
    assert local_id("urn:instructure:canvas:") is None  # malformed: no id, not a crash
    assert shard_of("21070000000000565") == 2107
    assert shard_of("565") is None
