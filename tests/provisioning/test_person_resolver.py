"""PersonResolver: FS løpenummer → user SIS id, from its cache or from FS."""

from __future__ import annotations

import pytest

from canvasbridge.clients.fs import Person
from canvasbridge.errors import NotFoundError
from canvasbridge.provisioning import desired
from canvasbridge.provisioning.desired import PersonResolver
from canvasbridge.provisioning.settings import ProvisioningSettings


class Fs:
    def __init__(self) -> None:
        self.asked: list[int] = []

    def person(self, number: int) -> Person:
        self.asked.append(number)
        if number == 3:
            raise NotFoundError("no such person")
        return Person(personlopenummer=number, brukernavn=f"user{number}")


def test_many_numbers_are_answered_from_the_cache_and_fs_is_asked_for_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = ProvisioningSettings.model_validate({"users": {"sis_user_id": "sis-{username}"}})
    fs = Fs()
    resolver = PersonResolver(fs, settings, ttl_s=60)  # type: ignore[arg-type]
    now = [1000.0]
    monkeypatch.setattr(desired.time, "monotonic", lambda: now[0])
    resolver.seed([(1, "ola"), (2, None)])
    assert resolver.user_sis_ids([1, 2, 3, 4, 1]) == ["sis-ola", None, None, "sis-user4", "sis-ola"]
    assert fs.asked == [3, 4]  # the seeded ones, a person without a username too, are not asked
    assert resolver.user_sis_ids([4, 3]) == ["sis-user4", None] and fs.asked == [3, 4]
    assert resolver.username_of("sis-user4") == "user4"
    now[0] += 61  # past the ttl: asked again
    assert resolver.user_sis_ids([1]) == ["sis-user1"] and fs.asked == [3, 4, 1]
    assert resolver.user_sis_ids([]) == []
