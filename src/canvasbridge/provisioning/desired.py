"""What Canvas *should* hold, read fresh from Cerebrum, SAP and FS.

One function per kind of object, each reading the source through its client and applying
the rules (:mod:`.rules`) and templates (:mod:`.naming`):

* :func:`decide_user` - a person's primary account → the Canvas user (or none), plus the
  SIS ids of the person's other accounts, which must not stay active in Canvas.
* :func:`decide_accounts` - an SAP org unit and its ancestors → sub-accounts.
* :func:`decide_course` - an FS teaching unit or activity → course and section(s).
* :func:`decide_section_enrollments` - FS participation and roles → enrollments of a section.

Multi-term units: a unit in term *n* (``terminnummer``) belongs to the course of its first
term, found by stepping back *n-1* terms (:func:`.rules.step_back`); names and SIS ids are
rendered with the first term's year and term, so all terms share one course and section.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from canvasbridge.clients.cerebrum import Account, AccountRef, CerebrumPerson, Quarantines
from canvasbridge.clients.fs.client import FsClient
from canvasbridge.clients.fs.identifiers import (
    AktivitetId,
    OrgenhetId,
    UndervisningId,
    aktivitet_id,
    undervisning_id,
)
from canvasbridge.clients.fs.models import Emne, Personrolle, Undervisning, Undervisningsaktivitet, pick_name
from canvasbridge.clients.sap import SapClient, location_id_of
from canvasbridge.errors import NotFoundError, PermanentError
from canvasbridge.provisioning.model import (
    AccountState,
    CourseState,
    EnrollmentState,
    SectionState,
    UserState,
)
from canvasbridge.provisioning.naming import Template
from canvasbridge.provisioning.rules import Placement, StructureRule, step_back, structure
from canvasbridge.provisioning.settings import ProvisioningSettings

#: asks FS collections for whole items (``fields=*``), so a listing costs one call per page
#: instead of one per item (the FS-API's ``fields`` parameter; ``*`` as the emulator takes it)
FIELDS = "*"

# ---------------------------------------------------------------------------- users


class CerebrumReads(Protocol):
    """The Cerebrum reads :func:`decide_user` makes: a :class:`~canvasbridge.clients.cerebrum.CerebrumClient`,
    or a view that answers some of them from a listing (:class:`.reads.ListedCerebrum`)."""

    def account(self, name: str) -> Account: ...

    def person_accounts(self, person_id: int) -> list[AccountRef]: ...

    def quarantines(self, name: str, *, context: str | None = None) -> Quarantines: ...

    def person(self, person_id: int) -> CerebrumPerson: ...


@dataclass
class UserDecision:
    """The Canvas user a person should have, and the other accounts' users to retire."""

    person_id: int | None
    username: str | None
    desired: UserState | None
    retire: list[str] = field(default_factory=list)
    excluded: bool = False
    reason: str = ""


def user_values(username: str, person_id: int | None) -> dict[str, Any]:
    return {"username": username, "person_id": person_id}


def render_user_ids(
    settings: ProvisioningSettings, username: str, person_id: int | None
) -> dict[str, str | None]:
    values = user_values(username, person_id)
    users = settings.users
    return {
        "sis_user_id": Template(users.sis_user_id, "user").render(values),
        "login_id": Template(users.login_id, "user").render(values),
        "integration_id": None
        if users.integration_id is None
        else Template(users.integration_id, "user").render(values),
    }


