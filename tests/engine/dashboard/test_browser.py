"""The dashboard in a real browser: Debian's chromium driven by Playwright.

An operator signs in, finds a dead letter, requeues it once the data is fixed, and
watches the new call succeed (a real Celery worker runs it). A read-only token sees no
requeue button and gets 403 when it posts anyway.

Screenshots go to ``$CANVASBRIDGE_SCREENSHOTS`` when set (docs/img for the operations
guide: ``CANVASBRIDGE_SCREENSHOTS=docs/img pytest tests/engine/dashboard/test_browser.py``).
Under ``CI=true`` a missing chromium or playwright fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from canvasbridge.engine import TaskCall
from canvasbridge.engine.api import create_api
from canvasbridge.engine.ledger import CallState
from tests.engine.api import seeding
from tests.engine.api.conftest import Api
from tests.engine.dashboard.conftest import OPERATE_TOKEN, READ_TOKEN
from tests.engine.helpers import wait_state

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package: apt-get install -y chromium
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
STEP_TIMEOUT_MS = 30_000
VIEWPORT = {"width": 1100, "height": 720}

pytestmark = pytest.mark.slow


def _missing(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _missing(f"playwright is not installed ({exc}): pip install -e '.[dev]'")
    if not CHROMIUM.exists():
        _missing(f"no browser at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def server(api: Api) -> Iterator[str]:
    from canvasbridge_emulators.common import ServerThread

    with ServerThread(create_api(api.runtime)) as running:
        yield running.url


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("CANVASBRIDGE_SCREENSHOTS") or tmp_path / "shots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _sign_in(page: Any, url: str, token: str) -> None:
    page.goto(url + "/")
    assert "/ui/login" in page.url  # a stranger is sent to the form
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    assert token not in page.url


def test_an_operator_requeues_a_dead_letter_and_sees_it_succeed(
    api: Api, browser: Any, server: str, shots: Path
) -> None:
    from playwright.sync_api import expect

    effects = api.tmp / "effects"
    ledger = api.runtime.ledger()
    ledger.park(
        seeding.message("uio", "m-parked", "no.uio.unknown"),
        reason="no route matched (routing key 'no.uio.unknown', attributes [])",
    )
    with api.runtime.in_process_worker():
        api.runtime.enqueue(
            [TaskCall("record", {"key": f"k{n}", "effects_dir": str(effects)}) for n in range(5)]
        )
        [dead] = api.runtime.enqueue(
            [TaskCall("mendable", {"key": "olan", "effects_dir": str(effects)})],
            origin=seeding.message("uio", "m-olan", "no.uio.person.olan"),
        )
        assert wait_state(ledger, dead.id, CallState.DEAD, CallState.SUCCEEDED) is CallState.DEAD

        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        _sign_in(page, server, OPERATE_TOKEN)
        expect(page.locator(".card.dead .count")).to_have_text("1")
        page.screenshot(path=str(shots / "dashboard-overview.png"))

        page.click(".card.dead")  # the dead letters, Sidekiq's "Dead" tab
        row = page.locator(f"#call-{dead.id}")
        expect(row).to_contain_text("missing its home account")
        page.screenshot(path=str(shots / "dashboard-dead.png"))
        row.locator("a", has_text=str(dead.id)).click()
        expect(page.locator(".story")).to_contain_text("m-olan")  # the call's whole story
        expect(page.locator("h1 .state")).to_have_text("dead")

        (effects / "olan.fixed").touch()  # the operator corrects the source data
        page.click("button:has-text('Requeue')")
        expect(page.locator(".notice")).to_contain_text("Requeued")
        expect(page.locator(".story")).to_contain_text(f"Requeued from #{dead.id}")
        expect(page.locator("h1 .state")).to_have_text("succeeded", timeout=STEP_TIMEOUT_MS)  # it refreshes
        new_id = int(re.search(r"/ui/calls/(\d+)", page.url).group(1))  # type: ignore[union-attr]
        page.screenshot(path=str(shots / "dashboard-call.png"))

        page.goto(f"{server}/ui/calls/{dead.id}")
        expect(page.locator("h1")).to_contain_text(f"requeued → #{new_id}")
        page.goto(f"{server}/ui/calls?state=dead")
        expect(page.locator(f"#call-{dead.id}")).to_have_count(0)  # no longer dead
        page.goto(f"{server}/ui/parked")
        expect(page.locator("table")).to_contain_text("no route matched")
        page.screenshot(path=str(shots / "dashboard-parked.png"))
        context.close()
    assert ledger.get(new_id).state is CallState.SUCCEEDED  # type: ignore[union-attr]
    assert ledger.get(dead.id).requeued_to == new_id  # type: ignore[union-attr]


def test_a_read_only_token_sees_no_requeue_button_and_gets_403_if_it_posts(
    api: Api, browser: Any, server: str
) -> None:
    from playwright.sync_api import expect

    ledger = api.runtime.ledger()
    dead = seeding.dead(ledger, "record", key="ro", effects_dir="x")
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    _sign_in(page, server, READ_TOKEN)
    page.goto(f"{server}/ui/calls?state=dead")
    expect(page.locator(f"#call-{dead}")).to_be_visible()
    expect(page.locator("button", has_text="Requeue")).to_have_count(0)
    page.goto(f"{server}/ui/calls/{dead}")
    expect(page.locator("button", has_text="Requeue")).to_have_count(0)
    expect(page.locator("button", has_text="Discard")).to_have_count(0)
    csrf = page.locator("form.who input[name=csrf]").get_attribute("value")  # a valid token of this session
    refused = context.request.post(f"{server}/ui/calls/{dead}/requeue", form={"csrf": csrf}, max_redirects=0)
    assert refused.status == 403
    assert ledger.get(dead).state is CallState.DEAD  # type: ignore[union-attr]
    context.close()
