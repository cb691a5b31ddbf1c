"""The full resync: initial load, no-op, drift repair, safety stop, and bulk = REST."""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from canvasbridge.clients.cerebrum import Account
from canvasbridge.clients.fs import FsClient, UndervisningId
from canvasbridge.provisioning import resync as resync_module
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.canvas_state import read_snapshot
from canvasbridge.provisioning.model import Snapshot
from canvasbridge.provisioning.plan import Ownership, SafetyStop, plan_snapshot
from canvasbridge.provisioning.reads import FsData, ListedCerebrum, read_fs, read_persons
from canvasbridge.provisioning.resync import Sources, desired_courses, desired_users, resync


def sources(stack) -> Sources:
    ctx = stack.ctx()
    return Sources(runtime.canvas(ctx), runtime.fs(ctx), runtime.cerebrum(ctx), runtime.sap(ctx))


def run(stack, *kinds, **options):
    ctx = stack.ctx()
    return resync(sources(stack), runtime.settings(ctx), kinds or ("all",), **options)


def canvas_state(model) -> dict[str, set]:
    """Everything that matters in the Canvas emulator, by SIS id."""
    accounts = {a.id: a for a in model.accounts()}
    terms = {t.id: t.sis_term_id for t in model.terms()}
    sis_of = {a.id: a.sis_account_id for a in accounts.values()}
    out: dict[str, set] = {
        "accounts": {
            (a.sis_account_id, sis_of.get(a.parent_account_id), a.name)
            for a in accounts.values()
            if a.sis_account_id
        },
        "users": set(),
        "courses": set(),
        "sections": set(),
        "enrollments": set(),
    }
    for user in model.users():
        login = model.primary_login(user.id)
        out["users"].add(
            (login.sis_user_id, login.unique_id, user.name, user.email, model.is_suspended(user.id))
        )
    for course in model.courses(None):
        if course.workflow_state == "deleted":
            continue
        out["courses"].add(
            (
                course.sis_course_id,
                course.name,
                course.course_code,
                sis_of.get(course.account_id),
                terms.get(course.enrollment_term_id),
            )
        )
        for section in model.sections(course.id):
            out["sections"].add((section.sis_section_id, course.sis_course_id, section.name))
    sections = {s.id: s.sis_section_id for s in model.sections(None)}
    for e in model.enrollments(states=None):
        login = model.primary_login(e.user_id)
        state = "live" if e.workflow_state in ("active", "invited") else e.workflow_state
        out["enrollments"].add(
            (login.sis_user_id if login else None, sections.get(e.course_section_id), e.type, state)
        )
    return out


def test_initial_resync_builds_everything_and_a_second_one_writes_nothing(stack):
    first = run(stack, path="rest")
    assert first.ok, [f.describe() for f in first.failures] + first.errors
    summary = first.plan.summary()
    assert summary["enrollment"]["create"] > 50 and summary["course"]["create"] == 3
    m = stack.canvas.model
    assert m.find_course_by_sis("UE_185_INF1001_1_2026_HØST") is not None
    assert m.find_user_by_sis("emila2") is None  # a secondary account
    assert m.is_suspended(m.find_user_by_sis("thomr").id)  # quarantined
    stack.clear_stats()
    second = run(stack)
    assert second.plan.writes() == 0 and second.path == "nothing"
    stats = stack.canvas.control.stats()
    assert stack.writes() == stack.canvas.control.count("POST", "reports") == 1, stats  # only the report


def test_dry_run_plans_and_writes_nothing(stack):
    result = run(stack, "courses", dry_run=True)
    assert result.path == "dry-run" and result.plan.summary()["course"]["create"] == 3
    assert stack.canvas.control.count("POST", "courses") == 0