def decide_user(
    cerebrum: CerebrumReads,
    settings: ProvisioningSettings,
    *,
    username: str | None = None,
    person_id: int | str | None = None,
) -> UserDecision:
    """Read the person behind ``username`` or ``person_id`` and decide their Canvas user."""
    excluded = set(settings.users.exclude)
    if username is not None and username in excluded:
        return UserDecision(None, username, None, excluded=True, reason="excluded by configuration")
    pid: int | None = int(person_id) if person_id is not None else None
    first_account = None
    if pid is None:
        assert username is not None
        try:
            account = first_account = cerebrum.account(username)
        except NotFoundError:
            ids = render_user_ids(settings, username, None)
            return UserDecision(
                None, username, None, retire=[ids["sis_user_id"] or username], reason="account gone"
            )
        if account.owner is None or (account.owner.type or "person").lower() != "person":
            return UserDecision(
                None, username, None, reason="account not owned by a person; not a Canvas user"
            )
        pid = account.owner.id
    if str(pid) in excluded:
        return UserDecision(pid, username, None, excluded=True, reason="excluded by configuration")
    refs = cerebrum.person_accounts(pid)
    primary = next((r for r in refs if r.primary), None)
    retire = [
        render_user_ids(settings, r.name, pid)["sis_user_id"] or r.name for r in refs if r is not primary
    ]
    if username is not None and all(r.name != username for r in refs):
        retire.append(render_user_ids(settings, username, pid)["sis_user_id"] or username)
    if primary is None:
        return UserDecision(pid, username, None, retire=retire, reason="person has no primary account")
    if primary.name in excluded:
        return UserDecision(pid, primary.name, None, excluded=True, reason="excluded by configuration")
    account = (
        first_account
        if first_account is not None and first_account.name == primary.name
        else cerebrum.account(primary.name)
    )
    locked = cerebrum.quarantines(primary.name).locked
    first = last = None
    full = account.owner.name if account.owner is not None and account.owner.id == pid else None
    if not full:  # the account's owner carries the person's name; else ask for the person
        person = cerebrum.person(pid)
        first, last = person.name("FIRST"), person.name("LAST")
        full = person.name("FULL") or " ".join(p for p in (first, last) if p) or primary.name
    ids = render_user_ids(settings, primary.name, pid)
    desired = UserState(
        sis_user_id=ids["sis_user_id"] or primary.name,
        login_id=ids["login_id"] or primary.name,
        name=full,
        email=account.primary_email if settings.users.sync_email else None,
        integration_id=ids["integration_id"],
        suspended=locked or not account.active,
        sortable_name=f"{last}, {first}" if first and last else None,
    )
    return UserDecision(pid, primary.name, desired, retire=retire, reason="primary account")


# ---------------------------------------------------------------------------- accounts

#: Field names tried, in order, in an SAP location object (SAP's names are not verified).
LOCATION_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("code", "stedkode", "locationCode", "orgUnitCode"),
    "name": ("name", "nameNb", "name_nb", "shortName", "description"),
    "acronym": ("acronym", "shortName", "abbreviation"),
}


