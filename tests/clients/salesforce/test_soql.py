"""SOQL built from templates: values stay literal values, whatever characters they hold."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canvasbridge.clients.salesforce import soql
from canvasbridge.clients.salesforce.soql import SoqlError
from canvasbridge.errors import PermanentError
from canvasbridge_emulators.salesforce.soql import parse as emulator_parse
from canvasbridge_emulators.salesforce.soql import tokenize as emulator_tokenize

# ------------------------------------------------------------- an independent reference lexer

_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def lex(query: str) -> list[tuple[str, str]]:
    """Tokens of a SOQL text: ("str", value) for string literals, ("word", text) otherwise."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(query):
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch == "'":
            i += 1
            value = []
            while True:
                if i >= len(query):
                    raise AssertionError("unterminated literal")
                c = query[i]
                if c == "'":
                    i += 1
                    break
                if c == "\\":
                    esc = query[i + 1]
                    assert esc in _UNESCAPE, f"escape \\{esc} is not SOQL"
                    value.append(_UNESCAPE[esc])
                    i += 2
                else:
                    value.append(c)
                    i += 1
            out.append(("str", "".join(value)))
        else:
            m = re.match(r"[A-Za-z0-9_.:+-]+|!=|<=|>=|[=<>(),]", query[i:])
            assert m, f"unexpected {query[i:]!r}"
            out.append(("word", m.group()))
            i += m.end()
    return out


TEMPLATE = "SELECT Id, Name FROM Contact WHERE Name = {name} AND Email != {other} LIMIT 5"
STRUCTURE = [
    ("word", "SELECT"),
    ("word", "Id"),
    ("word", ","),
    ("word", "Name"),
    ("word", "FROM"),
    ("word", "Contact"),
    ("word", "WHERE"),
    ("word", "Name"),
    ("word", "="),
    ("str", None),
    ("word", "AND"),
    ("word", "Email"),
    ("word", "!="),
    ("str", None),
    ("word", "LIMIT"),
    ("word", "5"),
]

_chunks = st.one_of(
    st.sampled_from(["'", '"', "\\", "\n", "\r", "\t", "\b", "\f", "%", "_", " ", ";", ")", "(", "="]),
    st.sampled_from(["' OR Name != '", "\\'", "\u2028", "Ø", "Å", "😀", "--", "/*", "\\\\'"]),
    st.characters(blacklist_categories=("Cs",)),
)
nasty_text = st.lists(_chunks, max_size=20).map("".join)


@given(name=nasty_text, other=nasty_text)
def test_any_text_stays_one_literal_with_its_exact_value_and_the_query_keeps_its_shape(
    name: str, other: str
) -> None:
    query = soql.format(TEMPLATE, name=name, other=other)
    tokens = lex(query)
    assert [(kind, None if kind == "str" else text) for kind, text in tokens] == STRUCTURE
    assert tokens[9] == ("str", name)
    assert tokens[13] == ("str", other)


@given(name=nasty_text)
def test_the_salesforce_emulators_parser_reads_the_same_single_literal(name: str) -> None:
    query = soql.format("SELECT Id FROM Contact WHERE LastName = {name}", name=name)
    strings = [t for t in emulator_tokenize(query) if t.kind == "string"]
    assert len(strings) == 1
    assert "".join(c for c, _escaped in strings[0].value) == name
    assert emulator_parse(query).where is not None


@given(fragment=nasty_text)
def test_like_escaping_keeps_wildcards_literal(fragment: str) -> None:
    query = soql.format("SELECT Id FROM Contact WHERE Name LIKE '{f:like}%'", f=fragment)
    (token,) = [t for t in emulator_tokenize(query) if t.kind == "string"]
    pattern = "".join(c for c, _ in token.value)
    assert pattern == fragment + "%"
    # every % or _ of the fragment is escaped, so only the trailing % is a wildcard
    wildcards = [c for c, escaped in token.value if c in "%_" and not escaped]
    assert wildcards == ["%"]


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("O'Brien", "'O\\'Brien'"),
        ("a\\b", "'a\\\\b'"),
        ("line1\nline2", "'line1\\nline2'"),
        ('say "hi"', "'say \\\"hi\\\"'"),
        ("Bjørnstjerne", "'Bjørnstjerne'"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (42, "42"),
        (-1.5, "-1.5"),
        (1e-7, "0.0000001"),
        (Decimal("12.50"), "12.50"),
        (dt.date(2024, 5, 1), "2024-05-01"),
        (
            dt.datetime(2024, 5, 1, 15, 0, 30, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2024-05-01T13:00:30Z",
        ),
        (["a'", "b"], "('a\\'','b')"),
        ((1, 2), "(1,2)"),
    ],
)
def test_quote_gives_the_soql_literal(value: object, literal: str) -> None:
    assert soql.quote(value) == literal


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), Decimal("NaN"), dt.datetime(2024, 5, 1, 12, 0), [], b"bytes", object()],
)
def test_values_without_a_safe_literal_are_refused(value: object) -> None:
    with pytest.raises(SoqlError) as info:
        soql.quote(value)
    assert isinstance(info.value, PermanentError)


def test_identifiers_from_configuration_are_checked_before_they_are_inserted() -> None:
    query = soql.format(
        "SELECT Id FROM {obj:ident} WHERE {field:ident} = {v}",
        obj="Canvas_Activitiy__c",
        field="Programme__r.Name",
        v="x",
    )
    assert query == "SELECT Id FROM Canvas_Activitiy__c WHERE Programme__r.Name = 'x'"
    for bad in ["Contact WHERE Id != null", "A--", "1abc", "x'y", ""]:
        with pytest.raises(SoqlError):
            soql.format("SELECT Id FROM {obj:ident}", obj=bad)


def test_raw_pasting_and_mistakes_in_templates_are_refused() -> None:
    with pytest.raises(SoqlError):
        soql.format("SELECT Id FROM Contact WHERE Name = {n:literal}", n="x' OR Id != '")
    with pytest.raises(SoqlError):
        soql.format("SELECT Id FROM Contact WHERE Name = {n!r}", n="x")
    with pytest.raises(SoqlError, match="not used"):
        soql.format("SELECT Id FROM Contact", n="x")
    with pytest.raises(KeyError):
        soql.format("SELECT Id FROM Contact WHERE Name = {n}")


@settings(max_examples=50)
@given(value=st.lists(st.text(max_size=8), min_size=1, max_size=5))
def test_in_lists_hold_exactly_their_values(value: list[str]) -> None:
    query = soql.format("SELECT Id FROM Contact WHERE Name IN {names}", names=value)
    assert [text for kind, text in lex(query) if kind == "str"] == value
