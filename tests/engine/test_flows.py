"""Flows as plug-ins: loading entry points, sections owned by flows, default task specs,
and the readiness check of a flow in use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from canvasbridge.engine.config import check_document, parse_config
from canvasbridge.engine.flows import Flow, installed_flows, load_flows
from canvasbridge.engine.health import flow_checks, run_checks
from canvasbridge.errors import ConfigError


class Knobs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: int = 1


@dataclass
class FakeEntry:
    name: str
    target: Any
    value: str = "fake.module:FLOW"

    def load(self) -> Any:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


def test_installed_flows_are_found_through_entry_points() -> None:
    names = {flow.name for flow in installed_flows()}
    assert {"provisioning", "live_events"} <= names


def test_a_broken_or_foreign_entry_point_is_named() -> None:
    with pytest.raises(ConfigError, match="flow plug-in 'bad' .* does not load: ImportError: gone"):
        load_flows([FakeEntry("bad", ImportError("gone"))])
    with pytest.raises(ConfigError, match="flow plug-in 'odd' .* is not a canvasbridge Flow"):
        load_flows([FakeEntry("odd", object())])


def test_two_flows_cannot_own_one_section() -> None:
    one, two = Flow("one", sections={"knobs": Knobs}), Flow("two", sections={"knobs": Knobs})
    with pytest.raises(
        ConfigError, match="flows 'one' and 'two' both claim the configuration section 'knobs'"
    ):
        load_flows([FakeEntry("one", one), FakeEntry("two", two)])


def test_a_section_is_known_only_while_a_flow_owns_it() -> None:
    knobs = Flow("knobs", sections={"knobs": Knobs})
    assert check_document({"knobs": {"level": 3}}, flows=[knobs]).problems == []
    assert check_document({"knobs": {"level": 3}}, flows=[]).problems == [
        "knobs: unknown key (check its spelling and where it is nested)"
    ]
    assert check_document({"knobs": {"levle": 3}}, flows=[knobs]).problems == [
        "knobs.levle: unknown key (check its spelling and where it is nested)"
    ]


def test_a_task_without_path_takes_its_flows_default_spec() -> None:
    config = parse_config(
        {"tasks": {"ensure_user": {"retry": {"max_attempts": 2}}, "record_live_event": None}}
    )
    user = config.tasks["ensure_user"]
    assert user.path == "canvasbridge.provisioning.tasks.users:ensure_user"
    assert user.sync is not None and (user.sync.kind, user.sync.key) == ("user", "username")
    assert config.retry_policy("ensure_user").max_attempts == 2
    assert config.tasks["record_live_event"].path == "canvasbridge.live_events.tasks:record_live_event"
    with pytest.raises(ConfigError, match="tasks.nobody_declares_me.path: Field required"):
        parse_config({"tasks": {"nobody_declares_me": {}}})


def test_systems_the_flows_in_use_read_are_validated_when_present() -> None:
    document = {"live_events": {}, "systems": {"salesforce": {"username": "x"}, "other": {"anything": 1}}}
    problems = check_document(document).problems
    assert any(p.startswith("systems.salesforce: ") for p in problems), problems
    assert not any(p.startswith("systems.other") for p in problems)
    # a flow not in use does not judge the entries it would read
    assert check_document({"systems": {"salesforce": {"username": "x"}}}).problems == []


def test_a_flow_in_use_is_not_ready_without_the_systems_it_requires() -> None:
    config = parse_config({"live_events": {"timezone": "Europe/Oslo"}})
    checks = flow_checks(config, installed_flows())
    assert "flow:live_events" in checks and "flow:provisioning" not in checks
    [result] = run_checks({"flow:live_events": checks["flow:live_events"]}, timeout_s=5)
    assert not result.ok and "systems.salesforce" in result.detail


def test_a_flows_own_health_check_runs_with_its_settings() -> None:
    seen: list[int] = []

    def level_check(settings: Any) -> str:
        seen.append(settings["knobs"].level)
        return "fine"

    knobs = Flow("knobs", sections={"knobs": Knobs}, health_checks={"level": level_check})
    checks = flow_checks(parse_config({}), [knobs])
    assert checks == {}  # not in use
    document_config = check_document({"knobs": {"level": 7}}, flows=[knobs]).config
    assert document_config is not None
    checks = flow_checks(document_config, [knobs])
    results = {r.name: r for r in run_checks(checks, timeout_s=5)}
    assert results["flow:knobs:level"].ok and results["flow:knobs:level"].detail == "fine"
    assert results["flow:knobs"].ok
    assert seen == [7]