def test_resync_repairs_drift_and_leaves_unmanaged_objects_alone(stack):
    assert run(stack, path="rest").ok
    m = stack.canvas.model
    course = m.find_course_by_sis("UE_185_MAT1001_1_2027_VÅR")
    m.update_course(course.id, name="Renamed by hand")
    gone = m.find_section_by_sis("UA_185_MAT1001_1_2027_VÅR_2-2")
    for e in m.enrollments(section_id=gone.id):
        m.end_enrollment(e.id, task="delete")
    m.delete_section(gone.id)
    main = m.find_section_by_sis("UE_185_MAT1001_1_2027_VÅR")
    missing = m.enrollments(section_id=main.id, types=["StudentEnrollment"])[0]
    m.end_enrollment(missing.id, task="delete")
    intruder = m.find_user_by_sis("annap")
    extra = m.enroll(intruder.id, section_id=main.id, type="StudentEnrollment", state="active")
    manual = m.add_course("Teachers' lounge", course_code="LOUNGE", account_id=1, sis_course_id="MANUAL-1")
    lounge = m.enroll(intruder.id, course_id=manual.id, type="StudentEnrollment", state="active")
    expected = None

    result = run(stack, path="rest")
    assert result.ok, [f.describe() for f in result.failures]
    assert m.get_course(course.id).name.startswith("MAT1001 - ")
    assert m.find_section_by_sis("UA_185_MAT1001_1_2027_VÅR_2-2") is not None
    assert m.get_enrollment(extra.id).workflow_state == "completed"  # concluded, not deleted
    user = m.get_user(missing.user_id)
    assert any(e.workflow_state == "active" for e in m.enrollments(section_id=main.id, user_id=user.id))
    assert (
        m.get_course(manual.id).name == "Teachers' lounge"
        and m.get_enrollment(lounge.id).workflow_state == "active"
    )
    assert expected is None
    assert run(stack, dry_run=True).plan.writes() == 0


def test_a_resync_that_would_end_too_much_stops_unless_forced(stack):
    assert run(stack, path="rest").ok
    stack.configure(safety={"max_destructive": 2, "max_destructive_share": 0.05})
    uni = stack.university
    for unit in list(uni.undervisning):
        for n in uni.participants(unit):
            uni.remove_participation(n, unit)
    with pytest.raises(SafetyStop, match="enrollment"):
        run(stack, "enrollments")
    assert stack.canvas.control.count("DELETE") == 0
    forced = run(stack, "enrollments", force=True, path="rest")
    assert forced.ok and forced.plan.summary()["enrollment"]["conclude"] > 2


@pytest.mark.slow
def test_the_bulk_path_reaches_the_same_state_as_the_rest_path(stack):
    rest = run(stack, path="rest")
    assert rest.ok
    by_rest = canvas_state(stack.canvas.model)
    stack.canvas.control.reset()  # back to an empty Canvas
    stack.configure()
    stack.clear_stats()
    bulk = run(stack, path="bulk")
    assert bulk.path == "bulk" and bulk.ok, [f.describe() for f in bulk.failures]
    assert stack.calls() <= 10
    by_bulk = canvas_state(stack.canvas.model)
    for kind in by_rest:
        assert by_bulk[kind] == by_rest[kind], kind
    assert run(stack, dry_run=True).plan.writes() == 0


def live_state(model) -> dict[str, set]:
    state = canvas_state(model)
    state["enrollments"] = {e for e in state["enrollments"] if e[3] == "live"}
    return state


DRIFTS = (
    "delete_section",
    "rename_course",
    "rename_section",
    "extra_enrollment",
    "delete_enrollment",
    "conclude_enrollment",
    "suspend_user",
    "rename_user",
    "move_course",
)


