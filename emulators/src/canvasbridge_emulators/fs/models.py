"""FS state: the university seen as FS resources, plus credentials and issued tokens.

Every resource is a :class:`Resource`: how to list its keys, fetch one record, render it
in FS's JSON shape, expose its filterable fields (dotted FS paths such as
``undervisning.semester.termin``) and, for speed, narrow a listing through an index when
the filters name the parent object exactly. Listings are cached per filter set and
university version, so deep paging stays cheap.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from canvasbridge_emulators.fs.exceptions import (
    BASIC_CHALLENGE,
    BEARER_EXPIRED,
    BEARER_INVALID,
    BadRequest,
    NotFound,
    Unauthorized,
)
from canvasbridge_emulators.notify import fs_encode_id
from canvasbridge_emulators.university import (
    EMAIL_DOMAIN,
    INSTITUTION,
    TEACHER_ROLES,
    Aktivitet,
    Emne,
    OrgUnit,
    Person,
    PersonRolle,
    StudentAktivitet,
    StudentUndervisning,
    Undervisning,
    University,
    UniversityError,
)

DEFAULT_LIMIT = 100  # items per page when ``limit`` is absent
MAX_LIMIT = 1000  # the largest page FS documents (``limit=0`` means everything)
DEFAULT_PASSWORD = "fs-secret"  # the emulator's default Basic password
DEFAULT_TOKEN_TTL_S = 3600.0  # lifetime of an issued JWT, seconds
RESERVED_PARAMS = frozenset({"page", "limit", "fields", "dbId"})
CACHE_SIZE = 64  # listings (resource + filters) kept per university version

Flat = dict[str, str]


@dataclass(frozen=True)
class Resource:
    name: str
    keys: Callable[[], Iterable[str]]
    get: Callable[[str], Any]
    render: Callable[[Any, str], dict[str, Any]]
    flat: Callable[[Any], Flat]
    narrow: Callable[[Mapping[str, str]], Iterable[str] | None] = lambda params: None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _navn(nb: str, en: str | None = None) -> list[dict[str, str]]:
    names = [{"lang": "nb", "value": nb}]
    if en:
        names.append({"lang": "en", "value": en})
    return names


class FsModel:
    """The FS view of a :class:`University`, with Basic credentials and JWT tokens."""

    def __init__(
        self,
        university: University,
        *,
        username: str = "fs",
        password: str = DEFAULT_PASSWORD,
        token_ttl_s: float = DEFAULT_TOKEN_TTL_S,
    ) -> None:
        self.university = university
        self.username = username
        self.password = password
        self.token_ttl_s = token_ttl_s
        self._secret = secrets.token_bytes(32)
        self._generation = 0  # tokens of older generations are expired
        self.tokens_issued = 0
        self._cache: OrderedDict[tuple[Any, ...], list[str]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.resources = {r.name: r for r in self._resources()}

    # ------------------------------------------------------------------ auth

    def check_basic(self, username: str, password: str) -> None:
        if not (
            hmac.compare_digest(username.encode(), self.username.encode())
            and hmac.compare_digest(password.encode(), self.password.encode())
        ):
            raise Unauthorized("Ugyldig brukernavn eller passord", challenge=BASIC_CHALLENGE)

    def issue_token(self, username: str) -> str:
        now = time.time()
        header = {"alg": "HS256", "typ": "JWT"}
        claims = {
            "iss": "FS-emulator",
            "sub": username,
            "iat": int(now),
            "exp": int(now + self.token_ttl_s),
            "jti": str(uuid.uuid4()),
            "gen": self._generation,
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest()
        self.tokens_issued += 1
        return f"{signing_input}.{_b64(signature)}"

    def check_token(self, token: str, *, ttl_override_s: float | None = None) -> None:
        try:
            head, body, signature = token.split(".")
            expected = hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(_unb64(signature), expected):
                raise ValueError("bad signature")
            claims = json.loads(_unb64(body))
            iat, exp, generation = float(claims["iat"]), float(claims["exp"]), int(claims["gen"])
        except (ValueError, KeyError, TypeError):
            raise Unauthorized("Ugyldig token", challenge=BEARER_INVALID) from None
        now = time.time()
        if ttl_override_s is not None:
            exp = min(exp, iat + ttl_override_s)
        if now >= exp or generation != self._generation:
            raise Unauthorized("Token er utløpt", challenge=BEARER_EXPIRED)

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (the next request answers 401)."""
        self._generation += 1

    # ------------------------------------------------------------------ listing

    def resource(self, name: str) -> Resource:
        try:
            return self.resources[name]
        except KeyError:
            raise NotFound(f"Ukjent ressurs: {name}") from None

    def item(self, name: str, key: str) -> Any:
        resource = self.resource(name)
        try:
            return resource.get(key)
        except (UniversityError, ValueError):
            raise NotFound(f"Fant ikke {name}/{key}") from None

    def listing(self, name: str, filters: Mapping[str, str]) -> list[str]:
        """Keys of the records of ``name`` matching every filter, in a stable order."""
        resource = self.resource(name)
        uni = self.university
        cache_key = (name, tuple(sorted(filters.items())), uni.version, id(uni))
        with self._cache_lock:
            cached = self._cache.get(cache_key)
            if cached is not None:
                self._cache.move_to_end(cache_key)
                return cached
        with uni.lock:
            candidates = resource.narrow(filters) if filters else None
            keys = list(resource.keys() if candidates is None else candidates)
            if filters:
                matched = []
                for key in keys:
                    try:
                        record = resource.get(key)
                    except (UniversityError, ValueError):
                        continue
                    flat = resource.flat(record)
                    unknown = [f for f in filters if f not in flat]
                    if unknown:
                        raise BadRequest(f"Ukjent filter for {name}: {', '.join(sorted(unknown))}")
                    if all(flat[f] == v for f, v in filters.items()):
                        matched.append(key)
                keys = matched
        with self._cache_lock:
            self._cache[cache_key] = keys
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return keys

    def state(self) -> dict[str, Any]:
        return {**self.university.summary(), "tokens_issued": self.tokens_issued}

    # ------------------------------------------------------------------ resources

    def _resources(self) -> list[Resource]:
        uni = self.university
        return [
            Resource(
                "personer",
                lambda: (str(p.fs_lopenummer) for p in uni.persons.values() if p.fs_lopenummer),
                lambda key: uni.person_by_fs(int(key)),
                self.render_person,
                self._flat_person,
            ),
            Resource("emner", lambda: iter(uni.emner), uni.emne, self.render_emne, _flat_emne),
            Resource(
                "undervisning",
                lambda: iter(uni.undervisning),
                uni.unit,
                self.render_undervisning,
                lambda u: {
                    **_unit_flat("", u),
                    "lms.eksport": _text(u.lms_eksport),
                    "lukket": _text(u.lukket),
                },
                self._narrow_undervisning,
            ),
            Resource(
                "undervisningsaktiviteter",
                lambda: iter(uni.aktiviteter),
                uni.activity,
                self.render_aktivitet,
                self._flat_aktivitet,
                lambda f: _by_unit(uni, f, "undervisning.", lambda k: [a.key for a in uni.activities_of(k)]),
            ),
            Resource(
                "personroller",
                lambda: iter(uni.personroller),
                uni.role,
                self.render_personrolle,
                self._flat_personrolle,
                self._narrow_personroller,
            ),
            Resource(
                "studentundervisning",
                lambda: (p.key for p in uni.unit_participations()),
                self._get_studentundervisning,
                self.render_studentundervisning,
                lambda p: {
                    "person.personlopenummer": str(p.fs_lopenummer),
                    **_unit_flat("undervisning.", uni.unit(p.undervisning)),
                },
                self._narrow_studentundervisning,
            ),
            Resource(
                "studentundervisningsaktiviteter",
                lambda: (p.key for p in uni.activity_participations()),
                self._get_studentaktivitet,
                self.render_studentaktivitet,
                self._flat_studentaktivitet,
                self._narrow_studentaktivitet,
            ),
            Resource(
                "organisasjonsenheter",
                lambda: (u.fs_key for u in uni.org_units.values()),
                uni.org_unit_by_fs_key,
                self.render_orgenhet,
                lambda o: {
                    "institusjon": str(INSTITUTION),
                    "fakultet": str(o.fakultet),
                    "institutt": str(o.institutt),
                    "gruppe": str(o.gruppe),
                    "lms.eksport": _text(o.lms_eksport),
                },
            ),
            Resource(
                "roller",
                lambda: iter(TEACHER_ROLES),
                _get_rolle,
                lambda code, base: {
                    "href": f"{base}roller/{fs_encode_id(code)}",
                    "kode": code,
                    "navn": _navn(code.capitalize()),
                },
                lambda code: {"kode": code},
            ),
        ]

    # -- persons

    def render_person(self, p: Person, base: str) -> dict[str, Any]:
        return {
            "href": f"{base}personer/{p.fs_lopenummer}",
            "personlopenummer": p.fs_lopenummer,
            "fodselsdato": p.birth_date.strftime("%d%m%y"),
            "personnummer": p.personnummer,
            "fornavn": p.first_name,
            "etternavn": p.last_name,
            "brukernavn": p.primary_account,
            "epost": f"{p.primary_account}@{EMAIL_DOMAIN}" if p.primary_account else None,
            "ansattnummer": str(p.sap_employee_id) if p.sap_employee_id else None,
            "student": p.is_student,
            "fagperson": bool(self.university.roles_of_person(p.fs_lopenummer or 0)),
        }

    def _flat_person(self, p: Person) -> Flat:
        return {
            "personlopenummer": str(p.fs_lopenummer),
            "fodselsdato0": p.birth_date.strftime("%d%m%y"),
            "personnummer0": p.personnummer,
            "brukernavn": _text(p.primary_account),
            "fornavn": p.first_name,
            "etternavn": p.last_name,
            "ansattnummer": _text(p.sap_employee_id),
        }

    # -- emner and teaching

    def render_emne(self, e: Emne, base: str) -> dict[str, Any]:
        owner = self.university.org_unit(e.location_id)
        orgs = f"{base}organisasjonsenheter/{owner.fs_key}"
        return {
            "href": f"{base}emner/{fs_encode_id(e.key)}",
            "institusjon": e.institusjon,
            "kode": e.kode,
            "versjon": e.versjon,
            "navn": _navn(e.name_nb, e.name_en),
            "studieniva": {"href": f"{base}studienivaer/{e.studieniva}"},
            "organisasjonsenheter": [
                {"href": orgs, "type": "STUDIE"},
                {"href": orgs, "type": "ADMINISTRATIVT"},
            ],
            "hovedoppgave": e.studieniva == "HOYERE" and e.name_nb.startswith("Master"),
        }

    def _unit_ref(self, u: Undervisning, base: str) -> dict[str, Any]:
        e = self.university.emne(u.emne)
        return {
            "href": f"{base}undervisning/{fs_encode_id(u.key)}",
            "emne": {
                "href": f"{base}emner/{fs_encode_id(e.key)}",
                "institusjon": e.institusjon,
                "kode": e.kode,
                "versjon": e.versjon,
            },
            "semester": {
                "href": f"{base}semestre/{fs_encode_id(f'{u.year},{u.term}')}",
                "ar": u.year,
                "termin": u.term,
            },
            "terminnummer": u.terminnummer,
        }

    def render_undervisning(self, u: Undervisning, base: str) -> dict[str, Any]:
        return {
            **self._unit_ref(u, base),
            "lukket": u.lukket,
            "lms": {"eksport": u.lms_eksport, "romMal": None, "lopenummer": None},
        }

    def render_aktivitet(self, a: Aktivitet, base: str) -> dict[str, Any]:
        unit = self.university.unit(a.undervisning)
        return {
            "href": f"{base}undervisningsaktiviteter/{fs_encode_id(a.key)}",
            "undervisning": self._unit_ref(unit, base),
            "aktivitet": a.aktivitet,
            "eier": {"href": f"{base}undervisningsaktiviteter/{fs_encode_id(f'{a.undervisning},{a.eier}')}"},
            "parti": a.parti,
            "form": a.form,
            "disiplin": a.disiplin,
            "navn": _navn(a.name),
            "nummer": a.parti,
            "publiseres": True,
            "lukket": a.lukket,
            "lms": {"eksport": a.lms_eksport, "romMal": a.rom_mal, "lopenummer": None},
        }

    def _flat_aktivitet(self, a: Aktivitet) -> Flat:
        return {
            **_unit_flat("undervisning.", self.university.unit(a.undervisning)),
            "aktivitet": a.aktivitet,
            "form": a.form,
            "lms.eksport": _text(a.lms_eksport),
        }

    def _narrow_undervisning(self, f: Mapping[str, str]) -> Iterable[str] | None:
        if all(k in f for k in ("emne.institusjon", "emne.kode", "emne.versjon")):
            emne = f"{f['emne.institusjon']},{f['emne.kode']},{f['emne.versjon']}"
            return [u.key for u in self.university.units_of_emne(emne)]
        return None

    # -- roles

    def render_personrolle(self, r: PersonRolle, base: str) -> dict[str, Any]:
        uni = self.university
        return {
            "href": f"{base}personroller/{r.key}",
            "person": {"href": f"{base}personer/{r.fs_lopenummer}", "personlopenummer": r.fs_lopenummer},
            "rollenummer": r.rollenummer,
            "rolle": {"href": f"{base}roller/{fs_encode_id(r.rolle)}"},
            "periode": {"fraDato": r.fra_dato.isoformat() if r.fra_dato else None},
            "undervisning": self._unit_ref(uni.unit(r.undervisning), base),
            "undervisningsaktivitet": (
                {"href": f"{base}undervisningsaktiviteter/{fs_encode_id(r.aktivitet)}"}
                if r.aktivitet
                else None
            ),
        }

    def _flat_personrolle(self, r: PersonRolle) -> Flat:
        unit = self.university.unit(r.undervisning)
        return {
            "person.personlopenummer": str(r.fs_lopenummer),
            "rollenummer": str(r.rollenummer),
            "rolle": r.rolle,
            "rolle.kode": r.rolle,
            "semester.ar": str(unit.year),
            "semester.termin": unit.term,
            **_unit_flat("undervisning.", unit),
            "undervisningsaktivitet.aktivitet": r.aktivitet.rsplit(",", 1)[1] if r.aktivitet else "",
        }

    def _narrow_personroller(self, f: Mapping[str, str]) -> Iterable[str] | None:
        uni = self.university
        if "person.personlopenummer" in f:
            try:
                return [r.key for r in uni.roles_of_person(int(f["person.personlopenummer"]))]
            except ValueError:
                return []
        return _by_unit(uni, f, "undervisning.", lambda k: [r.key for r in uni.roles_of_unit(k)])

    # -- participation

    def _get_studentundervisning(self, key: str) -> StudentUndervisning:
        lopenummer, _, unit_key = key.partition(",")
        if not self.university.is_participant(int(lopenummer), unit_key):
            raise UniversityError(key)
        return StudentUndervisning(int(lopenummer), unit_key)

    def render_studentundervisning(self, p: StudentUndervisning, base: str) -> dict[str, Any]:
        return {
            "href": f"{base}studentundervisning/{fs_encode_id(p.key)}",
            "person": {"href": f"{base}personer/{p.fs_lopenummer}", "personlopenummer": p.fs_lopenummer},
            "undervisning": self._unit_ref(self.university.unit(p.undervisning), base),
        }

    def _narrow_studentundervisning(self, f: Mapping[str, str]) -> Iterable[str] | None:
        uni = self.university
        if "person.personlopenummer" in f:
            try:
                lopenummer = int(f["person.personlopenummer"])
            except ValueError:
                return []
            return [f"{lopenummer},{k}" for k in uni.units_of_student(lopenummer)]
        return _by_unit(uni, f, "undervisning.", lambda k: [f"{n},{k}" for n in uni.participants(k)])

    def _get_studentaktivitet(self, key: str) -> StudentAktivitet:
        lopenummer, _, activity_key = key.partition(",")
        if not self.university.is_activity_participant(int(lopenummer), activity_key):
            raise UniversityError(key)
        return StudentAktivitet(int(lopenummer), activity_key)

    def render_studentaktivitet(self, p: StudentAktivitet, base: str) -> dict[str, Any]:
        a = self.university.activity(p.aktivitet)
        return {
            "href": f"{base}studentundervisningsaktiviteter/{fs_encode_id(p.key)}",
            "person": {"href": f"{base}personer/{p.fs_lopenummer}", "personlopenummer": p.fs_lopenummer},
            "undervisningsaktivitet": {
                "href": f"{base}undervisningsaktiviteter/{fs_encode_id(a.key)}",
                "undervisning": self._unit_ref(self.university.unit(a.undervisning), base),
                "aktivitet": a.aktivitet,
            },
            "parti": a.parti,
            "form": a.form,
            "disiplin": a.disiplin,
        }

    def _flat_studentaktivitet(self, p: StudentAktivitet) -> Flat:
        a = self.university.activity(p.aktivitet)
        return {
            "person.personlopenummer": str(p.fs_lopenummer),
            **_unit_flat("undervisningsaktivitet.undervisning.", self.university.unit(a.undervisning)),
            "undervisningsaktivitet.aktivitet": a.aktivitet,
        }

    def _narrow_studentaktivitet(self, f: Mapping[str, str]) -> Iterable[str] | None:
        uni = self.university
        if "person.personlopenummer" in f:
            try:
                lopenummer = int(f["person.personlopenummer"])
            except ValueError:
                return []
            return [f"{lopenummer},{k}" for k in uni.activities_of_student(lopenummer)]
        code = f.get("undervisningsaktivitet.aktivitet")

        def of_unit(unit_key: str) -> list[str]:
            activities = [f"{unit_key},{code}"] if code else [a.key for a in uni.activities_of(unit_key)]
            return [f"{n},{a}" for a in activities for n in uni.activity_participants(a)]

        return _by_unit(uni, f, "undervisningsaktivitet.undervisning.", of_unit)

    # -- org units

    def render_orgenhet(self, o: OrgUnit, base: str) -> dict[str, Any]:
        parent = self.university.parent_of(o.location_id)
        level = 1 if parent is None else 2 if o.institutt == 0 else 3 if o.gruppe == 0 else 4
        return {
            "href": f"{base}organisasjonsenheter/{o.fs_key}",
            "institusjon": INSTITUTION,
            "fakultet": o.fakultet,
            "institutt": o.institutt,
            "gruppe": o.gruppe,
            "navn": _navn(o.name_nb, o.name_en),
            "akronym": o.acronym,
            "aktiv": True,
            "organisasjonsnivakode": level,
            "organisasjonsenheter": (
                [{"href": f"{base}organisasjonsenheter/{parent.fs_key}", "type": "OVERORDNET"}]
                if parent
                else []
            ),
            "periode": {"type": "AKTIV", "fraDato": "2000-01-01"},
            "lms": {"eksport": o.lms_eksport},
        }


