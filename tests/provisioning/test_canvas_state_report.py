"""Reading Canvas state from the provisioning report's CSV rows."""

import pytest

from canvasbridge.provisioning import canvas_state
from canvasbridge.provisioning.canvas_state import snapshot_from_report


def course_row(status):
    return {
        "canvas_course_id": "7",
        "course_id": "UE_185_INF1000_1_2026_HØST",
        "short_name": "INF1000",
        "long_name": "INF1000 - Intro",
        "account_id": "",
        "term_id": "",
        "status": status,
    }


def test_report_course_statuses_map_to_the_rest_workflow_states():
    for status, expected in [
        ("active", "available"),
        ("concluded", "completed"),
        ("completed", "completed"),
        ("unpublished", "unpublished"),
    ]:
        snapshot, _ = snapshot_from_report({"courses.csv": [course_row(status)]})
        (course,) = snapshot.courses.values()
        assert course.workflow_state == expected, status


@pytest.mark.parametrize(
    "value", ["7", "0", "", " 12 ", "-3", "+4", "1_000", "²", "x", "12.5", "٣", None, 5, 5.7, True]
)
def test_report_numbers_read_as_the_general_conversion_reads_them(value):
    def general(v):
        try:
            return int(str(v).strip())
        except (TypeError, ValueError):
            return None

    assert canvas_state._int(value) == general(value)
