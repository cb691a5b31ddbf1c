"""A Canvas emulator on a loopback port, shared by a test module and reset before each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from canvasapi import Canvas

from canvasbridge_emulators.canvas import DEFAULT_TOKEN, CanvasEmulator, CanvasModel, create_app
from canvasbridge_emulators.common import ServerThread

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """canvasapi warns about http:// URLs; the emulator only listens on loopback http."""
    for item in items:
        if Path(str(item.fspath)).parent == HERE:
            item.add_marker(pytest.mark.filterwarnings("ignore:Canvas may respond unexpectedly:UserWarning"))


def seed(model: CanvasModel) -> None:
    """A faculty with a department, a term, 25 users, one course with a section."""
    faculty = model.add_account("Faculty of Science", sis_account_id="ORG-10")
    model.add_account("Department of Informatics", parent_id=faculty.id, sis_account_id="ORG-11")
    term = model.add_term("Autumn 2026", sis_term_id="2026H")
    for i in range(25):
        model.add_user(
            f"Person {i:02d} Example",
            unique_id=f"user{i:02d}",
            sis_user_id=f"P{i:02d}",
            email=f"p{i}@uni.test",
        )
    course = model.add_course(
        "Introduction to Programming",
        course_code="IN1000",
        account_id=faculty.id,
        term_id=term.id,
        sis_course_id="IN1000-2026H",
        workflow_state="available",
    )
    model.add_section(course.id, "Group 1", sis_section_id="IN1000-2026H-G1")


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[tuple[CanvasEmulator, ServerThread]]:
    emu = create_app(tokens={DEFAULT_TOKEN: None, "second-token": None}, seed=seed)
    server = ServerThread(emu.app).start()
    yield emu, server
    server.stop()


@pytest.fixture
def emu(emulator_server: tuple[CanvasEmulator, ServerThread]) -> CanvasEmulator:
    emulator, _server = emulator_server
    emulator.control.reset()
    return emulator


@pytest.fixture
def url(emulator_server: tuple[CanvasEmulator, ServerThread], emu: CanvasEmulator) -> str:
    return emulator_server[1].url


@pytest.fixture
def canvas(url: str) -> Canvas:
    return Canvas(url, DEFAULT_TOKEN)


@pytest.fixture
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}) as client:
        yield client