def drift(m, rng, kind: str) -> None:
    courses = sorted(
        (c for c in m.courses(None) if (c.sis_course_id or "").startswith("U")), key=lambda c: c.id
    )
    course = rng.choice(courses)
    sections = [s for s in m.sections(course.id) if s.sis_section_id]
    if not sections:
        return
    section = rng.choice(sections)
    users = sorted(
        (u for u in m.users() if m.primary_login(u.id).sis_user_id and not m.is_suspended(u.id)),
        key=lambda u: u.id,
    )
    enrollments = [e for e in m.enrollments(section_id=section.id) if e.workflow_state == "active"]
    if kind == "delete_section":
        for e in m.enrollments(section_id=section.id, states=None):
            m.end_enrollment(e.id, task="delete")
        m.delete_section(section.id)
    elif kind == "rename_course":
        m.update_course(course.id, name=f"Drifted {rng.random():.3f}")
    elif kind == "rename_section":
        m.update_section(section.id, name="Drifted section")
    elif kind == "extra_enrollment":
        enrolled = {e.user_id for e in m.enrollments(section_id=section.id, states=None)}
        candidates = [u for u in users if u.id not in enrolled]
        if candidates:
            m.enroll(
                rng.choice(candidates).id, section_id=section.id, type="StudentEnrollment", state="active"
            )
    elif kind == "delete_enrollment" and enrollments:
        m.end_enrollment(rng.choice(enrollments).id, task="delete")
    elif kind == "conclude_enrollment" and enrollments:
        m.end_enrollment(rng.choice(enrollments).id, task="conclude")
    elif kind == "suspend_user":
        m.suspend_user(rng.choice(users).id)
    elif kind == "rename_user":
        m.update_user(rng.choice(users).id, name="Drifted Name")
    elif kind == "move_course":
        m.update_course(course.id, account_id=1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_after_random_drift_a_resync_restores_the_intended_state(stack, seed):
    import random

    assert run(stack, path="rest").ok
    m = stack.canvas.model
    intended = live_state(m)
    manual = m.add_course("Unmanaged", course_code="UNM", account_id=1, sis_course_id="MANUAL-9")
    stranger = m.add_user("Stranger", unique_id="stranger")  # no SIS id
    unmanaged = m.enroll(stranger.id, course_id=manual.id, type="StudentEnrollment", state="active")
    rng = random.Random(seed)
    applied = [rng.choice(DRIFTS) for _ in range(12)]
    for kind in applied:
        drift(m, rng, kind)
    result = run(stack, path=rng.choice(["rest", "bulk"]))
    assert result.ok, (applied, [f.describe() for f in result.failures])
    repaired = live_state(m)
    repaired["courses"] = {c for c in repaired["courses"] if c[0] != "MANUAL-9"}
    repaired["sections"] = {c for c in repaired["sections"] if c[1] != "MANUAL-9"}
    repaired["users"] = {u for u in repaired["users"] if u[1] != "stranger"}
    repaired["enrollments"] = {e for e in repaired["enrollments"] if e[0] is not None}
    for kind in intended:
        assert repaired[kind] == intended[kind], (kind, applied)
    assert (
        m.get_course(manual.id).name == "Unmanaged"
        and m.get_enrollment(unmanaged.id).workflow_state == "active"
    )


def test_users_are_decided_from_one_account_listing_plus_three_reads_per_person(stack):
    src = sources(stack)
    result = resync(src, runtime.settings(stack.ctx()), ("users",), dry_run=True)
    assert result.ok, result.errors
    calls = {
        k.split(" ", 2)[-1]: v.calls
        for k, v in src.cerebrum.stats.by_endpoint.items()
        if k.startswith("cerebrum ")
    }
    uni = stack.university
    fs_usernames = {p.primary_account for p in uni.persons.values() if p.fs_lopenummer and p.primary_account}
    assert calls.pop("accounts/") == 1  # every account and its owner's id, in one call
    # Cerebrum's list items carry no e-mail, activity, primary flag or quarantines: the primary
    # account, the person's accounts and the quarantines are read once each per person
    assert calls.pop("accounts/{name}") == len(fs_usernames)
    assert calls.pop("persons/{id}/accounts") == len(fs_usernames)
    assert calls.pop("accounts/{name}/quarantines") == result.desired["users"] == len(fs_usernames)
    assert calls == {}


def test_users_from_the_account_listing_plan_as_users_read_one_by_one(stack):
    """The listing answers what ``/accounts/<name>`` would: on a university with secondary
    (non-primary) and quarantined accounts, and after Cerebrum changed behind the last resync,
    the users decided and the plan are the same either way."""
    uni = stack.university
    assert any(len(p.account_names) > 1 for p in uni.persons.values())
    assert any(p.primary_account and uni.is_locked(p.primary_account) for p in uni.persons.values())
    assert run(stack, force=True).ok
    # after the resync: one account quarantined, one released, one person's primary account moved
    people = [p for p in uni.persons.values() if p.fs_lopenummer and p.primary_account]
    free = next(p for p in people if not uni.is_locked(p.primary_account))
    locked = next(p for p in people if uni.is_locked(p.primary_account))
    uni.quarantine_account(free.primary_account)
    uni.release_account(locked.primary_account)
    moved = next(p for p in people if len(p.account_names) > 1 and p not in (free, locked))
    uni.set_primary_account(
        moved.person_id, next(n for n in moved.account_names if n != moved.primary_account)
    )

    src = sources(stack)
    settings = runtime.settings(stack.ctx())
    current, _ = read_snapshot(src.canvas, settings.root_account, poll_s=0.05)
    candidates = sorted(uni.accounts)  # primary, secondary and accounts of no person alike
    decided = []
    for reads in (ListedCerebrum(src.cerebrum, src.cerebrum.accounts()), src.cerebrum):
        snap, errors = Snapshot(), []
        with ThreadPoolExecutor(4) as pool:
            retire = desired_users(reads, settings, candidates, snap, errors, pool)
        assert errors == []
        plan = plan_snapshot(snap, current, Ownership(settings), ("users",))
        decided.append((snap.users, retire, sorted(map(repr, plan.operations))))
    assert decided[0] == decided[1]
    users, retire, operations = decided[0]
    assert len(operations) >= 3  # the changes above are planned, not lost on either path
    assert users[free.primary_account].suspended and not users[locked.primary_account].suspended


def test_a_listed_account_without_e_mail_or_activity_is_read_on_its_own():
    """Cerebrum's own list items carry name, id, owner, expire_date and np_type only: what the
    decision needs beyond them comes from /accounts/<name>, never from defaults."""

    class Client:
        asked: list[str] = []

        def account(self, name):
            self.asked.append(name)
            return Account(id=2, name=name, primary_email=f"{name}@uio.no", active=False)

    listing = [
        Account.model_validate({"id": 1, "name": "full", "primary_email": "full@uio.no", "active": True}),
        Account.model_validate({"id": 2, "name": "bare", "owner": {"id": 7, "type": "person"}}),
    ]
    view = ListedCerebrum(Client(), listing)
    assert view.account("full").primary_email == "full@uio.no"
    bare = view.account("bare")
    assert (bare.primary_email, bare.active) == ("bare@uio.no", False)
    assert Client.asked == ["bare"]


def test_canvas_and_the_sources_are_read_at_the_same_time(stack, monkeypatch):
    """Canvas's provisioning report can take minutes: FS is read meanwhile, not after it."""
    src = sources(stack)
    fs_reading = threading.Event()
    personer = src.fs.personer

    def reading_personer(*args, **kwargs):
        fs_reading.set()
        return personer(*args, **kwargs)

    monkeypatch.setattr(src.fs, "personer", reading_personer)
    seen_during_canvas_read = []

    def slow_canvas_read(*args, **kwargs):
        seen_during_canvas_read.append(fs_reading.wait(timeout=10))
        return read_snapshot(*args, **kwargs)

    monkeypatch.setattr(resync_module, "read_snapshot", slow_canvas_read)
    result = resync(src, runtime.settings(stack.ctx()), ("all",), dry_run=True)
    assert result.ok, result.errors
    assert seen_during_canvas_read == [True]
    assert result.desired["users"] > 0 and result.desired["enrollments"] > 0


def whole_items(fs: FsClient) -> FsData:
    """FS read as whole items (``fields=*``) into the full models, participation too."""
    data = FsData(
        persons=[(p.personlopenummer, p.brukernavn) for p in fs.personer(fields="*")],
        emner=list(fs.emner(fields="*")),
        units=list(fs.undervisninger(fields="*")),
    )
    activities, unit_students, activity_students, roles = (defaultdict(list) for _ in range(4))
    for a in fs.undervisningsaktiviteter(fields="*"):
        activities[a.id.undervisning.display].append(a)
    for s in fs.studentundervisning(fields="*"):
        if s.person.personlopenummer is not None:
            unit_students[s.undervisning_id.display].append(s.person.personlopenummer)
    for sa in fs.studentundervisningsaktiviteter(fields="*"):
        if sa.person.personlopenummer is not None:
            activity_students[sa.aktivitet_id.display].append(sa.person.personlopenummer)
    for r in fs.personroller(fields="*"):
        if r.undervisning is not None:
            roles[UndervisningId.parse(r.undervisning.href).display].append(r)
    data.activities, data.unit_students, data.activity_students = activities, unit_students, activity_students
    data.roles_by_unit = roles
    return data


def test_the_resync_readers_decide_what_whole_items_and_full_models_decide(stack):
    """The readers ask FS only for the fields they use and read participation without the
    models: the courses, sections and enrollments decided are the same."""
    src = sources(stack)
    settings = runtime.settings(stack.ctx())
    with ThreadPoolExecutor(2) as pool:
        persons: Future[list] = Future()
        persons.set_result(read_persons(src.fs, pool))
        lean = read_fs(src.fs, pool, persons, with_enrollments=True)
    full = whole_items(src.fs)
    assert lean.persons == full.persons
    assert (lean.unit_students, lean.activity_students) == (full.unit_students, full.activity_students)
    decided = []
    for data in (lean, full):
        snap = Snapshot()
        decisions = desired_courses(src.fs, settings, data, snap, with_enrollments=True)
        decided.append((snap, [(d.fs_id, d.members, d.outcome) for d in decisions]))
    assert decided[0] == decided[1]
    snap = decided[0][0]
    assert len(snap.courses) == 3 and len(snap.enrollments) > 50
    assert {e.type for e in snap.enrollments.values()} > {"student"}  # staff roles decided too
