"""Pydantic models of the FS objects canvasbridge reads.

Field names are FS's own (Norwegian, camelCase) as seen in real answers (reference B.3).
Every model keeps unknown fields (``extra="allow"``), so a newer FS does not break us,
and every field not seen in every sample is optional.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, model_validator

from canvasbridge.clients.fs.identifiers import (
    AktivitetId,
    EmneId,
    OrgenhetId,
    PersonrolleId,
    UndervisningId,
    aktivitet_id,
    undervisning_id,
)

#: the løpenummer at the end of a person's href (``…/personer/100001``)
_PERSON_HREF = re.compile(r"/personer/(\d+)/?$")


class FsModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Ref(FsModel):
    """A reference to another FS object: follow it with ``FsClient.follow``."""

    href: str
    rel: str | None = None


class Navn(FsModel):
    lang: str
    value: str


def pick_name(
    names: list[Navn], lang: str = "nb", fallbacks: tuple[str, ...] = ("nb", "nn", "en")
) -> str | None:
    """The name in ``lang``, else the first of ``fallbacks`` present, else any."""
    by_lang = {n.lang: n.value for n in names}
    for candidate in (lang, *fallbacks):
        if candidate in by_lang:
            return by_lang[candidate]
    return names[0].value if names else None


class Lms(FsModel):
    """LMS export settings: ``eksport`` says whether the object should exist in the LMS."""

    eksport: bool = False
    rom_mal: str | None = Field(default=None, alias="romMal")
    lopenummer: int | None = None


class Periode(FsModel):
    type: str | None = None
    fra_dato: str | None = Field(default=None, alias="fraDato")
    til_dato: str | None = Field(default=None, alias="tilDato")


class OrgLink(FsModel):
    href: str
    type: str | None = None


class Person(FsModel):
    href: str | None = None
    personlopenummer: int | None = None
    fodselsdato: str | None = None
    personnummer: str | None = None
    brukernavn: str | None = None
    fornavn: str | None = None
    etternavn: str | None = None
    epost: str | None = None
    ansattnummer: str | None = None


class Emne(FsModel):
    href: str
    institusjon: int
    kode: str
    versjon: str
    navn: list[Navn] = Field(default_factory=list)
    studieniva: Ref | None = None
    organisasjonsenheter: list[OrgLink] = Field(default_factory=list)

    @property
    def id(self) -> EmneId:
        return EmneId(self.institusjon, self.kode, self.versjon)

    def name(self, lang: str = "nb") -> str | None:
        return pick_name(self.navn, lang)


class EmneRef(FsModel):
    href: str | None = None
    institusjon: int
    kode: str
    versjon: str

    @property
    def id(self) -> EmneId:
        return EmneId(self.institusjon, self.kode, self.versjon)


class SemesterRef(FsModel):
    href: str | None = None
    ar: int
    termin: str


class Undervisning(FsModel):
    href: str
    emne: EmneRef
    semester: SemesterRef
    terminnummer: int
    lukket: bool | None = None
    lms: Lms | None = None

    @property
    def id(self) -> UndervisningId:
        return UndervisningId(self.emne.id, self.semester.ar, self.semester.termin, self.terminnummer)

    @property
    def lms_export(self) -> bool:
        return bool(self.lms and self.lms.eksport)


class Undervisningsaktivitet(FsModel):
    href: str
    undervisning: Ref | dict[str, Any]
    aktivitet: str
    eier: Ref | None = None
    parti: str | int | None = None
    form: str | None = None
    disiplin: str | None = None
    nummer: int | None = None
    navn: list[Navn] | str | None = None
    publiseres: bool | None = None
    lukket: bool | None = None
    lms: Lms | None = None

    @property
    def id(self) -> AktivitetId:
        return aktivitet_id(self.href)

    @property
    def lms_export(self) -> bool:
        return bool(self.lms and self.lms.eksport)

    def name(self, lang: str = "nb") -> str | None:
        if isinstance(self.navn, str) or self.navn is None:
            return self.navn
        return pick_name(self.navn, lang)


class PersonRef(FsModel):
    """A reference to a person; an answer that names only the href (``…/personer/<løpenummer>``)
    still gives the løpenummer."""

    href: str | None = None
    personlopenummer: int | None = None

    @model_validator(mode="after")
    def _number_from_href(self) -> PersonRef:
        if self.personlopenummer is None and self.href:
            found = _PERSON_HREF.search(self.href)
            if found:
                self.personlopenummer = int(found.group(1))
        return self


class Personrolle(FsModel):
    """A person's role (teacher, group teacher…) on an undervisning or activity."""

    href: str
    person: PersonRef
    rollenummer: int | None = None
    rolle: Ref | None = None
    periode: Periode | None = None
    undervisning: Ref | None = None
    undervisningsaktivitet: Ref | None = None
    studieprogram: Ref | None = None

    @property
    def id(self) -> PersonrolleId:
        return PersonrolleId.parse(self.href)

    @property
    def rollekode(self) -> str | None:
        """The role code from ``rolle.href`` (``roller/L%C3%86RER`` → ``LÆRER``)."""
        return _role_code(self.rolle.href) if self.rolle else None


class Studentundervisning(FsModel):
    """A student's participation in an undervisning (FS ``studentundervisning``)."""

    href: str | None = None
    person: PersonRef
    undervisning: Ref | dict[str, Any]

    @property
    def target_href(self) -> str:
        """``undervisning.href`` (empty if it has none)."""
        return _href(self.undervisning)

    @property
    def undervisning_id(self) -> UndervisningId:
        return undervisning_id(self.target_href)


class Studentundervisningsaktivitet(FsModel):
    """A student's participation in one activity (group) of an undervisning."""

    href: str | None = None
    person: PersonRef
    undervisningsaktivitet: Ref | dict[str, Any]

    @property
    def target_href(self) -> str:
        """``undervisningsaktivitet.href`` (empty if it has none)."""
        return _href(self.undervisningsaktivitet)

    @property
    def aktivitet_id(self) -> AktivitetId:
        return aktivitet_id(self.target_href)


def _href(ref: Ref | dict[str, Any]) -> str:
    return ref.href if isinstance(ref, Ref) else str(ref.get("href", ""))


@functools.lru_cache(maxsize=256)  # a handful of roles, asked of every role on every section
def _role_code(href: str) -> str:
    return unquote(href.rstrip("/").rsplit("/", 1)[-1])


class Organisasjonsenhet(FsModel):
    href: str | None = None
    institusjon: int
    fakultet: int
    institutt: int
    gruppe: int
    navn: list[Navn] = Field(default_factory=list)
    akronym: str | None = None
    aktiv: bool | None = None
    organisasjonsenheter: list[OrgLink] = Field(default_factory=list)
    lms: Lms | None = None

    @property
    def id(self) -> OrgenhetId:
        return OrgenhetId(self.institusjon, self.fakultet, self.institutt, self.gruppe)

    @property
    def parent(self) -> OrgenhetId | None:
        """The superior unit (the link of type ``OVERORDNET``), if any."""
        for link in self.organisasjonsenheter:
            if (link.type or "").upper() == "OVERORDNET":
                return OrgenhetId.parse(link.href)
        return None

    def name(self, lang: str = "nb") -> str | None:
        return pick_name(self.navn, lang)