def _flat_emne(e: Emne) -> Flat:
    return {"institusjon": str(e.institusjon), "kode": e.kode, "versjon": e.versjon}


def _unit_flat(prefix: str, u: Undervisning) -> Flat:
    institusjon, kode, versjon = u.emne.split(",")
    return {
        f"{prefix}emne.institusjon": institusjon,
        f"{prefix}emne.kode": kode,
        f"{prefix}emne.versjon": versjon,
        f"{prefix}semester.ar": str(u.year),
        f"{prefix}semester.termin": u.term,
        f"{prefix}terminnummer": str(u.terminnummer),
    }


_UNIT_PARTS = (
    "emne.institusjon",
    "emne.kode",
    "emne.versjon",
    "semester.ar",
    "semester.termin",
    "terminnummer",
)


def _by_unit(
    uni: University, f: Mapping[str, str], prefix: str, keys_of_unit: Callable[[str], list[str]]
) -> Iterable[str] | None:
    """Keys through the unit index when the filters name one undervisning exactly, or
    through the units of the emner with the filtered ``emne.kode``; ``None`` otherwise
    (the caller then scans everything). Other filters are applied by the caller."""
    if all(prefix + part in f for part in _UNIT_PARTS):
        unit_key = ",".join(f[prefix + part] for part in _UNIT_PARTS)
        return keys_of_unit(unit_key) if unit_key in uni.undervisning else []
    kode = f.get(prefix + "emne.kode")
    if kode is None:
        return None
    emner = [e.key for e in uni.emner.values() if e.kode == kode]
    return [k for emne in emner for unit in uni.units_of_emne(emne) for k in keys_of_unit(unit.key)]


def _get_rolle(code: str) -> str:
    if code not in TEACHER_ROLES:
        raise UniversityError(code)
    return code


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
