"""FS identifiers: parse every written form, format as FS does, move between levels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canvasbridge.clients.fs import (
    AktivitetId,
    EmneId,
    InvalidIdentifierError,
    OrgenhetId,
    PersonrolleId,
    SemesterId,
    UndervisningId,
)
from canvasbridge.clients.fs.identifiers import aktivitet_id, undervisning_id
from canvasbridge.errors import PermanentError


def test_undervisning_parses_the_encoded_sample_and_formats_it_back_byte_for_byte() -> None:
    text = "undervisning/222,0-5,1,1999,H%C3%98ST,1"
    uid = UndervisningId.parse(text)
    assert uid == UndervisningId(EmneId(222, "0-5", "1"), 1999, "HØST", 1)
    assert uid.path == text
    assert str(uid) == "222,0-5,1,1999,H%C3%98ST,1"
    assert uid.display == "222,0-5,1,1999,HØST,1"


@pytest.mark.parametrize(
    "text",
    [
        "215,ABIO6000,1,2018,HØST,1",
        "215,ABIO6000,1,2018,H%C3%98ST,1",
        "undervisning/215,ABIO6000,1,2018,H%C3%98ST,1",
        "https://api.fellesstudentsystem.no/undervisning/215,ABIO6000,1,2018,H%C3%98ST,1",
        "/undervisning/215,ABIO6000,1,2018,HØST,1/",
    ],
)
def test_undervisning_accepts_bare_prefixed_href_encoded_and_unencoded_forms(text: str) -> None:
    assert UndervisningId.parse(text) == UndervisningId(EmneId(215, "ABIO6000", "1"), 2018, "HØST", 1)


def test_aktivitet_knows_its_undervisning_and_emne() -> None:
    ua = AktivitetId.parse("undervisningsaktiviteter/222,0-5,1,1999,H%C3%98ST,1,MEAKB00000")
    assert ua.aktivitet == "MEAKB00000"
    assert ua.undervisning == UndervisningId.parse("222,0-5,1,1999,HØST,1")
    assert ua.emne == EmneId(222, "0-5", "1")
    assert ua.emne.path == "emner/222,0-5,1"
    assert ua.path == "undervisningsaktiviteter/222,0-5,1,1999,H%C3%98ST,1,MEAKB00000"


def test_spring_term_with_a_ring_is_encoded_as_utf8() -> None:
    uid = UndervisningId(EmneId(185, "INF1000", "1"), 2025, "VÅR", 1)
    assert str(uid) == "185,INF1000,1,2025,V%C3%85R,1"
    assert uid.semester == SemesterId(2025, "VÅR")
    assert uid.semester.path == "semestre/2025,V%C3%85R"


def test_a_comma_inside_a_part_is_encoded_so_the_key_keeps_its_shape() -> None:
    emne = EmneId(185, "A,B", "1")
    assert str(emne) == "185,A%2CB,1"
    assert EmneId.parse(str(emne)) == emne


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (EmneId, "185,INF1000"),  # too few parts
        (EmneId, "185,INF1000,1,0"),  # the design document's unverified 4-part form
        (UndervisningId, "185,INF1000,1,0,2019,HØST,1"),  # 7 parts
        (UndervisningId, "185,INF1000,1,20X9,HØST,1"),  # year not a number
        (UndervisningId, "emner/185,INF1000,1"),  # wrong collection
        (AktivitetId, "undervisning/222,0-5,1,1999,HØST,1,A"),  # wrong collection
        (AktivitetId, "undervisningsaktiviteter/222,0-5,1,1999,HØST,x,A"),  # terminnummer not a number
        (EmneId, "185,,1"),  # empty part
        (OrgenhetId, "185,15,x,0"),
    ],
)
def test_malformed_identifiers_raise_a_permanent_error_naming_the_input(kind: type, text: str) -> None:
    with pytest.raises(InvalidIdentifierError) as info:
        kind.parse(text)
    assert isinstance(info.value, PermanentError)
    assert text in str(info.value)


def test_remembered_parses_share_one_id_and_still_refuse_a_bad_text_every_time() -> None:
    href = "http://fs/undervisningsaktiviteter/185,INF1000,1,2026,H%C3%98ST,1,2-1"
    first = aktivitet_id(href)
    assert first == AktivitetId.parse(href) and aktivitet_id(href) is first
    assert undervisning_id(first.undervisning.path) == first.undervisning
    assert first.display == "185,INF1000,1,2026,HØST,1,2-1" == ",".join(first.parts())
    for _ in range(2):
        with pytest.raises(InvalidIdentifierError):
            undervisning_id("emner/185,INF1000,1")


def test_orgenhet_parent_code_and_personrolle() -> None:
    org = OrgenhetId.parse("organisasjonsenheter/185,15,4,0")
    assert org.stedkode == "150400"
    assert PersonrolleId.parse("personroller/123,4") == PersonrolleId(123, 4)


_part = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/"), min_size=1, max_size=12
).filter(lambda s: s.strip() == s and s != "")


@given(
    inst=st.integers(0, 9999),
    kode=_part,
    versjon=_part,
    ar=st.integers(1900, 2100),
    termin=st.sampled_from(["VÅR", "HØST", "VIT", "VÅT", "SOM", "HØT"]) | _part,
    nr=st.integers(1, 9),
    akt=_part,
)
def test_any_aktivitet_round_trips_through_its_formatted_path(
    inst: int, kode: str, versjon: str, ar: int, termin: str, nr: int, akt: str
) -> None:
    ua = AktivitetId(UndervisningId(EmneId(inst, kode, versjon), ar, termin, nr), akt)
    assert ua.display == ",".join((str(inst), kode, versjon, str(ar), termin, str(nr), akt))
    assert AktivitetId.parse(ua.path) == ua
    assert AktivitetId.parse(str(ua)) == ua
    assert str(ua).count(",") == 6