def location_values(location: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {"location_id": location_id_of(location)}
    for key, names in LOCATION_FIELDS.items():
        values[key] = next((location[n] for n in names if location.get(n) not in (None, "")), None)
        if isinstance(values[key], dict):  # {"nb": …, "en": …}
            values[key] = (
                values[key].get("nb") or values[key].get("en") or next(iter(values[key].values()), None)
            )
    return values


def decide_accounts(
    sap: SapClient, settings: ProvisioningSettings, location_id: int | str
) -> list[AccountState]:
    """The sub-accounts for an org unit and all its ancestors, root side first."""
    chain = list(reversed(sap.path_to_root(location_id)))
    return accounts_from_chain([location_values(loc) for loc in chain], settings)


def accounts_from_chain(chain: list[dict[str, Any]], settings: ProvisioningSettings) -> list[AccountState]:
    """Sub-accounts for a root-first list of location values; the configured root is skipped."""
    accounts_cfg = settings.accounts
    sis_t = Template(accounts_cfg.sis_account_id, "account_sis")
    name_t = Template(accounts_cfg.name, "account")
    result: list[AccountState] = []
    parent: str | None = None
    for values in chain:
        if (
            accounts_cfg.root_location is not None
            and str(values["location_id"]) == accounts_cfg.root_location
        ):
            parent = None
            result.clear()
            continue
        if values.get("code") is None:
            raise PermanentError(f"SAP location {values['location_id']} has no code (stedkode) field")
        sis = sis_t.render(values)
        result.append(AccountState(sis, name_t.render(values) or sis, parent))
        parent = sis
    return result


# ---------------------------------------------------------------------------- courses


@dataclass
class CourseDecision:
    """Where an FS unit or activity lives in Canvas (``course``/``section`` are None on SKIP)."""

    fs_id: str
    kind: str  # "unit" or "activity"
    rule: StructureRule
    course: CourseState | None = None
    section: SectionState | None = None
    #: the FS objects whose participants belong in ``section`` (all terms of a multi-term unit)
    members: list[str] = field(default_factory=list)
    #: for a unit: its activities merged into its course as sections
    merged: list[CourseDecision] = field(default_factory=list)

    @property
    def outcome(self) -> Placement:
        return self.rule.outcome


def start_of(uid: UndervisningId) -> tuple[int, str, int]:
    """(year, term, terminnummer) of the first term of a (possibly multi-term) unit."""
    year, term = step_back(uid.ar, uid.termin, uid.terminnummer - 1)
    stepped = (year, term) != (uid.ar, uid.termin)
    return year, term, 1 if stepped else uid.terminnummer


def same_course(a: UndervisningId, b: UndervisningId) -> bool:
    """Whether two units are terms of one multi-term unit (same emne, same first term)."""
    return a.emne == b.emne and start_of(a)[:2] == start_of(b)[:2]


class FsView:
    """FS reads for planning, with small per-run caches (emner, units, org units)."""

    def __init__(self, fs: FsClient) -> None:
        self.fs = fs
        self._emner: dict[str, Emne] = {}
        self._siblings: dict[str, list[Undervisning]] = {}
        self._orgs: dict[str, str | None] = {}

    def emne(self, uid: UndervisningId) -> Emne:
        key = uid.emne.display
        if key not in self._emner:
            self._emner[key] = self.fs.emne(uid.emne)
        return self._emner[key]

    def terms(self, uid: UndervisningId) -> list[Undervisning]:
        """All terms of the multi-term unit ``uid`` belongs to, first term first."""
        emne_key = uid.emne.display
        if emne_key not in self._siblings:
            self._siblings[emne_key] = list(self.fs.undervisninger(uid.emne, fields=FIELDS))
        units = [u for u in self._siblings[emne_key] if same_course(u.id, uid)]
        return sorted(units, key=lambda u: u.terminnummer)

    def seed(self, emner: Iterable[Emne], units: Iterable[Undervisning]) -> None:
        """Pre-fill the caches (a full resync reads everything once)."""
        for e in emner:
            self._emner[e.id.display] = e
        for u in units:
            self._siblings.setdefault(u.id.emne.display, []).append(u)


def unit_values(uid: UndervisningId, emne: Emne | None, terms: list[Undervisning]) -> dict[str, Any]:
    year, term, number = start_of(uid)
    last = max((u.id for u in terms), key=lambda i: (i.ar, i.terminnummer), default=uid)
    names = emne.navn if emne is not None else []
    return {
        "institusjon": uid.emne.institusjon,
        "emnekode": uid.emne.kode,
        "versjon": uid.emne.versjon,
        "ar": year,
        "år": year,
        "termin": term,
        "terminnummer": number,
        "ar_slutt": last.ar,
        "termin_slutt": last.termin,
        "emnenavn": pick_name(names, "nb") or uid.emne.kode,
        "emnenavn_nb": pick_name(names, "nb", ("nb", "nn")) or "",
        "emnenavn_en": pick_name(names, "en", ("en",)) or "",
    }


def activity_values(
    base: dict[str, Any], activity: Undervisningsaktivitet | None, code: str
) -> dict[str, Any]:
    name_nb = activity.name("nb") if activity is not None else None
    name_en = activity.name("en") if activity is not None else None
    return {
        **base,
        "aktivitet": code,
        "aktivitetsnavn": name_nb or name_en or code,
        "aktivitetsnavn_nb": name_nb or "",
        "aktivitetsnavn_en": name_en or "",
    }


def account_of(emne: Emne | None, settings: ProvisioningSettings) -> str | None:
    """SIS id of the sub-account a course of ``emne`` goes in (the configured org unit type)."""
    courses = settings.courses
    if emne is not None:
        wanted = courses.org_unit_type.upper()
        links = sorted(emne.organisasjonsenheter, key=lambda link: (link.type or "").upper() != wanted)
        for link in links:
            try:
                org = OrgenhetId.parse(link.href)
            except PermanentError:
                continue
            return Template(settings.accounts.sis_account_id, "account_sis").render({"code": org.stedkode})
    return courses.default_account


def _term_sis(settings: ProvisioningSettings, values: dict[str, Any]) -> str | None:
    template = settings.courses.term_sis_id
    return None if template is None else Template(template, "term").render(values)


def _course(
    settings: ProvisioningSettings, values: dict[str, Any], emne: Emne | None, *, activity: bool
) -> CourseState:
    c = settings.courses
    scope = "activity" if activity else "unit"
    sis = c.activity_course_sis_id if activity else c.course_sis_id
    name = c.activity_course_name if activity else c.course_name
    code = c.activity_course_code if activity else c.course_code
    return CourseState(
        sis_course_id=Template(sis, scope).render(values),
        name=Template(name, scope).render(values),
        course_code=Template(code, scope).render(values),
        account_sis_id=account_of(emne, settings),
        term_sis_id=_term_sis(settings, values),
        workflow_state="available" if c.publish else "unpublished",
    )


def _section(
    settings: ProvisioningSettings, values: dict[str, Any], course_sis: str, *, activity: bool
) -> SectionState:
    c = settings.courses
    scope = "activity" if activity else "unit"
    sis = c.activity_section_sis_id if activity else c.unit_section_sis_id
    name = c.activity_section_name if activity else c.unit_section_name
    return SectionState(Template(sis, scope).render(values), course_sis, Template(name, scope).render(values))


def decide_unit(
    view: FsView,
    settings: ProvisioningSettings,
    uid: UndervisningId,
    *,
    with_activities: bool = True,
    unit: Undervisning | None = None,
    activities: list[Undervisningsaktivitet] | None = None,
    own_courses: list[CourseDecision] | None = None,
) -> CourseDecision:
    """A teaching unit → its (merged) course and main section, plus its merged activities.

    ``unit`` and ``activities`` may be given when already read (a full resync); activities
    that become their own course are appended to ``own_courses`` when it is given.
    """
    unit = unit if unit is not None else view.fs.undervisning(uid)
    rule = structure("unit", exported=unit.lms_export)
    decision = CourseDecision(uid.display, "unit", rule)
    emne = view.emne(uid)
    terms = view.terms(uid)
    values = unit_values(uid, emne, terms)
    if rule.outcome is not Placement.SKIP:
        decision.course = _course(settings, values, emne, activity=False)
        decision.section = _section(settings, values, decision.course.sis_course_id, activity=False)
        decision.members = [t.id.display for t in terms if t.lms_export] or [uid.display]
    if not with_activities:
        return decision
    if activities is None:
        activities = list(view.fs.undervisningsaktiviteter(uid, fields=FIELDS))
    for activity in activities:
        sub = _decide_activity(
            view,
            settings,
            activity,
            unit_exported=unit.lms_export,
            unit_values_=values,
            emne=emne,
            course=decision.course,
            terms=terms,
        )
        if sub.outcome is Placement.SECTION:
            decision.merged.append(sub)
        elif sub.outcome is Placement.COURSE and own_courses is not None:
            own_courses.append(sub)
    return decision


def decide_activity(view: FsView, settings: ProvisioningSettings, aid: AktivitetId) -> CourseDecision:
    """A teaching activity → its own course, a section of its unit's course, or nothing."""
    activity = view.fs.undervisningsaktivitet(aid)
    unit = view.fs.undervisning(aid.undervisning)
    emne = view.emne(aid.undervisning)
    terms = view.terms(aid.undervisning)
    values = unit_values(aid.undervisning, emne, terms)
    course = _course(settings, values, emne, activity=False) if unit.lms_export else None
    return _decide_activity(
        view,
        settings,
        activity,
        unit_exported=unit.lms_export,
        unit_values_=values,
        emne=emne,
        course=course,
        terms=terms,
    )


def _decide_activity(
    view: FsView,
    settings: ProvisioningSettings,
    activity: Undervisningsaktivitet,
    *,
    unit_exported: bool,
    unit_values_: dict[str, Any],
    emne: Emne | None,
    course: CourseState | None,
    terms: list[Undervisning],
) -> CourseDecision:
    aid = activity.id
    own = bool(activity.lms and activity.lms.rom_mal in settings.courses.own_course_values)
    rule = structure("activity", exported=activity.lms_export, own_course=own, unit_exported=unit_exported)
    decision = CourseDecision(aid.display, "activity", rule)
    values = activity_values(unit_values_, activity, aid.aktivitet)
    # the same activity code in every term of a multi-term unit shares one section
    decision.members = [AktivitetId(t.id, aid.aktivitet).display for t in terms] or [aid.display]
    if rule.outcome is Placement.COURSE:
        decision.course = _course(settings, values, emne, activity=True)
    elif rule.outcome is Placement.SECTION:
        decision.course = course
    if decision.course is not None:
        decision.section = _section(settings, values, decision.course.sis_course_id, activity=True)
    return decision


def decide_course(view: FsView, settings: ProvisioningSettings, fs_id: str) -> CourseDecision:
    """Dispatch on the id: 6 parts → unit, 7 parts → activity."""
    parts = fs_id.split(",")
    if len(parts) == 6:
        return decide_unit(view, settings, UndervisningId.parse(fs_id))
    if len(parts) == 7:
        return decide_activity(view, settings, AktivitetId.parse(fs_id))
    raise PermanentError(f"FS id {fs_id!r} has {len(parts)} parts; a unit has 6 and an activity 7")


# ---------------------------------------------------------------------------- enrollments


class PersonResolver:
    """FS personløpenummer → Canvas user SIS id (through FS ``brukernavn``), cached.

    The cache lives for ``ttl_s`` seconds per entry; a full resync pre-fills it from one
    listing of persons.
    """

    def __init__(self, fs: FsClient, settings: ProvisioningSettings, ttl_s: float = 3600.0) -> None:
        self.fs = fs
        self.settings = settings
        self.ttl_s = ttl_s
        self._cache: dict[int, tuple[float, str | None]] = {}
        self._usernames: dict[str, str] = {}  # user SIS id → username
        self._lock = threading.Lock()

    def seed(self, pairs: Iterable[tuple[int, str | None]]) -> None:
        now = time.monotonic()
        with self._lock:
            for number, username in pairs:
                self._cache[number] = (now, self._sis(username))

    def _sis(self, username: str | None) -> str | None:
        if not username:
            return None
        sis = render_user_ids(self.settings, username, None)["sis_user_id"]
        if sis:
            self._usernames[sis] = username
        return sis

    def username_of(self, sis_user_id: str) -> str | None:
        """The username a user SIS id was made from (for users this resolver has seen)."""
        return self._usernames.get(sis_user_id)

    def user_sis_ids(self, numbers: Sequence[int]) -> list[str | None]:
        """:meth:`user_sis_id` of each number; the cached ones looked up together (a full
        resync asks this of some 250,000 enrollments)."""
        now = time.monotonic()
        with self._lock:
            hits = [self._cache.get(n) for n in numbers]
        return [
            hit[1] if hit is not None and now - hit[0] < self.ttl_s else self.user_sis_id(number)
            for number, hit in zip(numbers, hits, strict=True)
        ]

    def user_sis_id(self, lopenummer: int) -> str | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(lopenummer)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        try:
            person = self.fs.person(lopenummer)
            sis = self._sis(person.brukernavn)
        except NotFoundError:
            sis = None
        with self._lock:
            self._cache[lopenummer] = (now, sis)
        return sis


@dataclass
class EnrollmentDecision:
    section: SectionState
    desired: dict[tuple[str, str, str], EnrollmentState]
    unresolved: list[int] = field(default_factory=list)  # FS persons with no username


def decide_section_enrollments(
    fs: FsClient,
    settings: ProvisioningSettings,
    decision: CourseDecision,
    resolver: PersonResolver,
    *,
    roles: list[Personrolle] | None = None,
    students: list[int] | None = None,
) -> EnrollmentDecision:
    """Who should be enrolled in ``decision.section``: students and mapped staff roles."""
    assert decision.section is not None and decision.course is not None
    section, course = decision.section, decision.course
    if students is None:
        students = []
        for member in decision.members:
            items: Iterable[Any] = (
                fs.studentundervisning(UndervisningId.parse(member), fields=FIELDS)
                if decision.kind == "unit"
                else fs.studentundervisningsaktiviteter(AktivitetId.parse(member), fields=FIELDS)
            )
            students.extend(p.person.personlopenummer for p in items if p.person.personlopenummer is not None)
    if roles is None:
        roles = []
        units = {
            AktivitetId.parse(m).undervisning if decision.kind == "activity" else UndervisningId.parse(m)
            for m in decision.members
        }
        for uid in sorted(units):
            roles.extend(fs.personroller(uid, fields=FIELDS))
    mapping = settings.roles.enrollments
    wanted_roles: list[tuple[int, str]] = []
    for role in roles:
        kind = mapping.get(role.rollekode or "")
        if kind is None or role.person.personlopenummer is None:
            continue
        if role_target(role, decision):
            wanted_roles.append((role.person.personlopenummer, kind))
    people = [*((number, "student") for number in dict.fromkeys(students)), *wanted_roles]
    wanted: dict[tuple[str, str, str], EnrollmentState] = {}
    unresolved: list[int] = []
    sis_ids = resolver.user_sis_ids([number for number, _kind in people])
    for (number, kind), sis in zip(people, sis_ids, strict=True):
        if sis is None:
            unresolved.append(number)
            continue
        e = EnrollmentState(sis, course.sis_course_id, section.sis_section_id, kind)
        wanted[e.key] = e
    return EnrollmentDecision(section, wanted, unresolved)


def role_target(role: Personrolle, decision: CourseDecision) -> bool:
    """Whether a role belongs in this decision's section: unit roles in the unit's section,
    activity roles in the activity's section."""
    if role.undervisningsaktivitet is not None:
        if decision.kind != "activity":
            return False
        try:
            target = aktivitet_id(role.undervisningsaktivitet.href).display
        except PermanentError:
            return False
        return target in decision.members
    if decision.kind != "unit" or role.undervisning is None:
        return False
    try:
        return undervisning_id(role.undervisning.href).display in decision.members
    except PermanentError:
        return False
