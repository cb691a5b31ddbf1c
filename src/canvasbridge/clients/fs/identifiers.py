"""FS identifiers: parse, format, and move between emne, undervisning and aktivitet.

FS names objects by comma-separated parts in the URL path, each part URL-encoded UTF-8
(the verified samples, reference B.3)::

    emner/222,0-5,1                                       institusjon, kode, versjon
    undervisning/222,0-5,1,1999,H%C3%98ST,1               + år, termin, terminnummer
    undervisningsaktiviteter/222,0-5,1,1999,H%C3%98ST,1,MEAKB00000      + aktivitet
    semestre/1999,H%C3%98ST
    organisasjonsenheter/222,59,7,0                       institusjon, fakultet, institutt, gruppe

(The UiO design document shows a 4-part emne and a 7-part undervisning; no public sample
has those, so we follow the samples.)

Every ``parse`` accepts the bare key (``222,0-5,1``), the key with its collection
(``emner/222,0-5,1``) or a full ``href``, encoded (``H%C3%98ST``) or not (``HØST``)::

    >>> ua = AktivitetId.parse("undervisningsaktiviteter/222,0-5,1,1999,H%C3%98ST,1,MEAKB00000")
    >>> ua.undervisning.emne.kode, ua.undervisning.termin
    ('0-5', 'HØST')
    >>> str(ua.undervisning)
    '222,0-5,1,1999,H%C3%98ST,1'
    >>> ua.undervisning.path
    'undervisning/222,0-5,1,1999,H%C3%98ST,1'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar, Self
from urllib.parse import quote, unquote, urlsplit

from canvasbridge.errors import PermanentError

#: FS term codes (LEG ``Terminkoder.java``): spring, autumn and the less common ones.
TERM_CODES = ("VÅR", "HØST", "VIT", "VÅT", "SOM", "HØT")
_SAFE = "-_.~"  # characters left unencoded in a part besides letters and digits


class InvalidIdentifierError(PermanentError, ValueError):
    """The text is not an FS identifier of the kind asked for."""


def encode_part(value: str) -> str:
    """One identifier part, URL-encoded UTF-8 (``HØST`` → ``H%C3%98ST``, ``,`` → ``%2C``)."""
    return quote(value, safe=_SAFE)


def _key_parts(text: str, collection: str, size: int, kind: str) -> list[str]:
    if not isinstance(text, str):
        raise InvalidIdentifierError(f"a {kind} identifier must be text, not {type(text).__name__}")
    raw = text.strip()
    if "://" in raw:
        raw = urlsplit(raw).path
    raw = raw.strip("/")
    if "/" in raw:
        prefix, _, raw = raw.rpartition("/")
        if prefix.rsplit("/", 1)[-1] != collection:
            raise InvalidIdentifierError(f"{text!r} is not a {kind} identifier (expected {collection}/…)")
    parts = [unquote(p) for p in raw.split(",")]
    if len(parts) != size or any(not p for p in parts):
        raise InvalidIdentifierError(
            f"{text!r} is not a {kind} identifier: expected {size} comma-separated parts"
        )
    return parts


def _int(value: str, what: str, text: str) -> int:
    if not value.isdigit():
        raise InvalidIdentifierError(f"{text!r}: {what} must be a number, got {value!r}")
    return int(value)


class _Identifier:
    collection: ClassVar[str]

    def parts(self) -> tuple[str, ...]:
        raise NotImplementedError

    def __str__(self) -> str:
        return ",".join(encode_part(p) for p in self.parts())

    @property
    def key(self) -> str:
        """The encoded key, as FS writes it in URLs: ``222,0-5,1,1999,H%C3%98ST,1``."""
        return str(self)

    @functools.cached_property
    def display(self) -> str:
        """The key for people: ``222,0-5,1,1999,HØST,1`` (the ids are frozen: made once)."""
        return ",".join(self.parts())

    @property
    def path(self) -> str:
        """The resource path relative to the API root: ``undervisning/222,…``."""
        return f"{self.collection}/{self}"


@dataclass(frozen=True, order=True)
class EmneId(_Identifier):
    """A course (emne): ``institusjon,kode,versjon``."""

    collection: ClassVar[str] = "emner"
    institusjon: int
    kode: str
    versjon: str

    @classmethod
    def parse(cls, text: str) -> Self:
        inst, kode, versjon = _key_parts(text, cls.collection, 3, "emne")
        return cls(_int(inst, "institusjon", text), kode, versjon)

    def parts(self) -> tuple[str, ...]:
        return (str(self.institusjon), self.kode, self.versjon)


@dataclass(frozen=True, order=True)
class SemesterId(_Identifier):
    """A term: ``år,termin`` (``2024,HØST``)."""

    collection: ClassVar[str] = "semestre"
    ar: int
    termin: str

    @classmethod
    def parse(cls, text: str) -> Self:
        ar, termin = _key_parts(text, cls.collection, 2, "semester")
        return cls(_int(ar, "år", text), termin)

    def parts(self) -> tuple[str, ...]:
        return (str(self.ar), self.termin)


@dataclass(frozen=True, order=True)
class UndervisningId(_Identifier):
    """A teaching unit (undervisning): the emne, then ``år,termin,terminnummer``."""

    collection: ClassVar[str] = "undervisning"
    emne: EmneId
    ar: int
    termin: str
    terminnummer: int

    @classmethod
    def parse(cls, text: str) -> Self:
        return cls._of_parts(_key_parts(text, cls.collection, 6, "undervisning"), text)

    @classmethod
    def _of_parts(cls, parts: list[str], text: str) -> Self:
        inst, kode, versjon, ar, termin, nr = parts
        emne = EmneId(_int(inst, "institusjon", text), kode, versjon)
        return cls(emne, _int(ar, "år", text), termin, _int(nr, "terminnummer", text))

    @property
    def semester(self) -> SemesterId:
        return SemesterId(self.ar, self.termin)

    def parts(self) -> tuple[str, ...]:
        return (*self.emne.parts(), str(self.ar), self.termin, str(self.terminnummer))


@dataclass(frozen=True, order=True)
class AktivitetId(_Identifier):
    """A teaching activity (undervisningsaktivitet): the undervisning, then ``aktivitet``."""

    collection: ClassVar[str] = "undervisningsaktiviteter"
    undervisning: UndervisningId
    aktivitet: str

    @classmethod
    def parse(cls, text: str) -> Self:
        parts = _key_parts(text, cls.collection, 7, "undervisningsaktivitet")
        return cls(UndervisningId._of_parts(parts[:6], text), parts[6])

    @property
    def emne(self) -> EmneId:
        return self.undervisning.emne

    def parts(self) -> tuple[str, ...]:
        return (*self.undervisning.parts(), self.aktivitet)


@dataclass(frozen=True, order=True)
class OrgenhetId(_Identifier):
    """An organisation unit: ``institusjon,fakultet,institutt,gruppe`` (``185,15,4,0``)."""

    collection: ClassVar[str] = "organisasjonsenheter"
    institusjon: int
    fakultet: int
    institutt: int
    gruppe: int

    @classmethod
    def parse(cls, text: str) -> Self:
        values = _key_parts(text, cls.collection, 4, "organisasjonsenhet")
        inst, fak, ins, grp = (_int(v, "part", text) for v in values)
        return cls(inst, fak, ins, grp)

    def parts(self) -> tuple[str, ...]:
        return (str(self.institusjon), str(self.fakultet), str(self.institutt), str(self.gruppe))

    @property
    def stedkode(self) -> str:
        """The six-digit place code ``FFIIGG`` used by Cerebrum and SAP."""
        return f"{self.fakultet:02d}{self.institutt:02d}{self.gruppe:02d}"


@dataclass(frozen=True, order=True)
class PersonrolleId(_Identifier):
    """A person's role: ``personlopenummer,rollenummer``."""

    collection: ClassVar[str] = "personroller"
    personlopenummer: int
    rollenummer: int

    @classmethod
    def parse(cls, text: str) -> Self:
        person, nummer = _key_parts(text, cls.collection, 2, "personrolle")
        return cls(_int(person, "personlopenummer", text), _int(nummer, "rollenummer", text))

    def parts(self) -> tuple[str, ...]:
        return (str(self.personlopenummer), str(self.rollenummer))


# A full resync meets the same few thousand units and activities in hundreds of thousands
# of hrefs and keys: each text is parsed once (the ids are frozen, so one may be shared).


@functools.lru_cache(maxsize=1 << 16)
def undervisning_id(text: str) -> UndervisningId:
    """:meth:`UndervisningId.parse`, remembered."""
    return UndervisningId.parse(text)


@functools.lru_cache(maxsize=1 << 16)
def aktivitet_id(text: str) -> AktivitetId:
    """:meth:`AktivitetId.parse`, remembered."""
    return AktivitetId.parse(text)
