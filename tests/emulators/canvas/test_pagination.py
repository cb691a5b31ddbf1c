"""Pagination as Canvas does it: per_page rules, absolute Link URLs, ordinal and bookmark pages."""

from __future__ import annotations

import re

import httpx
from canvasapi import Canvas

from canvasbridge_emulators.canvas import CanvasEmulator


def links(response: httpx.Response) -> dict[str, str]:
    return {rel: link for link, rel in re.findall(r'<([^>]+)>; rel="([a-z]+)"', response.headers["link"])}


def test_default_page_size_is_10_and_the_last_per_page_wins_clamped_to_100(
    http: httpx.Client, emu: CanvasEmulator
) -> None:
    for i in range(130):
        emu.model.add_user(f"Bulk {i}", unique_id=f"bulk{i}")
    assert len(http.get("/api/v1/accounts/1/users").json()) == 10
    assert len(http.get("/api/v1/accounts/1/users?per_page=7&per_page=12").json()) == 12
    assert len(http.get("/api/v1/accounts/1/users?per_page=500").json()) == 100
    assert len(http.get("/api/v1/accounts/1/users?per_page=0").json()) == 1


def test_links_are_absolute_with_the_clients_own_host_and_keep_other_params(http: httpx.Client) -> None:
    response = http.get(
        "/api/v1/accounts/1/users?search_term=Person&per_page=5&access_token=x-should-not-leak",
        headers={"Host": "canvas.example.edu:8443"},
    )
    found = links(response)
    assert found["next"].startswith("http://canvas.example.edu:8443/api/v1/accounts/1/users?")
    assert (
        "search_term=Person" in found["next"] and "page=2" in found["next"] and "per_page=5" in found["next"]
    )
    assert "access_token" not in response.headers["link"]


def test_user_lists_have_no_last_link_but_other_ordinal_lists_do(
    http: httpx.Client, emu: CanvasEmulator
) -> None:
    assert set(links(http.get("/api/v1/accounts/1/users?per_page=5&page=2"))) == {
        "current",
        "next",
        "prev",
        "first",
    }
    for i in range(12):
        emu.model.add_account(f"Unit {i}")
    response = http.get("/api/v1/accounts/1/sub_accounts?per_page=5&page=2")
    assert set(links(response)) == {"current", "next", "prev", "first", "last"}
    assert "page=3" in links(response)["last"]
    assert http.get("/api/v1/accounts/1/sub_accounts?per_page=5&page=9").json() == []


def test_enrollments_use_bookmark_pages_without_last(http: httpx.Client, emu: CanvasEmulator) -> None:
    course = emu.model.find_course_by_sis("IN1000-2026H")
    for user in emu.model.users()[:23]:
        emu.model.enroll(user.id, course_id=course.id)
    seen: list[int] = []
    url: str | None = f"/api/v1/courses/{course.id}/enrollments?per_page=10"
    pages = 0
    while url:
        response = http.get(url)
        seen += [e["id"] for e in response.json()]
        found = links(response)
        assert "last" not in found
        url = found.get("next")
        if url:
            assert "page=bookmark%3A" in url or "page=bookmark:" in url
        pages += 1
    assert pages == 3 and len(seen) == 23 == len(set(seen))


def test_canvasapi_walks_several_pages_of_users_and_enrollments(canvas: Canvas, emu: CanvasEmulator) -> None:
    course = emu.model.find_course_by_sis("IN1000-2026H")
    for i in range(110):
        user = emu.model.add_user(f"Student {i:03d}", unique_id=f"student{i:03d}", sis_user_id=f"S{i:03d}")
        emu.model.enroll(user.id, course_id=course.id, state="active")
    before = emu.control.count("GET", "/enrollments")
    users = list(canvas.get_account(1).get_users(per_page=50))  # canvasapi adds per_page=100 after it
    assert len(users) == 135 and len({u.id for u in users}) == 135  # 100 + 35
    enrollments = list(canvas.get_course(course.id).get_enrollments())
    assert len(enrollments) == 110
    assert emu.control.count("GET", "/enrollments") - before == 2  # 100 + 10


def test_user_listing_order_follows_changes_between_pages(http: httpx.Client, emu: CanvasEmulator) -> None:
    first = [u["login_id"] for u in http.get("/api/v1/accounts/1/users?per_page=3").json()]
    assert first == ["user00", "user01", "user02"]
    emu.model.update_user(emu.model.find_user_by_login("user24").id, sortable_name="Aaa, First")
    emu.model.add_user("Aab Second", unique_id="newcomer", sortable_name="Aab, Second")
    again = [u["login_id"] for u in http.get("/api/v1/accounts/1/users?per_page=3").json()]
    assert again == ["user24", "newcomer", "user00"]
