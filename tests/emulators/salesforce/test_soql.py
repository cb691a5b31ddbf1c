"""The SOQL subset: what it answers, and that everything outside it is refused, never guessed."""
# ruff: noqa: S608  (these tests build SOQL on purpose, with the escaping under test)

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from canvasbridge_emulators.salesforce import SalesforceError, SalesforceModel

TODAY = dt.date(2026, 3, 4)  # a Wednesday


def escape(value: str) -> str:
    """SOQL quoting as a careful client does it."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def escape_like(value: str) -> str:
    return escape(value).replace("%", "\\%").replace("_", "\\_")


@pytest.fixture(scope="module")
def model() -> SalesforceModel:
    m = SalesforceModel(today=TODAY)
    acme = m.insert("Account", {"Name": "Acme"})
    rows = [
        ("Alpha", "a@example.org", "2026-03-04T09:00:00Z", acme, "U1"),
        ("beta", None, "2026-03-03T23:59:59Z", acme, "U2"),
        ("Gamma", "g@example.org", "2026-02-20T12:00:00Z", None, "U3"),
        ("O'Brien", "o@example.org", "2026-03-05T00:00:00Z", None, None),
        ("100%_sure", None, None, None, "U5"),
    ]
    for last, email, when, account, uid in rows:
        m.insert(
            "Contact", {"LastName": last, "Email": email, "AccountId": account, "Participant_UID__c": uid}
        )
        pid = m.insert("Programme_Participant__c", {"Participant_UID__c": uid, "ParticipantName__c": last})
        if when:
            m.insert(
                "Canvas_Activitiy__c",
                {"Canvas_Activity__c": last, "Date__c": when, "Programme_Participant__c": pid},
            )
    old = m.insert(
        "TL_Programme__c",
        {
            "Name": "old",
            "LMS_Start_Date__c": "2025-01-01",
            "LMS_End_Date__c": "2026-03-04",
            "LMS_Course_Id__c": 7,
        },
    )
    new = m.insert(
        "TL_Programme__c",
        {
            "Name": "new",
            "LMS_Start_Date__c": "2026-03-04",
            "LMS_End_Date__c": "2026-12-31",
            "LMS_Course_Id__c": 8,
        },
    )
    m.insert(
        "FLIP_Event__c",
        {"Name": "Quiz 1", "Event_Name__c": "Quiz 1", "Send_to_LMS__c": True, "Cohort_lkp__c": new},
    )
    m.insert(
        "FLIP_Event__c",
        {"Name": "Quiz 2", "Event_Name__c": "Quiz 2", "Send_to_LMS__c": False, "Cohort_lkp__c": old},
    )
    m.insert("FLIP_Event__c", {"Name": "Orphan", "Event_Name__c": None, "Send_to_LMS__c": False})
    return m


def names(model: SalesforceModel, soql: str, field: str = "LastName") -> list[str]:
    return [r[field] for r in model.query(soql)["records"]]


CONTACT_CASES = [
    ("SELECT LastName FROM Contact WHERE LastName = 'alpha'", ["Alpha"]),
    (
        "select lastname from contact where lastname != 'Alpha' order by lastname",
        ["100%_sure", "beta", "Gamma", "O'Brien"],
    ),
    ("SELECT LastName FROM Contact WHERE Email = null ORDER BY LastName", ["100%_sure", "beta"]),
    (
        "SELECT LastName FROM Contact WHERE Email != null ORDER BY LastName DESC",
        ["O'Brien", "Gamma", "Alpha"],
    ),
    (
        "SELECT LastName FROM Contact WHERE Email != 'a@example.org' ORDER BY LastName",
        ["100%_sure", "beta", "Gamma", "O'Brien"],
    ),
    ("SELECT LastName FROM Contact WHERE LastName = 'O\\'Brien'", ["O'Brien"]),
    ("SELECT LastName FROM Contact WHERE LastName LIKE '%a' ORDER BY LastName", ["Alpha", "beta", "Gamma"]),
    ("SELECT LastName FROM Contact WHERE LastName LIKE '_eta'", ["beta"]),
    ("SELECT LastName FROM Contact WHERE LastName LIKE '100\\%\\_%'", ["100%_sure"]),
    ("SELECT LastName FROM Contact WHERE LastName LIKE '100\\_%'", []),
    (
        "SELECT LastName FROM Contact WHERE LastName IN ('ALPHA', 'Gamma') ORDER BY LastName",
        ["Alpha", "Gamma"],
    ),
    (
        "SELECT LastName FROM Contact WHERE Participant_UID__c NOT IN ('U1', 'U2') ORDER BY LastName",
        ["100%_sure", "Gamma", "O'Brien"],
    ),
    (
        "SELECT LastName FROM Contact WHERE (LastName = 'Alpha' OR LastName = 'beta') AND Email != null",
        ["Alpha"],
    ),
    (
        "SELECT LastName FROM Contact WHERE NOT (LastName = 'Alpha' OR Email = null) ORDER BY LastName",
        ["Gamma", "O'Brien"],
    ),
    (
        "SELECT LastName FROM Contact WHERE NOT LastName = 'Alpha' AND NOT LastName LIKE '%a' ORDER BY LastName",
        ["100%_sure", "O'Brien"],
    ),
    ("SELECT LastName FROM Contact WHERE Account.Name = 'Acme' ORDER BY LastName", ["Alpha", "beta"]),
    (
        "SELECT LastName FROM Contact WHERE Account.Name != 'Acme' ORDER BY LastName",
        ["100%_sure", "Gamma", "O'Brien"],
    ),
    (
        "SELECT LastName FROM Contact ORDER BY Email NULLS LAST, LastName LIMIT 4",
        ["Alpha", "Gamma", "O'Brien", "100%_sure"],
    ),
    ("SELECT LastName FROM Contact ORDER BY LastName LIMIT 2 OFFSET 1", ["Alpha", "beta"]),
    (
        "SELECT LastName FROM Contact WHERE LastName > 'b' AND LastName < 'h' ORDER BY LastName",
        ["beta", "Gamma"],
    ),
]


@pytest.mark.parametrize(("soql", "expected"), CONTACT_CASES)
def test_contact_queries(model: SalesforceModel, soql: str, expected: list[str]) -> None:
    assert names(model, soql) == expected


ACTIVITY_CASES = [
    ("SELECT Canvas_Activity__c FROM Canvas_Activitiy__c WHERE Date__c = TODAY", ["Alpha"]),
    ("SELECT Canvas_Activity__c FROM Canvas_Activitiy__c WHERE Date__c = YESTERDAY", ["beta"]),
    ("SELECT Canvas_Activity__c FROM Canvas_Activitiy__c WHERE Date__c = TOMORROW", ["O'Brien"]),
    ("SELECT Canvas_Activity__c FROM Canvas_Activitiy__c WHERE Date__c > TODAY", ["O'Brien"]),
    (
        "SELECT Canvas_Activity__c FROM Canvas_Activitiy__c WHERE Date__c < TODAY ORDER BY Date__c",
        ["Gamma", "beta"],
    ),
    (
        "SELECT Canvas_Activity__c FROM Canvas_Activitiy__c WHERE Date__c = LAST_N_DAYS:1 ORDER BY Date__c",
        ["beta", "Alpha"],
    ),
    ("SELECT Canvas_Activity__c FROM Canvas_Activitiy__c WHERE Date__c = NEXT_N_DAYS:2", ["O'Brien"]),
    (
        "SELECT Canvas_Activity__c FROM Canvas_Activitiy__c WHERE Date__c = THIS_WEEK ORDER BY Date__c",
        ["beta", "Alpha", "O'Brien"],
    ),
    ("SELECT Canvas_Activity__c FROM Canvas_Activitiy__c WHERE Date__c = LAST_MONTH", ["Gamma"]),
    (
        "SELECT Canvas_Activity__c FROM Canvas_Activitiy__c WHERE Date__c >= 2026-03-04T00:00:00Z ORDER BY Date__c",
        ["Alpha", "O'Brien"],
    ),
    (
        "SELECT Canvas_Activity__c FROM Canvas_Activitiy__c WHERE Date__c < 2026-03-04T02:00:00+02:00 ORDER BY Date__c",
        ["Gamma", "beta"],
    ),
    (
        "SELECT Canvas_Activity__c FROM Canvas_Activitiy__c "
        "WHERE Programme_Participant__r.Participant_UID__c IN ('U1', 'U3') ORDER BY Canvas_Activity__c",
        ["Alpha", "Gamma"],
    ),
]


@pytest.mark.parametrize(("soql", "expected"), ACTIVITY_CASES)
def test_datetime_literals_and_relative_ranges(
    model: SalesforceModel, soql: str, expected: list[str]
) -> None:
    assert names(model, soql, "Canvas_Activity__c") == expected


def test_programme_dates_with_today_and_numbers(model: SalesforceModel) -> None:
    q = "SELECT Name FROM TL_Programme__c WHERE LMS_Start_Date__c <= TODAY AND LMS_End_Date__c > TODAY"
    assert names(model, q, "Name") == ["new"]
    assert names(model, "SELECT Name FROM TL_Programme__c WHERE LMS_Course_Id__c = 7.0", "Name") == ["old"]
    assert names(model, "SELECT Name FROM TL_Programme__c WHERE LMS_End_Date__c = 2026-03-04", "Name") == [
        "old"
    ]


def test_multi_level_parent_paths_nest_and_null(model: SalesforceModel) -> None:
    rows = model.query(
        "SELECT Name, Cohort_lkp__r.Name FROM FLIP_Event__c "
        "WHERE Send_to_LMS__c = true OR Cohort_lkp__r.LMS_Course_Id__c = null ORDER BY Name"
    )["records"]
    assert [r["Name"] for r in rows] == ["Orphan", "Quiz 1"]
    assert rows[0]["Cohort_lkp__r"] is None
    assert rows[1]["Cohort_lkp__r"]["Name"] == "new"
    deep = model.query(
        "SELECT Programme_Participant__r.Participant_UID__c, Programme_Participant__r.Programme__r.Name "
        "FROM Canvas_Activitiy__c WHERE Canvas_Activity__c = 'Alpha'"
    )["records"][0]
    assert deep["Programme_Participant__r"]["Participant_UID__c"] == "U1"
    assert deep["Programme_Participant__r"]["Programme__r"] is None


def test_count_and_query_all(model: SalesforceModel) -> None:
    result = model.query("SELECT COUNT() FROM Contact WHERE Email != null")
    assert result == {"totalSize": 3, "done": True, "records": []}


def test_dates_render_as_salesforce_does(model: SalesforceModel) -> None:
    row = model.query("SELECT Date__c FROM Canvas_Activitiy__c WHERE Canvas_Activity__c = 'Alpha'")[
        "records"
    ][0]
    assert row["Date__c"] == "2026-03-04T09:00:00.000+0000"
    row = model.query("SELECT LMS_Start_Date__c FROM TL_Programme__c WHERE Name = 'old'")["records"][0]
    assert row["LMS_Start_Date__c"] == "2025-01-01"


REFUSED = [
    ("SELECT Id FROM Contact WHERE LastName = 'a' AND Email = null OR LastName = 'b'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact GROUP BY Id", "MALFORMED_QUERY"),
    ("SELECT COUNT(Id) FROM Contact", "MALFORMED_QUERY"),
    ("SELECT MAX(LastName) FROM Contact", "MALFORMED_QUERY"),
    ("SELECT Id, (SELECT Id FROM Attendees__r) FROM Contact", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact WHERE Id IN (SELECT Contact__c FROM Attendees__c)", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact c", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact WITH SECURITY_ENFORCED", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact FOR UPDATE", "MALFORMED_QUERY"),
    ("SELECT FIELDS(ALL) FROM Contact LIMIT 1", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact WHERE LastName = 'unterminated", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact WHERE LastName = 'bad \\q escape'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact WHERE LastName = 'wild\\%card'", "MALFORMED_QUERY"),
    ('SELECT Id FROM Contact WHERE LastName = "double"', "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact WHERE LastName NOT LIKE 'a%'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact WHERE CreatedDate = THIS_FISCAL_QUARTER", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact WHERE Email = null LIMIT", "MALFORMED_QUERY"),
    ("SELECT COUNT() FROM Contact ORDER BY LastName", "MALFORMED_QUERY"),
    ("SELECT Id, Id FROM Contact", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact;", "MALFORMED_QUERY"),
    ("SELECT Id FROM Contact WHERE LastName = 5", "INVALID_FIELD"),
    ("SELECT Id FROM TL_Programme__c WHERE LMS_Course_Id__c = '7'", "INVALID_FIELD"),
    ("SELECT Id FROM TL_Programme__c WHERE LMS_Start_Date__c = 2026-01-01T00:00:00Z", "INVALID_FIELD"),
    ("SELECT Id FROM Canvas_Activitiy__c WHERE Date__c = 2026-01-01", "INVALID_FIELD"),
    ("SELECT Id FROM Contact WHERE LastName = TODAY", "INVALID_FIELD"),
    ("SELECT Nope__c FROM Contact", "INVALID_FIELD"),
    ("SELECT Nope__r.Name FROM Contact", "INVALID_FIELD"),
    ("SELECT Id FROM Nope__c", "INVALID_TYPE"),
    ("SELECT Id FROM Contact WHERE Id = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Contact OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
]


@pytest.mark.parametrize(("soql", "code"), REFUSED)
def test_outside_the_subset_is_refused(model: SalesforceModel, soql: str, code: str) -> None:
    with pytest.raises(SalesforceError) as err:
        model.query(soql)
    assert err.value.status == 400
    assert err.value.code == code


def test_fifteen_character_ids_match_their_eighteen_character_form(model: SalesforceModel) -> None:
    full = model.query("SELECT Id FROM Contact WHERE LastName = 'Alpha'")["records"][0]["Id"]
    assert names(model, f"SELECT LastName FROM Contact WHERE Id = '{full[:15]}'") == ["Alpha"]
    assert names(
        model,
        f"SELECT LastName FROM Contact WHERE AccountId IN ('{model.query('SELECT Id FROM Account')['records'][0]['Id']}')",
    ) == ["Alpha", "beta"]


# ---------------------------------------------------------------- properties

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=TEXT)
def test_any_string_round_trips_as_an_escaped_literal(value: str) -> None:
    assume(value != "")  # Salesforce stores an empty text as null; not a literal round trip
    m = SalesforceModel(today=TODAY)
    wanted = m.insert("Contact", {"LastName": "x", "Email": value})
    m.insert("Contact", {"LastName": "decoy", "Email": value + "!"})
    for soql in (
        f"SELECT Id, Email FROM Contact WHERE Email = '{escape(value)}'",
        f"SELECT Id, Email FROM Contact WHERE Email LIKE '{escape_like(value)}'",
        f"SELECT Id, Email FROM Contact WHERE Email IN ('{escape(value)}')",
    ):
        rows = m.query(soql)["records"]
        assert [r["Id"] for r in rows] == [wanted], soql
        assert rows[0]["Email"] == value


VOCAB = [
    "SELECT",
    "Id",
    "LastName",
    "Account.Name",
    ",",
    "FROM",
    "Contact",
    "Nope__c",
    "WHERE",
    "(",
    ")",
    "=",
    "!=",
    "<",
    ">=",
    "LIKE",
    "IN",
    "NOT",
    "AND",
    "OR",
    "'x'",
    "'a\\'b'",
    "'%'",
    "5",
    "-1.5",
    "true",
    "null",
    "TODAY",
    "LAST_N_DAYS",
    ":",
    "3",
    "2026-01-01",
    "2026-01-01T00:00:00Z",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LIMIT",
    "OFFSET",
    "COUNT()",
    "GROUP",
    "\\",
    "'",
    '"',
    ";",
    "@",
]
KNOWN_CODES = {
    "MALFORMED_QUERY",
    "INVALID_FIELD",
    "INVALID_TYPE",
    "INVALID_QUERY_FILTER_OPERATOR",
    "NUMBER_OUTSIDE_VALID_RANGE",
}


@settings(max_examples=300, deadline=None)
@given(tokens=st.lists(st.sampled_from(VOCAB), max_size=14), prefix=st.booleans())
def test_token_soup_is_answered_or_refused_never_crashes(tokens: list[str], prefix: bool) -> None:
    m = SalesforceModel(today=TODAY)
    m.insert("Contact", {"LastName": "x"})
    soql = ("SELECT Id FROM Contact WHERE " if prefix else "") + " ".join(tokens)
    try:
        result = m.query(soql)
    except SalesforceError as err:
        assert err.status == 400 and err.code in KNOWN_CODES
    else:
        assert result["totalSize"] in (0, 1)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60))
def test_random_text_is_answered_or_refused_never_crashes(text: str) -> None:
    m = SalesforceModel(today=TODAY)
    try:
        m.query(text)
    except SalesforceError as err:
        assert err.status == 400 and err.code in KNOWN_CODES


INDEXED = [
    "SELECT Id FROM Contact WHERE LastName = 'ALPHA'",
    "SELECT Id FROM Contact WHERE Participant_UID__c IN ('U1', 'u2', 'nobody') ORDER BY LastName",
    "SELECT Id FROM Contact WHERE Participant_UID__c = 'U1' AND Email != null",
    "SELECT Id FROM Canvas_Activitiy__c WHERE Programme_Participant__r.Participant_UID__c IN ('U1', 'U3')",
    "SELECT Id FROM Canvas_Activitiy__c WHERE Programme_Participant__r.Participant_UID__c = 'U2' AND Date__c = YESTERDAY",
    "SELECT Id FROM Contact WHERE Account.Name = 'acme'",
    "SELECT Id FROM FLIP_Event__c WHERE Cohort_lkp__r.Name IN ('new', 'old') ORDER BY Name",
]


@pytest.mark.parametrize("text", INDEXED)
def test_index_lookups_give_exactly_what_a_full_scan_gives(model: SalesforceModel, text: str) -> None:
    from canvasbridge_emulators.salesforce import soql

    def run(index: bool) -> list[str]:
        source = soql.RecordSource(
            records=model.records,
            get=model.raw,
            today=TODAY,
            url_for=model.url_for,
            index=model.index if index else None,
        )
        return [r["Id"] for r in soql.execute(model.schema, soql.parse(text), source).rows]

    assert run(True) == run(False)
    assert run(True), "the case should match something"


def test_index_follows_writes_and_deletes() -> None:
    m = SalesforceModel(today=TODAY)
    first = m.insert("Contact", {"LastName": "A", "Participant_UID__c": "X"})
    assert [r["Id"] for r in m.query("SELECT Id FROM Contact WHERE Participant_UID__c = 'x'")["records"]] == [
        first
    ]
    second = m.insert("Contact", {"LastName": "B", "Participant_UID__c": "X"})
    m.update("Contact", first, {"Participant_UID__c": "Y"})
    assert [r["Id"] for r in m.query("SELECT Id FROM Contact WHERE Participant_UID__c = 'x'")["records"]] == [
        second
    ]
    m.delete("Contact", second)
    assert m.query("SELECT Id FROM Contact WHERE Participant_UID__c = 'x'")["totalSize"] == 0
    assert (
        m.query("SELECT Id FROM Contact WHERE Participant_UID__c = 'x'", include_deleted=True)["totalSize"]
        == 1
    )
    with m.transaction() as rollback:
        m.update("Contact", first, {"Participant_UID__c": "X"})
        rollback()
    assert m.query("SELECT Id FROM Contact WHERE Participant_UID__c = 'x'")["totalSize"] == 0


# ---------------------------------------------------------------- differential: SOQL vs a plain Python filter

VALUES = ["a", "A", "b", "ab", "a'b", "a\\b", "%", "_x", None]


def _cond() -> st.SearchStrategy[tuple]:
    field = st.sampled_from(["LastName", "Email", "Account.Name"])
    value = st.sampled_from([v for v in VALUES if v is not None])
    return st.one_of(
        st.tuples(st.just("cmp"), field, st.sampled_from(["=", "!=", "<", ">=", "LIKE"]), value),
        st.tuples(st.just("null"), field, st.sampled_from(["=", "!="])),
        st.tuples(
            st.just("in"), field, st.sampled_from(["IN", "NOT IN"]), st.lists(value, min_size=1, max_size=3)
        ),
    )


EXPRS = st.recursive(
    _cond(),
    lambda inner: st.one_of(
        st.tuples(st.just("not"), inner),
        st.tuples(st.sampled_from(["AND", "OR"]), st.lists(inner, min_size=2, max_size=3)),
    ),
    max_leaves=6,
)


def _to_soql(expr: tuple) -> str:
    kind = expr[0]
    if kind == "cmp":
        _k, field, op, value = expr
        literal = escape_like(value) if op == "LIKE" else escape(value)
        return f"{field} {op} '{literal}'"
    if kind == "null":
        return f"{expr[1]} {expr[2]} null"
    if kind == "in":
        return f"{expr[1]} {expr[2]} ({', '.join(repr_soql(v) for v in expr[3])})"
    if kind == "not":
        return f"NOT ({_to_soql(expr[1])})"
    return "(" + f" {kind} ".join(_to_soql(e) for e in expr[1]) + ")"


def repr_soql(value: str) -> str:
    return f"'{escape(value)}'"


def _matches(expr: tuple, row: dict) -> bool:
    """SOQL semantics, written independently: case-insensitive text, != and NOT IN match nulls."""
    kind = expr[0]
    if kind == "cmp":
        _k, field, op, value = expr
        have = row[field]
        if op == "!=":
            return have is None or have.casefold() != value.casefold()
        if have is None:
            return False
        a, b = have.casefold(), value.casefold()
        return {"=": a == b, "<": a < b, ">=": a >= b, "LIKE": a == b}[op]  # literal LIKE (escaped)
    if kind == "null":
        return (row[expr[1]] is None) == (expr[2] == "=")
    if kind == "in":
        have = row[expr[1]]
        inside = have is not None and have.casefold() in {v.casefold() for v in expr[3]}
        return inside if expr[2] == "IN" else (have is None or not inside)
    if kind == "not":
        return not _matches(expr[1], row)
    parts = [_matches(e, row) for e in expr[1]]
    return all(parts) if kind == "AND" else any(parts)


@pytest.fixture(scope="module")
def small_org() -> tuple[SalesforceModel, list[dict]]:
    m = SalesforceModel(today=TODAY)
    accounts = {v: m.insert("Account", {"Name": v}) for v in ("a", "B", "a'b")}
    rows = []
    for i, (last, email, acc) in enumerate(
        [
            (v, w, a)
            for v in ("a", "A", "b", "ab", "a'b", "a\\b", "%", "_x")
            for w in (None, "ab", "%")
            for a in (None, "a", "B", "a'b")
        ][::3]
    ):
        rid = m.insert(
            "Contact",
            {
                "LastName": last,
                "Email": email,
                "AccountId": accounts.get(acc) if acc else None,
                "Participant_UID__c": str(i),
            },
        )
        rows.append({"Id": rid, "LastName": last, "Email": email, "Account.Name": acc})
    return m, rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expr=EXPRS)
def test_where_clauses_agree_with_an_independent_evaluator(small_org, expr: tuple) -> None:  # type: ignore[no-untyped-def]
    m, rows = small_org
    soql = f"SELECT Id FROM Contact WHERE {_to_soql(expr)}"
    got = [r["Id"] for r in m.query(soql)["records"]]
    assert got == [r["Id"] for r in rows if _matches(expr, r)], soql


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    expr=EXPRS,
    tail=st.sampled_from(
        [
            " GROUP BY LastName",
            " AND LastName = 'a' OR Email = null",
            " OR LastName = 'a' AND Email = null",
            " FOR UPDATE",
            " LIMIT",
            " ORDER BY",
            " WITH SECURITY_ENFORCED",
            ")",
            " AND LastName = 'unterminated",
            " AND LastName IN (SELECT LastName FROM Contact)",
            " AND LastName = 'x\\u0041'",
        ]
    ),
)
def test_a_valid_where_with_an_unsupported_tail_is_malformed(small_org, expr: tuple, tail: str) -> None:  # type: ignore[no-untyped-def]
    m, _rows = small_org
    soql = f"SELECT Id FROM Contact WHERE {_to_soql(expr)}{tail}"
    with pytest.raises(SalesforceError) as err:
        m.query(soql)
    assert (err.value.status, err.value.code) == (400, "MALFORMED_QUERY"), soql
