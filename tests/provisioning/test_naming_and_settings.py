"""Templates: rendered from FS fields, checked at config validation, and telling ownership."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from canvasbridge.provisioning.naming import Template, check_template
from canvasbridge.provisioning.rules import Placement, step_back, structure
from canvasbridge.provisioning.settings import ProvisioningSettings


def test_template_renders_fs_fields():
    t = Template("UE_{institusjon}_{emnekode}_{versjon}_{ar}_{termin}", "unit")
    assert (
        t.render({"institusjon": 185, "emnekode": "IN1000", "versjon": "1", "ar": 2026, "termin": "HØST"})
        == "UE_185_IN1000_1_2026_HØST"
    )


@pytest.mark.parametrize(
    ("key", "template", "message"),
    [
        ("course_name", "{emnekode} {aktivitet}", "unknown field(s) aktivitet"),
        ("course_sis_id", "{emnekode.upper}", "indexing or attributes"),
        ("course_code", "{}", "positional"),
        ("course_code", "{emnekode!r}", "conversion"),
        ("course_code", "{emnekode", "not a valid format string"),
    ],
)
def test_a_bad_template_fails_at_config_validation_naming_the_key(key, template, message):
    with pytest.raises(ValidationError) as info:
        ProvisioningSettings.model_validate({"courses": {key: template}})
    text = str(info.value)
    assert f"courses.{key}" in text and message in text


def test_unknown_enrollment_type_in_role_table_is_a_config_error():
    with pytest.raises(ValidationError, match="unknown Canvas enrollment type"):
        ProvisioningSettings.model_validate({"roles": {"enrollments": {"LÆRER": "boss"}}})


def test_activity_templates_may_use_activity_fields_and_user_templates_may_not():
    check_template("{emnekode}-{aktivitet}", "activity")
    with pytest.raises(ValueError, match="username"):
        check_template("{username}", "unit")


def test_template_owns_ids_of_its_shape_only():
    t = Template("UE_{institusjon}_{emnekode}_{versjon}_{ar}_{termin}", "unit")
    assert t.owns("UE_185_IN1000_1_2026_HØST")
    assert not t.owns("MANUAL-COURSE-1")
    assert not t.owns(None)


@pytest.mark.parametrize(
    ("kind", "facts", "outcome"),
    [
        ("unit", {"exported": True}, Placement.COURSE),
        ("unit", {"exported": False}, Placement.SKIP),
        ("activity", {"exported": False}, Placement.SKIP),
        ("activity", {"exported": True, "own_course": True}, Placement.COURSE),
        ("activity", {"exported": True, "own_course": False, "unit_exported": True}, Placement.SECTION),
        ("activity", {"exported": True, "own_course": False, "unit_exported": False}, Placement.SKIP),
    ],
)
def test_structure_rule_table(kind, facts, outcome):
    assert structure(kind, **facts).outcome is outcome


@pytest.mark.parametrize(
    ("year", "term", "steps", "expected"),
    [
        (2027, "VÅR", 1, (2026, "HØST")),
        (2026, "HØST", 1, (2026, "VÅR")),
        (2027, "HØST", 3, (2026, "VÅR")),
        (2026, "SOM", 1, (2026, "SOM")),
    ],
)
def test_multi_term_units_step_back_to_their_first_term(year, term, steps, expected):
    assert step_back(year, term, steps) == expected
