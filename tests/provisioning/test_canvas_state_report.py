"""Reading Canvas state from the provisioning report's CSV rows."""

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
