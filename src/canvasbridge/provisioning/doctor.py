"""What ``canvasbridge doctor`` checks for provisioning: the Canvas token administers the
root account the tasks write to, and FS, Cerebrum and SAP accept their credentials."""

from __future__ import annotations

from collections.abc import Mapping

from canvasbridge.clients import checks
from canvasbridge.clients.canvas import CanvasSettings
from canvasbridge.clients.cerebrum import CerebrumSettings
from canvasbridge.clients.fs import FsSettings
from canvasbridge.clients.sap import SapSettings
from canvasbridge.engine import DoctorCheck, DoctorInput
from canvasbridge.provisioning.settings import ProvisioningSettings


def doctor_checks(given: DoctorInput) -> Mapping[str, DoctorCheck]:
    settings = given.settings["provisioning"]
    assert isinstance(settings, ProvisioningSettings)
    names, timeout = settings.systems, given.timeout_s
    found: dict[str, DoctorCheck] = {}
    canvas = given.systems.get(names.canvas)
    if isinstance(canvas, CanvasSettings):
        found[names.canvas] = lambda: checks.canvas_admin(
            canvas,
            entry=names.canvas,
            timeout_s=timeout,
            account=settings.root_account,
            account_key="provisioning.root_account",
        )
    fs = given.systems.get(names.fs)
    if isinstance(fs, FsSettings):
        found[names.fs] = lambda: checks.fs_access(fs, entry=names.fs, timeout_s=timeout)
    cerebrum = given.systems.get(names.cerebrum)
    if isinstance(cerebrum, CerebrumSettings):
        found[names.cerebrum] = lambda: checks.cerebrum_access(
            cerebrum, entry=names.cerebrum, timeout_s=timeout
        )
    sap = given.systems.get(names.sap)
    if isinstance(sap, SapSettings):
        found[names.sap] = lambda: checks.sap_access(sap, entry=names.sap, timeout_s=timeout)
    return found
