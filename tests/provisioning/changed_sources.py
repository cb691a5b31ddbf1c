"""Canvas provisioned from the tiny university, then three changes in the emulated sources.

A person renamed in Cerebrum, an account quarantined, and a student leaving a one-term unit
in FS: a plan then holds one update, one suspension and two conclusions.
"""

from __future__ import annotations

from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.resync import resync, sources_for

RENAMED, QUARANTINED, LEAVING = "sindr", "annap", "krisd"
LEFT_UNIT = "185,MAT1001,1,2027,VÅR,1"  # one term: leaving it ends the unit's and an activity's section
LEFT_SECTIONS = ("UE_185_MAT1001_1_2027_VÅR", "UA_185_MAT1001_1_2027_VÅR_2-2")


def person(university, username):
    return next(p for p in university.persons.values() if p.primary_account == username)


def provision_then_change(stack) -> tuple[str, str]:
    """Returns the renamed person's name before and after."""
    ctx = stack.ctx()
    assert resync(sources_for(ctx), runtime.settings(ctx), ["all"], path="rest").ok
    u = stack.university
    renamed = person(u, RENAMED)
    old = f"{renamed.first_name} {renamed.last_name}"
    stack.cerebrum.person_modify(person_id=renamed.person_id, first_name="Kari Anne")
    stack.cerebrum.account_quarantine(name=QUARANTINED)
    stack.fs.participation_remove(lopenummer=person(u, LEAVING).fs_lopenummer, unit=LEFT_UNIT)
    stack.clear_stats()
    return old, f"Kari Anne {renamed.last_name}"
